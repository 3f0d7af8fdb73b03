//! Optimizers: small state machines that turn gradients into parameter updates.
//!
//! Each optimizer is a `Copy` configuration whose `Default` equals PyTorch's defaults,
//! plus state sized at compile time: `P`, the number of parameters it serves, is a
//! const generic that must equal the model's [`Params::COUNT`] (the trainer checks it
//! at compile time). Plain [`Sgd`] holds no state.
//!
//! An optimizer sees the parameters as one flat vector in the canonical order of
//! [`Params::visit`]; [`Optimizer::step`] walks a model, and
//! [`Optimizer::step_slice`] steps a plain slice (a calibration vector, a test).
//! Every update loop is a kernel in [`kernels::optim`](crate::kernels::optim).
//!
//! # Weight decay and biases
//!
//! PyTorch applies `weight_decay` to every parameter of a group, biases included; the
//! seed's penalty `λΩ(θ)` spares biases. Each config has `decay_biases` (biases and
//! normalisation scales), `true` by default (PyTorch's behaviour); set it to `false` to
//! decay weights only. The seed's
//! L1/L2 penalties themselves live in [`Penalty`](crate::layers::Penalty).
//!
//! # Sizing the optimizer in a model-generic function
//!
//! Inside a function generic over the model `M`, stable Rust cannot write
//! `Adam<{ <M as Params>::COUNT }>`: a const argument may not depend on a generic
//! parameter without the unstable `generic_const_exprs`, and a type alias
//! `type AdamFor<M> = Adam<{ <M as Params>::COUNT }>` is refused the same way. The
//! idiom is to give the function the size as a const parameter `P` beside `M` (or to
//! take the optimizer itself as `O: Optimizer`), and to name `<Net as Params>::COUNT`
//! once, where the model is a concrete type. [`Trainer::new`](crate::train::Trainer::new)
//! checks `P == M::COUNT` at compile time, so a wrong `P` does not build.
//!
//! ```
//! use microtrain::init::{init_params, Init};
//! use microtrain::layers::{Dense, Layer, Params, Tanh};
//! use microtrain::loss::Mse;
//! use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd};
//! use microtrain::train::{Dataset, Trainer};
//! use microtrain::{seq, Batch, Error, Seq};
//! use rand_core::SeedableRng;
//!
//! /// Any model from 2 inputs to 1 output, trained with Adam: `P` is Adam's size.
//! fn fit_adam<M, const P: usize>(model: M, data: &Dataset<'_, f32>) -> Result<f32, Error>
//! where
//!     M: Layer<Batch<4, 2>, Output = Batch<4, 1>>,
//! {
//!     let adam = Adam::<P>::new(AdamConfig::DEFAULT.with_lr(0.05));
//!     fit(model, adam, data)
//! }
//!
//! /// Any model with any optimizer: the caller builds the optimizer, sized or not.
//! fn fit<M, O>(model: M, optimizer: O, data: &Dataset<'_, f32>) -> Result<f32, Error>
//! where
//!     M: Layer<Batch<4, 2>, Output = Batch<4, 1>>,
//!     O: Optimizer,
//! {
//!     let mut t: Trainer<M, Mse, O, 4, 2, 1> = Trainer::new(model, Mse, optimizer, 0);
//!     let mut rng = rand_pcg::Pcg32::seed_from_u64(3);
//!     init_params(&mut t.model, Init::XavierNormal, &mut rng);
//!     for _ in 0..100 {
//!         t.epoch(data, &mut rng)?;
//!     }
//!     Ok(t.evaluate(data)?.loss)
//! }
//!
//! type Net = Seq![Dense<2, 8>, Tanh, Dense<8, 1>];
//! let net = || -> Net { seq![Dense::zeros(), Tanh, Dense::zeros()] };
//! let data = Dataset::new(&[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], 2, &[0.0, 1.0, 1.0, 0.0], 1)?;
//! // The size is named once, where `Net` is concrete.
//! const P: usize = <Net as Params>::COUNT;
//! assert!(fit_adam::<Net, P>(net(), &data)? < 0.1);
//! assert!(fit(net(), Adam::<P>::new(AdamConfig::DEFAULT.with_lr(0.05)), &data)? < 0.1);
//! assert!(fit(net(), Sgd::new(0.2), &data)?.is_finite()); // stateless: no size at all
//! # Ok::<(), microtrain::Error>(())
//! ```
//!
//! A wrong size is a compile error ("the optimizer's state must be sized for the
//! model"):
//!
//! ```compile_fail,E0080
//! # use microtrain::layers::{Dense, Layer, Params};
//! # use microtrain::{loss::Mse, optim::{Adam, AdamConfig}, train::Trainer, Batch};
//! fn build<M: Layer<Batch<4, 2>, Output = Batch<4, 1>>, const P: usize>(model: M) {
//!     let _t: Trainer<M, Mse, Adam<P>, 4, 2, 1> =
//!         Trainer::new(model, Mse, Adam::new(AdamConfig::DEFAULT), 0);
//! }
//! build::<Dense<2, 1>, 4>(Dense::zeros()); // Dense<2, 1> has 3 parameters
//! ```

/// The [`Optimizer`] methods that read and set `self.config.lr`.
macro_rules! config_learning_rate {
    () => {
        fn learning_rate(&self) -> f32 {
            self.config.lr
        }

        fn set_learning_rate(&mut self, lr: f32) {
            self.config.lr = lr;
        }
    };
}

/// The [`Optimizer`] method that counts steps in `self.steps`.
macro_rules! counted_steps {
    () => {
        fn begin_step(&mut self) {
            self.steps = self.steps.saturating_add(1);
        }
    };
}

mod adagrad;
mod adam;
mod configure;
mod nadam;
mod radam;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AmsGrad};
pub use configure::Configure;
pub use nadam::{NAdam, NAdamConfig};
pub use radam::{RAdam, RAdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdMomentum, SgdMomentumConfig};

pub use crate::error::Refusal;
use crate::kernels::optim::magnitude;
use crate::layers::{Param, ParamKind, Params};
use crate::Error;

/// Whether an [`Optimizer::update`] only tries the update or applies it: every step
/// first tries every tensor, and applies the update only if no value would become
/// NaN or infinite.
///
/// # Examples
///
/// ```
/// use microtrain::optim::Pass;
/// assert!(Pass::Apply.writes() && !Pass::Try.writes());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Compute the new values and report whether they are all finite; write nothing.
    Try,
    /// Compute and write the new values and state.
    Apply,
}

impl Pass {
    /// Whether this pass writes the parameters and the state.
    ///
    /// # Examples
    ///
    /// See [`Pass`].
    pub const fn writes(self) -> bool {
        matches!(self, Pass::Apply)
    }
}

/// Updates parameters from their gradients.
///
/// [`step`](Optimizer::step) first tries [`update`](Optimizer::update) on every
/// parameter tensor (with its offset in the canonical flat order) without writing
/// anything, then applies it to every tensor, then calls
/// [`begin_step`](Optimizer::begin_step) once; when [`proven`](Optimizer::proven)
/// shows from cheap bounds that the try would succeed, it skips it and applies the
/// update in one pass, with the same bits. `update` computes the step after the
/// ones counted so far, so a refused step, which never reaches `begin_step`, changes
/// nothing.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.1);
/// let mut w = [1.0, 2.0];
/// sgd.step_slice(&mut w, &[10.0, -10.0])?;
/// assert_eq!(w, [0.0, 3.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub trait Optimizer {
    /// The number of parameters the state is sized for; `None` for a stateless
    /// optimizer that serves any number.
    const PARAMS: Option<usize>;
    /// Bytes of optimizer state (zero for plain SGD).
    const STATE_BYTES: usize;
    /// Whether [`proven`](Optimizer::proven) can ever return `true`: only then does
    /// [`step`](Optimizer::step) spend a pass on [`Bounds::of`] the model. `false` by
    /// default.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, Optimizer, RmsProp};
    /// assert!(Adam::<4>::PROVES && !RmsProp::<4>::PROVES);
    /// ```
    const PROVES: bool = false;

    /// The learning rate of the next step.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate for the following steps (PyTorch:
    /// `param_group['lr'] = lr`).
    fn set_learning_rate(&mut self, lr: f32);

    /// Checks the configuration (PyTorch checks it in the optimizer's constructor);
    /// [`step`](Optimizer::step) calls it first and refuses a bad setting before
    /// touching anything, so a negative learning rate never trains uphill.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// let mut sgd = Sgd::new(-0.1);
    /// assert!(sgd.check().is_err());
    /// let mut w = [1.0];
    /// assert!(sgd.step_slice(&mut w, &[1.0]).is_err());
    /// assert_eq!(w, [1.0]);
    /// ```
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Begins the next step once the update has been applied to every tensor:
    /// advances the step counter and any per-step schedule (NAdam's `μ` product).
    /// Until it is called, [`update`](Optimizer::update) computes the step that is
    /// being taken; a refused step never calls it.
    fn begin_step(&mut self);

    /// Not called by [`step`](Optimizer::step) (a refused step changes nothing, so
    /// there is nothing to undo); kept so that wrappers that forward it compile.
    /// Does nothing by default.
    fn cancel_step(&mut self) {}

    /// Computes the update of `value`, the parameters at flat `offset`, from `grad`,
    /// for the step after those counted by [`begin_step`](Optimizer::begin_step);
    /// writes it (and the state) only for [`Pass::Apply`]. Returns whether every new
    /// value, of the parameters and of the state, is finite.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] if `grad` and `value` differ in length, or if they reach past
    /// the optimizer's state; nothing is updated then.
    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error>;

    /// One step over every parameter of `model`, all or nothing: the update is first
    /// tried on every tensor, and applied only if no parameter or state value would
    /// become NaN or infinite. The try is skipped when [`Bounds::of`] the model
    /// let [`proven`](Optimizer::proven) show that it would succeed; the result is
    /// bit for bit the same.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if [`check`](Optimizer::check) refuses the configuration;
    /// [`Error::Diverged`] naming the first tensor (in [`Params::visit`] order) whose
    /// gradient is not finite ([`Refusal::Gradient`]) or whose update would not be
    /// ([`Refusal::Update`]), with `step` 0 and a NaN loss (the optimizer knows
    /// neither; the trainer fills them in); [`Error::Length`] if the model has more
    /// parameters than the state. Parameters and state are unchanged then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::{Dense, ParamKind}, optim::{Adam, AdamConfig, Optimizer, Refusal}, Error};
    /// let mut d = Dense::<1, 1>::zeros();
    /// let mut adam = Adam::<2>::new(AdamConfig::default());
    /// d.bias_grad.0 = [f32::NAN]; // tensor 1: the weight is tensor 0
    /// let before = adam;
    /// match adam.step(&mut d) {
    ///     Err(Error::Diverged { step: 0, cause, .. }) => {
    ///         assert_eq!(cause, Refusal::Gradient { tensor: 1, kind: ParamKind::Bias })
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!((adam, d.bias.0), (before, [0.0]));
    /// ```
    fn step<M: Params>(&mut self, model: &mut M) -> Result<(), Error> {
        self.check()?;
        if let Some(bounds) = Self::PROVES
            .then(|| Bounds::of(model, Self::PARAMS))
            .flatten()
        {
            if self.proven(bounds) {
                apply_proven(self, model);
                return Ok(());
            }
        }
        try_then_apply(self, model)
    }

    /// Whether the next update is proven to leave every parameter and state value
    /// finite, given `bounds` on the parameters and gradients it will see: then
    /// [`step`](Optimizer::step) applies it in one pass
    /// ([`update_proven`](Optimizer::update_proven)) instead of trying it first, with
    /// the same bits. Called after [`check`](Optimizer::check) accepted the settings.
    /// The default proves nothing (`false`): every step tries first.
    ///
    /// An implementation bounds its own state (with
    /// [`magnitude`]), then carries upper bounds of
    /// every intermediate magnitude through its rule with the same `f32` operations:
    /// rounding to nearest is monotone, so `|x| ≤ X` and `|y| ≤ Y` give
    /// `|fl(x ± y)| ≤ fl(X + Y)`, `|fl(x·y)| ≤ fl(X·Y)`, `|fl(x/y)| ≤ fl(X/Y')` for
    /// `|y| ≥ Y' > 0`, and `fl(√x) ≤ fl(√X)`. A finite final bound proves every
    /// computed value finite; an overflowing or NaN one proves nothing, and the step
    /// tries first as before. ([`Adam`]'s own [`step`](Optimizer::step) also proves
    /// from bounds of its state that it recorded in its last proven step, and scans
    /// only when those do not prove the update: see its `proven`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig, Bounds, Optimizer, Sgd};
    /// let adam = Adam::<4>::new(AdamConfig::default());
    /// assert!(adam.proven(Bounds { value: 10.0, grad: 1.0 }));
    /// assert!(!adam.proven(Bounds { value: 1.0, grad: 1e22 })); // (1 − β₂)g² overflows
    /// assert!(!adam.proven(Bounds { value: 1.0, grad: f32::INFINITY }));
    /// ```
    fn proven(&self, bounds: Bounds) -> bool {
        let _ = bounds;
        false
    }

    /// [`update`](Optimizer::update) with [`Pass::Apply`] for an update that
    /// [`proven`](Optimizer::proven) showed finite: an implementation may leave out the
    /// finiteness test. The default is `update(Pass::Apply, ..)`.
    ///
    /// # Errors
    ///
    /// As [`update`](Optimizer::update).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::ParamKind, optim::{Adam, AdamConfig, Bounds, Optimizer, Pass}};
    /// let (mut a, mut b) = (Adam::<2>::new(AdamConfig::default()), Adam::<2>::new(AdamConfig::default()));
    /// let (mut wa, mut wb, g) = ([0.5, -1.0], [0.5, -1.0], [0.25, 3.0]);
    /// assert!(a.proven(Bounds { value: 1.5, grad: 3.25 }));
    /// a.update_proven(0, ParamKind::Weight, &mut wa, &g)?;
    /// assert!(b.update(Pass::Apply, 0, ParamKind::Weight, &mut wb, &g)?);
    /// assert_eq!(wa, wb); // the same bits
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    fn update_proven(
        &mut self,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        self.update(Pass::Apply, offset, kind, value, grad)
            .map(|_| ())
    }

    /// One step on a single slice of weights with its gradient (state offset 0, tensor
    /// 0 of kind weight), all or nothing like [`step`](Optimizer::step).
    ///
    /// # Errors
    ///
    /// As [`step`](Optimizer::step) and [`update`](Optimizer::update).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::ParamKind, optim::{Optimizer, Refusal, Sgd}, Error};
    /// let mut w = [f32::MAX];
    /// let err = Sgd::new(1.0).step_slice(&mut w, &[-f32::MAX]).unwrap_err();
    /// let cause = Refusal::Update { tensor: 0, kind: ParamKind::Weight, lasting: false };
    /// assert!(matches!(err, Error::Diverged { step: 0, cause: c, .. } if c == cause));
    /// assert_eq!(w, [f32::MAX]);
    /// ```
    fn step_slice(&mut self, value: &mut [f32], grad: &[f32]) -> Result<(), Error> {
        self.check()?;
        refuse(try_tensor(self, 0, 0, ParamKind::Weight, value, grad))?;
        self.update(Pass::Apply, 0, ParamKind::Weight, value, grad)?;
        self.begin_step();
        Ok(())
    }
}

/// Upper bounds on the magnitudes of the parameters and gradients a step will see, for
/// [`Optimizer::proven`]: `|θ| ≤ value` and `|g| ≤ grad` for every parameter `θ` and
/// its gradient `g`. NaN or infinite bounds prove nothing.
///
/// # Examples
///
/// ```
/// use microtrain::{layers::Dense, optim::Bounds};
/// let mut d = Dense::<1, 1>::zeros();
/// d.weight.0 = [[-3.0]];
/// d.bias_grad.0 = [0.5];
/// let b = Bounds::of(&mut d, Some(2)).unwrap();
/// assert!(b.value >= 3.0 && b.grad >= 0.5);
/// assert!(Bounds::of(&mut d, Some(1)).is_none()); // more parameters than the state
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// A bound on every `|θ|`.
    pub value: f32,
    /// A bound on every `|g|`.
    pub grad: f32,
}

impl Bounds {
    /// The bounds of `model`'s parameters and gradients: the sums of their magnitudes
    /// ([`magnitude`], one add per value). `None`
    /// when a step would be refused for a length (a gradient of another length than
    /// its tensor, or more parameters than `state`, an optimizer's
    /// [`PARAMS`](Optimizer::PARAMS)): the try pass reports those.
    ///
    /// # Examples
    ///
    /// See [`Bounds`].
    pub fn of<M: Params>(model: &mut M, state: Option<usize>) -> Option<Bounds> {
        let (mut bounds, mut len, mut same) = (
            Bounds {
                value: 0.0,
                grad: 0.0,
            },
            0usize,
            true,
        );
        model.visit(&mut |p: Param<'_>| {
            bounds.value += magnitude(p.value);
            bounds.grad += magnitude(p.grad);
            len = len.saturating_add(p.value.len());
            same &= p.value.len() == p.grad.len();
        });
        (same && state.is_none_or(|n| len <= n)).then_some(bounds)
    }
}

/// The one-pass half of [`Optimizer::step`], for an update that
/// [`proven`](Optimizer::proven) showed finite: [`update_proven`](Optimizer::update_proven)
/// on every tensor, then [`begin_step`](Optimizer::begin_step). Returns the number of
/// parameters updated.
fn apply_proven<O: Optimizer + ?Sized, M: Params>(opt: &mut O, model: &mut M) -> usize {
    let mut offset = 0;
    model.visit(&mut |p: Param<'_>| {
        offset = apply_tensor(opt, true, offset, p.kind, p.value, p.grad);
    });
    opt.begin_step();
    offset
}

/// Applies the update to the tensor at `offset` ([`Optimizer::update_proven`] if
/// `proven`, else [`Optimizer::update`] with [`Pass::Apply`]), whose lengths a try or
/// [`Bounds::of`] checked; returns the offset of the next tensor. Not inlined:
/// [`Params::visit`] calls it once per tensor, and inlined it would be repeated at
/// every call.
#[inline(never)]
fn apply_tensor<O: Optimizer + ?Sized>(
    opt: &mut O,
    proven: bool,
    offset: usize,
    kind: ParamKind,
    value: &mut [f32],
    grad: &[f32],
) -> usize {
    let done = if proven {
        opt.update_proven(offset, kind, value, grad)
    } else {
        opt.update(Pass::Apply, offset, kind, value, grad)
            .map(|_| ())
    };
    debug_assert!(done.is_ok(), "the lengths were checked");
    offset + value.len()
}

/// The two-pass half of [`Optimizer::step`]: tries every tensor, then applies the
/// update to every tensor only if no try was refused.
fn try_then_apply<O: Optimizer + ?Sized, M: Params>(
    opt: &mut O,
    model: &mut M,
) -> Result<(), Error> {
    let mut trial = Trial {
        offset: 0,
        tensor: 0,
        outcome: Ok(None),
    };
    model.visit(&mut |p: Param<'_>| trial.next(opt, p.kind, p.value, p.grad));
    refuse(trial.outcome)?;
    let mut offset = 0;
    model.visit(&mut |p: Param<'_>| {
        offset = apply_tensor(opt, false, offset, p.kind, p.value, p.grad);
    });
    opt.begin_step();
    Ok(())
}

/// The try pass of [`try_then_apply`] so far: the offset and index of the next tensor,
/// and the outcome (the first refusal or error).
struct Trial {
    offset: usize,
    tensor: u16,
    outcome: Result<Option<Refusal>, Error>,
}

impl Trial {
    /// Tries the next tensor unless one was refused. Not inlined, as [`apply_tensor`].
    #[inline(never)]
    fn next<O: Optimizer + ?Sized>(
        &mut self,
        opt: &mut O,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) {
        if let Ok(None) = self.outcome {
            self.outcome = try_tensor(opt, self.offset, self.tensor, kind, value, grad);
        }
        self.offset += value.len();
        self.tensor = self.tensor.saturating_add(1);
    }
}

/// Length of the pieces in which a refused update is tried again with a zero gradient,
/// to tell whether the batch caused it. The zeros are on the stack of that rare path
/// (128 bytes), not a constant in flash.
const PIECE: usize = 32;

/// Tries the update of one tensor; `Some` cause if it is refused.
fn try_tensor<O: Optimizer + ?Sized>(
    opt: &mut O,
    offset: usize,
    tensor: u16,
    kind: ParamKind,
    value: &mut [f32],
    grad: &[f32],
) -> Result<Option<Refusal>, Error> {
    if opt.update(Pass::Try, offset, kind, value, grad)? {
        return Ok(None);
    }
    if !grad.iter().all(|g| g.is_finite()) {
        return Ok(Some(Refusal::Gradient { tensor, kind }));
    }
    // Refused although the gradient is finite: would a zero gradient be refused too?
    // Then the parameters, the state or the settings overflow by themselves.
    let mut lasting = false;
    let zeros = [0.0; PIECE];
    for (k, piece) in value.chunks_mut(PIECE).enumerate() {
        let zeros = &zeros[..piece.len()];
        let at = offset + k * PIECE;
        if !opt.update(Pass::Try, at, kind, piece, zeros)? {
            lasting = true;
            break;
        }
    }
    Ok(Some(Refusal::Update {
        tensor,
        kind,
        lasting,
    }))
}

/// The error of a refused step, as the optimizer knows it (no step number, no loss).
fn refuse(outcome: Result<Option<Refusal>, Error>) -> Result<(), Error> {
    match outcome? {
        None => Ok(()),
        Some(cause) => Err(Error::Diverged {
            step: 0,
            loss: f32::NAN,
            cause,
        }),
    }
}
/// The part of a state array that belongs to the tensor at `offset`.
fn window<const P: usize>(
    state: &mut [f32; P],
    offset: usize,
    len: usize,
) -> Result<&mut [f32], Error> {
    state
        .get_mut(offset..offset.saturating_add(len))
        .ok_or(Error::Length {
            what: "parameters past the optimizer state",
            expected: P,
            found: offset.saturating_add(len),
        })
}

/// The weight decay that applies to a tensor of `kind`.
fn decay(weight_decay: f32, decay_biases: bool, kind: ParamKind) -> f32 {
    if kind != ParamKind::Weight && !decay_biases {
        0.0
    } else {
        weight_decay
    }
}

/// Whether `v` is a value a second-moment estimate can hold: finite and at least 0
/// (checked when a checkpoint is loaded).
fn non_negative(v: f32) -> bool {
    v.is_finite() && v >= 0.0
}
