//! The three matrix products that training needs, with and without accumulation.
//!
//! With `C: M × N`, every product computes, for each element,
//!
//! ```text
//! C[i][j] = ((((c₀ + p₀) + p₁) + p₂) + … + p_{K−1}),   p_k = a(i, k) · b(k, j)
//! ```
//!
//! where `c₀` is `+0.0` for [`Accumulate::Overwrite`] and the old `C[i][j]` for
//! [`Accumulate::Add`], every product `p_k` is rounded to `f32` before it is added, and
//! the sum runs over `k` in increasing order. That is the canonical evaluation order:
//! the SIMD path vectorises across `j` (each lane of a vector is one column of `C`), so
//! each lane performs exactly the scalar sequence above and the two paths agree bit for
//! bit. No fused multiply-add is used.
//!
//! | function       | `a(i, k)`     | `b(k, j)`     | PyTorch          |
//! |----------------|---------------|---------------|------------------|
//! | [`matmul`]     | `A[i][k]`     | `B[k][j]`     | `a @ b`          |
//! | [`matmul_bt`]  | `A[i][k]`     | `B[j][k]`     | `a @ b.T`        |
//! | [`matmul_at`]  | `A[k][i]`     | `B[k][j]`     | `a.T @ b`        |
//!
//! # Blocking of the SIMD path
//!
//! ```text
//! panels:  for each panel of NR columns j0 .. j0 + NR of C
//! chunks:    for each chunk of KC values k0 .. k0 + KC of k
//!              pack b(k, j) of the chunk and the panel into KC × NR on the stack
//!              (KC = 256; a smaller buffer when K is short)
//! rows:        for each block of MR rows i0 .. i0 + MR of C
//! tile:          MR × NR accumulators in registers, loaded from C (or zero)
//!                for k in the chunk: acc[r] = acc[r] + splat(a(i0 + r, k)) · panel[k]
//!                store the accumulators to C
//! ```
//!
//! Storing `C` between chunks and loading it again is exact, and every lane still adds
//! its products in increasing `k`, so the blocking does not change a single bit. `B` is
//! packed because `A·Bᵀ` reads it across its rows (the packing transposes 8 × 8 or
//! 4 × 4 squares through registers) and because a panel's last columns need zero lanes;
//! `A` is read in place. So is a small `B` stored `B[k][j]` (at most 2048 values) whose
//! panels all fill their vectors, when few row blocks would share its packing (always
//! with 16-lane vectors, `M ≤ 2·MR` with narrower ones): such a product, common in
//! training at small batch (`∂W = dYᵀ·X`, `dX = dY·W`), then has no packing and no
//! buffer to zero. The tile shape is chosen per target ([`NR`] = `LANES · VECTORS`;
//! the packed panel takes `KC · NR · 4` bytes, 8 KiB to 32 KiB):
//!
//! | target                      | vector   | `MR × NR` | accumulators          |
//! |-----------------------------|----------|-----------|-----------------------|
//! | `avx512f`                   | `f32x16` | 4 × 32    | 8 of 32 `zmm`         |
//! | `avx` (no `avx512f`)        | `f32x8`  | 4 × 16    | 8 of 16 `ymm`         |
//! | `sse2` / `neon` / `simd128` | `f32x4`  | 4 × 8     | 8 of 16 or 32 vectors |
//! | anything else (Cortex-M)    | `f32x4`  | 4 × 4     | (compiled, never run) |
//!
//! The table is the build's own choice (`wide` picks its vectors at compile time). On
//! x86-64 a build without target flags also carries the first two rows for the CPU to
//! choose at run time ([`dispatch`](super::dispatch)): the same code, generic over
//! `Vector`, on `__m256` or `__m512` vectors compiled for AVX2 or AVX-512F.
//!
//! On targets without vector registers every kernel takes its scalar path (the
//! [module documentation](super) says why), so the last row only lets the SIMD code
//! compile there.
//!
//! Eight accumulators already hide the latency of the adds (each is updated once per
//! `2 · 8` vector instructions); larger tiles measured no faster on x86-64 and spill on
//! 16-register targets. A panel whose columns fit one vector is computed one vector
//! wide, in tiles of `2·MR` rows (again eight accumulators). A product whose `C` has
//! no more columns than half a vector runs on vectors half as wide (`f32x8` instead of
//! `f32x16`), which read such a `B` in place where the wide ones would pack it into
//! masked lanes. The vector width changes no bit.
//!
//! # Convolutions: packed once, unfolded while packing
//!
//! A convolution ([`conv`](super::conv)) multiplies one output row at a time, `wo` rows
//! of `C` (4 or 8 in the digits demo), so packing its weight for each call would cost
//! as much as the product. Two crate-internal entry points serve it on the SIMD path:
//!
//! - `pack_whole` + `matmul_packed`: the weight is packed once per convolution call
//!   into a 32 KiB stack buffer (every panel, the whole `k`, no chunks), and every
//!   output row's product reads those panels; a weight that does not fit falls back to
//!   [`matmul_bt`] / [`matmul`] per row.
//! - `conv_weight_grad`: `∂W += dyᵀ · cols` over *all* output pixels of the batch in
//!   one product (`K = batch·ho·wo`), whose `B` panels are unfolded from the input while
//!   they are packed (the bytes `im2col` would have copied, `+0.0` for padding), so `∂W`
//!   is loaded and stored once per chunk of [`KC`] pixels or more instead of once per row.
//!
//! Both keep each element's canonical sequence (the chunks of `k` fall elsewhere,
//! which changes no bit), so the convolution's bits do not change.
//!
//! Without fused multiply-add every product costs a multiply and an add, two vector
//! instructions where FMA needs one. On a core with two vector ports this path can at
//! best reach half the FLOP rate of an FMA kernel of the same width.
//!
//! # The `fma` feature
//!
//! With the `fma` cargo feature the SIMD path accumulates with `wide`'s `mul_add`:
//! one rounding per product-and-sum where the target has fused multiply-add (x86-64
//! with `-C target-cpu` that includes FMA, AArch64), and the unfused sequence above
//! elsewhere. That gives up the canonical order's promise: the SIMD path no longer
//! matches the scalar path, nor another target, bit for bit (the results stay within the
//! same error bound, `γ_K Σ |a b|`). Training stays deterministic on one machine.

use super::conv::{ConvShape, PatchRows};
use super::gemm_scalar::{product, Operand};
use super::{Accumulate, Path};
use super::{MatMut, MatRef};
use crate::Error;
use core::marker::PhantomData;
use tile_shape::VECTORS;
use tile_shape::{Block, MR};
pub(super) use tile_shape::{Lanes, Narrow};

/// The register tile for targets with AVX-512.
#[cfg(target_feature = "avx512f")]
mod tile_shape {
    /// One vector: 16 columns of `C`.
    pub(crate) type Lanes = wide::f32x16;
    /// The vector of a product whose `C` has at most 8 columns.
    pub(crate) type Narrow = wide::f32x8;
    /// The square that packing transposes through registers.
    pub(super) type Block = wide::f32x8;
    /// Vectors per row of the register tile.
    pub(crate) const VECTORS: usize = 2;
    /// Rows of `C` per register tile.
    pub(super) const MR: usize = 4;
}

/// The register tile for targets with AVX but not AVX-512.
#[cfg(all(target_feature = "avx", not(target_feature = "avx512f")))]
mod tile_shape {
    /// One vector: 8 columns of `C`.
    pub(crate) type Lanes = wide::f32x8;
    /// The vector of a product whose `C` has at most 4 columns.
    pub(crate) type Narrow = wide::f32x4;
    /// The square that packing transposes through registers.
    pub(super) type Block = wide::f32x8;
    /// Vectors per row of the register tile.
    pub(crate) const VECTORS: usize = 2;
    /// Rows of `C` per register tile.
    pub(super) const MR: usize = 4;
}

/// The register tile for 128-bit SIMD targets (x86-64 baseline, aarch64, wasm).
#[cfg(all(
    not(target_feature = "avx"),
    any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    )
))]
mod tile_shape {
    /// One vector: 4 columns of `C`.
    pub(crate) type Lanes = wide::f32x4;
    /// No narrower vector.
    pub(crate) type Narrow = Lanes;
    /// The square that packing transposes through registers.
    pub(super) type Block = wide::f32x4;
    /// Vectors per row of the register tile.
    pub(crate) const VECTORS: usize = 2;
    /// Rows of `C` per register tile.
    pub(super) const MR: usize = 4;
}

/// The register tile for targets without SIMD (Cortex-M, RISC-V). It only lets the SIMD
/// path compile: those targets run the scalar path, which gives the same bits in less
/// code.
#[cfg(not(any(
    target_feature = "avx",
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
)))]
mod tile_shape {
    /// Four columns of `C`, computed one lane at a time.
    pub(crate) type Lanes = wide::f32x4;
    /// No narrower vector.
    pub(crate) type Narrow = Lanes;
    /// The square that packing transposes.
    pub(super) type Block = wide::f32x4;
    /// Vectors per row of the register tile.
    pub(crate) const VECTORS: usize = 1;
    /// Rows of `C` per register tile.
    pub(super) const MR: usize = 4;
}

/// Columns of `C` per vector.
const LANES: usize = core::mem::size_of::<Lanes>() / core::mem::size_of::<f32>();
/// Rows and columns of the squares that packing transposes.
const BLOCK: usize = core::mem::size_of::<Block>() / core::mem::size_of::<f32>();
/// Columns of `C` per panel: `VECTORS` vectors.
///
/// ```
/// use microtrain::kernels::gemm::{KC, NR};
/// assert!(NR >= 4 && NR % 4 == 0);
/// assert!(KC * NR * 4 <= 32 * 1024); // the packed panel takes at most 32 KiB
/// ```
pub const NR: usize = LANES * VECTORS;
/// Values of `k` per packed chunk of `B` (at most; a panel one vector wide takes
/// `2 · KC`): the packed `KC × NR` panel takes `KC · NR · 4` bytes, 8 KiB with 4-lane
/// vectors, 32 KiB with 16-lane ones. Each chunk loads and stores `C` once, so long
/// chunks keep the tile in registers for long (measured on Zen 4 at 256 × 256 × 256:
/// 64-value chunks reach 45 % of the FMA peak, 256-value ones 90 %).
pub const KC: usize = 256;

const _: () = assert!(
    VECTORS == 1 || VECTORS == 2,
    "a panel is one or two vectors wide"
);
const _: () = assert!(
    1 <= MR && MR <= 8,
    "leftover rows are done in blocks of 4, 2, 1"
);
const _: () = assert!(
    LANES.is_multiple_of(BLOCK),
    "a transposed square stays inside one vector"
);

/// A vector of `f32` lanes as the SIMD path computes with it: the compile-time `Lanes`
/// of `wide` above, or one of the run-time dispatched vectors of
/// [`dispatch`](super::dispatch). Every operation is lane-wise and exactly rounded, so
/// the width never changes a bit.
pub(super) trait Vector: Copy {
    /// Lanes per vector.
    const LANES: usize;
    /// Every lane `+0.0`.
    const ZERO: Self;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// Lanes `src[..LANES]` (panics if `src` is shorter).
    fn load(src: &[f32]) -> Self;
    /// Writes the lanes to `dst[..LANES]` (panics if `dst` is shorter).
    fn store(self, dst: &mut [f32]);
    /// The lanes, writable.
    fn lanes_mut(&mut self) -> &mut [f32];
    /// Lanes `0 .. len` of `self`, `+0.0` in the others.
    fn first(self, len: usize) -> Self;
    /// Lanes `0 .. len` of `self`, the others of `old`.
    fn blend(self, old: Self, len: usize) -> Self;
    /// `self + a · b` lane by lane, the product rounded before the sum (with the `fma`
    /// feature, rounded once where the vector has fused multiply-add).
    fn add_product(self, a: Self, b: Self) -> Self;
    /// Side of the squares that packing transposes through registers: at most
    /// [`MAX_SIDE`], and `LANES` a multiple of it.
    const SIDE: usize;
    /// Transposes the square `columns[t][kk0 .. kk0 + SIDE]`, `t < SIDE`: calls
    /// `row(s, values)` for each `s < SIDE` with the `SIDE` values `columns[t][kk0 + s]`
    /// in increasing `t`. Only moves values.
    fn transpose_square(columns: &[&[f32]; MAX_SIDE], kk0: usize, row: impl FnMut(usize, &[f32]));
    /// Runs `task` compiled for the instruction set of these vectors (for `wide`'s,
    /// the build's own; for the dispatched ones, inside a `#[target_feature]`
    /// function).
    fn vectorize<T: Task>(task: T) -> T::Output;
}

/// A piece of the SIMD path that [`Vector::vectorize`] runs: its `run` is inlined into
/// the function compiled for the vector's instruction set (a closure would not be:
/// it cannot be marked `#[inline(always)]`).
pub(super) trait Task {
    /// What the piece returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// [`Vector`] for a `wide` vector of `$lanes` lanes.
macro_rules! wide_vector {
    ($v:ty, $lanes:literal) => {
        impl Vector for $v {
            const LANES: usize = $lanes;
            const ZERO: Self = <$v>::ZERO;
            #[inline(always)]
            fn splat(x: f32) -> Self {
                <$v>::splat(x)
            }
            #[inline(always)]
            fn load(src: &[f32]) -> Self {
                match src.first_chunk::<$lanes>() {
                    Some(&whole) => <$v>::new(whole),
                    None => panic!("a vector's worth of values"),
                }
            }
            #[inline(always)]
            fn store(self, dst: &mut [f32]) {
                dst[..$lanes].copy_from_slice(self.as_array());
            }
            #[inline(always)]
            fn lanes_mut(&mut self) -> &mut [f32] {
                self.as_mut_array()
            }
            #[inline(always)]
            fn first(self, len: usize) -> Self {
                self & Self::mask(len)
            }
            #[inline(always)]
            fn blend(self, old: Self, len: usize) -> Self {
                Self::mask(len).select(self, old)
            }
            #[inline(always)]
            fn add_product(self, a: Self, b: Self) -> Self {
                if cfg!(feature = "fma") {
                    a.mul_add(b, self)
                } else {
                    self + a * b
                }
            }
            const SIDE: usize = BLOCK;
            #[inline(always)]
            fn transpose_square(
                columns: &[&[f32]; MAX_SIDE],
                kk0: usize,
                mut row: impl FnMut(usize, &[f32]),
            ) {
                let square = Block::transpose(core::array::from_fn(|t| {
                    Block::from(&columns[t][kk0..kk0 + BLOCK])
                }));
                for (s, v) in square.iter().enumerate() {
                    row(s, v.as_array());
                }
            }
            #[inline(always)]
            fn vectorize<T: Task>(task: T) -> T::Output {
                task.run()
            }
        }
    };
}

/// Lane masks of the `wide` vectors.
trait Mask: Sized {
    /// All ones in lanes `0 .. len`, zero in the others.
    fn mask(len: usize) -> Self;
}

macro_rules! wide_mask {
    ($v:ty) => {
        impl Mask for $v {
            #[inline(always)]
            fn mask(len: usize) -> Self {
                <$v>::new(core::array::from_fn(|l| l as f32)).simd_lt(<$v>::splat(len as f32))
            }
        }
    };
}

wide_mask!(wide::f32x4);
wide_mask!(wide::f32x8);
wide_mask!(wide::f32x16);
wide_vector!(wide::f32x4, 4);
wide_vector!(wide::f32x8, 8);
wide_vector!(wide::f32x16, 16);

/// The most lanes a [`Vector`] has.
const MAX_LANES: usize = 16;
/// The largest [`Vector::SIDE`].
pub(super) const MAX_SIDE: usize = 8;
const _: () = assert!(BLOCK <= MAX_SIDE, "a square fits the columns array");

/// Where the `B` operand keeps element `b(k, j)`.
#[derive(Clone, Copy)]
enum BLayout {
    /// `B[k][j]`: `B` is `K × N`.
    Rows,
    /// `B[j][k]`: `B` is `N × K` (the product uses `Bᵀ`).
    Transposed,
}

/// Where the SIMD path reads `b(k, j)` from.
#[derive(Clone, Copy)]
enum BSource<'a> {
    /// A matrix in memory.
    Slice(&'a [f32], BLayout),
    /// The unfolded patches of a convolution's input, never stored:
    /// `b(k, j) = cols[k][j]`, the value [`im2col_row`](super::conv) would copy for
    /// output pixel `k` (all pixels of the batch in order) and patch index `j`.
    Im2col(&'a ConvShape, &'a [f32]),
}

/// Where the `A` operand keeps element `a(i, k)`.
#[derive(Clone, Copy)]
enum ALayout {
    /// `A[i][k]`: `A` is `M × K`.
    Rows,
    /// `A[k][i]`: `A` is `K × M` (the product uses `Aᵀ`).
    Transposed,
}

/// `C (+)= A · B` with `A: M × K`, `B: K × N`, `C: M × N`, in the canonical order of
/// the module documentation (PyTorch: `c = a @ b`, or `c += a @ b`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2 × 2
/// let b = [1.0, 0.0, 0.0, 1.0]; // identity
/// let mut c = [0.0; 4];
/// matmul(MatMut::new(&mut c, 2, 2)?, MatRef::new(&a, 2, 2)?, MatRef::new(&b, 2, 2)?, Accumulate::Overwrite)?;
/// assert_eq!(c, a);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul(c: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, mode: Accumulate) -> Result<(), Error> {
    matmul_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul`] on the chosen path.
pub(crate) fn matmul_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.rows(), a.cols()), (b.rows(), b.cols()), AB)?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Rows,
        b.as_slice(),
        BLayout::Rows,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// `C (+)= A · Bᵀ` with `A: M × K`, `B: N × K`, `C: M × N` (PyTorch: `a @ b.T`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul_bt, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0]; // 1 × 2
/// let b = [3.0, 4.0, 5.0, 6.0]; // 2 × 2, used transposed
/// let mut c = [0.0; 2];
/// matmul_bt(MatMut::new(&mut c, 1, 2)?, MatRef::new(&a, 1, 2)?, MatRef::new(&b, 2, 2)?, Accumulate::Overwrite)?;
/// assert_eq!(c, [11.0, 17.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_bt(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    matmul_bt_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul_bt`] on the chosen path.
pub(crate) fn matmul_bt_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.rows(), a.cols()), (b.cols(), b.rows()), ABT)?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Rows,
        b.as_slice(),
        BLayout::Transposed,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// `C (+)= Aᵀ · B` with `A: K × M`, `B: K × N`, `C: M × N` (PyTorch: `a.T @ b`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul_at, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0]; // 2 × 1, used transposed
/// let b = [3.0, 4.0]; // 2 × 1
/// let mut c = [1.0];
/// matmul_at(MatMut::new(&mut c, 1, 1)?, MatRef::new(&a, 2, 1)?, MatRef::new(&b, 2, 1)?, Accumulate::Add)?;
/// assert_eq!(c, [12.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_at(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    matmul_at_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul_at`] on the chosen path.
pub(crate) fn matmul_at_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.cols(), a.rows()), (b.rows(), b.cols()), ATB)?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Transposed,
        b.as_slice(),
        BLayout::Rows,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// The weight gradient of a convolution over the whole batch at once,
/// `∂W += dyᵀ · cols` with `cols` the unfolded patches of every output pixel
/// (`batch·ho·wo × kh·kw·c_in`), on the SIMD path. The patches are read from `x` while
/// the panels of `B` are packed, so no output row is unfolded into scratch and `∂W`
/// stays in registers across all output pixels of a chunk instead of being loaded and
/// stored once per output row. Each element still adds its products in pixel order from
/// its old value: the bits of the row-by-row [`matmul_at`] calls.
///
/// The caller has checked the lengths of `weight_grad`, `dy` and `x` against `s`.
pub(crate) fn conv_weight_grad(weight_grad: &mut [f32], dy: &[f32], s: &ConvShape, x: &[f32]) {
    let ops = Operands {
        a: dy,
        al: ALayout::Transposed,
        b: BSource::Im2col(s, x),
        m: s.c_out,
        k: s.batch * s.ho * s.wo,
        n: s.kh * s.kw * s.c_in,
    };
    super::dispatch::gemm(weight_grad, &ops, Accumulate::Add);
}

/// Floats of [`PackBuffer`]: 32 KiB, room for a convolution weight of 8192 values
/// (`c_out · kh · kw · c_in`, the output channels rounded up to [`NR`]), on targets
/// that run the SIMD path; none elsewhere, so that a microcontroller's stack frame
/// never reserves it, not even in a debug build.
const PACK_CAPACITY: usize = if super::HAS_SIMD { 8192 } else { 0 };

/// Stack room for a `B` operand packed whole ([`pack_whole`]), so that a product
/// repeated with the same `B` (a convolution's weight, once per output row) packs it
/// once instead of once per call. Host targets only: the SIMD path is not compiled where
/// it would not run.
pub(crate) struct PackBuffer([Lanes; PACK_CAPACITY / LANES]);

impl PackBuffer {
    /// A zeroed buffer.
    pub(crate) fn new() -> Self {
        Self([Lanes::ZERO; PACK_CAPACITY / LANES])
    }
}

/// A `K × N` operand `B` packed whole: panel `p` (columns `p·NR ..`) at
/// `panels[p · K · VECTORS ..]`, one vector wide if its columns fit one vector, `VECTORS`
/// wide otherwise, as [`pack_b`] lays out one chunk.
pub(crate) struct PackedB<'p> {
    panels: &'p [Lanes],
    k: usize,
    n: usize,
}

/// Packs `b(k, j)` of `b` (`B[k][j]`, `K × N`, or with `transposed` `B[j][k]`, `N × K`)
/// whole into `buffer`; `None` if it does not fit (the caller then multiplies unpacked).
pub(crate) fn pack_whole<'p>(
    buffer: &'p mut PackBuffer,
    b: &[f32],
    transposed: bool,
    k: usize,
    n: usize,
) -> Option<PackedB<'p>> {
    let panels = n.div_ceil(NR);
    if k == 0 || panels.checked_mul(k * NR)? > PACK_CAPACITY {
        return None;
    }
    let bl = if transposed {
        BLayout::Transposed
    } else {
        BLayout::Rows
    };
    let ops = Operands {
        a: &[],
        al: ALayout::Rows,
        b: BSource::Slice(b, bl),
        m: 0,
        k,
        n,
    };
    let buffer = &mut buffer.0[..panels * k * VECTORS];
    for (p, room) in buffer.chunks_exact_mut(k * VECTORS).enumerate() {
        let (j0, nc) = (p * NR, NR.min(n - p * NR));
        if nc <= LANES {
            pack_b::<Lanes, 1>(room, &ops, 0, k, j0, nc);
        } else {
            pack_b::<Lanes, VECTORS>(room, &ops, 0, k, j0, nc);
        }
    }
    Some(PackedB {
        panels: buffer,
        k,
        n,
    })
}

/// `C (+)= A · B` with `A: M × K` (`A[i][k]`) and `B` packed by [`pack_whole`], in the
/// canonical order (the bits of [`matmul`] or [`matmul_bt`] on the unpacked `B`). The
/// caller has checked `a.len() = M·K`, `c.len() = M·N`.
pub(crate) fn matmul_packed(c: &mut [f32], a: &[f32], b: &PackedB<'_>, m: usize, mode: Accumulate) {
    let (k, n) = (b.k, b.n);
    let ops = Operands {
        a,
        al: ALayout::Rows,
        b: BSource::Slice(&[], BLayout::Rows),
        m,
        k,
        n,
    };
    let from_c = mode == Accumulate::Add;
    for (p, room) in b.panels.chunks_exact(k * VECTORS).enumerate() {
        let (j0, nc) = (p * NR, NR.min(n - p * NR));
        if nc <= LANES {
            let (panel, _) = room[..k].as_chunks::<1>();
            rows::<Lanes, 1>(c, &ops, panel, 0, j0, nc, from_c);
        } else {
            let (panel, _) = room.as_chunks::<VECTORS>();
            rows::<Lanes, VECTORS>(c, &ops, panel, 0, j0, nc, from_c);
        }
    }
}

/// The names of the three dimensions a product checks, in the order rows of `C`,
/// columns of `C`, inner dimension.
type DimensionNames = [&'static str; 3];

const AB: DimensionNames = [
    "A·B: rows of A and C",
    "A·B: columns of B and C",
    "A·B: columns of A and rows of B",
];
const ABT: DimensionNames = [
    "A·Bᵀ: rows of A and C",
    "A·Bᵀ: rows of B and columns of C",
    "A·Bᵀ: columns of A and B",
];
const ATB: DimensionNames = [
    "Aᵀ·B: columns of A and rows of C",
    "Aᵀ·B: columns of B and C",
    "Aᵀ·B: rows of A and B",
];

/// Checks `C: M × N`, `op(A): M × K`, `op(B): K × N` and returns `(M, K, N)`; an error
/// names the dimension that disagrees.
fn check(
    c: &MatMut<'_>,
    (am, ak): (usize, usize),
    (bk, bn): (usize, usize),
    names: DimensionNames,
) -> Result<(usize, usize, usize), Error> {
    let dims = [(am, c.rows()), (bn, c.cols()), (ak, bk)];
    for ((expected, found), what) in dims.into_iter().zip(names) {
        if expected != found {
            return Err(Error::Shape {
                what,
                expected,
                found,
            });
        }
    }
    Ok((am, ak, bn))
}

// Inlined into each of the three products, whose operand layouts are constants there:
// only the three layout pairs the products use get scalar kernels (flash on a
// microcontroller), not all four.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run(
    path: Path,
    mut c: MatMut<'_>,
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    let c = c.as_mut_slice();
    if path.simd() {
        simd(c, a, al, b, bl, m, k, n, mode)
    } else {
        scalar(c, a, al, b, bl, m, k, n, mode)
    }
}

/// The scalar path: register tiles (see [`gemm_scalar`](super::gemm_scalar)).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scalar(
    c: &mut [f32],
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    let a = match al {
        ALayout::Rows => Operand::AlongK(a),
        ALayout::Transposed => Operand::Across(a, m),
    };
    let b = match bl {
        BLayout::Rows => Operand::Across(b, n),
        BLayout::Transposed => Operand::AlongK(b),
    };
    product(c, a, b, m, k, n, mode);
}

/// The operands of one product as the SIMD path reads them.
#[derive(Clone, Copy)]
pub(super) struct Operands<'a> {
    a: &'a [f32],
    al: ALayout,
    b: BSource<'a>,
    m: usize,
    k: usize,
    n: usize,
}

impl Operands<'_> {
    /// Columns of `C`.
    pub(super) fn n(&self) -> usize {
        self.n
    }
}

/// The SIMD path: packed `B` panels, `MR × NR` register tiles (see the module docs).
#[allow(clippy::too_many_arguments)]
fn simd(
    c: &mut [f32],
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    if k == 0 {
        if mode == Accumulate::Overwrite {
            c.fill(0.0);
        }
        return;
    }
    let ops = Operands {
        a,
        al,
        b: BSource::Slice(b, bl),
        m,
        k,
        n,
    };
    super::dispatch::gemm(c, &ops, mode);
}

/// Runs the product on a stack buffer sized for its inner dimension, or without one
/// when `B` is read in place ([`in_place`]).
pub(super) fn with_buffer<V: Vector>(c: &mut [f32], ops: &Operands<'_>, mode: Accumulate) {
    if let BSource::Slice(b, BLayout::Rows) = ops.b {
        // Whole panels only; a `B` small enough to stay in L1 whichever way it is read;
        // and few row blocks to share a packing (measured: 4-lane vectors gain from
        // reading in place at batch 1 and lose at 8 row blocks, 16-lane ones gain at
        // both).
        let nr = V::LANES * VECTORS;
        let whole = ops.n.is_multiple_of(nr) || ops.n % nr == V::LANES;
        let few_blocks = V::LANES >= 16 || ops.m <= 2 * MR;
        if whole && few_blocks && ops.k * ops.n <= 2048 {
            return in_place::<V>(c, ops, b, mode);
        }
    }
    // The packed panel holds at most `k · W` vectors (`W` = 1 when every panel fits one
    // vector, `VECTORS` otherwise): a product with a short inner dimension (a weight
    // gradient at batch 1 has k = 1, an output layer's input gradient k = 10) gets a
    // buffer of about its size, rather than zero-filling the whole `KC · NR` panel that
    // it never reads. (Safe Rust cannot leave the buffer uninitialised; the values are
    // the same whatever its size, see `chunks`.) Each size has its own stack frame, so
    // a small product does not probe the pages of the largest.
    let w = if ops.n <= V::LANES { 1 } else { VECTORS };
    match ops.k.saturating_mul(w) {
        0..=8 => on_stack::<V, 8>(c, ops, mode),
        9..=32 => on_stack::<V, 32>(c, ops, mode),
        33..=128 => on_stack::<V, 128>(c, ops, mode),
        129..=256 => on_stack::<V, 256>(c, ops, mode),
        _ => on_stack::<V, { KC * VECTORS }>(c, ops, mode),
    }
}

/// Loop "panels" on a zeroed stack buffer of `S` vectors.
#[inline(never)]
fn on_stack<V: Vector, const S: usize>(c: &mut [f32], ops: &Operands<'_>, mode: Accumulate) {
    panels(c, ops, &mut [V::ZERO; S], mode);
}

/// Loop "panels": columns `j0 .. j0 + nc` of `C`. A (last) panel that fits one vector is
/// packed and computed one vector wide.
#[inline(always)]
fn panels<V: Vector>(c: &mut [f32], ops: &Operands<'_>, buffer: &mut [V], mode: Accumulate) {
    let nr = V::LANES * VECTORS;
    for j0 in (0..ops.n).step_by(nr) {
        let nc = nr.min(ops.n - j0);
        if nc <= V::LANES {
            chunks::<V, 1>(c, ops, buffer, j0, nc, mode);
        } else {
            chunks::<V, VECTORS>(c, ops, buffer, j0, nc, mode);
        }
    }
}

/// Loops "panels" and "rows" for a `B` stored `B[k][j]` whose panels all fill their
/// vectors (`N` a multiple of [`NR`], or of `NR` plus one vector): the `k`-th row of a
/// panel is then the run `B[k][j0 .. j0 + nc]` itself, read in place with no packing,
/// no buffer to zero, and all of `k` in one chunk (a call's floor at small sizes is
/// the packing, not the products). Each lane still adds its products in increasing
/// `k`: the bits do not change.
fn in_place<V: Vector>(c: &mut [f32], ops: &Operands<'_>, b: &[f32], mode: Accumulate) {
    let from_c = mode == Accumulate::Add;
    let nr = V::LANES * VECTORS;
    for j0 in (0..ops.n).step_by(nr) {
        let nc = nr.min(ops.n - j0);
        let panel = InPlace {
            b,
            n: ops.n,
            j0,
            k: ops.k,
        };
        if nc <= V::LANES {
            rows::<V, 1>(c, ops, panel, 0, j0, nc, from_c);
        } else {
            rows::<V, VECTORS>(c, ops, panel, 0, j0, nc, from_c);
        }
    }
}

/// The rows `k0 .. k0 + kc` of one panel of `B` as a register tile reads them.
trait PanelRows<V, const W: usize>: Copy {
    /// How many rows: `kc`.
    fn kc(self) -> usize;
    /// `b(k0 + kk, j0 .. j0 + W · LANES)` for `kk = 0, 1, …`, as `W` vectors.
    fn rows(self) -> impl Iterator<Item = [V; W]>;
}

/// A packed panel ([`pack_b`]).
impl<V: Vector, const W: usize> PanelRows<V, W> for &[[V; W]] {
    #[inline(always)]
    fn kc(self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn rows(self) -> impl Iterator<Item = [V; W]> {
        self.iter().copied()
    }
}

/// A panel of a `B` stored `B[k][j]`, `K × N`, read in place: rows `0 .. k` of columns
/// `j0 .. j0 + W · LANES`, which the caller has checked lie inside `B`.
#[derive(Clone, Copy)]
struct InPlace<'b> {
    b: &'b [f32],
    n: usize,
    j0: usize,
    k: usize,
}

impl<V: Vector, const W: usize> PanelRows<V, W> for InPlace<'_> {
    #[inline(always)]
    fn kc(self) -> usize {
        self.k
    }
    #[inline(always)]
    fn rows(self) -> impl Iterator<Item = [V; W]> {
        let b = &self.b[self.j0..];
        (0..self.k).map(move |kk| {
            let row = &b[kk * self.n..][..W * V::LANES];
            core::array::from_fn(|w| V::load(&row[w * V::LANES..]))
        })
    }
}

/// Loop "chunks": the panel of columns `j0 .. j0 + nc`, `W` vectors wide, for `k` in
/// chunks of `buffer.len() / W` (`KC · VECTORS / W` for the full buffer). The first
/// chunk starts from zero or from `C`, later ones from what the previous chunk stored in
/// `C`; where the chunks fall does not change a bit (module docs).
fn chunks<V: Vector, const W: usize>(
    c: &mut [f32],
    ops: &Operands<'_>,
    buffer: &mut [V],
    j0: usize,
    nc: usize,
    mode: Accumulate,
) {
    // A narrower panel fits more values of k into the same buffer.
    let kc_max = buffer.len() / W;
    for k0 in (0..ops.k).step_by(kc_max) {
        let kc = kc_max.min(ops.k - k0);
        let from_c = k0 > 0 || mode == Accumulate::Add;
        let panel = pack_b::<V, W>(buffer, ops, k0, kc, j0, nc);
        rows::<V, W>(c, ops, panel, k0, j0, nc, from_c);
    }
}

/// Packs `b(k0 + kk, j0 + l)` for `kk < kc`, `l < nc` into lane `l % LANES` of vector
/// `l / LANES` of `panel[kk]`; lanes `l ≥ nc` are zero.
fn pack_b<'p, V: Vector, const W: usize>(
    buffer: &'p mut [V],
    ops: &Operands<'_>,
    k0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) -> &'p [[V; W]] {
    V::vectorize(PackTask::<V, W> {
        buffer,
        ops,
        k0,
        kc,
        j0,
        nc,
    })
}

/// [`pack_b`]'s arguments, for [`Vector::vectorize`].
struct PackTask<'p, 'o, V, const W: usize> {
    buffer: &'p mut [V],
    ops: &'o Operands<'o>,
    k0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
}

impl<'p, V: Vector, const W: usize> Task for PackTask<'p, '_, V, W> {
    type Output = &'p [[V; W]];
    #[inline(always)]
    fn run(self) -> Self::Output {
        pack_panel::<V, W>(self.buffer, self.ops, self.k0, self.kc, self.j0, self.nc)
    }
}

/// The body of [`pack_b`], compiled for the vector's instruction set.
#[inline(always)]
fn pack_panel<'p, V: Vector, const W: usize>(
    buffer: &'p mut [V],
    ops: &Operands<'_>,
    k0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) -> &'p [[V; W]] {
    let (panel, _) = buffer[..kc * W].as_chunks_mut::<W>();
    let (b, bl) = match ops.b {
        BSource::Slice(b, bl) => (b, bl),
        BSource::Im2col(s, x) => {
            // Row k of the panel is columns j0 .. j0 + nc of the unfolded patch of
            // output pixel k0 + kk, read from the input as `im2col_row` would copy it.
            // A run of a whole aligned vector (a tap's channels) is one load, others
            // go lane by lane; lanes past nc stay zero.
            let mut patches = PatchRows::new(s, x, k0, j0, nc);
            for vectors in panel.iter_mut() {
                if nc < W * V::LANES {
                    *vectors = [V::ZERO; W];
                }
                patches.next_row(|l, run, src| {
                    let mut t = 0;
                    while t < run {
                        let lane = l + t;
                        let Some(v) = vectors.get_mut(lane / V::LANES) else {
                            break;
                        };
                        if lane % V::LANES == 0 && run - t >= V::LANES {
                            *v = match src.and_then(|src| src.get(t..t + V::LANES)) {
                                Some(values) => V::load(values),
                                None => V::ZERO,
                            };
                            t += V::LANES;
                        } else {
                            v.lanes_mut()[lane % V::LANES] = src.map_or(0.0, |src| src[t]);
                            t += 1;
                        }
                    }
                });
            }
            return panel;
        }
    };
    match bl {
        BLayout::Rows => {
            // Row k of the panel is the contiguous run B[k][j0 .. j0 + nc].
            for (kk, vectors) in panel.iter_mut().enumerate() {
                let row = &b[(k0 + kk) * ops.n + j0..];
                for (w, v) in vectors.iter_mut().enumerate() {
                    *v = load(&row[w * V::LANES..], lanes_in::<V>(nc, w));
                }
            }
        }
        BLayout::Transposed => {
            // Column j of the panel is the contiguous run B[j][k0 .. k0 + kc], so the
            // panel is a transposed block of B: whole SIDE × SIDE squares go through
            // registers, the ragged edges element by element.
            if nc < W * V::LANES {
                panel.fill([V::ZERO; W]);
            }
            let side = V::SIDE;
            let (whole_l, whole_k) = (nc - nc % side, kc - kc % side);
            for l0 in (0..whole_l).step_by(side) {
                let (w, lane0) = (l0 / V::LANES, l0 % V::LANES);
                let columns: [&[f32]; MAX_SIDE] = core::array::from_fn(|t| {
                    if t < side {
                        &b[(j0 + l0 + t) * ops.k + k0..][..kc]
                    } else {
                        &[]
                    }
                });
                for kk0 in (0..whole_k).step_by(side) {
                    V::transpose_square(&columns, kk0, |s, values| {
                        panel[kk0 + s][w].lanes_mut()[lane0..lane0 + side].copy_from_slice(values);
                    });
                }
                for kk in whole_k..kc {
                    let lanes = &mut panel[kk][w].lanes_mut()[lane0..lane0 + side];
                    for (x, column) in lanes.iter_mut().zip(&columns) {
                        *x = column[kk];
                    }
                }
            }
            for l in whole_l..nc {
                let column = &b[(j0 + l) * ops.k + k0..][..kc];
                let (w, lane) = (l / V::LANES, l % V::LANES);
                for (vectors, &x) in panel.iter_mut().zip(column) {
                    vectors[w].lanes_mut()[lane] = x;
                }
            }
        }
    }
    panel
}

/// Loop "rows": updates columns `j0 .. j0 + nc` of every row of `C` with the chunk
/// `k0 .. k0 + panel.len()` (packed or read in place), in blocks of `MR` rows and then the leftover rows in blocks
/// of 4, 2 and 1.
#[allow(clippy::too_many_arguments)]
fn rows<V: Vector, const W: usize>(
    c: &mut [f32],
    ops: &Operands<'_>,
    panel: impl PanelRows<V, W>,
    k0: usize,
    j0: usize,
    nc: usize,
    from_c: bool,
) {
    V::vectorize(RowsTask::<V, _, W> {
        c,
        ops,
        panel,
        k0,
        j0,
        nc,
        from_c,
        vector: PhantomData,
    });
}

/// [`rows`]' arguments, for [`Vector::vectorize`].
struct RowsTask<'c, 'o, V, P, const W: usize> {
    c: &'c mut [f32],
    ops: &'o Operands<'o>,
    panel: P,
    k0: usize,
    j0: usize,
    nc: usize,
    from_c: bool,
    vector: PhantomData<V>,
}

impl<V: Vector, P: PanelRows<V, W>, const W: usize> Task for RowsTask<'_, '_, V, P, W> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        row_blocks::<V, W>(
            self.c,
            self.ops,
            self.panel,
            self.k0,
            self.j0,
            self.nc,
            self.from_c,
        )
    }
}

/// The body of [`rows`], compiled for the vector's instruction set.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn row_blocks<V: Vector, const W: usize>(
    c: &mut [f32],
    ops: &Operands<'_>,
    panel: impl PanelRows<V, W>,
    k0: usize,
    j0: usize,
    nc: usize,
    from_c: bool,
) {
    let mut i0 = 0;
    // A panel one vector wide has room for twice the rows, whose independent
    // accumulators hide the latency of the adds better.
    while W == 1 && ops.m - i0 >= 2 * MR {
        tile::<V, { 2 * MR }, W>(c, ops, panel, i0, k0, j0, nc, from_c);
        i0 += 2 * MR;
    }
    while ops.m - i0 >= MR {
        tile::<V, MR, W>(c, ops, panel, i0, k0, j0, nc, from_c);
        i0 += MR;
    }
    if MR > 4 && ops.m - i0 >= 4 {
        tile::<V, 4, W>(c, ops, panel, i0, k0, j0, nc, from_c);
        i0 += 4;
    }
    if MR > 2 && ops.m - i0 >= 2 {
        tile::<V, 2, W>(c, ops, panel, i0, k0, j0, nc, from_c);
        i0 += 2;
    }
    if MR > 1 && ops.m - i0 >= 1 {
        tile::<V, 1, W>(c, ops, panel, i0, k0, j0, nc, from_c);
    }
}

/// How many of the `nc` columns of a panel fall into its vector `w`.
#[inline(always)]
fn lanes_in<V: Vector>(nc: usize, w: usize) -> usize {
    (nc - w * V::LANES).min(V::LANES)
}

/// Loads `src[..len]` (`len ≤ LANES`) into lanes `0 .. len`, zeros into the others. When
/// `src` has a whole vector's worth of values, it is read as a vector and masked.
#[inline(always)]
fn load<V: Vector>(src: &[f32], len: usize) -> V {
    match src.get(..V::LANES) {
        Some(whole) if len == V::LANES => V::load(whole),
        Some(whole) => V::load(whole).first(len),
        None => {
            // Through a plain array: taking the address of a vector would keep a
            // register tile's accumulators in memory.
            let mut lanes = [0.0; MAX_LANES];
            lanes[..len].copy_from_slice(&src[..len]);
            V::load(&lanes)
        }
    }
}

/// Stores lanes `0 .. len` of `v` into `dst[..len]` (`len ≤ LANES`), leaving `dst[len..]`
/// as it is. When `dst` has room for a whole vector, the vector is read, blended and
/// written back whole: the values past `len` are rewritten with themselves.
#[inline(always)]
fn store<V: Vector>(dst: &mut [f32], len: usize, v: V) {
    match dst.get_mut(..V::LANES) {
        Some(whole) if len == V::LANES => v.store(whole),
        Some(whole) => v.blend(V::load(whole), len).store(whole),
        None => {
            let mut lanes = [0.0; MAX_LANES];
            v.store(&mut lanes);
            dst[..len].copy_from_slice(&lanes[..len]);
        }
    }
}

/// Loop "tile": updates rows `i0 .. i0 + R`, columns `j0 .. j0 + nc` of `C` with the
/// chunk `k0 .. k0 + panel.len()`, holding `R × W` vectors of `C` in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<V: Vector, const R: usize, const W: usize>(
    c: &mut [f32],
    ops: &Operands<'_>,
    panel: impl PanelRows<V, W>,
    i0: usize,
    k0: usize,
    j0: usize,
    nc: usize,
    from_c: bool,
) {
    let n = ops.n;
    let mut acc = [[V::ZERO; W]; R];
    if from_c {
        for (r, vectors) in acc.iter_mut().enumerate() {
            let row = &c[(i0 + r) * n + j0..];
            for (w, v) in vectors.iter_mut().enumerate() {
                *v = load(&row[w * V::LANES..], lanes_in::<V>(nc, w));
            }
        }
    }
    let kc = panel.kc();
    match ops.al {
        ALayout::Rows => {
            // a(i, k) = A[i][k]: R contiguous runs A[i0 + r][k0 .. k0 + kc].
            let a_rows: [&[f32]; R] =
                core::array::from_fn(|r| &ops.a[(i0 + r) * ops.k + k0..][..kc]);
            // `kk` taken from `0..kc` (not counted by `enumerate`): measured 0.5 % fewer
            // instructions in a 784-128-10 step at batch 1, where this loop runs long.
            for (b, kk) in panel.rows().zip(0..kc) {
                step(&mut acc, |r| a_rows[r][kk], &b);
            }
        }
        ALayout::Transposed => {
            // a(i, k) = A[k][i]: for each k, the contiguous run A[k][i0 .. i0 + R].
            for (kk, b) in panel.rows().enumerate() {
                let start = (k0 + kk) * ops.m + i0;
                let column = &ops.a[start..start + R];
                step(&mut acc, |r| column[r], &b);
            }
        }
    }
    // Rows in increasing order: a partial vector of row r may rewrite the start of
    // row r + 1 with its old values, which row r + 1 then overwrites.
    for (r, vectors) in acc.iter().enumerate() {
        let row = &mut c[(i0 + r) * n + j0..];
        for (w, v) in vectors.iter().enumerate() {
            store(&mut row[w * V::LANES..], lanes_in::<V>(nc, w), *v);
        }
    }
}

/// One value of `k` for a register tile: `acc[r][w] = acc[r][w] + splat(a(r)) · b[w]`,
/// the product rounded before the sum (no fused multiply-add), unless the `fma`
/// feature asks for `fma(a(r), b[w], acc[r][w])` rounded once.
#[inline(always)]
fn step<V: Vector, const R: usize, const W: usize>(
    acc: &mut [[V; W]; R],
    a: impl Fn(usize) -> f32,
    b: &[V; W],
) {
    for (r, row) in acc.iter_mut().enumerate() {
        let x = V::splat(a(r));
        for (v, &y) in row.iter_mut().zip(b) {
            *v = v.add_product(x, y);
        }
    }
}
