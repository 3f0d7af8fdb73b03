//! RMSProp (PyTorch: `torch.optim.RMSprop`).
//!
//! The buffers of the two options are part of the type: `RmsProp<P>` keeps only the
//! mean square, `RmsProp<P, P, 0>` adds the mean gradient for `centered`,
//! `RmsProp<P, 0, P>` the momentum buffer, `RmsProp<P, P, P>` both; an option that is
//! off costs no memory.

use super::configure::Configure;
use super::Pass;
use super::{decay, non_negative, window, Optimizer};
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
    /// Momentum `μ` (0 for none). Above 0 it needs the momentum buffer,
    /// `RmsProp<P, C, P>`: `RmsProp<P>` refuses it ([`Optimizer::check`]).
    pub momentum: f32,
    /// Centred: divide by an estimate of the gradient's standard deviation instead of
    /// its root mean square. Needs the mean-gradient buffer, `RmsProp<P, P, M>`:
    /// `RmsProp<P>` refuses it ([`Optimizer::check`]).
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
    /// infinities and NaN are refused too. Whether `centered` and `momentum` fit the
    /// optimizer's buffers is checked by [`RmsProp::try_new`] and
    /// [`Optimizer::check`], which know them.
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
/// State: `s` (PyTorch's `square_avg`), `4·P` bytes; `ḡ` (`grad_avg`), `4·C`
/// bytes, with `C` 0 or `P`; `b` (`momentum_buffer`), `4·M` bytes, with `M` 0 or `P`.
/// `centered` needs `C = P` and a momentum above 0 needs `M = P`: without its buffer
/// the option is refused ([`Optimizer::check`]); with the buffer and the option off,
/// the step is exactly that of `RmsProp<P>` and the buffer is left alone.
///
/// | type               | options it can run           | state bytes |
/// |--------------------|------------------------------|-------------|
/// | `RmsProp<P>`       | plain                        | `4·P`       |
/// | `RmsProp<P, P, 0>` | + centred                    | `8·P`       |
/// | `RmsProp<P, 0, P>` | + momentum                   | `8·P`       |
/// | `RmsProp<P, P, P>` | + centred, + momentum        | `12·P`      |
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Optimizer, RmsProp, RmsPropConfig};
/// let mut opt = RmsProp::<1>::new(RmsPropConfig { lr: 0.1, alpha: 0.75, eps: 0.0, ..Default::default() });
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[2.0])?; // s = 0.25·4 = 1: θ − 0.1·2/1
/// assert!((w[0] - 0.8).abs() < 1e-7);
///
/// // Centred with momentum keeps all three buffers.
/// let both = RmsPropConfig { centered: true, momentum: 0.9, ..Default::default() };
/// assert!(RmsProp::<1>::new(both).step_slice(&mut w, &[1.0]).is_err());
/// RmsProp::<1, 1, 1>::new(both).step_slice(&mut w, &[1.0])?;
/// assert_eq!(RmsProp::<1, 1, 1>::STATE_BYTES, 12);
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// `C` and `M` must be 0 or `P`:
///
/// ```compile_fail,E0080
/// use microtrain::optim::{RmsProp, RmsPropConfig};
/// let _ = RmsProp::<4, 4, 1>::new(RmsPropConfig::DEFAULT); // M is neither 0 nor P
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp<const P: usize, const C: usize = 0, const M: usize = 0> {
    /// The configuration; change it between steps at will.
    pub config: RmsPropConfig,
    square_avg: [f32; P],
    grad_avg: [f32; C],
    momentum_buffer: [f32; M],
}

struct RmsPropRule {
    lr: f32,
    alpha: f32,
    eps: f32,
    l2: f32,
    momentum: f32,
}

impl RmsPropRule {
    /// The update of one element (or a vector) of `θ`, `s`, `ḡ` and `b`, the centring
    /// and the momentum each left out when its flag is `false` (a constant of each
    /// [`Options`] rule, which reads and writes only the buffers it uses).
    #[inline(always)]
    fn apply_with<L: Lane>(
        &self,
        [centered, momentum]: [bool; 2],
        p: L,
        g: L,
        [s, gbar, b]: [L; 3],
    ) -> (L, [L; 3]) {
        let g = if self.l2 != 0.0 {
            g + L::splat(self.l2) * p
        } else {
            g
        };
        let s = s * L::splat(self.alpha) + L::splat(1.0 - self.alpha) * g * g;
        let (gbar, root) = if centered {
            let gbar = gbar + L::splat(1.0 - self.alpha) * (g - gbar);
            // `s − ḡ²` is a variance and ≥ 0 in exact arithmetic; rounding can push it
            // below 0 (a constant gradient), where PyTorch's root is NaN. Clamped at 0.
            (gbar, (s - gbar * gbar).max(L::splat(0.0)).sqrt())
        } else {
            (gbar, s.sqrt())
        };
        let d = root + L::splat(self.eps);
        if momentum {
            let b = b * L::splat(self.momentum) + g / d;
            (p - L::splat(self.lr) * b, [s, gbar, b])
        } else {
            (p - L::splat(self.lr) * (g / d), [s, gbar, b])
        }
    }
}

/// RMSprop's rule for the options that are on: `CENTERED` reads and writes `ḡ`,
/// `MOMENTUM` reads and writes `b`; the state arrays are `[s]`, `[s, ḡ]`, `[s, b]` or
/// `[s, ḡ, b]`.
struct Options<const CENTERED: bool, const MOMENTUM: bool>(RmsPropRule);

impl Rule<1> for Options<false, false> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, [s]: [L; 1]) -> (L, [L; 1]) {
        let (p, [s, _, _]) = self.0.apply_with([false, false], p, g, [s, s, s]);
        (p, [s])
    }
}

impl Rule<2> for Options<true, false> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, [s, gbar]: [L; 2]) -> (L, [L; 2]) {
        let (p, [s, gbar, _]) = self.0.apply_with([true, false], p, g, [s, gbar, s]);
        (p, [s, gbar])
    }
}

impl Rule<2> for Options<false, true> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, [s, b]: [L; 2]) -> (L, [L; 2]) {
        let (p, [s, _, b]) = self.0.apply_with([false, true], p, g, [s, s, b]);
        (p, [s, b])
    }
}

impl Rule<3> for Options<true, true> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; 3]) -> (L, [L; 3]) {
        self.0.apply_with([true, true], p, g, s)
    }
}

impl<const P: usize, const C: usize, const M: usize> RmsProp<P, C, M> {
    /// A fresh optimizer, after checking `config` ([`RmsPropConfig::check`], and each
    /// option only with its buffer); usable in a `const` or `static`.
    /// [`new`](RmsProp::new) does not check, but [`Optimizer::step`] refuses a bad
    /// configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting; `"RmsProp centered"` (value 1)
    /// without the `ḡ` buffer (`C = 0`), `"RmsProp momentum"` (its value) above 0
    /// without the momentum buffer (`M = 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RmsProp, RmsPropConfig};
    /// assert!(RmsProp::<2>::try_new(RmsPropConfig::default()).is_ok());
    /// assert!(RmsProp::<2>::try_new(RmsPropConfig { lr: -0.01, ..Default::default() }).is_err());
    /// let momentum = RmsPropConfig { momentum: 0.9, ..Default::default() };
    /// assert!(RmsProp::<2>::try_new(momentum).is_err()); // no momentum buffer
    /// assert!(RmsProp::<2, 0, 2>::try_new(momentum).is_ok());
    /// ```
    pub const fn try_new(config: RmsPropConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        check::ok!(Self::fits(&config));
        Ok(Self::new(config))
    }

    /// A fresh optimizer. `C` or `M` other than 0 or `P` fails to compile here.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{RmsProp, RmsPropConfig};
    /// let _ = RmsProp::<3>::new(RmsPropConfig::default());
    /// ```
    pub const fn new(config: RmsPropConfig) -> Self {
        const {
            assert!(
                C == 0 || C == P,
                "RmsProp<P, C, M>: C, the length of the centred buffer, must be 0 or P"
            );
            assert!(
                M == 0 || M == P,
                "RmsProp<P, C, M>: M, the length of the momentum buffer, must be 0 or P"
            );
        };
        RmsProp {
            config,
            square_avg: [0.0; P],
            grad_avg: [0.0; C],
            momentum_buffer: [0.0; M],
        }
    }

    /// `Ok` unless `config` turns on an option whose buffer this type does not have.
    const fn fits(config: &RmsPropConfig) -> Result<(), Error> {
        if config.centered && C == 0 {
            return check::refuse(
                "RmsProp centered",
                1.0,
                "off without the mean-gradient buffer; centred RMSprop needs RmsProp<P, P, M>",
            );
        }
        if config.momentum > 0.0 && M == 0 {
            return check::refuse(
                "RmsProp momentum",
                config.momentum,
                "0 without the momentum buffer; momentum needs RmsProp<P, C, P>",
            );
        }
        Ok(())
    }
}

/// All zero, a placeholder for [`Configure::reset`] (see [`Adam`](super::Adam)'s).
impl<const P: usize, const C: usize, const M: usize> Zeroed for RmsProp<P, C, M> {
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

impl<const P: usize, const C: usize, const M: usize> Configure for RmsProp<P, C, M> {
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

impl<const P: usize, const C: usize, const M: usize> Optimizer for RmsProp<P, C, M> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 4 * (P + C + M);

    /// [`RmsPropConfig::check`], then each option only with its buffer.
    fn check(&self) -> Result<(), Error> {
        self.config.check()?;
        Self::fits(&self.config)
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
        Self::fits(c)?;
        let rule = RmsPropRule {
            lr: c.lr,
            alpha: c.alpha,
            eps: c.eps,
            l2: decay(c.weight_decay, c.decay_biases, kind),
            momentum: c.momentum,
        };
        let (write, len) = (pass.writes(), value.len());
        let s = window(&mut self.square_avg, offset, len)?;
        match (c.centered, c.momentum > 0.0) {
            (false, false) => run(write, &Options::<false, false>(rule), value, grad, [s]),
            (true, false) => {
                let gbar = window(&mut self.grad_avg, offset, len)?;
                run(write, &Options::<true, false>(rule), value, grad, [s, gbar])
            }
            (false, true) => {
                let b = window(&mut self.momentum_buffer, offset, len)?;
                run(write, &Options::<false, true>(rule), value, grad, [s, b])
            }
            (true, true) => {
                let gbar = window(&mut self.grad_avg, offset, len)?;
                let b = window(&mut self.momentum_buffer, offset, len)?;
                run(
                    write,
                    &Options::<true, true>(rule),
                    value,
                    grad,
                    [s, gbar, b],
                )
            }
        }
    }
}

/// Checkpoint part: the learning rate and the mean square, then the mean gradient and
/// the momentum buffer only if the type has them, each marked in the fingerprint (so
/// `RmsProp<P, P, 0>` and `RmsProp<P, 0, P>`, of equal length, never load into each
/// other); the configuration is the caller's code and is not saved.
impl<const P: usize, const C: usize, const M: usize> Persist for RmsProp<P, C, M> {
    const BYTES: usize = 4 + 4 * P + 4 * C + 4 * M;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"RMSP"));
        w.f32(self.config.lr);
        w.f32s(&self.square_avg);
        if C > 0 {
            w.shape(u32::from_le_bytes(*b"GAVG"));
            w.f32s(&self.grad_avg);
        }
        if M > 0 {
            w.shape(u32::from_le_bytes(*b"MOMB"));
            w.f32s(&self.momentum_buffer);
        }
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        r.f32(&mut self.config.lr)?;
        r.f32s_where(&mut self.square_avg, "RmsProp square_avg", non_negative)?;
        r.f32s_where(&mut self.grad_avg, "RmsProp grad_avg", f32::is_finite)?;
        r.f32s_where(
            &mut self.momentum_buffer,
            "RmsProp momentum",
            f32::is_finite,
        )?;
        Ok(())
    }
}
