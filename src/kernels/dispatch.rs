//! Run-time choice of the vector width on x86-64.
//!
//! `wide` picks its vectors when the crate is compiled: a build without target flags
//! gets SSE2, four lanes, even on a CPU with AVX2 or AVX-512. The hot kernels, the
//! matrix products (and so the dense layers and a convolution's weight gradient) and
//! the optimizer update loops, are therefore also compiled inside functions with
//! `#[target_feature(enable = "avx2")]` and `#[target_feature(enable = "avx512f")]`,
//! and the first call asks the CPU (`cpuid`, and `xgetbv` for the registers the
//! operating system saves) which of them it may run. The answer is cached in an
//! atomic; every later call costs one relaxed load.
//!
//! - The products run their generic SIMD code (`gemm::with_buffer`) on plain arrays of
//!   eight or sixteen `f32` (`F32x8`, `F32x16`) whose operations are written lane
//!   by lane; the packing and the register tiles (`gemm::Task`) are entered through
//!   `avx2` / `avx512`, where the compiler turns those arrays into `ymm` / `zmm`
//!   registers.
//! - The optimizer loops run the rules on `__m256` / `__m512` through `core::arch`
//!   intrinsics (module `x86`): for a rule's longer chains of operations the compiler
//!   does not reliably turn arrays into whole registers.
//! - The bias corrections' [`pow_complement`](super::math::pow_complement) takes the
//!   rounding error of a product from one fused multiply-add (`vfmadd`) instead of
//!   Dekker's eight operations where the CPU has FMA (`x86::Fma`): the error is exact
//!   either way, so the bits are the same.
//!
//! Each lane performs exactly the additions, multiplications, divisions and square
//! roots of the scalar path, in the same order, and none is fused (Rust never contracts
//! `a * b + c`), so every level gives the same bits as the scalar path and as every
//! other target. The host tests run each level ([`set_limit`]) against the scalar path.
//!
//! A build whose target features already give vectors as wide (`-C target-cpu=native`
//! on an AVX-512 machine) skips the dispatch. Elsewhere (AArch64, Cortex-M, RISC-V,
//! WebAssembly) [`detected`] is [`Level::Baseline`] and nothing changes. With the
//! `fma` feature the products are not dispatched (their fused order is a property of
//! the compile-time vectors).
//!
//! This is the crate's one module with `unsafe` code besides the square-root
//! instruction of [`math`]: `cpuid`/`xgetbv`, calling a
//! `#[target_feature]` function, and the intrinsics of the optimizer's vectors and
//! of the fused multiply-add. Each
//! block says why it is sound.

#![allow(unsafe_code)]

use super::gemm::{self, Operands, Task, Vector};
use super::math;
use super::optim;
use super::Accumulate;
#[cfg(target_arch = "x86_64")]
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU8, Ordering};

/// The widest vectors the kernels may use beyond what the build's target features give.
///
/// Ordered: `Baseline < Avx2 < Avx512`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::dispatch::{detected, Level};
/// assert!(Level::Baseline <= detected());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The vectors the build's target features give `wide` (SSE2 on a default x86-64
    /// build, NEON on AArch64), or the scalar path where there are none.
    Baseline,
    /// Eight-lane `ymm` vectors (x86-64 with AVX2, and the operating system saving
    /// `ymm` state).
    Avx2,
    /// Sixteen-lane `zmm` vectors (x86-64 with AVX-512F, and the operating system
    /// saving `zmm` and mask state).
    Avx512,
}

impl Level {
    fn from_u8(x: u8) -> Level {
        match x {
            2 => Level::Avx2,
            3 => Level::Avx512,
            _ => Level::Baseline,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Level::Baseline => 1,
            Level::Avx2 => 2,
            Level::Avx512 => 3,
        }
    }
}

/// The cached answer of [`detect`]: 0 until the first call.
static DETECTED: AtomicU8 = AtomicU8::new(0);
/// The cap set by [`set_limit`] (`u8::MAX`: none).
static LIMIT: AtomicU8 = AtomicU8::new(u8::MAX);

/// The widest level this CPU and operating system support (cached after the first
/// call). [`Level::Baseline`] on every target but x86-64.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::dispatch::{detected, Level};
/// if cfg!(not(target_arch = "x86_64")) {
///     assert_eq!(detected(), Level::Baseline);
/// }
/// ```
pub fn detected() -> Level {
    match DETECTED.load(Ordering::Relaxed) {
        0 => {
            let level = detect();
            DETECTED.store(level.to_u8(), Ordering::Relaxed);
            level
        }
        x => Level::from_u8(x),
    }
}

/// Caps the level the kernels use at `max` for the whole program (until the next
/// call): for tests that run every level, and for benchmarks that compare them. A
/// level above [`detected`] is never used, whatever the cap. Every level gives the same
/// bits, so the cap changes only the speed.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::dispatch::{active, set_limit, Level};
/// set_limit(Level::Baseline);
/// assert_eq!(active(), Level::Baseline);
/// set_limit(Level::Avx512); // no cap: the CPU decides
/// ```
pub fn set_limit(max: Level) {
    LIMIT.store(max.to_u8(), Ordering::Relaxed);
}

/// The level the kernels use now: [`detected`], capped by [`set_limit`].
///
/// # Examples
///
/// ```
/// use microtrain::kernels::dispatch::{active, detected};
/// assert!(active() <= detected());
/// ```
pub fn active() -> Level {
    let limit = LIMIT.load(Ordering::Relaxed);
    let level = detected();
    if level.to_u8() <= limit {
        level
    } else {
        Level::from_u8(limit)
    }
}

/// Asks the CPU. Under Miri, which cannot run `cpuid`, the target features the crate
/// was compiled with stand for the CPU (Miri's own rule for `#[target_feature]`).
fn detect() -> Level {
    if cfg!(miri) {
        if cfg!(target_feature = "avx512f") {
            Level::Avx512
        } else if cfg!(target_feature = "avx2") {
            Level::Avx2
        } else {
            Level::Baseline
        }
    } else {
        cpu()
    }
}

/// `cpuid` and `xgetbv`, the documented way (Intel SDM vol. 1, 14.3 and 15.2): the
/// instruction set bit, and the operating system's promise to save the registers
/// (`OSXSAVE`, then the state bits of `XCR0`).
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn cpu() -> Level {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    // SAFETY: `cpuid` exists on every x86-64 CPU and only reads identification
    // registers; leaf 7 is asked for only when leaf 0 says it exists. (`__cpuid` is a
    // safe function from Rust 1.94; the block is for the older compilers we support.)
    #[allow(unused_unsafe)]
    let (leaf0, leaf1) = unsafe { (__cpuid(0), __cpuid(1)) };
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    if leaf0.eax < 7 || !osxsave || !avx {
        return Level::Baseline;
    }
    // SAFETY: as above, leaf 7 exists (leaf 0's maximum is at least 7).
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    // SAFETY: `xgetbv` needs the XSAVE feature, enabled by the operating system, which
    // `OSXSAVE` (leaf 1, ECX bit 27) just said; register 0 is XCR0.
    let xcr0 = unsafe { _xgetbv(0) };
    let ymm_saved = xcr0 & 0b110 == 0b110; // SSE and AVX state
    let zmm_saved = xcr0 & 0b1110_0110 == 0b1110_0110; // and opmask, ZMM_Hi256, Hi16_ZMM
    let avx2 = leaf7.ebx & (1 << 5) != 0;
    let avx512f = leaf7.ebx & (1 << 16) != 0;
    if avx512f && zmm_saved {
        Level::Avx512
    } else if avx2 && ymm_saved {
        Level::Avx2
    } else {
        Level::Baseline
    }
}

/// Not x86-64 (or Miri): the build's vectors only.
#[cfg(not(all(target_arch = "x86_64", not(miri))))]
fn cpu() -> Level {
    Level::Baseline
}

/// Eight `f32` lanes computed one by one; under `avx2` the compiler keeps them in a
/// `ymm` register.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct F32x8([f32; 8]);

/// Sixteen `f32` lanes computed one by one; under `avx512f` the compiler keeps them in
/// a `zmm` register.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct F32x16([f32; 16]);

macro_rules! array_vector {
    ($v:ident, $lanes:literal, $vectorize:ident) => {
        impl Vector for $v {
            const LANES: usize = $lanes;
            const ZERO: Self = $v([0.0; $lanes]);
            #[inline(always)]
            fn splat(x: f32) -> Self {
                $v([x; $lanes])
            }
            #[inline(always)]
            fn load(src: &[f32]) -> Self {
                match src.first_chunk::<$lanes>() {
                    Some(&whole) => $v(whole),
                    None => panic!("a vector's worth of values"),
                }
            }
            #[inline(always)]
            fn store(self, dst: &mut [f32]) {
                dst[..$lanes].copy_from_slice(&self.0);
            }
            #[inline(always)]
            fn lanes_mut(&mut self) -> &mut [f32] {
                &mut self.0
            }
            #[inline(always)]
            fn first(self, len: usize) -> Self {
                $v(core::array::from_fn(
                    |l| if l < len { self.0[l] } else { 0.0 },
                ))
            }
            #[inline(always)]
            fn blend(self, old: Self, len: usize) -> Self {
                $v(core::array::from_fn(|l| {
                    if l < len {
                        self.0[l]
                    } else {
                        old.0[l]
                    }
                }))
            }
            #[inline(always)]
            fn add_product(self, a: Self, b: Self) -> Self {
                $v(core::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
            }
            const TALL_TRANSPOSED: bool = false;
            #[inline(always)]
            fn vectorize<T: Task>(task: T) -> T::Output {
                $vectorize(task)
            }
        }
    };
}

array_vector!(F32x8, 8, avx2);
array_vector!(F32x16, 16, avx512);

/// Runs `task` compiled for AVX2, after checking that the CPU has it.
#[inline(always)]
fn avx2<T: Task>(task: T) -> T::Output {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn run<T: Task>(task: T) -> T::Output {
            task.run()
        }
        assert!(detected() >= Level::Avx2, "AVX2 code on a CPU without AVX2");
        // SAFETY: `detected` found AVX2 and the operating system saving `ymm` state
        // (under Miri: the crate was compiled with `avx2`), checked on the line above,
        // so every instruction `run` may contain exists.
        unsafe { run(task) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    task.run()
}

/// Runs `task` compiled for AVX-512F, after checking that the CPU has it.
#[inline(always)]
fn avx512<T: Task>(task: T) -> T::Output {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn run<T: Task>(task: T) -> T::Output {
            task.run()
        }
        assert!(
            detected() >= Level::Avx512,
            "AVX-512 code on a CPU without AVX-512F"
        );
        // SAFETY: `detected` found AVX-512F and the operating system saving `zmm` and
        // mask state (under Miri: the crate was compiled with `avx512f`), checked on
        // the line above, so every instruction `run` may contain exists.
        unsafe { run(task) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    task.run()
}

/// Whether the build's own vectors are at least as wide as `level`'s (then the
/// dispatch would only repeat them). Under Miri every level runs, to be checked.
fn compiled_covers(level: Level) -> bool {
    !cfg!(miri)
        && match level {
            Level::Baseline => true,
            Level::Avx2 => cfg!(target_feature = "avx"),
            Level::Avx512 => cfg!(target_feature = "avx512f"),
        }
}

/// The level a dispatched kernel runs at: [`active`], or `Baseline` where the build's
/// vectors already cover it or the `fma` feature fixes the order to the build's.
#[inline]
fn kernel_level() -> Level {
    let level = active();
    if cfg!(feature = "fma") || compiled_covers(level) {
        Level::Baseline
    } else {
        level
    }
}

/// The SIMD matrix product of [`gemm`] at the widest level this CPU allows, on
/// vectors half as wide when `C` has no more columns than they hold (a 16-lane vector
/// would compute 8 columns with half its lanes masked, and pack `B` to do so; an
/// 8-lane one reads such a `B` in place). The width changes no bit.
pub(super) fn gemm(c: &mut [f32], ops: &Operands<'_>, mode: Accumulate) {
    let n = ops.n();
    match kernel_level() {
        Level::Avx512 if n <= F32x8::LANES => gemm::with_buffer::<F32x8>(c, ops, mode),
        Level::Avx512 => gemm::with_buffer::<F32x16>(c, ops, mode),
        Level::Avx2 => gemm::with_buffer::<F32x8>(c, ops, mode),
        Level::Baseline if n <= gemm::Narrow::LANES => {
            gemm::with_buffer::<gemm::Narrow>(c, ops, mode)
        }
        Level::Baseline => gemm::with_buffer::<gemm::Lanes>(c, ops, mode),
    }
}

/// A piece of the optimizer loops, generic over the vector it runs on: [`optim`] picks
/// the vector.
pub(super) trait OptimTask {
    /// What the piece returns.
    type Output;
    /// Does the work on vectors `V`.
    fn run<V: optim::Vectors>(self) -> Self::Output;
}

/// An [`OptimTask`] bound to the vector `V`, as [`avx2`] and [`avx512`] run it.
#[cfg(target_arch = "x86_64")]
struct On<V, T>(T, PhantomData<V>);

#[cfg(target_arch = "x86_64")]
impl<V: optim::Vectors, T: OptimTask> Task for On<V, T> {
    type Output = T::Output;
    #[inline(always)]
    fn run(self) -> T::Output {
        self.0.run::<V>()
    }
}

/// Runs an optimizer loop on the widest vectors this CPU allows.
#[inline(always)]
pub(super) fn optim<T: OptimTask>(task: T) -> T::Output {
    let level = active();
    match level {
        _ if compiled_covers(level) => task.run::<optim::Wide>(),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => avx512(On::<x86::Avx512, T>(task, PhantomData)),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => avx2(On::<x86::Avx2, T>(task, PhantomData)),
        _ => task.run::<optim::Wide>(),
    }
}

/// Whether the CPU has a fused multiply-add and the operating system saves `ymm` state
/// (`cpuid` leaf 1: FMA, OSXSAVE and AVX; `XCR0`: SSE and AVX state), cached after the
/// first call like [`detected`]; under Miri, whether the crate was compiled with
/// `fma`. x86-64 only.
#[cfg(target_arch = "x86_64")]
fn fma_detected() -> bool {
    static FMA: AtomicU8 = AtomicU8::new(0);
    match FMA.load(Ordering::Relaxed) {
        0 => {
            let fma = if cfg!(miri) {
                cfg!(target_feature = "fma")
            } else {
                cpu_fma()
            };
            FMA.store(1 + u8::from(fma), Ordering::Relaxed);
            fma
        }
        x => x == 2,
    }
}

/// `cpuid` leaf 1 and `xgetbv`, as [`cpu`] asks them.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn cpu_fma() -> bool {
    use core::arch::x86_64::{__cpuid, _xgetbv};
    // SAFETY: `cpuid` exists on every x86-64 CPU and only reads identification
    // registers; leaf 1 always exists. (Safe from Rust 1.94; see `cpu`.)
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
    let (fma, osxsave, avx) = (1 << 12, 1 << 27, 1 << 28);
    if leaf1.ecx & (fma | osxsave | avx) != fma | osxsave | avx {
        return false;
    }
    // SAFETY: `xgetbv` needs XSAVE enabled by the operating system, which `OSXSAVE`
    // just said; register 0 is XCR0.
    let xcr0 = unsafe { _xgetbv(0) };
    xcr0 & 0b110 == 0b110
}

/// Miri cannot run `cpuid` ([`fma_detected`] asks the build instead).
#[cfg(all(target_arch = "x86_64", miri))]
fn cpu_fma() -> bool {
    false
}

/// [`math::pow_complement`] of each of `xs`: the product errors by a fused multiply-add
/// where the CPU has one and [`active`] is at least [`Level::Avx2`] (so that
/// [`set_limit`] to `Baseline` tests Dekker's products on any CPU), else by Dekker's;
/// the loops interleaved on x86-64, one after the other elsewhere (a Cortex-M runs one
/// instruction at a time, and two loops' values would not fit its registers). The same
/// bits either way (see [`math::pow_complement`]).
pub(super) fn pow_complements<const K: usize>(xs: [f32; K], n: u32) -> [(f32, f32); K] {
    #[cfg(target_arch = "x86_64")]
    {
        if active() >= Level::Avx2 && fma_detected() {
            x86::fused_pow_complements(xs, n)
        } else {
            math::pow_complement_with(math::Dekker, xs, n)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    xs.map(|x| {
        let [result] = math::pow_complement_with(math::Dekker, [x], n);
        result
    })
}

/// The optimizer rules' vectors on x86-64: `__m256` and `__m512` operated on with
/// `core::arch` intrinsics. (Plain arrays, as the products use, do not work here: the
/// compiler splits a rule's longer chains of operations into pieces of `xmm` and
/// permutes.)
///
/// # Soundness
///
/// Every operation executes AVX (resp. AVX-512F) instructions, so a value of these
/// types must exist only on a CPU that has them. Both types are private to this module,
/// and the only code that creates them is [`optim`], which runs the loop generic over
/// them through [`avx2`] / [`avx512`] only at a level [`detected`] found (those check
/// again). Outside this module they are reached only as the `L: Lane` of a
/// `Rule::apply` called by that loop; `apply` has no `'static` bound on `L`, so a rule
/// cannot keep a value past the call.
#[cfg(target_arch = "x86_64")]
mod x86 {
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
                unsafe {
                    _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(-hi)))
                }
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
            Avx2(unsafe {
                _mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff)))
            })
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
}
