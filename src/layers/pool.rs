//! Pooling and reshaping: max and average pooling over windows of images and signals,
//! global average pooling, and flattening (PyTorch: `nn.MaxPool2d`, `nn.AvgPool2d`,
//! `nn.MaxPool1d`, `nn.AvgPool1d`, `nn.AdaptiveAvgPool2d(1)`, `nn.Flatten`).
//! No parameters; the output sizes are spelled in the type and checked at compile
//! time, as for the convolutions.

use super::conv::{assert_len, checked};
use super::{Context, Input, Layer, Param, Params};
use crate::kernels::conv::{self, ConvShape};
use crate::kernels::inplace;
use crate::{Batch, Image};

/// The pooling window `KH × KW` with strides `SH`, `SW` over `C` channels.
#[allow(clippy::too_many_arguments)]
const fn window(
    b: usize,
    h: usize,
    w: usize,
    c: usize,
    ho: usize,
    wo: usize,
    k: (usize, usize),
    s: (usize, usize),
) -> ConvShape {
    ConvShape {
        batch: b,
        h,
        w,
        c_in: c,
        ho,
        wo,
        c_out: c,
        kh: k.0,
        kw: k.1,
        sh: s.0,
        sw: s.1,
        ph: 0,
        pw: 0,
    }
}

/// Defines a pooling layer type over a window, with its `Layer` and `Params` impls.
macro_rules! pool_layer {
    (
        $(#[$doc:meta])*
        $name:ident<$($g:ident),*>, [$($dims:tt)*], input $h:tt x $w:tt, output $ho:tt x $wo:tt,
        window ($kh:expr, $kw:expr), stride ($sh:expr, $sw:expr),
        forward $fwd:ident, backward |$s:ident, $x:ident, $dy:ident, $dx:ident| $bwd:expr,
        in place |$s2:ident, $x2:ident, $dy2:ident| $ip:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name<$(const $g: usize),*>;

        impl<$(const $g: usize),*> super::Zeroed for $name<$($g),*> {
            const ZERO: Self = $name;
        }

        impl<$($dims)*, $(const $g: usize),*>
            Layer<Image<B, $h, $w, C>> for $name<$($g),*>
        {
            type Output = Image<B, $ho, $wo, C>;
            type Cache = Image<B, $ho, $wo, C>;

            fn forward(&self, x: &Image<B, $h, $w, C>, y: &mut Self::Cache, _: &mut Context) {
                assert_len!($ho, $h, $kh, $sh, 0);
                assert_len!($wo, $w, $kw, $sw, 0);
                let s = window(B, $h, $w, C, $ho, $wo, ($kh, $kw), ($sh, $sw));
                checked(conv::$fwd(&s, x.as_slice(), y.as_mut_slice()));
            }

            fn output(y: &Self::Cache) -> &Self::Output {
                y
            }

            fn output_mut(y: &mut Self::Cache) -> &mut Self::Output {
                y
            }

            fn backward_in_place(&mut self, x: Input<'_, Image<B, $h, $w, C>>, dy: &mut Self::Cache) {
                if let Some(x) = x.into_grad() {
                    let $s2 = window(B, $h, $w, C, $ho, $wo, ($kh, $kw), ($sh, $sw));
                    let ($x2, $dy2) = (x.as_mut_slice(), dy.as_slice());
                    checked($ip);
                }
            }

            /// The two-buffer kernel.
            fn backward(&mut self, x: &Image<B, $h, $w, C>, _: &mut Self::Cache, dy: &Self::Output, dx: Option<&mut Image<B, $h, $w, C>>) {
                if let Some(dx) = dx {
                    let $s = window(B, $h, $w, C, $ho, $wo, ($kh, $kw), ($sh, $sw));
                    let ($x, $dy, $dx) = (x.as_slice(), dy.as_slice(), dx.as_mut_slice());
                    checked($bwd);
                }
            }
        }

        impl<$(const $g: usize),*> Params for $name<$($g),*> {
            const COUNT: usize = 0;
            fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
        }
    };
}

pool_layer! {
    /// Max pooling over `K × K` windows with stride `S`, `HO × WO` outputs (PyTorch:
    /// `nn.MaxPool2d(K, stride=S)`): `y = max` of the window; backward sends `∂J/∂y`
    /// to the window's first maximum in scan order, as PyTorch does. The positions are
    /// found again from the input in backward, so no indices are kept.
    ///
    /// The in-place backward pass ([`Layer::backward_in_place`]) finds each window's
    /// winner in `x` before it writes that window's gradient over it. Overlapping
    /// windows (`S < K`, as PyTorch's `MaxPool2d(3, stride=2)`) read inputs that an
    /// earlier window's gradient would overwrite: their gradients gather on the stack
    /// in `K` input rows (`4·K·W·C` bytes) until no later window reads those rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Context, Layer, MaxPool2d, Mode};
    /// use microtrain::{Image, Zeroed};
    /// let x = Image::<1, 2, 2, 1>([[[[1.0], [4.0]], [[3.0], [2.0]]]]);
    /// let mut y = Zeroed::ZERO;
    /// MaxPool2d::<2, 2, 1, 1>.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
    /// assert_eq!(y, Image([[[[4.0]]]]));
    /// ```
    MaxPool2d<K, S, HO, WO>, [const B: usize, const H: usize, const W: usize, const C: usize], input H x W, output HO x WO, window (K, K), stride (S, S),
    forward max_pool_forward, backward |s, x, dy, dx| conv::max_pool_backward(&s, x, dy, dx),
    in place |s, x, dy| if S >= K {
        inplace::max_pool_backward_in_place(&s, x, dy, &mut [])
    } else {
        let mut ring = [[[0.0f32; C]; W]; K];
        inplace::max_pool_backward_in_place(&s, x, dy, ring.as_flattened_mut().as_flattened_mut())
    }
}

pool_layer! {
    /// Average pooling over `K × K` windows with stride `S`, `HO × WO` outputs
    /// (PyTorch: `nn.AvgPool2d(K, stride=S)`): `y = (Σ window)/K²`; backward spreads
    /// `∂J/∂y / K²` over the window.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{AvgPool2d, Context, Layer, Mode};
    /// use microtrain::{Image, Zeroed};
    /// let x = Image::<1, 2, 2, 1>([[[[1.0], [4.0]], [[3.0], [2.0]]]]);
    /// let mut y = Zeroed::ZERO;
    /// AvgPool2d::<2, 2, 1, 1>.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
    /// assert_eq!(y, Image([[[[2.5]]]]));
    /// ```
    AvgPool2d<K, S, HO, WO>, [const B: usize, const H: usize, const W: usize, const C: usize], input H x W, output HO x WO, window (K, K), stride (S, S),
    forward avg_pool_forward, backward |s, _x, dy, dx| conv::avg_pool_backward(&s, dy, dx),
    in place |s, x, dy| conv::avg_pool_backward(&s, dy, x)
}

pool_layer! {
    /// Max pooling of signals over windows of `K` steps with stride `S`, `LO` outputs
    /// (PyTorch: `nn.MaxPool1d(K, stride=S)`). See [`MaxPool2d`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Context, Layer, MaxPool1d, Mode};
    /// use microtrain::{Image, Signal, Zeroed};
    /// let x = Image::<1, 1, 4, 1>([[[[1.0], [4.0], [3.0], [2.0]]]]);
    /// let mut y = Zeroed::ZERO;
    /// MaxPool1d::<2, 2, 2>.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
    /// assert_eq!(y, Image::<1, 1, 2, 1>([[[[4.0], [3.0]]]]));
    /// ```
    MaxPool1d<K, S, LO>, [const B: usize, const W: usize, const C: usize], input 1 x W, output 1 x LO, window (1, K), stride (1, S),
    forward max_pool_forward, backward |s, x, dy, dx| conv::max_pool_backward(&s, x, dy, dx),
    in place |s, x, dy| if S >= K {
        inplace::max_pool_backward_in_place(&s, x, dy, &mut [])
    } else {
        let mut ring = [[0.0f32; C]; W];
        inplace::max_pool_backward_in_place(&s, x, dy, ring.as_flattened_mut())
    }
}

pool_layer! {
    /// Average pooling of signals over windows of `K` steps with stride `S`, `LO`
    /// outputs (PyTorch: `nn.AvgPool1d(K, stride=S)`). See [`AvgPool2d`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{AvgPool1d, Context, Layer, Mode};
    /// use microtrain::{Image, Signal, Zeroed};
    /// let x = Image::<1, 1, 4, 1>([[[[1.0], [4.0], [3.0], [2.0]]]]);
    /// let mut y = Zeroed::ZERO;
    /// AvgPool1d::<2, 2, 2>.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
    /// assert_eq!(y, Image::<1, 1, 2, 1>([[[[2.5], [2.5]]]]));
    /// ```
    AvgPool1d<K, S, LO>, [const B: usize, const W: usize, const C: usize], input 1 x W, output 1 x LO, window (1, K), stride (1, S),
    forward avg_pool_forward, backward |s, _x, dy, dx| conv::avg_pool_backward(&s, dy, dx),
    in place |s, x, dy| conv::avg_pool_backward(&s, dy, x)
}

/// Global average pooling: each channel of each sample averaged over all its pixels,
/// `Image<B, H, W, C>` → `Batch<B, C>` (PyTorch: `nn.AdaptiveAvgPool2d(1)` then
/// `flatten(1)`), the usual bridge from convolutions to a classifier on a
/// microcontroller: it has no parameters and keeps only `B·C` values.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, GlobalAvgPool, Layer, Mode};
/// use microtrain::{Batch, Image, Matrix, Zeroed};
/// let x = Image::<1, 2, 1, 2>([[[[1.0, 10.0]], [[3.0, 30.0]]]]);
/// let mut y: Batch<1, 2> = Zeroed::ZERO;
/// GlobalAvgPool.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[2.0, 20.0]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GlobalAvgPool;

impl super::Zeroed for GlobalAvgPool {
    const ZERO: Self = GlobalAvgPool;
}

impl<const B: usize, const H: usize, const W: usize, const C: usize> Layer<Image<B, H, W, C>>
    for GlobalAvgPool
{
    type Output = Batch<B, C>;
    type Cache = Batch<B, C>;

    fn forward(&self, x: &Image<B, H, W, C>, y: &mut Batch<B, C>, _: &mut Context) {
        checked(conv::global_avg_pool_forward(
            B,
            H * W,
            C,
            x.as_slice(),
            y.as_mut_slice(),
        ));
    }

    fn output(y: &Batch<B, C>) -> &Batch<B, C> {
        y
    }

    fn output_mut(y: &mut Batch<B, C>) -> &mut Batch<B, C> {
        y
    }

    fn backward_in_place(&mut self, x: Input<'_, Image<B, H, W, C>>, dy: &mut Batch<B, C>) {
        if let Some(dx) = x.into_grad() {
            checked(conv::global_avg_pool_backward(
                B,
                H * W,
                C,
                dy.as_slice(),
                dx.as_mut_slice(),
            ));
        }
    }
}

impl Params for GlobalAvgPool {
    const COUNT: usize = 0;
    fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
}

/// Flattens each sample of an image batch into one feature row, `Image<B, H, W, C>` →
/// `Batch<B, N>` with `N = H·W·C` (checked at compile time), in channels-last order
/// (row, column, channel; PyTorch's `nn.Flatten` on an `NCHW` tensor orders
/// channel, row, column). It keeps a copy of its output.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Flatten, Layer, Mode};
/// use microtrain::{Batch, Image, Matrix, Zeroed};
/// let x = Image::<1, 1, 2, 2>([[[[1.0, 2.0], [3.0, 4.0]]]]);
/// let mut y: Batch<1, 4> = Zeroed::ZERO;
/// Flatten::<4>.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[1.0, 2.0, 3.0, 4.0]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flatten<const N: usize>;

impl<const N: usize> super::Zeroed for Flatten<N> {
    const ZERO: Self = Flatten;
}

impl<const B: usize, const H: usize, const W: usize, const C: usize, const N: usize>
    Layer<Image<B, H, W, C>> for Flatten<N>
{
    type Output = Batch<B, N>;
    type Cache = Batch<B, N>;

    fn forward(&self, x: &Image<B, H, W, C>, y: &mut Batch<B, N>, _: &mut Context) {
        const {
            assert!(
                N == H * W * C,
                "Flatten<N>: N must equal H·W·C of its input"
            )
        };
        y.as_mut_slice().copy_from_slice(x.as_slice());
    }

    fn output(y: &Batch<B, N>) -> &Batch<B, N> {
        y
    }

    fn output_mut(y: &mut Batch<B, N>) -> &mut Batch<B, N> {
        y
    }

    fn backward_in_place(&mut self, x: Input<'_, Image<B, H, W, C>>, dy: &mut Batch<B, N>) {
        if let Some(dx) = x.into_grad() {
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
        }
    }
}

impl<const N: usize> Params for Flatten<N> {
    const COUNT: usize = 0;
    fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
}
