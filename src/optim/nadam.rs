//! Adam with Nesterov momentum (PyTorch: `torch.optim.NAdam`).

use super::configure::Configure;
use super::Pass;
use super::{decay, non_negative, window, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::math;
use crate::kernels::optim::{moments, run, Decay, Lane, Rule};
use crate::layers::ParamKind;
use crate::tensor::Zeroed;
use crate::Error;

/// Configuration of [`NAdam`]; `Default` is PyTorch's (lr 2e-3, betas (0.9, 0.999),
/// eps 1e-8, no weight decay, momentum decay 4e-3).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::optim::NAdamConfig::default().momentum_decay, 4e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NAdamConfig {
    /// Learning rate `η`.
    pub lr: f32,
    /// `(β₁, β₂)`.
    pub betas: (f32, f32),
    /// `ε`.
    pub eps: f32,
    /// Weight decay `λ` (L2 in the gradient, or decoupled).
    pub weight_decay: f32,
    /// `ψ`, the momentum decay of the schedule `μₜ`.
    pub momentum_decay: f32,
    /// Decoupled weight decay `θ ← θ(1 − ηλ)` as in AdamW.
    pub decoupled_weight_decay: bool,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        NAdamConfig::DEFAULT
    }
}

impl NAdamConfig {
    /// PyTorch's `torch.optim.NAdam` defaults (lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3), as a constant equal to
    /// `Default::default()`: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{NAdam, NAdamConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: NAdam<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, NAdam<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, NAdam::new(NAdamConfig::DEFAULT.with_lr(0.01)), 0);
    /// assert_eq!(NAdamConfig::DEFAULT, NAdamConfig::default());
    /// ```
    pub const DEFAULT: NAdamConfig = NAdamConfig {
        lr: 2e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        momentum_decay: 4e-3,
        decoupled_weight_decay: false,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`NAdamConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        NAdamConfig { lr, ..self }
    }
}

impl NAdamConfig {
    /// Checks every setting as PyTorch's `torch.optim.NAdam` constructor does (`lr` finite and ≥ 0; `betas.0` in [0, 1); `betas.1` in [0, 1); `eps` finite and ≥ 0; `weight_decay` finite and ≥ 0; `momentum_decay` finite and ≥ 0);
    /// infinities and NaN are refused too.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::NAdamConfig, Error};
    /// assert!(NAdamConfig::default().check().is_ok());
    /// let bad = NAdamConfig { momentum_decay: -1.0, ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "NAdam momentum_decay", value: -1.0, rule: "finite and at least 0" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("NAdam lr", self.lr));
        check::ok!(check::fraction("NAdam betas.0", self.betas.0));
        check::ok!(check::fraction("NAdam betas.1", self.betas.1));
        check::ok!(check::non_negative("NAdam eps", self.eps));
        check::ok!(check::non_negative("NAdam weight_decay", self.weight_decay));
        check::ok!(check::non_negative(
            "NAdam momentum_decay",
            self.momentum_decay
        ));
        Ok(())
    }
}

/// NAdam for `P` parameters (Dozat 2016), with PyTorch's momentum schedule:
///
/// ```text
/// μₜ = β₁(1 − ½·0.96^(tψ))       Πₜ = μ₁⋯μₜ
/// m ← β₁m + (1 − β₁)g           v ← β₂v + (1 − β₂)g²       d = √(v/(1 − β₂ᵗ)) + ε
/// θ ← θ − η(1 − μₜ)/(1 − Πₜ)·g/d − η·μₜ₊₁/(1 − Πₜμₜ₊₁)·m/d
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::optim::{NAdam, NAdamConfig, Optimizer};
/// let mut opt = NAdam::<1>::new(NAdamConfig::default());
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[1.0])?;
/// assert!(w[0] < 1.0);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NAdam<const P: usize> {
    /// The configuration; change it between steps at will.
    pub config: NAdamConfig,
    first_moment: [f32; P],
    second_moment: [f32; P],
    mu_product: f32,
    previous_mu_product: f32,
    steps: u32,
}

struct NAdamRule {
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: Decay,
    bias_correction2: f32,
    grad_coef: f32,
    momentum_coef: f32,
}

impl Rule<2> for NAdamRule {
    fn apply<L: Lane>(&self, p: L, g: L, [m, v]: [L; 2]) -> (L, [L; 2]) {
        let (p, g) = self.decay.apply(p, g);
        let (m, v) = moments(m, v, g, self.beta1, self.beta2);
        // Floored as in Adam: with ε = 0 a parameter whose gradients were all 0 stays.
        let denom = ((v / L::splat(self.bias_correction2)).sqrt() + L::splat(self.eps))
            .max(L::splat(f32::MIN_POSITIVE));
        let p = p + L::splat(self.grad_coef) * (g / denom);
        let p = p + L::splat(self.momentum_coef) * (m / denom);
        (p, [m, v])
    }
}

impl<const P: usize> NAdam<P> {
    /// A fresh optimizer, after checking `config` ([`NAdamConfig::check`]); usable in a
    /// `const` or `static`. [`new`](NAdam::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{NAdam, NAdamConfig};
    /// assert!(NAdam::<2>::try_new(NAdamConfig::default()).is_ok());
    /// assert!(NAdam::<2>::try_new(NAdamConfig { momentum_decay: -1.0, ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: NAdamConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{NAdam, NAdamConfig};
    /// let _ = NAdam::<3>::new(NAdamConfig::default());
    /// ```
    pub const fn new(config: NAdamConfig) -> Self {
        NAdam {
            config,
            first_moment: [0.0; P],
            second_moment: [0.0; P],
            mu_product: 1.0,
            previous_mu_product: 1.0,
            steps: 0,
        }
    }

    fn mu(&self, t: f32) -> f32 {
        self.config.betas.0 * (1.0 - 0.5 * math::powf(0.96, t * self.config.momentum_decay))
    }
}

/// All zero (the `μ` products too), a placeholder for [`Configure::reset`] (see
/// [`Adam`](super::Adam)'s).
impl<const P: usize> Zeroed for NAdam<P> {
    const ZERO: Self = NAdam {
        config: NAdamConfig {
            lr: 0.0,
            betas: (0.0, 0.0),
            eps: 0.0,
            weight_decay: 0.0,
            momentum_decay: 0.0,
            decoupled_weight_decay: false,
            decay_biases: false,
        },
        first_moment: [0.0; P],
        second_moment: [0.0; P],
        mu_product: 0.0,
        previous_mu_product: 0.0,
        steps: 0,
    };
}

impl<const P: usize> Configure for NAdam<P> {
    type Config = NAdamConfig;

    fn config(&self) -> NAdamConfig {
        self.config
    }

    fn reset(&mut self, config: NAdamConfig) {
        self.config = config;
        self.first_moment.fill(0.0);
        self.second_moment.fill(0.0);
        self.mu_product = 1.0;
        self.previous_mu_product = 1.0;
        self.steps = 0;
    }
}

impl<const P: usize> Optimizer for NAdam<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 2 * 4 * P + 12;

    fn check(&self) -> Result<(), Error> {
        self.config.check()
    }

    config_learning_rate!();

    fn begin_step(&mut self) {
        self.steps = self.steps.saturating_add(1);
        self.previous_mu_product = self.mu_product;
        self.mu_product *= self.mu(self.steps as f32);
    }

    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        let c = &self.config;
        let steps = self.steps.saturating_add(1);
        let t = steps as f32;
        let wd = decay(c.weight_decay, c.decay_biases, kind);
        let mu = self.mu(t);
        let mu_next = self.mu(t + 1.0);
        // `Πₜ`, which `begin_step` stores once the step is applied.
        let mu_product = self.mu_product * mu;
        let rule = NAdamRule {
            beta1: c.betas.0,
            beta2: c.betas.1,
            eps: c.eps,
            decay: Decay::new(wd, c.decoupled_weight_decay, c.lr),
            bias_correction2: math::pow_complement(c.betas.1, steps).1,
            grad_coef: -c.lr * (1.0 - mu) / (1.0 - mu_product),
            momentum_coef: -c.lr * mu_next / (1.0 - mu_product * mu_next),
        };
        // The schedule's state is part of the step: a step that would make it (or the
        // coefficients) non-finite is refused like one that would make a parameter so.
        let schedule_finite =
            mu_product.is_finite() && rule.grad_coef.is_finite() && rule.momentum_coef.is_finite();
        let len = value.len();
        let m = window(&mut self.first_moment, offset, len)?;
        let v = window(&mut self.second_moment, offset, len)?;
        run(pass.writes(), &rule, value, grad, [m, v]).map(|finite| finite && schedule_finite)
    }
}

/// Checkpoint part: the learning rate, the step count, the momentum products and the
/// moments; the configuration is the caller's code and is not saved.
impl<const P: usize> Persist for NAdam<P> {
    const BYTES: usize = 4 + 4 + 4 + 4 + 4 * P + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"NADM"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32(self.mu_product);
        w.f32(self.previous_mu_product);
        w.f32s(&self.first_moment);
        w.f32s(&self.second_moment);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32(&mut self.mu_product)?;
        r.f32(&mut self.previous_mu_product)?;
        r.f32s_where(&mut self.first_moment, "NAdam m", f32::is_finite)?;
        r.f32s_where(&mut self.second_moment, "NAdam v", non_negative)?;
        Ok(())
    }
}
