//! The optimizer update loops: one element-wise rule per optimizer, run over all
//! parameters by one driver with a SIMD path and a scalar path.
//!
//! Each rule is written once, generic over [`Lane`] (one `f32`, or a vector: sixteen in
//! an `f32x16` where the target has AVX-512, eight in an `f32x8` elsewhere; on x86-64
//! the CPU's AVX2 or AVX-512 at run time, see [`dispatch`](super::dispatch)), so the two
//! paths perform the same operations in the same order on each element and agree bit
//! for bit: the rules use only `+ − × ÷`, `√` and `max`, all exactly rounded, and each
//! element is computed alone, so the vector width cannot change a result. The per-step scalar coefficients (bias corrections, learning rate
//! factors) are computed once per step by the optimizer and passed in.

use super::{math, Path};
use core::ops::{Add, Div, Mul, Neg, Sub};
use wide::{f32x16, f32x8};

/// The vector the SIMD path runs a rule on: as wide as the target's registers (two
/// `ymm` halves of an `f32x16` would only add register pressure without AVX-512).
#[cfg(target_feature = "avx512f")]
pub(super) type Wide = f32x16;
/// The vector the SIMD path runs a rule on (see above).
#[cfg(not(target_feature = "avx512f"))]
pub(super) type Wide = f32x8;
/// Elements per [`Wide`] vector.
const WIDTH: usize = core::mem::size_of::<Wide>() / core::mem::size_of::<f32>();

/// One lane or eight: what an update rule computes with.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::Lane;
/// fn clip<L: Lane>(x: L) -> L { x.max(L::splat(0.0)) }
/// assert_eq!(clip(-2.0f32), 0.0);
/// assert_eq!(Lane::sign(-2.0f32), -1.0);
/// ```
pub trait Lane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Every lane set to `x`.
    fn splat(x: f32) -> Self;
    /// Exactly rounded square root.
    fn sqrt(self) -> Self;
    /// `other` where `other > self`, else `self`.
    fn max(self, other: Self) -> Self;
    /// `1` for positive, `−1` for negative, `0` for zero (and NaN).
    fn sign(self) -> Self;
    /// `|x|`: the sign bit cleared (NaN stays NaN).
    fn abs(self) -> Self;
}

impl Lane for f32 {
    #[inline]
    fn splat(x: f32) -> Self {
        x
    }
    #[inline]
    fn sqrt(self) -> Self {
        math::sqrt(self)
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
    #[inline]
    fn sign(self) -> Self {
        if self > 0.0 {
            1.0
        } else if self < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
    #[inline]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7fff_ffff)
    }
}

macro_rules! vector_lane {
    ($v:ident) => {
        impl Lane for $v {
            #[inline]
            fn splat(x: f32) -> Self {
                $v::splat(x)
            }
            #[inline]
            fn sqrt(self) -> Self {
                $v::sqrt(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                other.simd_gt(self).select(other, self)
            }
            #[inline]
            fn sign(self) -> Self {
                let zero = $v::ZERO;
                let neg = self.simd_lt(zero).select($v::splat(-1.0), zero);
                self.simd_gt(zero).select($v::splat(1.0), neg)
            }
            #[inline]
            fn abs(self) -> Self {
                $v::abs(self)
            }
        }
    };
}

vector_lane!(f32x8);
vector_lane!(f32x16);

/// A [`Lane`] vector that the SIMD loop of [`Drive::vectors`] loads and stores: the
/// compile-time [`Wide`], or a run-time dispatched one
/// ([`dispatch`](super::dispatch)).
pub(super) trait Vectors: Lane {
    /// Lanes per vector.
    const WIDTH: usize;
    /// Every lane `+0.0`.
    const ZERO: Self;
    /// Lanes `x[..WIDTH]`.
    fn load(x: &[f32]) -> Self;
    /// Writes the lanes to `x[..WIDTH]`.
    fn store(self, x: &mut [f32]);
    /// Whether every lane is `±0`.
    fn all_zero(self) -> bool;
}

impl Vectors for Wide {
    const WIDTH: usize = WIDTH;
    const ZERO: Self = Wide::ZERO;
    #[inline(always)]
    fn load(x: &[f32]) -> Self {
        Wide::from(&x[..WIDTH])
    }
    #[inline(always)]
    fn store(self, x: &mut [f32]) {
        x[..WIDTH].copy_from_slice(self.as_array());
    }
    #[inline(always)]
    fn all_zero(self) -> bool {
        self.to_array().iter().all(|&x| x == 0.0)
    }
}

/// The arguments of [`Drive::vectors`], run by [`dispatch`](super::dispatch) on the
/// widest vectors the CPU has.
struct VectorsTask<'a, R, const S: usize> {
    write: bool,
    check: bool,
    rule: &'a R,
    value: &'a mut [f32],
    grad: &'a [f32],
    states: [&'a mut [f32]; S],
}

/// Weight decay as the optimizers apply it before their update: decoupled
/// `θ ← θ·(1 − ηλ)` (AdamW, Loshchilov & Hutter) and/or the L2 term `g ← g + λθ`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::Decay;
/// let d = Decay::new(0.1, false, 0.5);
/// assert_eq!(d.apply(2.0f32, 1.0f32), (2.0, 1.2)); // L2: g + λθ
/// let d = Decay::new(0.1, true, 0.5);
/// assert_eq!(d.apply(2.0f32, 1.0f32), (1.9, 1.0)); // decoupled: θ(1 − ηλ)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decay {
    /// `λ` of the L2 term added to the gradient (0 when decoupled).
    pub l2: f32,
    /// The factor `1 − ηλ` that scales the parameter (1 unless decoupled).
    pub factor: f32,
}

impl Decay {
    /// Weight decay `weight_decay` at learning rate `lr`, decoupled or as L2.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::optim::Decay;
    /// assert_eq!(Decay::new(0.0, true, 0.1), Decay { l2: 0.0, factor: 1.0 });
    /// ```
    pub fn new(weight_decay: f32, decoupled: bool, lr: f32) -> Self {
        if decoupled {
            Decay {
                l2: 0.0,
                factor: 1.0 - lr * weight_decay,
            }
        } else {
            Decay {
                l2: weight_decay,
                factor: 1.0,
            }
        }
    }

    /// The decayed parameter and gradient `(θ', g')`.
    ///
    /// # Examples
    ///
    /// See [`Decay`].
    #[inline(always)]
    pub fn apply<L: Lane>(&self, p: L, g: L) -> (L, L) {
        let p = if self.factor != 1.0 {
            p * L::splat(self.factor)
        } else {
            p
        };
        let g = if self.l2 != 0.0 {
            g + L::splat(self.l2) * p
        } else {
            g
        };
        (p, g)
    }
}

/// Adam's moment estimates, as PyTorch updates them:
/// `m ← m + (1 − β₁)(g − m)` (its `lerp`) and `v ← β₂v + (1 − β₂)g²`.
///
/// # Examples
///
/// ```
/// let (m, v) = microtrain::kernels::optim::moments(0.0f32, 0.0f32, 2.0, 0.5, 0.75);
/// assert_eq!((m, v), (1.0, 1.0));
/// ```
#[inline(always)]
pub fn moments<L: Lane>(m: L, v: L, g: L, beta1: f32, beta2: f32) -> (L, L) {
    let m = m + L::splat(1.0 - beta1) * (g - m);
    let v = v * L::splat(beta2) + L::splat(1.0 - beta2) * g * g;
    (m, v)
}

/// An element-wise update of a parameter `p` from its gradient `g` and `S` state
/// values, returning the new parameter and state.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::{run, Lane, Rule};
/// struct Descent(f32);
/// impl Rule<0> for Descent {
///     fn apply<L: Lane>(&self, p: L, g: L, s: [L; 0]) -> (L, [L; 0]) {
///         (p - L::splat(self.0) * g, s)
///     }
/// }
/// let mut p = [1.0; 9];
/// assert!(run(false, &Descent(0.5), &mut p, &[2.0; 9], [])?);
/// assert_eq!(p, [1.0; 9]); // a try writes nothing
/// assert!(run(true, &Descent(0.5), &mut p, &[2.0; 9], [])?);
/// assert_eq!(p, [0.0; 9]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub trait Rule<const S: usize> {
    /// The update of one element (or eight).
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; S]) -> (L, [L; S]);
}

/// Runs `rule` over every element on the default path; returns whether every new
/// parameter and state value is finite. With `write` false nothing is written, so an
/// optimizer can refuse an update that would overflow before it touches anything.
///
/// # Errors
///
/// [`Error::Length`](crate::Error::Length) if `grad` or a state slice differs in
/// length from `value`; nothing is changed then.
///
/// # Examples
///
/// See [`Rule`].
pub fn run<const S: usize, R: Rule<S>>(
    write: bool,
    rule: &R,
    value: &mut [f32],
    grad: &[f32],
    states: [&mut [f32]; S],
) -> Result<bool, crate::Error>
where
    Driver: Drive<S>,
{
    if write {
        run_on::<S, R, true, true>(Path::DEFAULT, rule, value, grad, states)
    } else {
        run_on::<S, R, false, true>(Path::DEFAULT, rule, value, grad, states)
    }
}

/// Runs `rule` over every element on the default path and writes every new value
/// without testing it: for an update already proven finite (see
/// [`Optimizer::proven`](crate::optim::Optimizer::proven)), where [`run`]'s test would
/// cost a multiply and an add per value for nothing. The same bits as [`run`] with
/// `write` true.
///
/// # Errors
///
/// As [`run`].
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::{run_proven, Lane, Rule};
/// struct Descent(f32);
/// impl Rule<0> for Descent {
///     fn apply<L: Lane>(&self, p: L, g: L, s: [L; 0]) -> (L, [L; 0]) {
///         (p - L::splat(self.0) * g, s)
///     }
/// }
/// let mut p = [1.0; 9];
/// run_proven(&Descent(0.5), &mut p, &[2.0; 9], [])?;
/// assert_eq!(p, [0.0; 9]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn run_proven<const S: usize, R: Rule<S>>(
    rule: &R,
    value: &mut [f32],
    grad: &[f32],
    states: [&mut [f32]; S],
) -> Result<(), crate::Error>
where
    Driver: Drive<S>,
{
    run_on::<S, R, true, false>(Path::DEFAULT, rule, value, grad, states).map(|_| ())
}

/// Runs `rule` over every element on the scalar path: the reference for [`run`].
///
/// # Errors
///
/// As [`run`].
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::{run_scalar, Lane, Rule};
/// struct Halve;
/// impl Rule<0> for Halve {
///     fn apply<L: Lane>(&self, p: L, _: L, s: [L; 0]) -> (L, [L; 0]) {
///         (p / L::splat(2.0), s)
///     }
/// }
/// let mut p = [4.0];
/// assert!(run_scalar(true, &Halve, &mut p, &[0.0], [])?);
/// assert_eq!(p, [2.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn run_scalar<const S: usize, R: Rule<S>>(
    write: bool,
    rule: &R,
    value: &mut [f32],
    grad: &[f32],
    states: [&mut [f32]; S],
) -> Result<bool, crate::Error>
where
    Driver: Drive<S>,
{
    if write {
        run_on::<S, R, true, true>(Path::Scalar, rule, value, grad, states)
    } else {
        run_on::<S, R, false, true>(Path::Scalar, rule, value, grad, states)
    }
}

/// [`run`] on `path`, writing if `WRITE`; without `CHECK` the finiteness test is left
/// out (and `true` returned). Constants, so that each loop tests neither per element.
fn run_on<const S: usize, R: Rule<S>, const WRITE: bool, const CHECK: bool>(
    path: Path,
    rule: &R,
    value: &mut [f32],
    grad: &[f32],
    mut states: [&mut [f32]; S],
) -> Result<bool, crate::Error>
where
    Driver: Drive<S>,
{
    let n = value.len();
    super::vector::same_len("optimizer gradient", n, grad.len())?;
    for s in states.iter() {
        super::vector::same_len("optimizer state", n, s.len())?;
    }
    let (simd_end, finite) = if path.simd() {
        let vectors = states.each_mut().map(|s| &mut s[..]);
        <Driver as Drive<S>>::vectors(WRITE, CHECK, rule, value, grad, vectors)
    } else {
        (0, true)
    };
    let tail = states
        .each_mut()
        .map(|s| s.get_mut(simd_end..).unwrap_or(&mut []));
    let rest = value.get_mut(simd_end..).unwrap_or(&mut []);
    let tail_grad = grad.get(simd_end..).unwrap_or(&[]);
    let tail_finite = <Driver as Drive<S>>::scalar(WRITE, CHECK, rule, rest, tail_grad, tail);
    let all_finite = finite && tail_finite;
    Ok(all_finite)
}

/// The scalar loop of [`run`], written out for each number of state arrays an optimizer
/// keeps (0 to 3), so that it indexes every array without a bounds check and keeps its
/// values in registers even when the compiler optimises for size (a loop over the state
/// arrays would stay a loop there, through memory).
///
/// Finiteness costs one multiply-add per value: `x · 0` is `±0` for every finite `x`
/// and NaN for infinities and NaN, so the sum of them all is zero exactly when every
/// value is finite.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::{Drive, Driver, Lane, Rule};
/// struct Decay;
/// impl Rule<1> for Decay {
///     fn apply<L: Lane>(&self, p: L, g: L, [m]: [L; 1]) -> (L, [L; 1]) {
///         let m = m + g;
///         (p - m, [m])
///     }
/// }
/// let (mut p, mut m) = ([1.0, 2.0], [0.5, 0.5]);
/// assert!(<Driver as Drive<1>>::scalar(true, true, &Decay, &mut p, &[1.0, 1.0], [&mut m]));
/// assert_eq!((p, m), ([-0.5, 0.5], [1.5, 1.5]));
/// // An infinite gradient makes the state infinite: reported, and (here) not written.
/// assert!(!<Driver as Drive<1>>::scalar(false, true, &Decay, &mut p, &[f32::INFINITY, 0.0], [&mut m]));
/// assert_eq!(m, [1.5, 1.5]);
/// ```
pub trait Drive<const S: usize> {
    /// Applies `rule` to every element of the common length of `value`, `grad` and
    /// the `states` (writing only if `write`); returns whether every new value and
    /// state is finite (tested only if `check`; `true` otherwise).
    fn scalar<R: Rule<S>>(
        write: bool,
        check: bool,
        rule: &R,
        value: &mut [f32],
        grad: &[f32],
        states: [&mut [f32]; S],
    ) -> bool;

    /// The SIMD loop of [`run`]: applies `rule` to whole vectors of the common length
    /// (16 elements with AVX-512, else 8), writing only if `write`; returns how many
    /// elements it did (the rest is left for [`scalar`](Drive::scalar)) and whether
    /// every new value and state is finite, tested as in the scalar loop (if `check`).
    ///
    /// ```
    /// use microtrain::kernels::optim::{Drive, Driver, Lane, Rule};
    /// struct Double;
    /// impl Rule<0> for Double {
    ///     fn apply<L: Lane>(&self, p: L, _: L, s: [L; 0]) -> (L, [L; 0]) {
    ///         (p + p, s)
    ///     }
    /// }
    /// let mut p = [1.0; 37];
    /// let (done, finite) = <Driver as Drive<0>>::vectors(true, true, &Double, &mut p, &[0.0; 37], []);
    /// assert!(finite && done % 8 == 0 && done >= 32 && done <= 37);
    /// assert!(p[..done].iter().all(|&v| v == 2.0) && p[done..].iter().all(|&v| v == 1.0));
    /// ```
    fn vectors<R: Rule<S>>(
        write: bool,
        check: bool,
        rule: &R,
        value: &mut [f32],
        grad: &[f32],
        states: [&mut [f32]; S],
    ) -> (usize, bool);
}

/// The implementor of [`Drive`] for 0 to 3 state arrays.
///
/// # Examples
///
/// See [`Drive`].
#[derive(Clone, Copy, Debug)]
pub struct Driver;

macro_rules! drive {
    ($s:literal; $(($state:ident, $new:ident)),*) => {
        impl Drive<$s> for Driver {
            #[inline(always)]
            fn scalar<R: Rule<$s>>(
                write: bool,
                check: bool,
                rule: &R,
                value: &mut [f32],
                grad: &[f32],
                [$($state),*]: [&mut [f32]; $s],
            ) -> bool {
                let n = value.len().min(grad.len())$(.min($state.len()))*;
                let (value, grad) = (&mut value[..n], &grad[..n]);
                $(let $state = &mut $state[..n];)*
                let mut probe = 0.0f32;
                for i in 0..n {
                    let (p, [$($new),*]) = rule.apply(value[i], grad[i], [$($state[i]),*]);
                    if check {
                        probe += p * 0.0;
                        $(probe += $new * 0.0;)*
                    }
                    if write {
                        value[i] = p;
                        $($state[i] = $new;)*
                    }
                }
                probe == 0.0
            }

            #[inline(always)]
            fn vectors<R: Rule<$s>>(
                write: bool,
                check: bool,
                rule: &R,
                value: &mut [f32],
                grad: &[f32],
                states: [&mut [f32]; $s],
            ) -> (usize, bool) {
                super::dispatch::optim(VectorsTask {
                    write,
                    check,
                    rule,
                    value,
                    grad,
                    states,
                })
            }
        }

        impl<R: Rule<$s>> super::dispatch::OptimTask for VectorsTask<'_, R, $s> {
            type Output = (usize, bool);
            #[inline(always)]
            fn run<V: Vectors>(self) -> (usize, bool) {
                let VectorsTask { write, check, rule, value, grad, states } = self;
                let [$($state),*] = states;
                let n = value.len().min(grad.len())$(.min($state.len()))*;
                let end = n - n % V::WIDTH;
                let (value, grad) = (&mut value[..end], &grad[..end]);
                $(let $state = &mut $state[..end];)*
                // `x · 0` is `±0` exactly when `x` is finite: one add per vector on the
                // loop-carried chain, whatever the number of states.
                let (zero, mut probe) = (V::ZERO, V::ZERO);
                for i in (0..end).step_by(V::WIDTH) {
                    let load = |x: &[f32]| V::load(&x[i..]);
                    let (p, [$($new),*]) =
                        rule.apply(load(value), load(grad), [$(load($state)),*]);
                    if check {
                        probe = probe + (p * zero $(+ $new * zero)*);
                    }
                    if write {
                        p.store(&mut value[i..]);
                        $($new.store(&mut $state[i..]);)*
                    }
                }
                (end, probe.all_zero())
            }
        }
    };
}

drive!(0;);
drive!(1; (a, a_new));
drive!(2; (a, a_new), (b, b_new));
drive!(3; (a, a_new), (b, b_new), (c, c_new));

/// An upper bound on every `|x|` in `xs`, for
/// [`Optimizer::proven`](crate::optim::Optimizer::proven) to bound an update before it
/// is computed: NaN or `+∞` if any `x` is not finite (an infinity is also possible for
/// finite values whose sum overflows).
///
/// On a target without the SIMD path (a Cortex-M), when every `|x| < 2`, it is the
/// bitwise OR of the values' bit patterns with the sign cleared (one load and one
/// integer OR per value, against three with a floating-point sum; below 2 again): the
/// bit pattern
/// of a non-negative float orders as an integer as the float does, and an OR is at
/// least each of its operands. Otherwise (with SIMD, whose sum is as cheap, or with an
/// exponent of 128 or more in the OR, where OR-ing exponents could reach the
/// infinities) it is `Σ|x|`, which bounds every `|x|`
/// because each partial sum `s` of non-negative terms becomes
/// `fl(s + |x|) ≥ max(s, |x|)` (rounding to nearest is monotone and leaves the
/// representable `s` and `|x|` as they are). The SIMD path adds in another order than
/// the scalar one, so the two sums may differ in the last bits; both are bounds, and
/// the bound only chooses between two ways of computing the same bits.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::magnitude;
/// // 0.75, or 1.0 (0x3f00_0000 | 0x3e80_0000) without SIMD:
/// assert!(magnitude(&[0.5, -0.25]) >= 0.5);
/// assert_eq!(magnitude(&[1.0, -2.0, 0.5]), 3.5); // |−2| ≥ 2: the sum
/// assert!(magnitude(&[1.0; 20]) >= 1.0);
/// assert!(magnitude(&[0.0, f32::NAN]).is_nan());
/// assert_eq!(magnitude(&[f32::MAX, -f32::MAX]), f32::INFINITY);
/// ```
pub fn magnitude(xs: &[f32]) -> f32 {
    if !Path::DEFAULT.simd() {
        let bits = or_bits(xs) & 0x7fff_ffff;
        if bits < SMALL {
            return f32::from_bits(bits);
        }
    }
    magnitudes(xs).0
}

/// [`magnitude`] of `xs` if every `x` is `≥ 0` (`−0` included), else NaN: the bound of
/// a second-moment estimate, whose square root an update takes.
///
/// Without SIMD, when the OR of the bit patterns has neither the sign bit nor an
/// exponent of 128 or more, every `x` is a non-negative number below 2 and the OR bounds
/// them (see [`magnitude`]). Otherwise the sums decide, at the cost of a subtraction and an add
/// per value: `x − |x|` is `±0` for `x ≥ 0` and `2x < 0` (or NaN) otherwise, and a sum
/// of non-positive terms is `0` only when every term is (a non-zero term cannot be
/// absorbed: `|fl(a + b)| ≥ max(|a|, |b|)` for terms of one sign).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::optim::nonnegative_magnitude;
/// assert!(nonnegative_magnitude(&[0.5, 0.25]) >= 0.5);
/// assert_eq!(nonnegative_magnitude(&[1.0, 2.0, -0.0]), 3.0);
/// assert!(nonnegative_magnitude(&[1e30, -1e-30]).is_nan());
/// assert!(nonnegative_magnitude(&[0.5, -1e-30]).is_nan());
/// ```
// Not inlined: inlined over an array of known length (Adam's second moments), the OR
// loop indexes it from its base, 20 instructions per eight values on a Cortex-M4F
// instead of 11 with one load-multiple.
#[inline(never)]
pub fn nonnegative_magnitude(xs: &[f32]) -> f32 {
    if !Path::DEFAULT.simd() {
        let bits = or_bits(xs);
        if bits < SMALL {
            return f32::from_bits(bits);
        }
    }
    let (sum, negative) = magnitudes(xs);
    if negative == 0.0 {
        sum
    } else {
        f32::NAN
    }
}

/// The bit pattern of `2.0`: a non-negative float is below 2 exactly when its pattern is
/// below this, and an OR of patterns is below it exactly when every pattern is.
const SMALL: u32 = 0x4000_0000;

/// The vector part of [`magnitudes`]: `(Σ|x|, Σ(x − |x|), end)` over `xs[..end]`, the
/// whole vectors.
struct Sums<'a>(&'a [f32]);

impl super::dispatch::OptimTask for Sums<'_> {
    type Output = (f32, f32, usize);
    #[inline(always)]
    fn run<V: Vectors>(self) -> (f32, f32, usize) {
        let xs = self.0;
        let w = V::WIDTH;
        let end = xs.len() - xs.len() % w;
        // Four sums side by side, each a chain of one add per four vectors (one chain
        // would wait out an add's latency at every vector).
        let mut sums = [(V::ZERO, V::ZERO); 4];
        let mut quads = xs[..end].chunks_exact(4 * w);
        for quad in &mut quads {
            for (k, (sum, negative)) in sums.iter_mut().enumerate() {
                let x = V::load(&quad[k * w..]);
                let a = x.abs();
                *sum = *sum + a;
                *negative = *negative + (x - a);
            }
        }
        for (chunk, (sum, negative)) in quads.remainder().chunks_exact(w).zip(&mut sums) {
            let x = V::load(chunk);
            let a = x.abs();
            *sum = *sum + a;
            *negative = *negative + (x - a);
        }
        let [(s0, n0), (s1, n1), (s2, n2), (s3, n3)] = sums;
        // Across the lanes in order: any order of the sums bounds (see `magnitude`).
        let total = |v: V| {
            let mut lanes = [0.0f32; 16];
            v.store(&mut lanes);
            lanes[..w].iter().sum::<f32>()
        };
        (
            total((s0 + s1) + (s2 + s3)),
            total((n0 + n1) + (n2 + n3)),
            end,
        )
    }
}

/// The bitwise OR of the bit patterns of `xs`, eight at a time (loaded in core
/// registers: no floating-point instruction at all).
#[inline(always)]
fn or_bits(xs: &[f32]) -> u32 {
    let (blocks, rest) = xs.as_chunks::<8>();
    let mut bits = 0u32;
    for b in blocks {
        bits |= ((b[0].to_bits() | b[1].to_bits()) | (b[2].to_bits() | b[3].to_bits()))
            | ((b[4].to_bits() | b[5].to_bits()) | (b[6].to_bits() | b[7].to_bits()));
    }
    for x in rest {
        bits |= x.to_bits();
    }
    bits
}

/// `(Σ|x|, Σ(x − |x|))`: vectors first where the target has them (four sums side by
/// side, on the widest vectors the CPU allows: [`dispatch`](super::dispatch)), then
/// four scalar sums side by side (four loads and adds per loop test on a Cortex-M),
/// then the tail; inlined so that [`magnitude`] drops the second sum.
#[inline(always)]
fn magnitudes(xs: &[f32]) -> (f32, f32) {
    let (mut s, mut n) = (0.0f32, 0.0f32);
    let mut rest = xs;
    if Path::DEFAULT.simd() {
        let end;
        (s, n, end) = super::dispatch::optim(Sums(xs));
        rest = &xs[end..];
    }
    // Four sums side by side, written out: a loop over an array of four would stay a
    // loop through memory when the compiler optimises for size.
    let (mut s1, mut s2, mut s3) = (0.0f32, 0.0f32, 0.0f32);
    let (mut n1, mut n2, mut n3) = (0.0f32, 0.0f32, 0.0f32);
    let mut quads = rest.chunks_exact(4);
    for q in &mut quads {
        let (a0, a1) = (Lane::abs(q[0]), Lane::abs(q[1]));
        let (a2, a3) = (Lane::abs(q[2]), Lane::abs(q[3]));
        s += a0;
        s1 += a1;
        s2 += a2;
        s3 += a3;
        n += q[0] - a0;
        n1 += q[1] - a1;
        n2 += q[2] - a2;
        n3 += q[3] - a3;
    }
    for &x in quads.remainder() {
        let a = Lane::abs(x);
        s += a;
        n += x - a;
    }
    ((s + s1) + (s2 + s3), (n + n1) + (n2 + n3))
}
