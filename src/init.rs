//! Weight initialisation from any generator implementing [`rand_core::Rng`].
//!
//! Weights must be random to break the symmetry between units; their scale decides
//! whether activations and gradients survive depth. Biases start at zero, except under
//! `TorchDefault`, which reproduces what PyTorch's `nn.Linear` and `nn.Conv2d` do when
//! constructed: a layer's bias is drawn from `U(−1/√n_in, 1/√n_in)` too (`n_in` of its
//! weight). Normalisation layers keep `γ = 1`, `β = 0` under every scheme, as in PyTorch.
//!
//! | [`Init`]            | weights drawn from                                   | PyTorch                          |
//! |---------------------|------------------------------------------------------|----------------------------------|
//! | `Normal { std }`    | `σ·N(0, 1)` (the seed's 0.01 and 0.05 examples)        | `nn.init.normal_(w, 0, σ)`       |
//! | `XavierNormal`      | `N(0, 2/(n_in + n_out))` truncated at ±2σ            | `trunc_normal_(w, 0, σ, -2σ, 2σ)` |
//! | `XavierUniform`     | `U(−a, a)`, `a = √(6/(n_in + n_out))`                | `nn.init.xavier_uniform_`        |
//! | `HeNormal`          | `N(0, 2/n_in)`                                       | `nn.init.kaiming_normal_`        |
//! | `HeUniform`         | `U(−a, a)`, `a = √(6/n_in)`                          | `nn.init.kaiming_uniform_(a=0)`  |
//! | `TorchDefault`      | `U(−a, a)`, `a = 1/√n_in`; biases `U(−a, a)` too      | `nn.Linear`/`nn.Conv2d` defaults: `kaiming_uniform_(a=√5)` |
//!
//! Normal deviates come from the Box–Muller transform on two uniform draws, through
//! the math shim in `f32` only, so a seed gives the same weights on every target.
//! [`init_params`] takes the scheme as an [`Init`] (chosen at run time) or as one of
//! the zero-sized types of [`Scheme`] (chosen at compile time: a firmware then links
//! only the scheme it uses).

use crate::kernels::math;
use crate::layers::{ParamKind, Params};
use crate::Error;
use rand_core::Rng;

/// A weight initialisation scheme; see the module documentation for the formulas.
///
/// # Examples
///
/// ```
/// use microtrain::init::Init;
/// assert_eq!(Init::XavierUniform.bound(2, 4), Some(1.0));
/// assert_eq!(Init::HeNormal.std_dev(8, 1), Some(0.5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// `σ·N(0, 1)` with a chosen `σ`.
    Normal {
        /// Standard deviation.
        std: f32,
    },
    /// Xavier/Glorot normal, truncated at two standard deviations (sigmoid, tanh).
    XavierNormal,
    /// Xavier/Glorot uniform.
    XavierUniform,
    /// He/Kaiming normal, fan-in mode (ReLU).
    HeNormal,
    /// He/Kaiming uniform, fan-in mode (ReLU).
    HeUniform,
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d` (`reset_parameters`): weights
    /// `kaiming_uniform_(w, a=√5)`, which is `U(−a, a)` with
    /// `a = gain·√(3/n_in) = √(1/3)·√(3/n_in) = 1/√n_in`, and biases — the only scheme
    /// that draws them — `U(−1/√n_in, 1/√n_in)` with the weight's `n_in`
    /// ([`Scheme::fill_bias`]).
    ///
    /// ```
    /// use microtrain::init::Init;
    /// assert_eq!(Init::TorchDefault.bound(4, 100), Some(0.5));
    /// ```
    TorchDefault,
}

impl Init {
    /// Checks the scheme: `Normal`'s `std` must be finite and ≥ 0 (PyTorch's
    /// `normal_` raises for a negative one; a NaN would fill NaN weights).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Init::Normal std"`: it must be finite, at least 0 and
    /// at most 5·10³⁷ (a larger σ would write infinite weights).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{init::Init, Error};
    /// assert!(Init::Normal { std: 0.01 }.check().is_ok());
    /// assert_eq!(
    ///     Init::Normal { std: -1.0 }.check(),
    ///     Err(Error::Setting { name: "Init::Normal std", value: -1.0, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(self) -> Result<Self, Error> {
        if let Init::Normal { std } = self {
            crate::check::ok!(crate::check::non_negative("Init::Normal std", std));
            // `standard_normal` never exceeds √(−2 ln 2⁻²⁴) ≈ 5.77 in magnitude, so
            // every σ·z of a σ up to 5·10³⁷ is finite.
            if std > MAX_NORMAL_STD {
                return crate::check::refuse(
                    "Init::Normal std",
                    std,
                    "at most 5e37 (so that every std·z is finite)",
                );
            }
        }
        Ok(self)
    }

    /// The standard deviation of a normal scheme for the given fans; `None` for a
    /// uniform one.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::Init;
    /// assert_eq!(Init::XavierNormal.std_dev(3, 5), Some(0.5));
    /// assert_eq!(Init::HeUniform.std_dev(3, 5), None);
    /// ```
    pub fn std_dev(self, fan_in: usize, fan_out: usize) -> Option<f32> {
        match self {
            Init::Normal { std } => Some(std),
            Init::XavierNormal => Some(math::sqrt(2.0 / (fan_in + fan_out) as f32)),
            Init::HeNormal => Some(math::sqrt(2.0 / fan_in as f32)),
            Init::XavierUniform | Init::HeUniform | Init::TorchDefault => None,
        }
    }

    /// The bound `a` of a uniform scheme `U(−a, a)`; `None` for a normal one.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::Init;
    /// assert_eq!(Init::HeUniform.bound(6, 1), Some(1.0));
    /// ```
    pub fn bound(self, fan_in: usize, fan_out: usize) -> Option<f32> {
        match self {
            Init::XavierUniform => Some(math::sqrt(6.0 / (fan_in + fan_out) as f32)),
            Init::HeUniform => Some(math::sqrt(6.0 / fan_in as f32)),
            Init::TorchDefault => Some(torch_bound(fan_in)),
            _ => None,
        }
    }

    /// Fills `weights` for a tensor with the given fans.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::Init;
    /// use rand_core::SeedableRng;
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
    /// let mut w = [0.0f32; 100];
    /// Init::XavierNormal.fill(&mut w, 50, 50, &mut rng);
    /// let std = (2.0f32 / 100.0).sqrt();
    /// assert!(w.iter().all(|v| v.abs() <= 2.0 * std));
    /// ```
    pub fn fill<R: Rng + ?Sized>(
        self,
        weights: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        if self.check().is_err() {
            return;
        }
        if let Some(a) = self.bound(fan_in, fan_out) {
            fill_uniform(weights, a, rng);
        } else if let Some(std) = self.std_dev(fan_in, fan_out) {
            fill_normal(weights, std, matches!(self, Init::XavierNormal), rng);
        }
    }
}

/// A scheme that draws a weight tensor from its fans: [`Init`], chosen at run time,
/// or one of the zero-sized [`HeNormal`], [`HeUniform`], [`XavierNormal`],
/// [`XavierUniform`] and [`TorchDefault`], chosen at compile time, with which a firmware links the code of
/// that scheme alone.
///
/// # Examples
///
/// ```
/// use microtrain::init::{init_params, HeNormal, Init, Scheme};
/// use microtrain::layers::Dense;
/// use rand_core::SeedableRng;
/// let (mut a, mut b) = (Dense::<4, 3>::zeros(), Dense::<4, 3>::zeros());
/// init_params(&mut a, HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(5));
/// init_params(&mut b, Init::HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(5));
/// assert_eq!(a.weight, b.weight);                   // the same draws either way
/// ```
pub trait Scheme: Copy {
    /// Fills `weights` for a tensor with the given fans.
    fn fill<R: Rng + ?Sized>(self, weights: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut R);

    /// Fills the bias of a layer whose weight has the given fans. Zero for every
    /// built-in scheme but [`TorchDefault`] (and [`Init::TorchDefault`]), which draws
    /// `U(−1/√fan_in, 1/√fan_in)` as PyTorch's `nn.Linear` and `nn.Conv2d` do.
    /// [`init_params`] calls it only for a bias that follows its layer's weight; a
    /// normalisation layer's shift `β` stays zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::{HeNormal, Scheme, TorchDefault};
    /// use rand_core::SeedableRng;
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
    /// let mut b = [1.0; 8];
    /// HeNormal.fill_bias(&mut b, 4, 8, &mut rng);
    /// assert_eq!(b, [0.0; 8]);
    /// TorchDefault.fill_bias(&mut b, 4, 8, &mut rng);
    /// assert!(b.iter().all(|v| v.abs() < 0.5) && b.iter().any(|&v| v != 0.0));
    /// ```
    fn fill_bias<R: Rng + ?Sized>(
        self,
        bias: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        let _ = (fan_in, fan_out, rng);
        bias.fill(0.0);
    }

    /// Checks the scheme's settings; [`init_params`] leaves the model untouched when
    /// this fails, and [`try_init_params`] returns the error. Every built-in scheme but
    /// [`Init::Normal`] has none.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::{HeNormal, Init, Scheme};
    /// assert!(Scheme::check(HeNormal).is_ok());
    /// assert!(Scheme::check(Init::Normal { std: f32::NAN }).is_err());
    /// ```
    fn check(self) -> Result<(), Error> {
        Ok(())
    }
}

impl Scheme for Init {
    fn fill<R: Rng + ?Sized>(
        self,
        weights: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        Init::fill(self, weights, fan_in, fan_out, rng)
    }

    fn fill_bias<R: Rng + ?Sized>(
        self,
        bias: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        if self == Init::TorchDefault {
            TorchDefault.fill_bias(bias, fan_in, fan_out, rng);
        } else {
            bias.fill(0.0);
        }
    }

    fn check(self) -> Result<(), Error> {
        Init::check(self).map(|_| ())
    }
}

macro_rules! scheme {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name;

        impl Scheme for $name {
            #[inline]
            fn fill<R: Rng + ?Sized>(
                self,
                weights: &mut [f32],
                fan_in: usize,
                fan_out: usize,
                rng: &mut R,
            ) {
                Init::$name.fill(weights, fan_in, fan_out, rng)
            }
        }
    };
}

scheme!(
    /// [`Init::HeNormal`] as a type (see [`Scheme`]).
    HeNormal
);
scheme!(
    /// [`Init::HeUniform`] as a type (see [`Scheme`]).
    ///
    /// ```
    /// use microtrain::init::{HeUniform, Scheme};
    /// use rand_core::SeedableRng;
    /// let mut w = [0.0; 64];
    /// HeUniform.fill(&mut w, 6, 1, &mut rand_pcg::Pcg32::seed_from_u64(0));
    /// assert!(w.iter().all(|v| v.abs() < 1.0));    // a = √(6/6)
    /// ```
    HeUniform
);
scheme!(
    /// [`Init::XavierNormal`] as a type (see [`Scheme`]).
    ///
    /// ```
    /// use microtrain::init::{Scheme, XavierNormal};
    /// use rand_core::SeedableRng;
    /// let mut w = [0.0; 64];
    /// XavierNormal.fill(&mut w, 1, 1, &mut rand_pcg::Pcg32::seed_from_u64(0));
    /// assert!(w.iter().all(|v| v.abs() <= 2.0));   // truncated at 2σ, σ = 1
    /// ```
    XavierNormal
);
scheme!(
    /// [`Init::XavierUniform`] as a type (see [`Scheme`]).
    ///
    /// ```
    /// use microtrain::init::{Scheme, XavierUniform};
    /// use rand_core::SeedableRng;
    /// let mut w = [0.0; 64];
    /// XavierUniform.fill(&mut w, 3, 3, &mut rand_pcg::Pcg32::seed_from_u64(0));
    /// assert!(w.iter().all(|v| v.abs() < 1.0));    // a = √(6/6)
    /// ```
    XavierUniform
);

/// [`Init::TorchDefault`] as a type (see [`Scheme`]): PyTorch's `nn.Linear` and
/// `nn.Conv2d` initialisation, weights and biases both `U(−1/√n_in, 1/√n_in)`.
///
/// # Examples
///
/// ```
/// use microtrain::init::{init_params, TorchDefault};
/// use microtrain::layers::Dense;
/// use rand_core::SeedableRng;
/// let mut d = Dense::<16, 4>::zeros();        // PyTorch: nn.Linear(16, 4)
/// init_params(&mut d, TorchDefault, &mut rand_pcg::Pcg32::seed_from_u64(1));
/// let bound = 1.0 / 16f32.sqrt();
/// assert!(d.weight.as_slice().iter().all(|w| w.abs() <= bound));
/// assert!(d.bias.0.iter().all(|b| b.abs() <= bound) && d.bias.0 != [0.0; 4]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TorchDefault;

impl Scheme for TorchDefault {
    #[inline]
    fn fill<R: Rng + ?Sized>(
        self,
        weights: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) {
        Init::TorchDefault.fill(weights, fan_in, fan_out, rng)
    }

    fn fill_bias<R: Rng + ?Sized>(self, bias: &mut [f32], fan_in: usize, _: usize, rng: &mut R) {
        fill_uniform(bias, torch_bound(fan_in), rng);
    }
}

/// PyTorch's bound `1/√n_in` for `nn.Linear`/`nn.Conv2d` weights and biases (0 for
/// `n_in = 0`, as PyTorch's bias bound).
fn torch_bound(fan_in: usize) -> f32 {
    if fan_in == 0 {
        0.0
    } else {
        1.0 / math::sqrt(fan_in as f32)
    }
}

/// `U(−a, a)` for every weight.
fn fill_uniform<R: Rng + ?Sized>(weights: &mut [f32], a: f32, rng: &mut R) {
    for w in weights.iter_mut() {
        *w = a * (2.0 * uniform(rng) - 1.0);
    }
}

/// Redraws of one truncated normal value before it is clamped. A draw lands outside
/// ±2σ with probability 4.6 %, so 64 rejections in a row take a generator that is
/// stuck (always the same output), never a working one; the cap keeps
/// initialisation finite for it.
const MAX_REDRAWS: usize = 64;

/// `σ·N(0, 1)` for every weight, truncated at ±2σ by redrawing if `truncate`.
fn fill_normal<R: Rng + ?Sized>(weights: &mut [f32], std: f32, truncate: bool, rng: &mut R) {
    for w in weights.iter_mut() {
        let mut z = standard_normal(rng);
        let mut redraws = 0;
        while truncate && z.abs() > 2.0 {
            z = if redraws < MAX_REDRAWS {
                standard_normal(rng)
            } else {
                z.clamp(-2.0, 2.0)
            };
            redraws += 1;
        }
        *w = std * z;
    }
}

/// Initialises every weight of `model` with `init`, sets biases and gradients to
/// zero (a bias that follows its layer's weight is [`Scheme::fill_bias`]'s, zero but
/// for [`TorchDefault`]) and normalisation scales to one, visiting parameters in
/// canonical order, so a seed fixes the model.
/// A scheme that [`Scheme::check`] refuses (`Init::Normal { std: NaN }`) leaves the
/// model untouched; [`try_init_params`] reports it.
///
/// # Examples
///
/// ```
/// use microtrain::init::{init_params, Init};
/// use microtrain::layers::{Dense, Relu};
/// use rand_core::SeedableRng;
/// let mut net = (Dense::<4, 8>::zeros(), (Relu, Dense::<8, 2>::zeros()));
/// init_params(&mut net, Init::HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(7));
/// assert!(net.0.weight.as_slice().iter().any(|&w| w != 0.0));
/// assert_eq!(net.1 .1.bias.0, [0.0; 2]);
/// ```
pub fn init_params<P: Params, S: Scheme, R: Rng + ?Sized>(model: &mut P, init: S, rng: &mut R) {
    let _refused_leaves_model_untouched = try_init_params(model, init, rng);
}

/// [`init_params`] after [`Scheme::check`]: a refused scheme returns its error and
/// leaves the model (and `rng`) untouched, where [`init_params`] silently does the
/// same.
///
/// # Errors
///
/// [`Error::Setting`] naming the bad setting, such as `Init::Normal { std: NaN }`.
///
/// # Examples
///
/// ```
/// use microtrain::init::{try_init_params, Init};
/// use microtrain::layers::Dense;
/// use rand_core::SeedableRng;
/// let mut d = Dense::<2, 2>::zeros();
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
/// assert!(try_init_params(&mut d, Init::Normal { std: f32::NAN }, &mut rng).is_err());
/// assert_eq!(d.weight.0, [[0.0; 2]; 2]);
/// ```
pub fn try_init_params<P: Params, S: Scheme, R: Rng + ?Sized>(
    model: &mut P,
    init: S,
    rng: &mut R,
) -> Result<(), Error> {
    init.check()?;
    // A bias right after a weight is that layer's (Dense, Conv visit weight then
    // bias); one after a scale is a normalisation layer's shift β, always zero.
    let mut after_weight = false;
    model.visit(&mut |p| {
        p.grad.fill(0.0);
        match p.kind {
            ParamKind::Weight => init.fill(p.value, p.fan_in, p.fan_out, rng),
            ParamKind::Bias if after_weight => init.fill_bias(p.value, p.fan_in, p.fan_out, rng),
            ParamKind::Bias => p.value.fill(0.0),
            ParamKind::Scale => p.value.fill(1.0),
        }
        after_weight = p.kind == ParamKind::Weight;
    });
    Ok(())
}

/// A uniform draw in `[0, 1)` with 24 random bits (every value exactly representable).
///
/// # Examples
///
/// ```
/// use rand_core::SeedableRng;
/// let u = microtrain::init::uniform(&mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!((0.0..1.0).contains(&u));
/// ```
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// The largest `Init::Normal` standard deviation whose draws all stay finite.
const MAX_NORMAL_STD: f32 = 5e37;

/// A standard normal draw by the Box–Muller transform:
/// `z = √(−2 ln u₁) · cos(2π u₂)` with `u₁ ∈ (0, 1]`, `u₂ ∈ [0, 1)`, in `f32`
/// arithmetic only (the cosine is [`math::cos_turns`]).
///
/// # Examples
///
/// ```
/// use rand_core::SeedableRng;
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(3);
/// let mean = (0..1000).map(|_| microtrain::init::standard_normal(&mut rng)).sum::<f32>() / 1000.0;
/// assert!(mean.abs() < 0.1);
/// ```
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    // |z| ≤ √(−2 ln 2⁻²⁴) ≈ 5.77 (u₁ ≥ 2⁻²⁴): `Init::check` relies on it.
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    math::sqrt(-2.0 * math::ln(u1)) * math::cos_turns(u2)
}
