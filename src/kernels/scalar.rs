//! The scalar paths of the kernels, for tests that check the SIMD paths against them.
//!
//! Each function here has the signature and the canonical evaluation order of the
//! kernel of the same name in [`kernels`](super), computed one element at a time. The
//! two must agree bit for bit; `host-tests` checks that they do.
//!
//! # Examples
//!
//! ```
//! use microtrain::kernels;
//! let x = [0.1f32; 37];
//! assert_eq!(kernels::sum(&x).to_bits(), kernels::scalar::sum(&x).to_bits());
//! ```

use super::{activation, conv, gemm, softmax, vector, Accumulate, Activation, ConvShape, Path};
use super::{MatMut, MatRef};
use crate::Error;

/// Scalar path of [`kernels::matmul`](super::matmul).
///
/// # Errors
///
/// As [`kernels::matmul`](super::matmul).
///
/// # Examples
///
/// ```
/// use microtrain::{kernels, Accumulate, MatMut, MatRef};
/// let mut c = [0.0];
/// kernels::scalar::matmul(MatMut::new(&mut c, 1, 1)?, MatRef::new(&[2.0], 1, 1)?, MatRef::new(&[3.0], 1, 1)?, Accumulate::Overwrite)?;
/// assert_eq!(c, [6.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul(c: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, mode: Accumulate) -> Result<(), Error> {
    gemm::matmul_on(Path::Scalar, c, a, b, mode)
}

/// Scalar path of [`kernels::matmul_bt`](super::matmul_bt).
///
/// # Errors
///
/// As [`kernels::matmul_bt`](super::matmul_bt).
///
/// # Examples
///
/// ```
/// use microtrain::{kernels, Accumulate, MatMut, MatRef};
/// let mut c = [0.0];
/// kernels::scalar::matmul_bt(MatMut::new(&mut c, 1, 1)?, MatRef::new(&[2.0, 1.0], 1, 2)?, MatRef::new(&[3.0, 1.0], 1, 2)?, Accumulate::Overwrite)?;
/// assert_eq!(c, [7.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_bt(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    gemm::matmul_bt_on(Path::Scalar, c, a, b, mode)
}

/// Scalar path of [`kernels::matmul_at`](super::matmul_at).
///
/// # Errors
///
/// As [`kernels::matmul_at`](super::matmul_at).
///
/// # Examples
///
/// ```
/// use microtrain::{kernels, Accumulate, MatMut, MatRef};
/// let mut c = [0.0];
/// kernels::scalar::matmul_at(MatMut::new(&mut c, 1, 1)?, MatRef::new(&[2.0, 1.0], 2, 1)?, MatRef::new(&[3.0, 1.0], 2, 1)?, Accumulate::Overwrite)?;
/// assert_eq!(c, [7.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_at(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    gemm::matmul_at_on(Path::Scalar, c, a, b, mode)
}

/// Scalar path of [`kernels::activate`](super::activate).
///
/// # Errors
///
/// As [`kernels::activate`](super::activate).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, Activation};
/// let mut y = [0.0];
/// scalar::activate(Activation::Relu, &[-3.0], &mut y)?;
/// assert_eq!(y, [0.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn activate(act: Activation, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    activation::activate_on(Path::Scalar, act, x, y)
}

/// Scalar path of [`kernels::activation_backward`](super::activation_backward).
///
/// # Errors
///
/// As [`kernels::activation_backward`](super::activation_backward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, Activation};
/// let mut dx = [0.0];
/// scalar::activation_backward(Activation::Relu, &[3.0], &[3.0], &[2.0], &mut dx)?;
/// assert_eq!(dx, [2.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn activation_backward(
    act: Activation,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    activation::activation_backward_on(Path::Scalar, act, x, y, dy, dx)
}

/// Scalar path of [`kernels::softmax_rows`](super::softmax_rows).
///
/// # Errors
///
/// As [`kernels::softmax_rows`](super::softmax_rows).
///
/// # Examples
///
/// ```
/// use microtrain::{kernels::scalar, MatMut, MatRef};
/// let mut y = [0.0; 2];
/// scalar::softmax_rows(MatRef::new(&[0.0, 0.0], 1, 2)?, MatMut::new(&mut y, 1, 2)?)?;
/// assert_eq!(y, [0.5, 0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn softmax_rows(x: MatRef<'_>, y: MatMut<'_>) -> Result<(), Error> {
    softmax::rows_on(Path::Scalar, x, y, false)
}

/// Scalar path of [`kernels::log_softmax_rows`](super::log_softmax_rows).
///
/// # Errors
///
/// As [`kernels::log_softmax_rows`](super::log_softmax_rows).
///
/// # Examples
///
/// ```
/// use microtrain::{kernels::scalar, MatMut, MatRef};
/// let mut y = [0.0; 1];
/// scalar::log_softmax_rows(MatRef::new(&[5.0], 1, 1)?, MatMut::new(&mut y, 1, 1)?)?;
/// assert_eq!(y, [0.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn log_softmax_rows(x: MatRef<'_>, y: MatMut<'_>) -> Result<(), Error> {
    softmax::rows_on(Path::Scalar, x, y, true)
}

/// Scalar path of [`kernels::softmax_row`](super::softmax_row).
///
/// # Errors
///
/// As [`kernels::softmax_row`](super::softmax_row).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::scalar;
/// let mut p = [0.0; 2];
/// assert_eq!(scalar::softmax_row(&[0.0, 0.0], &mut p)?, (0.0, 2.0));
/// assert_eq!(p, [0.5, 0.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn softmax_row(x: &[f32], y: &mut [f32]) -> Result<(f32, f32), Error> {
    softmax::row_on(Path::Scalar, x, y)
}

/// Scalar path of [`kernels::axpy`](super::axpy).
///
/// # Errors
///
/// As [`kernels::axpy`](super::axpy).
///
/// # Examples
///
/// ```
/// let mut y = [1.0];
/// microtrain::kernels::scalar::axpy(2.0, &[3.0], &mut y)?;
/// assert_eq!(y, [7.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    vector::axpy_on(Path::Scalar, alpha, x, y)
}

/// Scalar path of [`kernels::scale`](super::scale).
///
/// # Examples
///
/// ```
/// let mut x = [3.0];
/// microtrain::kernels::scalar::scale(2.0, &mut x);
/// assert_eq!(x, [6.0]);
/// ```
pub fn scale(alpha: f32, x: &mut [f32]) {
    vector::scale_on(Path::Scalar, alpha, x)
}

/// Scalar path of [`kernels::add_rows`](super::add_rows).
///
/// # Errors
///
/// As [`kernels::add_rows`](super::add_rows).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::MatRef;
/// let mut y = [1.0];
/// microtrain::kernels::scalar::add_rows(MatRef::new(&[3.0, 4.0], 2, 1)?, &mut y)?;
/// assert_eq!(y, [8.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn add_rows(x: MatRef<'_>, y: &mut [f32]) -> Result<(), Error> {
    vector::add_rows_on(Path::Scalar, x, y)
}

/// Scalar path of [`kernels::add`](super::add).
///
/// # Errors
///
/// As [`kernels::add`](super::add).
///
/// # Examples
///
/// ```
/// let mut y = [1.0];
/// microtrain::kernels::scalar::add(&[3.0], &mut y)?;
/// assert_eq!(y, [4.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn add(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    vector::add_on(Path::Scalar, x, y)
}

/// Scalar path of [`kernels::hadamard`](super::hadamard).
///
/// # Errors
///
/// As [`kernels::hadamard`](super::hadamard).
///
/// # Examples
///
/// ```
/// let mut y = [2.0];
/// microtrain::kernels::scalar::hadamard(&[3.0], &mut y)?;
/// assert_eq!(y, [6.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn hadamard(x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    vector::hadamard_on(Path::Scalar, x, y)
}

/// Scalar path of [`kernels::sum`](super::sum).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::scalar::sum(&[1.0, 2.0]), 3.0);
/// ```
pub fn sum(x: &[f32]) -> f32 {
    vector::sum_on(Path::Scalar, x)
}

/// Scalar path of [`kernels::dot`](super::dot).
///
/// # Errors
///
/// As [`kernels::dot`](super::dot).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::scalar::dot(&[1.0, 2.0], &[3.0, 4.0])?, 11.0);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn dot(x: &[f32], y: &[f32]) -> Result<f32, Error> {
    vector::dot_on(Path::Scalar, x, y)
}

/// Scalar path of [`kernels::squared_norm`](super::squared_norm).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::scalar::squared_norm(&[3.0, 4.0]), 25.0);
/// ```
pub fn squared_norm(x: &[f32]) -> f32 {
    vector::squared_norm_on(Path::Scalar, x)
}

/// Scalar path of [`kernels::abs_sum`](super::abs_sum).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::scalar::abs_sum(&[1.0, -2.0]), 3.0);
/// ```
pub fn abs_sum(x: &[f32]) -> f32 {
    vector::abs_sum_on(Path::Scalar, x)
}

/// Scalar path of [`kernels::clamp`](super::clamp).
///
/// # Examples
///
/// ```
/// let mut x = [3.0];
/// microtrain::kernels::scalar::clamp(&mut x, 0.0, 1.0);
/// assert_eq!(x, [1.0]);
/// ```
pub fn clamp(x: &mut [f32], lo: f32, hi: f32) {
    vector::clamp_on(Path::Scalar, x, lo, hi)
}

/// Scalar path of [`kernels::mul_add`](super::mul_add).
///
/// # Errors
///
/// As [`kernels::mul_add`](super::mul_add).
///
/// # Examples
///
/// ```
/// let mut acc = [1.0];
/// microtrain::kernels::scalar::mul_add(&[2.0], &[3.0], &mut acc)?;
/// assert_eq!(acc, [7.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn mul_add(a: &[f32], b: &[f32], acc: &mut [f32]) -> Result<(), Error> {
    vector::mul_add_on(Path::Scalar, a, b, acc)
}

/// Scalar path of [`kernels::conv2d_forward`](super::conv2d_forward).
///
/// # Errors
///
/// As [`kernels::conv2d_forward`](super::conv2d_forward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut y = [0.0];
/// scalar::conv2d_forward(&s, &[3.0, 4.0], &[1.0, 2.0], &[0.5], &mut y, &mut [0.0; 2])?;
/// assert_eq!(y, [11.5]);
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
    conv::conv2d_forward_on(Path::Scalar, s, x, weight, bias, y, scratch)
}

/// Scalar path of [`kernels::conv2d_backward`](super::conv2d_backward).
///
/// # Errors
///
/// As [`kernels::conv2d_backward`](super::conv2d_backward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let (mut gw, mut gb) = ([0.0; 2], [0.0]);
/// scalar::conv2d_backward(&s, &[3.0, 4.0], &[1.0, 2.0], &[2.0], &mut gw, &mut gb, None, &mut [0.0; 2])?;
/// assert_eq!((gw, gb), ([6.0, 8.0], [2.0]));
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
    conv::conv2d_backward_on(
        Path::Scalar,
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

/// Scalar path of [`kernels::depthwise_forward`](super::depthwise_forward).
///
/// # Errors
///
/// As [`kernels::depthwise_forward`](super::depthwise_forward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut y = [0.0];
/// scalar::depthwise_forward(&s, &[3.0, 4.0], &[1.0, 2.0], &[0.5], &mut y)?;
/// assert_eq!(y, [11.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn depthwise_forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    conv::depthwise_forward_on(Path::Scalar, s, x, weight, bias, y)
}

/// Scalar path of [`kernels::depthwise_backward`](super::depthwise_backward).
///
/// # Errors
///
/// As [`kernels::depthwise_backward`](super::depthwise_backward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let (mut gw, mut gb, mut dx) = ([0.0; 2], [0.0], [0.0; 2]);
/// scalar::depthwise_backward(&s, &[3.0, 4.0], &[1.0, 2.0], &[2.0], &mut gw, &mut gb, Some(&mut dx))?;
/// assert_eq!((gw, gb, dx), ([6.0, 8.0], [2.0], [2.0, 4.0]));
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
    conv::depthwise_backward_on(Path::Scalar, s, x, weight, dy, weight_grad, bias_grad, dx)
}

/// Scalar path of [`kernels::max_pool_forward`](super::max_pool_forward).
///
/// # Errors
///
/// As [`kernels::max_pool_forward`](super::max_pool_forward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut y = [0.0];
/// scalar::max_pool_forward(&s, &[3.0, 4.0], &mut y)?;
/// assert_eq!(y, [4.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn max_pool_forward(s: &ConvShape, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    conv::max_pool_forward_on(Path::Scalar, s, x, y)
}

/// Scalar path of [`kernels::max_pool_backward`](super::max_pool_backward).
///
/// # Errors
///
/// As [`kernels::max_pool_backward`](super::max_pool_backward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut dx = [0.0; 2];
/// scalar::max_pool_backward(&s, &[3.0, 4.0], &[5.0], &mut dx)?;
/// assert_eq!(dx, [0.0, 5.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn max_pool_backward(
    s: &ConvShape,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    conv::max_pool_backward_on(Path::Scalar, s, x, dy, dx)
}

/// Scalar path of [`kernels::avg_pool_forward`](super::avg_pool_forward).
///
/// # Errors
///
/// As [`kernels::avg_pool_forward`](super::avg_pool_forward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut y = [0.0];
/// scalar::avg_pool_forward(&s, &[3.0, 4.0], &mut y)?;
/// assert_eq!(y, [3.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn avg_pool_forward(s: &ConvShape, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    conv::avg_pool_forward_on(Path::Scalar, s, x, y)
}

/// Scalar path of [`kernels::avg_pool_backward`](super::avg_pool_backward).
///
/// # Errors
///
/// As [`kernels::avg_pool_backward`](super::avg_pool_backward).
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{scalar, ConvShape};
/// let s = ConvShape {
///     batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0,
/// };
/// let mut dx = [0.0; 2];
/// scalar::avg_pool_backward(&s, &[3.0], &mut dx)?;
/// assert_eq!(dx, [1.5, 1.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn avg_pool_backward(s: &ConvShape, dy: &[f32], dx: &mut [f32]) -> Result<(), Error> {
    conv::avg_pool_backward_on(Path::Scalar, s, dy, dx)
}

/// Scalar path of [`kernels::global_avg_pool_forward`](super::global_avg_pool_forward).
///
/// # Errors
///
/// As [`kernels::global_avg_pool_forward`](super::global_avg_pool_forward).
///
/// # Examples
///
/// ```
/// let mut y = [0.0];
/// microtrain::kernels::scalar::global_avg_pool_forward(1, 2, 1, &[3.0, 4.0], &mut y)?;
/// assert_eq!(y, [3.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn global_avg_pool_forward(
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), Error> {
    conv::global_avg_pool_forward_on(Path::Scalar, batch, positions, channels, x, y)
}

/// Scalar path of [`kernels::global_avg_pool_backward`](super::global_avg_pool_backward).
///
/// # Errors
///
/// As [`kernels::global_avg_pool_backward`](super::global_avg_pool_backward).
///
/// # Examples
///
/// ```
/// let mut dx = [0.0; 2];
/// microtrain::kernels::scalar::global_avg_pool_backward(1, 2, 1, &[3.0], &mut dx)?;
/// assert_eq!(dx, [1.5, 1.5]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn global_avg_pool_backward(
    batch: usize,
    positions: usize,
    channels: usize,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<(), Error> {
    conv::global_avg_pool_backward_on(Path::Scalar, batch, positions, channels, dy, dx)
}
