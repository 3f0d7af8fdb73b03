//! Inverse square root with warm-up, and the one-cycle policy.

use super::Schedule;
use crate::check;
use crate::kernels::math;
use crate::Error;
use core::f32::consts::PI;

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
    fn check(&self) -> Result<(), Error> {
        InverseSqrt::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        OneCycle::check(self)
    }

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

impl InverseSqrt {
    /// Checks the settings: `base_lr` finite and ≥ 0, so that no rate is infinite, NaN or
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
    ///     InverseSqrt::new(-0.1, 4).check(),
    ///     Err(Error::Setting { name: "InverseSqrt base_lr", value: -0.1, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("InverseSqrt base_lr", self.base_lr));
        Ok(())
    }
}

impl OneCycle {
    /// Checks the settings: `max_lr` finite and ≥ 0, `pct_start` in [0, 1], `div_factor` finite and > 0, `final_div_factor` finite and > 0, `base_momentum` finite and ≥ 0, `max_momentum` finite and ≥ 0, so that no rate is infinite, NaN or
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
    ///     OneCycle { div_factor: 0.0, ..OneCycle::new(0.1, 100) }.check(),
    ///     Err(Error::Setting { name: "OneCycle div_factor", value: 0.0, rule: "finite and above 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("OneCycle max_lr", self.max_lr));
        check::ok!(check::probability("OneCycle pct_start", self.pct_start));
        check::ok!(check::positive("OneCycle div_factor", self.div_factor));
        check::ok!(check::positive(
            "OneCycle final_div_factor",
            self.final_div_factor
        ));
        check::ok!(check::non_negative(
            "OneCycle base_momentum",
            self.base_momentum
        ));
        check::ok!(check::non_negative(
            "OneCycle max_momentum",
            self.max_momentum
        ));
        Ok(())
    }
}
