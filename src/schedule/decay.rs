//! Constant, step and smooth decays: `StepLR`, `MultiStepLR`, `ExponentialLR`
//! ([`Exponential`], `γ^t`), `LinearLR`, `PolynomialLR` and the `LambdaLR` forms of
//! `e^(−kt)` ([`NaturalExpDecay`]) and `1/t`.

use super::Schedule;
use crate::check;
use crate::kernels::math;
use crate::Error;

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
    fn check(&self) -> Result<(), Error> {
        Constant::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        StepDecay::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        MultiStep::check(self)
    }

    fn learning_rate(&self, t: u32) -> f32 {
        let passed = self.milestones.iter().filter(|&&m| m <= t).count();
        self.base_lr * math::powf(self.gamma, passed as f32)
    }
}

// --------------------------------------------------------------------------------
// Smooth decays
// --------------------------------------------------------------------------------

/// Natural-exponential decay at a continuous rate `k`, the seed's form:
/// `α_t = α₀·e^(−kt)`. PyTorch has no scheduler of this name: it is
/// `LambdaLR(lambda t: math.exp(-k * t))`, and equals
/// `ExponentialLR(gamma=e^(−k))`, i.e. [`Exponential`] with `γ = e^(−k)`
/// (TensorFlow 1: `natural_exp_decay`). Formerly `ExponentialDecay`, renamed because
/// Keras' `ExponentialDecay` is the `γ^t` form, which here is [`Exponential`].
///
/// `e^(−kt)` is evaluated directly (not as `(e^(−k))^t`), so a small rate `k` loses
/// no accuracy over many steps.
///
/// # Examples
///
/// ```
/// use microtrain::schedule::{Exponential, NaturalExpDecay, Schedule};
/// let s = NaturalExpDecay::new(0.1, 0.5);
/// assert_eq!(s.learning_rate(0), 0.1);
/// assert!((s.learning_rate(2) - 0.1 * (-1.0f32).exp()).abs() < 1e-8);
/// // The same schedule as a factor per step: γ = e^(−k).
/// let g = Exponential::new(0.1, (-0.5f32).exp());
/// assert!((g.learning_rate(2) - s.learning_rate(2)).abs() < 1e-8);
/// ```
#[doc(alias = "ExponentialDecay", alias = "natural_exp_decay")]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NaturalExpDecay {
    /// The initial learning rate `α₀`.
    pub base_lr: f32,
    /// The decay rate `k` per step.
    pub k: f32,
}

impl NaturalExpDecay {
    /// `α₀·e^(−kt)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::NaturalExpDecay;
    /// assert_eq!(NaturalExpDecay::new(0.1, 0.01).k, 0.01);
    /// ```
    pub const fn new(base_lr: f32, k: f32) -> Self {
        NaturalExpDecay { base_lr, k }
    }
}

impl Schedule for NaturalExpDecay {
    fn check(&self) -> Result<(), Error> {
        NaturalExpDecay::check(self)
    }

    fn learning_rate(&self, t: u32) -> f32 {
        self.base_lr * math::exp(-self.k * t as f32)
    }
}

/// The former name of [`NaturalExpDecay`] (`α₀·e^(−kt)`). Not Keras'
/// `ExponentialDecay`, which is the `α₀·γ^t` of [`Exponential`].
///
/// # Examples
///
/// ```
/// #![allow(deprecated)]
/// use microtrain::schedule::{ExponentialDecay, NaturalExpDecay};
/// assert_eq!(ExponentialDecay::new(0.1, 0.5), NaturalExpDecay::new(0.1, 0.5));
/// ```
#[deprecated(
    since = "0.1.0",
    note = "renamed `NaturalExpDecay` (α₀·e^(−kt)); for α₀·γ^t (PyTorch `ExponentialLR`) use `Exponential`"
)]
pub type ExponentialDecay = NaturalExpDecay;

/// Exponential decay by a factor `γ` per step: `α_t = α₀·γ^t` (PyTorch:
/// `ExponentialLR(gamma)`, which has no default `γ`; Keras: `ExponentialDecay` with
/// `decay_steps = 1`). For the continuous-rate form `α₀·e^(−kt)` see
/// [`NaturalExpDecay`]; the two agree when `γ = e^(−k)`.
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
#[doc(alias = "ExponentialLR")]
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
    fn check(&self) -> Result<(), Error> {
        Exponential::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        InverseTime::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        Linear::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        Polynomial::check(self)
    }

    fn learning_rate(&self, t: u32) -> f32 {
        if self.total_iters == 0 {
            return self.base_lr;
        }
        let left = 1.0 - t.min(self.total_iters) as f32 / self.total_iters as f32;
        self.base_lr * math::powf(left, self.power)
    }
}

impl Constant {
    /// Checks the settings: `lr` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     Constant { lr: -0.1 }.check(),
    ///     Err(Error::Setting { name: "Constant lr", value: -0.1, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Constant lr", self.lr));
        Ok(())
    }
}

impl StepDecay {
    /// Checks the settings: `base_lr` finite and ≥ 0, `gamma` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     StepDecay { gamma: -0.5, ..StepDecay::new(0.1, 2) }.check(),
    ///     Err(Error::Setting { name: "StepDecay gamma", value: -0.5, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("StepDecay base_lr", self.base_lr));
        check::ok!(check::non_negative("StepDecay gamma", self.gamma));
        Ok(())
    }
}

impl<const N: usize> MultiStep<N> {
    /// Checks the settings: `base_lr` finite and ≥ 0, `gamma` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     MultiStep { gamma: f32::INFINITY, ..MultiStep::new(0.1, [2]) }.check(),
    ///     Err(Error::Setting { name: "MultiStep gamma", value: f32::INFINITY, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("MultiStep base_lr", self.base_lr));
        check::ok!(check::non_negative("MultiStep gamma", self.gamma));
        Ok(())
    }
}

impl NaturalExpDecay {
    /// Checks the settings: `base_lr` finite and ≥ 0, `k` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     NaturalExpDecay::new(0.1, -1.0).check(),
    ///     Err(Error::Setting { name: "NaturalExpDecay k", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("NaturalExpDecay base_lr", self.base_lr));
        check::ok!(check::non_negative("NaturalExpDecay k", self.k));
        Ok(())
    }
}

impl Exponential {
    /// Checks the settings: `base_lr` finite and ≥ 0, `gamma` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     Exponential::new(0.1, -2.0).check(),
    ///     Err(Error::Setting { name: "Exponential gamma", value: -2.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Exponential base_lr", self.base_lr));
        check::ok!(check::non_negative("Exponential gamma", self.gamma));
        Ok(())
    }
}

impl InverseTime {
    /// Checks the settings: `base_lr` finite and ≥ 0, `k` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     InverseTime::new(0.1, -1.0).check(),
    ///     Err(Error::Setting { name: "InverseTime k", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("InverseTime base_lr", self.base_lr));
        check::ok!(check::non_negative("InverseTime k", self.k));
        Ok(())
    }
}

impl Linear {
    /// Checks the settings: `base_lr` finite and ≥ 0, `start_factor` in (0, 1], `end_factor` in [0, 1], so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     Linear { start_factor: 0.0, ..Linear::new(0.1) }.check(),
    ///     Err(Error::Setting { name: "Linear start_factor", value: 0.0, rule: "in (0, 1]" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Linear base_lr", self.base_lr));
        check::ok!(check::factor("Linear start_factor", self.start_factor));
        check::ok!(check::probability("Linear end_factor", self.end_factor));
        Ok(())
    }
}

impl Polynomial {
    /// Checks the settings: `base_lr` finite and ≥ 0, `power` finite and ≥ 0, so that no rate is infinite, NaN or
    /// negative. [`Scheduler`](super::Scheduler) never writes a rate from a refused
    /// schedule into an optimizer.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::*, Error};
    /// assert_eq!(
    ///     Polynomial { power: -1.0, ..Polynomial::new(0.1) }.check(),
    ///     Err(Error::Setting { name: "Polynomial power", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Polynomial base_lr", self.base_lr));
        check::ok!(check::non_negative("Polynomial power", self.power));
        Ok(())
    }
}
