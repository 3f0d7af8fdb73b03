//! Training without a gather buffer: the caller keeps its data in whole batches
//! ([`Batches`]), an epoch shuffles them in place and trains on each batch where it is.
//!
//! A [`Trainer`] that trains on a [`Dataset`](super::Dataset) holds one batch `X` of its
//! own, into which each epoch gathers `B` samples at a time in a fresh random order
//! (8 KiB for 32 samples of 64 values). A firmware that already holds its samples in
//! RAM pays for them twice. [`CallerBatchTrainer`] (a `Trainer` whose [`InputBuffer`] is
//! [`CallerBatches`]) holds no batch: the samples stay in the caller's `[X]`, and
//! [`Trainer::epoch_in_place`] first permutes them in place (Fisher–Yates, swapping
//! samples with their targets) and then trains on batch 0, 1, … of the new order. The
//! order differs from one epoch to the next as it does with gathering, so each update
//! sees a fresh random mini-batch; what changes is that the caller's data is left in
//! the order last trained on, and augmentation, which must not change the stored data,
//! needs the gathering trainer ([`Trainer::epoch_augmented`]).
//!
//! | | gathering `Trainer` | [`CallerBatchTrainer`] |
//! |---|---|---|
//! | RAM beyond the minimum | one batch `X` | none |
//! | data | `&Dataset`, any layout or view | `&mut Batches`, in whole batches |
//! | shuffle | a keyed permutation, data untouched | in place, the data's order changes |
//! | augmentation, `predict_one` | yes | no |
//!
//! Both train bit for bit the same on the same batches (one implementation:
//! [`Trainer::train_step`], the epoch loop and the evaluation are shared).

use super::{Evaluation, Trainer};
use crate::layers::Layer;
use crate::loss::{Loss, Risk};
use crate::optim::Optimizer;
use crate::tensor::{Tensor, Zeroed};
use crate::{Batch, Error};
use rand_core::Rng;

/// Where a [`Trainer`] keeps the batch it trains on: `X` itself (the default: a batch of
/// its own that epochs over a [`Dataset`](super::Dataset) gather samples into) or
/// [`CallerBatches`] (none: it trains on the caller's [`Batches`] where they are). Sealed:
/// these are the only two.
///
/// # Examples
///
/// ```
/// use microtrain::train::{CallerBatches, InputBuffer};
/// use microtrain::Batch;
/// fn holds<S: InputBuffer<Batch<4, 2>>>() -> usize { core::mem::size_of::<S>() }
/// assert_eq!(holds::<Batch<4, 2>>(), 4 * 4 * 2);
/// assert_eq!(holds::<CallerBatches>(), 0);
/// ```
pub trait InputBuffer<X>: Zeroed + sealed::Sealed<X> {}

impl<X: Tensor + Copy> InputBuffer<X> for X {}
impl<X> InputBuffer<X> for CallerBatches {}

mod sealed {
    use crate::tensor::Tensor;
    /// Keeps [`InputBuffer`](super::InputBuffer) to its two implementations.
    pub trait Sealed<X> {}
    impl<X: Tensor + Copy> Sealed<X> for X {}
    impl<X> Sealed<X> for super::CallerBatches {}
}

/// The [`InputBuffer`] of a trainer without a batch of its own: zero bytes. See
/// [`CallerBatchTrainer`].
///
/// # Examples
///
/// ```
/// assert_eq!(core::mem::size_of::<microtrain::train::CallerBatches>(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallerBatches;

impl Zeroed for CallerBatches {
    const ZERO: Self = CallerBatches;
}

/// A [`Trainer`] that holds no input batch: it trains on batches the caller holds,
/// [`train_step`](Trainer::train_step) on one, [`epoch_in_place`](Trainer::epoch_in_place)
/// on [`Batches`]. `size_of::<X>()` bytes smaller than the gathering trainer of the same
/// model; everything but what needs a batch of the trainer's own (`epoch` and
/// `evaluate` over a [`Dataset`](super::Dataset), the accumulated and augmented epochs,
/// `predict_one` and `predict_proba_one`) is the same code.
///
/// # Examples
///
/// ```
/// use microtrain::layers::Dense;
/// use microtrain::loss::CrossEntropy;
/// use microtrain::optim::Sgd;
/// use microtrain::train::{Batches, CallerBatchTrainer, Trainer};
/// use microtrain::{Batch, Matrix};
/// use rand_core::SeedableRng;
///
/// type T = CallerBatchTrainer<Dense<2, 2>, CrossEntropy, Sgd, 2, 2, 2>;
/// assert_eq!(T::BYTES, Trainer::<Dense<2, 2>, CrossEntropy, Sgd, 2, 2, 2>::BYTES - 16);
/// let mut t: T = Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.5), 0);
/// // Four samples in two batches of two: class 0 is "left", class 1 is "right".
/// let mut x: [Batch<2, 2>; 2] = [Matrix([[1.0, 0.0], [0.0, 1.0]]), Matrix([[2.0, 0.0], [0.0, 2.0]])];
/// let mut y = [0u32, 1, 0, 1];
/// let mut data = Batches::new(&mut x, &mut y, 1)?;
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
/// let before = t.evaluate_batches(&data)?.loss;
/// for _ in 0..20 {
///     t.epoch_in_place(&mut data, &mut rng)?;
/// }
/// assert!(t.evaluate_batches(&data)?.loss < before / 4.0);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub type CallerBatchTrainer<
    M,
    L,
    O,
    const B: usize,
    const IN: usize,
    const OUT: usize,
    X = Batch<B, IN>,
> = Trainer<M, L, O, B, IN, OUT, X, CallerBatches>;

/// `len` samples the caller holds in whole batches: sample `i` is row `i mod B` of
/// `inputs[i / B]` (`B = X::SAMPLES`), its targets are
/// `targets[i · targets_per_sample..][..targets_per_sample]`. Rows after the last
/// sample are not data. Borrowed mutably: [`shuffle`](Batches::shuffle) (and so
/// [`Trainer::epoch_in_place`]) permutes the samples in place.
///
/// # Examples
///
/// ```
/// use microtrain::train::Batches;
/// use microtrain::{Batch, Error};
/// let mut x = [Batch::<2, 3>::zeros(); 2];
/// x[1].0[0] = [1.0, 2.0, 3.0];
/// let mut y = [0u32, 1, 2, 0];
/// let data = Batches::new(&mut x, &mut y, 1)?;
/// assert_eq!((data.len(), data.batches()), (4, 2));
/// assert_eq!((data.input(2), data.target(2)), (&[1.0, 2.0, 3.0][..], &[2][..]));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct Batches<'a, X, T> {
    inputs: &'a mut [X],
    targets: &'a mut [T],
    per_sample: usize,
    len: usize,
}

impl<'a, X: Tensor, T> Batches<'a, X, T> {
    /// Every row of `inputs` is a sample: [`with_len`](Batches::with_len) with
    /// `len = inputs.len() · B`.
    ///
    /// # Errors
    ///
    /// As [`with_len`](Batches::with_len).
    ///
    /// # Examples
    ///
    /// See [`Batches`].
    pub fn new(
        inputs: &'a mut [X],
        targets: &'a mut [T],
        targets_per_sample: usize,
    ) -> Result<Self, Error> {
        let len = inputs.len().saturating_mul(X::SAMPLES);
        Self::with_len(inputs, targets, targets_per_sample, len)
    }

    /// The first `len` rows of `inputs` are samples, the rest free (a store being
    /// filled). The rows of the last batch after sample `len − 1` are set to zero:
    /// they are its padding, which the model reads and no gradient comes from, zero as
    /// in a gathered batch. The inputs of the samples are checked once, here.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if `len` is 0; [`Error::Length`] if `len` exceeds the rows of
    /// `inputs`, or if `targets` does not hold `targets_per_sample` values for every row
    /// of `inputs`; [`Error::Setting`] naming `"Batches targets_per_sample"` if that
    /// count overflows `usize`; [`Error::NonFinite`] naming `"inputs"` and the index of
    /// the first NaN or infinite value among the samples' (counting every value of
    /// `inputs[0]`, then of `inputs[1]`, …). Nothing is changed on an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Batches;
    /// use microtrain::{Batch, Error, Matrix};
    /// let mut x = [Matrix([[1.0], [2.0]]), Matrix([[3.0], [f32::NAN]])];
    /// let mut y = [0.0f32; 4];
    /// let data = Batches::with_len(&mut x, &mut y, 1, 3)?; // the NaN row is not a sample
    /// assert_eq!(data.len(), 3);
    /// assert_eq!(x[1].0, [[3.0], [0.0]]);                   // padding set to zero
    /// assert_eq!(
    ///     Batches::with_len(&mut x, &mut y, 1, 5).unwrap_err(),
    ///     Error::Length { what: "samples (at most the rows of the batches)", expected: 4, found: 5 }
    /// );
    /// x[0].0[1][0] = f32::INFINITY;
    /// assert_eq!(
    ///     Batches::new(&mut x, &mut y, 1).unwrap_err(),
    ///     Error::NonFinite { what: "inputs", index: 1 }
    /// );
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn with_len(
        inputs: &'a mut [X],
        targets: &'a mut [T],
        targets_per_sample: usize,
        len: usize,
    ) -> Result<Self, Error> {
        let rows = inputs.len().saturating_mul(X::SAMPLES);
        if len == 0 {
            return Err(Error::Empty {
                what: "batches (no samples)",
            });
        }
        if len > rows {
            return Err(Error::Length {
                what: "samples (at most the rows of the batches)",
                expected: rows,
                found: len,
            });
        }
        let Some(target_count) = rows.checked_mul(targets_per_sample) else {
            return Err(Error::Setting {
                name: "Batches targets_per_sample",
                value: targets_per_sample as f32,
                rule: "at most usize::MAX / rows (the target count overflows)",
            });
        };
        crate::kernels::vector::same_len(
            "targets (targets_per_sample for every row of the batches)",
            target_count,
            targets.len(),
        )?;
        let features = X::LEN / X::SAMPLES;
        let (full, partial) = (len / X::SAMPLES, len % X::SAMPLES);
        let used = inputs[..full].iter().map(|x| x.as_slice()).chain(
            inputs
                .get(full)
                .map(|x| &x.as_slice()[..partial * features]),
        );
        let mut offset = 0;
        for values in used {
            if let Some(index) = crate::kernels::first_non_finite(values) {
                return Err(Error::NonFinite {
                    what: "inputs",
                    index: offset + index,
                });
            }
            offset += X::LEN;
        }
        if partial > 0 {
            inputs[full].as_mut_slice()[partial * features..].fill(0.0);
        }
        Ok(Batches {
            inputs,
            targets,
            per_sample: targets_per_sample,
            len,
        })
    }

    /// The number of samples.
    ///
    /// # Examples
    ///
    /// See [`Batches`].
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: there is at least one sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Batches, Batch};
    /// let (mut x, mut y) = ([Batch::<1, 1>::zeros()], [0u32]);
    /// assert!(!Batches::new(&mut x, &mut y, 1)?.is_empty());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of batches that hold samples: `⌈len / B⌉`.
    ///
    /// # Examples
    ///
    /// See [`Batches`].
    pub fn batches(&self) -> usize {
        self.len.div_ceil(X::SAMPLES)
    }

    /// Targets per sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Batches, Batch};
    /// let (mut x, mut y) = ([Batch::<1, 1>::zeros()], [0.0f32; 3]);
    /// assert_eq!(Batches::new(&mut x, &mut y, 3)?.targets_per_sample(), 3);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn targets_per_sample(&self) -> usize {
        self.per_sample
    }

    /// Batch `k`: samples `k·B ..` (the last one may end in padding).
    ///
    /// # Panics
    ///
    /// If `k >= batches()`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Batches, Matrix};
    /// let (mut x, mut y) = ([Matrix([[1.0], [2.0]])], [0u32; 2]);
    /// assert_eq!(Batches::new(&mut x, &mut y, 1)?.batch(0).0, [[1.0], [2.0]]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn batch(&self, k: usize) -> &X {
        assert!(k < self.batches(), "batch {k} of {}", self.batches());
        &self.inputs[k]
    }

    /// The input values of sample `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len`, like slice indexing.
    ///
    /// # Examples
    ///
    /// See [`Batches`].
    pub fn input(&self, i: usize) -> &[f32] {
        assert!(i < self.len, "sample {i} of {}", self.len);
        let features = X::LEN / X::SAMPLES;
        let row = i % X::SAMPLES;
        &self.inputs[i / X::SAMPLES].as_slice()[row * features..][..features]
    }

    /// The targets of sample `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len`, like slice indexing.
    ///
    /// # Examples
    ///
    /// See [`Batches`].
    pub fn target(&self, i: usize) -> &[T] {
        assert!(i < self.len, "sample {i} of {}", self.len);
        &self.targets[i * self.per_sample..][..self.per_sample]
    }

    /// Puts the samples in a uniformly random order drawn from `rng`, in place: the
    /// Fisher–Yates shuffle (Knuth's Algorithm P; PyTorch: `x[torch.randperm(n)]`),
    /// `for i in (1..n).rev() { swap(i, j) }` with `j` uniform in `0..=i`, each swap
    /// moving a sample's inputs and targets together. `j` is drawn without bias
    /// (Lemire's multiply-and-reject on 32-bit draws). `n − 1` draws and at most `n − 1`
    /// swaps; no memory beyond the data (a keyed [`Permutation`](super::Permutation)
    /// applied in place would need `O(n log n)` evaluations to find its cycles).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Batches;
    /// use microtrain::Matrix;
    /// use rand_core::SeedableRng;
    /// let mut x = [Matrix([[0.0], [1.0], [2.0]]), Matrix([[3.0], [4.0], [5.0]])];
    /// let mut y = [0u32, 10, 20, 30, 40, 50];
    /// let mut data = Batches::new(&mut x, &mut y, 1)?;
    /// data.shuffle(&mut rand_pcg::Pcg32::seed_from_u64(3));
    /// let mut seen = [false; 6];
    /// for i in 0..6 {
    ///     let v = data.input(i)[0];
    ///     assert_eq!(data.target(i)[0], 10 * v as u32); // inputs and targets move together
    ///     seen[v as usize] = true;
    /// }
    /// assert!(seen.iter().all(|&s| s));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        for i in (1..self.len).rev() {
            let j = below(rng, i + 1);
            if j != i {
                self.swap(j, i);
            }
        }
    }

    /// Swaps samples `i < j`, inputs and targets.
    fn swap(&mut self, i: usize, j: usize) {
        let features = X::LEN / X::SAMPLES;
        let (bi, ri) = (i / X::SAMPLES, i % X::SAMPLES);
        let (bj, rj) = (j / X::SAMPLES, j % X::SAMPLES);
        // One swap of the two samples' inputs for both cases: a firmware carries one
        // copy of the loop.
        let (a, b) = if bi == bj {
            let (lo, hi) = self.inputs[bi].as_mut_slice().split_at_mut(rj * features);
            (&mut lo[ri * features..][..features], &mut hi[..features])
        } else {
            let (lo, hi) = self.inputs.split_at_mut(bj);
            (
                &mut lo[bi].as_mut_slice()[ri * features..][..features],
                &mut hi[0].as_mut_slice()[rj * features..][..features],
            )
        };
        a.swap_with_slice(b);
        swap_chunks(self.targets, i, j, self.per_sample);
    }
}

/// Swaps chunks `i < j` of `width` values of `s`.
fn swap_chunks<T>(s: &mut [T], i: usize, j: usize, width: usize) {
    let (lo, hi) = s.split_at_mut(j * width);
    lo[i * width..][..width].swap_with_slice(&mut hi[..width]);
}

/// A uniform draw from `0..n`, `n ≥ 1`: Lemire's multiply-and-reject ("Fast random
/// integer generation in an interval", 2019), on 32-bit draws while `n` fits.
fn below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    if let Ok(n) = u32::try_from(n) {
        // Low halves below 2³² mod n would make some results more likely: redrawn.
        let (n, reject) = (u64::from(n), n.wrapping_neg() % n);
        loop {
            let m = u64::from(rng.next_u32()) * n;
            if (m as u32) >= reject {
                return (m >> 32) as usize;
            }
        }
    }
    let (n, reject) = (n as u64 as u128, (n as u64).wrapping_neg() % n as u64);
    loop {
        let m = u128::from(rng.next_u64()) * n;
        if (m as u64) >= reject {
            return (m >> 64) as usize;
        }
    }
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
    S: InputBuffer<X>,
{
    /// Checks every target of `data` before anything is trained (its inputs were
    /// checked when it was made).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the samples do not have the loss's number of targets;
    /// [`Error::Label`] or [`Error::NonFinite`] for a bad target.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::CrossEntropy, optim::Sgd, Error, Matrix};
    /// use microtrain::train::{Batches, CallerBatchTrainer, Trainer};
    /// let t: CallerBatchTrainer<Dense<1, 2>, CrossEntropy, Sgd, 2, 1, 2> =
    ///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    /// let (mut x, mut y) = ([Matrix([[0.5], [0.7]])], [1u32, 2]);
    /// let data = Batches::new(&mut x, &mut y, 1)?;
    /// assert_eq!(t.check_batches(&data), Err(Error::Label { sample: 1, label: 2, classes: 2 }));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn check_batches(&self, data: &Batches<'_, X, L::Target>) -> Result<(), Error> {
        self.check_targets(data.targets_per_sample(), data.len(), |i| data.target(i))
    }

    /// One pass over `data`: shuffles it in place ([`Batches::shuffle`], from `rng`),
    /// then trains on its batches in their new order, where they are (no copy); returns
    /// the mean training loss over the epoch's samples. The same loop as
    /// [`Trainer::epoch`], and [`drop_last`](Trainer::drop_last) applies: the samples
    /// are shuffled first, so a different remainder is left out each epoch. `data` is
    /// left in the order it was trained on.
    ///
    /// # Errors
    ///
    /// As [`Trainer::check_batches`], and [`Error::Empty`] and [`Error::Setting`] as
    /// [`Trainer::epoch`], before anything changes (`data` keeps its order);
    /// [`Error::Diverged`] if a step is refused (the epoch stops there, with the
    /// parameters from before that step, and `data` shuffled).
    ///
    /// # Examples
    ///
    /// See [`CallerBatchTrainer`].
    pub fn epoch_in_place<R: Rng + ?Sized>(
        &mut self,
        data: &mut Batches<'_, X, L::Target>,
        rng: &mut R,
    ) -> Result<Risk, Error> {
        self.epoch_in_place_accumulated(data, rng, 1)
    }

    /// [`Trainer::epoch_in_place`] where each update accumulates the gradients of
    /// `micro_batches` consecutive batches, as [`Trainer::epoch_accumulated`] does
    /// (`0` counts as 1).
    ///
    /// # Errors
    ///
    /// As [`Trainer::epoch_in_place`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, Matrix};
    /// use microtrain::train::{Batches, CallerBatchTrainer, Trainer};
    /// use rand_core::SeedableRng;
    /// let mut t: CallerBatchTrainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// let mut x = [Matrix([[1.0], [2.0]]), Matrix([[3.0], [4.0]])];
    /// let mut y = [2.0, 4.0, 6.0, 8.0];
    /// let mut data = Batches::new(&mut x, &mut y, 1)?;
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
    /// let first = t.epoch_in_place_accumulated(&mut data, &mut rng, 2)?; // one update on all 4
    /// assert_eq!((first.data, t.steps()), (30.0, 1));                     // mean of 4, 16, 36, 64
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn epoch_in_place_accumulated<R: Rng + ?Sized>(
        &mut self,
        data: &mut Batches<'_, X, L::Target>,
        rng: &mut R,
        micro_batches: usize,
    ) -> Result<Risk, Error> {
        self.check_batches(data)?;
        self.check_settings()?;
        let used = self.samples_used(data.len())?;
        data.shuffle(rng);
        let data = &*data;
        self.train_groups(used, micro_batches, |t, start, rows, weight| {
            t.set_targets(data, start, rows)?;
            t.accumulate(data.batch(start / B), rows, weight)
        })
    }

    /// The mean loss (and accuracy, for classification) over every sample of `data`,
    /// in its order, the last partial batch included, read where it is. Dropout is off.
    ///
    /// # Errors
    ///
    /// As [`Trainer::check_batches`]; [`Error::Setting`] as [`Trainer::evaluate`].
    ///
    /// # Examples
    ///
    /// See [`CallerBatchTrainer`].
    pub fn evaluate_batches(
        &mut self,
        data: &Batches<'_, X, L::Target>,
    ) -> Result<Evaluation, Error> {
        self.check_batches(data)?;
        self.model.check_settings()?;
        self.score_batches(data.len(), |t, start, rows| {
            t.set_targets(data, start, rows)?;
            Ok(t.split().0.score(data.batch(start / B), rows))
        })
    }

    /// Sets the targets of samples `start..start + rows` of `data` as the batch's.
    fn set_targets(
        &mut self,
        data: &Batches<'_, X, L::Target>,
        start: usize,
        rows: usize,
    ) -> Result<(), Error> {
        for (r, i) in (start..start + rows).enumerate() {
            self.loss
                .set_target(&mut self.targets, r, i, data.target(i))?;
        }
        Ok(())
    }
}
