//! The SIMD core: the only module that uses `wide`, and, through [`math`], `libm`.
//!
//! Every layer, loss and optimizer is built from these kernels:
//!
//! - matrix products [`matmul`] (`A·B`), [`matmul_bt`] (`A·Bᵀ`), [`matmul_at`] (`Aᵀ·B`),
//!   each overwriting or accumulating into `C` ([`Accumulate`]);
//! - element-wise activations and their derivatives ([`activate`],
//!   [`activation_backward`]) and row-wise [`softmax_rows`] / [`log_softmax_rows`]
//!   ([`softmax_row`] gives both at the cost of one);
//! - vector operations [`axpy`], [`scale`], [`add`], [`hadamard`], [`mul_add`], [`sum`],
//!   [`dot`], [`squared_norm`], [`abs_sum`], [`clamp`], [`max`], [`argmax`];
//! - convolution and pooling over channels-last batches ([`conv`]): [`conv2d_forward`] /
//!   [`conv2d_backward`], [`depthwise_forward`] / [`depthwise_backward`], max, average
//!   and global average pooling, all shaped by a [`ConvShape`];
//! - optimizer update loops ([`optim`]);
//! - the math shim [`math`].
//!
//! On x86-64 the products and the optimizer loops choose their vector width at run
//! time ([`dispatch`]): a build without target flags runs them on AVX2 or AVX-512 when
//! the CPU has it, with the same bits.
//!
//! # One canonical evaluation order
//!
//! Each kernel documents the order in which it adds numbers up, and its SIMD path gives
//! results bit-identical to its scalar path (the [`scalar`] module) for every input.
//! No fused multiply-add is used: each product is rounded before it is added. Together
//! with the math shim this makes training bit-identical across targets.
//!
//! The `scalar` cargo feature routes every kernel to its scalar path; so does a target
//! without vector registers for `wide` (Cortex-M, RISC-V), where the scalar code is
//! smaller and no slower.

pub mod activation;
pub mod conv;
pub mod dispatch;
pub mod gemm;
mod gemm_scalar;
pub(crate) mod inplace;
mod lanes;
pub mod math;
pub mod norm;
pub mod optim;
pub mod scalar;
pub mod softmax;
pub mod vector;
mod view;

pub use activation::{activate, activation_backward, Activation};
pub use conv::{
    avg_pool_backward, avg_pool_forward, conv2d_backward, conv2d_forward, depthwise_backward,
    depthwise_forward, global_avg_pool_backward, global_avg_pool_forward, max_pool_backward,
    max_pool_forward, ConvShape,
};
pub use gemm::{matmul, matmul_at, matmul_bt};
pub use softmax::{log_softmax_rows, softmax_row, softmax_rows};
pub use vector::{
    abs_sum, add, add_rows, argmax, axpy, clamp, dot, exp_slice, first_non_finite, hadamard, max,
    mul_add, scale, squared_norm, sum,
};
pub use view::{MatMut, MatRef};

/// Whether a product overwrites its output or adds to it.
///
/// # Examples
///
/// ```
/// use microtrain::{Accumulate, Matrix};
/// let mut c = Matrix([[1.0]]);
/// c.set_product(&Matrix([[2.0]]), &Matrix([[3.0]]), Accumulate::Add);
/// assert_eq!(c.0, [[7.0]]);
/// c.set_product(&Matrix([[2.0]]), &Matrix([[3.0]]), Accumulate::Overwrite);
/// assert_eq!(c.0, [[6.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulate {
    /// `C = …`
    Overwrite,
    /// `C += …`
    Add,
}

/// Whether the SIMD matrix products fuse each multiply-add (the `fma` feature): then
/// they are faster where the vectors have fused multiply-add, and their results are no
/// longer bit-identical to the scalar path or across targets. `false` in the default
/// build, whose every kernel keeps the canonical order. A test suite that checks bits
/// can ask it, whichever crate turned the feature on.
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::kernels::FUSED_PRODUCTS, cfg!(feature = "fma"));
/// ```
pub const FUSED_PRODUCTS: bool = cfg!(feature = "fma");

/// Which implementation a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    Scalar,
    Simd,
}

/// Whether `wide` has vector registers to map its types onto here: SSE2 on x86,
/// NEON on AArch64, SIMD128 on WebAssembly. Elsewhere (Cortex-M, RISC-V) its types are
/// plain arrays, and the scalar path is smaller and no slower.
const HAS_SIMD: bool = cfg!(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
));

impl Path {
    /// SIMD where the target has vector registers, unless the `scalar` feature is on.
    /// Both paths give the same bits, so the choice never changes a result.
    pub(crate) const DEFAULT: Path = if cfg!(feature = "scalar") {
        Path::Scalar
    } else {
        Path::Simd
    };

    /// Whether to run the SIMD code: asked for, and the target has vector registers.
    /// A constant `false` without them, so the SIMD code is not even compiled in.
    #[inline(always)]
    pub(crate) fn simd(self) -> bool {
        HAS_SIMD && self == Path::Simd
    }
}
