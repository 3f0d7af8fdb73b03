//! Signal augmentations: each transform against an `f64` re-implementation of its
//! documented formula and draw order; identities at zero strength; reproducibility;
//! draws within their ranges; clear errors for bad settings.

use host_tests::{assert_close, Rng};
use microtrain::augment::{
    each_image, Augment, ChannelDropout, Jitter, MagnitudeWarp, MixSameClass, Picture, Scaling,
    TimeShift, TimeWarp,
};
use microtrain::init::{standard_normal, uniform};
use microtrain::{Error, Signal};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// The unit roundoff of `f32`.
const U: f64 = 1.0 / 16_777_216.0;

const L: usize = 23;
const C: usize = 3;
type Window = Picture<f32, 1, L, C>;

fn window(label: &str) -> Window {
    let mut rng = Rng::for_case(label, &[L, C]);
    [core::array::from_fn(|_| {
        core::array::from_fn(|_| rng.uniform(-3.0, 3.0))
    })]
}

fn flat(w: &Window) -> Vec<f32> {
    w[0].as_flattened().to_vec()
}

fn setting_name<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    match r {
        Err(Error::Setting { name, .. }) => name,
        other => panic!("expected Error::Setting, got {other:?}"),
    }
}

#[test]
fn bad_settings_are_refused_by_name() {
    for bad in [-0.1, f32::NAN, f32::INFINITY] {
        assert_eq!(setting_name(Jitter::new(bad)), "Jitter sigma");
        assert_eq!(setting_name(Scaling::new(bad)), "Scaling sigma");
        assert_eq!(
            setting_name(MagnitudeWarp::<4>::new(bad)),
            "MagnitudeWarp sigma"
        );
        assert_eq!(setting_name(TimeWarp::<4>::new(bad)), "TimeWarp sigma");
    }
    for bad in [-0.1, 1.5, f32::NAN] {
        assert_eq!(setting_name(ChannelDropout::new(bad)), "ChannelDropout p");
    }
    assert_eq!(
        setting_name(TimeShift::new(3, Some(f32::NAN))),
        "TimeShift fill"
    );
    for (lo, hi) in [(0.6, 0.4), (f32::NAN, 1.0), (-0.1, 0.5), (0.5, 1.1)] {
        assert_eq!(
            setting_name(MixSameClass::new(lo, hi)),
            "MixSameClass lambda"
        );
    }
    let message = Jitter::new(-0.5).unwrap_err().to_string();
    assert_eq!(
        message,
        "Jitter sigma = -0.5: must be finite and not negative"
    );
}

#[test]
fn zero_strength_is_the_identity() {
    let w = window("identity");
    let mut rng = Pcg32::seed_from_u64(1);
    let check = |t: &dyn Fn(&mut Window, &mut Pcg32), name: &str, rng: &mut Pcg32| {
        let mut v = w;
        t(&mut v, rng);
        assert_eq!(flat(&v), flat(&w), "{name}");
    };
    check(
        &|v, r| Jitter::new(0.0).unwrap().apply(v, r),
        "jitter",
        &mut rng,
    );
    check(
        &|v, r| Scaling::new(0.0).unwrap().apply(v, r),
        "scaling",
        &mut rng,
    );
    check(
        &|v, r| TimeShift::new(0, None).unwrap().apply(v, r),
        "shift",
        &mut rng,
    );
    check(
        &|v, r| TimeShift::new(0, Some(1.0)).unwrap().apply(v, r),
        "fill",
        &mut rng,
    );
    check(
        &|v, r| MagnitudeWarp::<5>::new(0.0).unwrap().apply(v, r),
        "magnitude",
        &mut rng,
    );
    check(
        &|v, r| TimeWarp::<5>::new(0.0).unwrap().apply(v, r),
        "time warp",
        &mut rng,
    );
    check(
        &|v, r| ChannelDropout::new(0.0).unwrap().apply(v, r),
        "dropout",
        &mut rng,
    );
}

/// `x + σ·z` and `s_c·x` against `f64`, with the normal draws replayed in the
/// documented order (step by step and channel by channel; channel factors first).
#[test]
fn jitter_and_scaling_follow_their_formulas() {
    let w = window("jitter");
    let mut v = w;
    Jitter::new(0.3)
        .unwrap()
        .apply(&mut v, &mut Pcg32::seed_from_u64(2));
    let mut replay = Pcg32::seed_from_u64(2);
    for (j, (&got, &x)) in flat(&v).iter().zip(&flat(&w)).enumerate() {
        let noise = 0.3f64 * f64::from(standard_normal(&mut replay));
        let expected = f64::from(x) + noise;
        let bound = U * (2.0 * noise.abs() + expected.abs()) * 1.01;
        assert_close!(got, expected, bound, "jitter {j}");
    }

    let mut v = w;
    Scaling::new(0.2)
        .unwrap()
        .apply(&mut v, &mut Pcg32::seed_from_u64(3));
    let mut replay = Pcg32::seed_from_u64(3);
    let factors: Vec<f64> = (0..C)
        .map(|_| 1.0 + 0.2 * f64::from(standard_normal(&mut replay)))
        .collect();
    for (j, (&got, &x)) in flat(&v).iter().zip(&flat(&w)).enumerate() {
        let expected = f64::from(x) * factors[j % C];
        // The factor's two roundings and the product's.
        assert_close!(
            got,
            expected,
            3.01 * U * expected.abs() + 1e-30,
            "scaling {j}"
        );
    }
}

#[test]
fn time_shift_moves_steps_and_draws_every_shift_within_the_range() {
    let w = window("shift");
    for fill in [None, Some(-7.0)] {
        let shift = TimeShift::new(4, fill).unwrap();
        for steps in -30isize..=30 {
            let mut v = w;
            shift.shift(&mut v, steps);
            for (t, got) in v[0].iter().enumerate() {
                let from = t as isize - steps;
                let expected = match fill {
                    None => w[0][from.rem_euclid(L as isize) as usize],
                    Some(f) if from < 0 || from >= L as isize => [f; C],
                    Some(_) => w[0][from as usize],
                };
                assert_eq!(*got, expected, "shift {steps}, step {t}, fill {fill:?}");
            }
        }
    }
    // Which shift did a draw make? Every one of −4..=4, nothing beyond.
    let ramp: Picture<f32, 1, L, 1> = [core::array::from_fn(|t| [t as f32])];
    let shift = TimeShift::new(4, None).unwrap();
    let mut seen = [0usize; 9];
    let mut rng = Pcg32::seed_from_u64(4);
    for _ in 0..900 {
        let mut v = ramp;
        shift.apply(&mut v, &mut rng);
        let s = (L as isize - v[0][0][0] as isize).rem_euclid(L as isize);
        let s = if s > L as isize / 2 {
            s - L as isize
        } else {
            s
        };
        assert!((-4..=4).contains(&s), "shift {s}");
        seen[(s + 4) as usize] += 1;
    }
    assert!(seen.iter().all(|&c| c > 60), "{seen:?}");
}

/// Catmull–Rom in its matrix form, with phantom knots `2p₀ − p₁` and
/// `2p_{K−1} − p_{K−2}` at the ends (equivalent to one-sided end tangents): an
/// independent formulation of the documented curve.
fn catmull_rom(knots: &[f64], t: usize, steps: usize) -> f64 {
    let k = knots.len();
    if steps < 2 {
        return knots[0];
    }
    let u = (t * (k - 1)) as f64 / (steps - 1) as f64;
    let seg = (u.floor() as usize).min(k - 2);
    let f = u - seg as f64;
    let p = |i: isize| -> f64 {
        if i < 0 {
            2.0 * knots[0] - knots[1]
        } else if i as usize >= k {
            2.0 * knots[k - 1] - knots[k - 2]
        } else {
            knots[i as usize]
        }
    };
    let s = seg as isize;
    let (p0, p1, p2, p3) = (p(s - 1), p(s), p(s + 1), p(s + 2));
    0.5 * (2.0 * p1
        + (p2 - p0) * f
        + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * f * f
        + (-p0 + 3.0 * p1 - 3.0 * p2 + p3) * f * f * f)
}

#[test]
fn magnitude_warp_multiplies_by_the_spline_through_its_knots() {
    let w = window("magnitude");
    let mut rng = Rng::for_case("magnitude knots", &[]);
    let knots: [[f32; C]; 5] =
        core::array::from_fn(|_| core::array::from_fn(|_| rng.uniform(0.5, 1.5)));
    let mut v = w;
    MagnitudeWarp::<5>::warp(&mut v, &knots);
    for t in 0..L {
        for c in 0..C {
            let column: Vec<f64> = knots.iter().map(|k| f64::from(k[c])).collect();
            let expected = f64::from(w[0][t][c]) * catmull_rom(&column, t, L);
            let bound = 64.0 * U * f64::from(w[0][t][c]).abs();
            assert_close!(v[0][t][c], expected, bound, "step {t}, channel {c}");
        }
    }
    // L − 1 = 22 is not a multiple of K − 1 = 4; with 21 steps it is, and the curve
    // passes exactly through each knot.
    let mut ones = [[[1.0f32; C]; 21]];
    MagnitudeWarp::<5>::warp(&mut ones, &knots);
    for (k, knot) in knots.iter().enumerate() {
        assert_eq!(&ones[0][5 * k], knot, "knot {k}");
    }
    // The random version draws its knots as 1 + σ·z, knot by knot, channel by channel.
    let mut v = w;
    MagnitudeWarp::<5>::new(0.25)
        .unwrap()
        .apply(&mut v, &mut Pcg32::seed_from_u64(5));
    let mut replay = Pcg32::seed_from_u64(5);
    let drawn: [[f32; C]; 5] = core::array::from_fn(|_| {
        core::array::from_fn(|_| 1.0 + 0.25 * standard_normal(&mut replay))
    });
    let mut u = w;
    MagnitudeWarp::<5>::warp(&mut u, &drawn);
    assert_eq!(flat(&v), flat(&u));
}

/// The documented time warp in `f64`: speeds from the spline, clamped at 0, their
/// trapezoidal integral rescaled onto `[0, L − 1]`, linear interpolation there.
fn time_warp_reference(w: &Window, knots: &[f64]) -> Vec<f64> {
    let speed = |t: usize| catmull_rom(knots, t, L).max(0.0);
    let mut tau = vec![0.0f64; L];
    for t in 1..L {
        tau[t] = tau[t - 1] + (speed(t - 1) + speed(t)) / 2.0;
    }
    let total = tau[L - 1];
    let mut out = Vec::new();
    for &tt in &tau {
        let at = tt * (L - 1) as f64 / total;
        let i = (at.floor() as usize).min(L - 2);
        let f = at - i as f64;
        for (&a, &b) in w[0][i].iter().zip(&w[0][i + 1]) {
            let (a, b) = (f64::from(a), f64::from(b));
            out.push(a + f * (b - a));
        }
    }
    out
}

#[test]
fn time_warp_resamples_along_the_integrated_speed_curve() {
    let w = window("time warp");
    for (case, knots) in [[0.5f32, 1.7, 0.9, 1.2], [1.0, -0.4, 2.0, 0.3]]
        .iter()
        .enumerate()
    {
        let mut v = w;
        TimeWarp::<4>::warp(&mut v, knots);
        let reference = time_warp_reference(&w, &knots.map(f64::from));
        // A position error of a few hundred f32 roundings of L, times slopes of at most
        // 6 per step, plus the interpolation's own roundings.
        for (j, (&got, &expected)) in flat(&v).iter().zip(&reference).enumerate() {
            assert_close!(got, expected, 1e-4, "case {case}, value {j}");
        }
        assert_eq!(v[0][0], w[0][0], "case {case}: the first step stays");
    }
    // A rising ramp stays rising, and the random warp uses knots 1 + σ·z.
    let ramp: Picture<f32, 1, L, 1> = [core::array::from_fn(|t| [t as f32])];
    let warp = TimeWarp::<6>::new(0.5).unwrap();
    for seed in 0..50 {
        let mut v = ramp;
        warp.apply(&mut v, &mut Pcg32::seed_from_u64(seed));
        assert!(v[0].windows(2).all(|p| p[1][0] >= p[0][0]), "seed {seed}");
        let mut replay = Pcg32::seed_from_u64(seed);
        let knots: [f32; 6] = core::array::from_fn(|_| 1.0 + 0.5 * standard_normal(&mut replay));
        let mut u = ramp;
        TimeWarp::<6>::warp(&mut u, &knots);
        assert_eq!(v, u, "seed {seed}");
    }
}

#[test]
fn channel_dropout_zeroes_whole_channels_at_the_drawn_rate() {
    let w = window("dropout");
    let d = ChannelDropout::new(0.3).unwrap();
    let (mut rng, mut replay) = (Pcg32::seed_from_u64(6), Pcg32::seed_from_u64(6));
    let mut dropped = 0;
    for _ in 0..3000 {
        let mut v = w;
        d.apply(&mut v, &mut rng);
        for c in 0..C {
            let gone = uniform(&mut replay) < 0.3;
            dropped += usize::from(gone);
            for t in 0..L {
                assert_eq!(v[0][t][c], if gone { 0.0 } else { w[0][t][c] });
            }
        }
    }
    // 9000 Bernoulli(0.3) draws: the rate within 4.5 standard deviations (0.0217).
    let rate = dropped as f64 / 9000.0;
    assert!((rate - 0.3).abs() < 0.0217, "rate {rate}");
}

/// Sample `i` of the batch starts as the basis vector `e_i`, so after mixing its
/// values say exactly whom it was mixed with and with which weights.
#[test]
fn mixing_pairs_samples_of_one_class_with_a_convex_weight() {
    const B: usize = 12;
    let labels: [u32; B] = [0, 1, 0, 2, 1, 0, 0, 3, 1, 0, 2, 5];
    let mix = MixSameClass::new(0.6, 0.9).unwrap();
    for seed in 0..40 {
        for rows in [B, 9] {
            let mut batch = Signal::<B, 1, B>::zeros();
            for i in 0..B {
                batch.0[i][0][0][i] = 1.0;
            }
            let before = batch;
            mix.apply(&mut batch, &labels, rows, &mut Pcg32::seed_from_u64(seed));
            let mut partner = [None; B];
            for i in 0..B {
                let v = &batch.0[i][0][0];
                let support: Vec<usize> = (0..B).filter(|&j| v[j] != 0.0).collect();
                if support == [i] {
                    assert_eq!(batch.0[i], before.0[i], "seed {seed}: unchanged {i}");
                    continue;
                }
                assert!(i < rows, "seed {seed}: padding row {i} changed");
                let j = *support.iter().find(|&&j| j != i).unwrap();
                assert_eq!(support.len(), 2);
                assert_eq!(labels[i], labels[j], "seed {seed}: {i} mixed with {j}");
                let lambda = v[i];
                assert!((0.6..=0.9).contains(&lambda), "λ = {lambda}");
                assert_eq!(v[j], 1.0 - lambda);
                assert_eq!(batch.0[j][0][0][j], lambda, "one λ per pair");
                partner[i] = Some(j);
            }
            // A matching, maximal within each class among the real rows.
            for i in 0..B {
                if let Some(j) = partner[i] {
                    assert_eq!(partner[j], Some(i));
                }
            }
            for class in 0..6 {
                let lonely = (0..rows)
                    .filter(|&i| labels[i] == class && partner[i].is_none())
                    .count();
                assert!(lonely <= 1, "seed {seed}, class {class}: {lonely} unpaired");
            }
        }
    }
}

/// A pipeline of every per-window transform, through `each_image` on a batch: the
/// same seed gives the same bits, another seed other values, and the padding rows
/// are untouched.
#[test]
fn a_signal_pipeline_is_reproducible_from_its_seed() {
    let pipeline = (
        Jitter::new(0.05).unwrap(),
        Scaling::new(0.1).unwrap(),
        TimeShift::new(3, Some(0.0)).unwrap(),
        MagnitudeWarp::<4>::new(0.2).unwrap(),
        TimeWarp::<4>::new(0.2).unwrap(),
        ChannelDropout::new(0.2).unwrap(),
    );
    let mut batch = Signal::<4, L, C>::zeros();
    for i in 0..4 {
        batch.0[i] = window(&format!("pipeline {i}"));
    }
    let run = |seed| {
        let mut b = batch;
        each_image(&pipeline, &mut b, 3, &mut Pcg32::seed_from_u64(seed));
        b
    };
    let (a, b, c) = (run(7), run(7), run(8));
    let bits = |s: &Signal<4, L, C>| -> Vec<u32> {
        s.0.as_flattened()
            .as_flattened()
            .as_flattened()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
    assert_eq!(a.0[3], batch.0[3]);
}
