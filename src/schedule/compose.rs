//! Composition of schedules, and the [`Scheduler`] that applies one to an optimizer.

use super::{Linear, Schedule};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::optim::Optimizer;
use crate::Error;

/// One schedule, then another: `α_t = first(t)` for `t < m`, `then(t − m)` from the
/// milestone `m` on (PyTorch: `SequentialLR(schedulers=[first, then],
/// milestones=[m])`, which restarts the second scheduler's count at the milestone).
///
/// Longer chains nest: `Sequential<A, Sequential<B, C>>`; the inner milestone counts
/// from the outer one. [`Sequential::warmup`] builds the usual linear warm-up.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Constant, Schedule, Sequential, StepDecay};
/// let s = Sequential { first: Constant { lr: 0.01 }, milestone: 3, then: StepDecay::new(0.1, 10) };
/// assert_eq!(s.learning_rate(2), 0.01);
/// assert_eq!(s.learning_rate(3), 0.1);
/// assert!((s.learning_rate(13) - 0.01).abs() < 1e-9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequential<A, B> {
    /// The schedule of steps `0..m`.
    pub first: A,
    /// The step `m` at which `then` starts (at its own step 0).
    pub milestone: u32,
    /// The schedule from step `m` on.
    pub then: B,
}

impl<B: Schedule> Sequential<Linear, B> {
    /// Linear warm-up over `steps` steps from `start_factor·α` to `α = then(0)`, then
    /// `then` (PyTorch: `SequentialLR([LinearLR(start_factor, 1.0, total_iters=steps),
    /// then], milestones=[steps])`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Cosine, Schedule, Sequential};
    /// let s = Sequential::warmup(0.1, 5, Cosine::new(0.1, 55));
    /// assert!((s.learning_rate(0) - 0.01).abs() < 1e-9);
    /// assert!((s.learning_rate(4) - 0.082).abs() < 1e-8);
    /// assert_eq!(s.learning_rate(5), 0.1);
    /// ```
    pub fn warmup(start_factor: f32, steps: u32, then: B) -> Self {
        Sequential {
            first: Linear {
                base_lr: then.learning_rate(0),
                start_factor,
                end_factor: 1.0,
                total_iters: steps,
            },
            milestone: steps,
            then,
        }
    }
}

impl<A: Schedule, B: Schedule> Schedule for Sequential<A, B> {
    fn check(&self) -> Result<(), Error> {
        self.first.check()?;
        self.then.check()
    }

    fn learning_rate(&self, t: u32) -> f32 {
        if t < self.milestone {
            self.first.learning_rate(t)
        } else {
            self.then.learning_rate(t - self.milestone)
        }
    }
}

/// Any factor function: `α_t = α₀·f(t)` (PyTorch: `LambdaLR(lr_lambda=f)`).
///
/// `f` is a plain function or a closure; a non-capturing closure keeps the schedule
/// `Copy`. It is called with the step only, never with training state.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Lambda, Schedule};
/// let s = Lambda { base_lr: 0.1, f: |t: u32| if t < 5 { 1.0 } else { 0.5 } };
/// assert_eq!(s.learning_rate(4), 0.1);
/// assert_eq!(s.learning_rate(5), 0.05);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lambda<F> {
    /// The learning rate `α₀` the factor multiplies.
    pub base_lr: f32,
    /// The factor `f(t)`.
    pub f: F,
}

impl<F> Lambda<F> {
    /// Checks `base_lr`: finite and ≥ 0. The factor `f` is the caller's code:
    /// [`Scheduler`] refuses a rate it makes infinite, NaN or negative when it comes.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Lambda base_lr"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::Lambda, Error};
    /// assert_eq!(
    ///     Lambda { base_lr: -1.0, f: |_t: u32| 1.0 }.check(),
    ///     Err(Error::Setting { name: "Lambda base_lr", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Lambda base_lr", self.base_lr));
        Ok(())
    }
}

impl<F: Fn(u32) -> f32> Schedule for Lambda<F> {
    fn check(&self) -> Result<(), Error> {
        Lambda::check(self)
    }

    fn learning_rate(&self, t: u32) -> f32 {
        self.base_lr * (self.f)(t)
    }
}

// --------------------------------------------------------------------------------
// The stateful helper
// --------------------------------------------------------------------------------

/// Counts epochs (or steps) and writes the scheduled learning rate into an
/// optimizer: the state machine around a [`Schedule`] (PyTorch: an `LRScheduler`
/// object, whose constructor sets the epoch-0 rate and whose `step()` advances it).
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, Sgd};
/// use microtrain::schedule::{Scheduler, StepDecay};
/// let mut sgd = Sgd::new(1.0);
/// let mut scheduler = Scheduler::start(StepDecay { gamma: 0.5, ..StepDecay::new(0.1, 2) }, &mut sgd);
/// let mut used = [0.0; 5];
/// for lr in used.iter_mut() {
///     *lr = sgd.learning_rate(); // ... train one epoch ...
///     scheduler.step(&mut sgd);
/// }
/// assert_eq!(used, [0.1, 0.1, 0.05, 0.05, 0.025]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scheduler<S> {
    /// The schedule.
    pub schedule: S,
    epoch: u32,
}

impl<S: Schedule> Scheduler<S> {
    /// A scheduler at epoch 0 that has not touched any optimizer yet; call
    /// [`apply`](Scheduler::apply) before the first epoch.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Constant, Scheduler};
    /// static SCHEDULER: Scheduler<Constant> = Scheduler::new(Constant { lr: 0.1 });
    /// assert_eq!(SCHEDULER.epoch(), 0);
    /// ```
    pub const fn new(schedule: S) -> Self {
        Scheduler { schedule, epoch: 0 }
    }

    /// A scheduler at epoch 0 that has set the optimizer's rate to `schedule(0)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// use microtrain::schedule::{Linear, Scheduler};
    /// let mut sgd = Sgd::new(1.0);
    /// Scheduler::start(Linear::decay(0.1, 10), &mut sgd);
    /// assert_eq!(sgd.learning_rate(), 0.1);
    /// ```
    pub fn start<O: Optimizer>(schedule: S, optimizer: &mut O) -> Self {
        let scheduler = Scheduler::new(schedule);
        scheduler.apply(optimizer);
        scheduler
    }

    /// The current epoch: the number of [`step`](Scheduler::step) calls so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Constant, Scheduler};
    /// assert_eq!(Scheduler::new(Constant { lr: 0.1 }).epoch(), 0);
    /// ```
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The learning rate of the current epoch.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Linear, Scheduler};
    /// assert_eq!(Scheduler::new(Linear::decay(0.1, 10)).learning_rate(), 0.1);
    /// ```
    pub fn learning_rate(&self) -> f32 {
        self.schedule.learning_rate(self.epoch)
    }

    /// Sets the optimizer's rate to that of the current epoch, and returns it. A rate
    /// that is infinite, NaN or negative, or one from a schedule that
    /// [`Schedule::check`] refuses, is returned but not written: the optimizer keeps
    /// its rate ([`try_apply`](Scheduler::try_apply) reports the error).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// use microtrain::schedule::{Constant, Scheduler};
    /// let mut sgd = Sgd::new(1.0);
    /// assert_eq!(Scheduler::new(Constant { lr: 0.1 }).apply(&mut sgd), 0.1);
    /// assert_eq!(sgd.learning_rate(), 0.1);
    /// ```
    pub fn apply<O: Optimizer>(&self, optimizer: &mut O) -> f32 {
        let lr = self.learning_rate();
        if self.checked_rate().is_ok() {
            optimizer.set_learning_rate(lr);
        }
        lr
    }

    /// [`apply`](Scheduler::apply), reporting a refused schedule or rate.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the schedule's bad setting (see [`Schedule::check`]),
    /// or `"scheduled learning rate"` if the rate of this epoch is infinite, NaN or
    /// negative; the optimizer is untouched then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// use microtrain::schedule::{Exponential, Scheduler};
    /// let mut sgd = Sgd::new(0.1);
    /// assert!(Scheduler::new(Exponential::new(0.1, -2.0)).try_apply(&mut sgd).is_err());
    /// assert_eq!(sgd.learning_rate(), 0.1);
    /// ```
    pub fn try_apply<O: Optimizer>(&self, optimizer: &mut O) -> Result<f32, Error> {
        let lr = self.checked_rate()?;
        optimizer.set_learning_rate(lr);
        Ok(lr)
    }

    /// The rate of the current epoch if the schedule passes its check and the rate is
    /// finite and ≥ 0.
    fn checked_rate(&self) -> Result<f32, Error> {
        self.schedule.check()?;
        check::non_negative("scheduled learning rate", self.learning_rate())
    }

    /// Ends the epoch: advances to the next one (saturating at `u32::MAX`), sets the
    /// optimizer's rate to its value, and returns it (PyTorch: `scheduler.step()`
    /// after the epoch's `optimizer.step()` calls).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// use microtrain::schedule::{Linear, Scheduler};
    /// let mut sgd = Sgd::new(1.0);
    /// let mut scheduler = Scheduler::start(Linear::decay(0.1, 2), &mut sgd);
    /// assert_eq!(scheduler.step(&mut sgd), 0.05);
    /// assert_eq!(sgd.learning_rate(), 0.05);
    /// ```
    pub fn step<O: Optimizer>(&mut self, optimizer: &mut O) -> f32 {
        self.epoch = self.epoch.saturating_add(1);
        self.apply(optimizer)
    }

    /// [`step`](Scheduler::step) with [`try_apply`](Scheduler::try_apply): the epoch
    /// advances either way.
    ///
    /// # Errors
    ///
    /// As [`try_apply`](Scheduler::try_apply).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::Sgd;
    /// use microtrain::schedule::{Lambda, Scheduler};
    /// let mut sgd = Sgd::new(0.1);
    /// let mut s = Scheduler::new(Lambda { base_lr: 0.1, f: |t: u32| if t < 1 { 1.0 } else { f32::NAN } });
    /// assert_eq!(s.try_apply(&mut sgd), Ok(0.1));
    /// assert!(s.try_step(&mut sgd).is_err());
    /// ```
    pub fn try_step<O: Optimizer>(&mut self, optimizer: &mut O) -> Result<f32, Error> {
        self.epoch = self.epoch.saturating_add(1);
        self.try_apply(optimizer)
    }
}

/// Checkpoint part: the epoch (the schedule itself is the caller's code).
impl<S> Persist for Scheduler<S> {
    const BYTES: usize = 4;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"SCHD"));
        w.u32(self.epoch);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), crate::Error> {
        r.u32(&mut self.epoch)
    }
}
