//! Row-wise softmax and log-softmax, stable for large inputs.
//!
//! For a row `x`: `m = maxⱼ xⱼ`, `s = Σⱼ e^(xⱼ − m)` (canonical sum order of
//! [`sum`](super::sum)), then `softmax(x)ᵢ = e^(xᵢ − m) / s` and
//! `log_softmax(x)ᵢ = (xᵢ − m) − ln s`. Subtracting the maximum keeps every exponent
//! at most 0, so nothing overflows (PyTorch: `torch.softmax(x, dim=1)`,
//! `torch.log_softmax(x, dim=1)`).

use super::vector::{exp_map, map_mut, max, same_len, sum_on};
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
