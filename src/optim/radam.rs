//! Rectified Adam (PyTorch: `torch.optim.RAdam`).

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

/// Configuration of [`RAdam`]; `Default` is PyTorch's (lr 1e-3, betas (0.9, 0.999),
/// eps 1e-8, no weight decay, L2 rather than decoupled decay).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::optim::RAdamConfig::default().lr, 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RAdamConfig {
    /// Learning rate `η`.
    pub lr: f32,
    /// `(β₁, β₂)`.
    pub betas: (f32, f32),
    /// `ε`.
    pub eps: f32,
    /// Weight decay `λ` (L2 in the gradient, or decoupled).
    pub weight_decay: f32,
    /// Decoupled weight decay `θ ← θ(1 − ηλ)` as in AdamW.
    pub decoupled_weight_decay: bool,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        RAdamConfig::DEFAULT
    }
}

impl RAdamConfig {
    /// PyTorch's `torch.optim.RAdam` defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0), as a constant equal to
    /// `Default::default()`: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{RAdam, RAdamConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: RAdam<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, RAdam<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, RAdam::new(RAdamConfig::DEFAULT.with_lr(0.01)), 0);
    /// assert_eq!(RAdamConfig::DEFAULT, RAdamConfig::default());
    /// ```
    pub const DEFAULT: RAdamConfig = RAdamConfig {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`RAdamConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        RAdamConfig { lr, ..self }
    }
}

impl RAdamConfig {
    /// Checks every setting as PyTorch's `torch.optim.RAdam` constructor does (`lr` finite and ≥ 0; `betas.0` in [0, 1); `betas.1` in [0, 1); `eps` finite and ≥ 0; `weight_decay` finite and ≥ 0);
    /// infinities and NaN are refused too.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::RAdamConfig, Error};
    /// assert!(RAdamConfig::default().check().is_ok());
    /// let bad = RAdamConfig { eps: -1.0, ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "RAdam eps", value: -1.0, rule: "finite and at least 0" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("RAdam lr", self.lr));
        check::ok!(check::fraction("RAdam betas.0", self.betas.0));
        check::ok!(check::fraction("RAdam betas.1", self.betas.1));
        check::ok!(check::non_negative("RAdam eps", self.eps));
        check::ok!(check::non_negative("RAdam weight_decay", self.weight_decay));
        Ok(())
    }
}

/// RAdam for `P` parameters (Liu et al. 2019). Adam's moments, but the adaptive step
/// is used only once the variance of `v̂` is tractable:
///
/// ```text
/// ρ∞ = 2/(1 − β₂) − 1          ρₜ = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
/// ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
///          θ ← θ − η·m̂·r·√(1 − β₂ᵗ)/(√v + ε)
/// ρₜ ≤ 5:  θ ← θ − η·m̂           (momentum SGD, the first steps)
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, RAdam, RAdamConfig};
/// let mut opt = RAdam::<1>::new(RAdamConfig { lr: 0.1, ..Default::default() });
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[0.5])?;   // ρ₁ ≤ 5: θ − η·m̂ = 1 − 0.1·0.5
/// assert!((w[0] - 0.95).abs() < 1e-6);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RAdam<const P: usize> {
    /// The configuration; change it between steps at will.
    pub config: RAdamConfig,
    first_moment: [f32; P],
    second_moment: [f32; P],
    steps: u32,
}

struct RAdamRule {
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: Decay,
    bias_correction1: f32,
    lr: f32,
    /// `Some((r, √(1 − β₂ᵗ)))` when `ρₜ > 5`.
    rectified: Option<(f32, f32)>,
}

impl Rule<2> for RAdamRule {
    fn apply<L: Lane>(&self, p: L, g: L, [m, v]: [L; 2]) -> (L, [L; 2]) {
        let (p, g) = self.decay.apply(p, g);
        let (m, v) = moments(m, v, g, self.beta1, self.beta2);
        let m_hat = m / L::splat(self.bias_correction1);
        let p = match self.rectified {
            Some((r, bc2_sqrt)) => {
                let adaptive = L::splat(bc2_sqrt)
                    / (v.sqrt() + L::splat(self.eps)).max(L::splat(f32::MIN_POSITIVE));
                p - m_hat * L::splat(self.lr) * adaptive * L::splat(r)
            }
            None => p - m_hat * L::splat(self.lr),
        };
        (p, [m, v])
    }
}

impl<const P: usize> RAdam<P> {
    /// A fresh optimizer, after checking `config` ([`RAdamConfig::check`]); usable in a
    /// `const` or `static`. [`new`](RAdam::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RAdam, RAdamConfig};
    /// assert!(RAdam::<2>::try_new(RAdamConfig::default()).is_ok());
    /// assert!(RAdam::<2>::try_new(RAdamConfig { eps: -1.0, ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: RAdamConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RAdam, RAdamConfig};
    /// let _ = RAdam::<3>::new(RAdamConfig::default());
    /// ```
    pub const fn new(config: RAdamConfig) -> Self {
        RAdam {
            config,
            first_moment: [0.0; P],
            second_moment: [0.0; P],
            steps: 0,
        }
    }
}

/// All zero, a placeholder for [`Configure::reset`] (see [`Adam`](super::Adam)'s).
impl<const P: usize> Zeroed for RAdam<P> {
    const ZERO: Self = RAdam::new(RAdamConfig {
        lr: 0.0,
        betas: (0.0, 0.0),
        eps: 0.0,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
        decay_biases: false,
    });
}

impl<const P: usize> Configure for RAdam<P> {
    type Config = RAdamConfig;

    fn config(&self) -> RAdamConfig {
        self.config
    }

    fn reset(&mut self, config: RAdamConfig) {
        self.config = config;
        self.first_moment.fill(0.0);
        self.second_moment.fill(0.0);
        self.steps = 0;
    }
}

impl<const P: usize> Optimizer for RAdam<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 2 * 4 * P + 4;

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
        let c = &self.config;
        let steps = self.steps.saturating_add(1);
        let t = steps as f32;
        let (beta1, beta2) = c.betas;
        let wd = decay(c.weight_decay, c.decay_biases, kind);
        let (beta2_t, bias_correction2) = math::pow_complement(beta2, steps);
        let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * beta2_t / bias_correction2;
        let rectified = (rho_t > 5.0).then(|| {
            let r = math::sqrt(
                (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
            );
            (r, math::sqrt(bias_correction2))
        });
        let rule = RAdamRule {
            beta1,
            beta2,
            eps: c.eps,
            decay: Decay::new(wd, c.decoupled_weight_decay, c.lr),
            bias_correction1: math::pow_complement(beta1, steps).1,
            lr: c.lr,
            rectified,
        };
        let len = value.len();
        let m = window(&mut self.first_moment, offset, len)?;
        let v = window(&mut self.second_moment, offset, len)?;
        run(pass.writes(), &rule, value, grad, [m, v])
    }
}

/// Checkpoint part: the learning rate, the step count and the moments; the
/// configuration is the caller's code and is not saved.
impl<const P: usize> Persist for RAdam<P> {
    const BYTES: usize = 4 + 4 + 4 * P + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"RADM"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32s(&self.first_moment);
        w.f32s(&self.second_moment);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32s_where(&mut self.first_moment, "RAdam m", f32::is_finite)?;
        r.f32s_where(&mut self.second_moment, "RAdam v", non_negative)?;
        Ok(())
    }
}
