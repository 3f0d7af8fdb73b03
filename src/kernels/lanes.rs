//! `libm`'s `expf` and `logf` eight lanes at a time, with the scalar functions' bits:
//! the same exactly rounded operations in the same order in every lane, and the scalar
//! function for any lane that is a special case. The slices [`exp_slice`] and
//! [`ln_slice`] and the softmax and cross-entropy kernels run on them.

use super::vector::{map_mut, same_len, LANES};
use super::Path;
use crate::Error;
use wide::f32x8;

/// `yᵢ = eˣⁱ` for every `i`, with the bits of [`math::exp`](super::math::exp) (`libm`'s
/// `expf`) on every path (PyTorch: `torch.exp(x)`).
///
/// The SIMD path runs `expf`'s own sequence of exactly rounded operations eight lanes
/// at a time, so it gives the scalar bits without a call per element.
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{exp_slice, math};
/// let x = [0.0, -1.0, 2.5, -100.0, 1e-9, f32::NEG_INFINITY, 0.3];
/// let mut y = [0.0; 7];
/// exp_slice(&x, &mut y)?;
/// for (&v, &e) in x.iter().zip(&y) {
///     assert_eq!(e.to_bits(), math::exp(v).to_bits());
/// }
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn exp_slice(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    exp_slice_on(Path::DEFAULT, x, y)
}

/// [`exp_slice`] on the chosen path.
pub(crate) fn exp_slice_on(path: Path, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    same_len("exp_slice y", x.len(), y.len())?;
    exp_map(path, x, y, |v| v, |v| v);
    Ok(())
}

/// `yᵢ = exp(f(xᵢ))`, a ragged end padded into one vector on the SIMD path; `simd_f`
/// and `scalar_f` are the same exactly rounded operation, lane-wise and on one float.
/// `x` and `y` have equal length.
#[inline(always)]
pub(crate) fn exp_map(
    path: Path,
    x: &[f32],
    y: &mut [f32],
    simd_f: impl Fn(f32x8) -> f32x8,
    scalar_f: impl Fn(f32) -> f32,
) {
    if !path.simd() {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = super::math::exp(scalar_f(v));
        }
        return;
    }
    let f = simd_f;
    let (ys, yt) = y.as_chunks_mut::<LANES>();
    let (xs, xt) = x.as_chunks::<LANES>();
    for (o, v) in ys.iter_mut().zip(xs) {
        *o = exp_lanes(f(f32x8::new(*v))).to_array();
    }
    if !yt.is_empty() {
        // Padded with a value of the tail, so that no lane of the padding is a special
        // case that the real lanes are not.
        let mut v = [xt[0]; LANES];
        v[..xt.len()].copy_from_slice(xt);
        let e = exp_lanes(f(f32x8::new(v))).to_array();
        yt.copy_from_slice(&e[..yt.len()]);
    }
}

/// `libm`'s `expf` (FreeBSD `e_expf.c`) in eight lanes, bit for bit: the same
/// argument reduction `x = k·ln 2 + r` (`r = hi − lo`), the same rational approximation
/// and the same scaling `y·2ᵏ` (`libm`'s `scalbnf`: one multiplication for
/// `k ≥ −126`, and `(y·2⁻¹⁰²)·2ᵏ⁺¹⁰²` below, where the result is subnormal), each
/// operation exactly rounded and none fused; `x ≤ −103.97` gives `+0`. A vector with a
/// lane `x ≥ 87.34` (overflow, `+∞`) or NaN is handed to the scalar function lane by
/// lane. Softmax never has one (`x − max x ≤ 0`) unless its row has a NaN or `±∞`.
#[inline]
pub(crate) fn exp_lanes(x: f32x8) -> f32x8 {
    // `expf`'s constants, by their bits.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200); // 6.9314575195e-01
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e); // 1.4286067653e-06
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b); // 1.4426950216e+00
    const P1: f32 = f32::from_bits(0x3e2a_aa8f); // 1.6666625440e-1
    const P2: f32 = f32::from_bits(0xbb35_5215); // -2.7667332906e-3
    let splat = f32x8::splat;
    // x < 87.33655 (0x42aeac50): no overflow. False for NaN.
    if !x.simd_lt(splat(f32::from_bits(0x42ae_ac50))).all() {
        return f32x8::new(x.to_array().map(super::math::exp));
    }
    let a = x.abs();
    let negative = x.simd_lt(f32x8::ZERO);
    // k: |x| > 1.5 ln 2 (0x3f851592): (int)(x/ln 2 ± 0.5), truncated toward zero;
    // |x| > 0.5 ln 2 (0x3eb17218): ±1; otherwise 0.
    let half = negative.select(splat(-0.5), splat(0.5));
    let far = (splat(INV_LN2) * x + half).trunc_int().round_float();
    let one = negative.select(splat(-1.0), splat(1.0));
    let k = a.simd_gt(splat(f32::from_bits(0x3f85_1592))).select(
        far,
        a.simd_gt(splat(f32::from_bits(0x3eb1_7218)))
            .select(one, f32x8::ZERO),
    );
    // With k = 0 these are hi = x, lo = 0, r = x, as in `expf`'s branch for small x.
    let hi = x - k * splat(LN2_HI);
    let lo = k * splat(LN2_LO);
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (splat(P1) + rr * splat(P2));
    let y = f32x8::ONE + ((r * c / (splat(2.0) - c) - lo) + hi);
    // scalbnf(y, k): below k = −126, first y·2⁻¹⁰² (exact), then the rest of 2ᵏ.
    let deep = k.simd_lt(splat(-126.0));
    let pre = deep.select(splat(f32::from_bits(0x0c80_0000)), f32x8::ONE); // 2⁻¹⁰²
    let k = deep.select(k + splat(102.0), k);
    // 2ᵏ for |k| ≤ 126: the bits of k + 127 shifted into the exponent field. k + 127 +
    // 2²³ holds k + 127 in its mantissa bits, and the shift drops its exponent bits.
    let biased = (k + splat(127.0 + 8_388_608.0)).to_bits();
    let y = (y * pre) * f32x8::from_bits(biased << 23);
    // |x| ≤ 2⁻¹⁴ (0x39000000): 1 + x; x ≤ −103.97 (0x42cff1b5): +0.
    let y = a
        .simd_le(splat(f32::from_bits(0x3900_0000)))
        .select(f32x8::ONE + x, y);
    a.simd_ge(splat(f32::from_bits(0x42cf_f1b5)))
        .select(f32x8::ZERO, y)
}

/// `yᵢ = ln xᵢ` for every `i`, with the bits of [`math::ln`](super::math::ln) (`libm`'s
/// `logf`) on every path (PyTorch: `torch.log(x)`).
///
/// The SIMD path runs `logf`'s own sequence of exactly rounded operations eight lanes
/// at a time for normal positive finite values; a vector with any other value (zero,
/// subnormal, negative, `+∞`, NaN) is handed to the scalar function lane by lane.
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{math, vector::ln_slice};
/// let x = [1.0, 2.0, 0.1, 1e30, 1e-40, 0.0, -1.0, 7.5, 1.5];
/// let mut y = [0.0; 9];
/// ln_slice(&x, &mut y)?;
/// for (&v, &l) in x.iter().zip(&y) {
///     assert_eq!(l.to_bits(), math::ln(v).to_bits());
/// }
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn ln_slice(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    ln_slice_on(Path::DEFAULT, x, y)
}

/// [`ln_slice`] on the chosen path.
pub(crate) fn ln_slice_on(path: Path, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    same_len("ln_slice y", x.len(), y.len())?;
    y.copy_from_slice(x);
    map_mut(path, y, ln_lanes, super::math::ln);
    Ok(())
}

/// `libm`'s `logf` (FreeBSD `e_logf.c`) in eight lanes, bit for bit: `x = 2ᵏ·(1 + f)`
/// with `1 + f` in `[√2/2, √2)` by the same integer arithmetic on the bits, then the same
/// rational approximation `s = f/(2 + f)`, `R(s²)` and the same sum
/// `s(f²/2 + R) + k·ln2_lo − f²/2 + f + k·ln2_hi`, each operation exactly rounded and
/// none fused; `ln 1 = +0`. A vector with a lane that is not a normal positive finite
/// number is handed to the scalar function lane by lane (a softmax sum is at least 1
/// unless its row has a NaN or `±∞`).
#[inline]
pub(crate) fn ln_lanes(x: f32x8) -> f32x8 {
    // `logf`'s constants, by their bits.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7180); // 6.9313812256e-01
    const LN2_LO: f32 = f32::from_bits(0x3717_f7d1); // 9.0580006145e-06
    const LG1: f32 = f32::from_bits(0x3f2a_aaaa); // 0.66666662693 = 0xaaaaaa.0p-24
    const LG2: f32 = f32::from_bits(0x3ecc_ce13); // 0.40000972152 = 0xccce13.0p-25
    const LG3: f32 = f32::from_bits(0x3e91_e9ee); // 0.28498786688 = 0x91e9ee.0p-25
    const LG4: f32 = f32::from_bits(0x3e78_9e26); // 0.24279078841 = 0xf89e26.0p-26
    let splat = f32x8::splat;
    let normal = x.simd_ge(splat(f32::MIN_POSITIVE)) & x.simd_lt(splat(f32::INFINITY));
    if !normal.all() {
        return f32x8::new(x.to_array().map(super::math::ln));
    }
    let u = wide::u32x8::splat;
    // Moves the mantissa into [√2/2, √2): k = exponent of x·(√2 / 1.4142135 rounded).
    let ix = x.to_bits() + u(0x3f80_0000 - 0x3f35_04f3);
    // k = (ix >> 23) − 127 as a float, exactly: the 8 bits of ix >> 23 in the mantissa
    // of 2²³, less 2²³ and 127.
    let dk = (f32x8::from_bits((ix >> 23) | u(0x4b00_0000)) - splat(8_388_608.0)) - splat(127.0);
    let f = f32x8::from_bits((ix & u(0x007f_ffff)) + u(0x3f35_04f3)) - f32x8::ONE;
    let s = f / (splat(2.0) + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (splat(LG2) + w * splat(LG4));
    let t2 = z * (splat(LG1) + w * splat(LG3));
    let r = t2 + t1;
    let hfsq = splat(0.5) * f * f;
    let y = s * (hfsq + r) + dk * splat(LN2_LO) - hfsq + f + dk * splat(LN2_HI);
    x.simd_eq(f32x8::ONE).select(f32x8::ZERO, y)
}
