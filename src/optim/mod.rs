//! Optimizers: small state machines that turn gradients into parameter updates.
//!
//! An optimizer sees the parameters as one flat vector in the canonical order of
//! [`Params::visit`], so its state (if any) is a fixed-size array of the same length.

mod sgd;

pub use sgd::Sgd;

use crate::layers::{Param, Params};
use crate::Error;

/// Updates parameters from their gradients.
///
/// [`step`](Optimizer::step) visits the model and calls
/// [`update`](Optimizer::update) once per parameter tensor with its offset in the
/// canonical flat order; [`update`](Optimizer::update) is also the public way to
/// step a plain slice.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.1);
/// let mut w = [1.0, 2.0];
/// sgd.update(0, &mut w, &[10.0, -10.0])?;
/// assert_eq!(w, [0.0, 3.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub trait Optimizer {
    /// Bytes of optimizer state (zero for plain SGD).
    const STATE_BYTES: usize;

    /// The learning rate of the next step.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate for the following steps.
    fn set_learning_rate(&mut self, lr: f32);

    /// Called once before the updates of one step (advances step counters).
    fn begin_step(&mut self) {}

    /// Updates `value` (the parameters at flat `offset`) from `grad`.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] if `grad` and `value` differ in length, or if they reach
    /// past the optimizer's state; nothing is updated then.
    fn update(&mut self, offset: usize, value: &mut [f32], grad: &[f32]) -> Result<(), Error>;

    /// One optimisation step over every parameter of `model`.
    fn step<P: Params>(&mut self, model: &mut P) {
        self.begin_step();
        let mut offset = 0;
        model.visit(&mut |p: Param<'_>| {
            let done = self.update(offset, p.value, p.grad);
            debug_assert!(done.is_ok(), "a model's parameters and gradients match");
            offset += p.value.len();
        });
    }
}
