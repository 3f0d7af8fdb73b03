//! RMSProp (PyTorch: `torch.optim.RMSprop`).

use super::configure::Configure;
use super::Pass;
use super::{decay, window, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::optim::{run, Lane, Rule};
use crate::layers::ParamKind;
use crate::tensor::Zeroed;
use crate::Error;

/// Configuration of [`RmsProp`]; `Default` is PyTorch's (lr 1e-2, alpha 0.99,
/// eps 1e-8, weight_decay 0, momentum 0, not centred).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::optim::RmsPropConfig::default().alpha, 0.99);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate `η`.
    pub lr: f32,
    /// `α`, the decay of the running mean of `g²`.
    pub alpha: f32,
    /// `ε`, added to the root.
    pub eps: f32,
    /// L2 weight decay `λ` added to the gradient.
    pub weight_decay: f32,
    /// Momentum `μ` (0 for none).
    pub momentum: f32,
    /// Centred: divide by an estimate of the gradient's standard deviation instead of
    /// its root mean square.
    pub centered: bool,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig::DEFAULT
    }
}

impl RmsPropConfig {
    /// PyTorch's `torch.optim.RMSprop` defaults (lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, not centred), as a constant equal to
    /// `Default::default()`: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{RmsProp, RmsPropConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: RmsProp<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, RmsProp<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, RmsProp::new(RmsPropConfig::DEFAULT.with_lr(0.001)), 0);
    /// assert_eq!(RmsPropConfig::DEFAULT, RmsPropConfig::default());
    /// ```
    pub const DEFAULT: RmsPropConfig = RmsPropConfig {
        lr: 1e-2,
        alpha: 0.99,
        eps: 1e-8,
        weight_decay: 0.0,
        momentum: 0.0,
        centered: false,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`RmsPropConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        RmsPropConfig { lr, ..self }
    }
}

impl RmsPropConfig {
    /// Checks every setting as PyTorch's `torch.optim.RMSprop` constructor does (`lr` finite and ≥ 0; `alpha` in [0, 1]; `eps` finite and ≥ 0; `weight_decay` finite and ≥ 0; `momentum` finite and ≥ 0);
    /// infinities and NaN are refused too.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::RmsPropConfig, Error};
    /// assert!(RmsPropConfig::default().check().is_ok());
    /// let bad = RmsPropConfig { lr: -0.01, ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "RmsProp lr", value: -0.01, rule: "finite and at least 0" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("RmsProp lr", self.lr));
        check::ok!(check::probability("RmsProp alpha", self.alpha));
        check::ok!(check::non_negative("RmsProp eps", self.eps));
        check::ok!(check::non_negative(
            "RmsProp weight_decay",
            self.weight_decay
        ));
        check::ok!(check::non_negative("RmsProp momentum", self.momentum));
        Ok(())
    }
}

/// RMSProp for `P` parameters (Hinton's lecture 6e), as PyTorch computes it:
///
/// ```text
/// g ← g + λθ                 s ← αs + (1 − α)g²
/// centred:  ḡ ← ḡ + (1 − α)(g − ḡ);   d = √max(s − ḡ², 0) + ε       otherwise d = √s + ε
/// μ > 0:    b ← μb + g/d;   θ ← θ − ηb                         otherwise θ ← θ − η·g/d
/// ```
///
/// The clamp at 0 differs from PyTorch, whose root turns NaN when rounding makes
/// `s − ḡ²` negative (a constant gradient of 1.75 does it at step 1,240 with the
/// default α): such a step would be refused every time after.
///
/// State: `s`, `ḡ` and `b`, `3·4·P` bytes whichever options are on.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, RmsProp, RmsPropConfig};
/// let mut opt = RmsProp::<1>::new(RmsPropConfig { lr: 0.1, alpha: 0.75, eps: 0.0, ..Default::default() });
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[2.0])?; // s = 0.25·4 = 1: θ − 0.1·2/1
/// assert!((w[0] - 0.8).abs() < 1e-7);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp<const P: usize> {
    /// The configuration; change it between steps at will.
    pub config: RmsPropConfig,
    square_avg: [f32; P],
    grad_avg: [f32; P],
    momentum_buffer: [f32; P],
}

struct RmsPropRule {
    lr: f32,
    alpha: f32,
    eps: f32,
    l2: f32,
    momentum: f32,
    centered: bool,
}

impl Rule<3> for RmsPropRule {
    fn apply<L: Lane>(&self, p: L, g: L, [s, gbar, b]: [L; 3]) -> (L, [L; 3]) {
        let g = if self.l2 != 0.0 {
            g + L::splat(self.l2) * p
        } else {
            g
        };
        let s = s * L::splat(self.alpha) + L::splat(1.0 - self.alpha) * g * g;
        let (gbar, root) = if self.centered {
            let gbar = gbar + L::splat(1.0 - self.alpha) * (g - gbar);
            // `s − ḡ²` is a variance and ≥ 0 in exact arithmetic; rounding can push it
            // below 0 (a constant gradient), where PyTorch's root is NaN. Clamped at 0.
            (gbar, (s - gbar * gbar).max(L::splat(0.0)).sqrt())
        } else {
            (gbar, s.sqrt())
        };
        let d = root + L::splat(self.eps);
        if self.momentum > 0.0 {
            let b = b * L::splat(self.momentum) + g / d;
            (p - L::splat(self.lr) * b, [s, gbar, b])
        } else {
            (p - L::splat(self.lr) * (g / d), [s, gbar, b])
        }
    }
}

impl<const P: usize> RmsProp<P> {
    /// A fresh optimizer, after checking `config` ([`RmsPropConfig::check`]); usable in a
    /// `const` or `static`. [`new`](RmsProp::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RmsProp, RmsPropConfig};
    /// assert!(RmsProp::<2>::try_new(RmsPropConfig::default()).is_ok());
    /// assert!(RmsProp::<2>::try_new(RmsPropConfig { lr: -0.01, ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: RmsPropConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RmsProp, RmsPropConfig};
    /// let _ = RmsProp::<3>::new(RmsPropConfig::default());
    /// ```
    pub const fn new(config: RmsPropConfig) -> Self {
        RmsProp {
            config,
            square_avg: [0.0; P],
            grad_avg: [0.0; P],
            momentum_buffer: [0.0; P],
        }
    }
}

/// All zero, a placeholder for [`Configure::reset`] (see [`Adam`](super::Adam)'s).
impl<const P: usize> Zeroed for RmsProp<P> {
    const ZERO: Self = RmsProp::new(RmsPropConfig {
        lr: 0.0,
        alpha: 0.0,
        eps: 0.0,
        weight_decay: 0.0,
        momentum: 0.0,
        centered: false,
        decay_biases: false,
    });
}

impl<const P: usize> Configure for RmsProp<P> {
    type Config = RmsPropConfig;

    fn config(&self) -> RmsPropConfig {
        self.config
    }

    fn reset(&mut self, config: RmsPropConfig) {
        self.config = config;
        self.square_avg.fill(0.0);
        self.grad_avg.fill(0.0);
        self.momentum_buffer.fill(0.0);
    }
}

impl<const P: usize> Optimizer for RmsProp<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 3 * 4 * P;

    fn check(&self) -> Result<(), Error> {
        self.config.check()
    }

    config_learning_rate!();

    fn begin_step(&mut self) {}

    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        let c = &self.config;
        let rule = RmsPropRule {
            lr: c.lr,
            alpha: c.alpha,
            eps: c.eps,
            l2: decay(c.weight_decay, c.decay_biases, kind),
            momentum: c.momentum,
            centered: c.centered,
        };
        let len = value.len();
        let s = window(&mut self.square_avg, offset, len)?;
        let gbar = window(&mut self.grad_avg, offset, len)?;
        let b = window(&mut self.momentum_buffer, offset, len)?;
        run(pass.writes(), &rule, value, grad, [s, gbar, b])
    }
}

/// Checkpoint part: the learning rate and the averages and momentum buffer; the
/// configuration is the caller's code and is not saved.
impl<const P: usize> Persist for RmsProp<P> {
    const BYTES: usize = 4 + 4 * P + 4 * P + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"RMSP"));
        w.f32(self.config.lr);
        w.f32s(&self.square_avg);
        w.f32s(&self.grad_avg);
        w.f32s(&self.momentum_buffer);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.f32s(&mut self.square_avg)?;
        r.f32s(&mut self.grad_avg)?;
        r.f32s(&mut self.momentum_buffer)?;
        Ok(())
    }
}
