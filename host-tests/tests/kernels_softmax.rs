//! Row-wise softmax and log-softmax against `f64` references, SIMD against scalar bit
//! for bit, stability for large logits, and shape errors.

use host_tests::bound::{against_reference, Tracked};
use host_tests::canonical::eight_lane_sum;
use host_tests::check::{assert_all_close, assert_bits_eq};
use host_tests::{reference, Rng, VECTOR_SIZES};
use microtrain::kernels::{self, math, scalar};
use microtrain::{Error, MatMut, MatRef};

/// Error bounds of the kernel's evaluation of one row, as documented in
/// `src/kernels/softmax.rs`: `m = max x` (exact), `dᵢ = fl(xᵢ − m)`,
/// `eᵢ = expf(dᵢ)`, `s = fl(Σ eᵢ)` (any order), then `yᵢ = fl(eᵢ / s)` or
/// `yᵢ = fl(dᵢ − logf(s))`. Returns the bounds for softmax and for log-softmax.
fn row_bounds(row: &[f32]) -> (Vec<Tracked>, Vec<Tracked>) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let d: Vec<Tracked> = row
        .iter()
        .map(|&v| Tracked::input(v) - Tracked::input(m))
        .collect();
    let e: Vec<Tracked> = d.iter().map(|d| d.exp()).collect();
    let s = Tracked::sum(&e);
    let ln_s = s.ln();
    let softmax = e.iter().map(|&e| e / s).collect();
    let log_softmax = d.iter().map(|&d| d - ln_s).collect();
    (softmax, log_softmax)
}

/// Runs softmax or log-softmax on a `rows × cols` matrix.
fn run(log: bool, simd: bool, x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, Error> {
    let mut y = vec![0.0; x.len()];
    let xv = MatRef::new(x, rows, cols)?;
    let yv = MatMut::new(&mut y, rows, cols)?;
    match (log, simd) {
        (false, true) => kernels::softmax_rows(xv, yv)?,
        (false, false) => scalar::softmax_rows(xv, yv)?,
        (true, true) => kernels::log_softmax_rows(xv, yv)?,
        (true, false) => scalar::log_softmax_rows(xv, yv)?,
    }
    Ok(y)
}

/// Logits of one test case: moderate, spread wide (many `e^{x−m}` underflow), offset
/// to large values (1000 ± 5), or from the whole finite range.
fn logits(n: usize, rows: usize, kind: usize) -> Vec<f32> {
    let mut rng = Rng::for_case("softmax", &[n, rows, kind]);
    match kind {
        0 => rng.uniform_vec(n * rows, -10.0, 10.0),
        1 => rng.uniform_vec(n * rows, -150.0, 150.0),
        2 => rng.uniform_vec(n * rows, 995.0, 1005.0),
        _ => rng.wild_vec(n * rows),
    }
}

fn lengths() -> impl Iterator<Item = usize> {
    VECTOR_SIZES.chain([100, 1000])
}

/// Each element within the running-error bound of the kernel's formula (`row_bounds`),
/// widened only for the `f64` reference's own error (`against_reference`).
#[test]
fn softmax_and_log_softmax_match_reference() {
    for cols in lengths() {
        for rows in [1, 3] {
            for kind in 0..4 {
                let x = logits(cols, rows, kind);
                let softmax = run(false, true, &x, rows, cols).unwrap();
                let log_softmax = run(true, true, &x, rows, cols).unwrap();
                for r in 0..rows {
                    let span = r * cols..(r + 1) * cols;
                    let row = &x[span.clone()];
                    let (sm_bound, lsm_bound) = row_bounds(row);
                    for (log, got, bound, expected) in [
                        (
                            false,
                            &softmax[span.clone()],
                            sm_bound,
                            reference::softmax(row),
                        ),
                        (
                            true,
                            &log_softmax[span.clone()],
                            lsm_bound,
                            reference::log_softmax(row),
                        ),
                    ] {
                        let tolerance: Vec<f64> = bound
                            .iter()
                            .zip(&expected)
                            .map(|(b, &e)| against_reference(*b, e))
                            .collect();
                        let name = if log { "log_softmax" } else { "softmax" };
                        assert_all_close(
                            got,
                            &expected,
                            &tolerance,
                            format_args!("{name} {rows}×{cols} kind={kind}, row {r}"),
                        );
                    }
                }
            }
        }
    }
}

/// The SIMD and scalar paths (which differ in the sum of the exponentials) agree bit
/// for bit.
#[test]
fn simd_matches_scalar_bit_for_bit() {
    for cols in lengths() {
        for rows in [1, 3] {
            for kind in 0..4 {
                let x = logits(cols, rows, kind);
                for log in [false, true] {
                    let simd = run(log, true, &x, rows, cols).unwrap();
                    let scalar = run(log, false, &x, rows, cols).unwrap();
                    assert_bits_eq(
                        &simd,
                        &scalar,
                        format_args!("log={log} {rows}×{cols} kind={kind}"),
                    );
                }
            }
        }
    }
}

/// Both kernels reproduce, bit for bit, the evaluation documented in
/// `src/kernels/softmax.rs`: `m = max x`, `eᵢ = exp(xᵢ − m)` through the math shim,
/// `s` in the canonical sum order, then `eᵢ / s` or `(xᵢ − m) − ln s`.
#[test]
fn softmax_follows_the_documented_order() {
    for cols in lengths() {
        for kind in 0..4 {
            let x = logits(cols, 2, kind);
            let softmax = run(false, true, &x, 2, cols).unwrap();
            let log_softmax = run(true, true, &x, 2, cols).unwrap();
            for (r, row) in x.chunks_exact(cols).enumerate() {
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = row.iter().map(|&v| math::exp(v - m)).collect();
                let s = eight_lane_sum(e.iter().copied());
                let documented: Vec<f32> = e.iter().map(|&e| e / s).collect();
                let span = r * cols..(r + 1) * cols;
                assert_bits_eq(
                    &softmax[span.clone()],
                    &documented,
                    format_args!("softmax 2×{cols} kind={kind} row {r}"),
                );
                let documented: Vec<f32> = row.iter().map(|&v| (v - m) - math::ln(s)).collect();
                assert_bits_eq(
                    &log_softmax[span],
                    &documented,
                    format_args!("log_softmax 2×{cols} kind={kind} row {r}"),
                );
            }
        }
    }
}

/// Large logits do not overflow: softmax of `[1000, 1000.5]` is `[σ(−½), σ(½)]`,
/// finite and summing to one, and so on for other rows that would overflow `e^x`.
#[test]
fn large_logits_are_stable() {
    let rows: [&[f32]; 6] = [
        &[1000.0, 1000.5],
        &[-1000.0, -1000.5],
        &[1.0e30, 0.0, -1.0e30],
        &[88.0, 89.0, 90.0, 200.0],
        &[3.0e38, 3.0e38, 3.0e38],
        &[-3.0e38, -3.0e38],
    ];
    for row in rows {
        let n = row.len();
        let y = run(false, true, row, 1, n).unwrap();
        let log_y = run(true, true, row, 1, n).unwrap();
        assert!(
            y.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
            "softmax {row:?} = {y:?}"
        );
        assert!(
            log_y.iter().all(|v| v.is_finite() && *v <= 0.0),
            "log_softmax {row:?} = {log_y:?}"
        );
        let total: f32 = y.iter().sum();
        assert!(
            (total - 1.0).abs() <= 4.0 * f32::EPSILON,
            "softmax {row:?} sums to {total}"
        );
        let (bound, log_bound) = row_bounds(row);
        let tolerance: Vec<f64> = bound
            .iter()
            .map(|b| against_reference(*b, b.exact))
            .collect();
        assert_all_close(
            &y,
            &reference::softmax(row),
            &tolerance,
            format_args!("softmax {row:?}"),
        );
        let tolerance: Vec<f64> = log_bound
            .iter()
            .map(|b| against_reference(*b, b.exact))
            .collect();
        assert_all_close(
            &log_y,
            &reference::log_softmax(row),
            &tolerance,
            format_args!("log_softmax {row:?}"),
        );
    }
    // The documented example: two equal logits of 1000 give exactly one half each.
    assert_eq!(
        run(false, true, &[1000.0, 1000.0], 1, 2).unwrap(),
        [0.5, 0.5]
    );
    // A spread of 2·f32::MAX: softmax is exactly [1, 0]; log-softmax of the small one
    // is −6.8e38, which rounds to −∞ (the correctly rounded f32 value), not NaN.
    let y = run(false, true, &[f32::MAX, -f32::MAX], 1, 2).unwrap();
    assert_eq!(y, [1.0, 0.0]);
    let log_y = run(true, true, &[f32::MAX, -f32::MAX], 1, 2).unwrap();
    assert_eq!(log_y[0], 0.0);
    assert_eq!(log_y[1], f32::NEG_INFINITY);
}

/// Shapes that differ are `Error::Shape` naming the two sizes; empty shapes are fine.
#[test]
fn mismatched_shapes_are_errors() {
    let x = [0.0f32; 6];
    // (shape of x, shape of y, the two sizes that disagree)
    let cases = [
        ((2, 3), (3, 2), (2, 3)),
        ((2, 3), (1, 6), (2, 1)),
        ((6, 1), (3, 2), (6, 3)),
        ((2, 3), (2, 2), (3, 2)),
        ((3, 2), (3, 1), (2, 1)),
    ];
    for (simd, log) in [(true, false), (false, false), (true, true), (false, true)] {
        for (x_shape, y_shape, sizes) in cases {
            let mut y = vec![7.0f32; y_shape.0 * y_shape.1];
            let xv = MatRef::new(&x, x_shape.0, x_shape.1).unwrap();
            let yv = MatMut::new(&mut y, y_shape.0, y_shape.1).unwrap();
            let result = match (log, simd) {
                (false, true) => kernels::softmax_rows(xv, yv),
                (false, false) => scalar::softmax_rows(xv, yv),
                (true, true) => kernels::log_softmax_rows(xv, yv),
                (true, false) => scalar::log_softmax_rows(xv, yv),
            };
            match result {
                Err(Error::Shape {
                    expected, found, ..
                }) => {
                    let mut got = [expected, found];
                    got.sort_unstable();
                    let mut want = [sizes.0, sizes.1];
                    want.sort_unstable();
                    assert_eq!(got, want, "{x_shape:?} vs {y_shape:?}");
                }
                other => panic!("{x_shape:?} vs {y_shape:?}: expected Error::Shape, got {other:?}"),
            }
            assert!(
                y.iter().all(|&v| v == 7.0),
                "a failed softmax wrote its output"
            );
        }
    }
    for (rows, cols) in [(0, 0), (0, 5), (4, 0)] {
        for log in [false, true] {
            assert_eq!(run(log, true, &[], rows, cols).unwrap(), Vec::<f32>::new());
        }
    }
}

/// `softmax_row` gives `softmax_rows`' values bit for bit and the `(m, s)` of the
/// documented order, from which `(xᵢ − m) − ln s` is `log_softmax_rows`' value bit for
/// bit; its SIMD and scalar paths agree.
#[test]
fn softmax_row_gives_both_softmaxes() {
    for cols in lengths() {
        for kind in 0..4 {
            let x = logits(cols, 1, kind);
            let softmax = run(false, true, &x, 1, cols).unwrap();
            let log_softmax = run(true, true, &x, 1, cols).unwrap();
            let (mut p, mut p_scalar) = (vec![0.0; cols], vec![0.0; cols]);
            let (m, s) = kernels::softmax_row(&x, &mut p).unwrap();
            let (m2, s2) = scalar::softmax_row(&x, &mut p_scalar).unwrap();
            let what = format_args!("softmax_row 1×{cols} kind={kind}");
            assert_bits_eq(&p, &softmax, what);
            assert_bits_eq(&p_scalar, &p, what);
            assert_eq!(
                (m.to_bits(), s.to_bits()),
                (m2.to_bits(), s2.to_bits()),
                "{what}"
            );
            let e: Vec<f32> = x.iter().map(|&v| math::exp(v - m)).collect();
            assert_eq!(
                s.to_bits(),
                eight_lane_sum(e.iter().copied()).to_bits(),
                "{what}"
            );
            let log_p: Vec<f32> = x.iter().map(|&v| (v - m) - math::ln(s)).collect();
            assert_bits_eq(&log_p, &log_softmax, what);
        }
    }
    let mut y = [0.0; 2];
    assert_eq!(kernels::softmax_row(&[], &mut []), Ok((0.0, 0.0)));
    assert!(matches!(
        kernels::softmax_row(&[1.0], &mut y),
        Err(Error::Length { .. })
    ));
}
