//! [`Trainer::ZERO`] and [`Trainer::configure`]: a trainer in a `static` that costs no
//! flash for its image.
//!
//! A `static` goes into `.bss` (zeroed by the start-up code, nothing stored in flash)
//! only if every byte of its initial value is zero; any other value is copied from
//! flash into `.data` at start-up, so a 66 KB trainer built by the `const`
//! [`Trainer::new`] costs 66 KB of flash. `Trainer::ZERO` is all zero bytes; the few
//! settings that are not zero (the optimizer's configuration, the loss, the seed) are
//! written in place at run time by [`Trainer::configure`], which copies nothing large
//! through the stack.

use super::{InputBuffer, Trainer};
use crate::layers::{Context, Layer, Mode};
use crate::loss::Loss;
use crate::optim::Configure;
use crate::tensor::{Tensor, Zeroed};
use crate::{Batch, Error};

/// The error of a step on a [`Trainer::ZERO`] that was not configured.
pub(super) const UNCONFIGURED: Error = Error::Setting {
    name: "Trainer::ZERO",
    value: 0.0,
    rule: "configured before training: call Trainer::configure(loss, optimizer config, seed)",
};

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    S: InputBuffer<X>,
    M: Layer<X, Output = Batch<B, OUT>> + Zeroed,
    L: Loss<B, OUT> + Zeroed,
    O: Configure,
{
    /// A trainer whose every byte is zero, for a `static` that the linker places in
    /// `.bss`: it costs RAM only, no flash for its image, and nothing is built on the
    /// stack. The model is `M::ZERO` (zero weights: initialise them, e.g. with
    /// [`init_params`](crate::init::init_params)); the loss is `L::ZERO`; the
    /// optimizer is a placeholder with learning rate 0.
    ///
    /// It refuses to train until [`configure`](Trainer::configure) has set the loss,
    /// the optimizer's configuration and the seed: every step returns
    /// [`Error::Setting`] naming `"Trainer::ZERO"` and changes nothing. Evaluation and
    /// prediction work (on the zero model) at any time.
    ///
    /// Available when the model, the loss and the optimizer have an all-zero value that
    /// is valid ([`Zeroed`]): dense and convolution layers, parameterless activations,
    /// pooling, residual wrappers; every loss; every optimizer of
    /// [`optim`](crate::optim) ([`Configure`]). Layers whose default settings are not
    /// zero (batch and group normalisation, dropout, leaky ReLU) have no `ZERO`, so a
    /// trainer holding one does not offer it (build it with [`Trainer::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use core::ptr::addr_of_mut;
    /// use microtrain::init::{init_params, HeNormal};
    /// use microtrain::layers::{Dense, Relu};
    /// use microtrain::loss::CrossEntropy;
    /// use microtrain::optim::{Adam, AdamConfig};
    /// use microtrain::train::Trainer;
    /// use microtrain::{Error, Matrix, Seq};
    /// use rand_core::SeedableRng;
    ///
    /// type Net = Seq![Dense<4, 8>, Relu, Dense<8, 3>];
    /// type T = Trainer<Net, CrossEntropy, Adam<67>, 2, 4, 3>;
    /// static mut TRAINER: T = Trainer::ZERO;                   // in .bss
    ///
    /// // SAFETY (the firmware's, not the library's): the only reference to TRAINER.
    /// let t = unsafe { &mut *addr_of_mut!(TRAINER) };
    /// let (x, y) = (Matrix([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]]), [0, 2]);
    /// assert!(matches!(t.train_step(&x, &y), Err(Error::Setting { name: "Trainer::ZERO", .. })));
    ///
    /// t.configure(CrossEntropy::default(), AdamConfig::DEFAULT.with_lr(0.01), 7);
    /// init_params(&mut t.model, HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(7));
    /// let first = t.train_step(&x, &y)?.data;
    /// assert!(t.train_step(&x, &y)?.data < first);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const ZERO: Self = {
        // `new`'s compile-time checks; the value is then built field by field, with
        // the zero context (`new`'s has `rows = usize::MAX`).
        Self::check_sizes();
        Trainer {
            model: M::ZERO,
            optimizer: O::ZERO,
            loss: L::ZERO,
            clip: None,
            drop_last: false,
            cache: M::Cache::ZERO,
            input: S::ZERO,
            targets: L::Targets::ZERO,
            ctx: Context::ZEROED,
            steps: 0,
            refused: 0,
            configured: false,
        }
    };
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    S: InputBuffer<X>,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Configure,
{
    /// Configures a trainer in place, typically a [`Trainer::ZERO`] in a `static`:
    /// sets the loss, makes the optimizer fresh with `config` ([`Configure::reset`]:
    /// state refilled in place), restarts the context's seed at `seed` and the step
    /// counters at 0, and lets the trainer train. The model, [`clip`](Trainer::clip)
    /// and [`drop_last`](Trainer::drop_last) are left as they are.
    ///
    /// On a `Trainer::ZERO`, the result equals
    /// `Trainer::new(M::ZERO, loss, O::new(config), seed)` field for field, so it
    /// trains bit for bit the same. On any other trainer (one with batch norm, built by
    /// `new`, or one already trained) it restarts the optimizer for a new run. Only the loss and the configuration pass through
    /// the stack (a few dozen bytes).
    ///
    /// A bad configuration is not checked here: as with [`Trainer::new`], every step
    /// checks it first and refuses it with [`Error::Setting`]. To resume a run, configure
    /// first, then load the checkpoint: it restores the step counters, the seed state
    /// and the optimizer's state (not its configuration, which is the caller's code).
    ///
    /// # Examples
    ///
    /// See [`Trainer::ZERO`].
    pub fn configure(&mut self, loss: L, config: O::Config, seed: u64) {
        self.loss = loss;
        self.optimizer.reset(config);
        self.ctx = Context::new(Mode::Train, seed);
        self.steps = 0;
        self.refused = 0;
        self.configured = true;
    }
}
