//! Adam, AMSGrad and AdamW (PyTorch: `torch.optim.Adam`, `torch.optim.AdamW`).
//!
//! The AMSGrad buffer `v_max` is part of the type: [`Adam<P>`] keeps none, and
//! [`AmsGrad<P>`] (`Adam<P, P>`) keeps one float per parameter, so a model trained
//! without AMSGrad does not pay `4·P` bytes for it.

use super::configure::Configure;
use super::Pass;
use super::{decay, non_negative, try_then_apply, window, Bounds, Optimizer};
use crate::check;
use crate::checkpoint::{Persist, Reader, Writer};
use crate::kernels::math;
use crate::kernels::optim::{
    magnitude, moments, nonnegative_magnitude, run, run_proven, Decay, Lane, Rule,
};
use crate::layers::{Param, ParamKind, Params};
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
    /// AMSGrad: divide by the running maximum of `v̂` instead of `v̂` (PyTorch:
    /// `amsgrad=True`). Needs the `v_max` buffer, [`AmsGrad<P>`] (`Adam<P, P>`):
    /// [`Adam<P>`] refuses it ([`Optimizer::check`]).
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
    /// infinities and NaN are refused too. Whether `amsgrad` fits the optimizer's
    /// buffers is checked by [`Adam::try_new`] and [`Optimizer::check`], which know them.
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
/// `0/0 = NaN`.
///
/// `V` is the length of the AMSGrad buffer `v_max`: 0 (the default, PyTorch's default
/// Adam) or `P` ([`AmsGrad<P>`]); any other `V` does not compile. State: `m`
/// (PyTorch's `exp_avg`) and `v` (`exp_avg_sq`), `2·4·P` bytes, plus `4·V` bytes of
/// `v_max` (`max_exp_avg_sq`), the step count and 8 bytes of bounds of `m` and `v`
/// recorded by the last proven step. `Adam<P>` refuses
/// `amsgrad: true` ([`Optimizer::check`]); `Adam<P, P>` with `amsgrad: false` steps
/// exactly as `Adam<P>` and leaves `v_max` alone.
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
///
/// `V` must be 0 or `P`:
///
/// ```compile_fail,E0080
/// use microtrain::optim::{Adam, AdamConfig};
/// let _ = Adam::<4, 2>::new(AdamConfig::DEFAULT); // "V must be 0 (Adam) or P (AmsGrad)"
/// ```
#[derive(Clone, Copy)]
pub struct Adam<const P: usize, const V: usize = 0> {
    /// The configuration; change it between steps at will.
    pub config: AdamConfig,
    first_moment: [f32; P],
    second_moment: [f32; P],
    max_second_moment: [f32; V],
    steps: u32,
    /// Bounds of `m` and `v` recorded by the last proven step, if nothing has changed
    /// them since (see [`Optimizer::proven`] below); all zero (no record) otherwise.
    recorded: Recorded,
}

/// Equal configuration, moments and step count: the recorded bounds (see
/// [`Adam::recorded_bounds`]) are a cache that only decides whether a step scans the
/// state, never its bits.
impl<const P: usize, const V: usize> PartialEq for Adam<P, V> {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.first_moment == other.first_moment
            && self.second_moment == other.second_moment
            && self.max_second_moment == other.max_second_moment
            && self.steps == other.steps
    }
}

/// The configuration, moments and step count, as `PartialEq` compares them.
impl<const P: usize, const V: usize> core::fmt::Debug for Adam<P, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Adam")
            .field("config", &self.config)
            .field("first_moment", &self.first_moment)
            .field("second_moment", &self.second_moment)
            .field("max_second_moment", &self.max_second_moment)
            .field("steps", &self.steps)
            .finish()
    }
}

/// Upper bounds of the moments, `|m| ≤ m` and `0 ≤ v ≤ v` for every element: a
/// scan's ([`StateBounds::scan`]) or a record of the last proven step's. A record
/// is valid only while `m > 0` (a recorded `m` is at least `2⁻¹²⁶`), so all zero bytes,
/// [`Recorded::NONE`], is no record.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Recorded {
    m: f32,
    v: f32,
}

impl Recorded {
    /// No record: the next step scans the state.
    const NONE: Recorded = Recorded { m: 0.0, v: 0.0 };

    /// The recorded bounds, if there are any.
    fn valid(self) -> Option<Recorded> {
        (self.m > 0.0).then_some(self)
    }
}

/// `1 + 2⁻²⁰`: the factor on `max(M, G₁)` that covers the rounding of the moment
/// update `m + (1 − β₁)(g − m)` (at most `1 + 6u`, `u = 2⁻²⁴`; see
/// [`Optimizer::proven`] below).
const ROUNDING: f32 = 1.0 + 1.0 / 1_048_576.0;

/// Adam with the AMSGrad buffer (Reddi, Kale & Kumar; PyTorch: `torch.optim.Adam` with
/// `amsgrad=True`): [`Adam`] that also keeps `v_max`, the running maximum of `v`
/// (PyTorch's `max_exp_avg_sq`), `4·P` bytes more, and divides by it when
/// [`AdamConfig::amsgrad`] is on:
///
/// ```text
/// v_max ← max(v_max, v)          θ ← θ − (η/(1 − β₁ᵗ))·m/(√v_max/√(1 − β₂ᵗ) + ε)
/// ```
///
/// With `amsgrad: false` it steps exactly as [`Adam<P>`] and leaves `v_max` alone.
///
/// # Examples
///
/// ```
/// use microtrain::optim::{Adam, AdamConfig, AmsGrad, Optimizer};
/// let config = AdamConfig { lr: 0.1, amsgrad: true, ..AdamConfig::DEFAULT };
/// let mut opt = AmsGrad::<1>::new(config);
/// let mut w = [1.0];
/// opt.step_slice(&mut w, &[4.0])?; // v_max = v = (1 − β₂)·16: a step of about η
/// opt.step_slice(&mut w, &[0.0])?; // v decays, v_max keeps the largest v
/// assert!(w[0] < 0.9 && w[0] > 0.8);
/// assert_eq!(AmsGrad::<1>::STATE_BYTES, Adam::<1>::STATE_BYTES + 4);
/// // Plain Adam has no v_max: AMSGrad is refused before anything moves.
/// assert!(Adam::<1>::new(config).step_slice(&mut w, &[1.0]).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
pub type AmsGrad<const P: usize> = Adam<P, P>;

struct AdamRule {
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: Decay,
    step_size: f32,
    bias_correction2_sqrt: f32,
}

impl AdamRule {
    /// The update of one element (or a vector), with the weight decay, the floor of
    /// the denominator and AMSGrad each left out when its flag is `false`: constants in
    /// the loops of a proven step, so that each loop tests nothing per element.
    #[inline(always)]
    fn apply_with<L: Lane>(
        &self,
        [decay, floor, amsgrad, unit]: [bool; 4],
        p: L,
        g: L,
        [m, v, v_max]: [L; 3],
    ) -> (L, [L; 3]) {
        let (p, g) = if decay {
            self.decay.apply(p, g)
        } else {
            (p, g)
        };
        let (m, v) = moments(m, v, g, self.beta1, self.beta2);
        let v_max = if amsgrad { v_max.max(v) } else { v_max };
        let v_used = if amsgrad { v_max } else { v };
        // `unit`: √(1 − β₂ᵗ) is exactly 1 (from t = 17,424 on for β₂ = 0.999), and
        // x/1 = x for every x: one division fewer per element, the same bits.
        let root = v_used.sqrt();
        let root = if unit {
            root
        } else {
            root / L::splat(self.bias_correction2_sqrt)
        };
        let denom = root + L::splat(self.eps);
        // The floor only acts when ε = 0 and v = 0 (then m = 0 too): the update is 0
        // there instead of PyTorch's 0/0 = NaN.
        let denom = if floor {
            denom.max(L::splat(f32::MIN_POSITIVE))
        } else {
            denom
        };
        (p - L::splat(self.step_size) * (m / denom), [m, v, v_max])
    }
}

/// AMSGrad: `[m, v, v_max]`.
impl Rule<3> for AdamRule {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; 3]) -> (L, [L; 3]) {
        self.apply_with([true, true, true, false], p, g, s)
    }
}

/// Adam without AMSGrad: `[m, v]`, and no `v_max` to read or write.
impl Rule<2> for AdamRule {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, [m, v]: [L; 2]) -> (L, [L; 2]) {
        let (p, [m, v, _]) = self.apply_with([true, true, false, false], p, g, [m, v, v]);
        (p, [m, v])
    }
}

/// Adam's rule in a proven step ([`Adam::update_proven`]): `ε ≥ 2⁻¹²⁶` (so the floor
/// `max(√v̂ + ε, 2⁻¹²⁶)` is `√v̂ + ε` itself: `√v̂ ≥ 0` and rounding is monotone),
/// weight decay only if `DECAY` (a factor 1 and an L2 term 0 change no bit), the
/// division by `√(1 − β₂ᵗ)` only unless `UNIT` (it is exactly 1: `x/1 = x`), and
/// AMSGrad as `Rule<3>`; `Rule<2>` leaves `v_max` out, as Adam without AMSGrad does.
struct Proven<const DECAY: bool, const UNIT: bool>(AdamRule);

impl<const DECAY: bool, const UNIT: bool> Rule<3> for Proven<DECAY, UNIT> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; 3]) -> (L, [L; 3]) {
        self.0.apply_with([DECAY, false, true, UNIT], p, g, s)
    }
}

impl<const DECAY: bool, const UNIT: bool> Rule<2> for Proven<DECAY, UNIT> {
    #[inline]
    fn apply<L: Lane>(&self, p: L, g: L, [m, v]: [L; 2]) -> (L, [L; 2]) {
        let (p, [m, v, _]) = self
            .0
            .apply_with([DECAY, false, false, UNIT], p, g, [m, v, v]);
        (p, [m, v])
    }
}

impl<const P: usize, const V: usize> Adam<P, V> {
    /// A fresh optimizer, after checking `config` ([`AdamConfig::check`], and
    /// `amsgrad` only with the `v_max` buffer); usable in a `const` or `static`.
    /// [`new`](Adam::new) does not check, but [`Optimizer::step`] refuses a bad
    /// configuration before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the first bad setting; `"Adam amsgrad"` (value 1) for
    /// `amsgrad: true` without the buffer (`V = 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig, AmsGrad};
    /// assert!(Adam::<2>::try_new(AdamConfig::default()).is_ok());
    /// assert!(Adam::<2>::try_new(AdamConfig { betas: (1.0, 0.999), ..Default::default() }).is_err());
    /// let amsgrad = AdamConfig { amsgrad: true, ..Default::default() };
    /// assert!(Adam::<2>::try_new(amsgrad).is_err()); // no v_max
    /// assert!(AmsGrad::<2>::try_new(amsgrad).is_ok());
    /// ```
    pub const fn try_new(config: AdamConfig) -> Result<Self, Error> {
        check::ok!(config.check());
        check::ok!(Self::fits(&config));
        Ok(Self::new(config))
    }

    /// A fresh optimizer (no steps taken, moments zero). `V` other than 0 or `P`
    /// fails to compile here.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::optim::{Adam, AdamConfig};
    /// let adam = Adam::<4>::new(AdamConfig::default());
    /// assert_eq!(adam.steps(), 0);
    /// ```
    pub const fn new(config: AdamConfig) -> Self {
        const {
            assert!(
                V == 0 || V == P,
                "Adam<P, V>: V, the length of the AMSGrad buffer, must be 0 (Adam<P>) or P (AmsGrad<P> = Adam<P, P>)"
            )
        };
        Adam {
            config,
            first_moment: [0.0; P],
            second_moment: [0.0; P],
            max_second_moment: [0.0; V],
            steps: 0,
            recorded: Recorded::NONE,
        }
    }

    /// `Ok` unless `config` asks for AMSGrad and this type has no `v_max` buffer.
    const fn fits(config: &AdamConfig) -> Result<(), Error> {
        if config.amsgrad && V == 0 {
            return check::refuse(
                "Adam amsgrad",
                1.0,
                "off without the v_max buffer; AMSGrad needs Adam<P, P> (AmsGrad<P>)",
            );
        }
        Ok(())
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

    /// The bounds `(M, V)`, `|m| ≤ M` and `0 ≤ v ≤ V` for every moment, that the last
    /// proven [`Optimizer::step`] recorded for the state it left, if nothing has
    /// written the moments since; `None` otherwise, and the next step scans them (see
    /// the recorded bounds in the docs of [`Optimizer::proven`] for `Adam`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::{Dense, Params}, optim::{Adam, AdamConfig, Optimizer}};
    /// let mut d = Dense::<2, 1>::zeros();
    /// d.weight_grad.0 = [[0.5, -2.0]];
    /// let mut adam = Adam::<3>::new(AdamConfig::default());
    /// assert_eq!(adam.recorded_bounds(), None);
    /// adam.step(&mut d)?; // proven: records bounds of the new m and v
    /// let (m, v) = adam.recorded_bounds().unwrap();
    /// let (ms, vs) = adam.moments();
    /// assert!(ms.iter().all(|x| x.abs() <= m) && vs.iter().all(|&x| 0.0 <= x && x <= v));
    /// adam.step_slice(&mut [0.0; 3], &[1.0; 3])?; // a two-pass step drops the record
    /// assert_eq!(adam.recorded_bounds(), None);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn recorded_bounds(&self) -> Option<(f32, f32)> {
        self.recorded.valid().map(|r| (r.m, r.v))
    }
}

/// All zero: learning rate, betas and eps 0, empty moments; a placeholder that
/// [`Configure::reset`] turns into a fresh optimizer.
impl<const P: usize, const V: usize> Zeroed for Adam<P, V> {
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

impl<const P: usize, const V: usize> Configure for Adam<P, V> {
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
        self.recorded = Recorded::NONE;
    }
}

impl<const P: usize, const V: usize> Optimizer for Adam<P, V> {
    const PARAMS: Option<usize> = Some(P);
    const STATE_BYTES: usize = 2 * 4 * P + 4 * V + 4 + 8;
    const PROVES: bool = true;

    /// [`AdamConfig::check`], then `amsgrad` only with the `v_max` buffer.
    fn check(&self) -> Result<(), Error> {
        self.config.check()?;
        Self::fits(&self.config)
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
        Self::fits(&self.config)?;
        if pass.writes() {
            self.recorded = Recorded::NONE;
        }
        let rule = self.rule(kind);
        let len = value.len();
        let m = window(&mut self.first_moment, offset, len)?;
        let v = window(&mut self.second_moment, offset, len)?;
        if Self::amsgrad(&self.config) {
            let v_max = window(&mut self.max_second_moment, offset, len)?;
            run(pass.writes(), &rule, value, grad, [m, v, v_max])
        } else {
            run(pass.writes(), &rule, value, grad, [m, v])
        }
    }

    /// Proves the next update finite from `bounds` and bounds of the state, by the
    /// rule's own operations on upper bounds (see [`Optimizer::proven`] for why that
    /// is sound). With `P`, `G`, `M`, `V`, `V̄` the bounds of `|θ|`, `|g|`, `|m|`, `v`
    /// (each `v ≥ 0`), `|v_max|` (all finite; `V̄ = 0` without AMSGrad, whose `v_max`
    /// is neither read nor written), and the per-step constants exactly as
    /// [`update`](Optimizer::update) computes them (`f = 1 − ηλ` and `λ₂` of the
    /// weight decay, largest over weights and biases; `s = η/(1 − β₁ᵗ)`,
    /// `c₂ = √(1 − β₂ᵗ) > 0`):
    ///
    /// ```text
    /// θ₁ = θ·f                 P₁ = P·max(|f|, 1)
    /// g₁ = g + λ₂θ₁            G₁ = G + λ₂·P₁
    /// m' = m + (1−β₁)(g₁ − m)  M' = M + (1−β₁)·(G₁ + M)
    /// v' = β₂v + ((1−β₂)g₁)g₁  V' = β₂V + ((1−β₂)G₁)·G₁        (and v' ≥ 0)
    /// v̄' = max(v̄, v')          V̄' = max(V̄, V')                (AMSGrad)
    /// d = √v'/c₂ + ε ≥ ε ≥ 2⁻¹²⁶                              (√v'/c₂ ≥ 0)
    /// θ' = θ₁ − s·(m'/d)       P' = P₁ + s·(M'/ε)
    /// ```
    ///
    /// `ε ≥ 2⁻¹²⁶` is required, so that the floor `max(d, 2⁻¹²⁶)` of the two-pass
    /// rule is `d` itself and the proven step leaves it out (`ε = 0`, allowed, always
    /// tries first). If `P'`, `M'`, `V'` and `V̄'` are finite, so is every value the
    /// update writes,
    /// and no NaN can arise (no `∞ − ∞` or `0·∞` among finite values, `d > 0`, and
    /// `√` of a non-negative `v'`). This method scans all `P` state values for `M`,
    /// `V` and `V̄`, the whole model's included.
    ///
    /// # Recorded bounds
    ///
    /// [`step`](Optimizer::step) takes `M` and `V` from a record of the last proven
    /// step when there is one, and scans (as here) only when there is none or the
    /// recorded bounds prove nothing; `P` and `G` are always scanned, since the model
    /// is the caller's to change, and `V̄` too (AMSGrad only). A proven step that
    /// saw `M`, `V`, `G₁` records, for the state it leaves:
    ///
    /// ```text
    /// M⁺ = fl(fl(max(M, G₁)·(1 + 2⁻²⁰)) + 2⁻¹²⁶)
    /// V⁺ = V' if the step wrote all P moments, else max(V, V')
    /// ```
    ///
    /// `V⁺` bounds every new `v` by the argument above, and an element the step did
    /// not write keeps its `v ≤ V`; every new `v` is `≥ 0` (a sum of `β₂v ≥ 0` and a
    /// product of two numbers of one sign). For `M⁺`: let `A = max(|m|, |g₁|) ≤
    /// max(M, G₁)` and `u = 2⁻²⁴`; `c₁ = fl(1 − β₁) ∈ (0, 1]`; every operation is
    /// finite (the proof above), and rounds as `fl(x) = x(1 + δ) + η` with `|δ| ≤ u`,
    /// `|η| ≤ 2⁻¹⁵⁰`, and `η = 0` for `±`. With `d = fl(g₁ − m) = (g₁ − m)(1 + δ₁)`,
    /// `e = fl(c₁d) = c₁d(1 + δ₂) + η₂` and `m' = fl(m + e) = (m + e)(1 + δ₃)`:
    /// `m + c₁(g₁ − m)` lies between `m` and `g₁` (`0 ≤ c₁ ≤ 1`), so
    /// `|m + e| ≤ A + 2Au + 2A(1 + u)u + 2⁻¹⁵⁰` and `|m'| ≤ A(1 + 6u) + 2⁻¹⁴⁹`.
    /// The recorded `M⁺` is at least that: `fl(A'·(1 + 16u)) ≥ A'(1 + 16u)(1 − u) −
    /// 2⁻¹⁵⁰`, and adding `2⁻¹²⁶` (a normal sum, rounded by at most `u` of it) gives
    /// at least `A'(1 + 13u) + 2⁻¹²⁷` for `A' = max(M, G₁) ≥ A`. An element not
    /// written keeps `|m| ≤ M ≤ M⁺`. So after a proven step the record bounds the
    /// whole state, as a scan would; an infinite or NaN record proves nothing, and the
    /// next step scans.
    ///
    /// Everything else that writes `m` or `v` drops the record (and the next step
    /// scans): [`update`](Optimizer::update) with [`Pass::Apply`] (the two-pass step,
    /// [`step_slice`](Optimizer::step_slice)), [`update_proven`](Optimizer::update_proven)
    /// called by anyone (a proven step records only after all of its writes),
    /// [`Configure::reset`] and [`Persist::load`] (the record is not saved);
    /// [`Adam::new`] and [`Zeroed::ZERO`] start without one. A refused step writes
    /// nothing and keeps it; the configuration, the learning rate and the step count
    /// are not state that a bound covers. No method hands out `&mut` to `m` or `v`.
    fn proven(&self, bounds: Bounds) -> bool {
        self.prove(bounds, self.scan(), self.corrections())
            .is_some()
    }

    /// As [`Optimizer::step`], but a proven step takes the bounds of `m` and `v` from
    /// the record of the last proven step when they prove it (no scan of the state),
    /// and records new ones (see [`proven`](Optimizer::proven) above). The same bits.
    fn step<M: Params>(&mut self, model: &mut M) -> Result<(), Error> {
        self.check()?;
        if let Some(bounds) = Bounds::of(model, Some(P)) {
            let corrections = self.corrections();
            let after = self
                .recorded
                .valid()
                .and_then(|state| self.prove(bounds, state, corrections))
                .or_else(|| self.prove(bounds, self.scan(), corrections));
            if let Some(after) = after {
                let mut offset = 0;
                model.visit(&mut |p: Param<'_>| {
                    offset = self.proven_tensor(corrections, offset, p.kind, p.value, p.grad);
                });
                self.begin_step();
                self.recorded = Recorded {
                    m: after.m,
                    v: if offset == P {
                        after.v
                    } else {
                        after.v.max(after.m_v_old)
                    },
                };
                return Ok(());
            }
        }
        try_then_apply(self, model)
    }

    fn update_proven(
        &mut self,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        Self::fits(&self.config)?;
        let rule = self.rule(kind);
        self.write_proven(rule, offset, value, grad)
    }
}

/// What a proven step leaves: the bound `m` of its new `|m|`, the bound `v` of the
/// `v` it writes, and `m_v_old`, the `v` bound it started from.
struct After {
    m: f32,
    v: f32,
    m_v_old: f32,
}

impl<const P: usize, const V: usize> Adam<P, V> {
    /// Bounds of `m` and `v` from a scan of the whole state (`v` NaN if some `v < 0`).
    fn scan(&self) -> Recorded {
        Recorded {
            m: magnitude(&self.first_moment),
            v: nonnegative_magnitude(&self.second_moment),
        }
    }

    /// The proof of [`Optimizer::proven`] from `bounds` and the bounds `state` of `m`
    /// and `v`: `Some` bounds of the state the step leaves if the update is proven
    /// finite, else `None`.
    fn prove(&self, bounds: Bounds, state: Recorded, corrections: (f32, f32)) -> Option<After> {
        let c = &self.config;
        let rule = self.rule_with(ParamKind::Weight, corrections);
        let (m, v) = (state.m, state.v);
        let v_max = if Self::amsgrad(&self.config) {
            magnitude(&self.max_second_moment)
        } else {
            0.0
        };
        let factor = rule.decay.factor.abs().max(1.0);
        let p1 = bounds.value * factor;
        let g1 = bounds.grad + rule.decay.l2 * p1;
        let m_new = m + (1.0 - c.betas.0) * (g1 + m);
        let v_new = v * c.betas.1 + (1.0 - c.betas.1) * g1 * g1;
        let v_max_new = v_max.max(v_new);
        let p_new = p1 + rule.step_size.abs() * (m_new / c.eps);
        let positive = rule.bias_correction2_sqrt > 0.0 && rule.bias_correction2_sqrt.is_finite();
        let proven = positive
            && c.eps >= f32::MIN_POSITIVE
            && rule.step_size.is_finite()
            && v_max.is_finite()
            && [p_new, m_new, v_new, v_max_new]
                .iter()
                .all(|x| x.is_finite());
        proven.then(|| After {
            m: m.max(g1) * ROUNDING + f32::MIN_POSITIVE,
            v: v_new,
            m_v_old: v,
        })
    }

    /// Whether the update keeps `v_max`: `config.amsgrad`, known false at compile time
    /// for a plain `Adam<P>` (whose configuration `fits` refuses with `amsgrad` on
    /// before any update), so that its firmware carries no AMSGrad loops.
    const fn amsgrad(config: &AdamConfig) -> bool {
        V > 0 && config.amsgrad
    }

    /// The rule of the next step for a tensor of `kind`: its per-step constants.
    fn rule(&self, kind: ParamKind) -> AdamRule {
        self.rule_with(kind, self.corrections())
    }

    /// The next step's `(η/(1 − β₁ᵗ), √(1 − β₂ᵗ))`: the same for every tensor, so a
    /// step computes them once.
    fn corrections(&self) -> (f32, f32) {
        let c = &self.config;
        let t = self.steps.saturating_add(1);
        let [(_, correction1), (_, correction2)] = math::pow_complements([c.betas.0, c.betas.1], t);
        (c.lr / correction1, math::sqrt(correction2))
    }

    /// [`rule`](Adam::rule) with the step's `corrections` given.
    fn rule_with(
        &self,
        kind: ParamKind,
        (step_size, bias_correction2_sqrt): (f32, f32),
    ) -> AdamRule {
        let c = &self.config;
        let wd = decay(c.weight_decay, c.decay_biases, kind);
        AdamRule {
            beta1: c.betas.0,
            beta2: c.betas.1,
            eps: c.eps,
            decay: Decay::new(wd, c.decoupled_weight_decay, c.lr),
            step_size,
            bias_correction2_sqrt,
        }
    }

    /// The proven update of the tensor of `kind` at `offset`, whose lengths
    /// [`Bounds::of`] checked, with the step's `corrections`; returns the offset of the
    /// next tensor. Not inlined: `visit` calls it once per tensor, and inlined it would
    /// be repeated at every call.
    #[inline(never)]
    fn proven_tensor(
        &mut self,
        corrections: (f32, f32),
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> usize {
        let rule = self.rule_with(kind, corrections);
        let done = self.write_proven(rule, offset, value, grad);
        debug_assert!(done.is_ok(), "Bounds::of checked every length");
        offset + value.len()
    }

    /// The proven update of the tensor at `offset` with `rule` (no finiteness test);
    /// drops the recorded bounds.
    fn write_proven(
        &mut self,
        rule: AdamRule,
        offset: usize,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        self.recorded = Recorded::NONE;
        let decay = rule.decay.factor != 1.0 || rule.decay.l2 != 0.0;
        // With `small`, one loop fewer per case in flash: the division stays.
        let unit = !cfg!(feature = "small") && rule.bias_correction2_sqrt == 1.0;
        match (decay, unit) {
            (true, true) => self.proven_states(&Proven::<true, true>(rule), offset, value, grad),
            (true, false) => self.proven_states(&Proven::<true, false>(rule), offset, value, grad),
            (false, true) => self.proven_states(&Proven::<false, true>(rule), offset, value, grad),
            (false, false) => {
                self.proven_states(&Proven::<false, false>(rule), offset, value, grad)
            }
        }
    }

    /// [`run_proven`] of `rule` over the tensor at `offset` and its moments (and
    /// `v_max` with AMSGrad).
    #[inline(always)]
    fn proven_states<R: Rule<2> + Rule<3>>(
        &mut self,
        rule: &R,
        offset: usize,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<(), Error> {
        let len = value.len();
        let m = window(&mut self.first_moment, offset, len)?;
        let v = window(&mut self.second_moment, offset, len)?;
        if Self::amsgrad(&self.config) {
            let v_max = window(&mut self.max_second_moment, offset, len)?;
            run_proven(rule, value, grad, [m, v, v_max])
        } else {
            run_proven(rule, value, grad, [m, v])
        }
    }
}

/// Checkpoint part: the learning rate, the step count and the moments `m`, `v`, then
/// `v_max` only if the type has it ([`AmsGrad<P>`]), marked in the fingerprint, so an
/// `Adam<P>` checkpoint and an `AmsGrad<P>` one never load into each other; the
/// configuration is the caller's code and is not saved.
impl<const P: usize, const V: usize> Persist for Adam<P, V> {
    const BYTES: usize = 4 + 4 + 4 * P + 4 * P + 4 * V;

    fn save(&mut self, w: &mut Writer<'_>) {
        w.shape(u32::from_le_bytes(*b"ADAM"));
        w.f32(self.config.lr);
        w.u32(self.steps);
        w.f32s(&self.first_moment);
        w.f32s(&self.second_moment);
        if V > 0 {
            w.shape(u32::from_le_bytes(*b"VMAX"));
            w.f32s(&self.max_second_moment);
        }
    }

    /// Reads the state back; the recorded bounds are dropped (they are not saved), so
    /// the next step scans the loaded moments.
    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        self.recorded = Recorded::NONE;
        r.f32(&mut self.config.lr)?;
        r.u32(&mut self.steps)?;
        r.f32s_where(&mut self.first_moment, "Adam m", f32::is_finite)?;
        r.f32s_where(&mut self.second_moment, "Adam v", non_negative)?;
        r.f32s_where(&mut self.max_second_moment, "Adam v_max", non_negative)?;
        Ok(())
    }
}
