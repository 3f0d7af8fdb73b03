//! Every runtime error path, triggered: bad datasets, bad targets and labels, non-finite
//! inputs, divergence (with the parameters left as they were), views and kernels given
//! inconsistent shapes. Each test checks the exact error, so that it names what was
//! wrong, and that nothing was modified.

use microtrain::kernels::{self, Accumulate, Activation};
use microtrain::layers::{Dense, ParamKind, Params, Tanh};
use microtrain::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
use microtrain::optim::Pass;
use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdMomentum, SgdMomentumConfig};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Error, MatMut, MatRef, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

fn param_bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

// ---------------------------------------------------------------------------------
// Dataset::new
// ---------------------------------------------------------------------------------

#[test]
fn dataset_rejects_empty_inputs_and_zero_features() {
    let none: [f32; 0] = [];
    assert_eq!(
        Dataset::new(&none, 2, &[0u32; 0], 1).unwrap_err(),
        Error::Empty { what: "inputs" }
    );
    assert_eq!(
        Dataset::new(&[1.0, 2.0], 0, &[0u32], 1).unwrap_err(),
        Error::Empty { what: "inputs" }
    );
}

#[test]
fn dataset_rejects_a_partial_sample() {
    // 7 values are not a whole number of 2-feature samples: 3 samples need 6.
    let x = [0.0; 7];
    assert_eq!(
        Dataset::new(&x, 2, &[0u32; 3], 1).unwrap_err(),
        Error::Length {
            what: "inputs (a whole number of samples)",
            expected: 6,
            found: 7
        }
    );
}

#[test]
fn dataset_rejects_wrong_target_count() {
    let x = [0.0; 6];
    // 3 samples × 2 targets each = 6 targets, 5 given.
    assert_eq!(
        Dataset::new(&x, 2, &[0.0f32; 5], 2).unwrap_err(),
        Error::Length {
            what: "targets",
            expected: 6,
            found: 5
        }
    );
    // Too many labels.
    assert_eq!(
        Dataset::new(&x, 2, &[0u32; 4], 1).unwrap_err(),
        Error::Length {
            what: "targets",
            expected: 3,
            found: 4
        }
    );
}

#[test]
fn dataset_rejects_non_finite_inputs_at_their_index() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = [0.5f32; 8];
        x[5] = bad;
        x[7] = bad; // the first one is reported
        assert_eq!(
            Dataset::new(&x, 2, &[0u32; 4], 1).unwrap_err(),
            Error::NonFinite {
                what: "inputs",
                index: 5
            },
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Trainer::check, epoch, evaluate
// ---------------------------------------------------------------------------------

type Net = Seq![Dense<2, 4>, Tanh, Dense<4, 3>];

fn classifier() -> Trainer<Net, CrossEntropy, Sgd, 2, 2, 3> {
    let mut net: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    microtrain::init::init_params(
        &mut net,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(1),
    );
    Trainer::new(net, CrossEntropy::default(), Sgd::new(0.1), 0)
}

fn regressor() -> Trainer<Net, Mse, Sgd, 2, 2, 3> {
    let mut net: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    microtrain::init::init_params(
        &mut net,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(1),
    );
    Trainer::new(net, Mse, Sgd::new(0.1), 0)
}

/// `check`, `epoch` and `evaluate` all report `expected` for `data`, and the failed
/// `epoch` trained nothing (the check runs before the first step).
fn assert_rejected<L, const OUT: usize>(
    t: &mut Trainer<Net, L, Sgd, 2, 2, OUT>,
    data: &Dataset<'_, L::Target>,
    expected: Error,
) where
    L: Loss<2, OUT>,
    Net: microtrain::layers::Layer<Batch<2, 2>, Output = Batch<2, OUT>>,
{
    assert_eq!(t.check(data), Err(expected), "check");
    let before = param_bits(&mut t.model);
    assert_eq!(
        t.epoch(data, &mut Pcg32::seed_from_u64(0)).unwrap_err(),
        expected,
        "epoch"
    );
    assert_eq!(param_bits(&mut t.model), before, "a rejected epoch trained");
    assert_eq!(t.evaluate(data).unwrap_err(), expected, "evaluate");
}

#[test]
fn trainer_rejects_wrong_feature_count() {
    let x = [0.0; 9];
    let data = Dataset::new(&x, 3, &[0u32, 1, 2], 1).unwrap();
    assert_rejected(
        &mut classifier(),
        &data,
        Error::Shape {
            what: "features per sample",
            expected: 2,
            found: 3,
        },
    );
}

#[test]
fn trainer_rejects_wrong_targets_per_sample() {
    let x = [0.0; 4];
    // Cross-entropy takes one label per sample.
    let labels = Dataset::new(&x, 2, &[0u32, 1, 2, 0], 2).unwrap();
    assert_rejected(
        &mut classifier(),
        &labels,
        Error::Shape {
            what: "targets per sample",
            expected: 1,
            found: 2,
        },
    );
    // MSE on 3 outputs takes three targets per sample.
    let y = [0.0f32; 2];
    let one_each = Dataset::new(&x, 2, &y, 1).unwrap();
    assert_rejected(
        &mut regressor(),
        &one_each,
        Error::Shape {
            what: "targets per sample",
            expected: 3,
            found: 1,
        },
    );
}

/// A label ≥ the number of classes names the sample (the first bad one), even when it
/// would land in the partial last batch.
#[test]
fn trainer_rejects_out_of_range_labels_naming_the_sample() {
    let x = [0.0; 10];
    let labels = [0u32, 2, 1, 1, 3];
    let data = Dataset::new(&x, 2, &labels, 1).unwrap();
    assert_rejected(
        &mut classifier(),
        &data,
        Error::Label {
            sample: 4,
            label: 3,
            classes: 3,
        },
    );
    let labels = [0u32, 7, 1, 1, 99];
    let data = Dataset::new(&x, 2, &labels, 1).unwrap();
    assert_rejected(
        &mut classifier(),
        &data,
        Error::Label {
            sample: 1,
            label: 7,
            classes: 3,
        },
    );
}

/// A NaN or infinite regression target is rejected. (The index is the position inside
/// that sample's targets, here 1: the error does not say which sample.)
#[test]
fn trainer_rejects_non_finite_targets() {
    let x = [0.0; 4];
    for bad in [f32::NAN, f32::INFINITY] {
        let y = [0.0, 0.0, 0.0, 0.0, bad, 0.0];
        let data = Dataset::new(&x, 2, &y, 3).unwrap();
        assert_rejected(
            &mut regressor(),
            &data,
            // The index is into the dataset's target slice: sample 1, element 1.
            Error::NonFinite {
                what: "targets",
                index: 4,
            },
        );
    }
}

#[test]
fn train_step_rejects_non_finite_input() {
    let mut t = regressor();
    let before = param_bits(&mut t.model);
    let mut x: Batch<2, 2> = Matrix([[0.0, 1.0], [2.0, 3.0]]);
    x.0[1][0] = f32::NAN;
    assert_eq!(
        t.train_step(&x, &Batch::zeros()).unwrap_err(),
        Error::NonFinite {
            what: "batch input",
            index: 2
        }
    );
    assert_eq!(param_bits(&mut t.model), before);
}

// ---------------------------------------------------------------------------------
// Divergence
// ---------------------------------------------------------------------------------

/// An infinite weight makes the loss non-finite: `Diverged`, and the step leaves every
/// parameter (the infinite one included) bit for bit as it was.
#[test]
fn infinite_weights_diverge_without_an_update() {
    let mut t = regressor();
    t.model.0.weight.0[1][0] = f32::INFINITY;
    let before = param_bits(&mut t.model);
    let x: Batch<2, 2> = Matrix([[1.0, 1.0], [-1.0, 0.5]]);
    let y: Batch<2, 3> = Matrix([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]);
    // tanh(±inf) = ±1 keeps this finite; put the infinity after the activation.
    t.model.1 .1.weight.0[0][0] = f32::INFINITY;
    let before_both = param_bits(&mut t.model);
    assert_ne!(before, before_both);
    match t.train_step(&x, &y) {
        Err(Error::Diverged { loss, .. }) => assert!(!loss.is_finite(), "loss {loss}"),
        other => panic!("expected Diverged, got {other:?}"),
    }
    assert_eq!(param_bits(&mut t.model), before_both);
}

/// A huge learning rate: the first step succeeds and throws the weights far away
/// (~10¹⁹), the next step's loss overflows to infinity: `Diverged`, and that step
/// changes nothing. `epoch` stops with the same error, also without an update
/// (`B = N`, so the epoch is that one step).
#[test]
fn huge_learning_rate_diverges_and_the_failed_step_changes_nothing() {
    let mut t = regressor();
    t.optimizer.set_learning_rate(1e20);
    let x: Batch<2, 2> = Matrix([[1.0, 0.5], [-1.0, 2.0]]);
    let y: Batch<2, 3> = Matrix([[3.0, -3.0, 1.0], [2.0, 0.0, -2.0]]);
    t.train_step(&x, &y).expect("the first step is finite");
    let before = param_bits(&mut t.model);
    assert!(matches!(
        t.train_step(&x, &y),
        Err(Error::Diverged { loss, .. }) if !loss.is_finite()
    ));
    assert_eq!(param_bits(&mut t.model), before);

    let xs = [1.0, 0.5, -1.0, 2.0];
    let ys = [3.0, -3.0, 1.0, 2.0, 0.0, -2.0];
    let data = Dataset::new(&xs, 2, &ys, 3).unwrap();
    assert!(matches!(
        t.epoch(&data, &mut Pcg32::seed_from_u64(0)),
        Err(Error::Diverged { .. })
    ));
    assert_eq!(param_bits(&mut t.model), before);
}

/// A finite loss with an overflowing gradient is caught too: `y = w·x` with
/// `w = 10⁻³⁰`, `x = 3·10³⁸` gives `y = 3·10⁸`, MSE `9·10¹⁶` (finite), but
/// `∂ℓ/∂w = 2y·x = 1.8·10⁴⁷` overflows. (`Diverged.loss` is then NaN, not the finite
/// loss of the step: the trainer reports NaN whenever a gradient is what overflowed.)
#[test]
fn overflowing_gradient_with_finite_loss_diverges() {
    let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(1e-3), 0);
    t.model.weight.0 = [[1e-30]];
    let before = param_bits(&mut t.model);
    assert!(matches!(
        t.train_step(&Matrix([[3e38]]), &Matrix([[0.0]])),
        Err(Error::Diverged { .. })
    ));
    assert_eq!(param_bits(&mut t.model), before);
    // The same input with a tame weight trains: the error came from the overflow.
    t.model.weight.0 = [[1e-38]];
    assert!(t.train_step(&Matrix([[1e10]]), &Matrix([[0.0]])).is_ok());
}

/// A step whose loss and gradients are finite but whose update overflows (here
/// `θ − lr·g` with `lr = 3·10³⁸`, `g = −2`) returns `Ok` and leaves infinite
/// parameters; only the next step reports `Diverged`. DESIGN.md: "A diverging run
/// (NaN/Inf loss or gradient) is detected and does not corrupt the model."
#[test]
fn overflowing_update_is_detected() {
    let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(3e38), 0);
    let before = param_bits(&mut t.model);
    let result = t.train_step(&Matrix([[1.0]]), &Matrix([[1.0]]));
    let finite = t.model.weight.0[0][0].is_finite() && t.model.bias.0[0].is_finite();
    assert!(
        finite
            || (matches!(result, Err(Error::Diverged { .. }))
                && param_bits(&mut t.model) == before),
        "step returned {result:?} and left weight {} bias {}",
        t.model.weight.0[0][0],
        t.model.bias.0[0]
    );
}

// ---------------------------------------------------------------------------------
// Targets set one by one
// ---------------------------------------------------------------------------------

#[test]
fn set_target_errors() {
    let mut t = Batch::<2, 3>::zeros();
    assert_eq!(
        Loss::<2, 3>::set_target(&Mse, &mut t, 0, 0, &[1.0, 2.0]),
        Err(Error::Length {
            what: "target",
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        Loss::<2, 3>::set_target(&BceWithLogits, &mut t, 1, 5, &[0.0, f32::NAN, 1.0]),
        // Sample 5, element 1 of 3: index 16 of the dataset's target slice.
        Err(Error::NonFinite {
            what: "targets",
            index: 16
        })
    );
    assert_eq!(t, Batch::zeros(), "a rejected target is not stored");

    let ce = CrossEntropy::default();
    let mut labels = [0u32; 2];
    assert_eq!(
        Loss::<2, 3>::set_target(&ce, &mut labels, 1, 17, &[3]),
        Err(Error::Label {
            sample: 17,
            label: 3,
            classes: 3
        })
    );
    assert_eq!(
        Loss::<2, 3>::set_target(&ce, &mut labels, 1, 17, &[1, 2]),
        Err(Error::Length {
            what: "label",
            expected: 1,
            found: 2
        })
    );
    assert_eq!(labels, [0, 0]);
}

// ---------------------------------------------------------------------------------
// Views, kernels, optimizer
// ---------------------------------------------------------------------------------

#[test]
fn view_length_errors() {
    let data = [0.0f32; 6];
    assert_eq!(
        MatRef::new(&data, 2, 4).unwrap_err(),
        Error::Length {
            what: "matrix view",
            expected: 8,
            found: 6
        }
    );
    assert_eq!(
        MatRef::new(&data, 1, 5).unwrap_err(),
        Error::Length {
            what: "matrix view",
            expected: 5,
            found: 6
        }
    );
    let mut buf = [0.0f32; 6];
    assert_eq!(
        MatMut::new(&mut buf, 7, 1).unwrap_err(),
        Error::Length {
            what: "matrix view",
            expected: 7,
            found: 6
        }
    );
    // rows·cols overflowing usize is an error, not a panic or a wrapped product.
    assert!(matches!(
        MatRef::new(&data, usize::MAX, 2),
        Err(Error::Length { found: 6, .. })
    ));
    assert!(MatRef::new(&data, 3, 2).is_ok() && MatMut::new(&mut buf, 6, 1).is_ok());
    let empty: [f32; 0] = [];
    assert!(MatRef::new(&empty, 0, 5).is_ok());
}

#[test]
fn product_shape_errors() {
    let a = [1.0f32; 6];
    let b = [1.0f32; 8];
    let mut c = [7.0f32; 4];
    let a23 = MatRef::new(&a, 2, 3).unwrap();
    let b42 = MatRef::new(&b, 4, 2).unwrap();
    // A·B: inner 3 vs 4.
    let err = kernels::matmul(
        MatMut::new(&mut c, 2, 2).unwrap(),
        a23,
        b42,
        Accumulate::Overwrite,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                expected: 3,
                found: 4,
                ..
            } | Error::Shape {
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // A·Bᵀ with B: 2 × 4 needs A with 4 columns.
    let b24 = MatRef::new(&b, 2, 4).unwrap();
    assert!(matches!(
        kernels::matmul_bt(
            MatMut::new(&mut c, 2, 2).unwrap(),
            a23,
            b24,
            Accumulate::Add
        ),
        Err(Error::Shape { .. })
    ));
    // Aᵀ·B with A: 2 × 3 (Aᵀ 3 × 2) writes 3 × n, not 2 × 2.
    let b22 = MatRef::new(&b[..4], 2, 2).unwrap();
    assert!(matches!(
        kernels::matmul_at(
            MatMut::new(&mut c, 2, 2).unwrap(),
            a23,
            b22,
            Accumulate::Overwrite
        ),
        Err(Error::Shape { .. })
    ));
    // C of the wrong width for a correct A·B: 2 × 3 · 3 × 2 into 1 × 4.
    let b32 = MatRef::new(&b[..6], 3, 2).unwrap();
    assert!(matches!(
        kernels::matmul(
            MatMut::new(&mut c, 1, 4).unwrap(),
            a23,
            b32,
            Accumulate::Overwrite
        ),
        Err(Error::Shape { .. })
    ));
    assert_eq!(c, [7.0; 4], "a rejected product writes nothing");
}

/// The `what` of a product's shape error should say which dimension disagrees
/// (`Error::Shape` documents it as "Which dimension (for example `"A·B inner"`)"). It is
/// `"A·B"` for all three, so an inner mismatch 3 ≠ 4 and a row mismatch 3 ≠ 4 produce
/// the same error.
#[test]
fn product_shape_errors_name_the_dimension() {
    let a = [0.0f32; 12];
    let b = [0.0f32; 12];
    let mut c = [0.0f32; 12];
    // Inner: A 2×3, B 4×2 (C 2×2).
    let inner = kernels::matmul(
        MatMut::new(&mut c[..4], 2, 2).unwrap(),
        MatRef::new(&a[..6], 2, 3).unwrap(),
        MatRef::new(&b[..8], 4, 2).unwrap(),
        Accumulate::Overwrite,
    )
    .unwrap_err();
    // Rows: A 3×4, B 4×2, C 4×2.
    let rows = kernels::matmul(
        MatMut::new(&mut c[..8], 4, 2).unwrap(),
        MatRef::new(&a[..12], 3, 4).unwrap(),
        MatRef::new(&b[..8], 4, 2).unwrap(),
        Accumulate::Overwrite,
    )
    .unwrap_err();
    assert_ne!(inner, rows, "both are {inner:?}");
}

#[test]
fn element_wise_kernel_length_errors() {
    let x = [1.0f32; 5];
    let mut y = [0.0f32; 4];
    assert!(matches!(
        kernels::activate(Activation::Tanh, &x, &mut y),
        Err(Error::Length {
            expected: 4,
            found: 5,
            ..
        })
    ));
    let mut dx = [0.0f32; 5];
    assert!(matches!(
        kernels::activation_backward(Activation::Relu, &x, &x[..4], &x, &mut dx),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        kernels::activation_backward(Activation::Relu, &x, &x, &x[..3], &mut dx),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        kernels::axpy(2.0, &x, &mut y),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        kernels::add(&x, &mut y),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        kernels::hadamard(&x, &mut y),
        Err(Error::Length { .. })
    ));
    assert!(matches!(kernels::dot(&x, &y), Err(Error::Length { .. })));
    assert_eq!(y, [0.0; 4], "rejected kernels write nothing");
    assert_eq!(dx, [0.0; 5]);
    let mut s = [0.0f32; 6];
    assert!(matches!(
        kernels::softmax_rows(
            MatRef::new(&x[..4], 2, 2).unwrap(),
            MatMut::new(&mut s, 2, 3).unwrap()
        ),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        kernels::log_softmax_rows(
            MatRef::new(&x[..4], 2, 2).unwrap(),
            MatMut::new(&mut s[..4], 1, 4).unwrap()
        ),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn optimizer_update_length_error() {
    let mut sgd = Sgd::new(0.5);
    let mut w = [1.0f32, 2.0, 3.0];
    assert!(matches!(
        sgd.update(Pass::Apply, 0, ParamKind::Weight, &mut w, &[1.0, 1.0]),
        Err(Error::Length { .. })
    ));
    assert_eq!(w, [1.0, 2.0, 3.0], "nothing is updated");
}

/// A slice that reaches past a stateful optimizer's state is refused, and the refused
/// step is not counted: the next good step is the optimizer's first.
#[test]
fn optimizer_state_too_small_is_an_error() {
    let cfg = AdamConfig {
        lr: 0.1,
        ..Default::default()
    };
    let mut adam = Adam::<2>::new(cfg);
    let mut w = [1.0f32, 2.0, 3.0];
    assert_eq!(
        adam.step_slice(&mut w, &[1.0, 1.0, 1.0]),
        Err(Error::Length {
            what: "parameters past the optimizer state",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(w, [1.0, 2.0, 3.0], "nothing is updated");
    assert_eq!(adam.steps(), 0, "the refused step is not counted");
    let mut v = [1.0f32, 2.0];
    adam.step_slice(&mut v, &[1.0, 1.0]).unwrap();
    let mut fresh = Adam::<2>::new(cfg);
    let mut u = [1.0f32, 2.0];
    fresh.step_slice(&mut u, &[1.0, 1.0]).unwrap();
    assert_eq!(v, u);
}

/// A stateful optimizer refuses an update that would overflow, all or nothing: neither
/// the parameters nor its state or step count change.
#[test]
fn optimizer_refuses_an_overflowing_step_and_keeps_its_state() {
    let cfg = SgdMomentumConfig {
        lr: 4.0,
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = SgdMomentum::<3>::new(cfg);
    let mut w = [1.0f32, 2.0, 3.0];
    opt.step_slice(&mut w, &[1.0, 1.0, 1.0]).unwrap();
    let (w0, b0) = (w, *opt.momentum_buffer());
    // b stays finite (about f32::MAX), but θ − 4b overflows.
    let refused = opt.step_slice(&mut w, &[0.0, f32::MAX, f32::MAX]);
    assert!(
        matches!(refused, Err(Error::Diverged { .. })),
        "{refused:?}"
    );
    assert_eq!(w, w0);
    assert_eq!(*opt.momentum_buffer(), b0);
}

/// Every error prints what was wrong.
#[test]
fn errors_display_what_was_wrong() {
    let cases = [
        (Error::Empty { what: "inputs" }, "inputs"),
        (
            Error::Label {
                sample: 4,
                label: 3,
                classes: 3,
            },
            "sample 4",
        ),
        (
            Error::NonFinite {
                what: "batch input",
                index: 2,
            },
            "index 2",
        ),
        (
            Error::Diverged {
                step: 3,
                loss: f32::INFINITY,
                cause: microtrain::optim::Refusal::Loss,
            },
            "step 3 refused",
        ),
        (
            Error::Shape {
                what: "features per sample",
                expected: 2,
                found: 3,
            },
            "features per sample",
        ),
        (
            Error::Length {
                what: "targets",
                expected: 6,
                found: 5,
            },
            "expected 6",
        ),
    ];
    for (err, needle) in cases {
        let text = err.to_string();
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}
