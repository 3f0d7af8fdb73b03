//! Loss values against closed forms of PyTorch's definitions, numerical stability at
//! extreme logits, partial batches, and `correct` (accuracy) counting. The gradient
//! checks of the losses are in `gradcheck.rs`.
//!
//! Tolerances: `u = 2⁻²⁴`. A loss over `n` elements is a sum of `n` per-element terms
//! (each within a few ulps: `exp`/`ln` 1 ulp, the arithmetic around them ≤ 4 roundings),
//! then one division, so `|ℓ − ℓ_ref| ≤ (n + 8)·u·(mean of |terms|)` plus, for softmax
//! terms, the absolute error `≈ 4u·|z − max z|` of `z − max z − ln Σ`. Each assertion
//! states its own figure.

use host_tests::{reference, Rng};
use microtrain::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
use microtrain::{Batch, Matrix};

const U: f64 = 1.0 / 16_777_216.0;

fn assert_within(what: &str, got: f32, expected: f64, tol: f64) {
    let diff = (f64::from(got) - expected).abs();
    assert!(
        diff <= tol,
        "{what}: got {got:e}, expected {expected:e}, |diff| {diff:e} > {tol:e}"
    );
}

fn labels<const B: usize, const C: usize>(ce: &CrossEntropy, values: [u32; B]) -> [u32; B] {
    let mut t = [0u32; B];
    for (r, v) in values.iter().enumerate() {
        Loss::<B, C>::set_target(ce, &mut t, r, r, &[*v]).unwrap();
    }
    t
}

/// `torch.nn.CrossEntropyLoss()(torch.tensor([[1., 2., 3.]]), torch.tensor([0]))` is
/// `ln(e + e² + e³) − 1 = 2.4076059644443806`; with `label_smoothing=0.1` PyTorch gives
/// `0.9·2.40760596 + 0.1·mean(2.40760596, 1.40760596, 0.40760596) = 2.3076059644443806`
/// (the smoothed term is the mean over classes of `−log p_c`).
#[test]
fn cross_entropy_matches_pytorch_closed_forms() {
    let logits: Batch<1, 3> = Matrix([[1.0, 2.0, 3.0]]);
    let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    assert!((lse - 1.0 - 2.407_605_964_444_380_6).abs() < 1e-15);
    let mut grad = Batch::zeros();
    // Three exponentials (1 ulp each) summed (2 roundings), ln (1 ulp of 3.4), and the
    // subtraction: ≤ 8u·3.4 absolute ≈ 1.6e-6 — we allow 16u·|ℓ|.
    for (eps, expected) in [
        (0.0f32, 2.407_605_964_444_380_6),
        (0.1, 2.307_605_964_444_380_6),
    ] {
        let ce = CrossEntropy {
            label_smoothing: eps,
        };
        let t = labels::<1, 3>(&ce, [0]);
        let l = ce.loss(&logits, &t, 1, &mut grad);
        assert_within(&format!("CE ε={eps}"), l, expected, 16.0 * U * expected);
        // Gradient p − q: p = softmax(1, 2, 3), q = (1 − ε)·onehot(0) + ε/3.
        let s = 1f64.exp() + 2f64.exp() + 3f64.exp();
        let eps = f64::from(eps);
        for c in 0..3 {
            let p = ((c + 1) as f64).exp() / s;
            let q = if c == 0 { 1.0 - eps } else { 0.0 } + eps / 3.0;
            assert_within(
                &format!("CE ε={eps} grad {c}"),
                grad.0[0][c],
                p - q,
                16.0 * U,
            );
        }
    }
}

/// Label smoothing 1 makes the target uniform: `ℓ = mean_c(−log p_c)`, independent of
/// the label.
#[test]
fn full_label_smoothing_is_the_uniform_target() {
    let ce = CrossEntropy {
        label_smoothing: 1.0,
    };
    let logits: Batch<2, 4> = Matrix([[0.5, -1.0, 2.0, 0.0], [0.5, -1.0, 2.0, 0.0]]);
    let t = labels::<2, 4>(&ce, [0, 3]);
    let mut grad = Batch::zeros();
    let l = ce.loss(&logits, &t, 2, &mut grad);
    let z = [0.5f64, -1.0, 2.0, 0.0];
    let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
    let expected = z.iter().map(|v| lse - v).sum::<f64>() / 4.0;
    assert_within("CE ε=1", l, expected, 32.0 * U * expected);
    // Both rows have the same gradient, whatever their label.
    assert_eq!(grad.0[0], grad.0[1]);
}

/// Each row of the cross-entropy gradient sums to zero (Σp = Σq = 1), divided by the
/// number of rows; checked to `C·u` per row, the rounding of C terms of size ≤ 1.
#[test]
fn cross_entropy_gradient_rows_sum_to_zero() {
    let ce = CrossEntropy {
        label_smoothing: 0.2,
    };
    let logits: Batch<3, 5> = Matrix([
        [0.1, 2.0, -3.0, 0.7, 1.1],
        [5.0, 5.0, 5.0, 5.0, 5.0],
        [-0.3, 0.0, 9.0, -8.0, 2.5],
    ]);
    let t = labels::<3, 5>(&ce, [1, 4, 2]);
    let mut grad = Batch::zeros();
    ce.loss(&logits, &t, 3, &mut grad);
    for row in &grad.0 {
        let s: f64 = row.iter().map(|&v| f64::from(v)).sum();
        assert!(s.abs() <= 8.0 * U, "row {row:?} sums to {s:e}");
    }
}

/// Logits of ±1000 overflow a naive `exp`; the max-shifted log-softmax keeps the loss
/// finite and exact: a 2000 margin for the right class gives ℓ = 0 (e^−2000 underflows
/// to exactly 0), for a wrong class ℓ = 2000 (within 2 ulp of 2000).
#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let ce = CrossEntropy::default();
    let logits: Batch<2, 2> = Matrix([[1000.0, -1000.0], [1000.0, -1000.0]]);
    let t = labels::<2, 2>(&ce, [0, 1]);
    let mut grad = Batch::zeros();
    let l = ce.loss(&logits, &t, 2, &mut grad);
    // Mean of 0 and 2000.
    assert_within("CE huge logits", l, 1000.0, 2.0 * 1000.0 * U);
    assert_eq!(grad.0, [[0.0, 0.0], [0.5, -0.5]]);
    let l = ce.loss(&logits, &t, 1, &mut grad);
    assert_eq!(l, 0.0);
}

/// `nn.BCEWithLogitsLoss()(z, t)` for `z = [−2, 0.5, 100, −100]`, `t = [0, 1, 0, 1]`:
/// `softplus(−2) = ln(1 + e⁻²)`, `softplus(−0.5)`, `softplus(100) = 100 + ln(1 + e⁻¹⁰⁰)`,
/// `softplus(100)` again; no overflow at ±100, where `1 + e¹⁰⁰` would be huge.
#[test]
fn bce_with_logits_closed_form_and_stability() {
    let z: Batch<1, 4> = Matrix([[-2.0, 0.5, 100.0, -100.0]]);
    let t: Batch<1, 4> = Matrix([[0.0, 1.0, 0.0, 1.0]]);
    let mut targets = Batch::zeros();
    BceWithLogits
        .set_target(&mut targets, 0, 0, t.row(0))
        .unwrap();
    let mut grad = Batch::zeros();
    let l = BceWithLogits.loss(&z, &targets, 1, &mut grad);
    let terms = [
        (-2f64).exp().ln_1p(),
        (-0.5f64).exp().ln_1p(),
        100.0 + (-100f64).exp().ln_1p(),
        100.0 + (-100f64).exp().ln_1p(),
    ];
    let expected = terms.iter().sum::<f64>() / 4.0;
    // Four terms of ≤ 4 roundings each, a sum of four and a division: 10u·|ℓ|.
    assert_within("BCE", l, expected, 10.0 * U * expected);
    // Gradient (σ(z) − t)/4: σ(100) = 1 and σ(−100) ≈ 3.7e−44 in f64.
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    for (i, (&zi, &ti)) in z.0[0].iter().zip(&t.0[0]).enumerate() {
        let e = (sig(f64::from(zi)) - f64::from(ti)) / 4.0;
        assert_within(
            &format!("BCE grad {i}"),
            grad.0[0][i],
            e,
            4.0 * U * e.abs() + 1e-45,
        );
    }
}

/// MSE: `nn.MSELoss()` of `[[1, 2], [3, 5]]` against `[[0, 2], [1, 1]]` is
/// `(1 + 0 + 4 + 16)/4 = 5.25`, gradient `2(p − t)/4`; all exact in f32.
#[test]
fn mse_by_hand() {
    let p: Batch<2, 2> = Matrix([[1.0, 2.0], [3.0, 5.0]]);
    let t: Batch<2, 2> = Matrix([[0.0, 2.0], [1.0, 1.0]]);
    let mut grad = Batch::zeros();
    assert_eq!(Mse.loss(&p, &t, 2, &mut grad), 5.25);
    assert_eq!(grad.0, [[0.5, 0.0], [1.0, 2.0]]);
    // Only the first row: (1 + 0)/2, gradient 2(p − t)/2 and zeros below.
    assert_eq!(Mse.loss(&p, &t, 1, &mut grad), 0.5);
    assert_eq!(grad.0, [[1.0, 0.0], [0.0, 0.0]]);
}

/// The loss of the first `rows` rows of a batch equals the loss of a batch holding
/// just those rows, bit for bit (padding rows add exact zeros to every sum), and a
/// `rows` beyond `B` (the default `Context::rows` is `usize::MAX`) means all rows.
#[test]
fn partial_batches_ignore_padding_rows() {
    let full: Batch<4, 3> = Matrix([
        [0.3, -1.2, 2.0],
        [1.5, 0.25, -0.75],
        [9.0, 9.0, 9.0],
        [-7.0, 4.0, 1e6],
    ]);
    let head: Batch<2, 3> = Matrix([full.0[0], full.0[1]]);

    let ft: Batch<4, 3> = Matrix([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25], [5.0; 3], [-3.0; 3]]);
    let ht: Batch<2, 3> = Matrix([ft.0[0], ft.0[1]]);
    let (mut g4, mut g2) = (Batch::<4, 3>::zeros(), Batch::<2, 3>::zeros());

    let a = Mse.loss(&full, &ft, 2, &mut g4);
    let b = Mse.loss(&head, &ht, 2, &mut g2);
    assert_eq!(a.to_bits(), b.to_bits(), "MSE");
    assert_eq!(&g4.0[..2], &g2.0[..]);

    let a = BceWithLogits.loss(&full, &ft, 2, &mut g4);
    let b = BceWithLogits.loss(&head, &ht, 2, &mut g2);
    assert_eq!(a.to_bits(), b.to_bits(), "BCE");
    assert_eq!(&g4.0[..2], &g2.0[..]);

    let ce = CrossEntropy {
        label_smoothing: 0.1,
    };
    let l4 = labels::<4, 3>(&ce, [2, 0, 1, 1]);
    let l2 = labels::<2, 3>(&ce, [2, 0]);
    let a = ce.loss(&full, &l4, 2, &mut g4);
    let b = ce.loss(&head, &l2, 2, &mut g2);
    assert_eq!(a.to_bits(), b.to_bits(), "CE");
    assert_eq!(&g4.0[..2], &g2.0[..]);

    let all = Mse.loss(&full, &ft, 4, &mut g4);
    assert_eq!(Mse.loss(&full, &ft, usize::MAX, &mut g4), all);
}

#[test]
fn correct_counts_predictions() {
    let ce = CrossEntropy::default();
    let logits: Batch<3, 3> = Matrix([[0.0, 1.0, 0.5], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]]);
    let t = labels::<3, 3>(&ce, [1, 1, 2]);
    assert_eq!(ce.correct(&logits, &t, 3), Some((2, 3)));
    assert_eq!(ce.correct(&logits, &t, 2), Some((1, 2)));

    // BCE: an element is right when z > 0 exactly when t ≥ ½.
    let z: Batch<2, 2> = Matrix([[0.3, -0.1], [-2.0, 0.0]]);
    let t: Batch<2, 2> = Matrix([[1.0, 1.0], [0.0, 0.5]]);
    // Right, wrong; right, wrong (z = 0 is not > 0 while t = ½ counts as positive).
    assert_eq!(BceWithLogits.correct(&z, &t, 2), Some((2, 4)));
    assert_eq!(BceWithLogits.correct(&z, &t, 1), Some((1, 2)));

    assert_eq!(Mse.correct(&z, &t, 2), None);
}

/// The cross-entropy gradient `(pᵢ − qᵢ)/rows` against an `f64` softmax, on random
/// logits with and without label smoothing, over a partial batch. `pᵢ = eᵢ / s` with
/// `eᵢ = expf(xᵢ − m)` (1 ulp, after the subtraction's absolute error `u·|xᵢ − m|`),
/// `s` a sum of 10 terms (≤ 9 roundings) and the division (½ ulp):
/// `|p − p_ref| ≤ (12 + |xᵢ − m|)·u·p`; then `− q` and `/ rows` add an ulp each.
#[test]
fn cross_entropy_gradient_matches_f64_softmax() {
    for (case, eps) in [0.0f32, 0.1, 1.0].into_iter().enumerate() {
        let ce = CrossEntropy {
            label_smoothing: eps,
        };
        let mut rng = Rng::for_case("ce gradient", &[case]);
        let mut logits: Batch<8, 10> = Batch::zeros();
        logits
            .as_mut_slice()
            .copy_from_slice(&rng.uniform_vec(80, -20.0, 20.0));
        let t = labels::<8, 10>(&ce, [3, 0, 9, 9, 1, 5, 2, 7]);
        let rows = 6;
        let mut grad = Batch::zeros();
        let loss = ce.loss(&logits, &t, rows, &mut grad);
        let mut loss_ref = 0.0;
        for (r, (row, &label)) in logits.0.iter().zip(&t).enumerate() {
            let p = reference::softmax(row);
            let log_p = reference::log_softmax(row);
            let m = row.iter().copied().fold(f32::MIN, f32::max);
            for (i, &x) in row.iter().enumerate() {
                let q = if i == label as usize {
                    1.0 - f64::from(eps)
                } else {
                    0.0
                } + f64::from(eps) / 10.0;
                let expected = if r < rows {
                    (p[i] - q) / rows as f64
                } else {
                    0.0
                };
                let shift = f64::from((x - m).abs());
                let tol = ((12.0 + shift) * p[i] / rows as f64 + 2.0 * expected.abs()) * U;
                let what = format!("ε={eps} dℓ/dz[{r}][{i}]");
                assert_within(&what, grad.0[r][i], expected, tol);
                if r < rows {
                    loss_ref -= q * log_p[i] / rows as f64;
                }
            }
        }
        assert_within(
            &format!("ε={eps} loss"),
            loss,
            loss_ref,
            64.0 * U * loss_ref.abs().max(1.0),
        );
    }
}
