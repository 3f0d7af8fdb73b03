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
///   (double-`f32` arithmetic: Dekker's exact product and Knuth's exact sum, no fused
///   multiply-add needed), because repeated squaring doubles a relative error at every
///   step: in one `f32` the power would drift by up to `n` roundings.
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
pub fn pow_complement(x: f32, n: u32) -> (f32, f32) {
    // After each pass, m is the value of n's bits above the current one, power = x^m
    // and sum = 1 + x + … + x^(m−1).
    let (mut power, mut sum) = (Pair::ONE, Pair::ZERO);
    for bit in (0..u32::BITS - n.leading_zeros()).rev() {
        sum = sum.mul(power.add_one());
        power = power.mul(power);
        if (n >> bit) & 1 == 1 {
            sum = sum.scale(x).add_one();
            power = power.scale(x);
        }
    }
    (power.value(), (1.0 - x) * sum.value())
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
    fn quick_sum(a: f32, b: f32) -> Pair {
        let hi = a + b;
        Pair {
            hi,
            lo: b - (hi - a),
        }
    }

    /// `a · b` as a pair, exactly (Dekker, splitting each factor into 12-bit halves).
    fn product(a: f32, b: f32) -> Pair {
        let split = |v: f32| {
            let c = 4097.0 * v;
            let high = c - (c - v);
            (high, v - high)
        };
        let ((ah, al), (bh, bl)) = (split(a), split(b));
        let hi = a * b;
        Pair {
            hi,
            lo: ((ah * bh - hi) + ah * bl + al * bh) + al * bl,
        }
    }

    fn mul(self, other: Pair) -> Pair {
        let p = Pair::product(self.hi, other.hi);
        Pair::quick_sum(p.hi, p.lo + (self.hi * other.lo + self.lo * other.hi))
    }

    fn scale(self, x: f32) -> Pair {
        let p = Pair::product(self.hi, x);
        Pair::quick_sum(p.hi, p.lo + self.lo * x)
    }

    /// `1 + self`, for `self ≥ 0`.
    fn add_one(self) -> Pair {
        // Knuth's two-sum: exact whichever of 1 and hi is larger.
        let s = 1.0 + self.hi;
        let b = s - 1.0;
        let e = (1.0 - (s - b)) + (self.hi - b);
        Pair::quick_sum(s, e + self.lo)
    }

    fn value(self) -> f32 {
        self.hi + self.lo
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
