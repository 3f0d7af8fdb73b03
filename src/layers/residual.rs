//! Residual (skip) connections (He et al. 2016): `y = x + F(x)`, and `y = P(x) + F(x)`
//! with a projection `P` where `F` changes the shape.

use super::{Buffer, Context, Input, Layer, Param, Params, Tensor, Zeroed};
use crate::kernels;

/// `y = x + F(x)`: the inner layers fit the residual `F(x) = y − x` instead of `y`.
/// Backward: `∂J/∂x = ∂J/∂y + (∂F/∂x)ᵀ ∂J/∂y`. `F` must map its input type to itself.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, Residual, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut inner = Dense::<2, 2>::zeros();
/// inner.bias.0 = [1.0, 2.0];
/// let res = Residual(inner);
/// let x: Batch<1, 2> = Matrix([[10.0, 20.0]]);
/// let mut cache = Zeroed::ZERO;
/// res.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(<Residual<Dense<2, 2>> as Layer<Batch<1, 2>>>::output(&cache).0, [[11.0, 22.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Residual<F>(pub F);

/// The body's zero value: all zero bytes when the body's are.
impl<F: Zeroed> Zeroed for Residual<F> {
    const ZERO: Self = Residual(F::ZERO);
}

impl<X: Tensor + Copy, F: Layer<X, Output = X>> Layer<X> for Residual<F> {
    type Output = X;
    /// The inner cache, then the output `x + F(x)`.
    type Cache = (F::Cache, X);

    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context) {
        self.0.forward(x, &mut cache.0, ctx);
        cache.1 = *F::output(&cache.0);
        add_into(x, &mut cache.1);
    }

    fn output(cache: &Self::Cache) -> &X {
        &cache.1
    }

    fn output_mut(cache: &mut Self::Cache) -> &mut X {
        &mut cache.1
    }

    /// `dy` goes to the body's output slot too; the body writes its `dx` over `x`, and
    /// `dy` is added to it: `dx = dy + (∂F/∂x)ᵀ dy`.
    fn backward_in_place(&mut self, x: Input<'_, X>, cache: &mut Self::Cache) {
        *F::output_mut(&mut cache.0) = cache.1;
        match x {
            Input::Overwrite(dx) => {
                self.0
                    .backward_in_place(Input::Overwrite(&mut *dx), &mut cache.0);
                add_into(&cache.1, dx);
            }
            keep => self.0.backward_in_place(keep, &mut cache.0),
        }
    }

    fn commit(&mut self, cache: &Self::Cache) {
        self.0.commit(&cache.0);
    }
}

impl<F: Params> Params for Residual<F> {
    const COUNT: usize = F::COUNT;
    const BUFFERS: usize = F::BUFFERS;
    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        self.0.visit(f);
    }
    fn visit_buffers(&mut self, f: &mut impl FnMut(Buffer<'_>)) {
        self.0.visit_buffers(f);
    }
    fn check_settings(&self) -> Result<(), crate::Error> {
        self.0.check_settings()
    }
}

/// `y = P(x) + F(x)`: a residual connection whose body `F` changes the shape (more
/// channels, a stride), with a projection `P` on the skip path, typically a 1×1
/// convolution with the same stride followed by batch normalisation (PyTorch
/// torchvision's `BasicBlock.downsample`). Backward:
/// `∂J/∂x = (∂P/∂x)ᵀ ∂J/∂y + (∂F/∂x)ᵀ ∂J/∂y`.
///
/// Parameters are visited body first, then projection.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, ProjectedResidual, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut body = Dense::<2, 3>::zeros();
/// body.bias.0 = [1.0, 2.0, 3.0];
/// let mut projection = Dense::<2, 3>::zeros();
/// projection.weight = Matrix([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
/// let block = ProjectedResidual { body, projection };
/// let x: Batch<1, 2> = Matrix([[10.0, 20.0]]);
/// let mut cache = Zeroed::ZERO;
/// block.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// type Block = ProjectedResidual<Dense<2, 3>, Dense<2, 3>>;
/// assert_eq!(<Block as Layer<Batch<1, 2>>>::output(&cache).0, [[11.0, 22.0, 33.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProjectedResidual<F, P> {
    /// The residual body `F`.
    pub body: F,
    /// The projection `P` on the skip path.
    pub projection: P,
}

/// The body's and the projection's zero values.
impl<F: Zeroed, P: Zeroed> Zeroed for ProjectedResidual<F, P> {
    const ZERO: Self = ProjectedResidual {
        body: F::ZERO,
        projection: P::ZERO,
    };
}

/// The cache of a [`ProjectedResidual`]: the body's and the projection's caches, the
/// output, and a buffer for the projection's input gradient. `x` has two consumers, the
/// body and the projection, and each overwrites its input with its own gradient: the
/// projection runs on a copy of `x` in `grad`, the one `X`-sized buffer the block
/// needs beyond its activations.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Layer, ProjectedResidualCache, ProjectedResidual};
/// use microtrain::Batch;
/// type Block = ProjectedResidual<Dense<2, 3>, Dense<2, 3>>;
/// type Cache = <Block as Layer<Batch<4, 2>>>::Cache;
/// // Two 4×3 outputs of the Dense layers, the 4×3 sum, and a 4×2 input gradient.
/// assert_eq!(core::mem::size_of::<Cache>(), 4 * (3 * 12 + 8));
/// # let _: Option<ProjectedResidualCache<Batch<4, 3>, Batch<4, 3>, Batch<4, 3>, Batch<4, 2>>> = None;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ProjectedResidualCache<CF, CP, Y, X> {
    /// The body's cache.
    pub body: CF,
    /// The projection's cache.
    pub projection: CP,
    /// `P(x) + F(x)`.
    pub output: Y,
    /// `∂J/∂x` through the projection, before it is added to the body's.
    pub grad: X,
}

impl<CF: Zeroed, CP: Zeroed, Y: Zeroed, X: Zeroed> Zeroed for ProjectedResidualCache<CF, CP, Y, X> {
    const ZERO: Self = ProjectedResidualCache {
        body: CF::ZERO,
        projection: CP::ZERO,
        output: Y::ZERO,
        grad: X::ZERO,
    };
}

impl<X, Y, F, P> Layer<X> for ProjectedResidual<F, P>
where
    X: Tensor,
    Y: Tensor + Copy,
    F: Layer<X, Output = Y>,
    P: Layer<X, Output = Y>,
{
    type Output = Y;
    type Cache = ProjectedResidualCache<F::Cache, P::Cache, Y, X>;

    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context) {
        self.body.forward(x, &mut cache.body, ctx);
        self.projection.forward(x, &mut cache.projection, ctx);
        cache.output = *P::output(&cache.projection);
        add_into(F::output(&cache.body), &mut cache.output);
    }

    fn output(cache: &Self::Cache) -> &Y {
        &cache.output
    }

    fn output_mut(cache: &mut Self::Cache) -> &mut Y {
        &mut cache.output
    }

    /// `dy` goes to both output slots. With `x` to overwrite, the projection works on a
    /// copy of `x` in `grad` and the body on `x` itself; then
    /// `dx = (∂F/∂x)ᵀ dy + (∂P/∂x)ᵀ dy`.
    fn backward_in_place(&mut self, x: Input<'_, X>, cache: &mut Self::Cache) {
        *F::output_mut(&mut cache.body) = cache.output;
        *P::output_mut(&mut cache.projection) = cache.output;
        match x {
            Input::Overwrite(dx) => {
                let grad = &mut cache.grad;
                grad.as_mut_slice().copy_from_slice(dx.as_slice());
                self.projection
                    .backward_in_place(Input::Overwrite(&mut *grad), &mut cache.projection);
                self.body
                    .backward_in_place(Input::Overwrite(&mut *dx), &mut cache.body);
                add_into(grad, dx);
            }
            Input::Keep(x) => {
                self.body.backward_in_place(Input::Keep(x), &mut cache.body);
                self.projection
                    .backward_in_place(Input::Keep(x), &mut cache.projection);
            }
        }
    }

    fn commit(&mut self, cache: &Self::Cache) {
        self.body.commit(&cache.body);
        self.projection.commit(&cache.projection);
    }
}

impl<F: Params, P: Params> Params for ProjectedResidual<F, P> {
    const COUNT: usize = F::COUNT + P::COUNT;
    const BUFFERS: usize = F::BUFFERS + P::BUFFERS;
    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        self.body.visit(f);
        self.projection.visit(f);
    }
    fn visit_buffers(&mut self, f: &mut impl FnMut(Buffer<'_>)) {
        self.body.visit_buffers(f);
        self.projection.visit_buffers(f);
    }
    fn check_settings(&self) -> Result<(), crate::Error> {
        self.body.check_settings()?;
        self.projection.check_settings()
    }
}

/// `y ← y + x` for two tensors of one type.
fn add_into<T: Tensor>(x: &T, y: &mut T) {
    let done = kernels::add(x.as_slice(), y.as_mut_slice());
    debug_assert!(done.is_ok(), "shapes are checked by the types");
}

/// The ResNet basic block that keeps the shape (He et al. 2016; torchvision's
/// `BasicBlock(C, C)`): `relu(x + bn₂(conv₂(relu(bn₁(conv₁(x))))))` with 3×3
/// convolutions, stride 1, padding 1, on `H × W` images of `C` channels. Build one with
/// [`basic_block`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{basic_block, BasicBlock, Params};
/// let block: BasicBlock<4, 8, 8> = basic_block();
/// assert_eq!(BasicBlock::<4, 8, 8>::COUNT, 2 * (4 * 9 * 4 + 4) + 2 * 2 * 4);
/// ```
pub type BasicBlock<const C: usize, const H: usize, const W: usize> = crate::Seq![
    Residual<
        crate::Seq![
            super::Conv2d<C, C, 3, 1, 1, H, W>,
            super::BatchNorm<C>,
            super::Relu,
            super::Conv2d<C, C, 3, 1, 1, H, W>,
            super::BatchNorm<C>
        ],
    >,
    super::Relu
];

/// A [`BasicBlock`] with zero convolutions and fresh batch norms, usable in a `static`
/// (initialise the convolutions with [`init`](crate::init) before training).
///
/// # Examples
///
/// See [`BasicBlock`].
pub const fn basic_block<const C: usize, const H: usize, const W: usize>() -> BasicBlock<C, H, W> {
    use super::{BatchNorm, Conv2d, Relu};
    (
        Residual((
            Conv2d::zeros(),
            (
                BatchNorm::new(),
                (Relu, (Conv2d::zeros(), BatchNorm::new())),
            ),
        )),
        Relu,
    )
}

/// The ResNet basic block that changes the shape: stride 2 and `CI → CO` channels in
/// its first 3×3 convolution, and a 1×1 convolution with stride 2 and batch norm on
/// the skip path (torchvision's `BasicBlock(CI, CO, stride=2, downsample=…)`), from
/// `2·HO × 2·WO` (or one less) to `HO × WO`. Build one with [`down_block`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{down_block, DownBlock, Layer, Params};
/// use microtrain::Image;
/// let block: DownBlock<3, 6, 3, 3> = down_block();
/// type Out = <DownBlock<3, 6, 3, 3> as Layer<Image<2, 6, 6, 3>>>::Output;
/// let _: Out = Image::<2, 3, 3, 6>::zeros();
/// ```
pub type DownBlock<const CI: usize, const CO: usize, const HO: usize, const WO: usize> = crate::Seq![
    ProjectedResidual<
        crate::Seq![
            super::Conv2d<CI, CO, 3, 2, 1, HO, WO>,
            super::BatchNorm<CO>,
            super::Relu,
            super::Conv2d<CO, CO, 3, 1, 1, HO, WO>,
            super::BatchNorm<CO>
        ],
        crate::Seq![super::Conv2d<CI, CO, 1, 2, 0, HO, WO>, super::BatchNorm<CO>],
    >,
    super::Relu
];

/// A [`DownBlock`] with zero convolutions and fresh batch norms.
///
/// # Examples
///
/// See [`DownBlock`].
pub const fn down_block<const CI: usize, const CO: usize, const HO: usize, const WO: usize>(
) -> DownBlock<CI, CO, HO, WO> {
    use super::{BatchNorm, Conv2d, Relu};
    (
        ProjectedResidual {
            body: (
                Conv2d::zeros(),
                (
                    BatchNorm::new(),
                    (Relu, (Conv2d::zeros(), BatchNorm::new())),
                ),
            ),
            projection: (Conv2d::zeros(), BatchNorm::new()),
        },
        Relu,
    )
}
