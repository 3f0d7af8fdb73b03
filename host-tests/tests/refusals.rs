//! Refusals with a cause (issue 13): a refused step names what was not finite (the
//! loss, the gradient or penalty of tensor `i`, or its update), the step number, and
//! whether the cause can go away by itself; it changes no parameter, no optimizer state
//! (step counters and NAdam's `μ` products included) and no statistics. A step refused
//! for a bad setting is an `Error::Setting`, never counted as a refused step.
//!
//! Every expected value here is worked out by hand from the inputs (powers of two
//! where the arithmetic must be exact), not copied from the crate's output.

use microtrain::checkpoint::{self, Model, Persist};
use microtrain::layers::{BatchNorm, Dense, ParamKind, Params, Penalty, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, NAdam, NAdamConfig, Optimizer, RAdam,
    RAdamConfig, Refusal, RmsProp, RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::prune::{mask_words, Mask, Masked};
use microtrain::train::{Clip, Dataset, Divergence, Guard, Trainer};
use microtrain::{seq, Error, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::fmt::Debug;

/// Tensors: 0 weight (80 values: more than one 64-value piece of the zero-gradient
/// retry), 1 bias (8), 2 weight (24), 3 bias (3).
type Net = Seq![Dense<10, 8>, Tanh, Dense<8, 3>];
const COUNT: usize = <Net as Params>::COUNT;
const WORDS: usize = mask_words(COUNT);

fn net() -> Net {
    let mut n: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    microtrain::init::init_params(
        &mut n,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(3),
    );
    n
}

/// Deterministic, finite gradients that differ from step to step.
fn fill_grads(n: &mut impl Params, step: u32) {
    let mut i = 0u32;
    n.visit(&mut |p| {
        for g in p.grad.iter_mut() {
            *g = ((i * 7 + step * 13) % 17) as f32 / 8.0 - 1.0;
            i += 1;
        }
    });
}

fn param_bits(n: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    n.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

fn bytes_of<T: Persist>(state: &mut T) -> Vec<u8> {
    let mut buf = vec![0u8; checkpoint::bytes::<T>()];
    let n = checkpoint::save(state, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Sets value `index` of tensor `tensor` (and its gradient).
fn set(n: &mut impl Params, tensor: usize, index: usize, value: Option<f32>, grad: Option<f32>) {
    let mut t = 0;
    n.visit(&mut |p| {
        if t == tensor {
            if let Some(v) = value {
                p.value[index] = v;
            }
            if let Some(g) = grad {
                p.grad[index] = g;
            }
        }
        t += 1;
    });
}

/// The refusal of a direct optimizer step: no step number, a NaN loss, and `cause`.
fn assert_refused(result: Result<(), Error>, cause: Refusal, what: &str) {
    match result {
        Err(Error::Diverged {
            step: 0,
            loss,
            cause: c,
        }) if loss.is_nan() => assert_eq!(c, cause, "{what}"),
        other => panic!("{what}: expected a refusal for {cause:?}, got {other:?}"),
    }
}

/// For one optimizer (`make(weight_decay)`): after three good steps, a NaN gradient in
/// tensor 1, an overflowing update of tensor 2 and a lasting overflow in tensor 0 are
/// each refused with the right cause, and leave the parameters and every byte of the
/// optimizer's state as they were; the next good step then equals, bit for bit, the
/// step of a twin that never saw the refusals.
fn refusals_keep_state<O>(name: &str, make: impl Fn(f32) -> O)
where
    O: Optimizer + Persist + Copy + PartialEq + Debug,
{
    let mut n = net();
    let mut opt = make(0.0);
    for step in 0..3 {
        fill_grads(&mut n, step);
        opt.step(&mut n)
            .unwrap_or_else(|e| panic!("{name} step {step}: {e}"));
    }
    fill_grads(&mut n, 3);
    let (twin, twin_net) = (opt, n);
    let state = bytes_of(&mut opt);
    let params = param_bits(&mut n);

    // A NaN in the gradient of tensor 1 (the first bias).
    let mut hostile = n;
    set(&mut hostile, 1, 2, None, Some(f32::NAN));
    let result = opt.step(&mut hostile);
    assert_refused(
        result,
        Refusal::Gradient {
            tensor: 1,
            kind: ParamKind::Bias,
        },
        name,
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "optimizer step refused: gradient of tensor 1 (bias) is not finite",
        "{name}"
    );
    assert_eq!(param_bits(&mut hostile), params, "{name}: parameters");
    assert_eq!((opt, bytes_of(&mut opt)), (twin, state.clone()), "{name}");

    // A finite gradient whose update overflows in tensor 2 (the second weight): a
    // parameter at −MAX pushed further down (SGD), or g² overflowing the second
    // moment (the adaptive ones). A zero gradient would pass: not lasting.
    let mut hostile = n;
    set(&mut hostile, 2, 5, Some(-f32::MAX), Some(3e38));
    let before = param_bits(&mut hostile);
    assert_refused(
        opt.step(&mut hostile),
        Refusal::Update {
            tensor: 2,
            kind: ParamKind::Weight,
            lasting: false,
        },
        name,
    );
    assert_eq!(param_bits(&mut hostile), before, "{name}: parameters");
    assert_eq!((opt, bytes_of(&mut opt)), (twin, state.clone()), "{name}");

    // The same through `step_slice` on the 24 values of tensor 2 at state offset 0.
    let mut slice = [0.5f32; 24];
    let mut grad = [0.25f32; 24];
    slice[17] = -f32::MAX;
    grad[17] = 3e38;
    let slice_before = slice;
    assert_refused(
        opt.step_slice(&mut slice, &grad),
        Refusal::Update {
            tensor: 0,
            kind: ParamKind::Weight,
            lasting: false,
        },
        name,
    );
    assert_eq!(slice.map(f32::to_bits), slice_before.map(f32::to_bits));
    assert_eq!((opt, bytes_of(&mut opt)), (twin, state.clone()), "{name}");

    // The next good step: bit for bit the twin's.
    let (mut a, mut b, mut twin) = (n, twin_net, twin);
    opt.step(&mut a).unwrap();
    twin.step(&mut b).unwrap();
    assert_eq!(param_bits(&mut a), param_bits(&mut b), "{name}: after");
    assert_eq!(bytes_of(&mut opt), bytes_of(&mut twin), "{name}: after");
    if O::STATE_BYTES > 0 {
        assert_ne!(
            bytes_of(&mut opt),
            state,
            "{name}: a good step changes the state"
        );
    }

    // Weight decay 10 on a weight of 3·10³⁸ (tensor 0, value 70: in the second piece
    // of the zero-gradient retry): g + λθ overflows whatever the gradient.
    let mut n = net();
    let mut opt = make(10.0);
    fill_grads(&mut n, 0);
    opt.step(&mut n).unwrap();
    let state = bytes_of(&mut opt);
    set(&mut n, 0, 70, Some(3e38), None);
    let before = param_bits(&mut n);
    let result = opt.step(&mut n);
    assert_refused(
        result,
        Refusal::Update {
            tensor: 0,
            kind: ParamKind::Weight,
            lasting: true,
        },
        name,
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "optimizer step refused: update of tensor 0 (weight) would make it or the optimizer \
         state non-finite; this will not change by itself: stop or change the settings",
        "{name}"
    );
    assert_eq!(param_bits(&mut n), before, "{name}: parameters");
    assert_eq!(bytes_of(&mut opt), state, "{name}: state");
}

#[test]
fn sgd_refusals_keep_state() {
    refusals_keep_state("SGD", |wd| Sgd {
        weight_decay: wd,
        ..Sgd::new(0.1)
    });
}

#[test]
fn sgd_momentum_refusals_keep_state() {
    for nesterov in [false, true] {
        refusals_keep_state("SGD momentum", |wd| {
            SgdMomentum::<COUNT>::new(SgdMomentumConfig {
                lr: 0.05,
                weight_decay: wd,
                nesterov,
                ..Default::default()
            })
        });
    }
}

#[test]
fn adam_refusals_keep_state() {
    let config = |wd, amsgrad| AdamConfig {
        lr: 0.01,
        weight_decay: wd,
        amsgrad,
        ..Default::default()
    };
    refusals_keep_state("Adam", |wd| Adam::<COUNT>::new(config(wd, false)));
    refusals_keep_state("AMSGrad", |wd| AmsGrad::<COUNT>::new(config(wd, true)));
}

#[test]
fn rmsprop_refusals_keep_state() {
    refusals_keep_state("RMSprop", |wd| {
        RmsProp::<COUNT, COUNT, COUNT>::new(RmsPropConfig {
            weight_decay: wd,
            centered: true,
            momentum: 0.5,
            ..Default::default()
        })
    });
}

#[test]
fn adagrad_refusals_keep_state() {
    refusals_keep_state("Adagrad", |wd| {
        Adagrad::<COUNT>::new(AdagradConfig {
            weight_decay: wd,
            lr_decay: 0.5,
            ..Default::default()
        })
    });
}

#[test]
fn nadam_refusals_keep_state() {
    refusals_keep_state("NAdam", |wd| {
        NAdam::<COUNT>::new(NAdamConfig {
            weight_decay: wd,
            ..Default::default()
        })
    });
}

#[test]
fn radam_refusals_keep_state() {
    refusals_keep_state("RAdam", |wd| {
        RAdam::<COUNT>::new(RAdamConfig {
            weight_decay: wd,
            ..Default::default()
        })
    });
}

/// `Masked` forwards `begin_step`, which now ends a step: NAdam's `μ` products and step
/// count advance under a mask exactly as without one, and a refusal leaves the masked
/// optimizer as it was.
#[test]
fn masked_nadam_counts_steps_like_nadam() {
    let config = NAdamConfig::default();
    let mut plain = NAdam::<COUNT>::new(config);
    let mut masked: Masked<NAdam<COUNT>, WORDS> =
        Masked::new(NAdam::new(config), Mask::dense::<Net>());
    let (mut a, mut b) = (net(), net());
    for step in 0..4 {
        fill_grads(&mut a, step);
        fill_grads(&mut b, step);
        plain.step(&mut a).unwrap();
        masked.step(&mut b).unwrap();
    }
    assert_eq!(param_bits(&mut a), param_bits(&mut b));
    let before = masked;
    set(&mut b, 3, 1, None, Some(f32::INFINITY));
    assert_refused(
        masked.step(&mut b),
        Refusal::Gradient {
            tensor: 3,
            kind: ParamKind::Bias,
        },
        "masked NAdam",
    );
    assert_eq!(masked, before);
}

/// NAdam with PyTorch's defaults for 3,000 steps: `Πμ` shrinks towards 0 and never
/// makes a step refused (it used to be able to overflow and stick).
#[test]
fn nadam_schedule_never_sticks() {
    let mut opt = NAdam::<1>::new(NAdamConfig::default());
    let mut w = [1.0f32];
    for step in 1..=3000 {
        opt.step_slice(&mut w, &[0.5])
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
    }
    assert!(w[0].is_finite());
}

// ---------------------------------------------------------------------------------
// Through the trainer: the step number, the loss and the cause
// ---------------------------------------------------------------------------------

type Chain = Seq![Dense<1, 1>, Dense<1, 1>];

/// `h = w₁x + b₁ = 2¹²⁷`, `y = w₂h + b₂ = 2⁻¹²⁵·2¹²⁷ = 4` against target 0: loss
/// `4² = 16`, `∂ℓ/∂w₂ = 2·4·2¹²⁷ = 2¹³⁰` overflows, while `∂ℓ/∂b₂ = 8`,
/// `∂ℓ/∂w₁ = 8·2⁻¹²⁵·2¹²⁷ = 32` and `∂ℓ/∂b₁ = 2⁻¹²²` are finite: tensor 2 only.
#[test]
fn trainer_names_the_gradient_tensor_and_the_step() {
    let mut t: Trainer<Chain, Mse, Sgd, 1, 1, 1> =
        Trainer::new(seq![Dense::zeros(), Dense::zeros()], Mse, Sgd::new(0.0), 0);
    for _ in 0..2 {
        t.train_step(&Matrix([[1.0]]), &Matrix([[0.0]])).unwrap();
    }
    t.model.0.weight.0 = [[1.0]];
    t.model.1.weight.0 = [[2f32.powi(-125)]];
    let before = bytes_of(&mut Model(&mut t.model));
    let err = t
        .train_step(&Matrix([[2f32.powi(127)]]), &Matrix([[0.0]]))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Diverged {
            step: 3,
            loss: 16.0,
            cause: Refusal::Gradient {
                tensor: 2,
                kind: ParamKind::Weight
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "training step 3 refused: gradient of tensor 2 (weight) is not finite (loss 16)"
    );
    assert_eq!((t.steps(), t.refused_steps()), (2, 1));
    assert_eq!(bytes_of(&mut Model(&mut t.model)), before);
}

/// A NaN target: the loss. A refused step is not counted, so the retry has the same
/// number.
#[test]
fn trainer_names_the_loss_and_keeps_the_step_number() {
    let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    for _ in 0..4 {
        t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]])).unwrap();
    }
    for refused in 1..=2 {
        match t.train_step(&Matrix([[1.0]]), &Matrix([[f32::NAN]])) {
            Err(
                e @ Error::Diverged {
                    step: 5,
                    loss,
                    cause: Refusal::Loss,
                },
            ) if loss.is_nan() => assert_eq!(
                e.to_string(),
                "training step 5 refused: the loss is not finite (loss NaN)"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!((t.steps(), t.refused_steps()), (4, refused));
    }
    t.train_step(&Matrix([[1.0]]), &Matrix([[2.0]])).unwrap();
    assert_eq!((t.steps(), t.refused_steps()), (5, 2));
}

/// `Penalty { l2: 1/64 }` on a weight of 2¹²⁷: `½·λ·w² = 2¹²⁶·2⁻⁶·…` — `w²` itself
/// overflows, while the penalty gradient `λw = 2¹²¹` and the data gradient (input 0,
/// target 0: loss 0) are finite. The weights do not change when the step is refused,
/// so the refusal is lasting.
#[test]
fn trainer_names_an_overflowing_penalty_as_lasting() {
    let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    t.model.weight.0 = [[2f32.powi(127)]];
    t.model.penalty = Penalty {
        l2: 1.0 / 64.0,
        l1: 0.0,
    };
    let before = bytes_of(&mut Model(&mut t.model));
    let err = t
        .train_step(&Matrix([[0.0]]), &Matrix([[0.0]]))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Diverged {
            step: 1,
            loss: 0.0,
            cause: Refusal::Penalty { tensor: 0 }
        }
    );
    assert_eq!(
        err.to_string(),
        "training step 1 refused: penalty of tensor 0 (weight) is not finite (loss 0); \
         this will not change by itself: stop or change the settings"
    );
    assert_eq!(bytes_of(&mut Model(&mut t.model)), before);
    assert_eq!((t.steps(), t.refused_steps()), (0, 1));
}

/// `x = 1`, target 2, `w = b = 0`: loss 4, `∂ℓ/∂w = −4`. SGD at `lr = 2¹²⁶`:
/// `0 + 2¹²⁶·4 = 2¹²⁸` overflows, but a zero gradient would not: not lasting. Adam at
/// `lr = 2¹²⁷`: its step size `lr/(1 − 0.9)` is already infinite, so any update,
/// even from a zero gradient, is not finite: lasting.
#[test]
fn trainer_names_an_overflowing_update_and_whether_it_lasts() {
    let (x, y) = (Matrix([[1.0]]), Matrix([[2.0]]));
    let mut t: Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(2f32.powi(126)), 0);
    let err = t.train_step(&x, &y).unwrap_err();
    let cause = Refusal::Update {
        tensor: 0,
        kind: ParamKind::Weight,
        lasting: false,
    };
    assert_eq!(
        err,
        Error::Diverged {
            step: 1,
            loss: 4.0,
            cause
        }
    );
    assert_eq!(
        err.to_string(),
        "training step 1 refused: update of tensor 0 (weight) would make it or the \
         optimizer state non-finite (loss 4)"
    );
    assert_eq!((t.model.weight.0, t.model.bias.0), ([[0.0]], [0.0]));

    let mut t: Trainer<Dense<1, 1>, Mse, Adam<2>, 1, 1, 1> = Trainer::new(
        Dense::zeros(),
        Mse,
        Adam::new(AdamConfig::DEFAULT.with_lr(2f32.powi(127))),
        0,
    );
    let (optimizer, before) = (t.optimizer, bytes_of(&mut Model(&mut t.model)));
    let err = t.train_step(&x, &y).unwrap_err();
    assert_eq!(
        err,
        Error::Diverged {
            step: 1,
            loss: 4.0,
            cause: Refusal::Update {
                tensor: 0,
                kind: ParamKind::Weight,
                lasting: true
            }
        }
    );
    assert!(err
        .to_string()
        .ends_with("(loss 4); this will not change by itself: stop or change the settings"));
    assert_eq!(t.optimizer, optimizer);
    assert_eq!(bytes_of(&mut Model(&mut t.model)), before);
    assert_eq!(
        (t.steps(), t.refused_steps(), t.optimizer.steps()),
        (0, 1, 0)
    );
}

/// Batch normalisation: tensors 0–1 the first layer, 2 the scale `γ`, 3 the shift `β`,
/// 4–5 the last layer. With `γ = 10³⁰` and last weights `10⁻³⁰` the output and the
/// loss stay ordinary, but the last weights' gradient `Σ (y − t)/2 · h` is about 10³⁰
/// and its square overflows Adam's second moment: the update of tensor 4 is refused
/// (not lasting), and the running statistics, parameters and Adam's state stay bit
/// for bit as they were.
#[test]
fn a_refusal_leaves_parameters_statistics_and_state_alone() {
    type Norm = Seq![Dense<2, 3>, BatchNorm<3>, Dense<3, 1>];
    let mut t: Trainer<Norm, Mse, Adam<19>, 4, 2, 1> = Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Dense::zeros()],
        Mse,
        Adam::new(AdamConfig::DEFAULT.with_lr(0.01)),
        0,
    );
    let mut kinds = Vec::new();
    t.model.visit(&mut |p| kinds.push(p.kind));
    use ParamKind::{Bias, Scale, Weight};
    assert_eq!(kinds, [Weight, Bias, Scale, Bias, Weight, Bias]);
    microtrain::init::init_params(
        &mut t.model,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(4),
    );
    let x = Matrix([[0.5, -1.0], [1.5, 2.0], [-0.5, 0.25], [1.0, -2.0]]);
    let y = Matrix([[1.0], [0.0], [1.0], [0.0]]);
    for _ in 0..3 {
        t.train_step(&x, &y).unwrap();
    }
    t.model.1 .0.gamma.0 = [1e30; 3];
    t.model.1 .1.weight.0 = [[1e-30; 3]];
    let model = bytes_of(&mut Model(&mut t.model));
    let optimizer = bytes_of(&mut t.optimizer);
    let err = t.train_step(&x, &y).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Diverged {
                step: 4,
                loss,
                cause: Refusal::Update {
                    tensor: 4,
                    kind: Weight,
                    lasting: false
                },
            } if loss.is_finite()
        ),
        "{err:?}"
    );
    assert_eq!(bytes_of(&mut Model(&mut t.model)), model);
    assert_eq!(bytes_of(&mut t.optimizer), optimizer);
    assert_eq!((t.steps(), t.refused_steps()), (3, 1));
}

// ---------------------------------------------------------------------------------
// Settings are not divergences
// ---------------------------------------------------------------------------------

fn setting_name(e: Error) -> &'static str {
    match e {
        Error::Setting { name, .. } => name,
        other => panic!("expected a setting error, got {other:?}"),
    }
}

/// A bad setting is refused as `Error::Setting` before the forward pass: with a NaN
/// target (which would otherwise be a refused loss) and with a NaN input (a refused
/// input), it counts neither as a step nor as a refused step, and `epoch` refuses it
/// before any batch.
#[test]
fn bad_settings_are_not_refused_steps() {
    fn run<O: Optimizer>(mut t: Trainer<Dense<1, 1>, Mse, O, 1, 1, 1>, name: &str) {
        for (x, y) in [(1.0, f32::NAN), (f32::NAN, 1.0), (1.0, 2.0)] {
            let e = t.train_step(&Matrix([[x]]), &Matrix([[y]])).unwrap_err();
            assert_eq!(setting_name(e), name, "x {x}, y {y}");
        }
        let data = Dataset::new(&[1.0], 1, &[2.0], 1).unwrap();
        let e = t.epoch(&data, &mut Pcg32::seed_from_u64(0)).unwrap_err();
        assert_eq!(setting_name(e), name);
        assert_eq!((t.steps(), t.refused_steps()), (0, 0), "{name}");
        assert_eq!((t.model.weight.0, t.model.bias.0), ([[0.0]], [0.0]));
    }
    let new = |o| Trainer::new(Dense::zeros(), Mse, o, 0);
    run(new(Sgd::new(f32::NAN)), "SGD lr");
    let adam = |c: AdamConfig| Trainer::new(Dense::zeros(), Mse, Adam::<2>::new(c), 0);
    run(
        adam(AdamConfig {
            betas: (1.0, 0.999),
            ..Default::default()
        }),
        "Adam betas.0",
    );
    run(
        adam(AdamConfig {
            weight_decay: f32::NAN,
            ..Default::default()
        }),
        "Adam weight_decay",
    );
    let mut clipped = new(Sgd::new(0.1));
    clipped.clip = Some(Clip::Norm(f32::NAN));
    run(clipped, "Clip::Norm");
    let mut penalised = new(Sgd::new(0.1));
    penalised.model.penalty = Penalty { l2: -1.0, l1: 0.0 };
    run(penalised, "Penalty l2");
}

/// β₁ = 1 used to print "training diverged"; now the setting and its value.
#[test]
fn a_bad_setting_says_which() {
    let mut t: Trainer<Dense<1, 1>, Mse, Adam<2>, 1, 1, 1> = Trainer::new(
        Dense::zeros(),
        Mse,
        Adam::new(AdamConfig {
            betas: (1.0, 0.999),
            ..Default::default()
        }),
        0,
    );
    let e = t
        .train_step(&Matrix([[1.0]]), &Matrix([[2.0]]))
        .unwrap_err();
    assert_eq!(e.to_string(), "Adam betas.0 = 1: must be in [0, 1)");
}

// ---------------------------------------------------------------------------------
// Guard
// ---------------------------------------------------------------------------------

type Small = Trainer<Dense<1, 1>, Mse, Sgd, 1, 1, 1>;

/// A refusal that can pass (one bad batch) is rolled back to the checkpoint at a
/// lower rate; a lasting one (weight decay 10 on a weight of 2¹²⁷) is handed back at
/// once, with nothing rolled back.
#[test]
fn guard_rolls_back_only_what_can_pass() {
    let (x, y) = (Matrix([[1.0]]), Matrix([[2.0]]));
    let mut t: Small = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.125), 0);
    let mut buf = vec![0u8; checkpoint::bytes::<Small>()];
    let mut guard = Guard::new(
        Divergence::RollBack {
            factor: 0.5,
            limit: 3,
        },
        &mut buf,
    )
    .unwrap();
    t.train_step(&x, &y).unwrap();
    guard.commit(&mut t).unwrap();
    let good = (t.model.weight.0, t.model.bias.0);
    t.train_step(&x, &y).unwrap();
    // One bad batch (a NaN target): back to the checkpoint at half the rate.
    let err = t.train_step(&x, &Matrix([[f32::NAN]])).unwrap_err();
    assert_eq!(guard.recover(&mut t, err), Ok(0.0625));
    assert_eq!((t.model.weight.0, t.model.bias.0), good);
    assert_eq!((guard.rollbacks(), t.steps(), t.refused_steps()), (1, 1, 1));

    // A lasting refusal comes back unchanged, and nothing is restored. (Input 0, so
    // that the loss stays finite.)
    t.model.weight.0 = [[2f32.powi(127)]];
    t.optimizer.weight_decay = 10.0;
    let err = t.train_step(&Matrix([[0.0]]), &y).unwrap_err();
    assert!(matches!(
        err,
        Error::Diverged {
            step: 2,
            cause: Refusal::Update {
                tensor: 0,
                lasting: true,
                ..
            },
            ..
        }
    ));
    assert_eq!(guard.recover(&mut t, err), Err(err));
    assert_eq!(t.model.weight.0, [[2f32.powi(127)]]);
    assert_eq!(t.optimizer.lr, 0.0625);
    assert_eq!((guard.rollbacks(), t.refused_steps()), (1, 2));
}

/// Finite gradients whose sum of magnitudes overflows: the trainer's check, which asks
/// a bound (`optim::magnitude`, `Σ|g|`) first, finds it infinite and must then scan the
/// values and accept the step, and SGD, whose proven update needs finite bounds, must
/// take its checked path to the same result. Powers of two, so every value is exact:
/// `x = (2⁹⁵, 2⁹⁵)`, `w = (2⁻⁶⁵, 2⁻⁶⁵)`, `ŷ = 2³¹`, target 0, loss `2⁶²`,
/// `∂J/∂ŷ = 2³²`, `∂J/∂w = (2¹²⁷, 2¹²⁷)` (their sum is `2¹²⁸`, which overflows),
/// `∂J/∂b = 2³²`; with `η = 2⁻¹⁰⁰` the weights become `2⁻⁶⁵ − 2²⁷ = −2²⁷` (the small
/// term below half an ulp) and the bias `−2⁻⁶⁸`.
#[test]
fn finite_gradients_whose_bound_overflows_are_accepted() {
    let mut t: Trainer<Dense<2, 1>, Mse, Sgd, 1, 2, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(2f32.powi(-100)), 0);
    t.model.weight.0 = [[2f32.powi(-65); 2]];
    let x = Matrix([[2f32.powi(95); 2]]);
    assert!(microtrain::kernels::optim::magnitude(&[2f32.powi(127); 2]).is_infinite());
    let risk = t.train_step(&x, &Matrix([[0.0]])).unwrap();
    assert_eq!(risk.data, 2f32.powi(62));
    assert_eq!(t.model.weight.0, [[-2f32.powi(27); 2]]);
    assert_eq!(t.model.bias.0, [-2f32.powi(-68)]);
    assert_eq!((t.steps(), t.refused_steps()), (1, 0));
}
