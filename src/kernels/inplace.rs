//! Input gradients written over the forward input (the in-place backward pass of
//! [`Layer::backward_in_place`](crate::layers::Layer::backward_in_place)).
//!
//! Each kernel here computes the same numbers, in the same order, as the input-gradient
//! part of its two-buffer counterpart ([`activation_backward`](super::activation_backward),
//! [`conv2d_backward`](super::conv2d_backward), [`depthwise_backward`](super::depthwise_backward),
//! [`max_pool_backward`](super::max_pool_backward),
//! [`normalize_backward`](super::norm::normalize_backward)), so both give the same bits;
//! the layer tests compare them. The parameter gradients still come from the two-buffer
//! kernels, called without `dx` before `x` is overwritten.

use super::activation::{leaky_grad, leaky_grad_lanes, relu_grad, relu_grad_lanes};
use super::conv::{scratch_prefix, taps, ConvShape};
use super::gemm::matmul_on;
use super::norm::{Affine, Sets};
use super::vector::{mul_add_on, same_len, zip_mut};
use super::{Accumulate, Activation, MatMut, MatRef, Path};
use crate::Error;
use wide::f32x8;

/// `xᵢ ← dyᵢ · f'(xᵢ)`: the buffer holds the forward input `x` on entry and `∂J/∂x` on
/// return. ReLU and leaky ReLU take their mask from `x` (`x > 0 ⇔ y > 0`); the other
/// activations recompute `y = f(x)` with the forward kernel's scalar formula, so the
/// result is [`activation_backward`](super::activation_backward)'s, bit for bit.
pub(crate) fn activation_backward_in_place(
    act: Activation,
    x: &mut [f32],
    dy: &[f32],
) -> Result<(), Error> {
    same_len("activation output gradient", x.len(), dy.len())?;
    let path = Path::DEFAULT;
    match act {
        Activation::Relu => zip_mut(path, x, dy, relu_grad_lanes, relu_grad),
        Activation::LeakyRelu { slope } => {
            let s = f32x8::splat(slope);
            zip_mut(
                path,
                x,
                dy,
                |x, g| leaky_grad_lanes(x, g, s),
                |x, g| leaky_grad(x, g, slope),
            )
        }
        _ => {
            for (v, &g) in x.iter_mut().zip(dy) {
                let y = act.value(*v);
                *v = g * act.derivative(*v, y);
            }
        }
    }
    Ok(())
}

/// `∂J/∂x` of a 2-D convolution into `dx` (overwritten; it needs neither `x` nor the
/// weight gradient): per output row, `cols = dy_row · W`, then `cols` is folded back
/// onto the input positions (col2im), output positions and taps in scan order, as
/// [`conv2d_backward`](super::conv2d_backward) computes its `dx`. `scratch` holds at
/// least [`ConvShape::scratch_len`] floats.
pub(crate) fn conv2d_input_grad(
    s: &ConvShape,
    weight: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    s.validate()?;
    same_len("conv2d weight", s.weight_len(), weight.len())?;
    same_len("conv2d dy", s.output_elems(), dy.len())?;
    same_len("conv2d dx", s.input_len(), dx.len())?;
    let (co, k) = (s.c_out, s.patch_len());
    let cols = scratch_prefix("conv2d scratch (at least)", scratch, s.scratch_len())?;
    dx.fill(0.0);
    let row_len = s.wo * co;
    let path = Path::DEFAULT;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            let dy_row = &dy[(b * s.ho + oh) * row_len..][..row_len];
            matmul_on(
                path,
                MatMut::from_parts(cols, s.wo, k),
                MatRef::from_parts(dy_row, s.wo, co),
                MatRef::from_parts(weight, co, k),
                Accumulate::Overwrite,
            )?;
            super::conv::col2im_row(path, s, cols, b, oh, dx);
        }
    }
    Ok(())
}

/// `∂J/∂x` of a depthwise convolution into `dx` (overwritten): `dx[q] += w[t]·dy[p]`
/// over output pixels, then taps, in scan order, as
/// [`depthwise_backward`](super::depthwise_backward) computes its `dx`.
pub(crate) fn depthwise_input_grad(
    s: &ConvShape,
    weight: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    s.validate()?;
    same_len(
        "depthwise channels c_out (must equal c_in)",
        s.c_in,
        s.c_out,
    )?;
    let c = s.c_in;
    same_len("depthwise weight", s.kh * s.kw * c, weight.len())?;
    same_len("depthwise dy", s.output_elems(), dy.len())?;
    same_len("depthwise dx", s.input_len(), dx.len())?;
    dx.fill(0.0);
    let path = Path::DEFAULT;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            let (i0, i1) = taps(oh, s.sh, s.ph, s.kh, s.h);
            for ow in 0..s.wo {
                let (j0, j1) = taps(ow, s.sw, s.pw, s.kw, s.w);
                let p = (b * s.ho + oh) * s.wo + ow;
                let dy_px = &dy[p * c..][..c];
                for i in i0..i1 {
                    let ih = oh * s.sh + i - s.ph;
                    for j in j0..j1 {
                        let q = (b * s.h + ih) * s.w + ow * s.sw + j - s.pw;
                        let t = (i * s.kw + j) * c;
                        mul_add_on(path, &weight[t..][..c], dy_px, &mut dx[q * c..][..c])?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Max pooling backward, in place: `x` holds the forward input on entry and `∂J/∂x` on
/// return. Each window's winner is found from `x` (the first maximum in scan order, or
/// the last NaN, as [`max_pool_forward`](super::max_pool_forward) chooses it) before any
/// input that window reads is overwritten, and `dy` is added at the winner starting from
/// `+0.0`, window by window in the order of
/// [`max_pool_backward`](super::max_pool_backward): the same bits. Inputs outside every
/// window become `+0.0`.
///
/// Non-overlapping windows (`sh ≥ kh`, `sw ≥ kw`) need nothing else: each window is
/// written as soon as its winner is known. Overlapping windows read inputs that an
/// earlier window's gradient would overwrite, so their gradients gather in `ring`, `kh`
/// input rows of `w · c` values (the rows the current row of windows reads), and each
/// input row is written into `x` once no later window reads it. `ring` is not read for
/// non-overlapping windows (pass `&mut []`).
///
/// # Errors
///
/// [`Error::Shape`] for an invalid shape, [`Error::Length`] for a slice of the wrong
/// length or overlapping windows with a `ring` shorter than `kh · w · c`.
pub(crate) fn max_pool_backward_in_place(
    s: &ConvShape,
    x: &mut [f32],
    dy: &[f32],
    ring: &mut [f32],
) -> Result<(), Error> {
    s.validate()?;
    same_len("pooling channels c_out (must equal c_in)", s.c_in, s.c_out)?;
    same_len("pooling padding", 0, s.ph.max(s.pw))?;
    same_len("pooling x", s.input_len(), x.len())?;
    same_len("pooling dy", s.output_elems(), dy.len())?;
    let c = s.c_in;
    let at = |b: usize, ih: usize, iw: usize| ((b * s.h + ih) * s.w + iw) * c;
    let winner = |x: &[f32], b: usize, oh: usize, ow: usize, ch: usize| {
        let (mut max, mut winner) = (f32::NEG_INFINITY, (0, 0));
        for i in 0..s.kh {
            for j in 0..s.kw {
                let v = x[at(b, oh * s.sh + i, ow * s.sw + j) + ch];
                if v > max || v.is_nan() {
                    max = v;
                    winner = (i, j);
                }
            }
        }
        winner
    };
    let overlapping = s.sh < s.kh || s.sw < s.kw;
    let row_len = s.w.saturating_mul(c);
    let ring = if overlapping {
        let len = s.kh.saturating_mul(row_len);
        if ring.len() < len {
            return Err(Error::Length {
                what: "overlapping max pooling ring (kh·w·c)",
                expected: len,
                found: ring.len(),
            });
        }
        &mut ring[..len]
    } else {
        &mut ring[..0]
    };
    for b in 0..s.batch {
        if overlapping {
            ring.fill(0.0);
        }
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                for ch in 0..c {
                    let (i, j) = winner(x, b, oh, ow, ch);
                    let (ih, iw) = (oh * s.sh + i, ow * s.sw + j);
                    if overlapping {
                        ring[(ih % s.kh) * row_len + iw * c + ch] += dy[p * c + ch];
                        continue;
                    }
                    for i in 0..s.kh {
                        for j in 0..s.kw {
                            x[at(b, oh * s.sh + i, ow * s.sw + j) + ch] = 0.0;
                        }
                    }
                    x[at(b, ih, iw) + ch] += dy[p * c + ch];
                }
            }
            if overlapping {
                // Rows from oh·sh up to the next row of windows (all the rest after the
                // last) are read by no later window: their gradients are final.
                let last = if oh + 1 == s.ho { s.h } else { (oh + 1) * s.sh };
                for ih in oh * s.sh..last.min(s.h) {
                    let row = &mut x[at(b, ih, 0)..][..row_len];
                    if ih < oh * s.sh + s.kh {
                        let slot = &mut ring[(ih % s.kh) * row_len..][..row_len];
                        row.copy_from_slice(slot);
                        slot.fill(0.0);
                    } else {
                        row.fill(0.0);
                    }
                }
            }
        }
        // Inputs that no window covers (a stride longer than the window, or a remainder
        // at the edge) get no gradient; overlapping windows wrote every row already.
        if s.ho == 0 {
            x[at(b, 0, 0)..][..s.h * row_len].fill(0.0);
            continue;
        }
        if overlapping {
            continue;
        }
        for ih in 0..s.h {
            let row_in = ih / s.sh < s.ho && ih % s.sh < s.kh;
            for iw in 0..s.w {
                let col_in = iw / s.sw < s.wo && iw % s.sw < s.kw;
                if !(row_in && col_in) {
                    x[at(b, ih, iw)..][..c].fill(0.0);
                }
            }
        }
    }
    Ok(())
}

/// The set of element `(row, channel)` (as [`Sets`] numbers them in the norm kernels).
fn set_of(sets: Sets, row: usize, channel: usize, channels: usize) -> usize {
    match sets {
        Sets::Channels => channel,
        Sets::Groups { positions, groups } => {
            row / positions * groups + channel / (channels / groups)
        }
    }
}

/// The number of elements in each set when the first `rows` rows are used.
fn set_size(sets: Sets, channels: usize, rows: usize) -> f32 {
    match sets {
        Sets::Channels => rows as f32,
        Sets::Groups { positions, groups } => positions.saturating_mul(channels / groups) as f32,
    }
}

/// The input gradient of [`normalize`](super::norm::normalize) written over its input:
/// `x` holds the forward input on entry and `∂J/∂x` on return, given `dy` and the sums
/// `Σg` and `Σg·x̂` (`sums`, as left by
/// [`normalize_backward`](super::norm::normalize_backward) called without `dx`):
/// `dx = σ⁻¹·((g − Σg/m) − x̂·Σg·x̂/m)` with `g = γ·dy` (batch statistics) or
/// `dx = σ⁻¹·g` (fixed statistics); rows from `rows` on get `+0.0`. The same formula,
/// element by element, as `normalize_backward`'s `dx`.
pub(crate) fn normalize_input_grad_in_place(
    a: &Affine<'_>,
    mut x: MatMut<'_>,
    dy: MatRef<'_>,
    rows: usize,
    batch_statistics: bool,
    sums: &[f32],
) -> Result<(), Error> {
    let c = x.cols();
    same_len(
        "normalisation output gradient",
        x.as_ref().as_slice().len(),
        dy.as_slice().len(),
    )?;
    same_len("normalisation scratch", 2 * a.mean.len(), sums.len())?;
    let total_rows = x.rows();
    if rows > total_rows {
        return Err(Error::Length {
            what: "normalised rows",
            expected: total_rows,
            found: rows,
        });
    }
    let (sum_g, sum_gx) = sums.split_at(a.mean.len());
    let m = set_size(a.sets, c, rows);
    let rows = if c == 0 { 0 } else { rows };
    let out = x.as_mut_slice();
    for r in 0..rows {
        let row = &mut out[r * c..(r + 1) * c];
        for (j, (o, &d)) in row.iter_mut().zip(dy.row(r)).enumerate() {
            let k = set_of(a.sets, r, j, c);
            let xh = (*o - a.mean[k]) * a.inv_std[k];
            let g = a.gamma[j] * d;
            *o = if batch_statistics {
                a.inv_std[k] * ((g - sum_g[k] / m) - xh * (sum_gx[k] / m))
            } else {
                a.inv_std[k] * g
            };
        }
    }
    out[rows * c..].fill(0.0);
    Ok(())
}
