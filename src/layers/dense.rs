//! The fully connected layer `y = x·Wᵀ + b` (PyTorch: `nn.Linear(IN, OUT)`).

use super::{Context, Input, Layer, Param, ParamKind, Params, Penalty};
use crate::kernels::{self, Accumulate, MatRef};
use crate::{Batch, Matrix, Vector};

/// A fully connected layer with `IN` inputs and `OUT` outputs.
///
/// For a batch `X: B × IN`, `Y = X·Wᵀ + 1·bᵀ` with `W: OUT × IN` (PyTorch's layout of
/// `nn.Linear.weight`) and `b: OUT`. Backward, given `∂J/∂Y`:
///
/// ```text
/// ∂J/∂W += (∂J/∂Y)ᵀ · X        ∂J/∂b += Σ_rows ∂J/∂Y        ∂J/∂X = ∂J/∂Y · W
/// ```
///
/// The gradients live beside the parameters, so the layer's size is twice its
/// parameter count in `f32`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut d = Dense::<2, 1>::zeros();
/// d.weight = Matrix([[2.0, -1.0]]);
/// d.bias.0 = [0.5];
/// let x: Batch<1, 2> = Matrix([[1.0, 1.0]]);
/// let mut cache = Zeroed::ZERO;
/// d.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(cache.0, [[1.5]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize> {
    /// `W`, one row per output.
    pub weight: Matrix<OUT, IN>,
    /// `b`.
    pub bias: Vector<OUT>,
    /// `∂J/∂W`.
    pub weight_grad: Matrix<OUT, IN>,
    /// `∂J/∂b`.
    pub bias_grad: Vector<OUT>,
    /// The seed's L1/L2 penalty on `W` (none by default).
    pub penalty: Penalty,
}

impl<const IN: usize, const OUT: usize> Dense<IN, OUT> {
    /// A layer with all parameters and gradients zero, usable in a `static`; fill the
    /// weights with an initialiser from [`init`](crate::init) before training.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dense;
    /// static mut LAYER: Dense<784, 32> = Dense::zeros();
    /// ```
    pub const fn zeros() -> Self {
        Dense {
            weight: Matrix::zeros(),
            bias: Vector::zeros(),
            weight_grad: Matrix::zeros(),
            bias_grad: Vector::zeros(),
            penalty: Penalty::NONE,
        }
    }
}

/// [`Dense::zeros`]: every byte zero, so a trainer holding it can be a zero-initialised
/// `static` ([`Trainer::ZERO`](crate::train::Trainer::ZERO)).
impl<const IN: usize, const OUT: usize> super::Zeroed for Dense<IN, OUT> {
    const ZERO: Self = Dense::zeros();
}

/// `Y = X·Wᵀ + 1·bᵀ`: each row starts from the bias, then the product is added in the
/// canonical order. The frozen layers compute the same.
pub(super) fn affine<const B: usize, const IN: usize, const OUT: usize>(
    weight: &Matrix<OUT, IN>,
    bias: &Vector<OUT>,
    x: &Batch<B, IN>,
    y: &mut Batch<B, OUT>,
) {
    for row in y.0.iter_mut() {
        *row = bias.0;
    }
    y.set_product_bt(x, weight, Accumulate::Add);
}

impl<const B: usize, const IN: usize, const OUT: usize> Layer<Batch<B, IN>> for Dense<IN, OUT> {
    type Output = Batch<B, OUT>;
    type Cache = Batch<B, OUT>;

    fn forward(&self, x: &Batch<B, IN>, y: &mut Batch<B, OUT>, _: &mut Context) {
        affine(&self.weight, &self.bias, x, y);
    }

    fn output(y: &Batch<B, OUT>) -> &Batch<B, OUT> {
        y
    }

    fn output_mut(y: &mut Batch<B, OUT>) -> &mut Batch<B, OUT> {
        y
    }

    /// `∂J/∂W += dyᵀ·x` and `∂J/∂b += Σ_rows dy` while `x` is intact, then
    /// `dx = dy·W` over `x`.
    fn backward_in_place(&mut self, mut x: Input<'_, Batch<B, IN>>, dy: &mut Batch<B, OUT>) {
        self.weight_grad
            .set_product_at(dy, x.reborrow().get(), Accumulate::Add);
        add_bias_gradient(dy, &mut self.bias_grad);
        input_gradient(&self.weight, dy, x.into_grad());
    }
}

/// `∂J/∂b += Σ_rows ∂J/∂Y`, row by row: the bias gradient of [`Dense`],
/// [`ReluDense`](super::ReluDense) and [`BiasOnly`](super::BiasOnly).
pub(super) fn add_bias_gradient<const B: usize, const OUT: usize>(
    dy: &Batch<B, OUT>,
    bias_grad: &mut Vector<OUT>,
) {
    let done = MatRef::new(dy.0.as_flattened(), B, OUT)
        .and_then(|dy| kernels::add_rows(dy, &mut bias_grad.0));
    debug_assert!(done.is_ok(), "shapes are checked by the types");
}

/// `∂J/∂X = ∂J/∂Y · W` into `dx` if it is asked for (over the input in place): the
/// input gradient of [`Dense`] and of the frozen layers.
pub(super) fn input_gradient<const B: usize, const IN: usize, const OUT: usize>(
    weight: &Matrix<OUT, IN>,
    dy: &Batch<B, OUT>,
    dx: Option<&mut Batch<B, IN>>,
) {
    if let Some(dx) = dx {
        dx.set_product(dy, weight, Accumulate::Overwrite);
    }
}

impl<const IN: usize, const OUT: usize> Params for Dense<IN, OUT> {
    const COUNT: usize = IN * OUT + OUT;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        f(Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            kind: ParamKind::Weight,
            fan_in: IN,
            fan_out: OUT,
            penalty: self.penalty,
        });
        f(Param {
            value: &mut self.bias.0,
            grad: &mut self.bias_grad.0,
            kind: ParamKind::Bias,
            fan_in: IN,
            fan_out: OUT,
            penalty: Penalty::NONE,
        });
    }
}
