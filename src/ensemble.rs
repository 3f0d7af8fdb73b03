//! Ensembles: several models of one type, combined at prediction time by averaging
//! their predicted probabilities or by majority vote; and snapshot ensembles, whose
//! members are one model's weights at the minima of a cyclic learning rate.
//!
//! The seed: "train multiple versions of the model (initialization,
//! hyper-parameters, …), ensemble the results: average the predictions of models at
//! test time, … use multiple snapshots of the same model. May give an extra ~2%
//! performance and more robustness to unseen data."
//!
//! An [`Ensemble<P, NB, K>`](Ensemble) keeps up to `K` members as flat
//! [`Weights`] (parameters and batch-norm statistics, no gradients, no activations)
//! and runs them one after the other through a single trainer's model, swapping each
//! in and back out. On a microcontroller that is the cheap layout: `K` members cost
//! `4·K·(P + NB)` bytes, where `K` whole models would also carry `K` sets of gradients
//! (another `4·K·P`) and, to run side by side, `K` activation caches; the swap costs
//! `2·(P + NB)` copies per member and batch, less than one sample's forward pass.
//! `K` is a const generic, so the memory is fixed at compile time
//! ([`Ensemble::BYTES`]).
//!
//! # Examples
//!
//! A snapshot ensemble (Huang et al. 2017): cosine annealing with warm restarts,
//! a snapshot at the end of each cycle.
//!
//! ```
//! use microtrain::ensemble::{snapshot_due, Ensemble};
//! use microtrain::layers::{Dense, Params};
//! use microtrain::loss::CrossEntropy;
//! use microtrain::optim::Sgd;
//! use microtrain::schedule::{CosineWarmRestarts, Scheduler};
//! use microtrain::train::{Dataset, Trainer};
//! use rand_core::SeedableRng;
//!
//! type Net = Dense<2, 2>;
//! let mut t: Trainer<Net, CrossEntropy, Sgd, 4, 2, 2> =
//!     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(1.0), 0);
//! let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let data = Dataset::new(&x, 2, &[0u32, 1, 1, 1], 1)?;
//! let schedule = CosineWarmRestarts::new(1.0, 10);
//! let mut scheduler = Scheduler::start(schedule, &mut t.optimizer);
//! let mut snapshots = Ensemble::<{ Net::COUNT }, { Net::BUFFERS }, 3>::new();
//! let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
//! for epoch in 0..40 {
//!     t.epoch(&data, &mut rng)?;
//!     if snapshot_due(&schedule, epoch) {
//!         snapshots.push(&mut t.model); // epochs 9, 19, 29, 39: the last 3 are kept
//!     }
//!     scheduler.step(&mut t.optimizer);
//! }
//! assert_eq!(snapshots.len(), 3);
//! let result = snapshots.evaluate(&mut t, &data)?;
//! assert_eq!(result.average_accuracy, 1.0);
//! # Ok::<(), microtrain::Error>(())
//! ```

use crate::average::Weights;
use crate::kernels;
use crate::layers::{Layer, Params};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::schedule::Schedule;
use crate::tensor::Tensor;
use crate::train::{Dataset, InputBuffer, Trainer};
use crate::{Batch, Error, MatMut, MatRef};
use core::mem::size_of;

/// Whether step (or epoch) `t` ends a cycle of a cyclic learning-rate `schedule`: the
/// rate has not risen from `t − 1` to `t` and rises from `t` to `t + 1`, so `t`
/// trained at the bottom of a cycle and a snapshot taken after it sits in a minimum
/// (Huang et al. 2017). For [`CosineWarmRestarts`](crate::schedule::CosineWarmRestarts)
/// with `T_0 = 10`, `T_mult = 2` these are `t = 9, 29, 69, …`, the steps before the
/// restarts. A rising phase (a warm-up, the first half of a one-cycle or triangular
/// schedule) is not an end, nor is `t = 0`; a schedule that never rises has none.
///
/// # Examples
///
/// ```
/// use microtrain::ensemble::snapshot_due;
/// use microtrain::schedule::{CosineWarmRestarts, OneCycle};
/// let s = CosineWarmRestarts { t_mult: 2, ..CosineWarmRestarts::new(0.1, 10) };
/// let due: Vec<u32> = (0..100).filter(|&t| snapshot_due(&s, t)).collect();
/// assert_eq!(due, [9, 29, 69]);
/// let one_cycle = OneCycle::new(0.1, 100);
/// assert!((0..99).all(|t| !snapshot_due(&one_cycle, t)));
/// ```
pub fn snapshot_due<S: Schedule>(schedule: &S, t: u32) -> bool {
    if t == 0 || t == u32::MAX {
        return false;
    }
    let lr = schedule.learning_rate(t);
    lr <= schedule.learning_rate(t - 1) && schedule.learning_rate(t + 1) > lr
}

/// Up to `K` models of one type, kept as [`Weights`] and combined at prediction time
/// (see the [module documentation](self) for why flat weights). When full,
/// [`push`](Ensemble::push) replaces the oldest member, so a snapshot ensemble keeps
/// the last `K` snapshots.
///
/// Predictions ([`Ensemble::predict`]) give, for each sample,
///
/// - the **average probability** `p̄ = (1/K)·Σₖ softmax(zₖ)` of the members' logits
///   `zₖ` (PyTorch: `torch.stack([m(x).softmax(-1) for m in models]).mean(0)`), whose
///   most probable class is the prediction;
/// - the **votes**: each member votes for its most probable class (the first largest
///   logit, PyTorch's `argmax`); the class with most votes wins, a tie is broken by the
///   higher average probability, then by the lower class index.
///
/// `P` must equal the model's [`Params::COUNT`] and `NB` its [`Params::BUFFERS`], and
/// `K` must be positive; otherwise it does not compile.
///
/// # Examples
///
/// ```
/// use microtrain::ensemble::{Ensemble, Prediction};
/// use microtrain::layers::Dense;
/// use microtrain::loss::CrossEntropy;
/// use microtrain::optim::Sgd;
/// use microtrain::train::Trainer;
/// use microtrain::Matrix;
/// let mut t: Trainer<Dense<1, 2>, CrossEntropy, Sgd, 1, 1, 2> =
///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
/// let mut ensemble = Ensemble::<4, 0, 3>::new();
/// for bias in [[2.0, 0.0], [0.0, 0.1], [0.0, 0.1]] {
///     t.model.bias.0 = bias;
///     ensemble.push(&mut t.model);
/// }
/// let mut out = Prediction::new();
/// ensemble.predict(&mut t, &Matrix([[0.0]]), &mut out)?;
/// assert_eq!(out.votes[0], [1, 2]);
/// assert_eq!(out.vote_class(0), 1);       // two votes of three
/// assert_eq!(out.average_class(0), 0);    // one confident member outweighs them
/// assert_eq!(t.model.bias.0, [0.0, 0.1]); // the trainer's model is its own again
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// ```compile_fail
/// let _ = microtrain::ensemble::Ensemble::<4, 0, 0>::new(); // no member
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble<const P: usize, const NB: usize, const K: usize> {
    members: [Weights<P, NB>; K],
    len: usize,
    next: usize,
}

impl<const P: usize, const NB: usize, const K: usize> Ensemble<P, NB, K> {
    /// Bytes of the state: `4·K·(P + NB)` and two counters.
    ///
    /// ```
    /// use microtrain::ensemble::Ensemble;
    /// assert_eq!(Ensemble::<100, 4, 5>::BYTES, 4 * 5 * 104 + 2 * size_of::<usize>());
    /// ```
    pub const BYTES: usize = size_of::<Self>();

    /// No member yet. `const`, so an ensemble can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::ensemble::Ensemble;
    /// static mut SNAPSHOTS: Ensemble<10, 0, 4> = Ensemble::new();
    /// assert!(Ensemble::<10, 0, 4>::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        const { assert!(K > 0, "Ensemble<P, NB, K>: K must be at least 1") };
        Ensemble {
            members: [Weights::zeros(); K],
            len: 0,
            next: 0,
        }
    }

    /// Copies `model`'s weights in as a member, in place of the oldest member when
    /// there are `K` already; returns the slot it went to.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{ensemble::Ensemble, layers::Dense};
    /// let mut e = Ensemble::<2, 0, 2>::new();
    /// let mut d = Dense::<1, 1>::zeros();
    /// for w in [1.0, 2.0, 3.0] {
    ///     d.weight.0 = [[w]];
    ///     e.push(&mut d);
    /// }
    /// assert_eq!(e.len(), 2);
    /// assert_eq!(e.member(0).unwrap().params[0], 3.0); // replaced the oldest, 1.0
    /// assert_eq!(e.member(1).unwrap().params[0], 2.0);
    /// ```
    pub fn push<M: Params>(&mut self, model: &mut M) -> usize {
        let slot = self.next;
        self.members[slot].copy_from(model);
        self.next = (slot + 1) % K;
        self.len = (self.len + 1).min(K);
        slot
    }

    /// The number of members.
    ///
    /// # Examples
    ///
    /// See [`Ensemble::push`].
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no member.
    ///
    /// # Examples
    ///
    /// See [`Ensemble::new`].
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The weights of member `i` (slots in the order they were first filled), or
    /// `None` beyond [`len`](Ensemble::len).
    ///
    /// # Examples
    ///
    /// See [`Ensemble::push`].
    pub fn member(&self, i: usize) -> Option<&Weights<P, NB>> {
        self.members[..self.len].get(i)
    }

    /// Removes every member.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{ensemble::Ensemble, layers::Dense};
    /// let mut e = Ensemble::<2, 0, 2>::new();
    /// e.push(&mut Dense::<1, 1>::zeros());
    /// e.clear();
    /// assert!(e.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }

    /// Runs every member on the batch `x` through `trainer`'s model (in evaluation
    /// mode, each member swapped in and back out, so the trainer's model is unchanged
    /// afterwards) and writes the average probabilities and the votes of every row
    /// into `out`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if the ensemble has no member; `out` is unchanged then.
    /// [`Error::NonFinite`] if `x` holds a NaN or infinity (from
    /// [`Trainer::predict`]); no member runs, the trainer's model is its own again
    /// and `out` is cleared.
    ///
    /// # Examples
    ///
    /// See [`Ensemble`].
    pub fn predict<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>(
        &mut self,
        trainer: &mut Trainer<M, L, O, B, IN, OUT, X, S>,
        x: &X,
        out: &mut Prediction<B, OUT>,
    ) -> Result<(), Error>
    where
        X: Tensor + Copy,
        M: Layer<X, Output = Batch<B, OUT>> + Params,
        L: Loss<B, OUT>,
        O: Optimizer,
        S: InputBuffer<X>,
    {
        if self.is_empty() {
            return Err(Error::Empty { what: "ensemble" });
        }
        *out = Prediction::new();
        for member in &mut self.members[..self.len] {
            member.swap(&mut trainer.model);
            let logits = match trainer.predict(x) {
                Ok(logits) => *logits,
                Err(e) => {
                    member.swap(&mut trainer.model);
                    return Err(e);
                }
            };
            for (r, z) in logits.0.iter().enumerate() {
                let mut p = [0.0; OUT];
                let done = softmax(z, &mut p);
                debug_assert!(done.is_ok(), "one row of OUT values");
                let done = kernels::add(&p, &mut out.probabilities.0[r]);
                debug_assert!(done.is_ok(), "one row of OUT values");
                if let Some(c) = kernels::argmax(z) {
                    out.votes[r][c] = out.votes[r][c].saturating_add(1);
                }
            }
            member.swap(&mut trainer.model);
        }
        kernels::scale(1.0 / self.len as f32, out.probabilities.as_mut_slice());
        Ok(())
    }

    /// The ensemble's loss and accuracies over every labelled sample of `data`, in
    /// batches of `B` through `trainer`'s model (see [`predict`](Ensemble::predict)).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if the ensemble has no member; [`Error::Shape`] if the samples
    /// do not have `IN` values or one label each; [`Error::Label`] for a label not below
    /// `OUT`. Checked before any member runs.
    ///
    /// # Examples
    ///
    /// See the [module documentation](self).
    pub fn evaluate<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>(
        &mut self,
        trainer: &mut Trainer<M, L, O, B, IN, OUT, X, S>,
        data: &Dataset<'_, u32>,
    ) -> Result<EnsembleEvaluation, Error>
    where
        X: Tensor + Copy,
        M: Layer<X, Output = Batch<B, OUT>> + Params,
        L: Loss<B, OUT>,
        O: Optimizer,
        S: InputBuffer<X>,
    {
        if self.is_empty() {
            return Err(Error::Empty { what: "ensemble" });
        }
        check_labels(data, IN, OUT)?;
        let mut x = X::ZERO;
        let mut out = Prediction::new();
        let (mut loss, mut average_hits, mut vote_hits) = (0.0f32, 0usize, 0usize);
        let mut start = 0;
        while start < data.len() {
            let rows = B.min(data.len() - start);
            for (r, sample) in x.as_mut_slice().chunks_exact_mut(IN).enumerate() {
                if r < rows {
                    sample.copy_from_slice(data.input(start + r));
                } else {
                    sample.fill(0.0);
                }
            }
            self.predict(trainer, &x, &mut out)?;
            for r in 0..rows {
                let label = data.target(start + r)[0] as usize;
                loss -= crate::kernels::math::ln(out.probabilities.0[r][label]);
                average_hits += usize::from(out.average_class(r) == label);
                vote_hits += usize::from(out.vote_class(r) == label);
            }
            start += rows;
        }
        let n = data.len() as f32;
        Ok(EnsembleEvaluation {
            loss: loss / n,
            average_accuracy: average_hits as f32 / n,
            vote_accuracy: vote_hits as f32 / n,
        })
    }
}

impl<const P: usize, const NB: usize, const K: usize> Default for Ensemble<P, NB, K> {
    fn default() -> Self {
        Self::new()
    }
}

/// One row's `softmax`.
fn softmax<const OUT: usize>(z: &[f32; OUT], p: &mut [f32; OUT]) -> Result<(), Error> {
    kernels::softmax_rows(MatRef::new(z, 1, OUT)?, MatMut::new(p, 1, OUT)?)
}

/// Checks that `data` has `features` values and one label below `classes` per sample.
fn check_labels(data: &Dataset<'_, u32>, features: usize, classes: usize) -> Result<(), Error> {
    if data.features() != features {
        return Err(Error::Shape {
            what: "features per sample",
            expected: features,
            found: data.features(),
        });
    }
    if data.targets_per_sample() != 1 {
        return Err(Error::Shape {
            what: "targets per sample",
            expected: 1,
            found: data.targets_per_sample(),
        });
    }
    for sample in 0..data.len() {
        let label = data.target(sample)[0];
        if label as usize >= classes {
            return Err(Error::Label {
                sample,
                label: label as usize,
                classes,
            });
        }
    }
    Ok(())
}

/// What an [`Ensemble`] predicts for a batch of `B` samples and `OUT` classes.
///
/// # Examples
///
/// ```
/// use microtrain::ensemble::Prediction;
/// let mut p = Prediction::<1, 3>::new();
/// p.votes[0] = [2, 0, 2];                   // a tie between classes 0 and 2 ...
/// p.probabilities.0[0] = [0.3, 0.3, 0.4];   // ... broken by the average probability
/// assert_eq!(p.vote_class(0), 2);
/// p.probabilities.0[0] = [0.4, 0.2, 0.4];   // still tied: the lower class
/// assert_eq!(p.vote_class(0), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction<const B: usize, const OUT: usize> {
    /// The members' average probability of each class, per row.
    pub probabilities: Batch<B, OUT>,
    /// The number of members whose most probable class is each class, per row.
    pub votes: [[u16; OUT]; B],
}

impl<const B: usize, const OUT: usize> Prediction<B, OUT> {
    /// Zero probabilities and votes.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = microtrain::ensemble::Prediction::<2, 3>::new();
    /// assert_eq!(p.votes, [[0; 3]; 2]);
    /// ```
    pub const fn new() -> Self {
        Prediction {
            probabilities: Batch::zeros(),
            votes: [[0; OUT]; B],
        }
    }

    /// The class of highest average probability in `row` (the first on ties).
    ///
    /// # Panics
    ///
    /// If `row ≥ B`.
    ///
    /// # Examples
    ///
    /// See [`Ensemble`].
    pub fn average_class(&self, row: usize) -> usize {
        kernels::argmax(&self.probabilities.0[row]).unwrap_or(0)
    }

    /// The class with most votes in `row`; among tied classes the one of highest
    /// average probability, then the lowest.
    ///
    /// # Panics
    ///
    /// If `row ≥ B`.
    ///
    /// # Examples
    ///
    /// See [`Prediction`].
    pub fn vote_class(&self, row: usize) -> usize {
        let (votes, p) = (&self.votes[row], &self.probabilities.0[row]);
        let mut best = 0;
        for c in 1..OUT {
            if votes[c] > votes[best] || (votes[c] == votes[best] && p[c] > p[best]) {
                best = c;
            }
        }
        best
    }
}

impl<const B: usize, const OUT: usize> Default for Prediction<B, OUT> {
    fn default() -> Self {
        Self::new()
    }
}

/// An [`Ensemble`]'s results over a labelled data set.
///
/// # Examples
///
/// ```
/// use microtrain::ensemble::EnsembleEvaluation;
/// let e = EnsembleEvaluation { loss: 0.2, average_accuracy: 0.9, vote_accuracy: 0.85 };
/// assert!(e.average_accuracy > e.vote_accuracy);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnsembleEvaluation {
    /// The mean negative log of the average probability of the true class (the
    /// cross-entropy of the averaged prediction).
    pub loss: f32,
    /// The fraction of samples whose class of highest average probability is right.
    pub average_accuracy: f32,
    /// The fraction of samples whose majority vote is right.
    pub vote_accuracy: f32,
}
