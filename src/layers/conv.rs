//! Convolutions over channels-last images and signals (PyTorch: `nn.Conv2d`,
//! `nn.Conv2d(groups=C)`, `nn.Conv1d`), built on [`kernels::conv`](crate::kernels::conv).
//!
//! Stable Rust cannot compute an output size in a type, so each layer names its output
//! size (`HO`, `WO`, or `LO`) and a compile-time assertion checks it against PyTorch's
//! formula `⌊(n + 2p − k)/s⌋ + 1`, which [`conv_len`] computes for the type:
//!
//! ```compile_fail,E0080
//! use microtrain::layers::{Conv2d, Layer};
//! use microtrain::Image;
//! fn check<L: Layer<Image<1, 28, 28, 1>>>(_: &L) {
//!     let _ = <L::Output as microtrain::Tensor>::LEN;
//! }
//! // 3×3, stride 1, padding 1 keeps 28×28: 27×27 is wrong.
//! let conv = Conv2d::<1, 8, 3, 1, 1, 27, 27>::zeros();
//! let mut cache = microtrain::Zeroed::ZERO;
//! conv.forward(&Image::zeros(), &mut cache, &mut microtrain::layers::Context::new(microtrain::layers::Mode::Eval, 0));
//! ```

use super::{Context, Input, Layer, Param, ParamKind, Params, Penalty};
use crate::kernels::conv::{self, ConvShape};
use crate::kernels::inplace;
use crate::{Image, Vector};

/// The output length of a convolution or pooling window along one axis:
/// `⌊(n + 2p − k)/s⌋ + 1` (PyTorch's formula). A `const fn`, so a type can spell
/// its output size with it: `Conv2d<1, 8, 3, 2, 1, { conv_len(28, 3, 2, 1) }, …>`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::conv_len;
/// assert_eq!(conv_len(28, 3, 1, 1), 28);
/// assert_eq!(conv_len(28, 3, 2, 1), 14);
/// assert_eq!(conv_len(7, 3, 2, 0), 3);
/// ```
pub const fn conv_len(n: usize, k: usize, s: usize, p: usize) -> usize {
    ConvShape::output_len(n, k, s, p)
}

/// Checks a layer's output size against the input size, at compile time.
macro_rules! assert_len {
    ($out:expr, $n:expr, $k:expr, $s:expr, $p:expr) => {
        const {
            assert!(
                $s > 0 && $n + 2 * $p >= $k && $out == ConvShape::output_len($n, $k, $s, $p),
                "the layer's output size must be (n + 2p − k)/s + 1 of its input size"
            )
        }
    };
}
pub(crate) use assert_len;

/// Reports a kernel error that the types rule out.
pub(crate) fn checked(done: Result<(), crate::Error>) {
    debug_assert!(done.is_ok(), "shapes are checked by the types: {done:?}");
}

/// A convolution with `CI` input and `CO` output channels, a `KH × KW` kernel, strides
/// `SH`, `SW`, zero padding `PH`, `PW`, producing `HO × WO` outputs; the one type behind
/// [`Conv2d`] (square kernels) and [`Conv1d`] (signals, height 1):
///
/// ```text
/// y[b, i, j, o] = bias[o] + Σ_{kh, kw, c} weight[o][kh][kw][c] · x[b, SH·i + kh − PH, SW·j + kw − PW, c]
/// ```
///
/// with `x = 0` outside the image. The weight is `[CO][KH][KW][CI]`: PyTorch's
/// `[CO][CI][KH][KW]` with the input channels innermost, as the channels-last kernels
/// want. Its cache keeps the output and one row of unfolded input (`WO·KH·KW·CI`
/// values), the scratch the kernel multiplies.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Conv, Conv2d};
/// // A 3×3 convolution is a Conv with equal sizes along both axes.
/// let _: Conv<1, 8, 3, 3, 1, 1, 1, 1, 28, 28> = Conv2d::<1, 8, 3, 1, 1, 28, 28>::zeros();
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv<
    const CI: usize,
    const CO: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const HO: usize,
    const WO: usize,
> {
    /// `[CO][KH][KW][CI]`.
    pub weight: [[[[f32; CI]; KW]; KH]; CO],
    /// One bias per output channel.
    pub bias: Vector<CO>,
    /// `∂J/∂weight`.
    pub weight_grad: [[[[f32; CI]; KW]; KH]; CO],
    /// `∂J/∂bias`.
    pub bias_grad: Vector<CO>,
    /// The seed's L1/L2 penalty on the weight (none by default).
    pub penalty: Penalty,
}

/// A 2-D convolution with `CI` input and `CO` output channels, a `K × K` kernel,
/// stride `S` and zero padding `P`, producing `HO × WO` outputs (PyTorch:
/// `nn.Conv2d(CI, CO, K, stride=S, padding=P)`). See [`Conv`] for the formula and the
/// weight layout `[CO][K][K][CI]`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Conv2d, Layer, Mode};
/// use microtrain::{Image, Zeroed};
/// let mut conv = Conv2d::<1, 1, 3, 1, 1, 4, 4>::zeros();
/// conv.weight[0][1][1] = [2.0];                           // the centre tap
/// conv.bias.0 = [0.5];
/// let mut x = Image::<1, 4, 4, 1>::zeros();
/// x.0[0][2][3] = [1.0];
/// let mut cache = Zeroed::ZERO;
/// conv.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// let y = <Conv2d<1, 1, 3, 1, 1, 4, 4> as Layer<Image<1, 4, 4, 1>>>::output(&cache);
/// assert_eq!(y.0[0][2][3], [2.5]);
/// assert_eq!(y.0[0][0][0], [0.5]);
/// ```
pub type Conv2d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const HO: usize,
    const WO: usize,
> = Conv<CI, CO, K, K, S, S, P, P, HO, WO>;

/// A 1-D convolution over channels-last signals with `CI` input and `CO` output
/// channels, kernel `K`, stride `S`, zero padding `P` and `LO` outputs (PyTorch:
/// `nn.Conv1d(CI, CO, K, stride=S, padding=P)`): a [`Conv`] of height 1,
///
/// ```text
/// y[b, t, o] = bias[o] + Σ_{k, c} weight[o][0][k][c] · x[b, S·t + k − P, c]
/// ```
///
/// The weight is `[CO][1][K][CI]` (PyTorch's `[CO][CI][K]`, input channels innermost).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Conv1d, Layer, Mode};
/// use microtrain::{Image, Signal, Zeroed};
/// let mut conv = Conv1d::<1, 1, 2, 1, 0, 3>::zeros();
/// conv.weight[0][0] = [[1.0], [-1.0]];                // a difference filter
/// let x = Image::<1, 1, 4, 1>([[[[1.0], [4.0], [9.0], [16.0]]]]);
/// let mut cache = Zeroed::ZERO;
/// conv.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// let y = <Conv1d<1, 1, 2, 1, 0, 3> as Layer<Signal<1, 4, 1>>>::output(&cache);
/// assert_eq!(y.as_slice(), &[-3.0, -5.0, -7.0]);
/// ```
pub type Conv1d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const LO: usize,
> = Conv<CI, CO, 1, K, 1, S, 0, P, 1, LO>;

impl<
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const HO: usize,
        const WO: usize,
    > Conv<CI, CO, KH, KW, SH, SW, PH, PW, HO, WO>
{
    /// A layer with all parameters and gradients zero, usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Conv1d, Conv2d};
    /// static CONV: Conv2d<1, 8, 3, 1, 1, 28, 28> = Conv2d::zeros();
    /// static SIGNAL: Conv1d<3, 16, 5, 1, 2, 128> = Conv1d::zeros();
    /// ```
    pub const fn zeros() -> Self {
        Conv {
            weight: [[[[0.0; CI]; KW]; KH]; CO],
            bias: Vector::zeros(),
            weight_grad: [[[[0.0; CI]; KW]; KH]; CO],
            bias_grad: Vector::zeros(),
            penalty: Penalty::NONE,
        }
    }

    const fn shape(batch: usize, h: usize, w: usize) -> ConvShape {
        ConvShape {
            batch,
            h,
            w,
            c_in: CI,
            ho: HO,
            wo: WO,
            c_out: CO,
            kh: KH,
            kw: KW,
            sh: SH,
            sw: SW,
            ph: PH,
            pw: PW,
        }
    }
}

/// The cache of a [`Conv`]: the output, and the kernel's scratch of one unfolded output
/// row (`WO` rows of `KH·KW·CI` inputs).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Conv2d, ConvCache, Layer};
/// use microtrain::Image;
/// type Cache = <Conv2d<1, 8, 3, 1, 1, 28, 28> as Layer<Image<32, 28, 28, 1>>>::Cache;
/// assert_eq!(core::mem::size_of::<Cache>(), 4 * (32 * 28 * 28 * 8 + 28 * 3 * 3 * 1));
/// # let _: Option<ConvCache<Image<1, 1, 1, 1>, [f32; 1]>> = None;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ConvCache<Y, S> {
    /// The layer's output.
    pub output: Y,
    /// The unfolded inputs of one output row.
    pub scratch: S,
}

/// [`Conv::zeros`]: every byte zero (see [`Dense`](super::Dense)'s `Zeroed`).
impl<
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const HO: usize,
        const WO: usize,
    > super::Zeroed for Conv<CI, CO, KH, KW, SH, SW, PH, PW, HO, WO>
{
    const ZERO: Self = Conv::zeros();
}

/// [`DepthwiseConv2d::zeros`]: every byte zero.
impl<
        const C: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const HO: usize,
        const WO: usize,
    > super::Zeroed for DepthwiseConv2d<C, K, S, P, HO, WO>
{
    const ZERO: Self = DepthwiseConv2d::zeros();
}

impl<Y: super::Zeroed, S: super::Zeroed> super::Zeroed for ConvCache<Y, S> {
    const ZERO: Self = ConvCache {
        output: Y::ZERO,
        scratch: S::ZERO,
    };
}

impl<
        const B: usize,
        const H: usize,
        const W: usize,
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const HO: usize,
        const WO: usize,
    > Layer<Image<B, H, W, CI>> for Conv<CI, CO, KH, KW, SH, SW, PH, PW, HO, WO>
{
    type Output = Image<B, HO, WO, CO>;
    type Cache = ConvCache<Image<B, HO, WO, CO>, [[[[f32; CI]; KW]; KH]; WO]>;

    fn forward(&self, x: &Image<B, H, W, CI>, cache: &mut Self::Cache, _: &mut Context) {
        assert_len!(HO, H, KH, SH, PH);
        assert_len!(WO, W, KW, SW, PW);
        checked(conv::conv2d_forward(
            &Self::shape(B, H, W),
            x.as_slice(),
            flat4(&self.weight),
            &self.bias.0,
            cache.output.as_mut_slice(),
            flat4_mut(&mut cache.scratch),
        ));
    }

    fn output(cache: &Self::Cache) -> &Self::Output {
        &cache.output
    }

    fn output_mut(cache: &mut Self::Cache) -> &mut Self::Output {
        &mut cache.output
    }

    /// The weight and bias gradients from `x` first ([`conv2d_backward`] without `dx`),
    /// then `dx` over `x` (it needs only `dy` and `W`).
    ///
    /// [`conv2d_backward`]: crate::kernels::conv2d_backward
    fn backward_in_place(&mut self, x: Input<'_, Image<B, H, W, CI>>, cache: &mut Self::Cache) {
        let s = Self::shape(B, H, W);
        checked(conv::conv2d_backward(
            &s,
            x.get().as_slice(),
            flat4(&self.weight),
            cache.output.as_slice(),
            flat4_mut(&mut self.weight_grad),
            &mut self.bias_grad.0,
            None,
            flat4_mut(&mut cache.scratch),
        ));
        if let Some(dx) = x.into_grad() {
            checked(inplace::conv2d_input_grad(
                &s,
                flat4(&self.weight),
                cache.output.as_slice(),
                dx.as_mut_slice(),
                flat4_mut(&mut cache.scratch),
            ));
        }
    }
}

impl<
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const HO: usize,
        const WO: usize,
    > Params for Conv<CI, CO, KH, KW, SH, SW, PH, PW, HO, WO>
{
    const COUNT: usize = CO * KH * KW * CI + CO;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        visit_filters(
            f,
            flat4_mut(&mut self.weight),
            flat4_mut(&mut self.weight_grad),
            &mut self.bias,
            &mut self.bias_grad,
            CI * KH * KW,
            CO * KH * KW,
            self.penalty,
        );
    }
}

/// A depthwise 2-D convolution: one `K × K` filter per channel, channel multiplier 1
/// (PyTorch: `nn.Conv2d(C, C, K, stride=S, padding=P, groups=C)`, the building block of
/// MobileNet-style models on microcontrollers):
///
/// ```text
/// y[b, i, j, c] = bias[c] + Σ_{kh, kw} weight[kh][kw][c] · x[b, S·i + kh − P, S·j + kw − P, c]
/// ```
///
/// The weight is `[K][K][C]` (PyTorch's `[C][1][K][K]` with the channels innermost), so
/// each tap multiplies a pixel's channels as one vector. No scratch.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, DepthwiseConv2d, Layer, Mode};
/// use microtrain::{Image, Zeroed};
/// let mut dw = DepthwiseConv2d::<2, 3, 1, 1, 2, 2>::zeros();
/// dw.weight[1][1] = [1.0, -1.0];                          // centre taps
/// let x = Image::<1, 2, 2, 2>([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]]);
/// let mut cache = Zeroed::ZERO;
/// dw.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// let y = <DepthwiseConv2d<2, 3, 1, 1, 2, 2> as Layer<Image<1, 2, 2, 2>>>::output(&cache);
/// assert_eq!(y.0[0][1][0], [5.0, -6.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthwiseConv2d<
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const HO: usize,
    const WO: usize,
> {
    /// `[K][K][C]`.
    pub weight: [[[f32; C]; K]; K],
    /// One bias per channel.
    pub bias: Vector<C>,
    /// `∂J/∂weight`.
    pub weight_grad: [[[f32; C]; K]; K],
    /// `∂J/∂bias`.
    pub bias_grad: Vector<C>,
    /// The seed's L1/L2 penalty on the weight (none by default).
    pub penalty: Penalty,
}

impl<
        const C: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const HO: usize,
        const WO: usize,
    > DepthwiseConv2d<C, K, S, P, HO, WO>
{
    /// A layer with all parameters and gradients zero, usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::DepthwiseConv2d;
    /// static DW: DepthwiseConv2d<16, 3, 2, 1, 7, 7> = DepthwiseConv2d::zeros();
    /// ```
    pub const fn zeros() -> Self {
        DepthwiseConv2d {
            weight: [[[0.0; C]; K]; K],
            bias: Vector::zeros(),
            weight_grad: [[[0.0; C]; K]; K],
            bias_grad: Vector::zeros(),
            penalty: Penalty::NONE,
        }
    }

    const fn shape(batch: usize, h: usize, w: usize) -> ConvShape {
        ConvShape {
            batch,
            h,
            w,
            c_in: C,
            ho: HO,
            wo: WO,
            c_out: C,
            kh: K,
            kw: K,
            sh: S,
            sw: S,
            ph: P,
            pw: P,
        }
    }
}

impl<
        const B: usize,
        const H: usize,
        const W: usize,
        const C: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const HO: usize,
        const WO: usize,
    > Layer<Image<B, H, W, C>> for DepthwiseConv2d<C, K, S, P, HO, WO>
{
    type Output = Image<B, HO, WO, C>;
    type Cache = Image<B, HO, WO, C>;

    fn forward(&self, x: &Image<B, H, W, C>, y: &mut Self::Cache, _: &mut Context) {
        assert_len!(HO, H, K, S, P);
        assert_len!(WO, W, K, S, P);
        let weight = self.weight.as_flattened().as_flattened();
        checked(conv::depthwise_forward(
            &Self::shape(B, H, W),
            x.as_slice(),
            weight,
            &self.bias.0,
            y.as_mut_slice(),
        ));
    }

    fn output(y: &Self::Cache) -> &Self::Output {
        y
    }

    fn output_mut(y: &mut Self::Cache) -> &mut Self::Output {
        y
    }

    /// The weight and bias gradients from `x` first, then `dx` over `x`.
    fn backward_in_place(&mut self, x: Input<'_, Image<B, H, W, C>>, dy: &mut Self::Cache) {
        let s = Self::shape(B, H, W);
        checked(conv::depthwise_backward(
            &s,
            x.get().as_slice(),
            self.weight.as_flattened().as_flattened(),
            dy.as_slice(),
            self.weight_grad.as_flattened_mut().as_flattened_mut(),
            &mut self.bias_grad.0,
            None,
        ));
        if let Some(dx) = x.into_grad() {
            checked(inplace::depthwise_input_grad(
                &s,
                self.weight.as_flattened().as_flattened(),
                dy.as_slice(),
                dx.as_mut_slice(),
            ));
        }
    }
}

impl<
        const C: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const HO: usize,
        const WO: usize,
    > Params for DepthwiseConv2d<C, K, S, P, HO, WO>
{
    const COUNT: usize = K * K * C + C;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        let weight = self.weight.as_flattened_mut().as_flattened_mut();
        let grad = self.weight_grad.as_flattened_mut().as_flattened_mut();
        visit_filters(
            f,
            weight,
            grad,
            &mut self.bias,
            &mut self.bias_grad,
            K * K,
            C * K * K,
            self.penalty,
        );
    }
}

/// Visits a filter bank's weight (fans as PyTorch computes them for initialisation:
/// input channels or output channels times the receptive field) and its bias.
#[allow(clippy::too_many_arguments)]
fn visit_filters<const N: usize>(
    f: &mut impl FnMut(Param<'_>),
    weight: &mut [f32],
    weight_grad: &mut [f32],
    bias: &mut Vector<N>,
    bias_grad: &mut Vector<N>,
    fan_in: usize,
    fan_out: usize,
    penalty: Penalty,
) {
    f(Param {
        value: weight,
        grad: weight_grad,
        kind: ParamKind::Weight,
        fan_in,
        fan_out,
        penalty,
    });
    f(Param {
        value: &mut bias.0,
        grad: &mut bias_grad.0,
        kind: ParamKind::Bias,
        fan_in,
        fan_out,
        penalty: Penalty::NONE,
    });
}

fn flat4<const A: usize, const B: usize, const C: usize, const D: usize>(
    w: &[[[[f32; D]; C]; B]; A],
) -> &[f32] {
    w.as_flattened().as_flattened().as_flattened()
}

fn flat4_mut<const A: usize, const B: usize, const C: usize, const D: usize>(
    w: &mut [[[[f32; D]; C]; B]; A],
) -> &mut [f32] {
    w.as_flattened_mut().as_flattened_mut().as_flattened_mut()
}
