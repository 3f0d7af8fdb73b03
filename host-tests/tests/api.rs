//! The API found wanting when the crate was used from outside (issue 10, item 6):
//! PyTorch's default initialisation, `const` optimizer defaults, one-sample and
//! probability inference that refuses bad input, schedules behind `dyn`, and the two
//! exponential decays told apart.
//!
//! Statistics as in `tests/init.rs`: `n` draws of `U(−a, a)` have mean `0 ± a/√(3n)`
//! and variance `a²/3 ± (a²/3)·√(0.8/n)` (kurtosis 9/5); every check allows 6 standard
//! errors, and the seeds are fixed.

use host_tests::reference;
use microtrain::init::{init_params, HeNormal, HeUniform, Init, Scheme, TorchDefault};
use microtrain::layers::{BatchNorm, Conv2d, Dense, Flatten, ParamKind, Params, Relu};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, NAdam, NAdamConfig, RAdam, RAdamConfig, RmsProp,
    RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::schedule::{Cosine, Exponential, NaturalExpDecay, Schedule, Scheduler, StepDecay};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Error, Image, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

// ---------------------------------------------------------------------------------
// 1. PyTorch's default nn.Linear / nn.Conv2d initialisation
// ---------------------------------------------------------------------------------

/// PyTorch's `reset_parameters`, in f64: `kaiming_uniform_(w, a=√5)` draws from
/// `U(−b, b)` with `gain = √(2/(1 + a²))`, `std = gain/√fan_in`, `b = √3·std`; the bias
/// bound is `1/√fan_in` (0 for `fan_in = 0`).
fn torch_weight_bound(fan_in: usize) -> f64 {
    let a = 5f64.sqrt();
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    3f64.sqrt() * gain / (fan_in as f64).sqrt()
}

fn torch_bias_bound(fan_in: usize) -> f64 {
    if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    }
}

/// Every draw within `[−a, a]`, mean 0 and variance `a²/3` within 6 standard
/// errors, and both ends reached within `reach` (a relative margin).
fn assert_uniform(what: &str, w: &[f32], a: f64, reach: f64) {
    let n = w.len() as f64;
    let limit = a * (1.0 + 4.0 / 16_777_216.0);
    assert!(
        w.iter().all(|&v| f64::from(v).abs() <= limit),
        "{what}: a draw outside ±{a}"
    );
    let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = w
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let sigma2 = a * a / 3.0;
    assert!(
        mean.abs() <= 6.0 * (sigma2 / n).sqrt(),
        "{what}: mean {mean:e} (a = {a})"
    );
    assert!(
        (var - sigma2).abs() <= 6.0 * sigma2 * (0.8 / n).sqrt(),
        "{what}: variance {var} vs a²/3 = {sigma2} (a = {a})"
    );
    let max = w.iter().fold(f32::MIN, |m, &v| m.max(v));
    let min = w.iter().fold(f32::MAX, |m, &v| m.min(v));
    assert!(
        f64::from(max) > (1.0 - reach) * a && f64::from(min) < -(1.0 - reach) * a,
        "{what}: range [{min}, {max}] does not reach ±{a}"
    );
}

#[test]
fn torch_default_bound_is_pytorchs_formula() {
    for fan_in in [1, 2, 3, 9, 16, 27, 50, 784, 1000] {
        let got = f64::from(Init::TorchDefault.bound(fan_in, 7).unwrap());
        let want = torch_weight_bound(fan_in);
        // One correctly rounded sqrt and one quotient: 2 roundings.
        assert!(
            (got - want).abs() <= 2.0 * want / 16_777_216.0,
            "fan_in {fan_in}: {got} vs PyTorch {want}"
        );
        // kaiming_uniform_(a=√5) and the bias bound are the same number.
        assert!((want - torch_bias_bound(fan_in)).abs() < 1e-15);
        assert_eq!(Init::TorchDefault.std_dev(fan_in, 7), None);
    }
}

/// `nn.Linear(50, 400)`: 20 000 weights and 400 biases, both `U(±1/√50)`; the
/// fan-out (400) plays no part. A bound of `1/fan_in` or `1/√fan_out` would miss the
/// variance by a factor 50 or 8.
#[test]
fn torch_default_linear_draws_weights_and_biases() {
    let mut d = Dense::<50, 400>::zeros();
    d.visit(&mut |p| p.value.fill(9.0));
    init_params(&mut d, TorchDefault, &mut Pcg32::seed_from_u64(11));
    let a = torch_weight_bound(50);
    assert_uniform("Linear weight", d.weight.as_slice(), a, 0.001);
    assert_uniform("Linear bias", &d.bias.0, torch_bias_bound(50), 0.05);
}

/// Biases on their own, many of them: `nn.Linear(16, 4000)` has 4000 biases
/// `U(±1/4)`, from the weight's fan-in 16, not the fan-out 4000.
#[test]
fn torch_default_bias_uses_the_weights_fan_in() {
    let mut d = Dense::<16, 4000>::zeros();
    init_params(&mut d, Init::TorchDefault, &mut Pcg32::seed_from_u64(12));
    assert_uniform("Linear bias", &d.bias.0, 0.25, 0.01);
    assert_uniform("Linear weight", d.weight.as_slice(), 0.25, 0.001);
}

/// `nn.Conv2d(3, 64, 3)`: PyTorch's fan-in is `in_channels · kh · kw = 27` (from the
/// weight's shape `(64, 3, 3, 3)`); `Param::fan_in` must say the same, and weights and
/// biases are `U(±1/√27)`.
#[test]
fn torch_default_conv_uses_pytorchs_fan_in() {
    let mut c = Conv2d::<3, 64, 3, 1, 1, 8, 8>::zeros();
    let mut fans = Vec::new();
    c.visit(&mut |p| fans.push((p.kind, p.fan_in)));
    let pytorch_fan_in = 3 * 3 * 3;
    assert_eq!(
        fans,
        [
            (ParamKind::Weight, pytorch_fan_in),
            (ParamKind::Bias, pytorch_fan_in)
        ]
    );
    init_params(&mut c, TorchDefault, &mut Pcg32::seed_from_u64(13));
    let w: Vec<f32> = c
        .weight
        .iter()
        .flatten()
        .flatten()
        .flatten()
        .copied()
        .collect();
    let a = torch_weight_bound(pytorch_fan_in);
    assert_uniform("Conv2d weight", &w, a, 0.01);
    let limit = torch_bias_bound(pytorch_fan_in) * (1.0 + 1e-6);
    assert!(c.bias.0.iter().all(|&b| f64::from(b).abs() <= limit));
    // 64 draws of U(±0.19): some beyond half the bound on each side (P(miss) = 2⁻⁶³).
    assert!(c.bias.0.iter().any(|&b| f64::from(b) > 0.5 * limit));
    assert!(c.bias.0.iter().any(|&b| f64::from(b) < -0.5 * limit));
}

/// A normalisation layer keeps PyTorch's `γ = 1`, `β = 0` under `TorchDefault`: only
/// a bias that follows its layer's weight is drawn.
#[test]
fn torch_default_leaves_norm_shift_at_zero() {
    let mut net: Seq![Dense<8, 6>, BatchNorm<6>, Dense<6, 2>] =
        seq![Dense::zeros(), BatchNorm::new(), Dense::zeros()];
    net.visit(&mut |p| p.value.fill(5.0));
    init_params(&mut net, TorchDefault, &mut Pcg32::seed_from_u64(14));
    assert_eq!(net.1 .0.gamma.0, [1.0; 6]);
    assert_eq!(net.1 .0.beta.0, [0.0; 6]);
    assert!(net
        .0
        .bias
        .0
        .iter()
        .all(|&b| b != 0.0 && f64::from(b).abs() <= 1.0 / 8f64.sqrt()));
    assert!(net
        .1
         .1
        .bias
        .0
        .iter()
        .all(|&b| b != 0.0 && f64::from(b).abs() <= 1.0 / 6f64.sqrt()));
}

/// The older schemes keep their bits: biases zero, and no generator draw spent on
/// them, so the weights equal filling each weight tensor in turn from one generator.
#[test]
fn existing_schemes_draw_no_biases() {
    fn check<S: Scheme + std::fmt::Debug>(scheme: S) {
        let mut net: Seq![Dense<5, 4>, Relu, Dense<4, 3>] =
            seq![Dense::zeros(), Relu, Dense::zeros()];
        net.visit(&mut |p| p.value.fill(2.0));
        init_params(&mut net, scheme, &mut Pcg32::seed_from_u64(15));
        let mut rng = Pcg32::seed_from_u64(15);
        let (mut w1, mut w2) = ([0.0f32; 20], [0.0f32; 12]);
        scheme.fill(&mut w1, 5, 4, &mut rng);
        scheme.fill(&mut w2, 4, 3, &mut rng);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(net.0.weight.as_slice()), bits(&w1), "{scheme:?}");
        assert_eq!(bits(net.1 .1.weight.as_slice()), bits(&w2), "{scheme:?}");
        assert_eq!(net.0.bias.0, [0.0; 4], "{scheme:?}");
        assert_eq!(net.1 .1.bias.0, [0.0; 3], "{scheme:?}");
    }
    check(HeNormal);
    check(HeUniform);
    check(Init::XavierNormal);
    check(Init::XavierUniform);
    check(Init::Normal { std: 0.1 });
}

/// `Init::TorchDefault` (run time) and `TorchDefault` (compile time) give the same
/// bits, biases included.
#[test]
fn torch_default_enum_and_type_agree() {
    let (mut a, mut b) = (Dense::<7, 5>::zeros(), Dense::<7, 5>::zeros());
    init_params(&mut a, TorchDefault, &mut Pcg32::seed_from_u64(16));
    init_params(&mut b, Init::TorchDefault, &mut Pcg32::seed_from_u64(16));
    assert_eq!(a, b);
    assert_ne!(a.bias.0, [0.0; 5]);
}

// ---------------------------------------------------------------------------------
// 2. const optimizer defaults: a static trainer per optimizer
// ---------------------------------------------------------------------------------

type Small = Dense<3, 1>;
static SGD: Trainer<Small, Mse, Sgd, 2, 3, 1> =
    Trainer::new(Dense::zeros(), Mse, Sgd::DEFAULT.with_lr(0.1), 0);
static MOMENTUM: Trainer<Small, Mse, SgdMomentum<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    SgdMomentum::new(SgdMomentumConfig::DEFAULT.with_lr(0.1)),
    0,
);
static ADAGRAD: Trainer<Small, Mse, Adagrad<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    Adagrad::new(AdagradConfig::DEFAULT.with_lr(0.1)),
    0,
);
static RMSPROP: Trainer<Small, Mse, RmsProp<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    RmsProp::new(RmsPropConfig::DEFAULT.with_lr(0.1)),
    0,
);
static ADAM: Trainer<Small, Mse, Adam<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    Adam::new(AdamConfig::DEFAULT.with_lr(0.1)),
    0,
);
static NADAM: Trainer<Small, Mse, NAdam<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    NAdam::new(NAdamConfig::DEFAULT.with_lr(0.1)),
    0,
);
static RADAM: Trainer<Small, Mse, RAdam<4>, 2, 3, 1> = Trainer::new(
    Dense::zeros(),
    Mse,
    RAdam::new(RAdamConfig::DEFAULT.with_lr(0.1)),
    0,
);

#[test]
fn const_defaults_equal_default_and_with_lr_changes_only_lr() {
    assert_eq!(Sgd::DEFAULT, Sgd::default());
    assert_eq!(SgdMomentumConfig::DEFAULT, SgdMomentumConfig::default());
    assert_eq!(AdagradConfig::DEFAULT, AdagradConfig::default());
    assert_eq!(RmsPropConfig::DEFAULT, RmsPropConfig::default());
    assert_eq!(AdamConfig::DEFAULT, AdamConfig::default());
    assert_eq!(NAdamConfig::DEFAULT, NAdamConfig::default());
    assert_eq!(RAdamConfig::DEFAULT, RAdamConfig::default());
    // PyTorch's learning rates, written out here, not copied from the crate.
    assert_eq!(
        [
            Sgd::DEFAULT.lr,
            SgdMomentumConfig::DEFAULT.lr,
            AdagradConfig::DEFAULT.lr,
            RmsPropConfig::DEFAULT.lr,
            AdamConfig::DEFAULT.lr,
            NAdamConfig::DEFAULT.lr,
            RAdamConfig::DEFAULT.lr,
        ],
        [1e-3, 1e-3, 1e-2, 1e-2, 1e-3, 2e-3, 1e-3]
    );
    assert_eq!(
        Sgd::DEFAULT.with_lr(0.5),
        Sgd {
            lr: 0.5,
            ..Sgd::default()
        }
    );
    assert_eq!(
        SgdMomentumConfig::DEFAULT.with_lr(0.5),
        SgdMomentumConfig {
            lr: 0.5,
            ..Default::default()
        }
    );
    assert_eq!(
        AdagradConfig::DEFAULT.with_lr(0.5),
        AdagradConfig {
            lr: 0.5,
            ..Default::default()
        }
    );
    assert_eq!(
        RmsPropConfig::DEFAULT.with_lr(0.5),
        RmsPropConfig {
            lr: 0.5,
            ..Default::default()
        }
    );
    assert_eq!(
        NAdamConfig::DEFAULT.with_lr(0.5),
        NAdamConfig {
            lr: 0.5,
            ..Default::default()
        }
    );
    assert_eq!(
        RAdamConfig::DEFAULT.with_lr(0.5),
        RAdamConfig {
            lr: 0.5,
            ..Default::default()
        }
    );
}

#[test]
fn static_trainers_hold_the_configured_rate() {
    use microtrain::optim::Optimizer;
    let rates = [
        SGD.optimizer.learning_rate(),
        MOMENTUM.optimizer.learning_rate(),
        ADAGRAD.optimizer.learning_rate(),
        RMSPROP.optimizer.learning_rate(),
        ADAM.optimizer.learning_rate(),
        NADAM.optimizer.learning_rate(),
        RADAM.optimizer.learning_rate(),
    ];
    assert_eq!(rates, [0.1; 7]);
}

// ---------------------------------------------------------------------------------
// 3. Inference: one sample, probabilities, refused input
// ---------------------------------------------------------------------------------

type Mlp = Seq![Dense<3, 5>, Relu, Dense<5, 4>];
type MlpTrainer = Trainer<Mlp, CrossEntropy, Sgd, 6, 3, 4>;

fn mlp_trainer(seed: u64) -> MlpTrainer {
    let mut t: MlpTrainer = Trainer::new(
        seq![Dense::zeros(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        0,
    );
    init_params(&mut t.model, TorchDefault, &mut Pcg32::seed_from_u64(seed));
    t
}

/// The MLP's logits in f64 from its weights: `W₂·relu(W₁x + b₁) + b₂`.
fn mlp_reference(t: &MlpTrainer, x: &[f32; 3]) -> Vec<f64> {
    let (l1, l2) = (&t.model.0, &t.model.1 .1);
    let h: Vec<f64> = (0..5)
        .map(|o| {
            let z = f64::from(l1.bias.0[o])
                + (0..3)
                    .map(|i| f64::from(l1.weight.0[o][i]) * f64::from(x[i]))
                    .sum::<f64>();
            z.max(0.0)
        })
        .collect();
    (0..4)
        .map(|o| {
            f64::from(l2.bias.0[o])
                + (0..5)
                    .map(|i| f64::from(l2.weight.0[o][i]) * h[i])
                    .sum::<f64>()
        })
        .collect()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn predict_one_and_probabilities_match_an_f64_forward_pass() {
    let mut t = mlp_trainer(21);
    let mut rng = host_tests::Rng::new(22);
    let mut x = Matrix::<6, 3>::zeros();
    x.as_mut_slice()
        .copy_from_slice(&rng.uniform_vec(18, -2.0, 2.0));
    let batch = *t.predict(&x).unwrap();
    let proba = *t.predict_proba(&x).unwrap();
    for r in 0..6 {
        let sample = x.0[r];
        let want = mlp_reference(&t, &sample);
        assert_close("predict row", &batch.0[r], &want, 1e-5);
        let one = t.predict_one(&sample).unwrap();
        assert_close("predict_one", &one, &want, 1e-5);
        let p_want = reference::softmax(&want.iter().map(|&v| v as f32).collect::<Vec<_>>());
        assert_close("predict_proba row", &proba.0[r], &p_want, 1e-5);
        let p_one = t.predict_proba_one(&sample).unwrap();
        assert_close("predict_proba_one", &p_one, &p_want, 1e-5);
        assert!((p_one.iter().map(|&p| f64::from(p)).sum::<f64>() - 1.0).abs() < 1e-6);
    }
}

/// A convolutional model takes one image as its `H·W·C` values, channels-last, and
/// gives row 0 of the batch prediction.
#[test]
fn predict_one_takes_an_image_in_storage_order() {
    type Cnn = Seq![Conv2d<2, 3, 3, 1, 1, 4, 4>, Relu, Flatten<48>, Dense<48, 5>];
    type X = Image<3, 4, 4, 2>;
    let mut t: Trainer<Cnn, CrossEntropy, Sgd, 3, 32, 5, X> = Trainer::new(
        seq![Conv2d::zeros(), Relu, Flatten, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        0,
    );
    init_params(&mut t.model, TorchDefault, &mut Pcg32::seed_from_u64(23));
    let mut rng = host_tests::Rng::new(24);
    let mut x = X::zeros();
    x.as_mut_slice()
        .copy_from_slice(&rng.uniform_vec(96, -1.0, 1.0));
    let batch = *t.predict(&x).unwrap();
    for r in 0..3 {
        let sample: [f32; 32] = x.as_slice()[r * 32..(r + 1) * 32].try_into().unwrap();
        let one = t.predict_one(&sample).unwrap();
        let want: Vec<f64> = batch.0[r].iter().map(|&v| f64::from(v)).collect();
        assert_close("conv predict_one", &one, &want, 1e-6);
    }
}

#[test]
fn inference_refuses_non_finite_input() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for index in [0, 2] {
            let mut t = mlp_trainer(25);
            let model = t.model;
            let mut one = [0.5f32; 3];
            one[index] = bad;
            let refused = Err(Error::NonFinite {
                what: "prediction input",
                index,
            });
            assert_eq!(t.predict_one(&one), refused);
            assert_eq!(t.predict_proba_one(&one), refused);
            let mut x = Matrix::<6, 3>::zeros();
            x.0[4][index] = bad;
            let refused_batch = Err(Error::NonFinite {
                what: "prediction input",
                index: 4 * 3 + index,
            });
            assert_eq!(t.predict(&x).copied(), refused_batch);
            assert_eq!(t.predict_proba(&x).copied(), refused_batch);
            assert_eq!(t.model, model, "inference never touches the model");
            assert_eq!((t.steps(), t.refused_steps()), (0, 0));
        }
    }
}

/// A refused input leaves the trainer usable: the next good prediction is the one
/// a fresh trainer gives.
#[test]
fn refused_prediction_changes_nothing_after() {
    let (mut a, mut b) = (mlp_trainer(26), mlp_trainer(26));
    assert!(a.predict_one(&[f32::NAN, 0.0, 0.0]).is_err());
    let x = [0.3, -1.2, 0.7];
    assert_eq!(a.predict_one(&x).unwrap(), b.predict_one(&x).unwrap());
}

#[test]
fn accuracy_is_none_for_regression_and_some_for_classification() {
    let mut reg: Trainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    let data = Dataset::new(&[1.0, 2.0], 1, &[1.0, 2.0], 1).unwrap();
    assert_eq!(reg.evaluate(&data).unwrap().accuracy, None);
    let mut cls: Trainer<Dense<1, 2>, CrossEntropy, Sgd, 2, 1, 2> =
        Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    cls.model.weight.0 = [[-1.0], [1.0]];
    // x = 1 → class 1 (right), x = −1 → class 0 (labelled 1: wrong).
    let data = Dataset::new(&[1.0, -1.0], 1, &[1u32, 1], 1).unwrap();
    assert_eq!(cls.evaluate(&data).unwrap().accuracy, Some(0.5));
}

// ---------------------------------------------------------------------------------
// 5. The two exponential decays
// ---------------------------------------------------------------------------------

/// `NaturalExpDecay` is `α₀·e^(−kt)` and `Exponential` is `α₀·γ^t` (PyTorch's
/// `ExponentialLR`), against f64; they agree for `γ = e^(−k)` and differ otherwise.
#[test]
fn natural_exp_decay_and_exponential_follow_their_formulas() {
    let (base, k, gamma) = (0.1f32, 0.3f32, 0.9f32);
    let natural = NaturalExpDecay::new(base, k);
    let geometric = Exponential::new(base, gamma);
    let same = Exponential::new(base, (-k).exp());
    for t in [0u32, 1, 2, 5, 10, 40] {
        let tf = f64::from(t);
        let want_natural = f64::from(base) * (-f64::from(k) * tf).exp();
        let want_geometric = f64::from(base) * f64::from(gamma).powf(tf);
        let rel = |got: f32, want: f64| (f64::from(got) - want).abs() / want;
        assert!(
            rel(natural.learning_rate(t), want_natural) < 1e-5,
            "t = {t}"
        );
        assert!(
            rel(geometric.learning_rate(t), want_geometric) < 1e-5,
            "t = {t}"
        );
        assert!(rel(same.learning_rate(t), want_natural) < 1e-5, "t = {t}");
        if t > 0 {
            assert!(
                rel(natural.learning_rate(t), want_geometric) > 1e-2,
                "t = {t}"
            );
        }
    }
    #[allow(deprecated)]
    let old = microtrain::schedule::ExponentialDecay::new(base, k);
    assert_eq!(old, natural);
}

// ---------------------------------------------------------------------------------
// 6. Schedules behind `dyn`
// ---------------------------------------------------------------------------------

/// The rates a `Scheduler` writes into an optimizer over `epochs` epochs.
fn written_rates<S: Schedule>(schedule: S, epochs: u32) -> Vec<u32> {
    let mut sgd = Sgd::new(1.0);
    let mut scheduler = Scheduler::start(schedule, &mut sgd);
    let mut out = Vec::new();
    for _ in 0..epochs {
        out.push(microtrain::optim::Optimizer::learning_rate(&sgd).to_bits());
        scheduler.step(&mut sgd);
    }
    out
}

/// `&mut dyn Schedule` (also reborrowed from a caller's `Box<dyn Schedule>`) drives a
/// `Scheduler` to the same bits as the concrete schedule, and forwards `check`.
#[test]
fn dyn_schedules_drive_a_scheduler() {
    let (step, cosine) = (StepDecay::new(0.1, 3), Cosine::new(0.1, 7));
    {
        let expected_step = written_rates(step, 10);
        let expected_cosine = written_rates(cosine, 10);
        assert_ne!(expected_step, expected_cosine);

        let (mut s, mut c) = (step, cosine);
        let by_mut: [&mut dyn Schedule; 2] = [&mut s, &mut c];
        let got: Vec<Vec<u32>> = by_mut.into_iter().map(|d| written_rates(d, 10)).collect();
        assert_eq!(got, [expected_step.clone(), expected_cosine.clone()]);

        let mut boxed: Vec<Box<dyn Schedule>> = vec![Box::new(step), Box::new(cosine)];
        let got: Vec<Vec<u32>> = boxed
            .iter_mut()
            .map(|d| written_rates(&mut **d, 10))
            .collect();
        assert_eq!(got, [expected_step, expected_cosine]);
    }
    let mut bad = Exponential::new(0.1, f32::NAN);
    let mut boxed: Box<dyn Schedule> = Box::new(bad);
    assert!(boxed.check().is_err());
    let by_mut: &mut dyn Schedule = &mut bad;
    assert!(Schedule::check(&by_mut).is_err());
    let mut sgd = Sgd::new(0.5);
    assert!(Scheduler::new(&mut *boxed).try_apply(&mut sgd).is_err());
    assert_eq!(microtrain::optim::Optimizer::learning_rate(&sgd), 0.5);
}
