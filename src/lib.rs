//! # microtrain
//!
//! Train statically shaped neural networks on microcontrollers, with no heap, and run
//! the same code on a PC, where it trains bit-identically.
//!
//! - [`tensor`]: fixed-size [`Vector`], [`Matrix`] and [`Batch`] whose dimensions are
//!   const generics, and the run-time-shaped views [`MatRef`] / [`MatMut`].
//! - [`kernels`]: the SIMD core (matrix products, activations, softmax, vector
//!   operations, the math shim), each with one canonical evaluation order so that SIMD
//!   and scalar paths agree bit for bit.
//! - [`average`]: weight averaging (SWA, EMA) and batch-norm statistics recomputed
//!   for the averaged weights; [`ensemble`]: ensembles and snapshot ensembles.
//! - [`checkpoint`]: training state saved into a caller's buffer or two flash slots,
//!   checked by CRC-32 and a fingerprint of the model's shapes, resumed bit for bit.
//!
//! # Cargo features
//!
//! | feature  | effect |
//! |----------|--------|
//! | `scalar` | every kernel takes its scalar path (same bits, slower) |
//! | `fma`    | fused multiply-add in the SIMD matrix products: faster, not bit-identical to the scalar path or across targets |
//! | `small`  | the edges of a scalar matrix product in 1 × 1 tiles, and one Adam update loop per case instead of two: less flash, a few more instructions, the same bits |
//! | `defmt`  | `defmt::Format` for errors, risks, evaluations and the history |
//!
//! # Examples
//!
//! ```
//! use microtrain::{Accumulate, Matrix};
//! let x = Matrix([[1.0, 2.0, 3.0]]);                       // 1 × 3
//! let w = Matrix([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);    // 3 × 2
//! let mut y = Matrix::<1, 2>::zeros();
//! y.set_product(&x, &w, Accumulate::Overwrite);
//! assert_eq!(y.0, [[4.0, 5.0]]);
//! ```

#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]
// Two places carry a local allowance: the square-root instruction on hard-float Arm in
// `kernels::math`, and `kernels::dispatch` (x86-64 feature detection, the
// `#[target_feature]` calls and the optimizer's AVX intrinsics, each block with its
// `// SAFETY:` argument); anything else does not compile.
#![deny(unsafe_code)]

pub mod augment;
pub mod average;
mod check;
pub mod checkpoint;
pub mod ensemble;
mod error;
pub mod init;
pub mod kernels;
pub mod layers;
#[cfg(feature = "defmt")]
mod log_defmt;
pub mod loss;
pub mod optim;
pub mod prune;
pub mod schedule;
pub mod tensor;
pub mod train;

pub use error::Error;

/// The README's code, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
pub use kernels::{Accumulate, MatMut, MatRef};
pub use tensor::{Batch, Image, Matrix, Signal, Tensor, Vector, Zeroed};
