//! Composition of schedules, and the [`Scheduler`] that applies one to an optimizer.

use super::{Linear, Schedule};
use crate::checkpoint::{Persist, Reader, Writer};
use crate::optim::Optimizer;

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

impl<F: Fn(u32) -> f32> Schedule for Lambda<F> {
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

    /// Sets the optimizer's rate to that of the current epoch, and returns it.
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
        optimizer.set_learning_rate(lr);
        lr
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
