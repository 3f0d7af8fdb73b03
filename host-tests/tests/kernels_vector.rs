//! Vector kernels (`axpy`, `scale`, `add`, `hadamard`, `sum`, `dot`, `squared_norm`,
//! `max`, `argmax`) against `f64` references, SIMD against scalar bit for bit, and
//! length errors.

use host_tests::bound::{dot_bound, sum_bound, U, U64};
use host_tests::canonical::eight_lane_sum;
use host_tests::check::{
    assert_all_close, assert_bits_eq, assert_bits_eq_debug, assert_length_error,
};
use host_tests::{abs, assert_close, reference, Rng, VECTOR_SIZES};
use microtrain::kernels::{self, scalar};

/// Every length 0..=67, plus lengths with many full 8-lane blocks.
fn lengths() -> impl Iterator<Item = usize> {
    core::iter::once(0)
        .chain(VECTOR_SIZES)
        .chain([100, 128, 255, 1000, 4099])
}

/// Test data of length `n`: uniform in `[-1, 1)`, or from the whole exponent range.
fn data(label: &str, n: usize, salt: usize, wild: bool) -> Vec<f32> {
    let mut rng = Rng::for_case(label, &[n, salt, wild as usize]);
    if wild {
        rng.wild_vec(n)
    } else {
        rng.uniform_vec(n, -1.0, 1.0)
    }
}

/// Scalars for `axpy` and `scale`: zeros of both signs, ±1, exact and inexact
/// fractions, and magnitudes that push products towards underflow or up high.
const ALPHAS: [f32; 10] = [
    0.0, -0.0, 1.0, -1.0, 0.5, -3.25, 0.1, 1.0e-30, -7.0e12, 2.0e-38,
];

#[test]
fn axpy_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            for (s, &alpha) in ALPHAS.iter().enumerate() {
                let x = data("axpy x", n, s, wild);
                let y0 = data("axpy y", n, s, wild);
                let mut y = y0.clone();
                kernels::axpy(alpha, &x, &mut y).unwrap();
                let expected = reference::axpy(alpha, &x, &y0);
                // yᵢ + fl(α·xᵢ), rounded: a dot product of the two terms yᵢ·1 and α·xᵢ,
                // so |err| ≤ γ₂·(|yᵢ| + |α·xᵢ|) + 2⁻¹⁵⁰ (underflow of α·xᵢ); `dot_bound`.
                let bounds: Vec<f64> = x
                    .iter()
                    .zip(&y0)
                    .map(|(&x, &y)| {
                        dot_bound(
                            2,
                            f64::from(y).abs() + (f64::from(alpha) * f64::from(x)).abs(),
                        )
                    })
                    .collect();
                assert_all_close(
                    &y,
                    &expected,
                    &bounds,
                    format_args!("axpy α={alpha:e} n={n} wild={wild}"),
                );
            }
        }
    }
}

#[test]
fn scale_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            for (s, &alpha) in ALPHAS.iter().enumerate() {
                let x0 = data("scale", n, s, wild);
                let mut x = x0.clone();
                kernels::scale(alpha, &mut x);
                let expected = reference::scale(alpha, &x0);
                // One rounded product: |fl(α·x) − α·x| ≤ u·|α·x| + 2⁻¹⁵⁰; the f64
                // reference is exact (24 + 24 bits).
                let bounds: Vec<f64> = expected.iter().map(|e| dot_bound(1, e.abs())).collect();
                assert_all_close(
                    &x,
                    &expected,
                    &bounds,
                    format_args!("scale α={alpha:e} n={n} wild={wild}"),
                );
            }
        }
    }
}

#[test]
fn add_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            let x = data("add x", n, 0, wild);
            let y0 = data("add y", n, 0, wild);
            let mut y = y0.clone();
            kernels::add(&x, &mut y).unwrap();
            let expected = reference::add(&x, &y0);
            // One rounded sum: |fl(x + y) − (x + y)| ≤ u·|x + y| (no underflow error: sums
            // of subnormals are exact); the f64 reference errs by at most 2⁻⁵³·|x + y|.
            let bounds: Vec<f64> = expected.iter().map(|e| (U + 2.0 * U64) * e.abs()).collect();
            assert_all_close(
                &y,
                &expected,
                &bounds,
                format_args!("add n={n} wild={wild}"),
            );
        }
    }
}

#[test]
fn hadamard_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            let x = data("hadamard x", n, 0, wild);
            let y0 = data("hadamard y", n, 0, wild);
            let mut y = y0.clone();
            kernels::hadamard(&x, &mut y).unwrap();
            let expected = reference::hadamard(&x, &y0);
            // One rounded product: u·|x·y| + 2⁻¹⁵⁰; the reference is exact.
            let bounds: Vec<f64> = expected.iter().map(|e| dot_bound(1, e.abs())).collect();
            assert_all_close(
                &y,
                &expected,
                &bounds,
                format_args!("hadamard n={n} wild={wild}"),
            );
        }
    }
}

#[test]
fn sum_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            let x = data("sum", n, 0, wild);
            // n − 1 additions in any order (the kernel's is eight lanes, then a tree):
            // |fl(Σx) − Σx| ≤ γ_{n−1}·Σ|xᵢ|, plus the f64 reference's γ_{n−1}(2⁻⁵³)·Σ|xᵢ|.
            let bound = sum_bound(n, reference::sum(&abs(&x)));
            assert_close!(
                kernels::sum(&x),
                reference::sum(&x),
                bound,
                "sum n={n} wild={wild}"
            );
        }
    }
}

#[test]
fn dot_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            let x = data("dot x", n, 0, wild);
            let y = data("dot y", n, 1, wild);
            // n rounded products and n − 1 additions in any order (Higham (3.5)):
            // |fl(x·y) − x·y| ≤ γₙ·Σ|xᵢyᵢ| + n·2⁻¹⁵⁰; `dot_bound`.
            let bound = dot_bound(n, reference::dot(&abs(&x), &abs(&y)));
            let got = kernels::dot(&x, &y).unwrap();
            assert_close!(got, reference::dot(&x, &y), bound, "dot n={n} wild={wild}");
        }
    }
}

#[test]
fn squared_norm_matches_reference() {
    for n in lengths() {
        for wild in [false, true] {
            let x = data("squared_norm", n, 0, wild);
            // A dot product of x with itself: γₙ·Σxᵢ² + n·2⁻¹⁵⁰.
            let exact = reference::squared_norm(&x);
            let bound = dot_bound(n, exact);
            assert_close!(
                kernels::squared_norm(&x),
                exact,
                bound,
                "squared_norm n={n} wild={wild}"
            );
        }
    }
}

/// `sum`, `dot` and `squared_norm` reproduce, bit for bit, the canonical order
/// documented in `src/kernels/vector.rs` (eight lanes, then a fixed tree), written
/// again in `host_tests::canonical::eight_lane_sum`.
#[test]
fn reductions_follow_the_documented_order() {
    for n in lengths() {
        let mut rng = Rng::for_case("reduction order", &[n]);
        let x = rng.wild_vec(n);
        let y = rng.wild_vec(n);
        let pairs = [
            ("sum", kernels::sum(&x), eight_lane_sum(x.iter().copied())),
            (
                "dot",
                kernels::dot(&x, &y).unwrap(),
                eight_lane_sum(x.iter().zip(&y).map(|(a, b)| a * b)),
            ),
            (
                "squared_norm",
                kernels::squared_norm(&x),
                eight_lane_sum(x.iter().map(|a| a * a)),
            ),
        ];
        for (name, got, documented) in pairs {
            assert_bits_eq(&[got], &[documented], format_args!("{name} n={n}"));
        }
    }
}

/// `max` and `argmax` are exact: the largest element and the first index holding it,
/// also with many ties (small integers), signed zeros and all-negative inputs.
#[test]
fn max_and_argmax_match_reference() {
    assert_eq!(kernels::max(&[]), None);
    assert_eq!(kernels::argmax(&[]), None);
    for n in lengths().filter(|&n| n > 0) {
        for salt in 0..4 {
            let mut rng = Rng::for_case("argmax", &[n, salt]);
            let x: Vec<f32> = match salt {
                0 => rng.uniform_vec(n, -1.0, 1.0),
                1 => (0..n).map(|_| rng.below(5) as f32 - 2.0).collect(),
                2 => rng.uniform_vec(n, -9.0, -1.0),
                _ => rng.wild_vec(n),
            };
            let m = kernels::max(&x).unwrap();
            assert_eq!(
                m,
                reference::max(&x).unwrap(),
                "max n={n} salt={salt}: {x:?}"
            );
            assert_eq!(
                kernels::argmax(&x),
                reference::argmax(&x),
                "argmax n={n} salt={salt}: {x:?}"
            );
        }
    }
    // Signed zeros compare equal: the first one wins.
    assert_eq!(kernels::argmax(&[-0.0, 0.0]), Some(0));
    assert_eq!(kernels::argmax(&[-1.0, 0.0, -0.0]), Some(1));
    // The documented NaN rule: the index of the first NaN.
    assert_eq!(kernels::argmax(&[1.0, f32::NAN, 9.0, f32::NAN]), Some(1));
    assert!(kernels::max(&[f32::NAN, 1.0]).unwrap().is_nan());
    assert_eq!(kernels::max(&[f32::NEG_INFINITY, -1.0]), Some(-1.0));
}

/// Runs an in-place element-wise kernel on both paths and compares bits.
fn both_paths(context: std::fmt::Arguments<'_>, y0: &[f32], run: impl Fn(bool, &mut [f32])) {
    let mut simd = y0.to_vec();
    let mut scalar = y0.to_vec();
    run(true, &mut simd);
    run(false, &mut scalar);
    assert_bits_eq(&simd, &scalar, context);
}

/// Every vector kernel gives the same bits on its SIMD and its scalar path, for every
/// length, on inputs from the whole finite range (zeros of both signs, subnormals,
/// tiny and large values).
#[test]
fn simd_matches_scalar_bit_for_bit() {
    for n in lengths() {
        for salt in 0..3 {
            let mut rng = Rng::for_case("vector bits", &[n, salt]);
            let x = rng.wild_vec(n);
            let y0 = rng.wild_vec(n);
            let wild_alpha = rng.wild();
            for alpha in ALPHAS.iter().copied().chain([wild_alpha]) {
                both_paths(format_args!("axpy α={alpha:e} n={n}"), &y0, |simd, y| {
                    if simd {
                        kernels::axpy(alpha, &x, y).unwrap()
                    } else {
                        scalar::axpy(alpha, &x, y).unwrap()
                    }
                });
                both_paths(format_args!("scale α={alpha:e} n={n}"), &y0, |simd, y| {
                    if simd {
                        kernels::scale(alpha, y)
                    } else {
                        scalar::scale(alpha, y)
                    }
                });
            }
            both_paths(format_args!("add n={n}"), &y0, |simd, y| {
                if simd {
                    kernels::add(&x, y).unwrap()
                } else {
                    scalar::add(&x, y).unwrap()
                }
            });
            both_paths(format_args!("hadamard n={n}"), &y0, |simd, y| {
                if simd {
                    kernels::hadamard(&x, y).unwrap()
                } else {
                    scalar::hadamard(&x, y).unwrap()
                }
            });
            let pairs = [
                ("sum", kernels::sum(&x), scalar::sum(&x)),
                (
                    "dot",
                    kernels::dot(&x, &y0).unwrap(),
                    scalar::dot(&x, &y0).unwrap(),
                ),
                (
                    "squared_norm",
                    kernels::squared_norm(&x),
                    scalar::squared_norm(&x),
                ),
            ];
            for (name, simd, scalar) in pairs {
                assert_bits_eq(&[simd], &[scalar], format_args!("{name} n={n} salt={salt}"));
            }
        }
    }
}

/// Slices of different lengths are `Error::Length` naming the length the output (or
/// first operand) demands and the one found, on both paths, and nothing is written.
#[test]
fn mismatched_lengths_are_errors() {
    let x = [1.0f32; 5];
    let mut y = [2.0f32; 3];
    assert_length_error(kernels::axpy(1.0, &x, &mut y), 3, 5);
    assert_length_error(scalar::axpy(1.0, &x, &mut y), 3, 5);
    assert_length_error(kernels::add(&x, &mut y), 3, 5);
    assert_length_error(scalar::add(&x, &mut y), 3, 5);
    assert_length_error(kernels::hadamard(&x, &mut y), 3, 5);
    assert_length_error(scalar::hadamard(&x, &mut y), 3, 5);
    assert_eq!(y, [2.0; 3], "an operation that failed wrote its output");
    assert_length_error(kernels::dot(&x, &y), 5, 3);
    assert_length_error(scalar::dot(&x, &y), 5, 3);
    assert_length_error(kernels::dot(&[], &y), 0, 3);
}

/// Empty inputs: sums are `+0.0`, element-wise operations do nothing.
#[test]
fn empty_inputs() {
    assert_eq!(kernels::sum(&[]).to_bits(), 0);
    assert_eq!(kernels::dot(&[], &[]).unwrap().to_bits(), 0);
    assert_eq!(kernels::squared_norm(&[]).to_bits(), 0);
    let mut nothing: [f32; 0] = [];
    kernels::axpy(2.0, &[], &mut nothing).unwrap();
    kernels::add(&[], &mut nothing).unwrap();
    kernels::hadamard(&[], &mut nothing).unwrap();
    kernels::scale(2.0, &mut nothing);
}

/// `add_rows` on both paths gives the bits of adding the rows one after the other, each
/// row an `f32` sum per element written out here, over every ragged column count up to
/// three vectors and row counts from 0, with wild values (NaN, ±∞, subnormals); a `y`
/// of the wrong length is an error that writes nothing.
#[test]
fn add_rows_adds_the_rows_in_order() {
    for cols in (1..=25).chain([31, 32, 33]) {
        for rows in [0, 1, 2, 3, 7, 8, 9, 32, 33] {
            let x = data("add_rows x", rows * cols, cols, true);
            let y0 = data("add_rows y", cols, rows, true);
            let mut expected = y0.clone();
            for row in x.chunks_exact(cols) {
                for (e, &v) in expected.iter_mut().zip(row) {
                    *e += v;
                }
            }
            let m = kernels::MatRef::new(&x, rows, cols).unwrap();
            let (mut fast, mut slow) = (y0.clone(), y0);
            kernels::add_rows(m, &mut fast).unwrap();
            scalar::add_rows(m, &mut slow).unwrap();
            let what = format_args!("add_rows {rows}×{cols}");
            assert_bits_eq_debug(&fast, &expected, what);
            assert_bits_eq_debug(&slow, &expected, what);
        }
    }
    let x = [1.0f32; 6];
    let mut y = [2.0f32; 3];
    let m = kernels::MatRef::new(&x, 3, 2).unwrap();
    assert_length_error(kernels::add_rows(m, &mut y), 2, 3);
    assert_length_error(scalar::add_rows(m, &mut y), 2, 3);
    assert_eq!(y, [2.0; 3], "a failed add_rows wrote its output");
}
