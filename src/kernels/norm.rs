//! Normalisation: moments, normalisation with a per-channel affine map, and its
//! backward pass, for batch, layer, instance and group normalisation.
//!
//! The data are a channels-last matrix `x: rows × C` (one row per pixel, or per sample
//! of a plain feature batch). [`Sets`] says which elements are normalised together:
//! every channel across all rows (batch norm), or within one sample each group of
//! `C/G` consecutive channels across that sample's positions (group norm, and so layer
//! norm with `G = 1` and instance norm with `G = C`). For a set `S` of `m` elements:
//!
//! ```text
//! μ = (Σ_S x) / m        σ² = (Σ_S (x − μ)²) / m        ι = 1 / √(σ² + ε)
//! x̂ = (x − μ)·ι          y = γ_c·x̂ + β_c
//! ```
//!
//! and backward, with `g = γ_c·∂J/∂y`:
//!
//! ```text
//! ∂J/∂γ_c += Σ ∂J/∂y·x̂        ∂J/∂β_c += Σ ∂J/∂y        (over the channel's elements)
//! ∂J/∂x = ι·(g − (Σ_S g)/m − x̂·(Σ_S g·x̂)/m)              (statistics of the batch)
//! ∂J/∂x = ι·g                                            (fixed statistics: evaluation)
//! ```
//!
//! Canonical order: every sum runs over its elements in storage order (row by row,
//! channel by channel within a row), one `f32` accumulator per set or per channel,
//! starting at `+0.0`; divisions by `m` are true divisions. There is one code path, so
//! there is nothing for another path to disagree with; the loops run along the
//! contiguous channels, and the compiler may vectorise them without reordering a sum.

use super::vector::same_len;
use super::{math, MatMut, MatRef};
use crate::Error;

/// Which elements of a `rows × C` channels-last matrix are normalised together.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::norm::Sets;
/// // Batch norm over 4 channels: one set per channel.
/// assert_eq!(Sets::Channels.count(4, 10), Some(4));
/// // Group norm, 2 groups of 4 channels, 3 samples of 5 positions each: 6 sets.
/// assert_eq!(Sets::Groups { positions: 5, groups: 2 }.count(4, 15), Some(6));
/// // 3 groups do not divide 4 channels.
/// assert_eq!(Sets::Groups { positions: 5, groups: 3 }.count(4, 15), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sets {
    /// One set per channel, across every row (PyTorch: `BatchNorm1d/2d`).
    Channels,
    /// One set per sample (each `positions` consecutive rows) and per group of
    /// `C / groups` consecutive channels (PyTorch: `GroupNorm(groups, C)`).
    Groups {
        /// Rows per sample (`H·W` for images, 1 for feature vectors).
        positions: usize,
        /// Groups of channels per sample.
        groups: usize,
    },
}

impl Sets {
    /// The number of sets in a `rows × channels` matrix, or `None` if the groups do not
    /// divide the channels, the samples do not divide the rows, or the number
    /// overflows `usize`.
    ///
    /// # Examples
    ///
    /// See [`Sets`].
    pub const fn count(self, channels: usize, rows: usize) -> Option<usize> {
        match self {
            Sets::Channels => Some(channels),
            Sets::Groups { positions, groups } => {
                if groups == 0
                    || positions == 0
                    || !channels.is_multiple_of(groups)
                    || !rows.is_multiple_of(positions)
                {
                    None
                } else {
                    // `None` where the count overflows (zero channels admit any groups).
                    (rows / positions).checked_mul(groups)
                }
            }
        }
    }

    /// The set of element `(row, channel)`.
    #[inline(always)]
    fn of(self, row: usize, channel: usize, channels: usize) -> usize {
        match self {
            Sets::Channels => channel,
            Sets::Groups { positions, groups } => {
                row / positions * groups + channel / (channels / groups)
            }
        }
    }

    /// The number of elements in each set when the first `rows` rows are used.
    fn size(self, channels: usize, rows: usize) -> f32 {
        match self {
            Sets::Channels => rows as f32,
            // Saturates where `rows` is 0 (then any `positions` divides it): no set
            // has a value to average then.
            Sets::Groups { positions, groups } => {
                positions.saturating_mul(channels / groups) as f32
            }
        }
    }

    /// Checks that `stats` holds one value per set of the first `rows` rows.
    fn check(self, channels: usize, rows: usize, stats: usize) -> Result<(), Error> {
        let count = self.count(channels, rows).ok_or(Error::Shape {
            what: "normalisation groups per channels, or positions per rows",
            expected: 0,
            found: channels,
        })?;
        same_len("normalisation statistics", count, stats)
    }
}

/// Mean and biased variance of each set over the first `rows` rows of `x`:
/// `μ = Σx/m`, `σ² = Σ(x − μ)²/m` (two passes, as written in the module
/// documentation).
///
/// # Errors
///
/// [`Error::Length`] if `mean` or `var` does not hold one value per set, or
/// `rows > x.rows()`; [`Error::Shape`] if the groups do not fit the channels.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::norm::{moments, Sets};
/// use microtrain::MatRef;
/// let x = [1.0, 10.0, 3.0, 30.0];                 // 2 rows, 2 channels
/// let (mut mean, mut var) = ([0.0; 2], [0.0; 2]);
/// moments(Sets::Channels, MatRef::new(&x, 2, 2)?, 2, &mut mean, &mut var)?;
/// assert_eq!((mean, var), ([2.0, 20.0], [1.0, 100.0]));
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn moments(
    sets: Sets,
    x: MatRef<'_>,
    rows: usize,
    mean: &mut [f32],
    var: &mut [f32],
) -> Result<(), Error> {
    let c = x.cols();
    if rows > x.rows() {
        return Err(Error::Length {
            what: "normalised rows",
            expected: x.rows(),
            found: rows,
        });
    }
    sets.check(c, rows, mean.len())?;
    same_len("normalisation variance", mean.len(), var.len())?;
    let m = sets.size(c, rows);
    mean.fill(0.0);
    var.fill(0.0);
    // Rows of zero channels hold nothing: a view may have any number of them, so the
    // loops must not count them one by one.
    let rows = if c == 0 { 0 } else { rows };
    for r in 0..rows {
        for (j, &v) in x.row(r).iter().enumerate() {
            mean[sets.of(r, j, c)] += v;
        }
    }
    for v in mean.iter_mut() {
        *v /= m;
    }
    for r in 0..rows {
        for (j, &v) in x.row(r).iter().enumerate() {
            let k = sets.of(r, j, c);
            let d = v - mean[k];
            var[k] += d * d;
        }
    }
    for v in var.iter_mut() {
        *v /= m;
    }
    Ok(())
}

/// Turns each variance `σ²` into `ι = 1/√(σ² + ε)`, in place.
///
/// # Examples
///
/// ```
/// let mut v = [3.0, 0.0];
/// microtrain::kernels::norm::inverse_std(&mut v, 1.0);
/// assert_eq!(v, [0.5, 1.0]);
/// ```
pub fn inverse_std(var: &mut [f32], eps: f32) {
    for v in var.iter_mut() {
        *v = 1.0 / math::sqrt(*v + eps);
    }
}

/// The per-channel parameters and per-set statistics of one normalisation.
///
/// # Examples
///
/// See [`normalize`].
#[derive(Clone, Copy, Debug)]
pub struct Affine<'a> {
    /// Which elements share statistics.
    pub sets: Sets,
    /// `μ` of each set.
    pub mean: &'a [f32],
    /// `ι = 1/√(σ² + ε)` of each set.
    pub inv_std: &'a [f32],
    /// `γ` of each channel.
    pub gamma: &'a [f32],
    /// `β` of each channel.
    pub beta: &'a [f32],
}

impl Affine<'_> {
    fn check(&self, x: &MatRef<'_>) -> Result<(), Error> {
        let c = x.cols();
        self.sets.check(c, x.rows(), self.mean.len())?;
        same_len(
            "normalisation inverse std",
            self.mean.len(),
            self.inv_std.len(),
        )?;
        same_len("normalisation scale", c, self.gamma.len())?;
        same_len("normalisation shift", c, self.beta.len())
    }
}

/// `y = γ_c·((x − μ)·ι) + β_c` for every element of `x`.
///
/// # Errors
///
/// [`Error::Length`] or [`Error::Shape`] if a slice does not fit `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::norm::{normalize, Affine, Sets};
/// use microtrain::{MatMut, MatRef};
/// let x = [1.0, 3.0];                                    // 2 rows, 1 channel
/// let mut y = [0.0; 2];
/// let a = Affine { sets: Sets::Channels, mean: &[2.0], inv_std: &[1.0], gamma: &[2.0], beta: &[0.5] };
/// normalize(&a, MatRef::new(&x, 2, 1)?, MatMut::new(&mut y, 2, 1)?)?;
/// assert_eq!(y, [-1.5, 2.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn normalize(a: &Affine<'_>, x: MatRef<'_>, mut y: MatMut<'_>) -> Result<(), Error> {
    a.check(&x)?;
    same_len(
        "normalisation output",
        x.as_slice().len(),
        y.as_mut_slice().len(),
    )?;
    let c = x.cols();
    for (r, out) in y.as_mut_slice().chunks_exact_mut(c.max(1)).enumerate() {
        for (j, (o, &v)) in out.iter_mut().zip(x.row(r)).enumerate() {
            let k = a.sets.of(r, j, c);
            *o = a.gamma[j] * ((v - a.mean[k]) * a.inv_std[k]) + a.beta[j];
        }
    }
    Ok(())
}

/// The gradients of [`normalize`] over the first `rows` rows of `x` (the rest get a
/// zero input gradient): `∂J/∂γ` and `∂J/∂β` are accumulated (`+=`), `∂J/∂x`, if
/// asked for, is overwritten. With `batch_statistics` the statistics are those of the
/// batch itself (training), and the input gradient carries their derivative; without,
/// they are constants (evaluation: running statistics). `sums` is scratch for two
/// values per set.
///
/// # Errors
///
/// [`Error::Length`] or [`Error::Shape`] if a slice does not fit `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::norm::{normalize_backward, Affine, Sets};
/// use microtrain::{MatMut, MatRef};
/// let a = Affine { sets: Sets::Channels, mean: &[2.0], inv_std: &[1.0], gamma: &[2.0], beta: &[0.0] };
/// let (x, dy) = ([1.0, 3.0], [1.0, 1.0]);
/// let (mut dgamma, mut dbeta, mut dx, mut sums) = ([0.0], [0.0], [9.0; 2], [0.0; 2]);
/// let (x, dy) = (MatRef::new(&x, 2, 1)?, MatRef::new(&dy, 2, 1)?);
/// normalize_backward(&a, x, dy, 2, true, &mut dgamma, &mut dbeta, Some(MatMut::new(&mut dx, 2, 1)?), &mut sums)?;
/// // A constant gradient shifts the output, which batch statistics undo: dx = 0.
/// assert_eq!((dgamma, dbeta, dx), ([0.0], [2.0], [0.0, 0.0]));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn normalize_backward(
    a: &Affine<'_>,
    x: MatRef<'_>,
    dy: MatRef<'_>,
    rows: usize,
    batch_statistics: bool,
    gamma_grad: &mut [f32],
    beta_grad: &mut [f32],
    dx: Option<MatMut<'_>>,
    sums: &mut [f32],
) -> Result<(), Error> {
    a.check(&x)?;
    let c = x.cols();
    same_len(
        "normalisation output gradient",
        x.as_slice().len(),
        dy.as_slice().len(),
    )?;
    same_len("normalisation scale gradient", c, gamma_grad.len())?;
    same_len("normalisation shift gradient", c, beta_grad.len())?;
    same_len("normalisation scratch", 2 * a.mean.len(), sums.len())?;
    if rows > x.rows() {
        return Err(Error::Length {
            what: "normalised rows",
            expected: x.rows(),
            found: rows,
        });
    }
    if let Some(dx) = &dx {
        same_len(
            "normalisation input gradient",
            x.as_slice().len(),
            dx.as_ref().as_slice().len(),
        )?;
    }
    let hat = |r: usize, j: usize, v: f32| {
        let k = a.sets.of(r, j, c);
        (k, (v - a.mean[k]) * a.inv_std[k])
    };
    let (sum_g, sum_gx) = sums.split_at_mut(a.mean.len());
    sum_g.fill(0.0);
    sum_gx.fill(0.0);
    let m = a.sets.size(c, rows);
    // As in `moments`: rows of zero channels are not visited.
    let rows = if c == 0 { 0 } else { rows };
    for r in 0..rows {
        for (j, (&v, &d)) in x.row(r).iter().zip(dy.row(r)).enumerate() {
            let (k, xh) = hat(r, j, v);
            gamma_grad[j] += d * xh;
            beta_grad[j] += d;
            let g = a.gamma[j] * d;
            sum_g[k] += g;
            sum_gx[k] += g * xh;
        }
    }
    let Some(mut dx) = dx else {
        return Ok(());
    };
    let out = dx.as_mut_slice();
    out.fill(0.0);
    for r in 0..rows {
        let row = &mut out[r * c..(r + 1) * c];
        for (j, ((o, &v), &d)) in row.iter_mut().zip(x.row(r)).zip(dy.row(r)).enumerate() {
            let (k, xh) = hat(r, j, v);
            let g = a.gamma[j] * d;
            *o = if batch_statistics {
                a.inv_std[k] * ((g - sum_g[k] / m) - xh * (sum_gx[k] / m))
            } else {
                a.inv_std[k] * g
            };
        }
    }
    Ok(())
}
