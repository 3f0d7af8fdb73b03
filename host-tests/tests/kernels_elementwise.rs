//! Activations and their derivatives against `f64` references with error bounds from
//! running error analysis, SIMD against scalar bit for bit, extreme inputs, length
//! errors, and the accuracy of the math shim that the bounds assume.

use host_tests::bound::{
    against_reference, Tracked, EXP_ULPS, LN_ULPS, SUBNORMAL_ULP, TANH_ULPS, U,
};
use host_tests::check::{assert_all_close, assert_bits_eq, assert_length_error};
use host_tests::reference::{self, GELU_CUBIC, SQRT_2_OVER_PI};
use host_tests::{Rng, VECTOR_SIZES};
use microtrain::kernels::{self, math, scalar, Activation};

/// Every activation, leaky ReLU with PyTorch's default slope and two others.
const ACTIVATIONS: [Activation; 7] = [
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.01 },
    Activation::LeakyRelu { slope: 0.2 },
    Activation::LeakyRelu { slope: 1.5 },
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
];

fn forward_reference(act: Activation, x: f32) -> f64 {
    match act {
        Activation::Relu => reference::relu(x),
        Activation::LeakyRelu { slope } => reference::leaky_relu(x, slope),
        Activation::Sigmoid => reference::sigmoid(x),
        Activation::Tanh => reference::tanh(x),
        Activation::Gelu => reference::gelu(x),
    }
}

fn derivative_reference(act: Activation, x: f32) -> f64 {
    match act {
        Activation::Relu => reference::relu_derivative(x),
        Activation::LeakyRelu { slope } => reference::leaky_relu_derivative(x, slope),
        Activation::Sigmoid => reference::sigmoid_derivative(x),
        Activation::Tanh => reference::tanh_derivative(x),
        Activation::Gelu => reference::gelu_derivative(x),
    }
}

/// Error bound of the kernel's forward evaluation, operation by operation as
/// documented in `src/kernels/activation.rs` (the constants √(2/π) and 0.044715 are
/// stored as `f32`, which `Tracked::constant` charges for):
///
/// - ReLU: exact; leaky ReLU: `x` or `fl(slope·x)`;
/// - sigmoid: `1 / (1 + expf(−x))` for `x ≥ 0`, `e / (1 + e)` with `e = expf(x)`
///   otherwise;
/// - tanh: `tanhf(x)`;
/// - GELU: `fl(fl(0.5·x)·fl(1 + tanhf(s·(x + ((c·x)·x)·x))))`.
fn forward_bound(act: Activation, x: f32) -> Tracked {
    let x_ = Tracked::input(x);
    let (one, half) = (Tracked::input(1.0), Tracked::input(0.5));
    let (s, c) = (
        Tracked::constant(SQRT_2_OVER_PI),
        Tracked::constant(GELU_CUBIC),
    );
    match act {
        Activation::Relu => Tracked::input(x.max(0.0)),
        Activation::LeakyRelu { slope } => {
            if x > 0.0 {
                x_
            } else {
                Tracked::input(slope) * x_
            }
        }
        Activation::Sigmoid => {
            if x >= 0.0 {
                one / (one + (-x_).exp())
            } else {
                let e = x_.exp();
                e / (one + e)
            }
        }
        Activation::Tanh => x_.tanh(),
        Activation::Gelu => {
            let t = (s * (x_ + c * x_ * x_ * x_)).tanh();
            half * x_ * (one + t)
        }
    }
}

/// Error bound of the kernel's backward evaluation `dx = fl(dy·f'(x, ŷ))`, where `ŷ`
/// is the forward output (known to within `y.err` of `f(x)`):
///
/// - ReLU: `dy` or `0`, exact; leaky ReLU: `dy` or `fl(dy·slope)`;
/// - sigmoid: `ŷ·(1 − ŷ)`; tanh: `1 − ŷ·ŷ`;
/// - GELU: `0.5·(1 + t) + ((0.5·x)·(1 − t·t))·s(1 + (3c)·x²)` with
///   `t = tanhf(s·(x + (c·x²)·x))`, `x² = x·x`.
fn backward_bound(act: Activation, x: f32, y: Tracked, dy: f32) -> Tracked {
    let x_ = Tracked::input(x);
    let dy_ = Tracked::input(dy);
    let (one, half, three) = (
        Tracked::input(1.0),
        Tracked::input(0.5),
        Tracked::input(3.0),
    );
    let (s, c) = (
        Tracked::constant(SQRT_2_OVER_PI),
        Tracked::constant(GELU_CUBIC),
    );
    let derivative = match act {
        Activation::Relu => return Tracked::input(if x > 0.0 { dy } else { 0.0 }),
        Activation::LeakyRelu { slope } => {
            if x > 0.0 {
                return dy_;
            }
            Tracked::input(slope)
        }
        Activation::Sigmoid => y * (one - y),
        Activation::Tanh => one - y * y,
        Activation::Gelu => {
            let x2 = x_ * x_;
            let t = (s * (x_ + c * x2 * x_)).tanh();
            // `3.0 * GELU_CUBIC` is one f32 rounding of 3c (constant-folded alike).
            let dinner = s * (one + three * c * x2);
            half * (one + t) + half * x_ * (one - t * t) * dinner
        }
    };
    dy_ * derivative
}

/// Inputs that cover each activation's regimes: the body (uniform in `[-8, 8)`), the
/// saturated tails (`[-40, 40)`), magnitudes from `2⁻¹⁴⁰` to `2¹³` of either sign, and
/// the points where `tanhf` and the sigmoid switch formulas.
fn inputs(n: usize, salt: usize) -> Vec<f32> {
    let mut rng = Rng::for_case("activation inputs", &[n, salt]);
    let special = [
        0.0, -0.0, 1.0e-45, -1.0e-45, 0.2554, -0.2554, 0.5493, -0.5493, 10.0, -10.0, 9.0, -9.0,
        88.0, -88.0, -87.5, -103.0, 104.0,
    ];
    (0..n)
        .map(|i| match (i + salt) % 4 {
            0 => rng.uniform(-8.0, 8.0),
            1 => rng.uniform(-40.0, 40.0),
            2 => {
                let magnitude = 2f32.powf(rng.uniform(-140.0, 13.0));
                if rng.below(2) == 0 {
                    magnitude
                } else {
                    -magnitude
                }
            }
            _ => special[rng.below(special.len() as u64) as usize],
        })
        .collect()
}

/// Lengths: every size 0..=67 and a long one.
fn lengths() -> impl Iterator<Item = usize> {
    core::iter::once(0).chain(VECTOR_SIZES).chain([1000])
}

/// `activate` and `activation_backward` against the `f64` definitions, each element
/// within the running-error bound of the kernel's own formula (`forward_bound`,
/// `backward_bound`; see `host_tests::bound::Tracked`), widened only for the
/// reference's own `f64` error (`against_reference`).
#[test]
fn activations_match_reference() {
    for act in ACTIVATIONS {
        for n in lengths() {
            for salt in 0..2 {
                let x = inputs(n, salt);
                let dy = Rng::for_case("activation dy", &[n, salt]).uniform_vec(n, -2.0, 2.0);
                let mut y = vec![0.0; n];
                kernels::activate(act, &x, &mut y).unwrap();
                let forward: Vec<Tracked> = x.iter().map(|&x| forward_bound(act, x)).collect();
                let expected: Vec<f64> = x.iter().map(|&x| forward_reference(act, x)).collect();
                let bounds: Vec<f64> = forward
                    .iter()
                    .zip(&expected)
                    .map(|(b, &e)| against_reference(*b, e))
                    .collect();
                assert_all_close(
                    &y,
                    &expected,
                    &bounds,
                    format_args!("{act:?} forward n={n} salt={salt}, x={x:?}"),
                );

                let mut dx = vec![0.0; n];
                kernels::activation_backward(act, &x, &y, &dy, &mut dx).unwrap();
                let expected: Vec<f64> = x
                    .iter()
                    .zip(&dy)
                    .map(|(&x, &g)| f64::from(g) * derivative_reference(act, x))
                    .collect();
                let bounds: Vec<f64> = (0..n)
                    .map(|i| {
                        against_reference(backward_bound(act, x[i], forward[i], dy[i]), expected[i])
                    })
                    .collect();
                assert_all_close(
                    &dx,
                    &expected,
                    &bounds,
                    format_args!("{act:?} backward n={n} salt={salt}, x={x:?}"),
                );
            }
        }
    }
}

/// `Activation::value` / `Activation::derivative` (one element) agree bit for bit with
/// the slice kernels.
#[test]
fn single_element_functions_match_the_kernels() {
    let x = inputs(400, 7);
    let dy = vec![1.0; x.len()];
    for act in ACTIVATIONS {
        let mut y = vec![0.0; x.len()];
        let mut dx = vec![0.0; x.len()];
        kernels::activate(act, &x, &mut y).unwrap();
        kernels::activation_backward(act, &x, &y, &dy, &mut dx).unwrap();
        let values: Vec<f32> = x.iter().map(|&v| act.value(v)).collect();
        let derivatives: Vec<f32> = x
            .iter()
            .zip(&y)
            .map(|(&v, &w)| act.derivative(v, w))
            .collect();
        assert_bits_eq(&values, &y, format_args!("{act:?} value"));
        assert_bits_eq(&derivatives, &dx, format_args!("{act:?} derivative"));
    }
}

/// Forward and backward give the same bits on the SIMD and scalar paths for every
/// length and activation, on inputs from the whole finite range.
#[test]
fn simd_matches_scalar_bit_for_bit() {
    for act in ACTIVATIONS {
        for n in lengths() {
            let mut rng = Rng::for_case("activation bits", &[n]);
            let x = rng.wild_vec(n);
            let dy = rng.wild_vec(n);
            let (mut y_simd, mut y_scalar) = (vec![0.0; n], vec![0.0; n]);
            kernels::activate(act, &x, &mut y_simd).unwrap();
            scalar::activate(act, &x, &mut y_scalar).unwrap();
            assert_bits_eq(&y_simd, &y_scalar, format_args!("{act:?} forward n={n}"));
            let (mut dx_simd, mut dx_scalar) = (vec![0.0; n], vec![0.0; n]);
            kernels::activation_backward(act, &x, &y_simd, &dy, &mut dx_simd).unwrap();
            scalar::activation_backward(act, &x, &y_simd, &dy, &mut dx_scalar).unwrap();
            assert_bits_eq(&dx_simd, &dx_scalar, format_args!("{act:?} backward n={n}"));
        }
    }
}

/// Extreme finite inputs (up to ±`f32::MAX`) give finite outputs and gradients
/// (where the exact result is representable) in range: sigmoid in `[0, 1]`, tanh in `[-1, 1]`, derivatives of sigmoid in
/// `[0, 1/4]`, of tanh in `[0, 1]`.
#[test]
fn extreme_inputs_give_finite_results() {
    let x: Vec<f32> = [
        f32::MAX,
        1.0e30,
        1.0e10,
        3.0e4,
        1.0e3,
        104.0,
        88.8,
        f32::MIN_POSITIVE,
        1.0e-45,
        0.0,
    ]
    .iter()
    .flat_map(|&v: &f32| [v, -v])
    .collect();
    let dy = vec![1.0; x.len()];
    for act in ACTIVATIONS {
        let mut y = vec![0.0; x.len()];
        let mut dx = vec![0.0; x.len()];
        kernels::activate(act, &x, &mut y).unwrap();
        kernels::activation_backward(act, &x, &y, &dy, &mut dx).unwrap();
        for i in 0..x.len() {
            let (x, y, d) = (x[i], y[i], dx[i]);
            // Finite whenever the exact result is (leaky ReLU with slope 1.5 at
            // −f32::MAX rightly overflows).
            let representable = |v: f64| v.abs() <= f64::from(f32::MAX);
            if representable(forward_reference(act, x)) {
                assert!(y.is_finite(), "{act:?}({x:e}) = {y:e}");
            }
            if representable(derivative_reference(act, x)) {
                assert!(d.is_finite(), "{act:?}'({x:e}) = {d:e}");
            }
            match act {
                Activation::Sigmoid => assert!(
                    (0.0..=1.0).contains(&y) && (0.0..=0.25).contains(&d),
                    "{act:?} {x:e}: {y:e} {d:e}"
                ),
                Activation::Tanh => assert!(
                    (-1.0..=1.0).contains(&y) && (0.0..=1.0).contains(&d),
                    "{act:?} {x:e}: {y:e} {d:e}"
                ),
                _ => {}
            }
        }
    }
}

/// For `|x| ≥ √f32::MAX ≈ 1.845e19`, `x² = x·x` overflows to `+∞` while `1 − tanh²` is
/// exactly `0`: the derivative must still be its exact value, 1 (x > 0) or 0 (x < 0),
/// not `0·∞ = NaN` (which once tripped the divergence detector on finite input).
#[test]
fn gelu_derivative_is_finite_for_huge_inputs() {
    for x in [2.0e19f32, -2.0e19, 1.0e30, -1.0e30, f32::MAX, -f32::MAX] {
        let y = Activation::Gelu.value(x);
        let d = Activation::Gelu.derivative(x, y);
        let want = if x > 0.0 { 1.0 } else { 0.0 };
        assert_eq!(d, want, "GELU'({x:e}) = {d:e}, exact {want}");
    }
}

/// Any operand of the wrong length is `Error::Length` naming the output's length and
/// the operand's, on both paths.
#[test]
fn mismatched_lengths_are_errors() {
    for act in ACTIVATIONS {
        let (four, three) = ([0.5f32; 4], [0.5f32; 3]);
        let mut out = [0.0f32; 4];
        assert_length_error(kernels::activate(act, &three, &mut out), 4, 3);
        assert_length_error(scalar::activate(act, &three, &mut out), 4, 3);
        assert_length_error(
            kernels::activation_backward(act, &three, &four, &four, &mut out),
            4,
            3,
        );
        assert_length_error(
            kernels::activation_backward(act, &four, &three, &four, &mut out),
            4,
            3,
        );
        assert_length_error(
            kernels::activation_backward(act, &four, &four, &three, &mut out),
            4,
            3,
        );
        assert_length_error(
            scalar::activation_backward(act, &four, &four, &three, &mut out),
            4,
            3,
        );
        assert_eq!(
            out, [0.0; 4],
            "{act:?}: an operation that failed wrote its output"
        );
    }
}

/// The premise of every bound above: the math shim's `exp`, `ln` and `tanh` are within
/// the assumed number of ulps (`EXP_ULPS`, `LN_ULPS`, `TANH_ULPS`, measured as
/// `k·(2u·|f(x)| + 2⁻¹⁴⁹)`, the form the bounds use) of the exact value, on a dense
/// sample of their domains.
#[test]
fn math_shim_within_assumed_ulps() {
    let mut rng = Rng::for_case("math shim", &[]);
    let allowed = |ulps: f64, exact: f64| ulps * (2.0 * U * exact.abs() + SUBNORMAL_ULP);
    let check = |name: &str, x: f32, got: f32, exact: f64, ulps: f64| {
        let err = (f64::from(got) - exact).abs();
        assert!(
            err <= allowed(ulps, exact),
            "{name}({x:e}) = {got:e}, exact {exact:e}: error {err:e} exceeds {ulps} ulp ({:e})",
            allowed(ulps, exact)
        );
    };
    for _ in 0..20_000 {
        let x = rng.uniform(-103.0, 88.7);
        check("exp", x, math::exp(x), f64::from(x).exp(), EXP_ULPS);
        let x = rng.uniform(-12.0, 12.0);
        check("tanh", x, math::tanh(x), f64::from(x).tanh(), TANH_ULPS);
        let x = 2f32.powf(rng.uniform(-149.0, 127.9));
        check("ln", x, math::ln(x), f64::from(x).ln(), LN_ULPS);
        let x = 2f32.powf(rng.uniform(-30.0, 4.0)) * if rng.below(2) == 0 { 1.0 } else { -1.0 };
        check("tanh", x, math::tanh(x), f64::from(x).tanh(), TANH_ULPS);
        let x = 2f32.powf(rng.uniform(-30.0, 0.0)) * if rng.below(2) == 0 { 1.0 } else { -1.0 };
        check("exp", x, math::exp(x), f64::from(x).exp(), EXP_ULPS);
    }
}

/// `pow_complement(x, n) = (xⁿ, 1 − xⁿ)` against f64 for the decay rates optimizers use
/// and step counts up to 2·10⁶: both within two roundings (`1 − powf(x, n)` in f32 is
/// off by up to 1,655 roundings at β = 0.9999, and repeated squaring in one `f32` drifts
/// by up to `n`).
#[test]
fn pow_complement_is_within_two_roundings_for_any_step() {
    use microtrain::kernels::math::pow_complement;
    let ulp = f64::from(f32::EPSILON) / 2.0;
    let (mut worst_c, mut worst_p) = (0.0f64, 0.0f64);
    for x in [0.5f32, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.3] {
        let mut n = 0u32;
        while n <= 2_000_000 {
            let (p, c) = pow_complement(x, n);
            let exact_p = f64::from(x).powi(n as i32);
            let exact_c = 1.0 - exact_p;
            let c_err = (f64::from(c) - exact_c).abs();
            let p_err = (f64::from(p) - exact_p).abs();
            assert!(
                c_err <= 2.0 * ulp * exact_c,
                "1 - {x}^{n}: {c} vs {exact_c}"
            );
            assert!(
                p_err <= 2.0 * ulp * exact_p + f64::from(f32::MIN_POSITIVE),
                "{x}^{n}: {p} vs {exact_p}"
            );
            if exact_c > 0.0 {
                worst_c = worst_c.max(c_err / exact_c / ulp);
            }
            if exact_p > 1e-30 {
                worst_p = worst_p.max(p_err / exact_p / ulp);
            }
            n = if n < 300 { n + 1 } else { n + n / 7 };
        }
    }
    println!("1 - x^n within {worst_c:.2} roundings, x^n within {worst_p:.2}");
}
