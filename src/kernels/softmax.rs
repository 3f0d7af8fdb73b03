//! Row-wise softmax and log-softmax, stable for large inputs.
//!
//! For a row `x`: `m = maxⱼ xⱼ`, `s = Σⱼ e^(xⱼ − m)` (canonical sum order of
//! [`sum`](super::sum)), then `softmax(x)ᵢ = e^(xᵢ − m) / s` and
//! `log_softmax(x)ᵢ = (xᵢ − m) − ln s`. Subtracting the maximum keeps every exponent
//! at most 0, so nothing overflows (PyTorch: `torch.softmax(x, dim=1)`,
//! `torch.log_softmax(x, dim=1)`).

use super::vector::{combine, exp_lanes, exp_map, ln_lanes, map_mut, max, same_len, sum_on, LANES};
use super::{math, Path};
use super::{MatMut, MatRef};
use crate::Error;
use wide::f32x8;

/// `y = softmax(x)` row by row.
///
/// # Errors
///
/// [`Error::Shape`] if `x` and `y` differ in shape.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::softmax_rows;
/// use microtrain::{MatMut, MatRef};
/// let x = [1000.0, 1000.0];
/// let mut y = [0.0; 2];
/// softmax_rows(MatRef::new(&x, 1, 2)?, MatMut::new(&mut y, 1, 2)?)?;
/// assert_eq!(y, [0.5, 0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn softmax_rows(x: MatRef<'_>, y: MatMut<'_>) -> Result<(), Error> {
    rows_on(Path::DEFAULT, x, y, false)
}

/// `y = log_softmax(x)` row by row.
///
/// # Errors
///
/// [`Error::Shape`] if `x` and `y` differ in shape.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::log_softmax_rows;
/// use microtrain::{MatMut, MatRef};
/// let x = [0.0, 0.0];
/// let mut y = [0.0; 2];
/// log_softmax_rows(MatRef::new(&x, 1, 2)?, MatMut::new(&mut y, 1, 2)?)?;
/// assert_eq!(y, [-core::f32::consts::LN_2; 2]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn log_softmax_rows(x: MatRef<'_>, y: MatMut<'_>) -> Result<(), Error> {
    rows_on(Path::DEFAULT, x, y, true)
}

pub(crate) fn rows_on(
    path: Path,
    x: MatRef<'_>,
    mut y: MatMut<'_>,
    log: bool,
) -> Result<(), Error> {
    if x.rows() != y.rows() {
        return Err(Error::Shape {
            what: "softmax rows",
            expected: y.rows(),
            found: x.rows(),
        });
    }
    if x.cols() != y.cols() {
        return Err(Error::Shape {
            what: "softmax columns",
            expected: y.cols(),
            found: x.cols(),
        });
    }
    let cols = x.cols();
    if cols == 0 {
        return Ok(());
    }
    let ys = y.as_mut_slice();
    for (r, out) in ys.chunks_exact_mut(cols).enumerate() {
        let row = x.row(r);
        let (m, s) = row_on(path, row, out)?;
        if log {
            let ls = math::ln(s);
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - m) - ls;
            }
        }
    }
    Ok(())
}

/// `y = softmax(x)` for one row, returning `(m, s)`: the maximum `m = maxⱼ xⱼ` and the
/// sum `s = Σⱼ e^(xⱼ − m)`, so that `log_softmax(x)ᵢ = (xᵢ − m) − ln s` costs no second
/// exponential. A softmax cross-entropy needs both, the probabilities for its gradient
/// and the log-probability of the label for its value (PyTorch computes them apart:
/// `torch.softmax(x, 0)` and `torch.log_softmax(x, 0)`). The values are those of
/// [`softmax_rows`], and `(xᵢ − m) − ln s` those of [`log_softmax_rows`], bit for bit.
/// An empty row gives `(0, 0)`.
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{math, softmax_row};
/// let x = [1.0, 3.0];
/// let mut p = [0.0; 2];
/// let (m, s) = softmax_row(&x, &mut p)?;
/// assert_eq!(m, 3.0);
/// assert_eq!(s, 1.0 + math::exp(-2.0));
/// assert_eq!(p[1], 1.0 / s);
/// let log_p0 = (x[0] - m) - math::ln(s);
/// assert!((log_p0 - math::ln(p[0])).abs() < 1e-6);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn softmax_row(x: &[f32], y: &mut [f32]) -> Result<(f32, f32), Error> {
    row_on(Path::DEFAULT, x, y)
}

/// [`softmax_row`] on the chosen path. The SIMD path computes the exponentials eight at
/// a time with the bits of [`math::exp`] ([`exp_map`]); the differences and quotients
/// are exactly rounded lane by lane, and the sum has the canonical order on both paths.
#[inline]
pub(crate) fn row_on(path: Path, x: &[f32], y: &mut [f32]) -> Result<(f32, f32), Error> {
    same_len("softmax row", y.len(), x.len())?;
    let m = max(x).unwrap_or(0.0);
    let mv = f32x8::splat(m);
    exp_map(path, x, y, |v| v - mv, |v| v - m);
    let s = sum_on(path, y);
    let sv = f32x8::splat(s);
    map_mut(path, y, |v| v / sv, |v| v / s);
    Ok((m, s))
}

/// Rows of at most this many values are worth computing [`BLOCK`] rows at once, one
/// row per lane (column `j` of the block in one vector), rather than one row at a time
/// with a padded last vector: a short row wastes most of its last vector and pays a
/// scalar maximum and a horizontal sum per row.
pub(crate) const SHORT: usize = 16;

/// Rows per block: one per lane.
pub(crate) const BLOCK: usize = LANES;

/// Fewest rows worth a block: a block computes [`BLOCK`] rows whatever number it
/// holds (the spare lanes repeat the first row).
pub(crate) const MIN_BLOCK_ROWS: usize = 4;

/// Whether rows of `cols` values go through blocks on this path.
#[inline(always)]
pub(crate) fn blocks_fit(path: Path, cols: usize) -> bool {
    path.simd() && cols > 0 && cols <= SHORT
}

/// The softmax of up to [`BLOCK`] rows of `cols ≤ SHORT` values, one row per lane:
/// `x[j]` holds the rows' values in column `j`, `m` their maxima, `s` their sums
/// `Σⱼ e^(xⱼ − m)` and `p[j]` their probabilities. Each lane performs exactly the
/// operations of [`row_on`] on its row, in the same order, so the bits are those of
/// a row at a time: the maximum keeps the first largest value (the first NaN if there
/// is one, as [`max`] does), the partial sum of lane `j mod 8` gets `e^(xⱼ − m)` in
/// increasing `j` from `+0`, and the partial sums are combined in the canonical order.
struct Block {
    x: [f32x8; SHORT],
    p: [f32x8; SHORT],
    m: f32x8,
    s: f32x8,
}

impl Block {
    /// Loads the `rows.len() / cols` rows of `rows` (at least one, at most [`BLOCK`]),
    /// the spare lanes repeating the first row, and computes their softmax.
    #[inline(always)]
    fn softmax(rows: &[f32], cols: usize) -> Block {
        let n = rows.len() / cols;
        let mut t = [[0.0f32; LANES]; SHORT];
        for lane in 0..LANES {
            let r = if lane < n { lane } else { 0 };
            for (t, &v) in t.iter_mut().zip(&rows[r * cols..(r + 1) * cols]) {
                t[lane] = v;
            }
        }
        let mut x = [f32x8::ZERO; SHORT];
        for (x, t) in x.iter_mut().zip(&t).take(cols) {
            *x = f32x8::new(*t);
        }
        let mut m = x[0];
        for &v in &x[1..cols] {
            // The first largest value, or the first NaN: `v` replaces `m` when it is
            // larger, or when it is NaN and `m` is not yet.
            let nan_first = v.simd_ne(v) & m.simd_eq(m);
            m = (v.simd_gt(m) | nan_first).select(v, m);
        }
        let mut e = [f32x8::ZERO; SHORT];
        let mut partial = [f32x8::ZERO; LANES];
        for j in 0..cols {
            e[j] = exp_lanes(x[j] - m);
            partial[j % LANES] += e[j];
        }
        let s = combine(partial);
        let mut p = [f32x8::ZERO; SHORT];
        for j in 0..cols {
            p[j] = e[j] / s;
        }
        Block { x, p, m, s }
    }

    /// `ln s` with the bits of [`math::ln`], lane by lane.
    #[inline(always)]
    fn ln_s(&self) -> f32x8 {
        ln_lanes(self.s)
    }
}

/// Writes columns `v[..cols]` of a block back to its first `rows.len() / cols` rows.
#[inline(always)]
fn store(v: &[f32x8; SHORT], rows: &mut [f32], cols: usize) {
    for (lane, row) in rows.chunks_exact_mut(cols).enumerate() {
        for (o, v) in row.iter_mut().zip(v) {
            *o = v.as_array()[lane];
        }
    }
}

/// The softmax cross-entropy of one block of up to [`BLOCK`] rows (`z`, rows of `C`
/// logits, which become the gradient), as [`crate::loss::CrossEntropy`] computes it
/// row by row, bit for bit: with `(m, s)` of [`row_on`], `log p_y = (z_y − m) − ln s`,
/// the loss `−(1 − ε)·log p_y`, minus `off · Σᵢ log pᵢ` (canonical order) when
/// `ε ≠ 0`, and the gradient `(pᵢ − qᵢ) / rows` with `qᵢ = on` at the label, `off`
/// elsewhere. Returns the rows' losses, or `None` (nothing written) where blocks do
/// not apply ([`blocks_fit`], at least [`MIN_BLOCK_ROWS`] rows). A row whose label is
/// not below `C` gets a meaningless loss and gradient, for the caller to replace.
#[inline(always)]
pub(crate) fn cross_entropy_block<const C: usize>(
    path: Path,
    z: &mut [[f32; C]],
    labels: &[u32],
    eps: f32,
    (off, on): (f32, f32),
    rows: f32,
) -> Option<[f32; BLOCK]> {
    let n = z.len();
    if !blocks_fit(path, C) || !(MIN_BLOCK_ROWS..=BLOCK).contains(&n) || labels.len() < n {
        return None;
    }
    let z = z.as_flattened_mut();
    let b = Block::softmax(z, C);
    let ln_s = b.ln_s();
    let label = f32x8::new(core::array::from_fn(|r| {
        labels.get(r).map_or(-1.0, |&l| l as f32)
    }));
    let mut z_label = f32x8::ZERO;
    for (j, &x) in b.x.iter().enumerate().take(C) {
        z_label = label.simd_eq(f32x8::splat(j as f32)).select(x, z_label);
    }
    let log_p = |x: f32x8| (x - b.m) - ln_s;
    let mut loss = f32x8::splat(-(1.0 - eps)) * log_p(z_label);
    if eps != 0.0 {
        let mut partial = [f32x8::ZERO; LANES];
        for j in 0..C {
            partial[j % LANES] += log_p(b.x[j]);
        }
        let sum = combine(partial);
        loss -= f32x8::splat(off) * sum;
    }
    let (off, on, rows) = (f32x8::splat(off), f32x8::splat(on), f32x8::splat(rows));
    let mut g = [f32x8::ZERO; SHORT];
    for (j, (g, &p)) in g.iter_mut().zip(&b.p).enumerate().take(C) {
        let q = label.simd_eq(f32x8::splat(j as f32)).select(on, off);
        *g = (p - q) / rows;
    }
    store(&g, z, C);
    Some(loss.to_array())
}
