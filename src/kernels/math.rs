//! The math shim: every transcendental function and square root in the crate goes
//! through here, so that every target computes them with the same code.
//!
//! `exp`, `ln` and `tanh` are `libm`'s portable implementations (`expf`, `logf`,
//! `tanhf`: errors below 1 ulp, the same bits on every target because they use only
//! exactly rounded `+ − × ÷`). `sqrt` is exactly rounded by IEEE 754, so the hardware
//! instruction gives the same bits as `libm`: it is used where the target has one
//! (`sqrtss` on x86-64 through `libm`, `vsqrt.f32` on hard-float Arm through one line
//! of inline assembly below, because `libm` has no Arm32 path and its software square
//! root costs hundreds of cycles on a Cortex-M4F).

/// `eˣ` (PyTorch: `torch.exp`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::exp(0.0), 1.0);
/// ```
#[inline]
pub fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// Natural logarithm `ln x` (PyTorch: `torch.log`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::ln(1.0), 0.0);
/// ```
#[inline]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// `ln(1 + x)`, accurate for small `x` (PyTorch: `torch.log1p`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::ln_1p(0.0), 0.0);
/// ```
#[inline]
pub fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// Hyperbolic tangent (PyTorch: `torch.tanh`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::tanh(0.0), 0.0);
/// ```
#[inline]
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// `x^y` (PyTorch: `torch.pow`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::powf(2.0, 10.0), 1024.0);
/// ```
#[inline]
pub fn powf(x: f32, y: f32) -> f32 {
    libm::powf(x, y)
}

/// `(xⁿ, 1 − xⁿ)` for a whole exponent `n`, from plain `f32` products and sums in a
/// fixed order: the same bits on every target, without `powf` (which a microcontroller
/// would link as 1.4 KB of code, with a software square root). Adam's and RAdam's bias
/// corrections `1 − βᵗ` use it (PyTorch: `1 - beta ** step`, in double precision).
///
/// Both come out within about one rounding of the exact values, for any `n`:
///
/// - `1 − xⁿ` is not `xⁿ` subtracted from 1, which loses most digits when `xⁿ` is near
///   1 (Adam's `β₂ = 0.999` at small `t`), but `(1 − x)·(1 + x + … + xⁿ⁻¹)`, the sum
///   built bit by bit from the top of `n` with `S₂ₘ = Sₘ·(1 + xᵐ)` and
///   `Sₘ₊₁ = 1 + x·Sₘ`; `1 − x` is exact for `x` in `[0.5, 1]`;
/// - the power and the sum are carried as unevaluated pairs `hi + lo` of `f32`s
///   (double-`f32` arithmetic: Dekker's exact product and Knuth's exact sum), because
///   repeated squaring doubles a relative error at every step: in one `f32` the power
///   would drift by up to `n` roundings.
///
/// The exact product `a·b = hi + lo` is one value however it is found, so where the
/// CPU has a fused multiply-add (x86-64 with FMA, found at run time, see
/// [`dispatch`](super::dispatch)) `lo = fma(a, b, −hi)` replaces Dekker's eight
/// operations whenever Dekker's product is exact (no overflow in its split, no
/// underflow in its partial products); elsewhere, and outside that range, Dekker's.
/// The loop starts after the top bit of `n` (which leaves `xⁿ = x`, `S = 1` for
/// `0 ≤ x ≤ 2¹⁰⁰`) and stops once `xᵐ` is zero and neither kind of pass changes the
/// sum any more: the same bits as every pass, in fewer.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::math::pow_complement;
/// assert_eq!(pow_complement(2.0, 10), (1024.0, -1023.0));
/// assert_eq!(pow_complement(0.5, 0), (1.0, 0.0));
/// // Adam's second bias correction at step 3, against f64:
/// let (p, c) = pow_complement(0.999, 3);
/// let exact = 1.0 - (0.999f32 as f64).powi(3);
/// assert!((c as f64 - exact).abs() < 1e-7 * exact);
/// assert!((p as f64 - (0.999f32 as f64).powi(3)).abs() < 1e-7);
/// ```
#[inline]
pub fn pow_complement(x: f32, n: u32) -> (f32, f32) {
    let [result] = super::dispatch::pow_complements([x], n);
    result
}

/// [`pow_complement`] of several `xs` at one `n` (Adam's two bias corrections
/// `1 − β₁ᵗ` and `1 − β₂ᵗ`): the same bits as one call for each, in about the time of
/// one call where the CPU can overlap them (x86-64).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::math::{pow_complement, pow_complements};
/// let [first, second] = pow_complements([0.9, 0.999], 12);
/// assert_eq!((first, second), (pow_complement(0.9, 12), pow_complement(0.999, 12)));
/// ```
#[inline]
pub fn pow_complements<const K: usize>(xs: [f32; K], n: u32) -> [(f32, f32); K] {
    super::dispatch::pow_complements(xs, n)
}

/// The rounding error `a·b − fl(a·b)` of a product: Dekker's (any target) or a fused
/// multiply-add's (where the CPU has one); [`pow_complement_with`] runs on either.
pub(super) trait ProductError: Copy {
    /// `lo` with `a·b = hi + lo` exactly, for `hi = fl(a·b)`, whenever Dekker's product
    /// is exact; Dekker's `lo` whenever it is not.
    fn error(self, a: f32, b: f32, hi: f32) -> f32;
}

/// Dekker's exact product: each factor split into 12-bit halves (Veltkamp), whose
/// partial products are exact.
#[derive(Clone, Copy)]
pub(super) struct Dekker;

impl ProductError for Dekker {
    #[inline(always)]
    fn error(self, a: f32, b: f32, hi: f32) -> f32 {
        dekker_error(a, b, hi)
    }
}

/// Dekker's `a·b − hi` for `hi = fl(a·b)`: exact unless the split overflows or a
/// partial product underflows.
#[inline(always)]
pub(super) fn dekker_error(a: f32, b: f32, hi: f32) -> f32 {
    let split = |v: f32| {
        let c = 4097.0 * v;
        let high = c - (c - v);
        (high, v - high)
    };
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    ((ah * bh - hi) + ah * bl + al * bh) + al * bl
}

/// Whether Dekker's product of `a` and `b` (with `hi = fl(a·b)`) is exact, by a margin:
/// `|a|, |b| ≤ 2¹⁰⁰` (the split `4097·v` stays finite) and `|hi| ≥ 2⁻⁶⁰` (the
/// exponents of `a` and `b` add up to at least −62, so every partial product, a
/// multiple of `2^(eₐ + e_b − 46)`, and the error itself are representable: Dekker's
/// condition `eₐ + e_b ≥ e_min + p − 1 = −103`). NaN and infinities are not.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn dekker_exact(a: f32, b: f32, hi: f32) -> bool {
    const BIG: f32 = 1.267_650_6e30; // 2¹⁰⁰
    const TINY: f32 = 8.673_617e-19; // 2⁻⁶⁰
    (a.abs() <= BIG) & (b.abs() <= BIG) & (hi.abs() >= TINY) & (hi.abs() <= BIG)
}

/// [`pow_complement`] of each of `xs` with the product errors of `e`, the `K` loops
/// interleaved pass by pass (each is a long chain of dependent operations, so the CPU
/// overlaps them); inlined into each caller, so that the dispatch compiles it for the
/// CPU's fused multiply-add.
#[inline(always)]
pub(super) fn pow_complement_with<E: ProductError, const K: usize>(
    e: E,
    xs: [f32; K],
    n: u32,
) -> [(f32, f32); K] {
    let top = u32::BITS - n.leading_zeros();
    // After each pass, m is the value of n's bits above the current one, power = x^m
    // and sum = 1 + x + … + x^(m−1). The first pass, on the top bit of n, gives
    // power = x and sum = 1 exactly for 0 ≤ x ≤ 2¹⁰⁰ (+0 included, −0 and NaN not:
    // x·1 and 1 + 0·x are exact and no zero turns negative); for those x every pass
    // also keeps a zero power +0.
    let plain = xs.map(|x| x.to_bits() <= 0x7180_0000);
    let mut states: [(Pair, Pair); K] = core::array::from_fn(|k| {
        let x = xs[k];
        match (top, plain[k]) {
            (0, _) => (Pair::ONE, Pair::ZERO),
            (_, true) => (Pair { hi: x, lo: 0.0 }, Pair::ONE),
            (_, false) => pass(e, x, true, (Pair::ONE, Pair::ZERO)),
        }
    });
    let mut fixed = [false; K];
    let mut bits = top.saturating_sub(1);
    while bits > 0 {
        bits -= 1;
        let set = (n >> bits) & 1 == 1;
        for k in 0..K {
            if fixed[k] {
                continue;
            }
            let (power, sum) = pass(e, xs[k], set, states[k]);
            states[k] = (power, sum);
            if plain[k] && bits > 0 && power.is_zero() {
                // The power stays +0 and a pass without the bit is sum·(1 + 0): if
                // that and a pass with the bit leave the sum as it is, so do all the
                // rest.
                let once = sum.mul(e, Pair::ONE);
                fixed[k] = once.same(sum) && sum.scale(e, xs[k]).add_one().same(sum);
            }
        }
        if fixed.iter().all(|&f| f) {
            break;
        }
    }
    core::array::from_fn(|k| {
        let (power, sum) = states[k];
        (power.value(), (1.0 - xs[k]) * sum.value())
    })
}

/// One pass of [`pow_complement_with`] over `(power, sum)`, for a bit of `n` that is
/// `set` or not.
#[inline(always)]
fn pass(e: impl ProductError, x: f32, set: bool, (power, sum): (Pair, Pair)) -> (Pair, Pair) {
    let sum = sum.mul(e, power.add_one());
    let power = power.mul(e, power);
    if set {
        (power.scale(e, x), sum.scale(e, x).add_one())
    } else {
        (power, sum)
    }
}

/// An unevaluated sum `hi + lo` of two `f32`s with `|lo| ≤ ulp(hi)/2`: about 48 bits.
#[derive(Clone, Copy)]
struct Pair {
    hi: f32,
    lo: f32,
}

impl Pair {
    const ZERO: Pair = Pair { hi: 0.0, lo: 0.0 };
    const ONE: Pair = Pair { hi: 1.0, lo: 0.0 };

    /// `a + b` as a pair, exactly, for `|a| ≥ |b|` (or `a` zero).
    #[inline(always)]
    fn quick_sum(a: f32, b: f32) -> Pair {
        let hi = a + b;
        Pair {
            hi,
            lo: b - (hi - a),
        }
    }

    /// `a · b` as a pair, exactly (within the range of [`dekker_exact`]).
    #[inline(always)]
    fn product(e: impl ProductError, a: f32, b: f32) -> Pair {
        let hi = a * b;
        Pair {
            hi,
            lo: e.error(a, b, hi),
        }
    }

    #[inline(always)]
    fn mul(self, e: impl ProductError, other: Pair) -> Pair {
        let p = Pair::product(e, self.hi, other.hi);
        Pair::quick_sum(p.hi, p.lo + (self.hi * other.lo + self.lo * other.hi))
    }

    #[inline(always)]
    fn scale(self, e: impl ProductError, x: f32) -> Pair {
        let p = Pair::product(e, self.hi, x);
        Pair::quick_sum(p.hi, p.lo + self.lo * x)
    }

    /// `1 + self`, for `self ≥ 0`.
    #[inline(always)]
    fn add_one(self) -> Pair {
        // Knuth's two-sum: exact whichever of 1 and hi is larger.
        let s = 1.0 + self.hi;
        let b = s - 1.0;
        let e = (1.0 - (s - b)) + (self.hi - b);
        Pair::quick_sum(s, e + self.lo)
    }

    #[inline(always)]
    fn value(self) -> f32 {
        self.hi + self.lo
    }

    /// Both halves `+0`.
    #[inline(always)]
    fn is_zero(self) -> bool {
        self.hi.to_bits() | self.lo.to_bits() == 0
    }

    /// The same bits in both halves.
    #[inline(always)]
    fn same(self, other: Pair) -> bool {
        self.hi.to_bits() == other.hi.to_bits() && self.lo.to_bits() == other.lo.to_bits()
    }
}

/// Cosine (PyTorch: `math.cos`, used by cosine schedules).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::cos(0.0), 1.0);
/// ```
#[inline]
pub fn cos(x: f32) -> f32 {
    libm::cosf(x)
}

/// Sine (PyTorch: `math.sin`, used by rotations in `augment`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::sin(0.0), 0.0);
/// ```
#[inline]
pub fn sin(x: f32) -> f32 {
    libm::sinf(x)
}

/// The largest integer not above `x` (PyTorch: `torch.floor`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::floor(-0.5), -1.0);
/// ```
#[inline]
pub fn floor(x: f32) -> f32 {
    libm::floorf(x)
}

/// The nearest integer, halves away from zero (Rust's `f32::round`; PyTorch's
/// `torch.round` rounds halves to even).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::round(2.5), 3.0);
/// ```
#[inline]
pub fn round(x: f32) -> f32 {
    libm::roundf(x)
}

/// `cos(2π·t)`, the cosine of `t` full turns, in `f32` arithmetic only (within about
/// 2 ulp of the true value; PyTorch: `torch.cos(2 * math.pi * t)`).
///
/// `libm`'s `cosf` computes in `f64`, which a single-precision FPU (Cortex-M4F, M33,
/// M55) emulates in software: kilobytes of code and slow. Turns make the argument
/// reduction exact: `t − ⌊t⌋`, then the symmetries `1 − u`, `½ − u` and `¼ − u`
/// (each exact by Sterbenz's lemma) bring it to `[0, ⅛]` of a turn, where a Taylor
/// polynomial of degree 10 (cosine) or 11 (sine) is below half an ulp of error. The
/// normal sampler of [`init`](crate::init) uses it, so drawing weights needs no `f64`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::math::cos_turns;
/// assert_eq!(cos_turns(0.0), 1.0);
/// assert_eq!(cos_turns(0.5), -1.0);
/// assert_eq!(cos_turns(0.25), 0.0);
/// assert!((cos_turns(0.1) - (0.2 * std::f32::consts::PI).cos()).abs() < 2e-7);
/// ```
pub fn cos_turns(t: f32) -> f32 {
    use core::f32::consts::TAU;
    let mut u = t - floor(t);
    if u > 0.5 {
        u = 1.0 - u;
    }
    let (u, sign) = if u > 0.25 { (0.5 - u, -1.0) } else { (u, 1.0) };
    let value = if u <= 0.125 {
        let x2 = (TAU * u) * (TAU * u);
        1.0 + x2
            * (-1.0 / 2.0
                + x2 * (1.0 / 24.0
                    + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40_320.0 + x2 * (-1.0 / 3_628_800.0)))))
    } else {
        let x = TAU * (0.25 - u);
        let x2 = x * x;
        x + x
            * x2
            * (-1.0 / 6.0
                + x2 * (1.0 / 120.0
                    + x2 * (-1.0 / 5_040.0 + x2 * (1.0 / 362_880.0 + x2 * (-1.0 / 39_916_800.0)))))
    };
    sign * value
}

/// Exactly rounded square root (PyTorch: `torch.sqrt`); NaN for negative input.
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::math::sqrt(9.0), 3.0);
/// assert!(microtrain::kernels::math::sqrt(-1.0).is_nan());
/// ```
#[inline]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    {
        let bits: u32;
        // SAFETY: the hard-float ABI guarantees a VFP unit, whose `vsqrt.f32` computes
        // the exactly rounded IEEE 754 square root. The block reads only its input
        // register, writes only its output register and `s15` (declared as clobbered),
        // touches no memory and no stack.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "vmov s15, {x}",
                "vsqrt.f32 s15, s15",
                "vmov {r}, s15",
                x = in(reg) x.to_bits(),
                r = lateout(reg) bits,
                out("s15") _,
                options(pure, nomem, nostack),
            );
        }
        f32::from_bits(bits)
    }
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    {
        libm::sqrtf(x)
    }
}
