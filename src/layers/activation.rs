//! Activation layers: element-wise functions of [`kernels::Activation`] as layers.
//!
//! Each keeps its output, the slot where the backward pass receives `dy`; its input is
//! kept by the layer before it. Backward writes `dx = dy·f'(x)` over the input: ReLU
//! and leaky ReLU take their mask from `x` (`x > 0 ⇔ y > 0`), the others recompute
//! `y = f(x)` with the forward kernel's formula (the same bits) where `f'` needs it.
//! So `(Dense, (Relu, Dense))` keeps both the pre-activation and the ReLU output;
//! [`ReluDense`](super::ReluDense) keeps only the first.

use super::{Context, Input, Layer, Param, Params, Tensor};
use crate::kernels::{self, inplace, Activation};

macro_rules! activation_layer {
    ($name:ident => $act:expr) => {
        impl<X: Tensor + Copy> Layer<X> for $name {
            type Output = X;
            type Cache = X;

            fn forward(&self, x: &X, y: &mut X, _: &mut Context) {
                let act = $act(self);
                let done = kernels::activate(act, x.as_slice(), y.as_mut_slice());
                debug_assert!(done.is_ok(), "shapes are checked by the types");
            }

            fn output(y: &X) -> &X {
                y
            }

            fn output_mut(y: &mut X) -> &mut X {
                y
            }

            fn backward_in_place(&mut self, x: Input<'_, X>, dy: &mut X) {
                if let Some(x) = x.into_grad() {
                    let act = $act(self);
                    let done =
                        inplace::activation_backward_in_place(act, x.as_mut_slice(), dy.as_slice());
                    debug_assert!(done.is_ok(), "shapes are checked by the types");
                }
            }
        }

        impl Params for $name {
            const COUNT: usize = 0;
            fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
        }
    };
}

/// ReLU layer, `max(0, x)` (PyTorch: `nn.ReLU`). See [`Activation::Relu`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Layer, Mode, Relu, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 2> = Matrix([[-1.0, 2.0]]);
/// let mut y = Zeroed::ZERO;
/// Relu.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[0.0, 2.0]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;
activation_layer!(Relu => |_: &Relu| Activation::Relu);

/// Leaky ReLU layer (PyTorch: `nn.LeakyReLU(negative_slope)`; its default slope is
/// 0.01, as is [`LeakyRelu::default`]). See [`Activation::LeakyRelu`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Layer, LeakyRelu, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 2> = Matrix([[-1.0, 2.0]]);
/// let mut y = Zeroed::ZERO;
/// LeakyRelu { slope: 0.5 }.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[-0.5, 2.0]]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub slope: f32,
}
impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}
activation_layer!(LeakyRelu => |l: &LeakyRelu| Activation::LeakyRelu { slope: l.slope });

/// Logistic sigmoid layer (PyTorch: `nn.Sigmoid`). See [`Activation::Sigmoid`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Layer, Mode, Sigmoid, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 1> = Matrix([[0.0]]);
/// let mut y = Zeroed::ZERO;
/// Sigmoid.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[0.5]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;
activation_layer!(Sigmoid => |_: &Sigmoid| Activation::Sigmoid);

/// Hyperbolic tangent layer (PyTorch: `nn.Tanh`). See [`Activation::Tanh`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Layer, Mode, Tanh, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 1> = Matrix([[0.0]]);
/// let mut y = Zeroed::ZERO;
/// Tanh.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[0.0]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;
activation_layer!(Tanh => |_: &Tanh| Activation::Tanh);

/// GELU layer, tanh form (PyTorch: `nn.GELU(approximate='tanh')`). See
/// [`Activation::Gelu`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Gelu, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 1> = Matrix([[0.0]]);
/// let mut y = Zeroed::ZERO;
/// Gelu.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y, Matrix([[0.0]]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;
activation_layer!(Gelu => |_: &Gelu| Activation::Gelu);

/// The parameterless activations are zero-sized: trivially all zero bytes.
macro_rules! zeroed_unit {
    ($($name:ident),*) => {
        $(impl super::Zeroed for $name {
            const ZERO: Self = $name;
        })*
    };
}
zeroed_unit!(Relu, Sigmoid, Tanh, Gelu);
