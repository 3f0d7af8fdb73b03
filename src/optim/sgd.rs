//! Plain stochastic gradient descent.

use super::Optimizer;
use crate::{kernels, Error};

/// Plain gradient descent `θ ← θ − α·g` (PyTorch: `torch.optim.SGD(params, lr)` with
/// no momentum or weight decay). Holds no state.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.5);
/// let mut w = [1.0];
/// sgd.update(0, &mut w, &[1.0])?;
/// assert_eq!(w, [0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate `α`.
    pub lr: f32,
}

impl Sgd {
    /// SGD with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// assert_eq!(Sgd::new(0.1).learning_rate(), 0.1);
    /// ```
    pub const fn new(lr: f32) -> Self {
        Sgd { lr }
    }
}

impl Optimizer for Sgd {
    const STATE_BYTES: usize = 0;

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn update(&mut self, _: usize, value: &mut [f32], grad: &[f32]) -> Result<(), Error> {
        kernels::axpy(-self.lr, grad, value)
    }
}
