//! The scalar path of the matrix products: `4 × 4` register tiles.
//!
//! Every element of `C` is still the canonical sum of the [`gemm`](super::gemm) module
//! (products rounded to `f32`, added in increasing `k` to `+0.0` or to the old value),
//! so this path agrees bit for bit with the SIMD path and with three plain loops. What
//! the tiling changes is the work per multiply-add: a tile keeps 16 sums in registers
//! and, per `k`, loads 4 values of `A` and 4 of `B` for 16 products, where three plain
//! loops load two values and keep one sum per product. On a Cortex-M4F (32
//! single-precision registers, no SIMD, and a multiply-accumulate `vmla.f32` that
//! rounds the product like a separate multiply) that is about 1.9 to 2.1 instructions
//! per multiply-add in the loops instead of about 26. Tiles at the right and bottom edges are `4 × 1`, `1 × 4` or
//! `1 × 1`, so a product instantiates four tile shapes per operand layout (two with the
//! `small` feature, whose edges are all `1 × 1`: less code, more instructions there).
//!
//! Each operand is read either along `k` (`A[i][k]`, `B[j][k]`: one slice of `K` values
//! per row of the tile, bounds checked once) or across the tile (`A[k][i]`, `B[k][j]`:
//! the tile's values are contiguous at each `k`; their range is tested once per tile,
//! before the loop, and the kernel is inlined there, so that the compiler drops the same
//! test inside the loop: on a Cortex-M4F that took `Aᵀ·B` from 51 to 33 instructions
//! per `k` of a `4 × 4` tile).

use super::Accumulate;

/// How one operand of a product is stored, seen from the tile: `get(outer, kk)` reads
/// `T` consecutive rows (of `A`) or columns (of `B`) starting at `outer`, at `k = kk`.
#[derive(Clone, Copy)]
pub(super) enum Operand<'a> {
    /// `T` consecutive outer indices are `K` values apart: `x[outer · K + kk]`.
    AlongK(&'a [f32]),
    /// `T` consecutive outer indices are adjacent: `x[kk · stride + outer]`.
    Across(&'a [f32], usize),
}

/// `C (+)= op(A) · op(B)` with `C: M × N`, in the canonical order. Inlined, so that
/// each product compiles the tile kernels of its own operand layouts only.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn product(
    c: &mut [f32],
    a: Operand<'_>,
    b: Operand<'_>,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    // No columns, nothing to write: do not walk the rows (a view may claim 2⁶³ of them).
    if n == 0 {
        return;
    }
    let mut i = 0;
    while i + 4 <= m {
        row_block::<4>(c, a, b, i, k, n, mode);
        i += 4;
    }
    while i < m {
        if SMALL {
            for j in 0..n {
                tile::<1, 1>(c, a, b, i, j, k, n, mode);
            }
        } else {
            row_block::<1>(c, a, b, i, k, n, mode);
        }
        i += 1;
    }
}

/// The tiles of rows `i .. i + R` of `C`: columns in blocks of 4, then 1.
#[inline(always)]
fn row_block<const R: usize>(
    c: &mut [f32],
    a: Operand<'_>,
    b: Operand<'_>,
    i: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) where
    Shape: Kernel<R, 4> + Kernel<R, 1> + Along<R> + Along<4> + Along<1>,
{
    let mut j = 0;
    while j + 4 <= n {
        tile::<R, 4>(c, a, b, i, j, k, n, mode);
        j += 4;
    }
    while j < n {
        if SMALL {
            for r in i..i + R {
                tile::<1, 1>(c, a, b, r, j, k, n, mode);
            }
        } else {
            tile::<R, 1>(c, a, b, i, j, k, n, mode);
        }
        j += 1;
    }
}

/// With the `small` feature, the edges of `C` (its last `N mod 4` columns and `M mod 4`
/// rows) are computed in `1 × 1` tiles, so that a product compiles two tile shapes
/// instead of four: less code, more instructions per multiply-add at the edges.
const SMALL: bool = cfg!(feature = "small");

/// One `R × T` tile of `C` at `(i, j)`, dispatched on the operands' layouts.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<const R: usize, const T: usize>(
    c: &mut [f32],
    a: Operand<'_>,
    b: Operand<'_>,
    i: usize,
    j: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) where
    Shape: Kernel<R, T> + Along<R> + Along<T>,
{
    let mut acc = [[0.0f32; T]; R];
    if mode == Accumulate::Add {
        for (r, row) in acc.iter_mut().enumerate() {
            if let Some(old) = c.get((i + r) * n + j..(i + r) * n + j + T) {
                row.copy_from_slice(old);
            }
        }
    }
    // Always true (the shape checks); tested here so that it dominates the loops.
    let fit = fits::<R>(a, i) && fits::<T>(b, j);
    match (a, b) {
        _ if !fit => {}
        (Operand::AlongK(a), Operand::AlongK(b)) => {
            <Shape as Kernel<R, T>>::run(&mut acc, along::<R>(a, i, k), along::<T>(b, j, k))
        }
        (Operand::AlongK(a), Operand::Across(b, sb)) => {
            <Shape as Kernel<R, T>>::run(&mut acc, along::<R>(a, i, k), across::<T>(b, sb, j, k))
        }
        (Operand::Across(a, sa), Operand::AlongK(b)) => {
            <Shape as Kernel<R, T>>::run(&mut acc, across::<R>(a, sa, i, k), along::<T>(b, j, k))
        }
        (Operand::Across(a, sa), Operand::Across(b, sb)) => <Shape as Kernel<R, T>>::run(
            &mut acc,
            across::<R>(a, sa, i, k),
            across::<T>(b, sb, j, k),
        ),
    }
    for (r, row) in acc.iter().enumerate() {
        if let Some(out) = c.get_mut((i + r) * n + j..(i + r) * n + j + T) {
            out.copy_from_slice(row);
        }
    }
}

/// The `T` rows `o .. o + T` of an operand stored along `k`: at each `k`, one value
/// from each of `T` slices of `K` values, zipped (no bounds check per value).
#[inline(always)]
fn along<const T: usize>(x: &[f32], o: usize, k: usize) -> impl Iterator<Item = [f32; T]> + '_
where
    Shape: Along<T>,
{
    <Shape as Along<T>>::along(x, o, k)
}

/// Zips `T` slices of `K` values, written out per `T` (a loop over them would not be
/// unrolled when optimising for size).
trait Along<const T: usize> {
    /// The values of rows `o .. o + T` at each `k`.
    fn along(x: &[f32], o: usize, k: usize) -> impl Iterator<Item = [f32; T]> + '_;
}

/// Row `o` of `x`, `K` values long (empty if out of range, which the callers' shape
/// checks rule out).
#[inline(always)]
fn row(x: &[f32], o: usize, k: usize) -> &[f32] {
    x.get(o * k..(o + 1) * k).unwrap_or(&[])
}

impl Along<1> for Shape {
    #[inline(always)]
    fn along(x: &[f32], o: usize, k: usize) -> impl Iterator<Item = [f32; 1]> + '_ {
        row(x, o, k).iter().map(|&v| [v])
    }
}

impl Along<4> for Shape {
    #[inline(always)]
    fn along(x: &[f32], o: usize, k: usize) -> impl Iterator<Item = [f32; 4]> + '_ {
        let rows = (
            row(x, o, k),
            row(x, o + 1, k),
            row(x, o + 2, k),
            row(x, o + 3, k),
        );
        rows.0
            .iter()
            .zip(rows.1)
            .zip(rows.2)
            .zip(rows.3)
            .map(|(((&a, &b), &c), &d)| [a, b, c, d])
    }
}

/// The `T` adjacent values `o .. o + T` of an operand stored across the tile, at each
/// `k` (`stride` values apart), for `k` whole rows. The shape checks guarantee
/// `o + T ≤ stride`, so the indexing never fails; [`tile`] tests it first ([`fits`]).
#[inline(always)]
fn across<const T: usize>(
    x: &[f32],
    stride: usize,
    o: usize,
    k: usize,
) -> impl Iterator<Item = [f32; T]> + '_ {
    let width = stride.max(1);
    let rows = x.get(..k.saturating_mul(width)).unwrap_or(&[]);
    rows.chunks_exact(width).map(move |row| {
        row.get(o..)
            .and_then(|values| values.first_chunk::<T>())
            .copied()
            .unwrap_or([0.0; T])
    })
}

/// Whether each row of an operand stored across the tile holds the tile's `T` values
/// from `o` on (the test inside [`across`], word for word): the shape checks make it
/// true, and [`tile`] tests it once before the loop, so that the compiler can drop the
/// test from the loop.
#[inline(always)]
fn fits<const T: usize>(operand: Operand<'_>, o: usize) -> bool {
    match operand {
        Operand::AlongK(_) => true,
        Operand::Across(_, stride) => {
            let width = stride.max(1);
            o <= width && width - o >= T
        }
    }
}

/// The tile shapes, each with its multiply-add loop written out so that the sums stay
/// in registers (a loop over the tile would be kept rolled when optimising for size).
struct Shape;

/// The multiply-add loop of an `R × T` tile: `acc[r][t] += x[r] · y[t]` for each `k`,
/// with `x` and `y` zipped from the operands.
trait Kernel<const R: usize, const T: usize> {
    /// Runs the loop.
    fn run(
        acc: &mut [[f32; T]; R],
        xs: impl Iterator<Item = [f32; R]>,
        ys: impl Iterator<Item = [f32; T]>,
    );
}

macro_rules! kernel {
    ($r:literal x $t:literal: $(($row:literal, $col:literal))+) => {
        impl Kernel<$r, $t> for Shape {
            #[inline(always)]
            fn run(
                acc: &mut [[f32; $t]; $r],
                xs: impl Iterator<Item = [f32; $r]>,
                ys: impl Iterator<Item = [f32; $t]>,
            ) {
                let mut sums = *acc;
                for (x, y) in xs.zip(ys) {
                    $(sums[$row][$col] += x[$row] * y[$col];)+
                }
                *acc = sums;
            }
        }
    };
}

kernel!(4 x 4: (0, 0) (0, 1) (0, 2) (0, 3) (1, 0) (1, 1) (1, 2) (1, 3) (2, 0) (2, 1) (2, 2) (2, 3) (3, 0) (3, 1) (3, 2) (3, 3));
kernel!(4 x 1: (0, 0) (1, 0) (2, 0) (3, 0));
kernel!(1 x 4: (0, 0) (0, 1) (0, 2) (0, 3));
kernel!(1 x 1: (0, 0));
