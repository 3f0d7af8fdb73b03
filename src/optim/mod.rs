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

/// The [`Optimizer`] methods that count steps in `self.steps`.
macro_rules! counted_steps {
    () => {
        fn begin_step(&mut self) {
            self.steps = self.steps.saturating_add(1);
        }

        fn cancel_step(&mut self) {
            self.steps = self.steps.saturating_sub(1);
        }
    };
}

mod adagrad;
mod adam;
mod nadam;
mod radam;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use nadam::{NAdam, NAdamConfig};
pub use radam::{RAdam, RAdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdMomentum, SgdMomentumConfig};

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
/// [`step`](Optimizer::step) calls [`begin_step`](Optimizer::begin_step) once, then
/// [`update`](Optimizer::update) for each parameter tensor with its offset in the
/// canonical flat order.
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

    /// Starts one step: advances the step counter.
    fn begin_step(&mut self);

    /// Undoes [`begin_step`](Optimizer::begin_step) when a step is refused.
    fn cancel_step(&mut self);

    /// Computes the update of `value`, the parameters at flat `offset`, from `grad`;
    /// writes it (and the state) only for [`Pass::Apply`]. Returns whether every new
    /// value is finite.
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
    /// tried on every tensor, and applied only if no parameter or state would become
    /// NaN or infinite.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if [`check`](Optimizer::check) refuses the configuration;
    /// [`Error::Diverged`] (with a NaN loss, which the optimizer does not know) if the
    /// update would overflow; [`Error::Length`] if the model has more parameters than
    /// the state. Parameters and state are unchanged then.
    fn step<M: Params>(&mut self, model: &mut M) -> Result<(), Error> {
        self.check()?;
        self.begin_step();
        let (mut offset, mut outcome) = (0, Ok(true));
        model.visit(&mut |p: Param<'_>| {
            if let Ok(finite) = outcome {
                outcome = self
                    .update(Pass::Try, offset, p.kind, p.value, p.grad)
                    .map(|f| f && finite);
            }
            offset += p.value.len();
        });
        refuse_unless_finite(self, outcome)?;
        offset = 0;
        model.visit(&mut |p: Param<'_>| {
            let done = self.update(Pass::Apply, offset, p.kind, p.value, p.grad);
            debug_assert!(done.is_ok(), "the try pass checked every length");
            offset += p.value.len();
        });
        Ok(())
    }

    /// One step on a single slice of weights with its gradient (state offset 0), all
    /// or nothing like [`step`](Optimizer::step).
    ///
    /// # Errors
    ///
    /// As [`step`](Optimizer::step) and [`update`](Optimizer::update).
    fn step_slice(&mut self, value: &mut [f32], grad: &[f32]) -> Result<(), Error> {
        self.check()?;
        self.begin_step();
        let outcome = self.update(Pass::Try, 0, ParamKind::Weight, value, grad);
        refuse_unless_finite(self, outcome)?;
        self.update(Pass::Apply, 0, ParamKind::Weight, value, grad)
            .map(|_| ())
    }
}

/// Cancels the step begun by `opt` unless the try pass succeeded with finite values.
fn refuse_unless_finite<O: Optimizer + ?Sized>(
    opt: &mut O,
    outcome: Result<bool, Error>,
) -> Result<(), Error> {
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => {
            opt.cancel_step();
            Err(Error::Diverged { loss: f32::NAN })
        }
        Err(e) => {
            opt.cancel_step();
            Err(e)
        }
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
