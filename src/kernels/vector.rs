//! Vector operations: `axpy`, `scale`, `add`, Hadamard product, `mul_add`, and the
//! reductions `sum`, `dot`, `squared_norm`, `max`, `argmax`.
//!
//! Element-wise operations compute each output from its own inputs only, so any SIMD
//! width gives the scalar result. Reductions use one canonical order: element `i` is
//! added to lane `i mod 8` of eight partial sums that start at `+0.0` (in increasing
//! `i`), then the lanes are combined as
//! `((p₀ + p₄) + (p₂ + p₆)) + ((p₁ + p₅) + (p₃ + p₇))`. The scalar path performs the
//! same additions on an array of eight floats; the SIMD path on one `f32x8`.

use super::{MatRef, Path};
use crate::Error;
use wide::f32x8;

pub(crate) use super::lanes::{exp_lanes, exp_map, ln_lanes};
pub use super::lanes::{exp_slice, ln_slice};

/// Lanes of the canonical reduction order: element `i` goes to partial sum `i mod 8`.
///
/// ```
/// use microtrain::kernels::{sum, vector::LANES};
/// let x: Vec<f32> = (1..=20).map(|i| 1.0 / i as f32).collect();
/// let mut p = [0.0f32; LANES];
/// for (i, v) in x.iter().enumerate() {
///     p[i % LANES] += v;
/// }
/// let want = ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
/// assert_eq!(sum(&x).to_bits(), want.to_bits());
/// ```
pub const LANES: usize = 8;

#[inline]
pub(crate) fn same_len(what: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            found,
        })
    }
}

/// `y ← y + α·x` (BLAS `saxpy`; PyTorch: `y.add_(x, alpha=α)`).
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// let mut y = [1.0, 1.0, 1.0];
/// microtrain::kernels::axpy(2.0, &[1.0, 2.0, 3.0], &mut y)?;
/// assert_eq!(y, [3.0, 5.0, 7.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    axpy_on(Path::DEFAULT, alpha, x, y)
}

pub(crate) fn axpy_on(path: Path, alpha: f32, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    same_len("axpy x", y.len(), x.len())?;
    let a = f32x8::splat(alpha);
    zip_mut(path, y, x, |y, x| y + a * x, |y, x| y + alpha * x);
    Ok(())
}

/// `x ← α·x` (PyTorch: `x.mul_(α)`).
///
/// # Examples
///
/// ```
/// let mut x = [1.0, -2.0];
/// microtrain::kernels::scale(0.5, &mut x);
/// assert_eq!(x, [0.5, -1.0]);
/// ```
pub fn scale(alpha: f32, x: &mut [f32]) {
    scale_on(Path::DEFAULT, alpha, x);
}

pub(crate) fn scale_on(path: Path, alpha: f32, x: &mut [f32]) {
    let a = f32x8::splat(alpha);
    map_mut(path, x, |x| x * a, |x| x * alpha);
}

/// `y ← y + x` (PyTorch: `y.add_(x)`).
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// let mut y = [1.0, 2.0];
/// microtrain::kernels::add(&[3.0, 4.0], &mut y)?;
/// assert_eq!(y, [4.0, 6.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn add(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    add_on(Path::DEFAULT, x, y)
}

pub(crate) fn add_on(path: Path, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    same_len("add x", y.len(), x.len())?;
    zip_mut(path, y, x, |y, x| y + x, |y, x| y + x);
    Ok(())
}

/// `y ← y + Σᵣ xᵣ`, the rows of `x` added to `y` one after the other (a bias
/// gradient: PyTorch's `b.grad += dy.sum(0)`, whose sum runs in another order). Each
/// `yⱼ` gets `x[0][j]`, then `x[1][j]`, …: the bits of one [`add`] per row, with `y`
/// kept in registers across the rows.
///
/// # Errors
///
/// [`Error::Length`] if `y` does not have one value per column of `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{add_rows, MatRef};
/// let x = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0];
/// let mut y = [0.5, 0.25];
/// add_rows(MatRef::new(&x, 3, 2)?, &mut y)?;
/// assert_eq!(y, [((0.5 + 1.0) + 10.0) + 100.0, ((0.25 + 2.0) + 20.0) + 200.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[inline]
pub fn add_rows(x: MatRef<'_>, y: &mut [f32]) -> Result<(), Error> {
    add_rows_on(Path::DEFAULT, x, y)
}

#[inline]
pub(crate) fn add_rows_on(path: Path, x: MatRef<'_>, y: &mut [f32]) -> Result<(), Error> {
    let cols = x.cols();
    same_len("add_rows y", cols, y.len())?;
    if cols == 0 {
        return Ok(());
    }
    let rows = x.as_slice().chunks_exact(cols);
    if !path.simd() {
        // Column by column, the sum in a register: one load and one add per value.
        let x = x.as_slice();
        for (j, y) in y.iter_mut().enumerate() {
            let (mut acc, mut i) = (*y, j);
            while let Some(&v) = x.get(i) {
                acc += v;
                i += cols;
            }
            *y = acc;
        }
        return Ok(());
    }
    // Eight columns at a time, the last vector padded: a row's values past `cols` are
    // the next row's (or, for the last row, copied zeros) and their lanes are dropped.
    let x = x.as_slice();
    for c0 in (0..cols).step_by(LANES) {
        let width = LANES.min(cols - c0);
        let mut lanes = [0.0; LANES];
        lanes[..width].copy_from_slice(&y[c0..c0 + width]);
        let mut acc = f32x8::new(lanes);
        for r in 0..rows.len() {
            let start = r * cols + c0;
            acc += match x.get(start..start + LANES) {
                Some(v) => f32x8::new(v.try_into().unwrap_or([0.0; LANES])),
                None => {
                    let mut lanes = [0.0; LANES];
                    lanes[..width].copy_from_slice(&x[start..start + width]);
                    f32x8::new(lanes)
                }
            };
        }
        y[c0..c0 + width].copy_from_slice(&acc.as_array()[..width]);
    }
    Ok(())
}

/// Hadamard (element-wise) product `y ← y ⊙ x` (PyTorch: `y.mul_(x)`).
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// let mut y = [1.0, 2.0];
/// microtrain::kernels::hadamard(&[3.0, 4.0], &mut y)?;
/// assert_eq!(y, [3.0, 8.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn hadamard(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    hadamard_on(Path::DEFAULT, x, y)
}

pub(crate) fn hadamard_on(path: Path, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    same_len("hadamard x", y.len(), x.len())?;
    zip_mut(path, y, x, |y, x| y * x, |y, x| y * x);
    Ok(())
}

/// `accᵢ ← accᵢ + aᵢ·bᵢ`, the product rounded before it is added (no fused
/// multiply-add, even with the `fma` feature), so every path and target gives the same
/// bits (PyTorch: `acc.add_(a * b)`; `torch.addcmul_` would be the same numbers).
///
/// # Errors
///
/// [`Error::Length`] if `a` or `b` differs in length from `acc`.
///
/// # Examples
///
/// ```
/// let mut acc = [1.0, 1.0];
/// microtrain::kernels::mul_add(&[2.0, 3.0], &[4.0, 5.0], &mut acc)?;
/// assert_eq!(acc, [9.0, 16.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn mul_add(a: &[f32], b: &[f32], acc: &mut [f32]) -> Result<(), Error> {
    mul_add_on(Path::DEFAULT, a, b, acc)
}

pub(crate) fn mul_add_on(path: Path, a: &[f32], b: &[f32], acc: &mut [f32]) -> Result<(), Error> {
    same_len("mul_add a", acc.len(), a.len())?;
    same_len("mul_add b", acc.len(), b.len())?;
    let mut done = 0;
    if path.simd() {
        let (accs, _) = acc.as_chunks_mut::<LANES>();
        let (as_, _) = a.as_chunks::<LANES>();
        let (bs, _) = b.as_chunks::<LANES>();
        for ((c, x), y) in accs.iter_mut().zip(as_).zip(bs) {
            let product = f32x8::new(*x) * f32x8::new(*y);
            *c = (f32x8::new(*c) + product).to_array();
        }
        done = accs.len() * LANES;
    }
    for ((c, &x), &y) in acc[done..].iter_mut().zip(&a[done..]).zip(&b[done..]) {
        *c += x * y;
    }
    Ok(())
}

/// `Σ xᵢ` in the canonical order of the module documentation (PyTorch: `x.sum()`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::sum(&[1.0, 2.0, 3.0]), 6.0);
/// ```
pub fn sum(x: &[f32]) -> f32 {
    sum_on(Path::DEFAULT, x)
}

pub(crate) fn sum_on(path: Path, x: &[f32]) -> f32 {
    reduce(path, x, x, |a, _| a, |a, _| a)
}

/// `Σ xᵢ·yᵢ` in the canonical order (PyTorch: `torch.dot(x, y)`).
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::dot(&[1.0, 2.0], &[3.0, 4.0])?, 11.0);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn dot(x: &[f32], y: &[f32]) -> Result<f32, Error> {
    dot_on(Path::DEFAULT, x, y)
}

pub(crate) fn dot_on(path: Path, x: &[f32], y: &[f32]) -> Result<f32, Error> {
    same_len("dot y", x.len(), y.len())?;
    Ok(reduce(path, x, y, |a, b| a * b, |a, b| a * b))
}

/// `Σ xᵢ²` in the canonical order (PyTorch: `x.pow(2).sum()`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::squared_norm(&[3.0, 4.0]), 25.0);
/// ```
pub fn squared_norm(x: &[f32]) -> f32 {
    squared_norm_on(Path::DEFAULT, x)
}

pub(crate) fn squared_norm_on(path: Path, x: &[f32]) -> f32 {
    reduce(path, x, x, |a, _| a * a, |a, _| a * a)
}

/// `Σ |xᵢ|` in the canonical order (PyTorch: `x.abs().sum()`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::abs_sum(&[3.0, -4.0]), 7.0);
/// ```
pub fn abs_sum(x: &[f32]) -> f32 {
    abs_sum_on(Path::DEFAULT, x)
}

pub(crate) fn abs_sum_on(path: Path, x: &[f32]) -> f32 {
    reduce(path, x, x, |a, _| a.abs(), |a, _| a.abs())
}

/// The index of the first element of `x` that is NaN or infinite, or `None` if every
/// element is finite (PyTorch: `torch.isfinite(x).all()` for the check). The trainer
/// checks every input batch and every gradient with it before a step. With SIMD it
/// checks [`FINITE_BLOCK`] values at a time without a branch per vector: `xᵢ·0` is
/// `±0` for a finite `xᵢ` and NaN otherwise, so the bitwise OR of a block's products
/// is `±0` exactly when the whole block is finite; only a block that is not is scanned
/// for the position. The last values, fewer than a block, are checked by the sum of
/// their `xᵢ·0` (`±0` or NaN) in the canonical order. Without SIMD it scans directly.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::first_non_finite;
/// assert_eq!(first_non_finite(&[1.0, -2.0, 3e38]), None);
/// assert_eq!(first_non_finite(&[1.0, f32::INFINITY, f32::NAN]), Some(1));
/// assert_eq!(first_non_finite(&[0.0; 20].map(|_| f32::MAX)), None);
/// ```
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    first_non_finite_on(Path::DEFAULT, x)
}

/// Values [`first_non_finite`] checks at once on the SIMD path before it branches.
///
/// ```
/// use microtrain::kernels::{first_non_finite, vector::FINITE_BLOCK};
/// let mut x = [1.0f32; 3 * FINITE_BLOCK];
/// x[FINITE_BLOCK + 5] = f32::NAN;
/// x[2 * FINITE_BLOCK] = f32::INFINITY;
/// assert_eq!(first_non_finite(&x), Some(FINITE_BLOCK + 5));
/// ```
pub const FINITE_BLOCK: usize = 4 * LANES;

pub(crate) fn first_non_finite_on(path: Path, x: &[f32]) -> Option<usize> {
    let scan = |x: &[f32], at: usize| x.iter().position(|v| !v.is_finite()).map(|i| at + i);
    if !path.simd() {
        return scan(x, 0);
    }
    // `v·0` is ±0 (no bit but the sign) for finite lanes, NaN for ±∞ and NaN.
    let zero = f32x8::ZERO;
    let finite = |acc: f32x8| acc.simd_eq(zero).all();
    let (blocks, _) = x.as_chunks::<FINITE_BLOCK>();
    for (b, block) in blocks.iter().enumerate() {
        let mut acc = f32x8::ZERO;
        for v in block.as_chunks::<LANES>().0 {
            acc |= f32x8::new(*v) * zero;
        }
        if !finite(acc) {
            let at = b * FINITE_BLOCK;
            return scan(&x[at..at + FINITE_BLOCK], at);
        }
    }
    // The rest, fewer than a block: the sum of its `v·0` in the canonical order is ±0
    // when they are all finite and NaN otherwise (less code than another block for a
    // short slice such as a bias gradient).
    let at = blocks.len() * FINITE_BLOCK;
    let rest = &x[at..];
    if reduce(path, rest, rest, |a, _| a * zero, |a, _| a * 0.0) == 0.0 {
        None
    } else {
        scan(rest, at)
    }
}

/// `xᵢ ← min(max(xᵢ, lo), hi)` (PyTorch: `x.clamp_(lo, hi)`); NaN stays NaN.
///
/// # Examples
///
/// ```
/// let mut x = [-5.0, 0.5, 5.0];
/// microtrain::kernels::clamp(&mut x, -1.0, 1.0);
/// assert_eq!(x, [-1.0, 0.5, 1.0]);
/// ```
pub fn clamp(x: &mut [f32], lo: f32, hi: f32) {
    clamp_on(Path::DEFAULT, x, lo, hi)
}

pub(crate) fn clamp_on(path: Path, x: &mut [f32], lo: f32, hi: f32) {
    let (l, h) = (f32x8::splat(lo), f32x8::splat(hi));
    map_mut(
        path,
        x,
        |v| {
            let v = v.simd_lt(l).select(l, v);
            v.simd_gt(h).select(h, v)
        },
        |v| {
            let v = if v < lo { lo } else { v };
            if v > hi {
                hi
            } else {
                v
            }
        },
    );
}

/// The largest element; NaN if any element is NaN; `None` for an empty slice
/// (PyTorch: `x.max()`, which also propagates NaN).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::max;
/// assert_eq!(max(&[1.0, 5.0, -2.0]), Some(5.0));
/// assert!(max(&[1.0, f32::NAN]).unwrap().is_nan());
/// assert_eq!(max(&[]), None);
/// ```
pub fn max(x: &[f32]) -> Option<f32> {
    argmax(x).map(|i| x[i])
}

/// The index of the first largest element, or of the first NaN if there is one; `None`
/// for an empty slice (PyTorch: `x.argmax()`).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::argmax;
/// assert_eq!(argmax(&[1.0, 5.0, 5.0]), Some(1));
/// assert_eq!(argmax(&[1.0, f32::NAN, 9.0]), Some(1));
/// ```
pub fn argmax(x: &[f32]) -> Option<usize> {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Some(i);
        }
        if v > x[best] {
            best = i;
        }
    }
    (!x.is_empty()).then_some(best)
}

/// Combines eight partial sums in the canonical order.
#[inline(always)]
pub(crate) fn combine<T: Copy + core::ops::Add<Output = T>>(p: [T; LANES]) -> T {
    ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]))
}

/// `Σ term(xᵢ, yᵢ)` in the canonical order; `x` and `y` have equal length.
#[inline(always)]
fn reduce(
    path: Path,
    x: &[f32],
    y: &[f32],
    simd_term: impl Fn(f32x8, f32x8) -> f32x8,
    scalar_term: impl Fn(f32, f32) -> f32,
) -> f32 {
    if !path.simd() {
        let mut p = [0.0f32; LANES];
        for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
            p[i % LANES] += scalar_term(a, b);
        }
        return combine(p);
    }
    let mut acc = f32x8::ZERO;
    let (xs, xt) = x.as_chunks::<LANES>();
    let (ys, yt) = y.as_chunks::<LANES>();
    for (a, b) in xs.iter().zip(ys) {
        acc += simd_term(f32x8::new(*a), f32x8::new(*b));
    }
    let mut p = acc.to_array();
    for (i, (&a, &b)) in xt.iter().zip(yt).enumerate() {
        p[i] += scalar_term(a, b);
    }
    combine(p)
}

/// `yᵢ ← f(yᵢ, xᵢ)` for every `i`; `x` and `y` have equal length.
#[inline(always)]
pub(crate) fn zip_mut(
    path: Path,
    y: &mut [f32],
    x: &[f32],
    simd_f: impl Fn(f32x8, f32x8) -> f32x8,
    scalar_f: impl Fn(f32, f32) -> f32,
) {
    let mut done = 0;
    if path.simd() {
        let (ys, _) = y.as_chunks_mut::<LANES>();
        let (xs, _) = x.as_chunks::<LANES>();
        for (a, b) in ys.iter_mut().zip(xs) {
            *a = simd_f(f32x8::new(*a), f32x8::new(*b)).to_array();
        }
        done = ys.len() * LANES;
    }
    for (a, &b) in y[done..].iter_mut().zip(&x[done..]) {
        *a = scalar_f(*a, b);
    }
}

/// `xᵢ ← f(xᵢ)` for every `i`.
#[inline(always)]
pub(crate) fn map_mut(
    path: Path,
    x: &mut [f32],
    simd_f: impl Fn(f32x8) -> f32x8,
    scalar_f: impl Fn(f32) -> f32,
) {
    let mut done = 0;
    if path.simd() {
        let (xs, _) = x.as_chunks_mut::<LANES>();
        for a in xs.iter_mut() {
            *a = simd_f(f32x8::new(*a)).to_array();
        }
        done = xs.len() * LANES;
    }
    for a in x[done..].iter_mut() {
        *a = scalar_f(*a);
    }
}
