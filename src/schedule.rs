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
//! epochs and writes the rate into an [`Optimizer`]. Defaults and constructors equal
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
//! | exponential decay | `α₀·e^(−kt)` | [`ExponentialDecay`] | `LambdaLR` |
//! | exponential decay | `α₀·γ^t` | [`Exponential`] | `ExponentialLR` |
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

use crate::kernels::math;
use crate::optim::Optimizer;
use core::f32::consts::PI;

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
}

impl<S: Schedule + ?Sized> Schedule for &S {
    fn learning_rate(&self, t: u32) -> f32 {
        (**self).learning_rate(t)
    }
}

// --------------------------------------------------------------------------------
// Constant and step decays
// --------------------------------------------------------------------------------

/// The same learning rate every step: `α_t = α₀` (PyTorch: no scheduler).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Constant, Schedule};
/// assert_eq!(Constant { lr: 0.1 }.learning_rate(1000), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constant {
    /// The learning rate `α₀`.
    pub lr: f32,
}

impl Schedule for Constant {
    fn learning_rate(&self, _t: u32) -> f32 {
        self.lr
    }
}

/// Step decay, the seed's "decay the learning rate by half every few epochs":
/// `α_t = α₀·γ^⌊t/k⌋` with `k` = `step_size` (PyTorch: `StepLR(step_size, gamma=0.1)`).
///
/// A `step_size` of 0 (which PyTorch rejects with a division by zero) is treated as 1.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Schedule, StepDecay};
/// let s = StepDecay::new(1.0, 3); // gamma 0.1, PyTorch's default
/// assert_eq!(s.learning_rate(2), 1.0);
/// assert!((s.learning_rate(3) - 0.1).abs() < 1e-7);
/// assert!((s.learning_rate(6) - 0.01).abs() < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The number of epochs `k` between two decays.
    pub step_size: u32,
    /// The factor `γ` applied every `k` epochs (PyTorch default 0.1).
    pub gamma: f32,
}

impl StepDecay {
    /// `α₀·0.1^⌊t/k⌋`: PyTorch's `StepLR(optimizer, step_size)` defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::StepDecay;
    /// assert_eq!(StepDecay::new(0.1, 30).gamma, 0.1);
    /// ```
    pub const fn new(base_lr: f32, step_size: u32) -> Self {
        StepDecay {
            base_lr,
            step_size,
            gamma: 0.1,
        }
    }
}

impl Schedule for StepDecay {
    fn learning_rate(&self, t: u32) -> f32 {
        let decays = t / self.step_size.max(1);
        self.base_lr * math::powf(self.gamma, decays as f32)
    }
}

/// Step decay at chosen epochs: `α_t = α₀·γ^n(t)`, `n(t)` the number of milestones
/// `mᵢ ≤ t` (PyTorch: `MultiStepLR(milestones, gamma=0.1)`).
///
/// The milestones are a fixed-capacity array; they need not be sorted, and a
/// milestone listed twice decays twice (as PyTorch's `Counter` of milestones does).
/// With no milestones (`N = 0`) the rate stays `α₀`.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{MultiStep, Schedule};
/// // lr 0.05 before epoch 30, 0.005 from 30, 0.0005 from 80 (PyTorch's doc example).
/// let s = MultiStep::new(0.05, [30, 80]);
/// assert_eq!(s.learning_rate(29), 0.05);
/// assert!((s.learning_rate(30) - 0.005).abs() < 1e-9);
/// assert!((s.learning_rate(80) - 0.0005).abs() < 1e-10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiStep<const N: usize> {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The epochs `mᵢ` at which the rate is multiplied by `γ`.
    pub milestones: [u32; N],
    /// The decay factor `γ` (PyTorch default 0.1).
    pub gamma: f32,
}

impl<const N: usize> MultiStep<N> {
    /// `α₀·0.1^n(t)`: PyTorch's `MultiStepLR(optimizer, milestones)` defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{MultiStep, Schedule};
    /// let none = MultiStep::new(0.1, []);
    /// assert_eq!(none.learning_rate(1_000_000), 0.1);
    /// ```
    pub const fn new(base_lr: f32, milestones: [u32; N]) -> Self {
        MultiStep {
            base_lr,
            milestones,
            gamma: 0.1,
        }
    }
}

impl<const N: usize> Schedule for MultiStep<N> {
    fn learning_rate(&self, t: u32) -> f32 {
        let passed = self.milestones.iter().filter(|&&m| m <= t).count();
        self.base_lr * math::powf(self.gamma, passed as f32)
    }
}

// --------------------------------------------------------------------------------
// Smooth decays
// --------------------------------------------------------------------------------

/// Exponential decay in the seed's form `α_t = α₀·e^(−kt)` (PyTorch:
/// `LambdaLR(lambda t: math.exp(-k * t))`; equal to `ExponentialLR(gamma=e^(−k))`).
///
/// `e^(−kt)` is evaluated directly (not as `(e^(−k))^t`), so a small rate `k` loses
/// no accuracy over many steps.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{ExponentialDecay, Schedule};
/// let s = ExponentialDecay::new(0.1, 0.5);
/// assert_eq!(s.learning_rate(0), 0.1);
/// assert!((s.learning_rate(2) - 0.1 * (-1.0f32).exp()).abs() < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecay {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The decay rate `k` per step.
    pub k: f32,
}

impl ExponentialDecay {
    /// `α₀·e^(−kt)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::ExponentialDecay;
    /// assert_eq!(ExponentialDecay::new(0.1, 0.01).k, 0.01);
    /// ```
    pub const fn new(base_lr: f32, k: f32) -> Self {
        ExponentialDecay { base_lr, k }
    }
}

impl Schedule for ExponentialDecay {
    fn learning_rate(&self, t: u32) -> f32 {
        self.base_lr * math::exp(-self.k * t as f32)
    }
}

/// Exponential decay by a factor per step: `α_t = α₀·γ^t` (PyTorch:
/// `ExponentialLR(gamma)`, which has no default `γ`).
///
/// `γ^t` is one `powf`, not `t` multiplications. The relative error of the rate grows
/// like `t` times the rounding of `γ` to `f32` (`γ = 0.95`: 8·10⁻⁷ at `t = 60`).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Exponential, Schedule};
/// let s = Exponential::new(0.1, 0.5);
/// assert_eq!(s.learning_rate(3), 0.0125);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The factor `γ` per step.
    pub gamma: f32,
}

impl Exponential {
    /// `α₀·γ^t`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::Exponential;
    /// assert_eq!(Exponential::new(0.1, 0.95).gamma, 0.95);
    /// ```
    pub const fn new(base_lr: f32, gamma: f32) -> Self {
        Exponential { base_lr, gamma }
    }
}

impl Schedule for Exponential {
    fn learning_rate(&self, t: u32) -> f32 {
        self.base_lr * math::powf(self.gamma, t as f32)
    }
}

/// The seed's 1/t decay `α_t = α₀/(1 + kt)` (PyTorch:
/// `LambdaLR(lambda t: 1 / (1 + k * t))`; Keras: `InverseTimeDecay`).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{InverseTime, Schedule};
/// let s = InverseTime::new(0.1, 0.1);
/// assert_eq!(s.learning_rate(0), 0.1);
/// assert_eq!(s.learning_rate(10), 0.05);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseTime {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The decay rate `k`.
    pub k: f32,
}

impl InverseTime {
    /// `α₀/(1 + kt)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::InverseTime;
    /// assert_eq!(InverseTime::new(0.1, 0.5).k, 0.5);
    /// ```
    pub const fn new(base_lr: f32, k: f32) -> Self {
        InverseTime { base_lr, k }
    }
}

impl Schedule for InverseTime {
    fn learning_rate(&self, t: u32) -> f32 {
        self.base_lr / (1.0 + self.k * t as f32)
    }
}

/// Linear interpolation of a factor, for warm-up or decay:
/// `α_t = α₀·(s + (e − s)·min(t, T)/T)` with `s` = `start_factor`, `e` = `end_factor`,
/// `T` = `total_iters` (PyTorch: `LinearLR(start_factor=1/3, end_factor=1.0,
/// total_iters=5)`). After `T` the rate stays `α₀·e`.
///
/// The seed's linear decay `α₀(1 − t/T)` is [`Linear::decay`] (`s = 1`, `e = 0`). With
/// `T = 0` the rate stays `α₀·s`, as PyTorch's chainable form does.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Linear, Schedule};
/// let warmup = Linear { start_factor: 0.1, end_factor: 1.0, total_iters: 10, ..Linear::new(0.1) };
/// assert!((warmup.learning_rate(0) - 0.01).abs() < 1e-9);
/// assert!((warmup.learning_rate(5) - 0.055).abs() < 1e-8);
/// assert_eq!(warmup.learning_rate(10), 0.1);
/// assert_eq!(warmup.learning_rate(99), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    /// The learning rate `α₀` the factors multiply.
    pub base_lr: f32,
    /// The factor `s` at `t = 0` (PyTorch default 1/3).
    pub start_factor: f32,
    /// The factor `e` from `t = T` on (PyTorch default 1).
    pub end_factor: f32,
    /// The number of steps `T` of the interpolation (PyTorch default 5).
    pub total_iters: u32,
}

impl Linear {
    /// PyTorch's `LinearLR(optimizer)` defaults: from `α₀/3` to `α₀` over 5 steps.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Linear, Schedule};
    /// let s = Linear::new(0.3);
    /// assert!((s.learning_rate(0) - 0.1).abs() < 1e-8);
    /// assert_eq!(s.learning_rate(5), 0.3);
    /// ```
    pub const fn new(base_lr: f32) -> Self {
        Linear {
            base_lr,
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }

    /// The seed's linear decay `α_t = α₀(1 − t/T)`, then 0 (PyTorch:
    /// `LinearLR(start_factor=1.0, end_factor=0.0, total_iters=T)`, or
    /// `PolynomialLR(total_iters=T, power=1.0)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Linear, Schedule};
    /// let s = Linear::decay(0.1, 50);
    /// assert_eq!(s.learning_rate(0), 0.1);
    /// assert_eq!(s.learning_rate(25), 0.05);
    /// assert_eq!(s.learning_rate(50), 0.0);
    /// ```
    pub const fn decay(base_lr: f32, total_iters: u32) -> Self {
        Linear {
            base_lr,
            start_factor: 1.0,
            end_factor: 0.0,
            total_iters,
        }
    }
}

impl Schedule for Linear {
    fn learning_rate(&self, t: u32) -> f32 {
        if self.total_iters == 0 {
            return self.base_lr * self.start_factor;
        }
        let done = t.min(self.total_iters) as f32;
        let factor = self.start_factor
            + (self.end_factor - self.start_factor) * done / self.total_iters as f32;
        self.base_lr * factor
    }
}

/// Polynomial decay to zero: `α_t = α₀·(1 − min(t, T)/T)^p` with `T` = `total_iters`
/// (PyTorch: `PolynomialLR(total_iters=5, power=1.0)`). The rate is 0 from `t = T`
/// on; `p = 1` is the seed's linear decay.
///
/// `p` should be positive (PyTorch divides by zero otherwise). With `T = 0` the rate
/// stays `α₀`, as PyTorch's chainable form does.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Polynomial, Schedule};
/// let s = Polynomial { total_iters: 50, power: 2.0, ..Polynomial::new(0.1) };
/// assert_eq!(s.learning_rate(0), 0.1);
/// assert!((s.learning_rate(25) - 0.025).abs() < 1e-9);
/// assert_eq!(s.learning_rate(50), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Polynomial {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The step `T` at which the rate reaches 0 (PyTorch default 5).
    pub total_iters: u32,
    /// The power `p` (PyTorch default 1).
    pub power: f32,
}

impl Polynomial {
    /// PyTorch's `PolynomialLR(optimizer)` defaults: linear decay to 0 over 5 steps.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Polynomial, Schedule};
    /// assert!((Polynomial::new(0.1).learning_rate(4) - 0.02).abs() < 1e-8);
    /// ```
    pub const fn new(base_lr: f32) -> Self {
        Polynomial {
            base_lr,
            total_iters: 5,
            power: 1.0,
        }
    }
}

impl Schedule for Polynomial {
    fn learning_rate(&self, t: u32) -> f32 {
        if self.total_iters == 0 {
            return self.base_lr;
        }
        let left = 1.0 - t.min(self.total_iters) as f32 / self.total_iters as f32;
        self.base_lr * math::powf(left, self.power)
    }
}

// --------------------------------------------------------------------------------
// Cosine schedules
// --------------------------------------------------------------------------------

/// `η + (α₀ − η)(1 + cos(π·c/T))/2`, the cosine curve from `α₀` at `c = 0` to `η` at
/// `c = T`.
fn cosine_curve(base_lr: f32, eta_min: f32, c: u64, period: u64) -> f32 {
    let angle = PI * c as f32 / period as f32;
    eta_min + (base_lr - eta_min) * (1.0 + math::cos(angle)) / 2.0
}

/// Cosine annealing: `α_t = η_min + (α₀ − η_min)(1 + cos(πt/T))/2` with `T` = `t_max`
/// (PyTorch: `CosineAnnealingLR(T_max, eta_min=0.0)`).
///
/// Beyond `T` the closed form keeps going: the rate climbs back to `α₀` at `2T` and
/// repeats with period `2T`. That is also what PyTorch's chainable `step()` does (it
/// multiplies the current rate by the ratio of consecutive cosine terms, with a special
/// case at `t = T + 1 (mod 2T)` where that ratio is undefined); its golden trace over
/// three half-periods deviates from this closed form by 7·10⁻¹⁷. We evaluate the
/// closed form at `t mod 2T`, which keeps the `f32` angle small for large `t`. (The
/// chainable form and the closed form would differ if something else changed the
/// rate in the middle, which a pure function of `t` cannot do.) To stop at `η_min`,
/// wrap this in a [`Sequential`] with a [`Constant`] after `T`.
///
/// A `t_max` of 0 (a division by zero in PyTorch) is treated as 1.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Cosine, Schedule};
/// let s = Cosine { eta_min: 0.001, ..Cosine::new(0.1, 20) };
/// assert_eq!(s.learning_rate(0), 0.1);
/// assert!((s.learning_rate(10) - 0.0505).abs() < 1e-8);
/// assert!((s.learning_rate(20) - 0.001).abs() < 1e-9);
/// assert!((s.learning_rate(40) - 0.1).abs() < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    /// The initial (maximum) learning rate `α₀`.
    pub base_lr: f32,
    /// The half-period `T`: steps from `α₀` down to `η_min`.
    pub t_max: u32,
    /// The minimum learning rate `η_min` (PyTorch default 0).
    pub eta_min: f32,
}

impl Cosine {
    /// PyTorch's `CosineAnnealingLR(optimizer, T_max)` defaults (`eta_min = 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Cosine, Schedule};
    /// assert_eq!(Cosine::new(0.1, 10).learning_rate(10), 0.0);
    /// ```
    pub const fn new(base_lr: f32, t_max: u32) -> Self {
        Cosine {
            base_lr,
            t_max,
            eta_min: 0.0,
        }
    }
}

impl Schedule for Cosine {
    fn learning_rate(&self, t: u32) -> f32 {
        let period = u64::from(self.t_max.max(1));
        cosine_curve(
            self.base_lr,
            self.eta_min,
            u64::from(t) % (2 * period),
            period,
        )
    }
}

/// Cosine annealing with warm restarts (SGDR):
/// `α_t = η_min + (α₀ − η_min)(1 + cos(π·T_cur/T_i))/2`, where the `i`-th cycle lasts
/// `T_i = T_0·T_mult^i` steps and `T_cur` counts the steps since the last restart
/// (PyTorch: `CosineAnnealingWarmRestarts(T_0, T_mult=1, eta_min=0.0)`).
///
/// Restarts happen at `t = T_0, T_0(1 + T_mult), …`: with `T_0 = 10`, `T_mult = 2` at
/// 10, 30, 70. A `t_0` or `t_mult` of 0 (rejected by PyTorch) is treated as 1.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{CosineWarmRestarts, Schedule};
/// let s = CosineWarmRestarts { t_mult: 2, ..CosineWarmRestarts::new(0.1, 10) };
/// assert!(s.learning_rate(9) < 0.01);
/// assert_eq!(s.learning_rate(10), 0.1); // restart, the next cycle lasts 20
/// assert!((s.learning_rate(20) - 0.05).abs() < 1e-8);
/// assert_eq!(s.learning_rate(30), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineWarmRestarts {
    /// The learning rate `α₀` at every restart.
    pub base_lr: f32,
    /// The length `T_0` of the first cycle.
    pub t_0: u32,
    /// The factor `T_mult` by which each cycle is longer than the previous one
    /// (PyTorch default 1).
    pub t_mult: u32,
    /// The minimum learning rate `η_min` (PyTorch default 0).
    pub eta_min: f32,
}

impl CosineWarmRestarts {
    /// PyTorch's `CosineAnnealingWarmRestarts(optimizer, T_0)` defaults (`T_mult = 1`,
    /// `eta_min = 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{CosineWarmRestarts, Schedule};
    /// let s = CosineWarmRestarts::new(0.1, 5);
    /// assert_eq!(s.learning_rate(5), s.learning_rate(0));
    /// ```
    pub const fn new(base_lr: f32, t_0: u32) -> Self {
        CosineWarmRestarts {
            base_lr,
            t_0,
            t_mult: 1,
            eta_min: 0.0,
        }
    }

    /// The position `(T_cur, T_i)` of step `t` in its cycle.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::CosineWarmRestarts;
    /// let s = CosineWarmRestarts { t_mult: 2, ..CosineWarmRestarts::new(0.1, 10) };
    /// assert_eq!(s.cycle(35), (5, 40));
    /// ```
    pub fn cycle(&self, t: u32) -> (u64, u64) {
        let t_0 = u64::from(self.t_0.max(1));
        let t_mult = u64::from(self.t_mult.max(1));
        let (mut t_cur, mut t_i) = (u64::from(t), t_0);
        if t_mult == 1 {
            t_cur %= t_0;
        } else {
            // At most 32 rounds: T_i at least doubles and t < 2³².
            while t_cur >= t_i {
                t_cur -= t_i;
                t_i = t_i.saturating_mul(t_mult);
            }
        }
        (t_cur, t_i)
    }
}

impl Schedule for CosineWarmRestarts {
    fn learning_rate(&self, t: u32) -> f32 {
        let (t_cur, t_i) = self.cycle(t);
        cosine_curve(self.base_lr, self.eta_min, t_cur, t_i)
    }
}

// --------------------------------------------------------------------------------
// Inverse square root and one-cycle
// --------------------------------------------------------------------------------

/// Inverse-square-root decay with linear warm-up:
/// `α_t = α₀·min((t+1)/W, √(W/(t+1)))`: the rate rises linearly to `α₀` at
/// `t = W − 1`, then decays like `1/√t` (PyTorch: `LambdaLR` with that lambda; the
/// Transformer ("Noam") schedule up to its constant factor).
///
/// `W = 1` (and `W = 0`, treated as 1) means no warm-up: `α_t = α₀/√(t+1)`.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{InverseSqrt, Schedule};
/// let s = InverseSqrt::new(0.1, 4);
/// assert_eq!(s.learning_rate(1), 0.05); // warm-up: 2/4
/// assert_eq!(s.learning_rate(3), 0.1);  // peak at t = W − 1
/// assert_eq!(s.learning_rate(15), 0.05); // √(4/16)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseSqrt {
    /// The peak learning rate `α₀`, reached at `t = W − 1`.
    pub base_lr: f32,
    /// The number of warm-up steps `W`.
    pub warmup: u32,
}

impl InverseSqrt {
    /// `α₀·min((t+1)/W, √(W/(t+1)))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::InverseSqrt;
    /// assert_eq!(InverseSqrt::new(0.1, 8).warmup, 8);
    /// ```
    pub const fn new(base_lr: f32, warmup: u32) -> Self {
        InverseSqrt { base_lr, warmup }
    }
}

impl Schedule for InverseSqrt {
    fn learning_rate(&self, t: u32) -> f32 {
        let w = self.warmup.max(1) as f32;
        let steps = t as f32 + 1.0;
        self.base_lr * (steps / w).min(math::sqrt(w / steps))
    }
}

/// How [`OneCycle`] moves between two values within a phase (PyTorch:
/// `anneal_strategy`).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::Anneal;
/// assert_eq!(Anneal::default(), Anneal::Cos);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anneal {
    /// `b + (a − b)(1 + cos(π·p))/2` from `a` at `p = 0` to `b` at `p = 1`
    /// (PyTorch: `"cos"`, the default).
    #[default]
    Cos,
    /// `a + (b − a)·p` (PyTorch: `"linear"`).
    Linear,
}

impl Anneal {
    /// The value at fraction `pct` of the way from `start` to `end`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::Anneal;
    /// assert_eq!(Anneal::Linear.interpolate(1.0, 3.0, 0.5), 2.0);
    /// assert_eq!(Anneal::Cos.interpolate(1.0, 3.0, 0.0), 1.0);
    /// ```
    pub fn interpolate(self, start: f32, end: f32, pct: f32) -> f32 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * (math::cos(PI * pct) + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The one-cycle policy (Smith & Topin, "super-convergence"; PyTorch:
/// `OneCycleLR(max_lr, total_steps, pct_start=0.3, anneal_strategy='cos',
/// div_factor=25.0, final_div_factor=1e4, three_phase=False, base_momentum=0.85,
/// max_momentum=0.95)`).
///
/// With `N` = `total_steps`, `α_init = α_max/div_factor` and
/// `α_min = α_init/final_div_factor`, the phases end at `e₁ = pct_start·N − 1` and
/// `e_last = N − 1` (three-phase: also `e₂ = 2·pct_start·N − 2`); within a phase from
/// `s` to `e` the rate is [`Anneal::interpolate`]`(a, b, (t − s)/(e − s))`:
///
/// | phase | two-phase | three-phase | momentum |
/// |---|---|---|---|
/// | 1 | `α_init → α_max` | `α_init → α_max` | `max → base` |
/// | 2 | `α_max → α_min` | `α_max → α_init` | `base → max` |
/// | 3 | | `α_init → α_min` | `max → max` |
///
/// This replaces the base learning rate. Past the last step PyTorch raises an error
/// (after one extrapolated step at `t = N`); here the rate stays at its value of
/// `t = N − 1`, `α_min`. A phase of zero length (e.g. `pct_start·N = 1`, where PyTorch
/// divides by zero) counts as complete. PyTorch also sets the optimizer's momentum (or
/// Adam's `β₁`); [`OneCycle::momentum`] gives that value for the caller to apply.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{OneCycle, Schedule};
/// let s = OneCycle::new(0.1, 60);
/// assert!((s.learning_rate(0) - 0.004).abs() < 1e-9); // max_lr / 25
/// assert_eq!(s.learning_rate(17), 0.1);                 // peak at pct_start·N − 1
/// assert!((s.learning_rate(59) - 4e-7).abs() < 1e-12); // max_lr / 25 / 1e4
/// assert_eq!(s.momentum(17), 0.85);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycle {
    /// The peak learning rate `α_max`.
    pub max_lr: f32,
    /// The total number of steps `N` of the cycle.
    pub total_steps: u32,
    /// The fraction of the cycle spent increasing the rate (PyTorch default 0.3).
    pub pct_start: f32,
    /// The interpolation within a phase (PyTorch default cosine).
    pub anneal: Anneal,
    /// `α_init = α_max/div_factor` (PyTorch default 25).
    pub div_factor: f32,
    /// `α_min = α_init/final_div_factor` (PyTorch default 10⁴).
    pub final_div_factor: f32,
    /// Whether to go back to `α_init` before annealing to `α_min` (PyTorch default
    /// false).
    pub three_phase: bool,
    /// The momentum at the peak rate (PyTorch default 0.85).
    pub base_momentum: f32,
    /// The momentum at the lowest rates (PyTorch default 0.95).
    pub max_momentum: f32,
}

impl OneCycle {
    /// PyTorch's `OneCycleLR(optimizer, max_lr, total_steps)` defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::OneCycle;
    /// let s = OneCycle::new(0.1, 1000);
    /// assert_eq!((s.pct_start, s.div_factor, s.final_div_factor), (0.3, 25.0, 1e4));
    /// ```
    pub const fn new(max_lr: f32, total_steps: u32) -> Self {
        OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// The starting rate `α_init = α_max/div_factor`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::OneCycle;
    /// assert_eq!(OneCycle::new(1.0, 100).initial_lr(), 0.04);
    /// ```
    pub fn initial_lr(&self) -> f32 {
        self.max_lr / self.div_factor
    }

    /// The final rate `α_min = α_init/final_div_factor`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::OneCycle;
    /// assert!((OneCycle::new(1.0, 100).min_lr() - 4e-6).abs() < 1e-12);
    /// ```
    pub fn min_lr(&self) -> f32 {
        self.initial_lr() / self.final_div_factor
    }

    /// The phase (0, 1 or 2) of step `t` and the fraction of it done.
    fn phase(&self, t: u32) -> (usize, f32) {
        let total = self.total_steps.max(1);
        let t = t.min(total - 1) as f32;
        let n = total as f32;
        let first = self.pct_start * n - 1.0;
        let (ends, phases) = if self.three_phase {
            ([first, 2.0 * self.pct_start * n - 2.0, n - 1.0], 3)
        } else {
            ([first, n - 1.0, n - 1.0], 2)
        };
        let mut start = 0.0;
        let mut k = 0;
        while k + 1 < phases && t > ends[k] {
            start = ends[k];
            k += 1;
        }
        let end = ends[k];
        let pct = if end > start {
            (t - start) / (end - start)
        } else {
            1.0
        };
        (k, pct)
    }

    /// The momentum PyTorch's `OneCycleLR` sets at step `t` (SGD's `momentum`, Adam's
    /// `β₁`): `max_momentum → base_momentum → max_momentum`, opposite to the rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::OneCycle;
    /// let s = OneCycle::new(0.1, 60);
    /// assert_eq!(s.momentum(0), 0.95);
    /// assert_eq!(s.momentum(59), 0.95);
    /// ```
    pub fn momentum(&self, t: u32) -> f32 {
        let (k, pct) = self.phase(t);
        let (a, b) = match k {
            0 => (self.max_momentum, self.base_momentum),
            1 => (self.base_momentum, self.max_momentum),
            _ => (self.max_momentum, self.max_momentum),
        };
        self.anneal.interpolate(a, b, pct)
    }
}

impl Schedule for OneCycle {
    fn learning_rate(&self, t: u32) -> f32 {
        let (k, pct) = self.phase(t);
        let (a, b) = match (k, self.three_phase) {
            (0, _) => (self.initial_lr(), self.max_lr),
            (1, false) => (self.max_lr, self.min_lr()),
            (1, true) => (self.max_lr, self.initial_lr()),
            _ => (self.initial_lr(), self.min_lr()),
        };
        self.anneal.interpolate(a, b, pct)
    }
}

// --------------------------------------------------------------------------------
// Composition
// --------------------------------------------------------------------------------

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

// --------------------------------------------------------------------------------
// Reduce on plateau
// --------------------------------------------------------------------------------

/// Whether the monitored metric should go down or up (PyTorch: `mode`).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::Goal;
/// assert_eq!(Goal::default(), Goal::Min);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Goal {
    /// Lower is better, e.g. a validation loss (PyTorch: `"min"`, the default).
    #[default]
    Min,
    /// Higher is better, e.g. a validation accuracy (PyTorch: `"max"`).
    Max,
}

/// How [`PlateauConfig::threshold`] measures a significant improvement (PyTorch:
/// `threshold_mode`).
///
/// # Examples
///
/// ```
/// use microtrain::schedule::Threshold;
/// assert_eq!(Threshold::default(), Threshold::Relative);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threshold {
    /// Better means `m < best·(1 − threshold)` (`Min`) or `m > best·(1 + threshold)`
    /// (`Max`) (PyTorch: `"rel"`, the default).
    #[default]
    Relative,
    /// Better means `m < best − threshold` (`Min`) or `m > best + threshold` (`Max`)
    /// (PyTorch: `"abs"`).
    Absolute,
}

/// The settings of [`ReduceOnPlateau`]; `Default` is PyTorch's `ReduceLROnPlateau`
/// defaults.
///
/// PyTorch rejects `factor ≥ 1`. Here such a factor never reduces the rate (the
/// "reduction" would not lower it, so it is skipped like one smaller than `eps`);
/// a negative factor lowers the rate straight to `min_lr`.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Goal, PlateauConfig, Threshold};
/// let c = PlateauConfig::default();
/// assert_eq!((c.goal, c.factor, c.patience), (Goal::Min, 0.1, 10));
/// assert_eq!((c.threshold, c.threshold_mode), (1e-4, Threshold::Relative));
/// assert_eq!((c.cooldown, c.min_lr, c.eps), (0, 0.0, 1e-8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauConfig {
    /// Whether lower or higher metrics are better (PyTorch `mode`, default `"min"`).
    pub goal: Goal,
    /// The reduction `α ← α·factor` (default 0.1: the seed's "divide by 10").
    pub factor: f32,
    /// How many epochs without improvement to tolerate: the rate is reduced at the
    /// `patience + 1`-th bad epoch in a row (default 10).
    pub patience: u32,
    /// The smallest improvement that counts (default 10⁻⁴).
    pub threshold: f32,
    /// Whether `threshold` is relative to the best metric or absolute (default
    /// relative).
    pub threshold_mode: Threshold,
    /// Epochs after a reduction during which bad epochs are not counted (default 0).
    pub cooldown: u32,
    /// The rate is never reduced below this (default 0).
    pub min_lr: f32,
    /// A reduction that lowers the rate by `eps` or less is skipped (default 10⁻⁸).
    pub eps: f32,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig::new()
    }
}

impl PlateauConfig {
    /// PyTorch's `ReduceLROnPlateau(optimizer)` defaults (also [`Default`]), as a
    /// `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::PlateauConfig;
    /// const FAST: PlateauConfig = PlateauConfig { patience: 3, ..PlateauConfig::new() };
    /// assert_eq!(FAST.factor, 0.1);
    /// ```
    pub const fn new() -> Self {
        PlateauConfig {
            goal: Goal::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: Threshold::Relative,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// Reduce the learning rate when a metric has stopped improving, the seed's "divide
/// the learning rate by 10 when validation error plateaus" (PyTorch:
/// `ReduceLROnPlateau`, with the same semantics step for step).
///
/// Each [`step`](ReduceOnPlateau::step)`(m)`, once per epoch with the validation
/// metric `m`:
///
/// 1. if `m` is better than `best` by the threshold ([`Threshold`]), `best ← m` and
///    the count of bad epochs is reset, otherwise it grows by one;
/// 2. during a cooldown, the cooldown counter counts down and bad epochs are
///    forgotten;
/// 3. when the count exceeds `patience`: `α_new = max(α·factor, min_lr)`, applied only
///    if `α − α_new > eps`; then the cooldown starts and the count is reset (also when
///    the reduction was skipped).
///
/// `best` starts at `+∞` (`Min`) or `−∞` (`Max`), so the first finite metric is always
/// an improvement. As in PyTorch, the relative threshold multiplies `best`, so for a
/// negative metric `best·(1 − threshold)` lies *above* `best`.
///
/// **NaN metrics.** A NaN is never better (every comparison with it is false), so it
/// counts as a bad epoch and `best` keeps its last finite value: a run whose
/// validation loss turns NaN has its rate reduced after `patience + 1` epochs, exactly
/// as PyTorch does. The NaN never enters `best` and never reaches the learning rate.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
/// let mut plateau = ReduceOnPlateau::new(PlateauConfig { patience: 1, ..PlateauConfig::new() }, 0.1);
/// assert_eq!(plateau.step(1.0), 0.1); // improvement (from +∞)
/// assert_eq!(plateau.step(1.0), 0.1); // bad epoch 1: tolerated
/// let lr = plateau.step(1.0);         // bad epoch 2 > patience: divide by 10
/// assert!((lr - 0.01).abs() < 1e-9);
/// assert_eq!(plateau.reductions(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceOnPlateau {
    /// The settings.
    pub config: PlateauConfig,
    lr: f32,
    best: f32,
    bad_epochs: u32,
    cooldown_left: u32,
    reductions: u32,
}

impl ReduceOnPlateau {
    /// Starts monitoring with learning rate `lr`, no best metric yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let p = ReduceOnPlateau::new(PlateauConfig::default(), 0.1);
    /// assert_eq!(p.learning_rate(), 0.1);
    /// assert_eq!(p.best(), f32::INFINITY);
    /// ```
    pub const fn new(config: PlateauConfig, lr: f32) -> Self {
        ReduceOnPlateau {
            config,
            lr,
            best: Self::worst(config.goal),
            bad_epochs: 0,
            cooldown_left: 0,
            reductions: 0,
        }
    }

    const fn worst(goal: Goal) -> f32 {
        match goal {
            Goal::Min => f32::INFINITY,
            Goal::Max => f32::NEG_INFINITY,
        }
    }

    /// Forgets the best metric and the bad-epoch and cooldown counters (PyTorch's
    /// `_reset`); keeps the learning rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let mut p = ReduceOnPlateau::new(PlateauConfig::default(), 0.1);
    /// p.step(0.5);
    /// p.reset();
    /// assert_eq!(p.best(), f32::INFINITY);
    /// ```
    pub fn reset(&mut self) {
        self.best = Self::worst(self.config.goal);
        self.bad_epochs = 0;
        self.cooldown_left = 0;
    }

    /// The current learning rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// assert_eq!(ReduceOnPlateau::new(PlateauConfig::default(), 0.3).learning_rate(), 0.3);
    /// ```
    pub fn learning_rate(&self) -> f32 {
        self.lr
    }

    /// The best metric so far (`±∞` before the first finite one).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let mut p = ReduceOnPlateau::new(PlateauConfig::default(), 0.1);
    /// p.step(0.5);
    /// p.step(f32::NAN);
    /// assert_eq!(p.best(), 0.5);
    /// ```
    pub fn best(&self) -> f32 {
        self.best
    }

    /// The number of bad epochs in a row so far (PyTorch: `num_bad_epochs`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let mut p = ReduceOnPlateau::new(PlateauConfig::default(), 0.1);
    /// p.step(0.5);
    /// p.step(0.6);
    /// assert_eq!(p.bad_epochs(), 1);
    /// ```
    pub fn bad_epochs(&self) -> u32 {
        self.bad_epochs
    }

    /// Whether a cooldown is running (PyTorch: `in_cooldown`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let c = PlateauConfig { patience: 0, cooldown: 2, ..PlateauConfig::new() };
    /// let mut p = ReduceOnPlateau::new(c, 0.1);
    /// p.step(1.0);
    /// p.step(2.0); // bad epoch > patience 0: reduce, start the cooldown
    /// assert!(p.in_cooldown());
    /// ```
    pub fn in_cooldown(&self) -> bool {
        self.cooldown_left > 0
    }

    /// How many times the learning rate has been lowered.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// assert_eq!(ReduceOnPlateau::new(PlateauConfig::default(), 0.1).reductions(), 0);
    /// ```
    pub fn reductions(&self) -> u32 {
        self.reductions
    }

    /// Whether `metric` improves on `best` by the threshold (PyTorch: `is_better`).
    fn is_better(&self, metric: f32) -> bool {
        let c = &self.config;
        match (c.goal, c.threshold_mode) {
            (Goal::Min, Threshold::Relative) => metric < self.best * (1.0 - c.threshold),
            (Goal::Min, Threshold::Absolute) => metric < self.best - c.threshold,
            (Goal::Max, Threshold::Relative) => metric > self.best * (c.threshold + 1.0),
            (Goal::Max, Threshold::Absolute) => metric > self.best + c.threshold,
        }
    }

    /// Records the epoch's metric and returns the learning rate for the next epoch
    /// (PyTorch: `scheduler.step(metric)`, then `param_groups[0]['lr']`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{Goal, PlateauConfig, ReduceOnPlateau};
    /// let c = PlateauConfig { goal: Goal::Max, patience: 0, factor: 0.5, ..PlateauConfig::new() };
    /// let mut p = ReduceOnPlateau::new(c, 0.1);
    /// assert_eq!(p.step(0.90), 0.1);
    /// assert_eq!(p.step(0.95), 0.1);  // accuracy went up
    /// assert_eq!(p.step(0.94), 0.05); // went down, patience 0: halve
    /// ```
    pub fn step(&mut self, metric: f32) -> f32 {
        if self.is_better(metric) {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs = self.bad_epochs.saturating_add(1);
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.config.patience {
            let reduced = (self.lr * self.config.factor).max(self.config.min_lr);
            if self.lr - reduced > self.config.eps {
                self.lr = reduced;
                self.reductions = self.reductions.saturating_add(1);
            }
            self.cooldown_left = self.config.cooldown;
            self.bad_epochs = 0;
        }
        self.lr
    }

    /// [`step`](ReduceOnPlateau::step) on the optimizer's own rate: reads it (so a
    /// rate changed elsewhere is the one reduced, as in PyTorch, where the rate lives
    /// in the optimizer), steps, writes the result back and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let mut sgd = Sgd::new(0.2);
    /// let mut p = ReduceOnPlateau::new(PlateauConfig { patience: 0, ..PlateauConfig::new() }, 0.2);
    /// p.step_optimizer(1.0, &mut sgd);
    /// p.step_optimizer(1.0, &mut sgd);
    /// assert!((sgd.learning_rate() - 0.02).abs() < 1e-8);
    /// ```
    pub fn step_optimizer<O: Optimizer>(&mut self, metric: f32, optimizer: &mut O) -> f32 {
        self.lr = optimizer.learning_rate();
        let lr = self.step(metric);
        optimizer.set_learning_rate(lr);
        lr
    }
}
