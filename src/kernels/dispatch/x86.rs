//! The dispatched vectors on x86-64: `__m256` and `__m512` operated on with
//! `core::arch` intrinsics, for the matrix products ([`gemm::Vector`]) and the optimizer
//! rules ([`Lane`], [`Vectors`]). Plain arrays of lanes, which the compiler would turn
//! into registers by itself, do not work as well: it splits a rule's longer chains of
//! operations into pieces of `xmm` and permutes, and turns a register tile's
//! broadcasts of consecutive values of `Aᵀ` into shuffles of one vector load.
//!
//! Every operation is one exactly rounded instruction per lane, or a move of lanes;
//! none is fused (the products are not dispatched with the `fma` feature), so the bits
//! are those of the scalar path.
//!
//! # Soundness
//!
//! Every operation executes AVX (resp. AVX-512F) instructions, so a value of these
//! types must exist only on a CPU that has them. Both types are private to the
//! dispatch module, and the only code that creates them is
//! [`optim`](super::optim) and [`gemm`](super::gemm), which run the loops generic over
//! them through [`avx2`](super::avx2) / [`avx512`](super::avx512) only at a level
//! [`detected`](super::detected) found (those check again). Outside this module they
//! are reached only as the `L: Lane` of a `Rule::apply` called by that loop (`apply`
//! has no `'static` bound on `L`, so a rule cannot keep a value past the call) and as
//! the `V: Vector` of the products, which keep none past the call either.

use super::super::gemm::{self, Task, MAX_SIDE};
use super::super::math::{self, ProductError};
use super::super::optim::{Lane, Vectors};
use core::arch::x86_64::*;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// The fused multiply-add's product error, for [`math::pow_complement_with`].
///
/// # Soundness
///
/// [`ProductError::error`] executes an FMA instruction, so a value of this type
/// must exist only on a CPU that has one: the field is private to this module, and
/// the only code that creates a value is [`fused_pow_complements`], after
/// [`fma_detected`](super::fma_detected).
#[derive(Clone, Copy)]
pub(super) struct Fma(());

impl ProductError for Fma {
    #[inline(always)]
    fn error(self, a: f32, b: f32, hi: f32) -> f32 {
        if math::dekker_exact(a, b, hi) {
            // SAFETY: a value of `Fma` exists only where the CPU has FMA (above).
            // `a·b − hi` is exact here, so it equals Dekker's error bit for bit.
            unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(-hi))) }
        } else {
            math::dekker_error(a, b, hi)
        }
    }
}

/// [`math::pow_complement`] of each of `xs`, compiled with FMA, after checking that
/// the CPU has it.
pub(super) fn fused_pow_complements<const K: usize>(xs: [f32; K], n: u32) -> [(f32, f32); K] {
    #[target_feature(enable = "fma")]
    fn run<const K: usize>(xs: [f32; K], n: u32) -> [(f32, f32); K] {
        math::pow_complement_with(Fma(()), xs, n)
    }
    assert!(super::fma_detected(), "FMA code on a CPU without FMA");
    // SAFETY: `fma_detected` found FMA and the operating system saving `ymm` state
    // (under Miri: the crate was compiled with `fma`), checked on the line above,
    // so every instruction `run` may contain exists.
    unsafe { run(xs, n) }
}

/// Eight lanes in a `ymm` register.
#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256);

/// Sixteen lanes in a `zmm` register.
#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512);

/// The operators of one vector type, each one intrinsic.
macro_rules! operators {
    ($v:ident: $($trait:ident $method:ident $intrinsic:ident),*) => {
        $(impl $trait for $v {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: a value of this type exists only where the CPU has the
                // instructions (module documentation).
                $v(unsafe { $intrinsic(self.0, other.0) })
            }
        })*
    };
}

operators!(Avx2: Add add _mm256_add_ps, Sub sub _mm256_sub_ps, Mul mul _mm256_mul_ps,
    Div div _mm256_div_ps);
operators!(Avx512: Add add _mm512_add_ps, Sub sub _mm512_sub_ps, Mul mul _mm512_mul_ps,
    Div div _mm512_div_ps);

// SAFETY (every block below): a value of `Avx2` exists only where the CPU has AVX2,
// of `Avx512` only where it has AVX-512F (module documentation); the loads and
// stores read and write `WIDTH` floats of a slice checked to hold them.

impl Neg for Avx2 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // The sign bit flipped, as `-x` does for one `f32`.
        Avx2(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
}

impl Neg for Avx512 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Avx512(unsafe {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(i32::MIN),
            ))
        })
    }
}

impl Lane for Avx2 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx2(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        // `maxps(a, b)` is `a > b ? a : b`, NaN and signed zeros included: `other`
        // where `other > self`, else `self`, as `Lane::max` for one `f32`.
        Avx2(unsafe { _mm256_max_ps(other.0, self.0) })
    }
    #[inline(always)]
    fn sign(self) -> Self {
        unsafe {
            let zero = _mm256_setzero_ps();
            let neg = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, zero),
                _mm256_set1_ps(-1.0),
            );
            let pos = _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, zero);
            Avx2(_mm256_blendv_ps(neg, _mm256_set1_ps(1.0), pos))
        }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Avx2(unsafe { _mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff))) })
    }
}

impl Lane for Avx512 {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx512(unsafe { _mm512_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        // As for `Avx2`: `other > self ? other : self`.
        Avx512(unsafe {
            let greater = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(other.0, self.0);
            _mm512_mask_blend_ps(greater, self.0, other.0)
        })
    }
    #[inline(always)]
    fn sign(self) -> Self {
        unsafe {
            let zero = _mm512_setzero_ps();
            let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, zero);
            let pos = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, zero);
            let v = _mm512_mask_blend_ps(neg, zero, _mm512_set1_ps(-1.0));
            Avx512(_mm512_mask_blend_ps(pos, v, _mm512_set1_ps(1.0)))
        }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Avx512(unsafe {
            _mm512_castsi512_ps(_mm512_and_si512(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(0x7fff_ffff),
            ))
        })
    }
}

impl Vectors for Avx2 {
    const WIDTH: usize = 8;
    const ZERO: Self = Avx2(unsafe { core::mem::transmute::<[f32; 8], __m256>([0.0; 8]) });
    #[inline(always)]
    fn load(x: &[f32]) -> Self {
        let x = &x[..8];
        Avx2(unsafe { _mm256_loadu_ps(x.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, x: &mut [f32]) {
        let x = &mut x[..8];
        unsafe { _mm256_storeu_ps(x.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn all_zero(self) -> bool {
        // Lanes equal to zero (±0) all set: every one of the 8 mask bits.
        unsafe {
            _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, _mm256_setzero_ps())) == 0xff
        }
    }
}

impl Vectors for Avx512 {
    const WIDTH: usize = 16;
    const ZERO: Self = Avx512(unsafe { core::mem::transmute::<[f32; 16], __m512>([0.0; 16]) });
    #[inline(always)]
    fn load(x: &[f32]) -> Self {
        let x = &x[..16];
        Avx512(unsafe { _mm512_loadu_ps(x.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, x: &mut [f32]) {
        let x = &mut x[..16];
        unsafe { _mm512_storeu_ps(x.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn all_zero(self) -> bool {
        unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, _mm512_setzero_ps()) == 0xffff }
    }
}

/// Lanes `0 .. len` set (`len ≤ 8`), as a mask of `_mm256_blendv_ps`.
#[inline(always)]
fn mask8(len: usize) -> __m256 {
    // SAFETY: called only on values of `Avx2` (which exist only where the CPU has AVX).
    unsafe {
        let lane = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        _mm256_cmp_ps::<_CMP_LT_OQ>(lane, _mm256_set1_ps(len as f32))
    }
}

/// Lanes `0 .. len` set (`len ≤ 16`), as an AVX-512 mask.
#[inline(always)]
fn mask16(len: usize) -> __mmask16 {
    ((1u32 << len) - 1) as __mmask16
}

/// The 8 × 8 square `columns[t][kk0 .. kk0 + 8]` transposed in `ymm` registers (AVX's
/// unpack, shuffle and lane permute), row `s` handed to `row(s, values)`: the body of
/// [`gemm::Vector::transpose_square`] for both x86 vectors, called only inside their
/// loops (module documentation).
#[inline(always)]
fn transpose8(columns: &[&[f32]; MAX_SIDE], kk0: usize, mut row: impl FnMut(usize, &[f32])) {
    // SAFETY: reached only from the products on `Avx2` / `Avx512` (CPUs with AVX); each
    // load reads 8 floats of a slice just checked to hold them.
    let t: [__m256; 8] = core::array::from_fn(|t| {
        let src = &columns[t][kk0..kk0 + 8];
        unsafe { _mm256_loadu_ps(src.as_ptr()) }
    });
    // SAFETY: as above; these only move lanes.
    let columns = unsafe {
        // Pairs of rows interleaved, then quadruples, then the two 128-bit halves.
        let u = [
            _mm256_unpacklo_ps(t[0], t[1]),
            _mm256_unpackhi_ps(t[0], t[1]),
            _mm256_unpacklo_ps(t[2], t[3]),
            _mm256_unpackhi_ps(t[2], t[3]),
            _mm256_unpacklo_ps(t[4], t[5]),
            _mm256_unpackhi_ps(t[4], t[5]),
            _mm256_unpacklo_ps(t[6], t[7]),
            _mm256_unpackhi_ps(t[6], t[7]),
        ];
        let q = [
            _mm256_shuffle_ps::<0x44>(u[0], u[2]),
            _mm256_shuffle_ps::<0xee>(u[0], u[2]),
            _mm256_shuffle_ps::<0x44>(u[1], u[3]),
            _mm256_shuffle_ps::<0xee>(u[1], u[3]),
            _mm256_shuffle_ps::<0x44>(u[4], u[6]),
            _mm256_shuffle_ps::<0xee>(u[4], u[6]),
            _mm256_shuffle_ps::<0x44>(u[5], u[7]),
            _mm256_shuffle_ps::<0xee>(u[5], u[7]),
        ];
        [
            _mm256_permute2f128_ps::<0x20>(q[0], q[4]),
            _mm256_permute2f128_ps::<0x20>(q[1], q[5]),
            _mm256_permute2f128_ps::<0x20>(q[2], q[6]),
            _mm256_permute2f128_ps::<0x20>(q[3], q[7]),
            _mm256_permute2f128_ps::<0x31>(q[0], q[4]),
            _mm256_permute2f128_ps::<0x31>(q[1], q[5]),
            _mm256_permute2f128_ps::<0x31>(q[2], q[6]),
            _mm256_permute2f128_ps::<0x31>(q[3], q[7]),
        ]
    };
    for (s, c) in columns.iter().enumerate() {
        let mut values = [0.0f32; 8];
        // SAFETY: as above; the store writes the 8 floats of `values`.
        unsafe { _mm256_storeu_ps(values.as_mut_ptr(), *c) };
        row(s, &values);
    }
}

/// [`gemm::Vector`] for a vector type: the operations of [`Lane`] and [`Vectors`], its
/// lane count, its masked `first` and `blend`, and the function that runs a task
/// compiled for its instruction set.
macro_rules! gemm_vector {
    (
        $v:ident($raw:ty), $lanes:literal, $run:ident,
        first($first_v:ident, $first_len:ident) $first:block,
        blend($new:ident, $old:ident, $blend_len:ident) $blend:block
    ) => {
        impl gemm::Vector for $v {
            const LANES: usize = $lanes;
            const ZERO: Self = <$v as Vectors>::ZERO;
            #[inline(always)]
            fn splat(x: f32) -> Self {
                <$v as Lane>::splat(x)
            }
            #[inline(always)]
            fn load(src: &[f32]) -> Self {
                <$v as Vectors>::load(src)
            }
            #[inline(always)]
            fn store(self, dst: &mut [f32]) {
                <$v as Vectors>::store(self, dst)
            }
            #[inline(always)]
            fn lanes_mut(&mut self) -> &mut [f32] {
                // SAFETY: the register type is `LANES` floats' worth of bytes, aligned
                // at least as the array, and every bit pattern is a valid `f32`; the
                // borrow of `self` covers the result's life.
                unsafe { &mut *(&mut self.0 as *mut $raw).cast::<[f32; $lanes]>() }
            }
            #[inline(always)]
            fn first(self, len: usize) -> Self {
                let ($first_v, $first_len) = (self, len);
                $first
            }
            #[inline(always)]
            fn blend(self, old: Self, len: usize) -> Self {
                let ($new, $old, $blend_len) = (self, old, len);
                $blend
            }
            #[inline(always)]
            fn add_product(self, a: Self, b: Self) -> Self {
                self + a * b
            }
            const SIDE: usize = 8;
            #[inline(always)]
            fn transpose_square(
                columns: &[&[f32]; MAX_SIDE],
                kk0: usize,
                row: impl FnMut(usize, &[f32]),
            ) {
                transpose8(columns, kk0, row)
            }
            #[inline(always)]
            fn vectorize<T: Task>(task: T) -> T::Output {
                super::$run(task)
            }
        }
    };
}

// SAFETY (the blocks below): as for the other operations of these types.
gemm_vector!(Avx2(__m256), 8, avx2,
    first(v, len) { Avx2(unsafe { _mm256_and_ps(v.0, mask8(len)) }) },
    blend(v, old, len) { Avx2(unsafe { _mm256_blendv_ps(old.0, v.0, mask8(len)) }) });
gemm_vector!(Avx512(__m512), 16, avx512,
    first(v, len) { Avx512(unsafe { _mm512_maskz_mov_ps(mask16(len), v.0) }) },
    blend(v, old, len) { Avx512(unsafe { _mm512_mask_blend_ps(mask16(len), old.0, v.0) }) });
