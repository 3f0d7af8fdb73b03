//! Adam, AMSGrad and AdamW (PyTorch: `torch.optim.Adam`, `torch.optim.AdamW`).

use super::configure::Configure;
use super::Pass;
use super::{decay, window, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::math;
use crate::kernels::optim::{moments, run, Decay, Lane, Rule};
use crate::layers::ParamKind;
use crate::tensor::Zeroed;
use crate::Error;

/// Configuration of [`Adam`]. `Default` is PyTorch's `Adam` (lr 1e-3, betas
/// (0.9, 0.999), eps 1e-8, no weight decay, no AMSGrad); [`AdamConfig::adamw`] is
/// PyTorch's `AdamW` (decoupled weight decay 1e-2).
///
/// # Examples
///
/// ```
/// use microtrain::optim::AdamConfig;
/// assert_eq!(AdamConfig::default().betas, (0.9, 0.999));
/// assert!(AdamConfig::adamw().decoupled_weight_decay);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate `η`.
    pub lr: f32,
    /// `(β₁, β₂)`, the decay rates of the first and second moment estimates.
    pub betas: (f32, f32),
    /// `ε`, added to `√v̂` in the denominator.
    pub eps: f32,
    /// Weight decay `λ`: added to the gradient as `λθ` (L2, Adam), or applied as
    /// `θ ← θ(1 − ηλ)` before the update when `decoupled_weight_decay` (AdamW).
    pub weight_decay: f32,
    /// AMSGrad: divide by the running maximum of `v̂` instead of `v̂`.
    pub amsgrad: bool,
    /// Decoupled weight decay (AdamW, Loshchilov & Hutter).
    pub decoupled_weight_decay: bool,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig::DEFAULT
    }
}

impl AdamConfig {
    /// Checks every setting as PyTorch's `torch.optim.Adam` constructor does (`lr` finite and ≥ 0; `betas.0` in [0, 1); `betas.1` in [0, 1); `eps` finite and ≥ 0; `weight_decay` finite and ≥ 0);
    /// infinities and NaN are refused too.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::AdamConfig, Error};
    /// assert!(AdamConfig::default().check().is_ok());
    /// let bad = AdamConfig { betas: (1.0, 0.999), ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "Adam betas.0", value: 1.0, rule: "in [0, 1)" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Adam lr", self.lr));
        check::ok!(check::fraction("Adam betas.0", self.betas.0));
        check::ok!(check::fraction("Adam betas.1", self.betas.1));
        check::ok!(check::non_negative("Adam eps", self.eps));
        check::ok!(check::non_negative("Adam weight_decay", self.weight_decay));
        Ok(())
    }
}

impl AdamConfig {
    /// PyTorch's `torch.optim.Adam` defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no
    /// weight decay), as a constant: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{Adam, AdamConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: Adam<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, Adam<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Adam::new(AdamConfig::DEFAULT.with_lr(0.01)), 0);
    /// assert_eq!(AdamConfig::DEFAULT, AdamConfig::default());
    /// ```
    pub const DEFAULT: AdamConfig = AdamConfig {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        amsgrad: false,
        decoupled_weight_decay: false,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`AdamConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        AdamConfig { lr, ..self }
    }

    /// PyTorch's `AdamW` defaults: Adam's, with decoupled weight decay 1e-2.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::optim::AdamConfig::adamw().weight_decay, 0.01);
    /// ```
    pub const fn adamw() -> Self {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..AdamConfig::DEFAULT
        }
    }
}

/// Adam for `P` parameters, with the seed's update (`t` counts steps from 1):
///
/// ```text
/// m ← β₁m + (1 − β₁)g            v ← β₂v + (1 − β₂)g²
/// m̂ = m/(1 − β₁ᵗ)                v̂ = v/(1 − β₂ᵗ)
/// θ ← θ − η·m̂/(√v̂ + ε)
/// ```
///
/// computed as PyTorch does: `θ ← θ − (η/(1 − β₁ᵗ))·m/(√v/√(1 − β₂ᵗ) + ε)`. The bias
/// corrections undo the zero start of `m` and `v`. The denominator is floored at the
/// smallest normal `f32`, which only matters for `ε = 0` (allowed, as in PyTorch): a
/// parameter whose gradients have all been 0 then stays put, where PyTorch computes
/// `0/0 = NaN`. State: `m`, `v` and, for AMSGrad,
/// `v_max`: `3·4·P` bytes plus the step count.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Adam, AdamConfig, Optimizer};
/// let mut adam = Adam::<1>::new(AdamConfig { lr: 0.1, ..Default::default() });
/// let mut w = [1.0];
/// adam.step_slice(&mut w, &[0.5])?;
/// // The first step moves by about η·sign(g).
/// assert!((w[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam<const P: usize> {
    /// The configuration; change it between steps at will.
    pub config: AdamConfig,
    first_moment: [f32; P],
    second_moment: [f32; P],
    max_second_moment: [f32; P],
    steps: u32,
}

struct AdamRule {
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: Decay,
    step_size: f32,
    bias_correction2_sqrt: f32,
    amsgrad: bool,
}

impl Rule<3> for AdamRule {
    fn apply<L: Lane>(&self, p: L, g: L, [m, v, v_max]: [L; 3]) -> (L, [L; 3]) {
        let (p, g) = self.decay.apply(p, g);
        let (m, v) = moments(m, v, g, self.beta1, self.beta2);
        let v_max = if self.amsgrad { v_max.max(v) } else { v_max };
        let v_used = if self.amsgrad { v_max } else { v };
        // The floor only acts when ε = 0 and v = 0 (then m = 0 too): the update is 0
        // there instead of PyTorch's 0/0 = NaN.
        let denom = (v_used.sqrt() / L::splat(self.bias_correction2_sqrt) + L::splat(self.eps))
            .max(L::splat(f32::MIN_POSITIVE));
        (p - L::splat(self.step_size) * (m / denom), [m, v, v_max])
    }
}

impl<const P: usize> Adam<P> {
    /// A fresh optimizer, after checking `config` ([`AdamConfig::check`]); usable in a
    /// `const` or `static`. [`new`](Adam::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig};
    /// assert!(Adam::<2>::try_new(AdamConfig::default()).is_ok());
    /// assert!(Adam::<2>::try_new(AdamConfig { betas: (1.0, 0.999), ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: AdamConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer (no steps taken, moments zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig};
    /// let adam = Adam::<4>::new(AdamConfig::default());
    /// assert_eq!(adam.steps(), 0);
    /// ```
    pub const fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            first_moment: [0.0; P],
            second_moment: [0.0; P],
            max_second_moment: [0.0; P],
            steps: 0,
        }
    }

    /// Steps taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig, Optimizer};
    /// let mut adam = Adam::<1>::new(AdamConfig::default());
    /// adam.step_slice(&mut [0.0], &[1.0])?;
    /// assert_eq!(adam.steps(), 1);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The first and second moment estimates `(m, v)`, in canonical parameter order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig, Optimizer};
    /// let mut adam = Adam::<1>::new(AdamConfig::default());
    /// adam.step_slice(&mut [0.0], &[2.0])?;
    /// let (m, v) = adam.moments();
    /// // m = (1 − β₁)·2, v = (1 − β₂)·4, with β₂ = 0.999 rounded to f32.
    /// assert!((m[0] - 0.2).abs() < 1e-7 && (v[0] / 0.004 - 1.0).abs() < 2e-5);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn moments(&self) -> (&[f32; P], &[f32; P]) {
        (&self.first_moment, &self.second_moment)
    }
}

/// All zero: learning rate, betas and eps 0, empty moments; a placeholder that
/// [`Configure::reset`] turns into a fresh optimizer.
impl<const P: usize> Zeroed for Adam<P> {
    const ZERO: Self = Adam::new(AdamConfig {
        lr: 0.0,
        betas: (0.0, 0.0),
        eps: 0.0,
        weight_decay: 0.0,
        amsgrad: false,
        decoupled_weight_decay: false,
        decay_biases: false,
    });
}

impl<const P: usize> Configure for Adam<P> {
    type Config = AdamConfig;

    fn config(&self) -> AdamConfig {
        self.config
    }

    fn reset(&mut self, config: AdamConfig) {
        self.config = config;
        self.first_moment.fill(0.0);
        self.second_moment.fill(0.0);
        self.max_second_moment.fill(0.0);
        self.steps = 0;
    }
}

impl<const P: usize> Optimizer for Adam<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 3 * 4 * P + 4;

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
        let t = self.steps.saturating_add(1);
        let wd = decay(c.weight_decay, c.decay_biases, kind);
        let rule = AdamRule {
            beta1: c.betas.0,
            beta2: c.betas.1,
            eps: c.eps,
            decay: Decay::new(wd, c.decoupled_weight_decay, c.lr),
            step_size: c.lr / math::pow_complement(c.betas.0, t).1,
            bias_correction2_sqrt: math::sqrt(math::pow_complement(c.betas.1, t).1),
            amsgrad: c.amsgrad,
        };
        let len = value.len();
        let m = window(&mut self.first_moment, offset, len)?;
        let v = window(&mut self.second_moment, offset, len)?;
        let v_max = window(&mut self.max_second_moment, offset, len)?;
        run(pass.writes(), &rule, value, grad, [m, v, v_max])
    }
}

/// Checkpoint part: the learning rate, the step count and the moments `m`, `v`,
/// `v_max`; the configuration is the caller's code and is not saved.
impl<const P: usize> Persist for Adam<P> {
    const BYTES: usize = 4 + 4 + 4 * P + 4 * P + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"ADAM"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32s(&self.first_moment);
        w.f32s(&self.second_moment);
        w.f32s(&self.max_second_moment);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32s(&mut self.first_moment)?;
        r.f32s(&mut self.second_moment)?;
        r.f32s(&mut self.max_second_moment)?;
        Ok(())
    }
}
