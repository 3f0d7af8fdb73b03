//! Every run-time dispatch level of the SIMD kernels (`kernels::dispatch`) gives the
//! scalar path's bits: the three matrix products over the sweep of
//! `host_tests::product_shapes`, a convolution's backward pass (whose weight gradient
//! is one dispatched product over the whole batch) and the optimizer loop with a rule
//! that uses every `Lane` operation, with inputs from the whole exponent range, and the gradient bound `optim::magnitude`. Levels the CPU lacks run as the widest level it has, so on an
//! AVX-512 machine all three are exercised.
//!
//! The level is a process-wide setting, so this file holds one test and sets it alone
//! (each test file is its own process).

use host_tests::check::{assert_bits_eq, assert_bits_eq_debug};
use host_tests::products::{run, PRODUCTS};
use host_tests::{product_shapes, Rng};
use microtrain::kernels::dispatch::{active, detected, set_limit, Level};
use microtrain::kernels::optim::{self, Lane, Rule};
use microtrain::kernels::{self, scalar, ConvShape};
use microtrain::Accumulate;

const LEVELS: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

fn products_match_scalar(level: Level) {
    for (name, kernel, reference, a_t, b_t) in PRODUCTS {
        for mode in [Accumulate::Overwrite, Accumulate::Add] {
            for dims in product_shapes() {
                let (m, k, n) = dims;
                let mut rng = Rng::for_case("dispatch gemm", &[m, k, n, mode as usize]);
                let (a, b, c0) = (
                    rng.wild_vec(m * k),
                    rng.wild_vec(k * n),
                    rng.wild_vec(m * n),
                );
                let (mut fast, mut slow) = (c0.clone(), c0);
                run(kernel, (a_t, b_t), &mut fast, &a, &b, dims, mode);
                run(reference, (a_t, b_t), &mut slow, &a, &b, dims, mode);
                assert_bits_eq(
                    &fast,
                    &slow,
                    format_args!("{level:?} {name} {mode:?} M={m} K={k} N={n}"),
                );
            }
        }
    }
}

/// A convolution shape with `ho`, `wo` computed.
fn conv_shape(
    batch: usize,
    (h, w, c_in, c_out): (usize, usize, usize, usize),
    k: usize,
    s: usize,
    p: usize,
) -> ConvShape {
    let shape = ConvShape {
        batch,
        h,
        w,
        c_in,
        c_out,
        ho: ConvShape::output_len(h, k, s, p),
        wo: ConvShape::output_len(w, k, s, p),
        kh: k,
        kw: k,
        sh: s,
        sw: s,
        ph: p,
        pw: p,
    };
    assert!(shape.is_consistent(), "{shape:?}");
    shape
}

fn convolution_matches_scalar(level: Level) {
    let shapes = [
        conv_shape(2, (8, 8, 3, 8), 3, 1, 1),
        conv_shape(3, (9, 7, 5, 17), 3, 2, 0),
        conv_shape(1, (12, 12, 16, 33), 1, 1, 0),
        conv_shape(4, (6, 6, 8, 16), 5, 1, 2),
    ];
    for s in shapes {
        let mut rng = Rng::for_case("dispatch conv", &[s.batch, s.c_in, s.c_out]);
        let x = rng.wild_vec(s.input_len());
        let w = rng.wild_vec(s.weight_len());
        let dy = rng.wild_vec(s.output_elems());
        let grads = |rng: &mut Rng| (rng.wild_vec(s.weight_len()), rng.wild_vec(s.c_out));
        let (gw0, gb0) = grads(&mut rng);
        let mut scratch = vec![0.0; s.scratch_len()];
        let (mut gw_fast, mut gb_fast, mut dx_fast) = (gw0.clone(), gb0.clone(), x.clone());
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw_fast,
            &mut gb_fast,
            Some(&mut dx_fast),
            &mut scratch,
        )
        .unwrap();
        let (mut gw_slow, mut gb_slow, mut dx_slow) = (gw0, gb0, x.clone());
        scalar::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw_slow,
            &mut gb_slow,
            Some(&mut dx_slow),
            &mut scratch,
        )
        .unwrap();
        let what = format_args!("{level:?} conv2d backward {s:?}");
        assert_bits_eq(&gw_fast, &gw_slow, what);
        assert_bits_eq(&gb_fast, &gb_slow, what);
        assert_bits_eq(&dx_fast, &dx_slow, what);
    }
}

/// An update rule that uses every operation of `Lane`, with two state arrays.
struct EveryOperation;

impl Rule<2> for EveryOperation {
    fn apply<L: Lane>(&self, p: L, g: L, [m, v]: [L; 2]) -> (L, [L; 2]) {
        let m = m * L::splat(0.9) + g * L::splat(0.1);
        let v = v.max(g.abs());
        let step = m / (v.sqrt() + L::splat(1e-3));
        // `max` of two signed values: ±0 against ∓0 tells its operand order apart.
        let p = p.max(g * L::splat(-0.5)) - step * g.sign() + (-p) * L::splat(1e-4);
        (p, [m, v])
    }
}

/// The optimizer loop at `level` against its scalar path, on lengths that leave every
/// remainder of 8 and 16 lanes, with wild and then ordinary values (`run` reports the
/// non-finite values of the first; the second is written).
fn optimizer_loop_matches_scalar(level: Level) {
    for n in [1, 7, 8, 15, 16, 17, 31, 33, 100, 259] {
        for wild in [true, false] {
            let mut rng = Rng::for_case("dispatch optim", &[n, wild as usize]);
            let mut gen = |len| {
                if wild {
                    rng.wild_vec(len)
                } else {
                    rng.uniform_vec(len, -1.0, 1.0)
                }
            };
            let (mut p0, mut g, m0) = (gen(n), gen(n), gen(n));
            if wild && n >= 64 {
                // Every pair of special values, as parameter and gradient.
                const SPECIAL: [f32; 8] = [
                    0.0,
                    -0.0,
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    1.0,
                    -1.0,
                    1e-40,
                ];
                for i in 0..64 {
                    (p0[i], g[i]) = (SPECIAL[i % 8], SPECIAL[i / 8]);
                }
            }
            let v0: Vec<f32> = gen(n).iter().map(|x| x.abs()).collect();
            let (mut p1, mut m1, mut v1) = (p0.clone(), m0.clone(), v0.clone());
            let (mut p2, mut m2, mut v2) = (p0, m0, v0);
            let fast = optim::run(true, &EveryOperation, &mut p1, &g, [&mut m1, &mut v1]).unwrap();
            let slow =
                optim::run_scalar(true, &EveryOperation, &mut p2, &g, [&mut m2, &mut v2]).unwrap();
            assert_eq!(fast, slow, "{level:?} n={n}: finiteness");
            let what = format_args!("{level:?} optimizer loop n={n} wild={wild}");
            // Unoptimised, a NaN's sign catches swapped `max` operands (see the helper).
            assert_bits_eq_debug(&p1, &p2, what);
            assert_bits_eq_debug(&m1, &m2, what);
            assert_bits_eq_debug(&v1, &v2, what);
        }
    }
}

/// `optim::magnitude` and `nonnegative_magnitude` at `level`: `Σ|x|` up to the
/// rounding of `n` additions in some order (so at least every `|x|`), against the sum in
/// `f64`; NaN or `+∞` with a non-finite value anywhere; NaN for a negative value. On
/// lengths that leave every remainder of four vectors of 16 lanes.
fn magnitudes_bound(level: Level) {
    for n in [0, 1, 7, 15, 16, 17, 63, 64, 65, 100, 259] {
        let mut rng = Rng::for_case("dispatch magnitude", &[n]);
        let xs: Vec<f32> = (0..n)
            .map(|_| rng.uniform(-1.0, 1.0) * 2f32.powi(rng.below(40) as i32 - 20))
            .collect();
        let exact: f64 = xs.iter().map(|&x| (x as f64).abs()).sum();
        let bound = optim::magnitude(&xs) as f64;
        let what = format!("{level:?} n={n}");
        let slack = exact * n as f64 * f32::EPSILON as f64;
        assert!(
            (bound - exact).abs() <= slack,
            "{what}: {bound} vs Σ|x| {exact}"
        );
        assert!(xs.iter().all(|&x| (x.abs() as f64) <= bound), "{what}");
        let squares: Vec<f32> = xs.iter().map(|x| x * x).collect();
        let exact: f64 = squares.iter().map(|&x| x as f64).sum();
        let bound = optim::nonnegative_magnitude(&squares) as f64;
        assert!(
            (bound - exact).abs() <= slack.max(exact * n as f64 * 1.2e-7),
            "{what}"
        );
        for i in 0..n {
            for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut ys = xs.clone();
                ys[i] = special;
                let bound = optim::magnitude(&ys);
                assert!(
                    bound.is_nan() || bound == f32::INFINITY,
                    "{what} [{i}] {special}"
                );
            }
            let mut ys = squares.clone();
            ys[i] = -1e-30;
            assert!(
                optim::nonnegative_magnitude(&ys).is_nan(),
                "{what} [{i}] negative"
            );
            ys[i] = -0.0;
            assert!(
                !optim::nonnegative_magnitude(&ys).is_nan(),
                "{what} [{i}] −0"
            );
        }
    }
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn every_level_matches_the_scalar_path() {
    for level in LEVELS {
        set_limit(level);
        assert_eq!(active(), level.min(detected()));
        products_match_scalar(level);
        convolution_matches_scalar(level);
        optimizer_loop_matches_scalar(level);
        magnitudes_bound(level);
    }
    set_limit(Level::Avx512);
    println!("detected: {:?}", detected());
}
