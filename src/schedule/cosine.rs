//! Cosine annealing, with and without warm restarts.

use super::Schedule;
use crate::check;
use crate::kernels::math;
use crate::Error;
use core::f32::consts::PI;

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
/// wrap this in a [`Sequential`](super::Sequential) with a [`Constant`](super::Constant)
/// after `T`.
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
    fn check(&self) -> Result<(), Error> {
        Cosine::check(self)
    }

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
    fn check(&self) -> Result<(), Error> {
        CosineWarmRestarts::check(self)
    }

    fn learning_rate(&self, t: u32) -> f32 {
        let (t_cur, t_i) = self.cycle(t);
        cosine_curve(self.base_lr, self.eta_min, t_cur, t_i)
    }
}

impl Cosine {
    /// Checks the settings: `base_lr` finite and ≥ 0, `eta_min` finite and ≥ 0, so that no rate is infinite, NaN or
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
    ///     Cosine { eta_min: -1.0, ..Cosine::new(0.1, 10) }.check(),
    ///     Err(Error::Setting { name: "Cosine eta_min", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Cosine base_lr", self.base_lr));
        check::ok!(check::non_negative("Cosine eta_min", self.eta_min));
        Ok(())
    }
}

impl CosineWarmRestarts {
    /// Checks the settings: `base_lr` finite and ≥ 0, `eta_min` finite and ≥ 0, so that no rate is infinite, NaN or
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
    ///     CosineWarmRestarts { eta_min: -1.0, ..CosineWarmRestarts::new(0.1, 10) }.check(),
    ///     Err(Error::Setting { name: "CosineWarmRestarts eta_min", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative(
            "CosineWarmRestarts base_lr",
            self.base_lr
        ));
        check::ok!(check::non_negative(
            "CosineWarmRestarts eta_min",
            self.eta_min
        ));
        Ok(())
    }
}
