//! AdaGrad (PyTorch: `torch.optim.Adagrad`).

use super::configure::Configure;
use super::Pass;
use super::{decay, window, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::optim::{run, Lane, Rule};
use crate::layers::ParamKind;
use crate::tensor::Zeroed;
use crate::Error;

/// Configuration of [`Adagrad`]; `Default` is PyTorch's (lr 1e-2, lr_decay 0,
/// weight_decay 0, initial_accumulator_value 0, eps 1e-10).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::optim::AdagradConfig::default().eps, 1e-10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate `η`.
    pub lr: f32,
    /// `k` in the decayed rate `η/(1 + (t − 1)k)`.
    pub lr_decay: f32,
    /// L2 weight decay `λ` added to the gradient.
    pub weight_decay: f32,
    /// The starting value of the accumulator `G`.
    pub initial_accumulator_value: f32,
    /// `ε`, added to `√G`.
    pub eps: f32,
    /// Whether weight decay also applies to biases (default `true`, as PyTorch).
    pub decay_biases: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig::DEFAULT
    }
}

impl AdagradConfig {
    /// PyTorch's `torch.optim.Adagrad` defaults (lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10), as a constant equal to
    /// `Default::default()`: a `static` trainer needs no field written out.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, train::Trainer};
    /// use microtrain::optim::{Adagrad, AdagradConfig};
    /// // Dense<3, 1> has 3 weights and 1 bias: Adagrad<4>.
    /// static TRAINER: Trainer<Dense<3, 1>, Mse, Adagrad<4>, 8, 3, 1> =
    ///     Trainer::new(Dense::zeros(), Mse, Adagrad::new(AdagradConfig::DEFAULT.with_lr(0.1)), 0);
    /// assert_eq!(AdagradConfig::DEFAULT, AdagradConfig::default());
    /// ```
    pub const DEFAULT: AdagradConfig = AdagradConfig {
        lr: 1e-2,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 1e-10,
        decay_biases: true,
    };

    /// This configuration with learning rate `lr`.
    ///
    /// # Examples
    ///
    /// See [`AdagradConfig::DEFAULT`].
    pub const fn with_lr(self, lr: f32) -> Self {
        AdagradConfig { lr, ..self }
    }
}

impl AdagradConfig {
    /// Checks every setting as PyTorch's `torch.optim.Adagrad` constructor does (`lr` finite and ≥ 0; `lr_decay` finite and ≥ 0; `weight_decay` finite and ≥ 0; `initial_accumulator_value` finite and ≥ 0; `eps` finite and ≥ 0);
    /// infinities and NaN are refused too.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{optim::AdagradConfig, Error};
    /// assert!(AdagradConfig::default().check().is_ok());
    /// let bad = AdagradConfig { lr_decay: -0.5, ..Default::default() };
    /// assert_eq!(bad.check(), Err(Error::Setting { name: "Adagrad lr_decay", value: -0.5, rule: "finite and at least 0" }));
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        check::ok!(check::non_negative("Adagrad lr", self.lr));
        check::ok!(check::non_negative("Adagrad lr_decay", self.lr_decay));
        check::ok!(check::non_negative(
            "Adagrad weight_decay",
            self.weight_decay
        ));
        check::ok!(check::non_negative(
            "Adagrad initial_accumulator_value",
            self.initial_accumulator_value
        ));
        check::ok!(check::non_negative("Adagrad eps", self.eps));
        Ok(())
    }
}

/// AdaGrad for `P` parameters (Duchi et al. 2011): each parameter's rate shrinks with
/// the sum of its squared gradients.
///
/// ```text
/// g ← g + λθ      G ← G + g²      θ ← θ − η/(1 + (t − 1)k) · g/(√G + ε)
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Adagrad, AdagradConfig, Optimizer};
/// let mut opt = Adagrad::<1>::new(AdagradConfig { lr: 0.5, ..Default::default() });
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[2.0])?; // G = 4: θ − 0.5·2/2
/// assert_eq!(w, [0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adagrad<const P: usize> {
    /// The configuration; change it between steps at will (but
    /// `initial_accumulator_value` only acts before the first step).
    pub config: AdagradConfig,
    sum_of_squares: [f32; P],
    steps: u32,
}

struct AdagradRule {
    clr: f32,
    l2: f32,
    eps: f32,
}

impl Rule<1> for AdagradRule {
    fn apply<L: Lane>(&self, p: L, g: L, [sum]: [L; 1]) -> (L, [L; 1]) {
        let g = if self.l2 != 0.0 {
            g + L::splat(self.l2) * p
        } else {
            g
        };
        let sum = sum + g * g;
        let std = sum.sqrt() + L::splat(self.eps);
        (p - L::splat(self.clr) * (g / std), [sum])
    }
}

impl<const P: usize> Adagrad<P> {
    /// A fresh optimizer, after checking `config` ([`AdagradConfig::check`]); usable in a
    /// `const` or `static`. [`new`](Adagrad::new) does not check, but
    /// [`Optimizer::step`] refuses a bad configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adagrad, AdagradConfig};
    /// assert!(Adagrad::<2>::try_new(AdagradConfig::default()).is_ok());
    /// assert!(Adagrad::<2>::try_new(AdagradConfig { lr_decay: -0.5, ..Default::default() }).is_err());
    /// ```
    pub const fn try_new(config: AdagradConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        Ok(Self::new(config))
    }

    /// A fresh optimizer whose accumulator holds `initial_accumulator_value`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adagrad, AdagradConfig};
    /// let _ = Adagrad::<3>::new(AdagradConfig::default());
    /// ```
    pub const fn new(config: AdagradConfig) -> Self {
        Adagrad {
            config,
            sum_of_squares: [config.initial_accumulator_value; P],
            steps: 0,
        }
    }
}

/// All zero (the accumulators too), a placeholder for [`Configure::reset`] (see
/// [`Adam`](super::Adam)'s).
impl<const P: usize> Zeroed for Adagrad<P> {
    const ZERO: Self = Adagrad::new(AdagradConfig {
        lr: 0.0,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 0.0,
        decay_biases: false,
    });
}

impl<const P: usize> Configure for Adagrad<P> {
    type Config = AdagradConfig;

    fn config(&self) -> AdagradConfig {
        self.config
    }

    fn reset(&mut self, config: AdagradConfig) {
        self.config = config;
        self.sum_of_squares.fill(config.initial_accumulator_value);
        self.steps = 0;
    }
}

impl<const P: usize> Optimizer for Adagrad<P> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 4 * P + 4;

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
        let t = self.steps.saturating_add(1) as f32;
        let rule = AdagradRule {
            clr: c.lr / (1.0 + (t - 1.0) * c.lr_decay),
            l2: decay(c.weight_decay, c.decay_biases, kind),
            eps: c.eps,
        };
        let sum = window(&mut self.sum_of_squares, offset, value.len())?;
        run(pass.writes(), &rule, value, grad, [sum])
    }
}

/// Checkpoint part: the learning rate, the step count and the sums of squares; the
/// configuration is the caller's code and is not saved.
impl<const P: usize> Persist for Adagrad<P> {
    const BYTES: usize = 4 + 4 + 4 * P;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"ADAG"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32s(&self.sum_of_squares);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32s_where(
            &mut self.sum_of_squares,
            "Adagrad sum of squares",
            |v: f32| v.is_finite() && v >= 0.0,
        )?;
        Ok(())
    }
}
