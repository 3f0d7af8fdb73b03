//! The fast paths of the softmax cross-entropy, the row-wise softmax and `ln_slice`
//! against their documented evaluation, bit for bit: with SIMD, short rows of logits go
//! several at a time (one row per lane). (`first_non_finite`'s blocks are tested in
//! `kernels_finite.rs`.)
//!
//! The cross-entropy reference below is the evaluation that `src/loss.rs` documents,
//! one row at a time through the scalar kernels (`scalar::softmax_row`, `math::ln`,
//! `scalar::sum`), so a wrong lane, a wrong row order, a wrong summation order, a lost
//! label or a wrong padding row changes a bit. Rows of 1 to 33 logits, batches of 1 to
//! 40 rows (every remainder of a block of eight, partial blocks of every size), with
//! NaN, ±∞, huge, tiny and subnormal logits, signed zeros and out-of-range labels.

use host_tests::check::assert_bits_eq;
use host_tests::Rng;
use microtrain::kernels::{self, math, scalar};
use microtrain::loss::{CrossEntropy, Loss};
use microtrain::{Batch, MatMut, MatRef};

/// Rows in every cross-entropy batch; the tests vary the real rows `1..=ROWS`.
const ROWS: usize = 40;

/// Values that stress the maximum, the exponential and the sum: NaN (two payloads and
/// both signs), ±∞, the largest finite values, subnormals, signed zeros.
const SPECIAL: [f32; 12] = [
    f32::NAN,
    -f32::NAN,
    f32::from_bits(0x7fc0_1234),
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MAX,
    -f32::MAX,
    1e-45,
    -1.2e-40,
    0.0,
    -0.0,
    88.0,
];

/// Logits of kind `kind`: moderate, spread (many exponentials underflow), from the
/// whole finite range, ties and signed zeros, or moderate with special values sprinkled.
fn logits(rng: &mut Rng, n: usize, kind: usize) -> Vec<f32> {
    match kind {
        0 => rng.uniform_vec(n, -8.0, 8.0),
        1 => rng.uniform_vec(n, -120.0, 120.0),
        2 => rng.wild_vec(n),
        3 => (0..n)
            .map(|_| [0.0, -0.0, 1.0, 1.0, -1e-45][rng.below(5) as usize])
            .collect(),
        _ => (0..n)
            .map(|_| {
                if rng.below(6) == 0 {
                    SPECIAL[rng.below(SPECIAL.len() as u64) as usize]
                } else {
                    rng.uniform(-8.0, 8.0)
                }
            })
            .collect(),
    }
}

/// The documented evaluation of the loss over the first `rows` rows of `z` (rows of
/// `cols` logits, overwritten with the gradient), one row at a time.
fn reference(z: &mut [f32], cols: usize, labels: &[u32], rows: usize, eps: f32) -> f32 {
    let off = eps / cols as f32;
    let on = (1.0 - eps) + off;
    let mut total = 0.0f32;
    for (r, g) in z.chunks_exact_mut(cols).enumerate() {
        if r >= rows {
            g.fill(0.0);
            continue;
        }
        let label = labels[r] as usize;
        if label >= cols {
            g.fill(f32::NAN);
            total = f32::NAN;
            continue;
        }
        let x = g.to_vec();
        let (m, s) = scalar::softmax_row(&x, g).unwrap();
        let ln_s = math::ln(s);
        let log_p: Vec<f32> = x.iter().map(|&v| (v - m) - ln_s).collect();
        let mut loss = -(1.0 - eps) * log_p[label];
        if eps != 0.0 {
            loss -= off * scalar::sum(&log_p);
        }
        total += loss;
        for (i, g) in g.iter_mut().enumerate() {
            let q = if i == label { on } else { off };
            *g = (*g - q) / rows as f32;
        }
    }
    total / rows as f32
}

/// For `C` logits per row: every real row count `1..=ROWS`, every kind of logits, with
/// and without label smoothing, some labels out of range, against [`reference`].
fn cross_entropy_case<const C: usize>() {
    for rows in 1..=ROWS {
        for kind in 0..5 {
            let mut rng = Rng::for_case("loss_speed ce", &[C, rows, kind]);
            let mut out = Batch::<ROWS, C>::zeros();
            out.as_mut_slice()
                .copy_from_slice(&logits(&mut rng, ROWS * C, kind));
            let mut labels = [0u32; ROWS];
            for l in &mut labels {
                *l = rng.below(C as u64) as u32;
            }
            if kind == 4 && rows > 2 {
                // An out-of-range label in the middle of the real rows: a NaN row and
                // a NaN loss, whatever the rows around it.
                labels[rows / 2] = [C as u32, u32::MAX][rows % 2];
            }
            for eps in [0.0, 0.1] {
                let ce = CrossEntropy {
                    label_smoothing: eps,
                };
                let what = format_args!("C={C} rows={rows} kind={kind} ε={eps}");
                let mut got = out;
                let loss = ce.loss_in_place(&mut got, &labels, rows);
                let mut want = out;
                let loss_want = reference(want.as_mut_slice(), C, &labels, rows, eps);
                assert_bits_eq(&[loss], &[loss_want], format_args!("{what}: loss"));
                assert_bits_eq(
                    got.as_slice(),
                    want.as_slice(),
                    format_args!("{what}: gradient"),
                );
            }
        }
    }
}

macro_rules! cross_entropy_cases {
    ($($c:literal)*) => {
        #[test]
        fn cross_entropy_matches_the_row_by_row_evaluation() {
            $(cross_entropy_case::<$c>();)*
        }
    };
}

cross_entropy_cases!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33);

/// A batch smaller than a block, and exactly one block, at the size the benches train.
#[test]
fn cross_entropy_small_batches_match_the_row_by_row_evaluation() {
    fn case<const B: usize>() {
        let mut rng = Rng::for_case("loss_speed ce small", &[B]);
        let mut out = Batch::<B, 10>::zeros();
        out.as_mut_slice()
            .copy_from_slice(&rng.uniform_vec(B * 10, -5.0, 5.0));
        let labels: [u32; B] = core::array::from_fn(|r| (r * 7 % 10) as u32);
        for rows in 0..=B + 1 {
            let mut got = out;
            let loss = CrossEntropy::default().loss_in_place(&mut got, &labels, rows);
            let mut want = out;
            let loss_want = reference(want.as_mut_slice(), 10, &labels, rows.min(B), 0.0);
            assert_bits_eq(&[loss], &[loss_want], format_args!("B={B} rows={rows}"));
            assert_bits_eq(got.as_slice(), want.as_slice(), format_args!("B={B}"));
        }
    }
    case::<1>();
    case::<3>();
    case::<8>();
    case::<9>();
}

/// `softmax_rows` and `log_softmax_rows` on every shape `rows × cols` up to 40 × 33,
/// SIMD against scalar, with special values.
#[test]
fn softmax_rows_match_scalar_on_every_short_shape() {
    for cols in 1..=33 {
        for rows in 1..=ROWS {
            for kind in [0, 2, 3, 4] {
                let mut rng = Rng::for_case("loss_speed softmax", &[cols, rows, kind]);
                let x = logits(&mut rng, rows * cols, kind);
                for log in [false, true] {
                    let (mut simd, mut plain) = (vec![0.0; x.len()], vec![0.0; x.len()]);
                    let xv = MatRef::new(&x, rows, cols).unwrap();
                    let (a, b) = (
                        MatMut::new(&mut simd, rows, cols).unwrap(),
                        MatMut::new(&mut plain, rows, cols).unwrap(),
                    );
                    if log {
                        kernels::log_softmax_rows(xv, a).unwrap();
                        scalar::log_softmax_rows(xv, b).unwrap();
                    } else {
                        kernels::softmax_rows(xv, a).unwrap();
                        scalar::softmax_rows(xv, b).unwrap();
                    }
                    assert_bits_eq(
                        &simd,
                        &plain,
                        format_args!("log={log} {rows}×{cols} kind={kind}"),
                    );
                }
            }
        }
    }
}

/// `vector::ln_slice` (the cross-entropy's `ln s` eight rows at a time) against
/// `math::ln` bit for bit: a million bit patterns spread over every sign, exponent and
/// mantissa (NaN, ±∞, zeros, subnormals, negatives among them), the special values
/// around 1 and √2/2, and every length of slice up to 20 with a special value at each
/// position (a vector that falls back to the scalar function).
#[test]
fn ln_slice_matches_math_ln() {
    let check = |x: &[f32], what: &str| {
        let mut y = vec![0.0; x.len()];
        kernels::vector::ln_slice(x, &mut y).unwrap();
        let want: Vec<f32> = x.iter().map(|&v| math::ln(v)).collect();
        assert_bits_eq(&y, &want, what);
    };
    let spread: Vec<f32> = (0..1u32 << 20)
        .map(|i| f32::from_bits(i.wrapping_mul(4099).wrapping_add(i >> 7)))
        .collect();
    check(&spread, "spread bit patterns");
    let near: Vec<f32> = (0..4096u32)
        .flat_map(|i| {
            [1.0f32, core::f32::consts::FRAC_1_SQRT_2, 2.0, 10.0, 33.0]
                .map(|c| f32::from_bits(c.to_bits() - 2048 + i))
        })
        .collect();
    check(&near, "around 1, √2/2, 2, 10, 33");
    for len in 0..=20 {
        let base: Vec<f32> = (0..len).map(|i| 1.0 + i as f32 * 0.37).collect();
        check(&base, "normal");
        for at in 0..len {
            for bad in SPECIAL {
                let mut x = base.clone();
                x[at] = bad;
                check(&x, &format!("len {len}, {bad} at {at}"));
            }
        }
    }
}
