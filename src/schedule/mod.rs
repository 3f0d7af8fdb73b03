//! Learning-rate schedules and reduce-on-plateau.
//!
//! The seed: the minimisation drives the gradients to zero, but SGD keeps the noise of
//! its mini-batches, so the learning rate must decay over time. A schedule gives the
//! learning rate `α` as a function of the step or epoch number `t` (`t = 0` is the
//! first); it is applied "as a function of SGD step or epoch", whichever the caller
//! counts. The alternative is to watch the validation loss and "divide the learning
//! rate by 10 when validation error plateaus": [`ReduceOnPlateau`].
//!
//! Every schedule is a small `Copy` struct implementing [`Schedule`], a *pure*
//! function `t ↦ α_t` with no state; [`Scheduler`] is the state machine that counts
//! epochs and writes the rate into an [`Optimizer`](crate::optim::Optimizer). Defaults and constructors equal
//! PyTorch's, and each schedule's values equal what `torch.optim.lr_scheduler`'s
//! chainable `scheduler.step()` (called once per epoch) puts into
//! `optimizer.param_groups[0]['lr']`, within `f32` rounding: the host tests compare
//! them with PyTorch golden traces (`host-tests/tests/schedule.rs`).
//!
//! | seed / literature | formula | here | PyTorch |
//! |---|---|---|---|
//! | constant | `α₀` | [`Constant`] | (no scheduler) |
//! | step decay, "halve every few epochs" | `α₀·γ^⌊t/k⌋` | [`StepDecay`] | `StepLR` |
//! | step decay at milestones | `α₀·γ^#{mᵢ ≤ t}` | [`MultiStep`] | `MultiStepLR` |
//! | exponential decay, factor `γ` per step | `α₀·γ^t` | [`Exponential`] | `ExponentialLR` |
//! | natural-exponential decay, rate `k` | `α₀·e^(−kt)` | [`NaturalExpDecay`] (formerly `ExponentialDecay`) | none: `LambdaLR(lambda t: exp(-k*t))`, or `ExponentialLR(gamma=e^(−k))` |
//! | 1/t decay | `α₀/(1 + kt)` | [`InverseTime`] | `LambdaLR` |
//! | linear decay | `α₀(1 − t/T)` | [`Linear::decay`] | `LinearLR`, `PolynomialLR(power=1)` |
//! | linear warm-up | `α₀(s + (e − s)·min(t,T)/T)` | [`Linear`] | `LinearLR` |
//! | polynomial decay | `α₀(1 − min(t,T)/T)^p` | [`Polynomial`] | `PolynomialLR` |
//! | cosine | `η + (α₀ − η)(1 + cos(πt/T))/2` | [`Cosine`] | `CosineAnnealingLR` |
//! | cosine, warm restarts | cosine over `T_cur/T_i` | [`CosineWarmRestarts`] | `CosineAnnealingWarmRestarts` |
//! | inverse square root | `α₀·min((t+1)/W, √(W/(t+1)))` | [`InverseSqrt`] | `LambdaLR` |
//! | one-cycle | warm up to `α_max`, anneal to `α_max/(25·10⁴)` | [`OneCycle`] | `OneCycleLR` |
//! | one schedule, then another | | [`Sequential`] | `SequentialLR` |
//! | any `f(t)` | `α₀·f(t)` | [`Lambda`] | `LambdaLR` |
//! | reduce on plateau | `α ← max(α·factor, α_min)` | [`ReduceOnPlateau`] | `ReduceLROnPlateau` |
//!
//! Every transcendental function goes through [`crate::kernels::math`], so a schedule
//! gives the same bits on every target.
//!
//! # Examples
//!
//! ```
//! use microtrain::optim::{Optimizer, Sgd};
//! use microtrain::schedule::{Cosine, Schedule, Scheduler, Sequential};
//!
//! // Five epochs of linear warm-up from 0.01 to 0.1, then cosine annealing over 55.
//! let recipe = Sequential::warmup(0.1, 5, Cosine { eta_min: 0.001, ..Cosine::new(0.1, 55) });
//! let mut sgd = Sgd::new(1.0);
//! let mut scheduler = Scheduler::start(recipe, &mut sgd);
//! assert!((sgd.learning_rate() - 0.01).abs() < 1e-7);
//! for _epoch in 0..5 {
//!     // ... train one epoch with `sgd` ...
//!     scheduler.step(&mut sgd);
//! }
//! assert_eq!(scheduler.epoch(), 5);
//! assert!((sgd.learning_rate() - 0.1).abs() < 1e-7);
//! ```

mod compose;
mod cosine;
mod cycle;
mod decay;
mod plateau;

pub use compose::{Lambda, Scheduler, Sequential};
pub use cosine::{Cosine, CosineWarmRestarts};
pub use cycle::{Anneal, InverseSqrt, OneCycle};
#[allow(deprecated)]
pub use decay::ExponentialDecay;
pub use decay::{
    Constant, Exponential, InverseTime, Linear, MultiStep, NaturalExpDecay, Polynomial, StepDecay,
};
pub use plateau::{Goal, PlateauConfig, ReduceOnPlateau, Threshold};

/// A learning-rate schedule: the learning rate as a pure function of the step or
/// epoch index `t` (`t = 0` is the first epoch).
///
/// `learning_rate(t)` is PyTorch's `optimizer.param_groups[0]['lr']` after `t` calls
/// of the chainable `scheduler.step()`, i.e. the rate used in epoch `t`.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Schedule, StepDecay};
/// let halve = StepDecay { gamma: 0.5, ..StepDecay::new(0.1, 10) };
/// assert_eq!(halve.learning_rate(9), 0.1);
/// assert_eq!(halve.learning_rate(10), 0.05);
/// ```
pub trait Schedule {
    /// The learning rate of step or epoch `t`.
    fn learning_rate(&self, t: u32) -> f32;

    /// Checks the schedule's settings (each schedule's own `const fn check`, usable
    /// in a `static`); [`Scheduler`] writes no rate from a refused schedule.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`](crate::Error::Setting) naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Exponential, Schedule};
    /// assert!(Schedule::check(&Exponential::new(0.1, 0.9)).is_ok());
    /// assert!(Schedule::check(&Exponential::new(0.1, f32::NAN)).is_err());
    /// ```
    fn check(&self) -> Result<(), crate::Error> {
        Ok(())
    }
}

/// Forwards to the schedule behind the reference, so a `&dyn Schedule` chosen at run
/// time drives a [`Scheduler`] without a heap.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Constant, Exponential, Schedule, Scheduler};
/// let (decay, constant) = (Exponential::new(0.1, 0.5), Constant { lr: 0.1 });
/// let from_config = 1; // say, read from flash at run time
/// let chosen: &dyn Schedule = if from_config == 1 { &decay } else { &constant };
/// let scheduler = Scheduler::new(chosen);
/// assert_eq!(scheduler.epoch(), 0);
/// assert_eq!(chosen.learning_rate(1), 0.05);
/// ```
impl<S: Schedule + ?Sized> Schedule for &S {
    fn learning_rate(&self, t: u32) -> f32 {
        (**self).learning_rate(t)
    }

    fn check(&self) -> Result<(), crate::Error> {
        (**self).check()
    }
}

/// Forwards to the schedule behind the mutable reference, for callers that hold a
/// `&mut dyn Schedule` (no heap needed, available everywhere).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Schedule, StepDecay};
/// let mut step = StepDecay::new(1.0, 2);
/// let s: &mut dyn Schedule = &mut step;
/// fn rate<S: Schedule>(s: S, t: u32) -> f32 { s.learning_rate(t) }
/// assert_eq!(rate(s, 2), StepDecay::new(1.0, 2).learning_rate(2));
/// ```
///
/// The library never allocates, so it has no impl for `Box<S>`: on the host, a
/// `Box<dyn Schedule>` chosen at run time drives a [`Scheduler`] as `&mut *boxed`.
impl<S: Schedule + ?Sized> Schedule for &mut S {
    fn learning_rate(&self, t: u32) -> f32 {
        (**self).learning_rate(t)
    }

    fn check(&self) -> Result<(), crate::Error> {
        (**self).check()
    }
}
