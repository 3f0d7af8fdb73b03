//! Weight initialisation: the formulas, and the distributions the draws follow.
//!
//! Statistical bounds, for `n` independent draws `w` with standard deviation `σ` and
//! kurtosis `κ = E[w⁴]/σ⁴`: the sample mean has standard error `σ/√n`, the sample
//! variance `s²` has standard error `σ²·√((κ − 1)/n)`, and a count of `k` events of
//! probability `q` has standard deviation `√(nq(1 − q))`. Every check allows 6 standard
//! errors (a chance failure has probability below 2·10⁻⁹; the seeds are fixed anyway),
//! which with `n = 100 000` resolves the standard deviation to about ±1.3 %: far finer
//! than the mistakes it must catch (a wrong fan, a missing √2, a missing truncation:
//! ≥ 12 %).

use microtrain::init::{init_params, standard_normal, uniform, Init};
use microtrain::layers::{Dense, Params, Relu, Tanh};
use microtrain::{seq, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

const N: usize = 100_000;
const U: f64 = 1.0 / 16_777_216.0;

fn draw(init: Init, fan_in: usize, fan_out: usize, seed: u64) -> Vec<f32> {
    let mut w = vec![0.0f32; N];
    init.fill(&mut w, fan_in, fan_out, &mut Pcg32::seed_from_u64(seed));
    w
}

struct Moments {
    mean: f64,
    var: f64,
}

fn moments(w: &[f32]) -> Moments {
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = w
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    Moments { mean, var }
}

/// Mean 0 and variance `σ²` within 6 standard errors, for kurtosis `kurt`.
fn assert_mean_and_std(what: &str, w: &[f32], sigma: f64, kurt: f64) {
    let n = w.len() as f64;
    let m = moments(w);
    let mean_bound = 6.0 * sigma / n.sqrt();
    assert!(
        m.mean.abs() <= mean_bound,
        "{what}: mean {:e}, bound {mean_bound:e}",
        m.mean
    );
    let var_bound = 6.0 * sigma * sigma * ((kurt - 1.0) / n).sqrt();
    assert!(
        (m.var - sigma * sigma).abs() <= var_bound,
        "{what}: std {} vs σ {sigma} (variance {} vs {}, bound ±{var_bound:e})",
        m.var.sqrt(),
        m.var,
        sigma * sigma
    );
}

/// The fraction of draws with `|w| < t` is `q` within 6 binomial standard deviations.
fn assert_fraction_below(what: &str, w: &[f32], t: f64, q: f64) {
    let n = w.len() as f64;
    let k = w.iter().filter(|&&v| f64::from(v).abs() < t).count() as f64;
    let bound = 6.0 * (n * q * (1.0 - q)).sqrt();
    assert!(
        (k - n * q).abs() <= bound,
        "{what}: {k} of {n} below {t}, expected {} ± {bound}",
        n * q
    );
}

// ---------------------------------------------------------------------------------
// The standard normal truncated to [−a, a], exactly
// ---------------------------------------------------------------------------------

fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// `∫₋ₐᵃ φ` by composite Simpson with 4000 panels (error ~ h⁴·max|φ⁗|/180 ≈ 10⁻¹⁶).
fn normal_mass(a: f64) -> f64 {
    let m = 4000;
    let h = 2.0 * a / m as f64;
    let mut s = phi(-a) + phi(a);
    for i in 1..m {
        let x = -a + i as f64 * h;
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * phi(x);
    }
    s * h / 3.0
}

/// Variance and fourth moment of `N(0, 1)` truncated to `[−a, a]`: with
/// `Z = ∫₋ₐᵃ φ` and integration by parts (`∫ xⁿφ = −[xⁿ⁻¹φ] + (n − 1)∫ xⁿ⁻²φ`),
/// `E[X²] = 1 − 2aφ(a)/Z` and `E[X⁴] = 3 − (2a³ + 6a)φ(a)/Z`.
fn truncated_normal(a: f64) -> (f64, f64) {
    let z = normal_mass(a);
    let var = 1.0 - 2.0 * a * phi(a) / z;
    let m4 = 3.0 - (2.0 * a.powi(3) + 6.0 * a) * phi(a) / z;
    (var, m4)
}

#[test]
fn truncated_normal_moments_are_right() {
    // P(|Z| < 2) = erf(√2) = 0.9544997361036416.
    assert!((normal_mass(2.0) - 0.954_499_736_103_641_6).abs() < 1e-12);
    let (var, m4) = truncated_normal(2.0);
    assert!((var.sqrt() - 0.8796).abs() < 1e-4, "{}", var.sqrt());
    // Without truncation the formulas give the normal's 1 and 3.
    let (v, k) = truncated_normal(40.0);
    assert!((v - 1.0).abs() < 1e-12 && (k - 3.0).abs() < 1e-12);
    assert!(m4 / (var * var) < 3.0);
}

// ---------------------------------------------------------------------------------
// Formulas
// ---------------------------------------------------------------------------------

/// `std_dev` and `bound` against the formulas in `f64`, to 2 roundings (`sqrt` is
/// exactly rounded, the quotient rounds once).
#[test]
fn formulas() {
    for (fi, fo) in [(1, 1), (2, 8), (50, 150), (784, 32), (3, 1000)] {
        let (a, b) = (fi as f64, fo as f64);
        let cases = [
            (Init::XavierNormal.std_dev(fi, fo), (2.0 / (a + b)).sqrt()),
            (Init::HeNormal.std_dev(fi, fo), (2.0 / a).sqrt()),
            (Init::XavierUniform.bound(fi, fo), (6.0 / (a + b)).sqrt()),
            (Init::HeUniform.bound(fi, fo), (6.0 / a).sqrt()),
            (
                Init::Normal { std: 0.05 }.std_dev(fi, fo),
                f64::from(0.05f32),
            ),
        ];
        for (i, (got, expected)) in cases.into_iter().enumerate() {
            let got = f64::from(got.unwrap_or_else(|| panic!("case {i} is None")));
            assert!(
                (got - expected).abs() <= 2.0 * U * expected,
                "case {i}, fans ({fi}, {fo}): {got} vs {expected}"
            );
        }
        assert_eq!(Init::XavierNormal.bound(fi, fo), None);
        assert_eq!(Init::HeUniform.std_dev(fi, fo), None);
    }
}

// ---------------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------------

/// Xavier normal, fans (50, 150): σ = √(2/200) = 0.1, truncated at ±2σ, so the draws
/// have standard deviation `σ·0.87962` (computed exactly above, kurtosis 2.37), never
/// leave `[−2σ, 2σ]`, and `P(|w| < σ) = 0.68269/0.95450 = 0.71523`.
#[test]
fn xavier_normal_is_a_truncated_normal() {
    let sigma = 0.1;
    let w = draw(Init::XavierNormal, 50, 150, 1);
    let (var, m4) = truncated_normal(2.0);
    assert_mean_and_std("Xavier normal", &w, sigma * var.sqrt(), m4 / (var * var));
    let limit = 2.0 * sigma * (1.0 + 4.0 * U);
    assert!(
        w.iter().all(|&v| f64::from(v).abs() <= limit),
        "a draw beyond 2σ"
    );
    // The truncation is at 2σ, not narrower: draws reach past 1.95σ (P ≈ 0.5 % each).
    assert!(w.iter().any(|&v| f64::from(v).abs() > 1.95 * sigma));
    let inside_one_sigma = (normal_mass(1.0)) / normal_mass(2.0);
    assert_fraction_below("Xavier normal", &w, sigma, inside_one_sigma);
}

/// He normal, fan-in 200: σ = √(2/200) = 0.1, not truncated: P(|w| > 2σ) = 4.55 %
/// and P(|w| > 3σ) = 0.27 % as for any normal.
#[test]
fn he_normal_is_a_normal_with_fan_in_variance() {
    let sigma = 0.1;
    let w = draw(Init::HeNormal, 200, 7, 2);
    assert_mean_and_std("He normal", &w, sigma, 3.0);
    assert_fraction_below("He normal 2σ", &w, 2.0 * sigma, normal_mass(2.0));
    assert_fraction_below("He normal 3σ", &w, 3.0 * sigma, normal_mass(3.0));
}

#[test]
fn plain_normal_has_the_given_std() {
    let w = draw(Init::Normal { std: 0.05 }, 3, 3, 3);
    assert_mean_and_std("Normal(0.05)", &w, 0.05, 3.0);
    assert_fraction_below("Normal(0.05)", &w, 0.05, normal_mass(1.0));
    // standard_normal itself.
    let mut rng = Pcg32::seed_from_u64(4);
    let z: Vec<f32> = (0..N).map(|_| standard_normal(&mut rng)).collect();
    assert_mean_and_std("standard normal", &z, 1.0, 3.0);
}

/// `U(−a, a)`: every draw within `[−a, a)`, variance `a²/3` (kurtosis 9/5), both ends
/// reached (the largest of 10⁵ draws misses `a` by more than 0.1 % with probability
/// `(1 − 0.0005)^(10⁵) ≈ e⁻⁵⁰`), and each tenth of the interval holds a tenth of the
/// draws (binomial, 6σ).
fn assert_uniform(what: &str, w: &[f32], a: f64) {
    assert!(
        w.iter()
            .all(|&v| f64::from(v) >= -a * (1.0 + 2.0 * U) && f64::from(v) < a * (1.0 + 2.0 * U)),
        "{what}: a draw outside [−{a}, {a})"
    );
    assert_mean_and_std(what, w, a / 3f64.sqrt(), 1.8);
    let max = w.iter().fold(f32::MIN, |m, &v| m.max(v));
    let min = w.iter().fold(f32::MAX, |m, &v| m.min(v));
    assert!(
        f64::from(max) > 0.999 * a && f64::from(min) < -0.999 * a,
        "{what}: range [{min}, {max}]"
    );
    let mut bins = [0usize; 10];
    for &v in w {
        let b = (((f64::from(v) + a) / (2.0 * a)) * 10.0).floor() as usize;
        bins[b.min(9)] += 1;
    }
    let n = w.len() as f64;
    let bound = 6.0 * (n * 0.1 * 0.9).sqrt();
    for (i, &c) in bins.iter().enumerate() {
        assert!(
            (c as f64 - n / 10.0).abs() <= bound,
            "{what}: bin {i} holds {c} of {n}; {bins:?}"
        );
    }
}

#[test]
fn xavier_uniform_bounds_and_variance() {
    // a = √(6/(30 + 70)) = 0.2449…
    let w = draw(Init::XavierUniform, 30, 70, 5);
    assert_uniform("Xavier uniform", &w, (6.0f64 / 100.0).sqrt());
}

#[test]
fn he_uniform_bounds_and_variance() {
    // a = √(6/24) = 0.5, whatever the fan-out.
    let w = draw(Init::HeUniform, 24, 1000, 6);
    assert_uniform("He uniform", &w, 0.5);
    let mut rng = Pcg32::seed_from_u64(7);
    let u: Vec<f32> = (0..N).map(|_| 2.0 * uniform(&mut rng) - 1.0).collect();
    assert_uniform("uniform()", &u, 1.0);
}

// ---------------------------------------------------------------------------------
// init_params on a model
// ---------------------------------------------------------------------------------

type Net = Seq![Dense<400, 10>, Relu, Dense<10, 400>, Tanh, Dense<400, 3>];

fn net() -> Net {
    seq![Dense::zeros(), Relu, Dense::zeros(), Tanh, Dense::zeros()]
}

fn all_values(model: &mut impl Params) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    model.visit(&mut |p| out.push(p.value.to_vec()));
    out
}

/// Each layer gets the scale of its own fans (He normal: σ = √(2/fan_in) = 0.0707 for
/// the 400-input layers, 0.447 for the 10-input one, 4000 and 1200 draws: ±5 % and
/// ±9 % at 6 standard errors); biases and every gradient are zero afterwards.
#[test]
fn init_params_uses_each_layers_fans_and_zeroes_biases_and_gradients() {
    let mut m = net();
    m.visit(&mut |p| {
        p.value.fill(7.0);
        p.grad.fill(-3.0);
    });
    init_params(&mut m, Init::HeNormal, &mut Pcg32::seed_from_u64(8));
    assert_mean_and_std(
        "Dense<400,10>",
        m.0.weight.as_slice(),
        (2.0f64 / 400.0).sqrt(),
        3.0,
    );
    assert_mean_and_std(
        "Dense<10,400>",
        m.1 .1 .0.weight.as_slice(),
        (2.0f64 / 10.0).sqrt(),
        3.0,
    );
    assert_mean_and_std(
        "Dense<400,3>",
        m.1 .1 .1 .1.weight.as_slice(),
        (2.0f64 / 400.0).sqrt(),
        3.0,
    );
    assert!(m.0.bias.0.iter().all(|&b| b == 0.0));
    assert!(m.1 .1 .0.bias.0.iter().all(|&b| b == 0.0));
    assert!(m.1 .1 .1 .1.bias.0.iter().all(|&b| b == 0.0));
    let mut grads_zero = true;
    m.visit(&mut |p| grads_zero &= p.grad.iter().all(|&g| g.to_bits() == 0));
    assert!(grads_zero);
}

/// The same seed gives the same weights bit for bit; another seed other weights.
#[test]
fn same_seed_same_weights() {
    for init in [
        Init::XavierNormal,
        Init::XavierUniform,
        Init::HeNormal,
        Init::HeUniform,
    ] {
        let (mut a, mut b, mut c) = (net(), net(), net());
        init_params(&mut a, init, &mut Pcg32::seed_from_u64(9));
        init_params(&mut b, init, &mut Pcg32::seed_from_u64(9));
        init_params(&mut c, init, &mut Pcg32::seed_from_u64(10));
        let bits = |m: &mut Net| -> Vec<u32> {
            all_values(m).concat().iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(bits(&mut a), bits(&mut b), "{init:?}");
        assert_ne!(all_values(&mut a)[0], all_values(&mut c)[0], "{init:?}");
    }
}

/// `cos_turns`, the sampler's float-only cosine, against `f64` on every 7th value
/// `k / 2²⁴` that `uniform` can return (and a few outside `[0, 1)`): within 2 ulp of
/// the rounded true value, or 2⁻²⁵ absolute where the cosine crosses zero.
#[test]
fn cos_turns_is_within_two_ulp_of_f64() {
    use microtrain::kernels::math::cos_turns;
    let mut worst = 0.0f64;
    let extra = [-0.75f32, -0.1, 1.0, 1.25, 3.5, 100.125];
    let grid = (0..1u32 << 24).step_by(7).map(|k| k as f32 / 16_777_216.0);
    for t in grid.chain(extra) {
        let exact = (std::f64::consts::TAU * f64::from(t)).cos();
        // The spacing of f32 values at the result, at least that of 2⁻²⁴.
        let near = (exact as f32).abs().max(2f32.powi(-24));
        let ulp = f64::from(f32::from_bits(near.to_bits() + 1) - near);
        let err = (f64::from(cos_turns(t)) - exact).abs();
        assert!(
            err <= 2.0 * ulp.max(2f64.powi(-25)),
            "t = {t}: {} vs {exact}",
            cos_turns(t)
        );
        worst = worst.max(err / ulp.max(2f64.powi(-25)));
    }
    println!("cos_turns: worst error {worst:.2} ulp");
}
