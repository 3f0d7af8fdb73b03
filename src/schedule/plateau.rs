//! Reduce the learning rate when a metric stops improving.

use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::optim::Optimizer;
use crate::Error;

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
    /// Checks the settings: `factor` in `[0, 1)` (PyTorch: "Factor should be
    /// < 1.0"), `threshold`, `min_lr` and `eps` finite and ≥ 0. A NaN threshold would
    /// make no metric an improvement and cut the rate while the metric improves.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{schedule::PlateauConfig, Error};
    /// assert!(PlateauConfig::new().check().is_ok());
    /// assert_eq!(
    ///     PlateauConfig { factor: 1.0, ..PlateauConfig::new() }.check(),
    ///     Err(Error::Setting { name: "ReduceOnPlateau factor", value: 1.0, rule: "in [0, 1)" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::fraction("ReduceOnPlateau factor", self.factor));
        check::ok!(check::non_negative(
            "ReduceOnPlateau threshold",
            self.threshold
        ));
        check::ok!(check::non_negative("ReduceOnPlateau min_lr", self.min_lr));
        check::ok!(check::non_negative("ReduceOnPlateau eps", self.eps));
        Ok(())
    }

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
    /// # Errors
    ///
    /// [`Error::Setting`] naming the bad setting ([`PlateauConfig::check`]) or
    /// `"ReduceOnPlateau lr"` for a negative, infinite or NaN rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let p = ReduceOnPlateau::new(PlateauConfig::default(), 0.1);
    /// assert_eq!(p.learning_rate(), 0.1);
    /// assert_eq!(p.best(), f32::INFINITY);
    /// ```
    pub const fn try_new(config: PlateauConfig, lr: f32) -> Result<Self, Error> {
        check::ok!(config.check());
        check::ok!(check::non_negative("ReduceOnPlateau lr", lr));
        Ok(ReduceOnPlateau::new(config, lr))
    }

    /// The unchecked [`try_new`](ReduceOnPlateau::try_new); a refused configuration
    /// never changes the rate (see [`step`](ReduceOnPlateau::step)).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// assert_eq!(ReduceOnPlateau::new(PlateauConfig::new(), 0.1).learning_rate(), 0.1);
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
    /// (PyTorch: `scheduler.step(metric)`, then `param_groups[0]['lr']`). With a
    /// configuration that [`PlateauConfig::check`] refuses, the epoch is ignored and the
    /// rate stays ([`try_step`](ReduceOnPlateau::try_step) reports it).
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
        self.try_step(metric).unwrap_or(self.lr)
    }

    /// [`step`](ReduceOnPlateau::step), reporting a refused configuration instead of
    /// ignoring the epoch.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] from [`PlateauConfig::check`]; nothing is recorded then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
    /// let mut p = ReduceOnPlateau::new(PlateauConfig { threshold: f32::NAN, ..PlateauConfig::new() }, 0.1);
    /// assert!(p.try_step(1.0).is_err());
    /// assert_eq!(p.step(0.5), 0.1);
    /// ```
    pub fn try_step(&mut self, metric: f32) -> Result<f32, Error> {
        self.config.check()?;
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
        Ok(self.lr)
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
        if self.config.check().is_err() {
            return optimizer.learning_rate();
        }
        self.lr = optimizer.learning_rate();
        let lr = self.step(metric);
        optimizer.set_learning_rate(lr);
        lr
    }
}

/// Checkpoint part: the learning rate, the best metric, and the bad-epoch, cooldown and
/// reduction counters (PyTorch: `ReduceLROnPlateau.state_dict()`); not the settings.
impl Persist for ReduceOnPlateau {
    const BYTES: usize = 4 * 5;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"PLAT"));
        w.f32(self.lr);
        w.f32(self.best);
        w.u32(self.bad_epochs);
        w.u32(self.cooldown_left);
        w.u32(self.reductions);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), crate::Error> {
        r.f32(&mut self.lr)?;
        r.f32(&mut self.best)?;
        r.u32(&mut self.bad_epochs)?;
        r.u32(&mut self.cooldown_left)?;
        r.u32(&mut self.reductions)
    }
}
