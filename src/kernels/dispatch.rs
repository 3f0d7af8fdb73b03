//! Run-time choice of the vector width on x86-64.
//!
//! `wide` picks its vectors when the crate is compiled: a build without target flags
//! gets SSE2, four lanes, even on a CPU with AVX2 or AVX-512. The hot kernels, the
//! matrix products (and so the dense layers and a convolution's weight gradient), the
//! optimizer update loops and the gradient bound that proves an update finite
//! ([`magnitude`](super::optim::magnitude)), are therefore also compiled inside
//! functions with `#[target_feature(enable = "avx2")]` and
//! `#[target_feature(enable = "avx512f")]`,
//! and the first call asks the CPU (`cpuid`, and `xgetbv` for the registers the
//! operating system saves) which of them it may run. The answer is cached in an
//! atomic; every later call costs one relaxed load.
//!
//! - The products run their generic SIMD code (`gemm::with_buffer`) and the optimizer
//!   loops their rules on `__m256` / `__m512` through `core::arch` intrinsics (module
//!   `x86`); the packing, the register tiles (`gemm::Task`) and the loops are entered
//!   through `avx2` / `avx512`, functions compiled for those instruction sets.
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
//! `#[target_feature]` function, and the intrinsics of the dispatched vectors and of
//! the fused multiply-add. Each block says why it is sound.

#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use super::gemm::Task;
use super::gemm::{self, Operands, Vector};
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

/// Runs `task` compiled for AVX2, after checking that the CPU has it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx2<T: Task>(task: T) -> T::Output {
    #[target_feature(enable = "avx2")]
    fn run<T: Task>(task: T) -> T::Output {
        task.run()
    }
    assert!(detected() >= Level::Avx2, "AVX2 code on a CPU without AVX2");
    // SAFETY: `detected` found AVX2 and the operating system saving `ymm` state
    // (under Miri: the crate was compiled with `avx2`), checked on the line above, so
    // every instruction `run` may contain exists.
    unsafe { run(task) }
}

/// Runs `task` compiled for AVX-512F, after checking that the CPU has it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx512<T: Task>(task: T) -> T::Output {
    #[target_feature(enable = "avx512f")]
    fn run<T: Task>(task: T) -> T::Output {
        task.run()
    }
    assert!(
        detected() >= Level::Avx512,
        "AVX-512 code on a CPU without AVX-512F"
    );
    // SAFETY: `detected` found AVX-512F and the operating system saving `zmm` and mask
    // state (under Miri: the crate was compiled with `avx512f`), checked on the line
    // above, so every instruction `run` may contain exists.
    unsafe { run(task) }
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
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 if n <= 8 => gemm::with_buffer::<x86::Avx2>(c, ops, mode),
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => gemm::with_buffer::<x86::Avx512>(c, ops, mode),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => gemm::with_buffer::<x86::Avx2>(c, ops, mode),
        _ if n <= gemm::Narrow::LANES => gemm::with_buffer::<gemm::Narrow>(c, ops, mode),
        _ => gemm::with_buffer::<gemm::Lanes>(c, ops, mode),
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

#[cfg(target_arch = "x86_64")]
mod x86;
