//! The trainer as a checkpoint part, and what to do when training diverges: refuse
//! the step (always), and optionally roll back to the last good checkpoint with a
//! lower learning rate.

use super::{InputBuffer, Trainer};
use crate::checkpoint::{self, Model, Persist, Reader, Writer};
use crate::layers::Layer;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::{Batch, Error};

/// Checkpoint part: the model's parameters and buffers ([`Model`]), the dropout seed,
/// the step and refused-step counters, then the optimizer (its state, step count and
/// learning rate). The batch size, input and output widths enter the fingerprint.
/// With the data-order generator, schedules and early stopping beside it in the same
/// checkpoint, training resumes bit for bit.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint;
/// use microtrain::{layers::Dense, loss::Mse, optim::{Adam, AdamConfig}, train::Trainer, Matrix};
/// type T = Trainer<Dense<1, 1>, Mse, Adam<2>, 1, 1, 1>;
/// let new = || -> T { Trainer::new(Dense::zeros(), Mse, Adam::new(AdamConfig::default()), 7) };
/// let (x, y) = (Matrix([[1.0]]), Matrix([[2.0]]));
/// let (mut a, mut b) = (new(), new());
/// a.train_step(&x, &y)?;
/// let mut buf = [0u8; checkpoint::bytes::<T>()];
/// checkpoint::save(&mut a, &mut buf)?;
/// checkpoint::load(&mut b, &buf)?;
/// a.train_step(&x, &y)?;
/// b.train_step(&x, &y)?;
/// assert_eq!(a.model.weight.0[0][0].to_bits(), b.model.weight.0[0][0].to_bits());
/// assert_eq!(b.steps(), 2);
/// # Ok::<(), microtrain::Error>(())
/// ```
impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S> Persist
    for Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    S: InputBuffer<X>,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer + Persist,
{
    const BYTES: usize = Model::<M>::BYTES + 3 * 8 + O::BYTES;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"TRNR"));
        for n in [B, IN, OUT] {
            w.shape(n as u32);
        }
        Model(&mut self.model).save(w);
        w.u64(*self.ctx.seed_state());
        w.u64(self.steps);
        w.u64(self.refused);
        self.optimizer.save(w);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        Model(&mut self.model).load(r)?;
        r.u64(self.ctx.seed_state())?;
        r.u64(&mut self.steps)?;
        r.u64(&mut self.refused)?;
        self.optimizer.load(r)
    }
}

/// What to do when a step diverges (its loss, a gradient or the update is NaN or
/// infinite, [`Error::Diverged`]). The step is refused either way: parameters and optimizer state stay those
/// from before it, and [`Trainer::refused_steps`] counts it.
///
/// # Examples
///
/// ```
/// use microtrain::train::Divergence;
/// assert_eq!(Divergence::default(), Divergence::Refuse);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Divergence {
    /// Refuse the step and return the error (the trainer's own behaviour).
    #[default]
    Refuse,
    /// Refuse the step, restore the last good checkpoint, and multiply its learning
    /// rate by `factor` once per roll-back since that checkpoint; give up (return the
    /// error) after `limit` roll-backs without a new checkpoint.
    RollBack {
        /// The learning-rate factor, in `(0, 1]` (for example 0.5).
        factor: f32,
        /// Roll-backs allowed in a row.
        limit: u32,
    },
}

/// Applies a [`Divergence`] policy to a trainer: keeps the last good checkpoint in a
/// caller's buffer ([`commit`](Guard::commit) it after each good epoch) and, on a
/// divergence, [`recover`](Guard::recover)s from it.
///
/// The checkpoint holds the trainer alone (parameters, buffers, optimizer): a roll-back
/// leaves the data-order generator, the schedules and the refused-step count as they
/// are, so the run continues on fresh batches with a lower learning rate.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint;
/// use microtrain::optim::Optimizer;
/// use microtrain::train::{Divergence, Guard, Trainer};
/// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, Matrix};
/// type T = Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1>;
/// let mut t: T = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
/// let mut buf = [0u8; checkpoint::bytes::<T>()];
/// let mut guard = Guard::new(Divergence::RollBack { factor: 0.5, limit: 3 }, &mut buf)?;
/// t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]]))?;
/// guard.commit(&mut t)?;
/// let good = t.model.weight.0;
/// t.optimizer.lr = f32::MAX; // an update that overflows
/// let err = t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]])).unwrap_err();
/// assert_eq!(guard.recover(&mut t, err)?, 0.05); // back to the checkpoint, half its rate
/// assert_eq!((t.model.weight.0, t.refused_steps(), guard.rollbacks()), (good, 1, 1));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct Guard<'a> {
    policy: Divergence,
    buffer: &'a mut [u8],
    saved: bool,
    in_a_row: u32,
    rollbacks: u32,
}

impl<'a> Guard<'a> {
    /// A guard with `policy` that keeps its checkpoint in `buffer` (of
    /// [`checkpoint::bytes`] of the trainer).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if a roll-back factor is not in `(0, 1]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::{Divergence, Guard}, Error};
    /// let err = Guard::new(Divergence::RollBack { factor: 2.0, limit: 1 }, &mut []).unwrap_err();
    /// assert_eq!(
    ///     err,
    ///     Error::Setting { name: "roll-back learning-rate factor", value: 2.0, rule: "in (0, 1]" }
    /// );
    /// ```
    pub fn new(policy: Divergence, buffer: &'a mut [u8]) -> Result<Self, Error> {
        if let Divergence::RollBack { factor, .. } = policy {
            if !(factor > 0.0 && factor <= 1.0) {
                return Err(Error::Setting {
                    name: "roll-back learning-rate factor",
                    value: factor,
                    rule: "in (0, 1]",
                });
            }
        }
        Ok(Guard {
            policy,
            buffer,
            saved: false,
            in_a_row: 0,
            rollbacks: 0,
        })
    }

    /// Roll-backs so far.
    ///
    /// # Examples
    ///
    /// See [`Guard`].
    pub fn rollbacks(&self) -> u32 {
        self.rollbacks
    }

    /// Saves `trainer` as the last good state (PyTorch has no equivalent; a
    /// `torch.save` of the state dicts).
    ///
    /// # Errors
    ///
    /// [`Error::Length`] if the buffer is too small for the trainer's checkpoint.
    ///
    /// # Examples
    ///
    /// See [`Guard`].
    pub fn commit<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>(
        &mut self,
        trainer: &mut Trainer<M, L, O, B, IN, OUT, X, S>,
    ) -> Result<(), Error>
    where
        X: Tensor + Copy,
        S: InputBuffer<X>,
        M: Layer<X, Output = Batch<B, OUT>>,
        L: Loss<B, OUT>,
        O: Optimizer + Persist,
    {
        checkpoint::save(trainer, self.buffer)?;
        self.saved = true;
        self.in_a_row = 0;
        Ok(())
    }

    /// Handles `error` from a step or epoch of `trainer`: under
    /// [`Divergence::RollBack`], a divergence restores the last good checkpoint (the
    /// refused-step count kept), lowers the learning rate and returns it; every other
    /// case returns `error`.
    ///
    /// # Errors
    ///
    /// `error` itself if it is not [`Error::Diverged`], if its cause is
    /// [`lasting`](crate::optim::Refusal::lasting) (nothing is rolled back: the
    /// settings must change), if the policy is [`Divergence::Refuse`], if nothing was
    /// committed, or after `limit` roll-backs in a row; what [`checkpoint::load`] finds
    /// wrong with the saved checkpoint.
    ///
    /// # Examples
    ///
    /// See [`Guard`]. A lasting refusal comes back as it is:
    ///
    /// ```
    /// use microtrain::checkpoint;
    /// use microtrain::train::{Divergence, Guard, Trainer};
    /// use microtrain::{layers::Dense, loss::Mse, optim::{Refusal, Sgd}, Error, Matrix};
    /// type T = Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1>;
    /// let mut t: T = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// let mut buf = [0u8; checkpoint::bytes::<T>()];
    /// let mut guard = Guard::new(Divergence::RollBack { factor: 0.5, limit: 3 }, &mut buf)?;
    /// guard.commit(&mut t)?;
    /// t.model.weight.0 = [[3e38]];
    /// t.optimizer.weight_decay = 10.0; // θ − η(g + λθ) overflows whatever the batch
    /// let err = t.train_step(&Matrix([[0.0]]), &Matrix([[0.0]])).unwrap_err();
    /// assert!(matches!(err, Error::Diverged { cause: Refusal::Update { tensor: 0, lasting: true, .. }, .. }));
    /// assert_eq!(guard.recover(&mut t, err), Err(err));
    /// assert_eq!((t.model.weight.0, guard.rollbacks()), ([[3e38]], 0));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn recover<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>(
        &mut self,
        trainer: &mut Trainer<M, L, O, B, IN, OUT, X, S>,
        error: Error,
    ) -> Result<f32, Error>
    where
        X: Tensor + Copy,
        S: InputBuffer<X>,
        M: Layer<X, Output = Batch<B, OUT>>,
        L: Loss<B, OUT>,
        O: Optimizer + Persist,
    {
        let Divergence::RollBack { factor, limit } = self.policy else {
            return Err(error);
        };
        let retry = matches!(error, Error::Diverged { cause, .. } if !cause.lasting());
        if !retry || !self.saved || self.in_a_row >= limit {
            return Err(error);
        }
        let refused = trainer.refused;
        checkpoint::load(trainer, self.buffer)?;
        trainer.refused = refused;
        self.in_a_row += 1;
        self.rollbacks = self.rollbacks.saturating_add(1);
        let mut lr = trainer.optimizer.learning_rate();
        for _ in 0..self.in_a_row {
            lr *= factor;
        }
        trainer.optimizer.set_learning_rate(lr);
        Ok(lr)
    }
}
