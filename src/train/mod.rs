//! The trainer: one model, its kept activations for a compile-time batch size `B`,
//! a loss and an optimizer, in one value whose size is a constant.
//!
//! The seed's algorithm, with `B` the batch size:
//!
//! ```text
//! for epoch in 1..=num_epochs:
//!     shuffle(data)
//!     for batch in batches(data, B):
//!         loss = compute_loss(batch, θ);  g = ∇loss;  θ = θ − α·g
//! ```
//!
//! `B = N` is full-batch gradient descent, `B = 1` stochastic gradient descent, and
//! anything between mini-batch SGD. An epoch that does not divide into batches ends
//! with a partial batch whose padding rows carry no gradient.

mod batches;
mod data;
mod early_stopping;
mod history;
mod infer;
mod overfit;
mod pass;
mod resume;
mod scale;
mod shuffle;
mod zero;

pub use batches::{Batches, CallerBatchTrainer, CallerBatches, InputBuffer};
pub use data::Dataset;
pub use early_stopping::{Decision, Direction, EarlyStopper, EarlyStopping, StopReason};
pub use history::{Charset, EpochRecord, History, Sparklines, Table};
pub use overfit::OverfitReport;
pub use resume::{Divergence, Guard};
pub use scale::{MinMax, Standardize};
pub use shuffle::Permutation;

use crate::kernels;
use crate::layers::{Context, Layer, Mode, ParamKind, Params, Penalty};
use crate::loss::{Loss, Risk};
use crate::optim::{Optimizer, Refusal};
use crate::tensor::{Tensor, Zeroed};
use crate::{Batch, Error};
use core::mem::size_of;
use rand_core::Rng;

/// Loss and accuracy over a dataset.
///
/// # Examples
///
/// ```
/// use microtrain::train::Evaluation;
/// let e = Evaluation { loss: 0.1, accuracy: Some(0.9) };
/// assert_eq!(e.accuracy, Some(0.9));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over every sample.
    pub loss: f32,
    /// Fraction of correct predictions for a classification loss (`CrossEntropy`,
    /// `BceWithLogits`: [`Loss::correct`] counts them); `None` for a regression loss (`Mse`,
    /// or any loss whose `correct` is `None`), which has no notion of a correct prediction. An `Option` rather than
    /// an `f32` with a sentinel (0 or NaN would read as a score): the regression case is
    /// visible where the value is used, e.g. `e.accuracy.unwrap_or(f32::NAN)` in a
    /// log line, and `None` never averages into a mean accuracy by mistake.
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::{Dataset, Trainer}};
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// let data = Dataset::new(&[1.0], 1, &[2.0], 1)?;
    /// assert_eq!(t.evaluate(&data)?.accuracy, None);    // regression: no accuracy
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub accuracy: Option<f32>,
}

/// A model `M` from batches of `B` samples of `IN` values to `Batch<B, OUT>`, trained
/// with loss `L` and optimizer `O`.
///
/// The model's input is a [`Batch<B, IN>`] unless `X` names another tensor of `B`
/// samples of `IN` values each, such as an [`Image`](crate::Image) for a convolutional
/// network: `Trainer<Net, CrossEntropy, Sgd, 32, 784, 10, Image<32, 28, 28, 1>>`.
/// Datasets hold each sample's `IN` values in the input's storage order either way.
///
/// `S` is where the batch being trained on lives ([`InputBuffer`]). By default it is
/// `X` itself: the trainer holds one batch, into which [`epoch`](Trainer::epoch) and
/// [`evaluate`](Trainer::evaluate) gather the samples of a [`Dataset`] in shuffled
/// order (and which [`epoch_augmented`](Trainer::epoch_augmented) augments). With
/// [`CallerBatches`] it holds none ([`CallerBatchTrainer`]): the caller keeps the data
/// in whole batches ([`Batches`]), which
/// [`epoch_in_place`](Trainer::epoch_in_place) shuffles in place and trains on where
/// they are, saving `size_of::<X>()` bytes of RAM.
///
/// # Examples
///
/// ```
/// use microtrain::init::{init_params, Init};
/// use microtrain::layers::{Dense, Tanh};
/// use microtrain::loss::Mse;
/// use microtrain::optim::Sgd;
/// use microtrain::train::{Dataset, Trainer};
/// use microtrain::{seq, Seq};
/// use rand_core::SeedableRng;
///
/// type Net = Seq![Dense<2, 8>, Tanh, Dense<8, 1>];
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
/// let mut t: Trainer<Net, Mse, Sgd, 4, 2, 1> =
///     Trainer::new(seq![Dense::zeros(), Tanh, Dense::zeros()], Mse, Sgd::new(0.2), 1);
/// init_params(&mut t.model, Init::XavierNormal, &mut rng);
/// let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// let y = [0.0, 1.0, 1.0, 0.0];
/// let data = Dataset::new(&x, 2, &y, 1)?;
/// let before = t.evaluate(&data)?.loss;
/// for _ in 0..300 {
///     t.epoch(&data, &mut rng)?;
/// }
/// assert!(t.evaluate(&data)?.loss < before / 10.0);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub struct Trainer<
    M,
    L,
    O,
    const B: usize,
    const IN: usize,
    const OUT: usize,
    X = Batch<B, IN>,
    S = X,
> where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
{
    /// The model being trained.
    pub model: M,
    /// The optimizer (change its learning rate between steps at will).
    pub optimizer: O,
    /// The loss.
    pub loss: L,
    /// Gradient clipping before each update (none by default).
    pub clip: Option<Clip>,
    /// Whether an epoch skips its final partial batch of fewer than `B` samples
    /// (PyTorch: `DataLoader(..., drop_last=True)`); false by default. The order is
    /// shuffled first, so a different remainder is left out each epoch. With
    /// `micro_batches`, the dropped batch is the partial micro-batch.
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::{Dataset, Trainer}};
    /// use rand_core::SeedableRng;
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.0), 0);
    /// t.drop_last = true;
    /// let data = Dataset::new(&[1.0, 1.0, 1.0], 1, &[2.0, 2.0, 2.0], 1)?;
    /// let risk = t.epoch(&data, &mut rand_pcg::Pcg32::seed_from_u64(0))?;  // one step of 2
    /// assert_eq!(risk.data, 4.0);
    /// let single = Dataset::new(&[1.0], 1, &[2.0], 1)?;
    /// assert!(t.epoch(&single, &mut rand_pcg::Pcg32::seed_from_u64(0)).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub drop_last: bool,
    cache: M::Cache,
    /// The gathered batch (`X`), or nothing ([`CallerBatches`]).
    input: S,
    targets: L::Targets,
    ctx: Context,
    steps: u64,
    refused: u64,
    /// False only in a [`Trainer::ZERO`] not yet [`configure`](Trainer::configure)d:
    /// every step is refused then.
    configured: bool,
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
    S: InputBuffer<X>,
{
    /// Bytes of parameters and their gradients: `2 · 4 · M::COUNT`.
    ///
    /// ```
    /// use microtrain::{layers::{Dense, Tanh}, loss::Mse, optim::Sgd, train::Trainer, Seq};
    /// type T = Trainer<Seq![Dense<2, 8>, Tanh, Dense<8, 1>], Mse, Sgd, 4, 2, 1>;
    /// assert_eq!(T::PARAM_BYTES, 2 * 4 * (2 * 8 + 8 + 8 + 1));
    /// assert_eq!(T::OPTIMIZER_BYTES, 0);
    /// // Outputs 4×8 + 4×8 + 4×1, input 4×2, targets 4×1, in f32: every gradient of an
    /// // activation is written over that activation.
    /// assert_eq!(T::ACTIVATION_BYTES, 4 * (32 + 32 + 4 + 8 + 4));
    /// assert!(T::BYTES >= T::PARAM_BYTES + T::ACTIVATION_BYTES + T::OPTIMIZER_BYTES);
    ///
    /// // Without the gathered batch: the caller holds its batches.
    /// use microtrain::train::CallerBatchTrainer;
    /// type U = CallerBatchTrainer<Seq![Dense<2, 8>, Tanh, Dense<8, 1>], Mse, Sgd, 4, 2, 1>;
    /// assert_eq!(U::ACTIVATION_BYTES, 4 * (32 + 32 + 4 + 4));
    /// assert_eq!(U::BYTES, T::BYTES - 4 * 8);
    /// ```
    pub const PARAM_BYTES: usize = 2 * size_of::<f32>() * M::COUNT;
    /// Bytes of optimizer state (see [`Trainer::PARAM_BYTES`] for an example).
    pub const OPTIMIZER_BYTES: usize = O::STATE_BYTES;
    /// Bytes of activations kept for backprop and batch buffers: every layer's
    /// cache (outputs, dropout seeds, normalisation statistics, convolution scratch),
    /// the input batch an epoch gathers into (`size_of::<X>()`; none with
    /// [`CallerBatches`]) and the batch targets (see [`Trainer::PARAM_BYTES`] for an
    /// example). There is no gradient buffer: the
    /// backward pass writes each gradient over the activation it is the gradient of
    /// (the loss gradient over the model output, `∂J/∂h` over `h`), see
    /// [`Layer::backward_in_place`].
    pub const ACTIVATION_BYTES: usize =
        size_of::<M::Cache>() + size_of::<S>() + size_of::<L::Targets>();
    /// Everything a trainer occupies in RAM: `size_of::<Trainer<…>>()`, which is the
    /// three figures above plus bookkeeping: the loss and optimizer configuration, the
    /// clipping setting, each layer's penalty strengths, the context (mode, row
    /// count, seed: 24 bytes on 64-bit targets, 16 on 32-bit ones), the applied and
    /// refused step counters (16 bytes) and whether it is configured (1 byte). See
    /// [`Trainer::PARAM_BYTES`] for an example.
    pub const BYTES: usize = size_of::<Self>();

    /// A trainer whose stochastic layers (dropout) draw from `seed`. `const`, so a
    /// trainer can be a `static`; its image then costs as much flash as RAM (`.data`:
    /// the settings are not zero), which [`Trainer::ZERO`] avoids. A stateful
    /// optimizer must be sized for the model (`P == M::COUNT`), checked at compile time.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::{Adam, AdamConfig, Sgd}, train::Trainer};
    /// static mut T: Trainer<Dense<3, 1>, Mse, Sgd, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Sgd::new(0.01), 0);
    /// // Dense<3, 1> has 3 weights and 1 bias: Adam<4>.
    /// let t: Trainer<Dense<3, 1>, Mse, Adam<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Adam::new(AdamConfig::default()), 0);
    /// ```
    ///
    /// An optimizer sized for another model does not compile ("the optimizer's state
    /// must be sized for the model"):
    ///
    /// ```compile_fail,E0080
    /// use microtrain::{layers::Dense, loss::Mse, optim::{Adam, AdamConfig}, train::Trainer};
    /// let t: Trainer<Dense<3, 1>, Mse, Adam<5>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Adam::new(AdamConfig::default()), 0);
    /// ```
    pub const fn new(model: M, loss: L, optimizer: O, seed: u64) -> Self {
        Self::check_sizes();
        Trainer {
            model,
            optimizer,
            loss,
            clip: None,
            drop_last: false,
            cache: M::Cache::ZERO,
            input: S::ZERO,
            targets: L::Targets::ZERO,
            ctx: Context::new(Mode::Train, seed),
            steps: 0,
            refused: 0,
            configured: true,
        }
    }

    /// The compile-time checks of [`new`](Trainer::new) and [`Trainer::ZERO`]: the
    /// optimizer sized for the model, the input holding `B` samples of `IN` values.
    const fn check_sizes() {
        const {
            assert!(
                match O::PARAMS {
                    Some(p) => p == M::COUNT,
                    None => true,
                },
                "the optimizer's state must be sized for the model: its P must equal Params::COUNT"
            )
        };
        const {
            assert!(
                B > 0 && IN > 0 && X::SAMPLES == B && X::LEN == B * IN,
                "the model's input must hold B > 0 samples of IN > 0 values"
            )
        };
    }

    /// Updates applied so far (one per [`train_step`](Trainer::train_step), one per
    /// group of micro-batches in an epoch).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::Trainer, Matrix};
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]]))?;
    /// assert!(t.train_step(&Matrix([[1.0]]), &Matrix([[f32::NAN]])).is_err());
    /// assert_eq!((t.steps(), t.refused_steps()), (1, 1));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Steps refused so far because an input, the loss, a gradient, the penalty or the
    /// update was NaN or infinite ([`Error::NonFinite`] from
    /// [`train_step`](Trainer::train_step), [`Error::Diverged`]); the parameters were
    /// left as they were each time. A step refused for a setting ([`Error::Setting`])
    /// is not counted here (nor in [`steps`](Trainer::steps)). See [`Trainer::steps`]
    /// for an example.
    pub fn refused_steps(&self) -> u64 {
        self.refused
    }

    /// One step on one full batch: forward, loss, backward, update. Returns the risk
    /// before the update. The model reads `x` where it is (no copy into the trainer) and
    /// never writes it: the backward pass computes no gradient for the first layer's
    /// input ([`Input::Keep`](crate::layers::Input::Keep)).
    ///
    /// # Errors
    ///
    /// [`Error::Label`] for a class label out of range ([`Loss::check_targets`]);
    /// [`Error::Setting`] if the clipping bound, a layer's [`Penalty`] or the
    /// optimizer's configuration is refused, checked before anything else (the step is
    /// not counted); [`Error::NonFinite`] for a NaN or infinite input;
    /// [`Error::Diverged`] if the loss, a gradient, the penalty or the update is NaN or
    /// infinite, naming which ([`Refusal`]) and the step (one more than
    /// [`steps`](Trainer::steps)). Parameters, optimizer state and normalisation
    /// statistics are unchanged after any error.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::{Refusal, Sgd}, train::Trainer, Error, Matrix};
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.25), 0);
    /// let risk = t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]]))?;
    /// assert_eq!(risk.data, 4.0);                       // (0 − 2)²
    /// assert_eq!(t.model.weight.0, [[1.0]]);            // 0 − 0.25 · 2(0 − 2)·1
    /// let err = t.train_step(&Matrix([[1.0]]), &Matrix([[f32::INFINITY]])).unwrap_err();
    /// assert!(matches!(err, Error::Diverged { step: 2, cause: Refusal::Loss, .. }));
    /// assert_eq!(err.to_string(), "training step 2 refused: the loss is not finite (loss inf)");
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn train_step(&mut self, x: &X, targets: &L::Targets) -> Result<Risk, Error> {
        self.check_settings()?;
        self.loss.check_targets(targets, B)?;
        if let Some(index) = kernels::first_non_finite(x.as_slice()) {
            self.refused = self.refused.saturating_add(1);
            return Err(Error::NonFinite {
                what: "batch input",
                index,
            });
        }
        self.targets = *targets;
        self.model.zero_grad();
        let data = self.accumulate(x, B, 1.0)?;
        let penalty = self.update(data)?;
        self.model.commit(&self.cache);
        Ok(Risk { data, penalty })
    }

    /// The model's output for a batch, in evaluation mode (dropout off, batch norm on
    /// its running statistics; PyTorch: `model.eval(); with torch.no_grad(): model(x)`).
    /// One sample: [`predict_one`](Trainer::predict_one); class probabilities:
    /// [`predict_proba`](Trainer::predict_proba).
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] naming `"prediction input"` and the index of the first NaN
    /// or infinite value of `x`, as [`train_step`](Trainer::train_step) refuses one;
    /// the model does not run then. [`Error::Setting`] for a layer setting that
    /// [`Params::check_settings`] refuses.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::Trainer, Error, Matrix};
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// t.model.bias.0 = [3.0];
    /// assert_eq!(t.predict(&Matrix([[1.0], [2.0]]))?.0, [[3.0], [3.0]]);
    /// assert_eq!(
    ///     t.predict(&Matrix([[1.0], [f32::NAN]])),
    ///     Err(Error::NonFinite { what: "prediction input", index: 1 })
    /// );
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn predict(&mut self, x: &X) -> Result<&Batch<B, OUT>, Error> {
        self.model.check_settings()?;
        infer::check_input(x.as_slice())?;
        Ok(self.split().0.forward(x, Mode::Eval, B))
    }

    /// Checks every sample of `data` (sizes and targets) before anything is trained.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the samples do not have `IN` features or the loss's number
    /// of targets; [`Error::Label`] or [`Error::NonFinite`] for a bad target.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::CrossEntropy, optim::Sgd, train::{Dataset, Trainer}, Error};
    /// let t: Trainer<Dense<1, 2>, CrossEntropy, Sgd, 1, 1, 2> =
    ///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    /// let data = Dataset::new(&[0.5, 0.7], 1, &[1u32, 2], 1)?;
    /// assert_eq!(t.check(&data), Err(Error::Label { sample: 1, label: 2, classes: 2 }));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn check(&self, data: &Dataset<'_, L::Target>) -> Result<(), Error> {
        if data.features() != IN {
            return Err(Error::Shape {
                what: "features per sample",
                expected: IN,
                found: data.features(),
            });
        }
        self.check_targets(data.targets_per_sample(), data.len(), |i| data.target(i))
    }

    /// Checks that samples have the loss's number of targets, and every target of
    /// samples `0..len` (`target(i)`) with [`Loss::set_target`].
    fn check_targets<'d>(
        &self,
        per_sample: usize,
        len: usize,
        target: impl Fn(usize) -> &'d [L::Target],
    ) -> Result<(), Error>
    where
        L::Target: 'd,
    {
        if per_sample != L::TARGETS_PER_SAMPLE {
            return Err(Error::Shape {
                what: "targets per sample",
                expected: L::TARGETS_PER_SAMPLE,
                found: per_sample,
            });
        }
        let mut scratch = L::Targets::ZERO;
        for i in 0..len {
            self.loss.set_target(&mut scratch, 0, i, target(i))?;
        }
        Ok(())
    }

    /// Checks every setting a step uses: the clipping bound, each layer's [`Penalty`]
    /// and the optimizer's configuration. Called before a step's forward pass, so a
    /// step refused for a setting is neither counted nor refused as a divergence.
    fn check_settings(&mut self) -> Result<(), Error> {
        if !self.configured {
            return Err(zero::UNCONFIGURED);
        }
        if let Some(clip) = self.clip {
            clip.check()?;
        }
        let mut setting = Ok(());
        self.model
            .visit(&mut |p| check_penalty(&mut setting, p.penalty));
        setting?;
        self.model.check_settings()?;
        self.optimizer.check()
    }

    /// A refused step: counts it and names it.
    fn refuse(&mut self, loss: f32, cause: Refusal) -> Error {
        self.refused = self.refused.saturating_add(1);
        Error::Diverged {
            step: self.steps.saturating_add(1),
            loss,
            cause,
        }
    }

    /// Adds the penalty gradients, checks that every gradient and the penalty are
    /// finite, clips, and lets the optimizer update; returns the penalty `λΩ(θ)`.
    /// Nothing is updated if a gradient, the penalty, or a parameter or optimizer state
    /// value after the update would not be finite; `loss` is the data loss reported in
    /// that error. The settings were checked before the forward pass.
    fn update(&mut self, loss: f32) -> Result<f32, Error> {
        let mut scan = Scan {
            penalty: 0.0,
            tensor: 0,
            cause: None,
        };
        self.model
            .visit(&mut |p| scan.tensor(p.value, p.grad, p.kind, p.penalty));
        let Scan { penalty, cause, .. } = scan;
        // Checked here, before clipping: clipping by value would turn an infinite
        // gradient into a finite one. The optimizer's own all-or-nothing check then
        // covers the update itself.
        if let Some(cause) = cause {
            return Err(self.refuse(loss, cause));
        }
        if let Some(clip) = self.clip {
            clip.apply(&mut self.model);
        }
        match self.optimizer.step(&mut self.model) {
            Err(Error::Diverged { cause, .. }) => Err(self.refuse(loss, cause)),
            other => {
                self.steps = other.map(|()| self.steps.saturating_add(1))?;
                Ok(penalty)
            }
        }
    }
}

/// Keeps in `setting` the first error of [`Penalty::check`] over the tensors. Not
/// inlined: `visit` calls it once per tensor, and inlined it would be repeated at
/// every call.
#[inline(never)]
fn check_penalty(setting: &mut Result<(), Error>, penalty: Penalty) {
    if setting.is_ok() {
        *setting = penalty.check().map(|_| ());
    }
}

/// What [`Trainer::update`] finds going over the tensors in [`Params::visit`] order:
/// the penalty so far, the index of the next tensor, and the first refusal.
struct Scan {
    penalty: f32,
    tensor: u16,
    cause: Option<Refusal>,
}

impl Scan {
    /// One tensor: adds its penalty and penalty gradient (weights only), then notes a
    /// refusal if its gradient or the penalty so far is not finite. Not inlined: `visit`
    /// calls it once per tensor, and inlined it would be repeated at every call
    /// (about 1.3 KB of flash for a 2-layer MLP on a Cortex-M).
    #[inline(never)]
    fn tensor(&mut self, value: &[f32], grad: &mut [f32], kind: ParamKind, penalty: Penalty) {
        if kind == ParamKind::Weight && penalty != Penalty::NONE {
            self.penalty += penalty.value(value);
            let done = penalty.add_gradient(value, grad);
            debug_assert!(
                done.is_ok(),
                "a parameter and its gradient have equal length"
            );
        }
        if self.cause.is_none() {
            // A finite bound of every |g| (one load and add per value, four sums side
            // by side) settles it; an infinite or NaN one (a non-finite gradient, or a
            // sum that overflowed) asks the scan.
            let bounded = kernels::optim::magnitude(grad).is_finite();
            if !bounded && kernels::first_non_finite(grad).is_some() {
                self.cause = Some(Refusal::Gradient {
                    tensor: self.tensor,
                    kind,
                });
            } else if !self.penalty.is_finite() {
                self.cause = Some(Refusal::Penalty {
                    tensor: self.tensor,
                });
            }
        }
        self.tensor = self.tensor.saturating_add(1);
    }
}

/// What only a trainer with a batch buffer of its own can do: gather the samples of a
/// [`Dataset`] into it (epochs, evaluation, augmentation). A [`CallerBatchTrainer`]
/// trains on [`Batches`] instead.
impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X> Trainer<M, L, O, B, IN, OUT, X>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
{
    /// One pass over `data` in a fresh random order drawn from `rng`, in batches of
    /// `B`; returns the mean training loss over the epoch's samples.
    ///
    /// # Errors
    ///
    /// As [`Trainer::check`] before any step; [`Error::Empty`] if
    /// [`drop_last`](Trainer::drop_last) leaves no full batch; [`Error::Setting`] as
    /// [`train_step`](Trainer::train_step), before any step; [`Error::Diverged`] if a
    /// step is refused (the epoch stops there, with the parameters from before that
    /// step).
    ///
    /// # Examples
    ///
    /// See [`Trainer`].
    pub fn epoch<R: Rng + ?Sized>(
        &mut self,
        data: &Dataset<'_, L::Target>,
        rng: &mut R,
    ) -> Result<Risk, Error> {
        self.epoch_accumulated(data, rng, 1)
    }

    /// One pass over `data` in a fresh random order, where each update accumulates the
    /// gradients of `micro_batches` batches of `B` samples: the effective batch is
    /// `micro_batches · B` samples with the memory of `B` ("don't decay the learning
    /// rate, increase the batch size", Smith et al. 2017). Each micro-batch's gradient
    /// is weighted by its share of the samples, so the update equals the one on the
    /// large batch (up to the order of the additions). `micro_batches = 0` counts as 1.
    ///
    /// # Errors
    ///
    /// As [`Trainer::epoch`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::{Dataset, Trainer}};
    /// use rand_core::SeedableRng;
    /// let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// let data = Dataset::new(&[1.0, 2.0, 3.0, 4.0], 1, &[2.0, 4.0, 6.0, 8.0], 1)?;
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
    /// let first = t.epoch_accumulated(&data, &mut rng, 2)?; // one update on all 4 samples
    /// assert_eq!(first.data, 30.0);                          // mean of 4, 16, 36, 64
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn epoch_accumulated<R: Rng + ?Sized>(
        &mut self,
        data: &Dataset<'_, L::Target>,
        rng: &mut R,
        micro_batches: usize,
    ) -> Result<Risk, Error> {
        self.epoch_augmented(data, rng, micro_batches, |_, _, _, _| {})
    }

    /// [`Trainer::epoch_accumulated`] with data augmentation: `augment(x, targets, rows,
    /// rng)` may transform each training batch after it is loaded and before the step,
    /// where `rows` is the number of real samples (a partial batch's padding follows)
    /// and `rng` is the epoch's generator, so a seed gives the same augmented batches
    /// on every target. Evaluation never augments. For image models,
    /// [`augment::each_image`](crate::augment::each_image) applies a per-sample
    /// pipeline.
    ///
    /// # Errors
    ///
    /// As [`Trainer::epoch`], and [`Error::NonFinite`] if `augment` leaves a NaN or
    /// infinite input (the step is not taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::{each_image, FlipHorizontal};
    /// use microtrain::layers::{Dense, Flatten};
    /// use microtrain::{loss::CrossEntropy, optim::Sgd, seq, train::{Dataset, Trainer}, Image, Seq};
    /// use rand_core::SeedableRng;
    /// // 1 × 2 images: "bright on the left" is class 0, "bright on the right" class 1.
    /// let x = [1.0, 0.0, 0.0, 1.0];
    /// let data = Dataset::new(&x, 2, &[0u32, 1], 1)?;
    /// let mut t: Trainer<Seq![Flatten<2>, Dense<2, 2>], CrossEntropy, Sgd, 2, 2, 2, Image<2, 1, 2, 1>> =
    ///     Trainer::new(seq![Flatten, Dense::zeros()], CrossEntropy::default(), Sgd::new(0.5), 0);
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
    /// // Always mirroring swaps how the classes look in training; evaluation is never
    /// // augmented, so the model that learnt the mirror images scores worse than chance.
    /// for _ in 0..20 {
    ///     t.epoch_augmented(&data, &mut rng, 1, |x, _, rows, rng| each_image(&FlipHorizontal, x, rows, rng))?;
    /// }
    /// assert!(t.evaluate(&data)?.loss > 0.69);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn epoch_augmented<R, F>(
        &mut self,
        data: &Dataset<'_, L::Target>,
        rng: &mut R,
        micro_batches: usize,
        mut augment: F,
    ) -> Result<Risk, Error>
    where
        R: Rng + ?Sized,
        F: FnMut(&mut X, &L::Targets, usize, &mut R),
    {
        self.check(data)?;
        self.check_settings()?;
        let used = self.samples_used(data.len())?;
        let order = Permutation::new(data.len(), rng);
        self.train_groups(used, micro_batches, |t, start, rows, weight| {
            t.load(data, &order, start, start + rows)?;
            augment(&mut t.input, &t.targets, rows, rng);
            if let Some(index) = kernels::first_non_finite(t.input.as_slice()) {
                return Err(Error::NonFinite {
                    what: "augmented input",
                    index,
                });
            }
            let (pass, input) = t.split();
            let loss = pass.accumulate(input, rows, weight);
            t.accepted(loss)
        })
    }

    /// The mean loss (and accuracy, for classification) over every sample of `data`,
    /// in order, the last partial batch included. Dropout is off.
    ///
    /// # Errors
    ///
    /// As [`Trainer::check`]; [`Error::Setting`] for a layer setting that
    /// [`Params::check_settings`] refuses (a batch norm's `ε`, say).
    ///
    /// # Examples
    ///
    /// See [`Trainer`].
    pub fn evaluate(&mut self, data: &Dataset<'_, L::Target>) -> Result<Evaluation, Error> {
        self.check(data)?;
        self.model.check_settings()?;
        let order = Permutation::identity(data.len());
        self.score_batches(data.len(), |t, start, rows| {
            t.load(data, &order, start, start + rows)?;
            let (pass, input) = t.split();
            Ok(pass.score(input, rows))
        })
    }

    /// Copies samples `order[start..end]` (at most `B`) into the batch buffers;
    /// returns the rows filled.
    fn load(
        &mut self,
        data: &Dataset<'_, L::Target>,
        order: &Permutation,
        start: usize,
        end: usize,
    ) -> Result<usize, Error> {
        let rows = B.min(end - start);
        for (r, sample) in self.input.as_mut_slice().chunks_exact_mut(IN).enumerate() {
            if r < rows {
                let i = order.get(start + r);
                sample.copy_from_slice(data.input(i));
                self.loss
                    .set_target(&mut self.targets, r, i, data.target(i))?;
            } else {
                sample.fill(0.0);
            }
        }
        Ok(rows)
    }
}

/// Gradient clipping, applied to all gradients together before an update.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::train::Clip;
/// let mut d = Dense::<1, 1>::zeros();
/// d.weight_grad.0 = [[3.0]];
/// d.bias_grad.0 = [4.0];
/// let norm = Clip::Norm(1.0).apply(&mut d);
/// assert_eq!(norm, 5.0);
/// assert!((d.weight_grad.0[0][0] - 0.6).abs() < 1e-6);
/// ```
///
/// The variants' tags are 1 and 2, so that `None::<Clip>` (the trainer's default) takes
/// the tag 0 and is all zero bytes, as [`Trainer::ZERO`] needs (rustc gives an
/// `Option`'s `None` the free tag value nearest 0; `host-tests/tests/static_trainer.rs`
/// checks it).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u32)]
pub enum Clip {
    /// Scale all gradients by `c/(‖g‖ + 10⁻⁶)` when that is below 1, where `‖g‖` is the
    /// Euclidean norm of all gradients together (PyTorch:
    /// `torch.nn.utils.clip_grad_norm_(params, c)`).
    Norm(f32) = 1,
    /// Clamp every gradient into `[−c, c]` (PyTorch:
    /// `torch.nn.utils.clip_grad_value_(params, c)`).
    Value(f32) = 2,
}

impl Clip {
    /// Checks the bound: `c ≥ 0` and not NaN (`+∞` clips nothing). A negative norm
    /// bound would reverse the gradient, a negative value bound set every gradient to
    /// `−c`, and a NaN one switch clipping off.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Clip::Norm"` or `"Clip::Value"` and the bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Clip, Error};
    /// assert_eq!(Clip::Norm(1.0).check(), Ok(Clip::Norm(1.0)));
    /// assert_eq!(
    ///     Clip::Value(-1.0).check(),
    ///     Err(Error::Setting { name: "Clip::Value", value: -1.0, rule: "at least 0 (not NaN)" })
    /// );
    /// ```
    pub const fn check(self) -> Result<Self, Error> {
        let (name, c) = match self {
            Clip::Norm(c) => ("Clip::Norm", c),
            Clip::Value(c) => ("Clip::Value", c),
        };
        if c >= 0.0 {
            Ok(self)
        } else {
            Err(Error::Setting {
                name,
                value: c,
                rule: "at least 0 (not NaN)",
            })
        }
    }

    /// Clips the gradients of `model`; returns their global norm before clipping.
    /// A bound that [`check`](Clip::check) refuses leaves the gradients as they are
    /// (use [`try_apply`](Clip::try_apply) to hear about it; the trainer does).
    ///
    /// The norm is computed without overflow: when `Σg²` exceeds `f32::MAX` the
    /// gradients are first divided by their largest magnitude, so finite gradients are
    /// scaled, never zeroed (the returned norm is then `+∞` if it exceeds `f32::MAX`).
    ///
    /// # Examples
    ///
    /// See [`Clip`].
    pub fn apply<P: Params>(self, model: &mut P) -> f32 {
        let squares = over_grads(model, GradOp::Squares);
        let norm = kernels::math::sqrt(squares);
        if self.check().is_err() {
            return norm;
        }
        match self {
            Clip::Norm(max) => {
                let coef = if squares.is_finite() {
                    max / (norm + 1e-6)
                } else {
                    overflowed_norm_coef(model, max)
                };
                if coef < 1.0 {
                    over_grads(model, GradOp::Scale(coef));
                }
            }
            Clip::Value(c) => {
                over_grads(model, GradOp::Clamp(c));
            }
        }
        norm
    }

    /// [`apply`](Clip::apply) after [`check`](Clip::check).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if the bound is refused; the gradients are untouched then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, train::Clip};
    /// let mut d = Dense::<1, 1>::zeros();
    /// d.weight_grad.0 = [[3.0]];
    /// assert!(Clip::Norm(-1.0).try_apply(&mut d).is_err());
    /// assert_eq!(d.weight_grad.0, [[3.0]]);
    /// ```
    pub fn try_apply<P: Params>(self, model: &mut P) -> Result<f32, Error> {
        self.check()?;
        Ok(self.apply(model))
    }
}

/// The norm-clipping coefficient `max/‖g‖` when `Σg²` overflowed: computed on the
/// gradients divided by their largest magnitude `a`, as `(max/a)/‖g/a‖`. Gradients
/// that are not all finite give 1 (the trainer refuses them before clipping).
fn overflowed_norm_coef<P: Params>(model: &mut P, max: f32) -> f32 {
    let largest = over_grads(model, GradOp::Largest);
    if !largest.is_finite() || largest == 0.0 {
        return 1.0;
    }
    let squares = over_grads(model, GradOp::ScaledSquares(largest));
    (max / largest) / kernels::math::sqrt(squares)
}

/// What [`Clip::apply`] does with each gradient tensor, in [`Params::visit`] order.
#[derive(Clone, Copy)]
enum GradOp {
    /// Adds `Σg²` to the result.
    Squares,
    /// Raises the result to the largest `|g|`.
    Largest,
    /// Adds `Σ(g/a)²` to the result, one term at a time.
    ScaledSquares(f32),
    /// `g ← c·g`.
    Scale(f32),
    /// `g ← clamp(g, −c, c)`.
    Clamp(f32),
}

/// Runs `op` over every gradient tensor of `model`; returns its result (from 0).
fn over_grads<P: Params>(model: &mut P, op: GradOp) -> f32 {
    let mut acc = 0.0;
    model.visit(&mut |p| grad_op(op, &mut acc, p.grad));
    acc
}

/// `op` on one gradient tensor. Not inlined: `visit` calls it once per tensor, and
/// inlined it would be repeated at every call.
#[inline(never)]
fn grad_op(op: GradOp, acc: &mut f32, grad: &mut [f32]) {
    match op {
        GradOp::Squares => *acc += kernels::squared_norm(grad),
        GradOp::Largest => {
            for g in grad.iter() {
                *acc = acc.max(g.abs());
            }
        }
        GradOp::ScaledSquares(largest) => {
            for g in grad.iter() {
                let r = g / largest;
                *acc += r * r;
            }
        }
        GradOp::Scale(c) => kernels::scale(c, grad),
        GradOp::Clamp(c) => kernels::clamp(grad, -c, c),
    }
}
