//! The memory a trainer states for itself, against counts written by hand from the
//! definitions: parameters and gradients, kept activations, optimizer state, and the
//! small rest (configuration and bookkeeping).
//!
//! What `ACTIVATION_BYTES` covers (see `Trainer::ACTIVATION_BYTES` and
//! `layers::SeqCache`): the whole model cache — each layer's output (a dropout layer
//! also keeps the 8-byte seed of its mask; a residual keeps its inner cache plus its
//! own output `x + F(x)`) — plus the input batch and the batch targets. No gradient
//! buffer: the backward pass writes `∂J/∂h` over `h` and `∂J/∂output` over the output.

use core::mem::size_of;
use microtrain::layers::{Context, Dense, Dropout, Layer, Penalty, Relu, Residual, Tanh};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::{Adam, AdamConfig, Sgd};
use microtrain::train::{Clip, Trainer};
use microtrain::{seq, Batch, Seq};

const F32: usize = 4;

// ---------------------------------------------------------------------------------
// Seq![Dense<2, 8>, Tanh, Dense<8, 1>], B = 4, MSE, plain SGD
// ---------------------------------------------------------------------------------

type XorNet = Seq![Dense<2, 8>, Tanh, Dense<8, 1>];
type XorTrainer = Trainer<XorNet, Mse, Sgd, 4, 2, 1>;

/// Parameters: `W₁ 8×2 + b₁ 8 + W₂ 1×8 + b₂ 1 = 16 + 8 + 8 + 1 = 33` floats, each with
/// a gradient: `2·33·4 = 264` bytes.
const XOR_PARAM_BYTES: usize = 2 * (2 * 8 + 8 + 8 + 1) * F32;

/// Kept activations, `B = 4`:
///
/// | buffer                                   | shape | floats |
/// |------------------------------------------|-------|--------|
/// | Dense₁ output `h₁`, then `∂J/∂h₁`         | 4×8   | 32     |
/// | Tanh output `h₂`, then `∂J/∂h₂`           | 4×8   | 32     |
/// | Dense₂ output, then `∂J/∂output`          | 4×1   | 4      |
/// | input batch                               | 4×2   | 8      |
/// | batch targets (MSE: one f32 per output)   | 4×1   | 4      |
///
/// 68 (model cache) + 12 = 80 floats = 320 bytes.
const XOR_CACHE_BYTES: usize = (4 * 8 + 4 * 8 + 4) * F32;
const XOR_ACTIVATION_BYTES: usize = XOR_CACHE_BYTES + (4 * 2 + 4) * F32;

#[test]
fn xor_trainer_bytes_by_hand() {
    assert_eq!(XorTrainer::PARAM_BYTES, XOR_PARAM_BYTES);
    assert_eq!(XOR_PARAM_BYTES, 264);
    assert_eq!(
        size_of::<<XorNet as Layer<Batch<4, 2>>>::Cache>(),
        XOR_CACHE_BYTES,
        "the cache holds exactly the buffers listed, no padding"
    );
    assert_eq!(XorTrainer::ACTIVATION_BYTES, XOR_ACTIVATION_BYTES);
    assert_eq!(XOR_ACTIVATION_BYTES, 320);
    assert_eq!(XorTrainer::OPTIMIZER_BYTES, 0, "plain SGD keeps no state");
    assert_eq!(XorTrainer::BYTES, size_of::<XorTrainer>());
}

/// `BYTES − (PARAM + ACTIVATION + OPTIMIZER)` is configuration and bookkeeping only:
/// the 24-byte context (mode, real rows, dropout seed), the applied and refused step
/// counters (2 × 8), `Option<Clip>` (8), the SGD config (lr, weight decay, a flag: 12),
/// the MSE loss (0), each dense layer's `Penalty` (2 × 8), and at most 7 bytes of
/// padding to the 8-byte alignment of the context. For this network: 76 ≤ rest ≤ 83;
/// we state ≤ 88 bytes, 9 % of the total.
#[test]
fn xor_trainer_rest_is_small_bookkeeping() {
    let counted =
        XorTrainer::PARAM_BYTES + XorTrainer::ACTIVATION_BYTES + XorTrainer::OPTIMIZER_BYTES;
    let rest = XorTrainer::BYTES - counted;
    let config = size_of::<Context>()
        + size_of::<Option<Clip>>()
        + size_of::<Sgd>()
        + size_of::<Mse>()
        + 2 * size_of::<Penalty>()
        + 2 * size_of::<u64>();
    assert_eq!(size_of::<Context>(), 24);
    assert!(
        (config..config + 8).contains(&rest),
        "rest {rest} B, configuration {config} B"
    );
    assert!(rest <= 88, "rest {rest} B");
    // The model itself is its parameters and gradients plus the two penalties.
    assert_eq!(
        size_of::<XorNet>(),
        XOR_PARAM_BYTES + 2 * size_of::<Penalty>()
    );
}

// ---------------------------------------------------------------------------------
// Dropout, residual, cross-entropy labels, Adam state
// ---------------------------------------------------------------------------------

type DeepNet = Seq![Dense<3, 5>, Relu, Dropout, Residual<Dense<5, 5>>, Dense<5, 2>];
/// `Dense<3,5>: 15 + 5`, `Dense<5,5>: 25 + 5`, `Dense<5,2>: 10 + 2` = 62.
const DEEP_PARAMS: usize = (3 * 5 + 5) + (5 * 5 + 5) + (5 * 2 + 2);
type DeepTrainer = Trainer<DeepNet, CrossEntropy, Adam<DEEP_PARAMS>, 2, 3, 2>;

/// Kept activations, `B = 2`, in floats unless stated:
///
/// | buffer                                        | size        |
/// |-----------------------------------------------|-------------|
/// | Dense<3,5> output (later its `∂J/∂h`)         | 10          |
/// | ReLU output                                   | 10          |
/// | Dropout output + mask seed                    | 10 + 8 B    |
/// | Residual: inner Dense output, own output      | 10 + 10     |
/// | Dense<5,2> output (later `∂J/∂output`)        | 4           |
/// | input 2×3, labels 2 × u32                     | 6 + 2       |
///
/// Model cache 54 floats + 8 bytes = 224 bytes (every nested cache is a multiple of 8,
/// so the u64 seed adds no padding); total 224 + 32 = 256 bytes.
const DEEP_CACHE_BYTES: usize = (10 + 10 + 10 + 10 + 10 + 4) * F32 + 8;
const DEEP_ACTIVATION_BYTES: usize = DEEP_CACHE_BYTES + (2 * 3) * F32 + 2 * size_of::<u32>();

/// Adam: first and second moments, one float each per parameter, a `u32` step
/// counter and the bounds of `m` and `v` its last proven step recorded (two floats):
/// `2·62·4 + 4 + 8 = 508` bytes (`Adam<P>` has no AMSGrad buffer).
const DEEP_OPTIMIZER_BYTES: usize = 2 * DEEP_PARAMS * F32 + size_of::<u32>() + 2 * F32;

#[test]
fn deep_trainer_bytes_by_hand() {
    assert_eq!(DEEP_PARAMS, 62);
    assert_eq!(DeepTrainer::PARAM_BYTES, 2 * DEEP_PARAMS * F32);
    assert_eq!(
        size_of::<<DeepNet as Layer<Batch<2, 3>>>::Cache>(),
        DEEP_CACHE_BYTES
    );
    assert_eq!(DeepTrainer::ACTIVATION_BYTES, DEEP_ACTIVATION_BYTES);
    assert_eq!(DEEP_ACTIVATION_BYTES, 256);
    assert_eq!(DeepTrainer::OPTIMIZER_BYTES, DEEP_OPTIMIZER_BYTES);
    assert_eq!(DEEP_OPTIMIZER_BYTES, 508);
    assert_eq!(
        size_of::<Adam<DEEP_PARAMS>>(),
        DEEP_OPTIMIZER_BYTES + size_of::<AdamConfig>()
    );
    assert_eq!(DeepTrainer::BYTES, size_of::<DeepTrainer>());

    // The rest: context 24, step counters 16, Option<Clip> 8, Adam config 24, CE's ε 4,
    // three penalties 24, dropout config 12: 112 bytes, plus ≤ 7 of alignment; stated
    // bound 120.
    let rest = DeepTrainer::BYTES
        - (DeepTrainer::PARAM_BYTES + DeepTrainer::ACTIVATION_BYTES + DeepTrainer::OPTIMIZER_BYTES);
    let config = size_of::<Context>()
        + size_of::<Option<Clip>>()
        + size_of::<AdamConfig>()
        + size_of::<CrossEntropy>()
        + 3 * size_of::<Penalty>()
        + size_of::<Dropout>()
        + 2 * size_of::<u64>();
    assert!(
        (config..config + 8).contains(&rest),
        "rest {rest} B, configuration {config} B"
    );
    assert!(rest <= 120, "rest {rest} B");
}

/// The figures are constants, usable in a `const` context (for a linker-section
/// budget, say), and a whole trainer can be a `static` built by the `const fn new`.
#[test]
fn trainer_fits_a_static_and_its_size_is_a_constant() {
    const BUDGET: usize = 1024;
    const _: () = assert!(XorTrainer::BYTES <= BUDGET);
    static T: XorTrainer = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(0.1),
        0,
    );
    assert_eq!(size_of_val(&T), XorTrainer::BYTES);
    assert_eq!(T.optimizer.lr, 0.1);
}
