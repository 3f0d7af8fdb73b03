//! Early stopping: stop training when a validation metric stops improving, and give
//! back the parameters of the best epoch.
//!
//! The configuration [`EarlyStopping`], the state [`EarlyStopper`] (whose documentation
//! gives the rule) and the [`Decision`] it returns after each epoch.

use crate::average::Weights;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::layers::Params;
use crate::Error;
use core::mem::size_of;

/// Which way a metric improves: down for a loss, up for an accuracy (Keras and
/// Lightning: `mode='min'` / `mode='max'`).
///
/// # Examples
///
/// ```
/// use microtrain::train::Direction;
/// assert!(Direction::Min.is_better(0.1, 0.2, 0.0));
/// assert!(Direction::Max.is_better(0.9, 0.8, 0.0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

impl Direction {
    /// Whether `metric` improves on `best` by more than `min_delta`:
    /// `metric < best − |min_delta|` for [`Min`](Direction::Min),
    /// `metric > best + |min_delta|` for [`Max`](Direction::Max). A NaN `min_delta`
    /// counts as zero; a NaN `metric` is never better.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Direction;
    /// assert!(!Direction::Min.is_better(0.95, 1.0, 0.05)); // improved by exactly δ: no
    /// assert!(Direction::Min.is_better(0.94, 1.0, 0.05));
    /// assert!(!Direction::Min.is_better(f32::NAN, 1.0, 0.0));
    /// ```
    pub fn is_better(self, metric: f32, best: f32, min_delta: f32) -> bool {
        let delta = if min_delta.is_nan() {
            0.0
        } else {
            min_delta.abs()
        };
        match self {
            Direction::Min => metric < best - delta,
            Direction::Max => metric > best + delta,
        }
    }

    /// The starting `best`: `+∞` for [`Min`](Direction::Min), `−∞` for
    /// [`Max`](Direction::Max), so that the first finite metric is an improvement.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Direction;
    /// assert_eq!(Direction::Max.worst(), f32::NEG_INFINITY);
    /// ```
    pub const fn worst(self) -> f32 {
        match self {
            Direction::Min => f32::INFINITY,
            Direction::Max => f32::NEG_INFINITY,
        }
    }
}

/// Early-stopping configuration: a `Copy` value with `const` builders.
///
/// Defaults are PyTorch Lightning's `EarlyStopping`: `patience = 3`, `min_delta = 0`,
/// `mode = min`, `check_finite = true`. (Keras' default patience is 0.) When early
/// stopping is combined with reduce-on-plateau, give early stopping the larger patience,
/// so that a lower learning rate has a chance before training stops.
///
/// # Examples
///
/// ```
/// use microtrain::train::{Direction, EarlyStopping};
/// let on_accuracy = EarlyStopping::new().patience(10).min_delta(0.01).mode(Direction::Max);
/// assert_eq!(on_accuracy.patience, 10);
/// assert_eq!(EarlyStopping::default(), EarlyStopping::new());
/// assert_eq!(EarlyStopping::new().patience, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Consecutive epochs without improvement after which training stops.
    pub patience: u32,
    /// The least change that counts as an improvement; its absolute value is used, and
    /// NaN counts as zero.
    pub min_delta: f32,
    /// Whether lower or higher is better.
    pub mode: Direction,
    /// Stop at once on a NaN or infinite metric (Lightning's `check_finite`).
    pub check_finite: bool,
}

impl EarlyStopping {
    /// The defaults: patience 3, `min_delta` 0, [`Direction::Min`], `check_finite` on.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{Direction, EarlyStopping};
    /// let c = EarlyStopping::new();
    /// assert_eq!((c.patience, c.min_delta, c.mode, c.check_finite), (3, 0.0, Direction::Min, true));
    /// ```
    pub const fn new() -> Self {
        EarlyStopping {
            patience: 3,
            min_delta: 0.0,
            mode: Direction::Min,
            check_finite: true,
        }
    }

    /// With `patience` epochs of waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::train::EarlyStopping::new().patience(7).patience, 7);
    /// ```
    pub const fn patience(self, patience: u32) -> Self {
        EarlyStopping { patience, ..self }
    }

    /// With improvements required to exceed `min_delta` (absolute value used).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::train::EarlyStopping::new().min_delta(1e-3).min_delta, 1e-3);
    /// ```
    pub const fn min_delta(self, min_delta: f32) -> Self {
        EarlyStopping { min_delta, ..self }
    }

    /// Checks the settings: `min_delta` finite (its sign is ignored; NaN would be
    /// taken as 0, an infinite one would make no epoch an improvement).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"EarlyStopping min_delta"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::EarlyStopping, Error};
    /// assert!(EarlyStopping::new().min_delta(1e-3).check().is_ok());
    /// assert_eq!(
    ///     EarlyStopping::new().min_delta(f32::INFINITY).check(),
    ///     Err(Error::Setting { name: "EarlyStopping min_delta", value: f32::INFINITY, rule: "finite" })
    /// );
    /// ```
    pub const fn check(self) -> Result<Self, Error> {
        if self.min_delta.is_finite() {
            Ok(self)
        } else {
            Err(Error::Setting {
                name: "EarlyStopping min_delta",
                value: self.min_delta,
                rule: "finite",
            })
        }
    }

    /// With the direction in which the metric improves.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{Direction, EarlyStopping};
    /// assert_eq!(EarlyStopping::new().mode(Direction::Max).mode, Direction::Max);
    /// ```
    pub const fn mode(self, mode: Direction) -> Self {
        EarlyStopping { mode, ..self }
    }

    /// Whether a NaN or infinite metric stops training at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!microtrain::train::EarlyStopping::new().check_finite(false).check_finite);
    /// ```
    pub const fn check_finite(self, check_finite: bool) -> Self {
        EarlyStopping {
            check_finite,
            ..self
        }
    }
}

impl Default for EarlyStopping {
    /// [`EarlyStopping::new`].
    fn default() -> Self {
        EarlyStopping::new()
    }
}

/// Why training should stop.
///
/// # Examples
///
/// ```
/// use microtrain::train::StopReason;
/// assert_ne!(StopReason::Patience, StopReason::NonFinite);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `patience` consecutive epochs passed without improvement.
    Patience,
    /// The metric was NaN or infinite and [`EarlyStopping::check_finite`] is on.
    NonFinite,
}

/// What [`EarlyStopper::update`] says to do after an epoch.
///
/// # Examples
///
/// ```
/// use microtrain::train::{Decision, StopReason};
/// let d = Decision::Stop { reason: StopReason::Patience };
/// assert!(d.should_stop());
/// assert!(!Decision::Wait { epochs_left: 2 }.should_stop());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The metric improved; the parameters were saved. Keep training.
    Improved,
    /// No improvement; keep training. `epochs_left` more consecutive epochs without
    /// improvement will stop training (the last of them returns [`Decision::Stop`]).
    Wait {
        /// `patience − epochs without improvement`, at least 1.
        epochs_left: u32,
    },
    /// Stop training (and, usually, [`restore`](EarlyStopper::restore) the best
    /// parameters).
    Stop {
        /// Why.
        reason: StopReason,
    },
}

impl Decision {
    /// Whether this is [`Decision::Stop`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!microtrain::train::Decision::Improved.should_stop());
    /// ```
    pub const fn should_stop(self) -> bool {
        matches!(self, Decision::Stop { .. })
    }
}

/// The state of early stopping for a model with `P` parameters: the configuration, the
/// best metric and its epoch, the count of epochs without improvement, and the
/// parameters of the best epoch in a `[f32; P]` (no heap).
///
/// The seed's procedure:
///
/// 1. keep a validation set;
/// 2. at each epoch, check the validation loss (or accuracy);
/// 3. when it has not improved for `patience` epochs, stop.
///
/// After each epoch the caller hands [`update`](EarlyStopper::update) the validation
/// metric and the model; it returns a [`Decision`], and [`restore`](EarlyStopper::restore)
/// writes the best parameters back. `P` must equal the model's [`Params::COUNT`]
/// (checked at compile time, see below).
///
/// # Improvement
///
/// With `δ = |min_delta|` and `best` the best metric so far (`+∞` for [`Direction::Min`],
/// `−∞` for [`Direction::Max`] before the first epoch), a metric `m` is an improvement
/// when
///
/// ```text
/// Min:  m < best − δ        Max:  m > best + δ
/// ```
///
/// (Keras' and PyTorch Lightning's rule: a change of at most `δ` is no improvement.) An
/// improvement sets `best = m`, copies the parameters and resets the count of waiting
/// epochs to zero; anything else adds one to it, and when the count reaches `patience`
/// the decision is [`Decision::Stop`]. So training stops after exactly `patience`
/// consecutive epochs without improvement (`patience = 0` stops at the first one).
///
/// A NaN metric is never an improvement (every comparison with NaN is false). With
/// [`EarlyStopping::check_finite`] (the default) a NaN or infinite metric stops training
/// at once ([`StopReason::NonFinite`]); without it, such a metric counts as one more
/// epoch without improvement.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::train::{Decision, EarlyStopper, EarlyStopping, StopReason};
///
/// let mut model = Dense::<1, 1>::zeros();
/// let mut stopper: EarlyStopper<{ <Dense<1, 1> as Params>::COUNT }> =
///     EarlyStopper::new(EarlyStopping::new().patience(2));
/// let validation = [0.9, 0.5, 0.6, 0.7];
/// let mut decisions = [Decision::Improved; 4];
/// for (epoch, &loss) in validation.iter().enumerate() {
///     model.bias.0 = [epoch as f32]; // stands for one epoch of training
///     decisions[epoch] = stopper.update(loss, &mut model);
/// }
/// assert_eq!(
///     decisions,
///     [
///         Decision::Improved,
///         Decision::Improved,
///         Decision::Wait { epochs_left: 1 },
///         Decision::Stop { reason: StopReason::Patience },
///     ]
/// );
/// stopper.restore(&mut model)?;
/// assert_eq!(model.bias.0, [1.0]); // the parameters after epoch 1, the best
/// assert_eq!(stopper.best(), Some((1, 0.5)));
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// # In a training loop
///
/// With a [`Trainer`](crate::train::Trainer) and a [`History`](crate::train::History):
///
/// ```
/// use microtrain::init::{init_params, Init};
/// use microtrain::layers::{Dense, Params, Tanh};
/// use microtrain::loss::Mse;
/// use microtrain::optim::{Optimizer, Sgd};
/// use microtrain::train::{Dataset, EarlyStopper, EarlyStopping, EpochRecord, History, Trainer};
/// use microtrain::{seq, Seq};
/// use rand_core::SeedableRng;
///
/// type Net = Seq![Dense<1, 16>, Tanh, Dense<16, 1>];
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(3);
/// let mut trainer: Trainer<Net, Mse, Sgd, 4, 1, 1> =
///     Trainer::new(seq![Dense::zeros(), Tanh, Dense::zeros()], Mse, Sgd::new(0.1), 0);
/// init_params(&mut trainer.model, Init::XavierNormal, &mut rng);
/// let train = Dataset::new(&[-1.0, -0.5, 0.0, 0.5, 1.0], 1, &[1.0, 0.3, 0.0, 0.2, 1.1], 1)?;
/// let valid = Dataset::new(&[-0.75, -0.25, 0.25, 0.75], 1, &[0.56, 0.06, 0.06, 0.56], 1)?;
///
/// let config = EarlyStopping::new().patience(10).min_delta(1e-4);
/// let mut stopper = EarlyStopper::<{ <Net as Params>::COUNT }>::new(config);
/// let mut history = History::<32>::new();
/// for epoch in 0..500 {
///     let lr = trainer.optimizer.learning_rate();
///     let risk = trainer.epoch(&train, &mut rng)?;
///     let eval = trainer.evaluate(&valid)?;
///     history.push(EpochRecord::new(epoch, risk, eval, lr));
///     if stopper.update(eval.loss, &mut trainer.model).should_stop() {
///         break;
///     }
/// }
/// stopper.restore(&mut trainer.model)?;
/// let (_, best_loss) = stopper.best().unwrap();
/// assert_eq!(trainer.evaluate(&valid)?.loss, best_loss); // the best epoch's model
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// # Epochs and the stop
///
/// Epochs are counted from 0 by the calls to [`update`](EarlyStopper::update). Once it
/// has returned [`Decision::Stop`], `update` changes nothing and returns the same stop
/// until [`reset`](EarlyStopper::reset).
///
/// # Size check
///
/// `P` must equal the model's [`Params::COUNT`] and `NB` (0 unless given) its
/// [`Params::BUFFERS`], the running statistics of batch normalisation, which are saved
/// and restored with the parameters (evaluation with the best epoch's weights but the
/// last epoch's statistics would not be the best epoch's model): a mismatch does not
/// compile.
///
/// ```compile_fail
/// use microtrain::layers::Dense;
/// use microtrain::train::{EarlyStopper, EarlyStopping};
/// let mut model = Dense::<2, 1>::zeros(); // 3 parameters
/// let mut stopper = EarlyStopper::<4>::new(EarlyStopping::new());
/// stopper.update(1.0, &mut model);
/// ```
///
/// A state can be a `static`; [`BYTES`](EarlyStopper::BYTES) is its size:
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::train::{EarlyStopper, EarlyStopping};
/// type Net = Dense<2, 1>;
/// static mut STOPPER: EarlyStopper<{ <Net as Params>::COUNT }> =
///     EarlyStopper::new(EarlyStopping::new());
/// assert_eq!(EarlyStopper::<3>::BYTES, 4 * 3 + 36);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopper<const P: usize, const NB: usize = 0> {
    config: EarlyStopping,
    best: f32,
    best_epoch: Option<u32>,
    epochs: u32,
    wait: u32,
    stopped: Option<StopReason>,
    saved: Weights<P, NB>,
}

impl<const P: usize, const NB: usize> EarlyStopper<P, NB> {
    /// Bytes of the state, the `4·(P + NB)` bytes of saved parameters and buffers
    /// included: `size_of::<Self>()`, which is `4·(P + NB) + 36` (the configuration,
    /// the best metric, its epoch, the epoch and wait counters and the stop reason).
    ///
    /// ```
    /// use microtrain::train::EarlyStopper;
    /// assert_eq!(EarlyStopper::<100>::BYTES, 4 * 100 + 36);
    /// ```
    pub const BYTES: usize = size_of::<Self>();

    /// [`new`](EarlyStopper::new) after [`EarlyStopping::check`].
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a refused setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// assert!(EarlyStopper::<1>::try_new(EarlyStopping::new().min_delta(f32::NAN)).is_err());
    /// ```
    pub const fn try_new(config: EarlyStopping) -> Result<Self, Error> {
        match config.check() {
            Ok(config) => Ok(EarlyStopper::new(config)),
            Err(e) => Err(e),
        }
    }

    /// A fresh state: no epoch seen, no parameters saved. `const`, so it can be a
    /// `static`. Unchecked: see [`try_new`](EarlyStopper::try_new).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let s = EarlyStopper::<10>::new(EarlyStopping::new());
    /// assert_eq!(s.best(), None);
    /// assert_eq!(s.epochs(), 0);
    /// ```
    pub const fn new(config: EarlyStopping) -> Self {
        EarlyStopper {
            config,
            best: config.mode.worst(),
            best_epoch: None,
            epochs: 0,
            wait: 0,
            stopped: None,
            saved: Weights::zeros(),
        }
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let s = EarlyStopper::<1>::new(EarlyStopping::new().patience(5));
    /// assert_eq!(s.config().patience, 5);
    /// ```
    pub const fn config(&self) -> EarlyStopping {
        self.config
    }

    /// Records the validation `metric` of the epoch just trained and decides; on an
    /// improvement, copies `model`'s parameters and buffers.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{Decision, EarlyStopper, EarlyStopping, StopReason};
    /// let mut model = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new().patience(1));
    /// assert_eq!(s.update(1.0, &mut model), Decision::Improved);
    /// assert_eq!(s.update(f32::NAN, &mut model), Decision::Stop { reason: StopReason::NonFinite });
    /// ```
    pub fn update<M: Params>(&mut self, metric: f32, model: &mut M) -> Decision {
        Self::check::<M>();
        if let Some(reason) = self.stopped {
            return Decision::Stop { reason };
        }
        let epoch = self.epochs;
        self.epochs = self.epochs.saturating_add(1);
        if self.config.check_finite && !metric.is_finite() {
            return self.stop(StopReason::NonFinite);
        }
        if self
            .config
            .mode
            .is_better(metric, self.best, self.config.min_delta)
        {
            self.best = metric;
            self.best_epoch = Some(epoch);
            self.wait = 0;
            self.saved.copy_from(model);
            return Decision::Improved;
        }
        self.wait = self.wait.saturating_add(1);
        if self.wait >= self.config.patience {
            self.stop(StopReason::Patience)
        } else {
            Decision::Wait {
                epochs_left: self.config.patience - self.wait,
            }
        }
    }

    fn stop(&mut self, reason: StopReason) -> Decision {
        self.stopped = Some(reason);
        Decision::Stop { reason }
    }

    /// `P` and `NB` against the model, at compile time.
    const fn check<M: Params>() {
        const {
            assert!(
                P == M::COUNT && NB == M::BUFFERS,
                "EarlyStopper<P, NB>: P must equal the model's Params::COUNT and NB its Params::BUFFERS"
            )
        };
    }

    /// Writes the parameters and buffers of the best epoch into `model`. May be called
    /// at any time, any number of times; the state does not change.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if no epoch has improved yet (no update, or only NaN metrics);
    /// `model` is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// use microtrain::Error;
    /// let mut model = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// assert!(matches!(s.restore(&mut model), Err(Error::Empty { .. })));
    /// model.weight.0 = [[2.0]];
    /// s.update(0.5, &mut model);
    /// model.weight.0 = [[3.0]];
    /// s.restore(&mut model)?;
    /// assert_eq!(model.weight.0, [[2.0]]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn restore<M: Params>(&self, model: &mut M) -> Result<(), Error> {
        Self::check::<M>();
        if self.best_epoch.is_none() {
            return Err(Error::Empty {
                what: "early-stopping snapshot (no epoch has improved yet)",
            });
        }
        self.saved.copy_to(model);
        Ok(())
    }

    /// The best epoch (counted from 0) and its metric, or `None` before the first
    /// improvement.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let mut m = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// s.update(0.3, &mut m);
    /// s.update(0.2, &mut m);
    /// s.update(0.25, &mut m);
    /// assert_eq!(s.best(), Some((1, 0.2)));
    /// ```
    pub fn best(&self) -> Option<(u32, f32)> {
        self.best_epoch.map(|epoch| (epoch, self.best))
    }

    /// The saved parameters of the best epoch, in [`Params::visit`] order, or `None`
    /// before the first improvement.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let mut m = Dense::<1, 1>::zeros();
    /// m.weight.0 = [[4.0]];
    /// m.bias.0 = [5.0];
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// assert_eq!(s.best_params(), None);
    /// s.update(1.0, &mut m);
    /// assert_eq!(s.best_params(), Some(&[4.0, 5.0]));
    /// ```
    pub fn best_params(&self) -> Option<&[f32; P]> {
        self.best_epoch.map(|_| &self.saved.params)
    }

    /// Epochs seen: the number of calls to [`update`](EarlyStopper::update) before the
    /// stop (calls after it are not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let mut m = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new().patience(0));
    /// s.update(1.0, &mut m);
    /// s.update(2.0, &mut m); // stops
    /// s.update(0.0, &mut m); // ignored
    /// assert_eq!(s.epochs(), 2);
    /// ```
    pub const fn epochs(&self) -> u32 {
        self.epochs
    }

    /// Consecutive epochs without improvement so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let mut m = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// s.update(1.0, &mut m);
    /// s.update(1.0, &mut m); // equal is not better
    /// assert_eq!(s.epochs_without_improvement(), 1);
    /// ```
    pub const fn epochs_without_improvement(&self) -> u32 {
        self.wait
    }

    /// Why training stopped, or `None` while it goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping, StopReason};
    /// let mut m = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// assert_eq!(s.stopped(), None);
    /// s.update(f32::INFINITY, &mut m);
    /// assert_eq!(s.stopped(), Some(StopReason::NonFinite));
    /// ```
    pub const fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Forgets everything (best, counters, stop, saved parameters) and keeps the
    /// configuration, for a new run.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// use microtrain::train::{EarlyStopper, EarlyStopping};
    /// let mut m = Dense::<1, 1>::zeros();
    /// let mut s = EarlyStopper::<2>::new(EarlyStopping::new());
    /// s.update(1.0, &mut m);
    /// s.reset();
    /// assert_eq!(s, EarlyStopper::new(EarlyStopping::new()));
    /// ```
    pub fn reset(&mut self) {
        *self = EarlyStopper::new(self.config);
    }
}

/// Checkpoint part: the best metric and its epoch, the epoch and wait counters, the stop
/// reason and the saved parameters; not the settings.
impl<const P: usize, const NB: usize> Persist for EarlyStopper<P, NB> {
    const BYTES: usize = 4 + 5 + 4 + 4 + 1 + 4 * (P + NB);

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"STOP"));
        w.f32(self.best);
        w.option_u32(self.best_epoch);
        w.u32(self.epochs);
        w.u32(self.wait);
        w.u8(match self.stopped {
            None => 0,
            Some(StopReason::Patience) => 1,
            Some(StopReason::NonFinite) => 2,
        });
        w.f32s(&self.saved.params);
        w.f32s(&self.saved.buffers);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.best)?;
        r.option_u32(&mut self.best_epoch)?;
        r.u32(&mut self.epochs)?;
        r.u32(&mut self.wait)?;
        r.tag(
            &mut self.stopped,
            "early stopping: stop reason",
            |t| match t {
                0 => Some(None),
                1 => Some(Some(StopReason::Patience)),
                2 => Some(Some(StopReason::NonFinite)),
                _ => None,
            },
        )?;
        r.f32s(&mut self.saved.params)?;
        r.f32s(&mut self.saved.buffers)
    }
}
