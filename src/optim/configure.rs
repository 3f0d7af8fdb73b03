//! [`Configure`]: an optimizer made fresh in place, for a trainer that starts as
//! [`Trainer::ZERO`](crate::train::Trainer::ZERO) in a zero-initialised `static`.

use super::Optimizer;
use crate::tensor::Zeroed;

/// An optimizer whose [`Zeroed::ZERO`] value (all bytes zero: every setting and every
/// state value 0) can be turned into the fresh optimizer of any configuration in place,
/// by [`reset`](Configure::reset), without building the large state on the stack.
///
/// The zero value is a placeholder, not an optimizer to train with (its learning rate
/// is 0): [`Trainer::ZERO`](crate::train::Trainer::ZERO) refuses every step until
/// [`Trainer::configure`](crate::train::Trainer::configure) has called `reset`.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Adam, AdamConfig, Configure};
/// use microtrain::Zeroed;
/// static mut OPT: Adam<1000> = Adam::ZERO;                 // .bss: no flash for its image
/// let mut adam = Adam::<4>::ZERO;
/// adam.reset(AdamConfig::DEFAULT.with_lr(0.01));
/// assert_eq!(adam, Adam::new(AdamConfig::DEFAULT.with_lr(0.01)));
/// assert_eq!(adam.config(), AdamConfig::DEFAULT.with_lr(0.01));
/// ```
pub trait Configure: Optimizer + Zeroed {
    /// The configuration: the few bytes a fresh optimizer is built from (PyTorch: the
    /// constructor's keyword arguments).
    type Config: Copy;

    /// The current configuration.
    fn config(&self) -> Self::Config;

    /// Makes `self` equal to the optimizer that `new(config)` builds (`Sgd` is its own
    /// configuration): sets the configuration and refills the state in place (zero
    /// moments, zero step count; Adagrad's `initial_accumulator_value`, NAdam's `μ`
    /// product 1), so no copy of the state ever sits on the stack.
    fn reset(&mut self, config: Self::Config);
}
