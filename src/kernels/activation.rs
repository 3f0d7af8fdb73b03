//! Element-wise activation functions and their derivatives.
//!
//! Each output element depends on its own input only, so the SIMD path (ReLU and leaky
//! ReLU, which need no transcendental function) gives the scalar result bit for bit.
//! Sigmoid, tanh and GELU evaluate the math shim once per element on both paths.

use super::vector::{map_mut, same_len, zip_mut};
use super::{math, Path};
use crate::Error;
use wide::f32x8;

/// `√(2/π)`, the GELU tanh-approximation constant.
const GELU_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient of the GELU tanh approximation.
const GELU_CUBIC: f32 = 0.044_715;

/// An element-wise activation function.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::Activation;
/// assert_eq!(Activation::Relu.value(-1.0), 0.0);
/// assert_eq!(Activation::LeakyRelu { slope: 0.1 }.value(-1.0), -0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `ReLU(x) = max(0, x)`; `ReLU'(x) = 0` for `x ≤ 0`, else `1`
    /// (PyTorch: `nn.ReLU`). NaN passes through.
    Relu,
    /// `x` for `x > 0`, else `slope·x`; derivative `1` or `slope`
    /// (PyTorch: `nn.LeakyReLU(negative_slope=slope)`, default slope 0.01).
    LeakyRelu {
        /// The slope for negative inputs.
        slope: f32,
    },
    /// `σ(x) = 1 / (1 + e⁻ˣ)`, evaluated without overflow for either sign;
    /// `σ'(x) = σ(x)(1 − σ(x))` (PyTorch: `nn.Sigmoid`).
    Sigmoid,
    /// `tanh x`; `tanh'(x) = 1 − tanh² x` (PyTorch: `nn.Tanh`).
    Tanh,
    /// GELU, tanh form: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`
    /// (PyTorch: `nn.GELU(approximate='tanh')`).
    Gelu,
}

impl Activation {
    /// `f(x)` for one element.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::Activation;
    /// assert_eq!(Activation::Sigmoid.value(0.0), 0.5);
    /// ```
    #[inline]
    pub fn value(self, x: f32) -> f32 {
        match self {
            Activation::Relu => relu(x),
            Activation::LeakyRelu { slope } => leaky(x, slope),
            Activation::Sigmoid => {
                if x >= 0.0 {
                    1.0 / (1.0 + math::exp(-x))
                } else {
                    let e = math::exp(x);
                    e / (1.0 + e)
                }
            }
            Activation::Tanh => math::tanh(x),
            Activation::Gelu => {
                let t = math::tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
                0.5 * x * (1.0 + t)
            }
        }
    }

    /// `f'(x)` for one element, given the input `x` and the output `y = f(x)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::kernels::Activation;
    /// let y = Activation::Tanh.value(0.0);
    /// assert_eq!(Activation::Tanh.derivative(0.0, y), 1.0);
    /// ```
    #[inline]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Relu => relu_grad(x, 1.0),
            Activation::LeakyRelu { slope } => leaky_grad(x, 1.0, slope),
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Gelu => {
                let x2 = x * x;
                let t = math::tanh(GELU_SCALE * (x + GELU_CUBIC * x2 * x));
                let sech2 = 1.0 - t * t;
                // Once tanh saturates (|x| ≳ 10) the second term is exactly 0; skipping
                // it then also avoids 0·∞ when x² overflows (|x| ≥ 1.8e19).
                if sech2 == 0.0 {
                    return 0.5 * (1.0 + t);
                }
                let dinner = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * x2);
                0.5 * (1.0 + t) + 0.5 * x * sech2 * dinner
            }
        }
    }
}

#[inline(always)]
fn relu(x: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        x
    }
}

#[inline(always)]
pub(super) fn relu_grad(x: f32, dy: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        dy
    }
}

#[inline(always)]
fn leaky(x: f32, slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        slope * x
    }
}

#[inline(always)]
pub(super) fn leaky_grad(x: f32, dy: f32, slope: f32) -> f32 {
    if x > 0.0 {
        dy
    } else {
        dy * slope
    }
}

/// [`relu_grad`] on eight lanes.
pub(super) fn relu_grad_lanes(x: f32x8, dy: f32x8) -> f32x8 {
    x.simd_le(f32x8::ZERO).select(f32x8::ZERO, dy)
}

/// [`leaky_grad`] on eight lanes, `slope` splatted.
pub(super) fn leaky_grad_lanes(x: f32x8, dy: f32x8, slope: f32x8) -> f32x8 {
    x.simd_gt(f32x8::ZERO).select(dy, dy * slope)
}

/// `yᵢ = f(xᵢ)` for every element (PyTorch: the module's forward).
///
/// # Errors
///
/// [`Error::Length`] if `x` and `y` differ in length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{activate, Activation};
/// let mut y = [0.0; 3];
/// activate(Activation::Relu, &[-1.0, 0.5, 2.0], &mut y)?;
/// assert_eq!(y, [0.0, 0.5, 2.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn activate(act: Activation, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    activate_on(Path::DEFAULT, act, x, y)
}

pub(crate) fn activate_on(
    path: Path,
    act: Activation,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    same_len("activation input", y.len(), x.len())?;
    y.copy_from_slice(x);
    activate_in_place(path, act, y);
    Ok(())
}

/// `yᵢ ← f(yᵢ)` for every element: [`activate`] over its own input (a layer whose
/// output replaces its input, such as [`ReluDense`](crate::layers::ReluDense)'s
/// backward pass).
pub(crate) fn activate_in_place(path: Path, act: Activation, y: &mut [f32]) {
    let zero = f32x8::ZERO;
    match act {
        Activation::Relu => map_mut(path, y, |v| v.simd_le(zero).select(zero, v), relu),
        Activation::LeakyRelu { slope } => {
            let s = f32x8::splat(slope);
            map_mut(
                path,
                y,
                |v| v.simd_gt(zero).select(v, v * s),
                |v| leaky(v, slope),
            );
        }
        _ => y.iter_mut().for_each(|v| *v = act.value(*v)),
    }
}

/// `dxᵢ = dyᵢ · f'(xᵢ)` for every element, given the forward input `x` and output `y`
/// (PyTorch: the module's backward).
///
/// # Errors
///
/// [`Error::Length`] if `x`, `y`, `dy` and `dx` differ in length.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{activation_backward, Activation};
/// let mut dx = [0.0; 2];
/// activation_backward(Activation::Relu, &[-1.0, 2.0], &[0.0, 2.0], &[5.0, 5.0], &mut dx)?;
/// assert_eq!(dx, [0.0, 5.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn activation_backward(
    act: Activation,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    activation_backward_on(Path::DEFAULT, act, x, y, dy, dx)
}

pub(crate) fn activation_backward_on(
    path: Path,
    act: Activation,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    same_len("activation forward input", dx.len(), x.len())?;
    same_len("activation forward output", dx.len(), y.len())?;
    same_len("activation output gradient", dx.len(), dy.len())?;
    dx.copy_from_slice(dy);
    match act {
        Activation::Relu => zip_mut(
            path,
            dx,
            x,
            |g, x| relu_grad_lanes(x, g),
            |g, x| relu_grad(x, g),
        ),
        Activation::LeakyRelu { slope } => {
            let s = f32x8::splat(slope);
            zip_mut(
                path,
                dx,
                x,
                |g, x| leaky_grad_lanes(x, g, s),
                |g, x| leaky_grad(x, g, slope),
            )
        }
        _ => {
            for ((g, &xi), &yi) in dx.iter_mut().zip(x).zip(y) {
                *g *= act.derivative(xi, yi);
            }
        }
    }
    Ok(())
}
