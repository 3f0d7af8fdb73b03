//! Losses: each returns the mean loss over the real rows of a batch and writes its
//! gradient with respect to the network output.
//!
//! The seed's empirical risk is `J(θ) = 1/N Σᵢ ℓ(yᵢ, f(xᵢ; θ)) + λΩ(θ)`; a loss here is
//! the data term `1/N Σ ℓ` over one batch, and [`Risk`] reports it beside the penalty.

use crate::kernels::{self, math, Activation};
use crate::tensor::Zeroed;
use crate::{Batch, Error};

/// The empirical risk of one step, data term and penalty apart:
/// `J = data + penalty` with `data = 1/N Σ ℓ` and `penalty = λΩ(θ)`.
///
/// # Examples
///
/// ```
/// use microtrain::loss::Risk;
/// let r = Risk { data: 0.5, penalty: 0.25 };
/// assert_eq!(r.total(), 0.75);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Risk {
    /// `1/N Σ ℓ`, the mean loss over the samples.
    pub data: f32,
    /// `λΩ(θ)`, the regularisation penalty.
    pub penalty: f32,
}

impl Risk {
    /// `data + penalty`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::loss::Risk { data: 1.0, penalty: 0.0 }.total(), 1.0);
    /// ```
    pub fn total(&self) -> f32 {
        self.data + self.penalty
    }
}

/// A loss over batches of `B` network outputs with `N` values each.
///
/// # Examples
///
/// ```
/// use microtrain::loss::{Loss, Mse};
/// use microtrain::Matrix;
/// let out = Matrix([[1.0], [3.0]]);
/// let mut targets = Matrix::zeros();
/// Mse.set_target(&mut targets, 0, 0, &[0.0])?;
/// Mse.set_target(&mut targets, 1, 1, &[1.0])?;
/// let mut grad = Matrix::zeros();
/// assert_eq!(Mse.loss(&out, &targets, 2, &mut grad), 2.5); // (1 + 4) / 2
/// assert_eq!(grad.0, [[1.0], [2.0]]);                       // 2(p − t)/2
/// # Ok::<(), microtrain::Error>(())
/// ```
pub trait Loss<const B: usize, const N: usize> {
    /// The type of one target value in a dataset.
    type Target: Copy;
    /// Target values per sample in a dataset's target slice.
    const TARGETS_PER_SAMPLE: usize;
    /// The targets of one batch.
    type Targets: Zeroed + Copy;

    /// Stores the targets of dataset sample `sample` (`target`, of length
    /// [`TARGETS_PER_SAMPLE`](Self::TARGETS_PER_SAMPLE)) as row `row` of `targets`.
    ///
    /// # Errors
    ///
    /// [`Error::Label`] for a class label out of range, [`Error::NonFinite`] for a NaN
    /// or infinite target, [`Error::Length`] for a target of the wrong length,
    /// [`Error::Shape`] for a row not below the batch size `B` (nothing is stored).
    fn set_target(
        &self,
        targets: &mut Self::Targets,
        row: usize,
        sample: usize,
        target: &[Self::Target],
    ) -> Result<(), Error>;

    /// Checks the targets of the first `rows` rows of a batch filled by hand (rather
    /// than through [`set_target`](Self::set_target), which checks each one): a class
    /// label must be below the number of classes. Float targets are not checked here;
    /// a NaN or infinite one makes [`loss`](Self::loss) non-finite, which the trainer
    /// refuses.
    ///
    /// # Errors
    ///
    /// [`Error::Label`] for the first row whose label is out of range (`sample` is the
    /// row in the batch).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{loss::{CrossEntropy, Loss}, Error};
    /// let ce = CrossEntropy::default();
    /// assert_eq!(Loss::<2, 3>::check_targets(&ce, &[2, 0], 2), Ok(()));
    /// assert_eq!(
    ///     Loss::<2, 3>::check_targets(&ce, &[2, 3], 2),
    ///     Err(Error::Label { sample: 1, label: 3, classes: 3 })
    /// );
    /// assert_eq!(Loss::<2, 3>::check_targets(&ce, &[2, 3], 1), Ok(())); // row 1 unused
    /// ```
    fn check_targets(&self, targets: &Self::Targets, rows: usize) -> Result<(), Error> {
        let _ = (targets, rows);
        Ok(())
    }

    /// The mean loss over the first `rows` rows of the network output `out`, whose
    /// values are then overwritten with the loss gradient `∂J/∂out` (rows from `rows` on
    /// get a zero gradient): the trainer keeps no separate gradient buffer, and the
    /// model's backward pass finds `dy` in its output slot. Read the output (accuracy,
    /// predictions) before calling it.
    ///
    /// A class label out of range (which [`set_target`](Self::set_target) and
    /// [`check_targets`](Self::check_targets) refuse) gives a NaN loss and a NaN
    /// gradient row, never a panic.
    ///
    /// ```
    /// use microtrain::loss::{Loss, Mse};
    /// use microtrain::Matrix;
    /// let mut out = Matrix([[1.0], [3.0]]);
    /// assert_eq!(Mse.loss_in_place(&mut out, &Matrix([[0.0], [1.0]]), 2), 2.5);
    /// assert_eq!(out.0, [[1.0], [2.0]]); // now ∂J/∂out = 2(p − t)/2
    /// ```
    fn loss_in_place(&self, out: &mut Batch<B, N>, targets: &Self::Targets, rows: usize) -> f32;

    /// [`loss_in_place`](Self::loss_in_place) with the output kept: the gradient goes
    /// to `grad` (the same bits).
    fn loss(
        &self,
        out: &Batch<B, N>,
        targets: &Self::Targets,
        rows: usize,
        grad: &mut Batch<B, N>,
    ) -> f32 {
        *grad = *out;
        self.loss_in_place(grad, targets, rows)
    }

    /// For classification losses, `(correct, judged)` predictions among the first
    /// `rows` rows; `None` for regression.
    fn correct(
        &self,
        out: &Batch<B, N>,
        targets: &Self::Targets,
        rows: usize,
    ) -> Option<(usize, usize)> {
        let _ = (out, targets, rows);
        None
    }
}

/// `out[r][i] ← f(out[r][i], t[r][i])` for the first `rows` rows, zero below them.
fn per_element<const B: usize, const N: usize>(
    out: &mut Batch<B, N>,
    t: &Batch<B, N>,
    rows: usize,
    f: impl Fn(f32, f32) -> f32,
) {
    for (r, (o, y)) in out.0.iter_mut().zip(&t.0).enumerate() {
        for (o, &y) in o.iter_mut().zip(y) {
            *o = if r < rows { f(*o, y) } else { 0.0 };
        }
    }
}

/// `Ok` if `row` is a row of a batch of `B`.
fn batch_row<const B: usize>(row: usize) -> Result<(), Error> {
    if row < B {
        Ok(())
    } else {
        Err(Error::Shape {
            what: "target row (below the batch size B)",
            expected: B,
            found: row,
        })
    }
}

/// Stores one sample's float targets; a non-finite one is reported by its index in
/// the dataset's target slice (`sample · N + i`).
fn set_float_target<const B: usize, const N: usize>(
    targets: &mut Batch<B, N>,
    row: usize,
    sample: usize,
    target: &[f32],
) -> Result<(), Error> {
    kernels::vector::same_len("target", N, target.len())?;
    batch_row::<B>(row)?;
    if let Some(i) = target.iter().position(|v| !v.is_finite()) {
        let index = sample.saturating_mul(N).saturating_add(i);
        return Err(Error::NonFinite {
            what: "targets",
            index,
        });
    }
    targets.0[row].copy_from_slice(target);
    Ok(())
}

/// Mean squared error `ℓ = 1/(rows·N) Σ (pᵢ − tᵢ)²` over all elements, gradient
/// `2(pᵢ − tᵢ)/(rows·N)` (PyTorch: `nn.MSELoss()`, reduction `'mean'`).
///
/// # Examples
///
/// ```
/// use microtrain::loss::{Loss, Mse};
/// use microtrain::Matrix;
/// let mut g = Matrix::zeros();
/// assert_eq!(Mse.loss(&Matrix([[2.0, 0.0]]), &Matrix([[0.0, 0.0]]), 1, &mut g), 2.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse;

/// Zero-sized: trivially all zero bytes.
impl Zeroed for Mse {
    const ZERO: Self = Mse;
}

impl<const B: usize, const N: usize> Loss<B, N> for Mse {
    type Target = f32;
    const TARGETS_PER_SAMPLE: usize = N;
    type Targets = Batch<B, N>;

    fn set_target(
        &self,
        t: &mut Batch<B, N>,
        row: usize,
        sample: usize,
        v: &[f32],
    ) -> Result<(), Error> {
        set_float_target(t, row, sample, v)
    }

    fn loss_in_place(&self, out: &mut Batch<B, N>, t: &Batch<B, N>, rows: usize) -> f32 {
        let count = (rows.min(B) * N) as f32;
        per_element(out, t, rows, |p, y| p - y);
        let loss = kernels::squared_norm(out.as_slice()) / count;
        kernels::scale(2.0 / count, out.as_mut_slice());
        loss
    }
}

/// Softmax cross-entropy on integer class labels, from logits, with optional label
/// smoothing `ε` (PyTorch: `nn.CrossEntropyLoss(label_smoothing=ε)`).
///
/// With `log pᵢ = log_softmax(z)ᵢ` computed stably (the maximum logit subtracted
/// first) and the smoothed target `qᵢ = (1 − ε)·[i = y] + ε/C`:
/// `ℓ = −Σᵢ qᵢ log pᵢ`, gradient `(pᵢ − qᵢ)/rows`. One exponential per logit gives
/// both ([`softmax_row`](crate::kernels::softmax_row)): `eᵢ = e^(zᵢ − m)`, `s = Σ eᵢ`,
/// `pᵢ = eᵢ / s` and `log pᵢ = (zᵢ − m) − ln s`.
///
/// # Examples
///
/// ```
/// use microtrain::loss::{CrossEntropy, Loss};
/// use microtrain::Matrix;
/// let ce = CrossEntropy::default();
/// let mut labels = [0u32; 1];
/// Loss::<1, 2>::set_target(&ce, &mut labels, 0, 0, &[1])?;
/// let mut g = Matrix::zeros();
/// let l = ce.loss(&Matrix([[0.0, 0.0]]), &labels, 1, &mut g);
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(g.0, [[0.5, -0.5]]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropy {
    /// Label smoothing `ε ∈ [0, 1]`; PyTorch's default is 0.
    pub label_smoothing: f32,
}

/// No label smoothing, PyTorch's default: all zero bytes.
impl Zeroed for CrossEntropy {
    const ZERO: Self = CrossEntropy {
        label_smoothing: 0.0,
    };
}

impl CrossEntropy {
    /// The loss of one row of logits `g` with a label below `C`, `g` becoming the
    /// row's gradient `(pᵢ − qᵢ)/rows`.
    fn row<const C: usize>(
        &self,
        g: &mut [f32; C],
        label: usize,
        (off, on): (f32, f32),
        rows: f32,
    ) -> f32 {
        let eps = self.label_smoothing;
        let x = *g;
        let x = &x;
        // One exponential per logit: g = p = softmax(x), and log pᵢ = (xᵢ − m) − ln s.
        let done = kernels::softmax_row(x, g);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
        let (m, s) = done.unwrap_or((0.0, 1.0));
        let ln_s = math::ln(s);
        let log_p = |i: usize| (x[i] - m) - ln_s;
        // ℓ = −Σ qᵢ log pᵢ = −(1 − ε) log p_y − ε/C Σ log pᵢ
        let mut loss = -(1.0 - eps) * log_p(label);
        if eps != 0.0 {
            let all: [f32; C] = core::array::from_fn(log_p);
            loss -= off * kernels::sum(&all);
        }
        for (i, g) in g.iter_mut().enumerate() {
            let q = if i == label { on } else { off };
            *g = (*g - q) / rows;
        }
        loss
    }
}

impl<const B: usize, const C: usize> Loss<B, C> for CrossEntropy {
    type Target = u32;
    const TARGETS_PER_SAMPLE: usize = 1;
    type Targets = [u32; B];

    fn set_target(
        &self,
        t: &mut [u32; B],
        row: usize,
        sample: usize,
        v: &[u32],
    ) -> Result<(), Error> {
        kernels::vector::same_len("label", 1, v.len())?;
        batch_row::<B>(row)?;
        if v[0] as usize >= C {
            return Err(Error::Label {
                sample,
                label: v[0] as usize,
                classes: C,
            });
        }
        t[row] = v[0];
        Ok(())
    }

    fn check_targets(&self, t: &[u32; B], rows: usize) -> Result<(), Error> {
        match t.iter().take(rows).position(|&label| label as usize >= C) {
            Some(sample) => Err(Error::Label {
                sample,
                label: t[sample] as usize,
                classes: C,
            }),
            None => Ok(()),
        }
    }

    /// Each row's logits are copied to the stack (`C` values) while the row becomes
    /// its gradient. With SIMD, rows of at most 16 logits go eight at a time, one row
    /// per lane, through the same operations in the same order (the same bits).
    fn loss_in_place(&self, out: &mut Batch<B, C>, t: &[u32; B], rows: usize) -> f32 {
        let rows = rows.min(B);
        let eps = self.label_smoothing;
        let off = eps / C as f32;
        let on = (1.0 - eps) + off;
        let mut total = 0.0;
        let (real, padding) = out.0.split_at_mut(rows);
        const BLOCK: usize = kernels::softmax::BLOCK;
        for (z, labels) in real.chunks_mut(BLOCK).zip(t.chunks(BLOCK)) {
            let path = kernels::Path::DEFAULT;
            let block =
                kernels::softmax::cross_entropy_block(path, z, labels, eps, (off, on), rows as f32);
            for (r, (g, &label)) in z.iter_mut().zip(labels).enumerate() {
                if label as usize >= C {
                    // Refused by `set_target` and `check_targets`; no class to compare with.
                    *g = [f32::NAN; C];
                    total = f32::NAN;
                    continue;
                }
                total += match block {
                    Some(loss) => loss[r],
                    None => self.row(g, label as usize, (off, on), rows as f32),
                };
            }
        }
        for g in padding {
            *g = [0.0; C];
        }
        total / rows as f32
    }

    /// A row is correct when its largest logit is at the label.
    fn correct(&self, out: &Batch<B, C>, t: &[u32; B], rows: usize) -> Option<(usize, usize)> {
        let rows = rows.min(B);
        let hits = (0..rows)
            .filter(|&r| kernels::argmax(&out.0[r]) == Some(t[r] as usize))
            .count();
        Some((hits, rows))
    }
}

/// Binary cross-entropy on logits, element-wise, averaged over all elements
/// (PyTorch: `nn.BCEWithLogitsLoss()`).
///
/// `ℓ = max(z, 0) − z·t + ln(1 + e^(−|z|))`, which never overflows; gradient
/// `(σ(z) − t)/(rows·N)`.
///
/// # Examples
///
/// ```
/// use microtrain::loss::{BceWithLogits, Loss};
/// use microtrain::Matrix;
/// let mut g = Matrix::zeros();
/// let l = BceWithLogits.loss(&Matrix([[0.0]]), &Matrix([[1.0]]), 1, &mut g);
/// assert!((l - core::f32::consts::LN_2).abs() < 1e-7);
/// assert_eq!(g.0, [[-0.5]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BceWithLogits;

/// Zero-sized: trivially all zero bytes.
impl Zeroed for BceWithLogits {
    const ZERO: Self = BceWithLogits;
}

impl<const B: usize, const N: usize> Loss<B, N> for BceWithLogits {
    type Target = f32;
    const TARGETS_PER_SAMPLE: usize = N;
    type Targets = Batch<B, N>;

    fn set_target(
        &self,
        t: &mut Batch<B, N>,
        row: usize,
        sample: usize,
        v: &[f32],
    ) -> Result<(), Error> {
        set_float_target(t, row, sample, v)
    }

    /// The per-element losses are summed in [`kernels::sum`]'s canonical order (lane
    /// `i mod 8` of eight partial sums, then the lanes combined): each group of eight
    /// logits gives its losses to the partial sums before it becomes its gradient.
    fn loss_in_place(&self, out: &mut Batch<B, N>, t: &Batch<B, N>, rows: usize) -> f32 {
        const LANES: usize = kernels::vector::LANES;
        let count = (rows.min(B) * N) as f32;
        let real = rows.min(B) * N;
        let mut partial = [0.0f32; LANES];
        let (z, y) = (out.as_mut_slice(), t.as_slice());
        for (k, (z, y)) in z.chunks_mut(LANES).zip(y.chunks(LANES)).enumerate() {
            for (i, (z, &y)) in z.iter_mut().zip(y).enumerate() {
                let real = k * LANES + i < real;
                partial[i] += if real {
                    z.max(0.0) - *z * y + math::ln_1p(math::exp(-z.abs()))
                } else {
                    0.0
                };
                *z = if real {
                    (Activation::Sigmoid.value(*z) - y) / count
                } else {
                    0.0
                };
            }
        }
        kernels::sum(&partial) / count
    }

    /// An element is correct when the logit's sign matches the target's side of ½.
    fn correct(&self, out: &Batch<B, N>, t: &Batch<B, N>, rows: usize) -> Option<(usize, usize)> {
        let rows = rows.min(B);
        let mut hits = 0;
        for r in 0..rows {
            hits += out.0[r]
                .iter()
                .zip(&t.0[r])
                .filter(|(&z, &y)| (z > 0.0) == (y >= 0.5))
                .count();
        }
        Some((hits, rows * N))
    }
}
