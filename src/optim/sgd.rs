//! Stochastic gradient descent, plain and with momentum (PyTorch: `torch.optim.SGD`).

use super::configure::Configure;
use super::Pass;
use super::{decay, window, Bounds, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::optim::{magnitude, run, run_proven, Lane, Rule};
use crate::layers::ParamKind;
use crate::tensor::Zeroed;
use crate::Error;

/// Plain gradient descent `θ ← θ − α·(g + λθ)` (PyTorch: `torch.optim.SGD(params, lr,
/// weight_decay=λ)` with no momentum). Holds no state.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.5);
/// let mut w = [1.0];
/// sgd.step_slice(&mut w, &[1.0])?;
/// assert_eq!(w, [0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate `α` (PyTorch's default: 1e-3).
    pub lr: f32,
    /// L2 weight decay `λ` added to the gradient (default 0).
    pub weight_decay: f32,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd::DEFAULT
    }
}

impl Sgd {
    /// PyTorch's `torch.optim.SGD` defaults (lr 1e-3, weight_decay 0, no momentum), as
    /// a constant equal to `Default::default()`: a `static` trainer needs no field
    /// written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::Trainer};
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, Sgd, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Sgd::DEFAULT.with_lr(0.1), 0);
    /// assert_eq!(Sgd::DEFAULT, Sgd::default());
    /// ```
    pub const DEFAULT: Sgd = Sgd::new(1e-3);

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`Sgd::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        Sgd { lr, ..self }
    }

    /// SGD with learning rate `lr` and no weight decay.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Optimizer, Sgd};
    /// assert_eq!(Sgd::new(0.1).learning_rate(), 0.1);
    /// ```
    pub const fn new(lr: f32) -> Self {
        Sgd {
            lr,
            weight_decay: 0.0,
            decay_biases: true,
        }
    }

    /// SGD with learning rate `lr`, checked ([`Sgd::check`]).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if `lr` is negative, infinite or NaN.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::Sgd;
    /// assert!(Sgd::try_new(0.1).is_ok() && Sgd::try_new(-0.1).is_err());
    /// ```
    pub const fn try_new(lr: f32) -> Result<Self, Error> {
        let sgd = Sgd::new(lr);
        check::ok!(sgd.check());
        Ok(sgd)
    }

    /// Checks the settings as PyTorch's `torch.optim.SGD` does: `lr` and
    /// `weight_decay` finite and ≥ 0.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::Sgd, Error};
    /// let bad = Sgd { weight_decay: -1.0, ..Sgd::new(0.1) };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "SGD weight_decay", value: -1.0, rule: "finite and at least 0" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("SGD lr", self.lr));
        check::ok!(check::non_negative("SGD weight_decay", self.weight_decay));
        Ok(())
    }
}

/// The SGD rule with momentum `μ`, dampening `τ`, Nesterov flag and weight decay `λ`:
/// `d = g + λθ`; `b = d` on the first step, else `b = μb + (1 − τ)d`;
/// `d = d + μb` (Nesterov) or `d = b`; `θ ← θ − αd`. With `μ = 0`, `θ ← θ − αd`.
struct SgdRule {
    lr: f32,
    weight_decay: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    first: bool,
}

/// Plain SGD's rule with the weight-decay test fixed at compile time (`λ = 0` adds
/// nothing, so leaving the term out changes no bit): each loop tests nothing per element.
struct Plain<const DECAY: bool>(SgdRule);

impl<const DECAY: bool> Rule<0> for Plain<DECAY> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; 0]) -> (L, [L; 0]) {
        let d = if DECAY {
            g + L::splat(self.0.weight_decay) * p
        } else {
            g
        };
        (p - L::splat(self.0.lr) * d, s)
    }
}

impl Rule<1> for SgdRule {
    fn apply<L: Lane>(&self, p: L, g: L, [b]: [L; 1]) -> (L, [L; 1]) {
        let mu = L::splat(self.momentum);
        let d = if self.weight_decay != 0.0 {
            g + L::splat(self.weight_decay) * p
        } else {
            g
        };
        let b = if self.first {
            d
        } else {
            b * mu + L::splat(1.0 - self.dampening) * d
        };
        let d = if self.nesterov { d + mu * b } else { b };
        (p - L::splat(self.lr) * d, [b])
    }
}

/// All zero: learning rate 0, a placeholder for [`Configure::reset`] (see
/// [`Adam`](super::Adam)'s).
impl Zeroed for Sgd {
    const ZERO: Self = Sgd {
        lr: 0.0,
        weight_decay: 0.0,
        decay_biases: false,
    };
}

/// Plain SGD has no state: its configuration is itself.
impl Configure for Sgd {
    type Config = Sgd;

    fn config(&self) -> Sgd {
        *self
    }

    fn reset(&mut self, config: Sgd) {
        *self = config;
    }
}

impl Optimizer for Sgd {
    const PARAMS: Option<usize> = None;
    const STATE_BYTES: usize = 0;
    const PROVES: bool = true;

    fn check(&self) -> Result<(), Error> {
        Sgd::check(self)
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn begin_step(&mut self) {}

    fn update(
        &mut self,
        pass: Pass,
        _: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        let rule = self.rule(kind);
        if rule.weight_decay != 0.0 {
            run::<0, _>(pass.writes(), &Plain::<true>(rule), value, grad, [])
        } else {
            run::<0, _>(pass.writes(), &Plain::<false>(rule), value, grad, [])
        }
    }

    /// Proves `θ' = θ − α(g + λθ)` finite from the bounds `P`, `G` (see
    /// [`Optimizer::proven`]): `|θ'| ≤ P + α·(G + λP)`, and `α`, `λ` are finite and
    /// `≥ 0` ([`Sgd::check`]), so a finite bound leaves no room for a NaN.
    fn proven(&self, bounds: Bounds) -> bool {
        let d = bounds.grad + self.weight_decay * bounds.value;
        (bounds.value + self.lr * d).is_finite()
    }

    fn update_proven(
        &mut self,
        _: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        let rule = self.rule(kind);
        if rule.weight_decay != 0.0 {
            run_proven::<0, _>(&Plain::<true>(rule), value, grad, [])
        } else {
            run_proven::<0, _>(&Plain::<false>(rule), value, grad, [])
        }
    }
}

impl Sgd {
    /// The rule for a tensor of `kind`.
    fn rule(&self, kind: ParamKind) -> SgdRule {
        SgdRule {
            lr: self.lr,
            weight_decay: decay(self.weight_decay, self.decay_biases, kind),
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            first: true,
        }
    }
}

/// Configuration of [`SgdMomentum`]; `Default` is PyTorch's `SGD` with
/// `momentum=0.9` (PyTorch's own default momentum is 0, which is plain [`Sgd`]).
///
/// # Examples
///
/// ```
/// use microtrain::optim::SgdMomentumConfig;
/// let c = SgdMomentumConfig { nesterov: true, ..Default::default() };
/// assert_eq!(c.momentum, 0.9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdMomentumConfig {
    /// Learning rate `α` (default 1e-3).
    pub lr: f32,
    /// Momentum `μ` (default 0.9).
    pub momentum: f32,
    /// Dampening `τ` (default 0).
    pub dampening: f32,
    /// Nesterov momentum (default `false`; PyTorch requires dampening 0 for it).
    pub nesterov: bool,
    /// L2 weight decay `λ` (default 0).
    pub weight_decay: f32,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for SgdMomentumConfig {
    fn default() -> Self {
        SgdMomentumConfig::DEFAULT
    }
}

impl SgdMomentumConfig {
    /// PyTorch's `torch.optim.SGD` defaults (lr 1e-3, weight_decay 0, with momentum 0.9, dampening 0, no Nesterov), as a constant equal to
    /// `Default::default()`: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{SgdMomentum, SgdMomentumConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: SgdMomentum<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, SgdMomentum<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, SgdMomentum::new(SgdMomentumConfig::DEFAULT.with_lr(0.05)), 0);
    /// assert_eq!(SgdMomentumConfig::DEFAULT, SgdMomentumConfig::default());
    /// ```
    pub const DEFAULT: SgdMomentumConfig = SgdMomentumConfig {
        lr: 1e-3,
        momentum: 0.9,
        dampening: 0.0,
        nesterov: false,
        weight_decay: 0.0,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`SgdMomentumConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        SgdMomentumConfig { lr, ..self }
    }
}

impl SgdMomentumConfig {
    /// Checks the settings as PyTorch's `torch.optim.SGD` does: `lr`, `momentum`,
    /// `weight_decay` finite and ≥ 0, `dampening` finite, and Nesterov only with a
    /// momentum above 0 and zero dampening.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::SgdMomentumConfig, Error};
    /// assert!(SgdMomentumConfig::default().check().is_ok());
    /// let bad = SgdMomentumConfig { nesterov: true, dampening: 0.5, ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "SGD dampening", value: 0.5, rule: "0 with Nesterov momentum" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("SGD lr", self.lr));
        check::ok!(check::non_negative("SGD momentum", self.momentum));
        check::ok!(check::non_negative("SGD weight_decay", self.weight_decay));
        if !self.dampening.is_finite() {
            return check::refuse("SGD dampening", self.dampening, "finite");
        }
        if self.nesterov && self.momentum <= 0.0 {
            return check::refuse(
                "SGD momentum",
                self.momentum,
                "above 0 with Nesterov momentum",
            );
        }
        if self.nesterov && self.dampening != 0.0 {
            return check::refuse("SGD dampening", self.dampening, "0 with Nesterov momentum");
        }
        Ok(())
    }
}

/// SGD with (Nesterov) momentum for `P` parameters (PyTorch: `torch.optim.SGD` with
/// `momentum > 0`): keeps one momentum buffer `b` per parameter.
///
/// ```text
/// d = g + λθ
/// b = d                      (first step)
/// b = μ·b + (1 − τ)·d        (later steps)
/// θ ← θ − α·(d + μ·b)        (Nesterov)     θ ← θ − α·b   (classical)
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, SgdMomentum, SgdMomentumConfig};
/// let mut opt = SgdMomentum::<1>::new(SgdMomentumConfig { lr: 1.0, momentum: 0.5, ..Default::default() });
/// let mut w = [0.0];
/// opt.step_slice(&mut w, &[1.0])?; // b = 1
/// opt.step_slice(&mut w, &[1.0])?; // b = 0.5 + 1
/// assert_eq!(w, [-2.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdMomentum<const P: usize> {
    /// The configuration; change it between steps at will.
    pub config: SgdMomentumConfig,
    momentum_buffer: [f32; P],
    steps: u32,
}

impl<const P: usize> SgdMomentum<P> {
    /// A fresh optimizer, after checking `config` ([`SgdMomentumConfig::check`]);
    /// usable in a `const` or `static`. [`new`](SgdMomentum::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{SgdMomentum, SgdMomentumConfig};
    /// assert!(SgdMomentum::<2>::try_new(SgdMomentumConfig { momentum: -0.9, ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: SgdMomentumConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer (no steps taken, buffers zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{SgdMomentum, SgdMomentumConfig};
    /// static mut OPT: SgdMomentum<10> = SgdMomentum::new(SgdMomentumConfig {
    ///     lr: 0.01, momentum: 0.9, dampening: 0.0, nesterov: true, weight_decay: 0.0, decay_biases: true,
    /// });
    /// ```
    pub const fn new(config: SgdMomentumConfig) -> Self {
        SgdMomentum {
            config,
            momentum_buffer: [0.0; P],
            steps: 0,
        }
    }

    /// The momentum buffer `b`, in canonical parameter order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{SgdMomentum, SgdMomentumConfig};
    /// assert_eq!(SgdMomentum::<2>::new(SgdMomentumConfig::default()).momentum_buffer(), &[0.0; 2]);
    /// ```
    pub fn momentum_buffer(&self) -> &[f32; P] {
        &self.momentum_buffer
    }
}

/// All zero, a placeholder for [`Configure::reset`] (see [`Adam`](super::Adam)'s).
impl<const P: usize> Zeroed for SgdMomentum<P> {
    const ZERO: Self = SgdMomentum::new(SgdMomentumConfig {
        lr: 0.0,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        weight_decay: 0.0,
        decay_biases: false,
    });
}

impl<const P: usize> Configure for SgdMomentum<P> {
    type Config = SgdMomentumConfig;

    fn config(&self) -> SgdMomentumConfig {
        self.config
    }

    fn reset(&mut self, config: SgdMomentumConfig) {
        self.config = config;
        self.momentum_buffer.fill(0.0);
        self.steps = 0;
    }
}

impl<const P: usize> Optimizer for SgdMomentum<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 4 * P + 4;
    const PROVES: bool = true;

    fn check(&self) -> Result<(), Error> {
        self.config.check()
    }

    config_learning_rate!();
    counted_steps!();

    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        let rule = self.rule(kind);
        let b = window(&mut self.momentum_buffer, offset, value.len())?;
        run::<1, _>(pass.writes(), &rule, value, grad, [b])
    }

    /// Proves the update finite from the bounds `P`, `G` and `B = Σ|b|` (see
    /// [`Optimizer::proven`]), with `α`, `μ`, `λ ≥ 0` and `τ` finite
    /// ([`SgdMomentumConfig::check`]):
    ///
    /// ```text
    /// d = g + λθ                     D = G + λP
    /// b' = d, or μb + (1 − τ)d       B' = D, or B·μ + |1 − τ|·D
    /// d' = d + μb' (Nesterov) or b'  D' = D + μB', or B'
    /// θ' = θ − αd'                   P' = P + α·D'
    /// ```
    ///
    /// Finite `P'` and `B'` prove every written value finite, with no NaN on the way.
    /// On the first step the buffer is not read (`b' = d`), and not bounded.
    fn proven(&self, bounds: Bounds) -> bool {
        let c = &self.config;
        let d = bounds.grad + c.weight_decay * bounds.value;
        let b = if self.steps == 0 {
            d
        } else {
            magnitude(&self.momentum_buffer) * c.momentum + (1.0 - c.dampening).abs() * d
        };
        let d = if c.nesterov { d + c.momentum * b } else { b };
        let p = bounds.value + c.lr * d;
        p.is_finite() && b.is_finite()
    }

    fn update_proven(
        &mut self,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        let rule = self.rule(kind);
        let b = window(&mut self.momentum_buffer, offset, value.len())?;
        run_proven::<1, _>(&rule, value, grad, [b])
    }
}

impl<const P: usize> SgdMomentum<P> {
    /// The rule of the next step for a tensor of `kind`.
    fn rule(&self, kind: ParamKind) -> SgdRule {
        let c = &self.config;
        SgdRule {
            lr: c.lr,
            weight_decay: decay(c.weight_decay, c.decay_biases, kind),
            momentum: c.momentum,
            dampening: c.dampening,
            nesterov: c.nesterov,
            first: self.steps == 0,
        }
    }
}

/// Checkpoint part: the learning rate, the step count and the momentum buffer; the
/// configuration is the caller's code and is not saved.
impl<const P: usize> Persist for SgdMomentum<P> {
    const BYTES: usize = 4 + 4 + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"SGDM"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32s(&self.momentum_buffer);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32s_where(&mut self.momentum_buffer, "SGD momentum", f32::is_finite)?;
        Ok(())
    }
}

/// Checkpoint part: the learning rate; the configuration is the caller's code and is
/// not saved.
impl Persist for Sgd {
    const BYTES: usize = 4;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"SGD "));
        w.f32(self.lr);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.lr)?;
        Ok(())
    }
}
