//! Convolution and pooling over channels-last batches.
//!
//! # Layout
//!
//! An image batch is `[batch][h][w][c]` flattened (NHWC, "channels last"): the channels
//! of one pixel are contiguous, pixel `(b, y, x)` starts at `((b·h + y)·w + x)·c`. A 1-D
//! signal is an image of height 1. [`ConvShape`] holds the geometry of a window (a
//! convolution kernel or a pooling window) sliding over such a batch: input
//! `batch × h × w × c_in`, output `batch × ho × wo × c_out`, window `kh × kw`, strides
//! `sh`, `sw`, and `ph`, `pw` rows and columns of zeros on each side.
//!
//! Output pixel `(oh, ow)` sees the input pixels `(oh·sh + i − ph, ow·sw + j − pw)` for
//! the taps `0 ≤ i < kh`, `0 ≤ j < kw`; a tap outside the input is *padded*. Taps are
//! always visited in scan order, `i` outer and `j` inner.
//!
//! # Canonical evaluation orders
//!
//! As everywhere in [`kernels`](super), each function fixes the order of its additions,
//! and its SIMD path gives the bits of its scalar path ([`scalar`](super::scalar)).
//!
//! - [`conv2d_forward`]: `y[b,oh,ow,o] = ((bias[o] + p₀) + p₁) + … + p_{K−1}` with
//!   `p_k = fl(w[o][k]·col[k])`, `k = (i, j, ci)` in increasing order over all
//!   `K = kh·kw·c_in` taps and channels; a padded tap has `col[k] = +0.0` and still adds
//!   its product `±0`. That is the order of [`matmul_bt`](super::matmul_bt) with the
//!   bias as the initial value of the output, which is how it is computed: one output row
//!   `(b, oh)` at a time, the `wo` patches of that row are copied into `scratch`
//!   (im2col, `wo × K`), the bias is broadcast into the `wo × c_out` output row, and the
//!   row is `y_row += cols · Wᵀ`.
//! - [`conv2d_backward`], per output row `(b, oh)` in increasing order: the weight
//!   gradient `∂W += dy_rowᵀ · cols` ([`matmul_at`](super::matmul_at), so each element
//!   adds its products in `ow` order, row after row); the bias gradient adds `dy` of each
//!   output pixel in pixel order ([`add`](super::add)); and, if `dx` is asked for, it
//!   starts at `+0.0` and receives `dcols = dy_row · W` ([`matmul`](super::matmul), the
//!   `c_out` products of each element in increasing `o`) scattered back (col2im): each
//!   `dx` element adds its contributions in `(oh, ow, i, j)` order, padded ones skipped.
//! - [`depthwise_forward`]: `y[p][c] = ((bias[c] + w[t₀][c]·x[q₀][c]) + …)` over the
//!   taps `t = (i, j)` in scan order, **padded taps skipped** (they would only add `±0`).
//!   [`depthwise_backward`]: for each output pixel `p` in order, `∂bias += dy[p]`, then
//!   for each unpadded tap in scan order `∂w[t] += dy[p]·x[q]` and `dx[q] += w[t]·dy[p]`
//!   (`dx` from `+0.0`). Products are rounded before they are added ([`mul_add`](super::mul_add)).
//! - [`max_pool_forward`]: the running maximum starts at `−∞` and takes tap value `v`
//!   when `v > max` or `v` is NaN, taps in scan order, as PyTorch's CPU kernel
//!   (`aten/src/ATen/native/cpu/MaxPoolKernel.cpp`: `(val > maxval) || isnan(val)`).
//!   So the first of equal maxima wins (`+0.0` and `−0.0` are equal: the first one seen
//!   wins), a NaN wins (the last NaN of the window), and an all-`−∞` window gives `−∞`
//!   from its first tap. [`max_pool_backward`] recomputes that winning tap from `x` (no
//!   indices are stored) and adds `dy` to its `dx` element, output pixels in order, `dx`
//!   from `+0.0`; overlapping windows accumulate.
//! - [`avg_pool_forward`]: `(((+0.0 + x₀) + x₁) + …) / (kh·kw)`, taps in scan order, one
//!   division (PyTorch's `count_include_pad`; there is no padding to count).
//!   [`avg_pool_backward`]: `g = dy / (kh·kw)` rounded once per output element, then
//!   added to the `dx` element of every tap, output pixels in order, taps in scan order.
//! - [`global_avg_pool_forward`]: `(((+0.0 + x₀) + x₁) + …) / positions`, positions in
//!   order; [`global_avg_pool_backward`]: `dx = dy / positions`.
//!
//! The SIMD paths vectorise across the contiguous channels (or, inside the matrix
//! products, across output columns), so each lane performs the scalar sequence above.
//!
//! # im2col, one output row at a time
//!
//! A whole-sample im2col buffer would be `ho·wo·kh·kw·c_in` floats: 28 KiB for a
//! 28 × 28 × 1 image and a 3 × 3 kernel, 28 KiB per 14 × 14 × 8 sample, too much to
//! add to a microcontroller's RAM for one layer. One output row needs `wo·kh·kw·c_in`
//! ([`ConvShape::scratch_len`]): 1 KiB and 2 KiB for those layers, and the matrix
//! products it feeds are still `wo × K × c_out`, large enough for the register tiles of
//! [`gemm`](super::gemm). Direct loops need no scratch at all but cannot use those tiles.
//! `benches/conv_kernels.rs` measures the three, all computing the same bits (median
//! GFLOP/s on a shared 2-core AMD EPYC under load, so ±30 % between runs; batch 32,
//! 3 × 3, stride 1, padding 1):
//!
//! | build, layer                     | pass     | row im2col | direct | whole-sample im2col |
//! |----------------------------------|----------|-----------:|-------:|--------------------:|
//! | default (SSE2), 28²×1 → 8        | forward  | 2.1–4.4    | 3.2–4.4| 1.5–2.5             |
//! |                                  | backward | 2.5–3.7    | 0.5–0.6| 1.5–2.2             |
//! | default (SSE2), 14²×8 → 16       | forward  | 9.1–10.3   | 10.5–12.0 | 7.1–10.4         |
//! |                                  | backward | 7.6–9.0    | 3.6–3.9| 10.1                |
//! | `target-cpu=native` (AVX-512), 28²×1 → 8 | forward | 2.8 | 2.4  | 1.6                 |
//! |                                  | backward | 3.1        | 0.6    | 2.2                 |
//! | `target-cpu=native`, 14²×8 → 16  | forward  | 27.7       | 19.2   | 21.3                |
//! |                                  | backward | 17.3       | 3.8    | 14.8                |
//!
//! Direct loops match the row im2col forward on the SSE2 build but lose by 2.5–6× in
//! the backward pass and by 30 % forward with AVX-512; whole-sample im2col is not
//! clearly faster anywhere but needs `ho` times the scratch. So: row im2col.
//!
//! On the SIMD path (host targets) two things change, neither the bits nor the scratch
//! (see the [`gemm`](super::gemm) module): the weight is packed once per call rather
//! than once per output row (a 32 KiB stack buffer; larger weights go row by row), and
//! the weight gradient is one product over all output pixels of the batch whose
//! patches are unfolded from `x` while they are packed, so `scratch` only serves the
//! forward pass and the input gradient.

use super::gemm::{
    conv_weight_grad, matmul_at_on, matmul_bt_on, matmul_on, matmul_packed, pack_whole, PackBuffer,
};
use super::vector::{add_on, map_mut, mul_add_on, same_len, zip_mut, LANES};
use super::{Accumulate, MatMut, MatRef, Path};
use crate::Error;
use wide::f32x8;

/// Geometry of a 2-D window (convolution or pooling) over a channels-last batch.
///
/// The input is `batch × h × w × c_in`, the output `batch × ho × wo × c_out`; the window
/// is `kh × kw`, moves by `sh` rows and `sw` columns, and the input is padded with `ph`
/// rows of zeros above and below and `pw` columns left and right. The output size must
/// follow [`ConvShape::output_len`]: a shape is only used after
/// [`ConvShape::validate`] accepts it.
///
/// PyTorch: `nn.Conv2d(c_in, c_out, (kh, kw), stride=(sh, sw), padding=(ph, pw))` on a
/// `(batch, c_in, h, w)` tensor in `torch.channels_last` memory format.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::ConvShape;
/// // 28 × 28 grey images, 3 × 3 kernel, stride 1, padding 1, 8 output channels.
/// let s = ConvShape {
///     batch: 32, h: 28, w: 28, c_in: 1,
///     ho: 28, wo: 28, c_out: 8,
///     kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1,
/// };
/// assert!(s.is_consistent());
/// assert_eq!(s.scratch_len(), 28 * 9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Samples in the batch.
    pub batch: usize,
    /// Input height (1 for a 1-D signal).
    pub h: usize,
    /// Input width (the length of a 1-D signal).
    pub w: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output height: `output_len(h, kh, sh, ph)`.
    pub ho: usize,
    /// Output width: `output_len(w, kw, sw, pw)`.
    pub wo: usize,
    /// Output channels (equal to `c_in` for depthwise convolution and pooling).
    pub c_out: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical stride (at least 1).
    pub sh: usize,
    /// Horizontal stride (at least 1).
    pub sw: usize,
    /// Rows of zero padding above and below.
    pub ph: usize,
    /// Columns of zero padding left and right.
    pub pw: usize,
}

/// `Some(a·b·…)`, or `None` if the product overflows `usize`.
const fn checked_product(factors: &[usize]) -> Option<usize> {
    let mut p: usize = 1;
    let mut i = 0;
    while i < factors.len() {
        p = match p.checked_mul(factors[i]) {
            Some(p) => p,
            None => return None,
        };
        i += 1;
    }
    Some(p)
}

/// `a·b·…`, or `usize::MAX` if that overflows (only for shapes that
/// [`ConvShape::validate`] rejects).
const fn product(factors: &[usize]) -> usize {
    match checked_product(factors) {
        Some(p) => p,
        None => usize::MAX,
    }
}

/// `Err(Error::Shape { what, expected, found })` unless they agree.
const fn same_dim(what: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::Shape {
            what,
            expected,
            found,
        })
    }
}

impl ConvShape {
    /// The number of window positions along one axis:
    /// `⌊(h + 2p − k) / s⌋ + 1` for an input of length `h`, window `k`, stride `s` and
    /// padding `p` on each side. This is PyTorch's formula for `Conv2d`, `MaxPool2d` and
    /// `AvgPool2d` (dilation 1, `ceil_mode=False`). It is 0 where PyTorch raises an
    /// error: `s = 0`, `k = 0`, or a window longer than the padded input.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// assert_eq!(ConvShape::output_len(28, 3, 1, 1), 28); // "same" padding
    /// assert_eq!(ConvShape::output_len(28, 2, 2, 0), 14); // 2 × 2 pooling
    /// assert_eq!(ConvShape::output_len(7, 3, 2, 0), 3); // the last column is not reached
    /// assert_eq!(ConvShape::output_len(2, 5, 1, 1), 0); // the window does not fit
    /// ```
    pub const fn output_len(h: usize, k: usize, s: usize, p: usize) -> usize {
        if s == 0 || k == 0 {
            return 0;
        }
        let padded = match p.checked_mul(2) {
            Some(pp) => match h.checked_add(pp) {
                Some(padded) => padded,
                None => return 0,
            },
            None => return 0,
        };
        if k > padded {
            return 0;
        }
        (padded - k) / s + 1
    }

    /// Checks the geometry: strides and window at least 1, the window no larger than the
    /// padded input, `ho` and `wo` equal to [`ConvShape::output_len`], and every element
    /// count (input, output, weights, scratch) representable in `usize`.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] naming the first dimension that is wrong, with the value it must
    /// have (for a bound, the bound) and the value it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{kernels::ConvShape, Error};
    /// let s = ConvShape {
    ///     batch: 1, h: 5, w: 5, c_in: 1, ho: 4, wo: 3, c_out: 1,
    ///     kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0,
    /// };
    /// assert_eq!(
    ///     s.validate(),
    ///     Err(Error::Shape { what: "conv output height ho", expected: 3, found: 4 })
    /// );
    /// ```
    pub const fn validate(&self) -> Result<(), Error> {
        if self.sh == 0 {
            return Err(Error::Shape {
                what: "conv stride sh (at least 1)",
                expected: 1,
                found: 0,
            });
        }
        if self.sw == 0 {
            return Err(Error::Shape {
                what: "conv stride sw (at least 1)",
                expected: 1,
                found: 0,
            });
        }
        if self.kh == 0 {
            return Err(Error::Shape {
                what: "conv window height kh (at least 1)",
                expected: 1,
                found: 0,
            });
        }
        if self.kw == 0 {
            return Err(Error::Shape {
                what: "conv window width kw (at least 1)",
                expected: 1,
                found: 0,
            });
        }
        if checked_product(&[2, self.ph]).is_none()
            || checked_product(&[2, self.pw]).is_none()
            || self.h.checked_add(2 * self.ph).is_none()
            || self.w.checked_add(2 * self.pw).is_none()
        {
            return Err(Error::Shape {
                what: "conv padded input size h + 2·ph or w + 2·pw (overflows usize)",
                expected: usize::MAX,
                found: usize::MAX,
            });
        }
        let padded_h = self.h + 2 * self.ph;
        if self.kh > padded_h {
            return Err(Error::Shape {
                what: "conv window height kh (at most the padded input height h + 2·ph)",
                expected: padded_h,
                found: self.kh,
            });
        }
        let padded_w = self.w + 2 * self.pw;
        if self.kw > padded_w {
            return Err(Error::Shape {
                what: "conv window width kw (at most the padded input width w + 2·pw)",
                expected: padded_w,
                found: self.kw,
            });
        }
        let ho = Self::output_len(self.h, self.kh, self.sh, self.ph);
        if let Err(e) = same_dim("conv output height ho", ho, self.ho) {
            return Err(e);
        }
        let wo = Self::output_len(self.w, self.kw, self.sw, self.pw);
        if let Err(e) = same_dim("conv output width wo", wo, self.wo) {
            return Err(e);
        }
        // Every count the kernels compute, and (left to right) every prefix of it.
        let counts: [&[usize]; 6] = [
            &[self.batch, self.h, self.w, self.c_in],
            &[self.batch, self.ho, self.wo, self.c_out],
            &[self.kh, self.kw, self.c_in],
            &[self.c_out, self.kh, self.kw, self.c_in],
            &[self.wo, self.kh, self.kw, self.c_in],
            &[self.wo, self.c_out],
        ];
        let mut i = 0;
        while i < counts.len() {
            if checked_product(counts[i]).is_none() {
                return Err(Error::Shape {
                    what: "conv element count (overflows usize)",
                    expected: usize::MAX,
                    found: usize::MAX,
                });
            }
            i += 1;
        }
        Ok(())
    }

    /// Whether [`ConvShape::validate`] accepts the shape.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// let mut s = ConvShape {
    ///     batch: 1, h: 1, w: 100, c_in: 3, ho: 1, wo: 49, c_out: 4,
    ///     kh: 1, kw: 3, sh: 1, sw: 2, ph: 0, pw: 0,
    /// };
    /// assert!(s.is_consistent()); // a 1-D convolution over 100 samples
    /// s.sw = 0;
    /// assert!(!s.is_consistent());
    /// ```
    pub const fn is_consistent(&self) -> bool {
        self.validate().is_ok()
    }

    /// The `f32`s of scratch that [`conv2d_forward`] and [`conv2d_backward`] need:
    /// `wo·kh·kw·c_in`, one output row of im2col.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// let s = ConvShape {
    ///     batch: 4, h: 14, w: 14, c_in: 8, ho: 14, wo: 14, c_out: 16,
    ///     kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1,
    /// };
    /// assert_eq!(s.scratch_len(), 14 * 3 * 3 * 8);
    /// ```
    pub const fn scratch_len(&self) -> usize {
        product(&[self.wo, self.kh, self.kw, self.c_in])
    }

    /// Elements of the input `x` (and of `dx`): `batch·h·w·c_in`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// let s = ConvShape {
    ///     batch: 2, h: 4, w: 4, c_in: 3, ho: 2, wo: 2, c_out: 3,
    ///     kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0,
    /// };
    /// assert_eq!(s.input_len(), 2 * 4 * 4 * 3);
    /// ```
    pub const fn input_len(&self) -> usize {
        product(&[self.batch, self.h, self.w, self.c_in])
    }

    /// Elements of the output `y` (and of `dy`): `batch·ho·wo·c_out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// let s = ConvShape {
    ///     batch: 2, h: 4, w: 4, c_in: 3, ho: 2, wo: 2, c_out: 3,
    ///     kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0,
    /// };
    /// assert_eq!(s.output_elems(), 2 * 2 * 2 * 3);
    /// ```
    pub const fn output_elems(&self) -> usize {
        product(&[self.batch, self.ho, self.wo, self.c_out])
    }

    /// Elements of a [`conv2d_forward`] weight: `c_out·kh·kw·c_in`. (A
    /// [`depthwise_forward`] weight has `kh·kw·c_in`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::ConvShape;
    /// let s = ConvShape {
    ///     batch: 1, h: 5, w: 5, c_in: 3, ho: 5, wo: 5, c_out: 4,
    ///     kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1,
    /// };
    /// assert_eq!(s.weight_len(), 4 * 3 * 3 * 3);
    /// ```
    pub const fn weight_len(&self) -> usize {
        product(&[self.c_out, self.kh, self.kw, self.c_in])
    }

    /// Inner dimension of the convolution as a matrix product: `kh·kw·c_in`.
    pub(super) fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c_in
    }

    /// Validates a shape for the kernels with one filter or window per channel
    /// (depthwise convolution, pooling): `c_out = c_in`.
    fn validate_per_channel(&self, what: &'static str) -> Result<(), Error> {
        self.validate()?;
        same_dim(what, self.c_in, self.c_out)
    }

    /// Validates a pooling shape: per channel and no padding.
    fn validate_pool(&self) -> Result<(), Error> {
        self.validate_per_channel("pooling channels c_out (must equal c_in)")?;
        same_dim("pooling padding ph (must be 0)", 0, self.ph)?;
        same_dim("pooling padding pw (must be 0)", 0, self.pw)
    }
}

/// The taps `lo .. hi` of a window at output position `o` (stride `s`, padding `p`,
/// window `k`) that fall inside an input of length `n`; tap `t` reads input index
/// `o·s + t − p`. Empty (`lo = hi`) if every tap is padded.
#[inline]
pub(crate) fn taps(o: usize, s: usize, p: usize, k: usize, n: usize) -> (usize, usize) {
    let start = o * s;
    let lo = p.saturating_sub(start).min(k);
    let hi = (n + p).saturating_sub(start).min(k).max(lo);
    (lo, hi)
}

/// The `scratch.len() ≥ len` prefix of `scratch`.
pub(super) fn scratch_prefix<'s>(
    what: &'static str,
    scratch: &'s mut [f32],
    len: usize,
) -> Result<&'s mut [f32], Error> {
    let found = scratch.len();
    scratch.get_mut(..len).ok_or(Error::Length {
        what,
        expected: len,
        found,
    })
}

/// im2col of output row `(b, oh)`: `cols[ow][(i·kw + j)·c_in + ci] =
/// x[b][oh·sh + i − ph][ow·sw + j − pw][ci]`, or `+0.0` for a padded tap.
fn im2col_row(s: &ConvShape, x: &[f32], b: usize, oh: usize, cols: &mut [f32]) {
    let (c, k) = (s.c_in, s.patch_len());
    let row = s.kw * c;
    let (i0, i1) = taps(oh, s.sh, s.ph, s.kh, s.h);
    for ow in 0..s.wo {
        let patch = &mut cols[ow * k..][..k];
        let (j0, j1) = taps(ow, s.sw, s.pw, s.kw, s.w);
        for i in 0..s.kh {
            let dst = &mut patch[i * row..][..row];
            if !(i0..i1).contains(&i) || j0 == j1 {
                dst.fill(0.0);
                continue;
            }
            let ih = oh * s.sh + i - s.ph;
            let iw0 = ow * s.sw + j0 - s.pw;
            // The unpadded taps j0 .. j1 are the contiguous pixels iw0 .. of input row ih.
            let src = &x[((b * s.h + ih) * s.w + iw0) * c..][..(j1 - j0) * c];
            dst[..j0 * c].fill(0.0);
            dst[j0 * c..j1 * c].copy_from_slice(src);
            dst[j1 * c..].fill(0.0);
        }
    }
}

/// The most lanes a packed panel has ([`NR`](super::gemm::NR) on every target).
const MAX_PANEL: usize = 32;

/// Reads the unfolded patches of consecutive output pixels, columns `j0 .. j0 + nc` of
/// each, straight from the input: what [`im2col_row`] would copy there, for the SIMD
/// weight gradient ([`conv_weight_grad`](super::gemm::conv_weight_grad)), which packs
/// them instead of unfolding rows into scratch.
pub(super) struct PatchRows<'a> {
    s: &'a ConvShape,
    x: &'a [f32],
    /// The columns as runs of one tap each: `(first column, length, i, j, ci)`, the
    /// run's channels `ci .. ci + length` contiguous in the input pixel.
    runs: [(usize, usize, usize, usize, usize); MAX_PANEL],
    len: usize,
    /// The next output pixel.
    b: usize,
    oh: usize,
    ow: usize,
}

impl<'a> PatchRows<'a> {
    /// The patches from output pixel `pixel` (`(b·ho + oh)·wo + ow`) on, columns
    /// `j0 .. j0 + nc` (`nc ≤ MAX_PANEL`).
    pub(super) fn new(s: &'a ConvShape, x: &'a [f32], pixel: usize, j0: usize, nc: usize) -> Self {
        let mut runs = [(0, 0, 0, 0, 0); MAX_PANEL];
        let mut len = 0;
        let mut l = 0;
        while l < nc && len < MAX_PANEL {
            let (tap, ci) = ((j0 + l) / s.c_in, (j0 + l) % s.c_in);
            let run = (s.c_in - ci).min(nc - l);
            runs[len] = (l, run, tap / s.kw, tap % s.kw, ci);
            len += 1;
            l += run;
        }
        let wo = s.wo.max(1);
        let (row, ow) = (pixel / wo, pixel % wo);
        let ho = s.ho.max(1);
        Self {
            s,
            x,
            runs,
            len,
            b: row / ho,
            oh: row % ho,
            ow,
        }
    }

    /// Hands the columns of the next pixel's patch to `put`, run by run:
    /// `put(first column, length, Some(values))` for a run read from the input,
    /// `put(first column, length, None)` for a padded tap (`+0.0`), and moves on to the
    /// pixel after it.
    #[inline(always)]
    pub(super) fn next_row(&mut self, mut put: impl FnMut(usize, usize, Option<&[f32]>)) {
        let s = self.s;
        let (y, x) = (self.oh * s.sh, self.ow * s.sw);
        for &(l, run, i, j, ci) in &self.runs[..self.len] {
            let (ih, iw) = ((y + i).wrapping_sub(s.ph), (x + j).wrapping_sub(s.pw));
            let src = if ih < s.h && iw < s.w {
                let start = ((self.b * s.h + ih) * s.w + iw) * s.c_in + ci;
                self.x.get(start..start + run)
            } else {
                None
            };
            put(l, run, src);
        }
        self.ow += 1;
        if self.ow == s.wo {
            self.ow = 0;
            self.oh += 1;
            if self.oh == s.ho {
                self.oh = 0;
                self.b += 1;
            }
        }
    }
}

/// col2im of output row `(b, oh)`: adds `dcols[ow][(i·kw + j)·c_in + ci]` to
/// `dx[b][oh·sh + i − ph][ow·sw + j − pw][ci]` for every unpadded tap, in `(ow, i, j)`
/// order.
pub(crate) fn col2im_row(
    path: Path,
    s: &ConvShape,
    dcols: &[f32],
    b: usize,
    oh: usize,
    dx: &mut [f32],
) {
    let (c, k) = (s.c_in, s.patch_len());
    let (i0, i1) = taps(oh, s.sh, s.ph, s.kh, s.h);
    for ow in 0..s.wo {
        let (j0, j1) = taps(ow, s.sw, s.pw, s.kw, s.w);
        if j0 == j1 {
            continue;
        }
        let iw0 = ow * s.sw + j0 - s.pw;
        for i in i0..i1 {
            let ih = oh * s.sh + i - s.ph;
            let len = (j1 - j0) * c;
            let src = &dcols[ow * k + (i * s.kw + j0) * c..][..len];
            let dst = &mut dx[((b * s.h + ih) * s.w + iw0) * c..][..len];
            // Lengths agree by construction; add cannot fail.
            let _ = add_on(path, src, dst);
        }
    }
}

/// 2-D convolution, forward: `y = conv(x, W) + bias` (PyTorch: `nn.Conv2d` with
/// `weight.permute(0, 2, 3, 1)` as `weight`), in the canonical order of the
/// [module documentation](self).
///
/// `x` is `batch × h × w × c_in`, `weight` is `c_out × (kh·kw·c_in)` row-major with the
/// inner index ordered `(i, j, ci)` (`[co][kh][kw][ci]`), `bias` has `c_out` elements and
/// `y` (overwritten) is `batch × ho × wo × c_out`. `scratch` holds at least
/// [`ConvShape::scratch_len`] floats; its contents on entry do not matter and on return
/// are unspecified.
///
/// # Errors
///
/// [`Error::Shape`] if [`ConvShape::validate`] rejects `s`; [`Error::Length`] if a slice
/// has the wrong length or `scratch` is too short. Nothing is written then.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{conv2d_forward, ConvShape};
/// // A 1-D signal [1, 2, 3] (one channel), kernel [1, -1], padding 1 on each side.
/// let s = ConvShape {
///     batch: 1, h: 1, w: 3, c_in: 1, ho: 1, wo: 4, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 1,
/// };
/// let mut y = [0.0; 4];
/// let mut scratch = [0.0; 8];
/// conv2d_forward(&s, &[1.0, 2.0, 3.0], &[1.0, -1.0], &[0.5], &mut y, &mut scratch)?;
/// assert_eq!(y, [-0.5, -0.5, -0.5, 3.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn conv2d_forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    conv2d_forward_on(Path::DEFAULT, s, x, weight, bias, y, scratch)
}

/// [`conv2d_forward`] on the chosen path.
pub(crate) fn conv2d_forward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    s.validate()?;
    same_len("conv2d x", s.input_len(), x.len())?;
    same_len("conv2d weight", s.weight_len(), weight.len())?;
    same_len("conv2d bias", s.c_out, bias.len())?;
    same_len("conv2d y", s.output_elems(), y.len())?;
    let cols = scratch_prefix("conv2d scratch (at least)", scratch, s.scratch_len())?;
    let (k, co) = (s.patch_len(), s.c_out);
    let w = MatRef::from_parts(weight, co, k);
    let row_len = s.wo * co;
    // On the SIMD path the weight is packed once for all rows, if it fits the buffer.
    let mut buffer = path.simd().then(PackBuffer::new);
    let packed = buffer
        .as_mut()
        .and_then(|buffer| pack_whole(buffer, weight, true, k, co));
    for b in 0..s.batch {
        for oh in 0..s.ho {
            im2col_row(s, x, b, oh, cols);
            let y_row = &mut y[(b * s.ho + oh) * row_len..][..row_len];
            for ow in 0..s.wo {
                y_row[ow * co..][..co].copy_from_slice(bias);
            }
            match &packed {
                Some(packed) => matmul_packed(y_row, cols, packed, s.wo, Accumulate::Add),
                None => matmul_bt_on(
                    path,
                    MatMut::from_parts(y_row, s.wo, co),
                    MatRef::from_parts(cols, s.wo, k),
                    w,
                    Accumulate::Add,
                )?,
            }
        }
    }
    Ok(())
}

/// 2-D convolution, backward: accumulates the weight and bias gradients and, if `dx` is
/// given, overwrites it with the input gradient, in the canonical order of the
/// [module documentation](self).
///
/// With `J` the loss and `dy = ∂J/∂y`:
/// `weight_grad[o][(i, j, ci)] += Σ_{b, oh, ow} dy[b,oh,ow,o]·x[b, oh·sh+i−ph, ow·sw+j−pw, ci]`,
/// `bias_grad[o] += Σ_{b, oh, ow} dy[b,oh,ow,o]`, and
/// `dx[b,y,x,ci] = Σ dy[b,oh,ow,o]·weight[o][(i, j, ci)]` over the `(oh, ow, i, j, o)`
/// with `oh·sh + i − ph = y`, `ow·sw + j − pw = x`. Shapes as in [`conv2d_forward`];
/// `weight_grad` is shaped like `weight`, `bias_grad` like `bias`, `dx` like `x`.
/// `scratch` (at least [`ConvShape::scratch_len`]) is reused for each row's columns and
/// then for its column gradient.
///
/// # Errors
///
/// As [`conv2d_forward`] (with `dy`, the gradients and `dx` checked too). Nothing is
/// written then.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{conv2d_backward, ConvShape};
/// // y = w₀·x₀ + w₁·x₁ + b for two inputs, one output.
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let (mut gw, mut gb, mut dx) = ([0.0; 2], [0.0; 1], [9.0; 2]);
/// let mut scratch = [0.0; 2];
/// conv2d_backward(&s, &[3.0, 4.0], &[0.5, -1.0], &[2.0], &mut gw, &mut gb, Some(&mut dx), &mut scratch)?;
/// assert_eq!((gw, gb, dx), ([6.0, 8.0], [2.0], [1.0, -2.0]));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<(), Error> {
    conv2d_backward_on(
        Path::DEFAULT,
        s,
        x,
        weight,
        dy,
        weight_grad,
        bias_grad,
        dx,
        scratch,
    )
}

/// [`conv2d_backward`] on the chosen path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    mut dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<(), Error> {
    s.validate()?;
    same_len("conv2d x", s.input_len(), x.len())?;
    same_len("conv2d weight", s.weight_len(), weight.len())?;
    same_len("conv2d dy", s.output_elems(), dy.len())?;
    same_len("conv2d weight_grad", s.weight_len(), weight_grad.len())?;
    same_len("conv2d bias_grad", s.c_out, bias_grad.len())?;
    if let Some(dx) = dx.as_deref() {
        same_len("conv2d dx", s.input_len(), dx.len())?;
    }
    let cols = scratch_prefix("conv2d scratch (at least)", scratch, s.scratch_len())?;
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    let (k, co) = (s.patch_len(), s.c_out);
    let row_len = s.wo * co;
    if path.simd() {
        // The weight gradient of all output rows in one product, which unfolds the
        // patches as it packs them (the same bits as row by row).
        conv_weight_grad(weight_grad, dy, s, x);
    }
    // On the SIMD path the weight is packed once for the input gradient of all rows, if
    // it fits the buffer.
    let mut buffer = (path.simd() && dx.is_some()).then(PackBuffer::new);
    let packed = buffer
        .as_mut()
        .and_then(|buffer| pack_whole(buffer, weight, false, co, k));
    for b in 0..s.batch {
        for oh in 0..s.ho {
            let dy_row = &dy[(b * s.ho + oh) * row_len..][..row_len];
            if !path.simd() {
                im2col_row(s, x, b, oh, cols);
                matmul_at_on(
                    path,
                    MatMut::from_parts(weight_grad, co, k),
                    MatRef::from_parts(dy_row, s.wo, co),
                    MatRef::from_parts(cols, s.wo, k),
                    Accumulate::Add,
                )?;
            }
            for ow in 0..s.wo {
                add_on(path, &dy_row[ow * co..][..co], bias_grad)?;
            }
            if let Some(dx) = dx.as_deref_mut() {
                match &packed {
                    Some(packed) => {
                        matmul_packed(cols, dy_row, packed, s.wo, Accumulate::Overwrite)
                    }
                    None => matmul_on(
                        path,
                        MatMut::from_parts(cols, s.wo, k),
                        MatRef::from_parts(dy_row, s.wo, co),
                        MatRef::from_parts(weight, co, k),
                        Accumulate::Overwrite,
                    )?,
                }
                col2im_row(path, s, cols, b, oh, dx);
            }
        }
    }
    Ok(())
}

/// Checks the slices of a per-channel kernel (depthwise convolution) against `s`.
fn check_depthwise(s: &ConvShape, x: &[f32], weight: &[f32], bias_len: usize) -> Result<(), Error> {
    s.validate_per_channel("depthwise channels c_out (must equal c_in)")?;
    same_len("depthwise x", s.input_len(), x.len())?;
    same_len("depthwise weight", s.kh * s.kw * s.c_in, weight.len())?;
    same_len("depthwise bias", s.c_in, bias_len)
}

/// Depthwise 2-D convolution, forward: one `kh × kw` filter per channel (channel
/// multiplier 1, `c_out = c_in = c`; PyTorch: `nn.Conv2d(c, c, (kh, kw), groups=c)` with
/// `weight.permute(2, 3, 0, 1)` as `weight`).
///
/// `y[p][c] = bias[c] + Σ_{(i, j)} w[i][j][c]·x[q(p, i, j)][c]` over the unpadded taps
/// in scan order (padded taps are skipped: they would add `±0`), products rounded before
/// they are added. `weight` is `kh × kw × c` (`[kh][kw][c]`), `bias` has `c` elements,
/// `x` and `y` (overwritten) as in [`conv2d_forward`]. The SIMD path vectorises across
/// channels with [`mul_add`](super::mul_add).
///
/// # Errors
///
/// [`Error::Shape`] if `s` is invalid or `c_out ≠ c_in`; [`Error::Length`] if a slice
/// has the wrong length. Nothing is written then.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{depthwise_forward, ConvShape};
/// // Two channels of a 3-sample signal, kernel width 2: a sum and a difference filter.
/// let s = ConvShape {
///     batch: 1, h: 1, w: 3, c_in: 2, ho: 1, wo: 2, c_out: 2,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
/// let w = [1.0, -1.0, 1.0, 1.0]; // [tap 0: c0, c1], [tap 1: c0, c1]
/// let mut y = [0.0; 4];
/// depthwise_forward(&s, &x, &w, &[0.0, 0.0], &mut y)?;
/// assert_eq!(y, [3.0, 10.0, 5.0, 10.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn depthwise_forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    depthwise_forward_on(Path::DEFAULT, s, x, weight, bias, y)
}

/// [`depthwise_forward`] on the chosen path.
pub(crate) fn depthwise_forward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    check_depthwise(s, x, weight, bias.len())?;
    same_len("depthwise y", s.output_elems(), y.len())?;
    let c = s.c_in;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            let (i0, i1) = taps(oh, s.sh, s.ph, s.kh, s.h);
            for ow in 0..s.wo {
                let (j0, j1) = taps(ow, s.sw, s.pw, s.kw, s.w);
                let p = (b * s.ho + oh) * s.wo + ow;
                let y_px = &mut y[p * c..][..c];
                y_px.copy_from_slice(bias);
                for i in i0..i1 {
                    let ih = oh * s.sh + i - s.ph;
                    for j in j0..j1 {
                        let q = (b * s.h + ih) * s.w + ow * s.sw + j - s.pw;
                        let w_tap = &weight[(i * s.kw + j) * c..][..c];
                        mul_add_on(path, w_tap, &x[q * c..][..c], y_px)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Depthwise 2-D convolution, backward: accumulates `weight_grad` (`kh × kw × c`) and
/// `bias_grad` (`c`), and overwrites `dx` (if given) with the input gradient:
/// `∂w[i][j][c] += Σ_p dy[p][c]·x[q(p, i, j)][c]`, `∂bias[c] += Σ_p dy[p][c]`,
/// `dx[q][c] = Σ w[i][j][c]·dy[p][c]` over the `(p, i, j)` that read `q`; output pixels
/// `p` in order, unpadded taps in scan order (see the [module documentation](self)).
///
/// # Errors
///
/// As [`depthwise_forward`]. Nothing is written then.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{depthwise_backward, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 3, c_in: 1, ho: 1, wo: 2, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let (mut gw, mut gb, mut dx) = ([0.0; 2], [0.0], [0.0; 3]);
/// depthwise_backward(&s, &[1.0, 2.0, 3.0], &[1.0, -1.0], &[1.0, 10.0], &mut gw, &mut gb, Some(&mut dx))?;
/// assert_eq!(gw, [21.0, 32.0]); // 1·1 + 10·2, 1·2 + 10·3
/// assert_eq!(gb, [11.0]);
/// assert_eq!(dx, [1.0, 9.0, -10.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn depthwise_backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    dx: Option<&mut [f32]>,
) -> Result<(), Error> {
    depthwise_backward_on(Path::DEFAULT, s, x, weight, dy, weight_grad, bias_grad, dx)
}

/// [`depthwise_backward`] on the chosen path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise_backward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    mut dx: Option<&mut [f32]>,
) -> Result<(), Error> {
    check_depthwise(s, x, weight, bias_grad.len())?;
    same_len("depthwise dy", s.output_elems(), dy.len())?;
    same_len("depthwise weight_grad", weight.len(), weight_grad.len())?;
    if let Some(dx) = dx.as_deref() {
        same_len("depthwise dx", s.input_len(), dx.len())?;
    }
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    let c = s.c_in;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            let (i0, i1) = taps(oh, s.sh, s.ph, s.kh, s.h);
            for ow in 0..s.wo {
                let (j0, j1) = taps(ow, s.sw, s.pw, s.kw, s.w);
                let p = (b * s.ho + oh) * s.wo + ow;
                let dy_px = &dy[p * c..][..c];
                add_on(path, dy_px, bias_grad)?;
                for i in i0..i1 {
                    let ih = oh * s.sh + i - s.ph;
                    for j in j0..j1 {
                        let q = (b * s.h + ih) * s.w + ow * s.sw + j - s.pw;
                        let t = (i * s.kw + j) * c;
                        let x_q = &x[q * c..][..c];
                        mul_add_on(path, dy_px, x_q, &mut weight_grad[t..][..c])?;
                        if let Some(dx) = dx.as_deref_mut() {
                            mul_add_on(path, &weight[t..][..c], dy_px, &mut dx[q * c..][..c])?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks the input and output slices of a pooling kernel against `s`.
fn check_pool(s: &ConvShape, x_len: usize, y_len: usize) -> Result<(), Error> {
    s.validate_pool()?;
    same_len("pooling x", s.input_len(), x_len)?;
    same_len("pooling y", s.output_elems(), y_len)
}

/// The largest value of each of the channels `c0 .. c0 + n` (`n ≤ 8`) over the window of
/// output pixel `(b, oh, ow)`, and the scan-order number `i·kw + j` of the tap it came
/// from, by the rule of [`max_pool_forward`].
#[allow(clippy::too_many_arguments)]
fn window_max(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    b: usize,
    oh: usize,
    ow: usize,
    c0: usize,
    n: usize,
) -> ([f32; LANES], [u32; LANES]) {
    let c = s.c_in;
    let tap_start = |i: usize, j: usize| {
        let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
        q * c + c0
    };
    let mut max = [f32::NEG_INFINITY; LANES];
    let mut winner = [0u32; LANES];
    if path.simd() && n == LANES {
        let mut m = f32x8::splat(f32::NEG_INFINITY);
        // Tap numbers ride in f32 lanes as bit patterns; `select` moves bits unchanged.
        let mut win = f32x8::splat(f32::from_bits(0));
        for i in 0..s.kh {
            for j in 0..s.kw {
                let start = tap_start(i, j);
                let v = f32x8::from(&x[start..start + LANES]);
                let take = v.simd_gt(m) | v.simd_ne(v);
                m = take.select(v, m);
                let t = f32x8::splat(f32::from_bits((i * s.kw + j) as u32));
                win = take.select(t, win);
            }
        }
        max = m.to_array();
        for (w, v) in winner.iter_mut().zip(win.to_array()) {
            *w = v.to_bits();
        }
    } else {
        for i in 0..s.kh {
            for j in 0..s.kw {
                let start = tap_start(i, j);
                for (l, &v) in x[start..start + n].iter().enumerate() {
                    if v > max[l] || v.is_nan() {
                        max[l] = v;
                        winner[l] = (i * s.kw + j) as u32;
                    }
                }
            }
        }
    }
    (max, winner)
}

/// The window of a max-pooling shape must number its taps in a `u32`.
fn check_max_pool_taps(s: &ConvShape) -> Result<(), Error> {
    let taps = s.kh * s.kw;
    if taps > u32::MAX as usize {
        return Err(Error::Shape {
            what: "max pooling window taps kh·kw (at most u32::MAX)",
            expected: u32::MAX as usize,
            found: taps,
        });
    }
    Ok(())
}

/// Max pooling, forward: `y[p][c]` is the largest `x[q][c]` over the `kh × kw` window
/// of output pixel `p` (PyTorch: `nn.MaxPool2d((kh, kw), (sh, sw))`). No padding
/// (`ph = pw = 0`) and `c_out = c_in`. A NaN in the window gives NaN, and the rule for
/// ties and NaN is PyTorch's CPU kernel's (see the [module documentation](self)).
///
/// # Errors
///
/// [`Error::Shape`] if `s` is invalid, padded, has `c_out ≠ c_in`, or a window of more
/// than `u32::MAX` taps; [`Error::Length`] if a slice has the wrong length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{max_pool_forward, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 2, w: 4, c_in: 1, ho: 1, wo: 2, c_out: 1,
///     kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0,
/// };
/// let mut y = [0.0; 2];
/// max_pool_forward(&s, &[1.0, 5.0, -1.0, -2.0, 3.0, 2.0, -3.0, -4.0], &mut y)?;
/// assert_eq!(y, [5.0, -1.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn max_pool_forward(s: &ConvShape, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    max_pool_forward_on(Path::DEFAULT, s, x, y)
}

/// [`max_pool_forward`] on the chosen path.
pub(crate) fn max_pool_forward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    check_pool(s, x.len(), y.len())?;
    check_max_pool_taps(s)?;
    let c = s.c_in;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                for c0 in (0..c).step_by(LANES) {
                    let n = LANES.min(c - c0);
                    let (max, _) = window_max(path, s, x, b, oh, ow, c0, n);
                    y[p * c + c0..][..n].copy_from_slice(&max[..n]);
                }
            }
        }
    }
    Ok(())
}

/// Max pooling, backward: overwrites `dx` with `∂J/∂x`: each `dy[p][c]` goes to the
/// input element that [`max_pool_forward`] chose for `y[p][c]` (the first maximum of the
/// window in scan order, or its last NaN), recomputed from `x`; overlapping windows
/// add up, output pixels in order, from `+0.0`.
///
/// # Errors
///
/// As [`max_pool_forward`], with `dy` shaped like `y` and `dx` like `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{max_pool_backward, ConvShape};
/// // Width-2 windows with stride 1 over [1, 3, 3, 0]: the maxima are the first 3, the
/// // first 3 again, and the second 3.
/// let s = ConvShape {
///     batch: 1, h: 1, w: 4, c_in: 1, ho: 1, wo: 3, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut dx = [0.0; 4];
/// max_pool_backward(&s, &[1.0, 3.0, 3.0, 0.0], &[1.0, 10.0, 100.0], &mut dx)?;
/// assert_eq!(dx, [0.0, 11.0, 100.0, 0.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn max_pool_backward(
    s: &ConvShape,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    max_pool_backward_on(Path::DEFAULT, s, x, dy, dx)
}

/// [`max_pool_backward`] on the chosen path.
pub(crate) fn max_pool_backward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    check_pool(s, x.len(), dy.len())?;
    check_max_pool_taps(s)?;
    same_len("pooling dx", s.input_len(), dx.len())?;
    dx.fill(0.0);
    let c = s.c_in;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                for c0 in (0..c).step_by(LANES) {
                    let n = LANES.min(c - c0);
                    let (_, winner) = window_max(path, s, x, b, oh, ow, c0, n);
                    for (l, &t) in winner[..n].iter().enumerate() {
                        let (i, j) = (t as usize / s.kw, t as usize % s.kw);
                        let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                        dx[q * c + c0 + l] += dy[p * c + c0 + l];
                    }
                }
            }
        }
    }
    Ok(())
}

/// `x ← x / d` element by element (one correctly rounded division each).
fn divide(path: Path, x: &mut [f32], d: f32) {
    let dv = f32x8::splat(d);
    map_mut(path, x, |v| v / dv, |v| v / d);
}

/// Average pooling, forward: `y[p][c] = (Σ_{(i, j)} x[q(p, i, j)][c]) / (kh·kw)`, the
/// sum from `+0.0` in scan order, then one division (PyTorch:
/// `nn.AvgPool2d((kh, kw), (sh, sw))`). No padding and `c_out = c_in`. The divisor is
/// `kh·kw` rounded to `f32` (exact up to `2²⁴` taps).
///
/// # Errors
///
/// [`Error::Shape`] if `s` is invalid, padded or has `c_out ≠ c_in`; [`Error::Length`] if
/// a slice has the wrong length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{avg_pool_forward, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 2, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0,
/// };
/// let mut y = [0.0];
/// avg_pool_forward(&s, &[1.0, 2.0, 3.0, 6.0], &mut y)?;
/// assert_eq!(y, [3.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn avg_pool_forward(s: &ConvShape, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    avg_pool_forward_on(Path::DEFAULT, s, x, y)
}

/// [`avg_pool_forward`] on the chosen path.
pub(crate) fn avg_pool_forward_on(
    path: Path,
    s: &ConvShape,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    check_pool(s, x.len(), y.len())?;
    let c = s.c_in;
    let d = (s.kh * s.kw) as f32;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                let y_px = &mut y[p * c..][..c];
                y_px.fill(0.0);
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                        add_on(path, &x[q * c..][..c], y_px)?;
                    }
                }
                divide(path, y_px, d);
            }
        }
    }
    Ok(())
}

/// Average pooling, backward: overwrites `dx` with `∂J/∂x`: `g = dy[p][c] / (kh·kw)`
/// (rounded once) is added to the `dx` element of every tap of the window of `p`,
/// output pixels in order, taps in scan order, from `+0.0`.
///
/// # Errors
///
/// As [`avg_pool_forward`], with `dy` shaped like `y` and `dx` like `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{avg_pool_backward, ConvShape};
/// // Width-2 windows with stride 1 over 3 samples: the middle one is in both.
/// let s = ConvShape {
///     batch: 1, h: 1, w: 3, c_in: 1, ho: 1, wo: 2, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut dx = [0.0; 3];
/// avg_pool_backward(&s, &[2.0, 4.0], &mut dx)?;
/// assert_eq!(dx, [1.0, 3.0, 2.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn avg_pool_backward(s: &ConvShape, dy: &[f32], dx: &mut [f32]) -> Result<(), Error> {
    avg_pool_backward_on(Path::DEFAULT, s, dy, dx)
}

/// [`avg_pool_backward`] on the chosen path.
pub(crate) fn avg_pool_backward_on(
    path: Path,
    s: &ConvShape,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    check_pool(s, dx.len(), dy.len())?;
    dx.fill(0.0);
    let c = s.c_in;
    let d = (s.kh * s.kw) as f32;
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                for c0 in (0..c).step_by(LANES) {
                    let n = LANES.min(c - c0);
                    let mut g = [0.0f32; LANES];
                    g[..n].copy_from_slice(&dy[p * c + c0..][..n]);
                    divide(path, &mut g[..n], d);
                    for i in 0..s.kh {
                        for j in 0..s.kw {
                            let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                            add_on(path, &g[..n], &mut dx[q * c + c0..][..n])?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks the shape and slices of a global average pool.
fn check_global(
    batch: usize,
    positions: usize,
    channels: usize,
    x_len: usize,
    y_len: usize,
) -> Result<(), Error> {
    if positions == 0 {
        return Err(Error::Empty {
            what: "global average pooling positions",
        });
    }
    let x_count = checked_product(&[batch, positions, channels]).ok_or(Error::Shape {
        what: "global average pooling element count (overflows usize)",
        expected: usize::MAX,
        found: usize::MAX,
    })?;
    same_len("global average pooling x", x_count, x_len)?;
    // batch·channels ≤ batch·positions·channels: no overflow.
    same_len("global average pooling y", batch * channels, y_len)
}

/// Global average pooling, forward: `y[b][c] = (Σ_p x[b][p][c]) / positions`, the sum
/// from `+0.0` over the positions `p` in order, then one division (PyTorch:
/// `x.mean(dim=(1, 2))` on channels-last data, `nn.AdaptiveAvgPool2d(1)`). `x` is
/// `batch × positions × channels` (the positions of an image are its `h·w` pixels),
/// `y` is `batch × channels` (overwritten).
///
/// # Errors
///
/// [`Error::Empty`] if `positions` is 0; [`Error::Length`] if a slice has the wrong
/// length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::global_avg_pool_forward;
/// // One sample, 3 positions, 2 channels.
/// let mut y = [0.0; 2];
/// global_avg_pool_forward(1, 3, 2, &[1.0, 0.0, 2.0, 0.0, 6.0, 3.0], &mut y)?;
/// assert_eq!(y, [3.0, 1.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn global_avg_pool_forward(
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    global_avg_pool_forward_on(Path::DEFAULT, batch, positions, channels, x, y)
}

/// [`global_avg_pool_forward`] on the chosen path.
pub(crate) fn global_avg_pool_forward_on(
    path: Path,
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    check_global(batch, positions, channels, x.len(), y.len())?;
    let d = positions as f32;
    for b in 0..batch {
        let y_b = &mut y[b * channels..][..channels];
        y_b.fill(0.0);
        for p in 0..positions {
            add_on(path, &x[(b * positions + p) * channels..][..channels], y_b)?;
        }
        divide(path, y_b, d);
    }
    Ok(())
}

/// Global average pooling, backward: overwrites `dx` (`batch × positions × channels`)
/// with `dx[b][p][c] = dy[b][c] / positions`.
///
/// # Errors
///
/// As [`global_avg_pool_forward`], with `dy` shaped like `y` and `dx` like `x`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::global_avg_pool_backward;
/// let mut dx = [0.0; 4];
/// global_avg_pool_backward(1, 2, 2, &[4.0, -2.0], &mut dx)?;
/// assert_eq!(dx, [2.0, -1.0, 2.0, -1.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn global_avg_pool_backward(
    batch: usize,
    positions: usize,
    channels: usize,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    global_avg_pool_backward_on(Path::DEFAULT, batch, positions, channels, dy, dx)
}

/// [`global_avg_pool_backward`] on the chosen path.
pub(crate) fn global_avg_pool_backward_on(
    path: Path,
    batch: usize,
    positions: usize,
    channels: usize,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    check_global(batch, positions, channels, dx.len(), dy.len())?;
    let d = positions as f32;
    let dv = f32x8::splat(d);
    for b in 0..batch {
        let dy_b = &dy[b * channels..][..channels];
        for p in 0..positions {
            let dx_p = &mut dx[(b * positions + p) * channels..][..channels];
            zip_mut(path, dx_p, dy_b, |_, g| g / dv, |_, g| g / d);
        }
    }
    Ok(())
}
