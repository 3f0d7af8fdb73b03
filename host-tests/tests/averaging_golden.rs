//! Weight averaging against PyTorch's `torch.optim.swa_utils` on a fixed trace
//! (`reference/make_averaging.py`, `reference/golden/averaging/mlp_bn.txt`):
//! `Linear(4, 6) – BatchNorm1d(6) – ReLU – Linear(6, 3)`, 16 SGD steps, SWA from step
//! 5, EMA (decay 0.9 in f32, buffers averaged), `update_bn` on 30 samples in batches of
//! 8.
//!
//! Tolerance: `1e-5·max(1, max|torch|)` per tensor (`golden::assert_matches`). The
//! file's header measures PyTorch's own float32 run against its float64 reference at
//! ≤ 3.5e-7 on every tensor, the theta trajectory included; the averages themselves add
//! one rounding per fold. The two tests that start from PyTorch's numbers (its
//! trajectory, its averaged weights) are held to 1e-6.

use host_tests::golden::{assert_matches, Case};
use microtrain::average::{update_bn, Averaged, Weights};
use microtrain::layers::{BatchNorm, Dense, Layer, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Matrix, Seq, Zeroed};

type Net = Seq![Dense<4, 6>, BatchNorm<6>, Relu, Dense<6, 3>];
const P: usize = Net::COUNT;
const NB: usize = Net::BUFFERS;
const STEPS: usize = 16;
const SWA_START: u32 = 5;
const BN_SAMPLES: usize = 30;
const PARAMS: [&str; 6] = [
    "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias",
];

fn case() -> Case {
    Case::load_from("averaging", "mlp_bn")
}

fn net() -> Net {
    seq![Dense::zeros(), BatchNorm::new(), Relu, Dense::zeros()]
}

fn ema_decay() -> f32 {
    0.9
}

/// The model's weights as PyTorch's tensors `<tag>.<name>`, flat (PyTorch's Linear
/// weight `(out, in)` is our `Dense` layout).
fn golden_weights(c: &Case, tag: &str) -> Weights<P, NB> {
    let mut w = Weights::zeros();
    let params: Vec<f32> = PARAMS
        .iter()
        .flat_map(|k| c.f32(&format!("{tag}{k}")))
        .collect();
    let buffers: Vec<f32> = ["1.running_mean", "1.running_var"]
        .iter()
        .flat_map(|k| c.f32(&format!("{tag}{k}")))
        .collect();
    w.params.copy_from_slice(&params);
    w.buffers.copy_from_slice(&buffers);
    w
}

/// `(params, buffers)` of PyTorch's tensors `<tag>.*` in f64.
fn golden_flat(c: &Case, tag: &str) -> (Vec<f64>, Vec<f64>) {
    let params = PARAMS
        .iter()
        .flat_map(|k| c.raw(&format!("{tag}.{k}")).1.to_vec())
        .collect();
    let buffers = ["1.running_mean", "1.running_var"]
        .iter()
        .flat_map(|k| c.raw(&format!("{tag}.{k}")).1.to_vec())
        .collect();
    (params, buffers)
}

fn check_weights(what: &str, ours: &Weights<P, NB>, c: &Case, tag: &str, buffers: bool, rel: f64) {
    let (params, bufs) = golden_flat(c, tag);
    assert_matches(&format!("{what} parameters"), &ours.params, &params, rel);
    if buffers {
        assert_matches(&format!("{what} buffers"), &ours.buffers, &bufs, rel);
    }
}

fn eval_outputs(model: &mut Net, c: &Case) -> Vec<f32> {
    let x: Batch<8, 4> = Matrix(as_rows(&c.f32("x_eval")));
    let mut t: Trainer<Net, CrossEntropy, Sgd, 8, 4, 3> =
        Trainer::new(*model, CrossEntropy::default(), Sgd::new(0.0), 0);
    t.predict(&x).unwrap().as_slice().to_vec()
}

fn as_rows<const R: usize, const C: usize>(v: &[f32]) -> [[f32; C]; R] {
    assert_eq!(v.len(), R * C);
    core::array::from_fn(|r| core::array::from_fn(|j| v[r * C + j]))
}

/// SWA and EMA fed PyTorch's own trajectory: the averaging alone, without training.
#[test]
fn averages_of_pytorch_trajectory_match_swa_utils() {
    let c = case();
    let mut model = net();
    let mut swa = Averaged::<P, NB>::swa(SWA_START);
    let mut ema = Averaged::<P, NB>::ema(ema_decay())
        .unwrap()
        .average_buffers(true);
    for t in 0..STEPS {
        let theta = c.f32(&format!("theta.{t}"));
        let mut w = Weights::<P, NB>::zeros();
        w.params.copy_from_slice(&theta[..P]);
        w.buffers.copy_from_slice(&theta[P..]);
        w.copy_to(&mut model);
        assert_eq!(swa.update(&mut model).unwrap(), t as u32 >= SWA_START);
        assert!(ema.update(&mut model).unwrap());
    }
    assert_eq!((swa.count(), ema.count()), (11, 16));
    check_weights("SWA", swa.weights(), &c, "swa", false, 1e-6);
    // SWA copies the buffers (use_buffers=False): those of the last step.
    let last = c.raw(&format!("theta.{}", STEPS - 1)).1;
    assert_matches("SWA buffers", &swa.weights().buffers, &last[P..], 1e-6);
    check_weights("EMA", ema.weights(), &c, "ema", true, 1e-6);
}

/// `update_bn` on PyTorch's SWA weights, then the eval outputs with its statistics.
#[test]
fn update_bn_of_pytorch_average_matches_swa_utils() {
    let c = case();
    let mut model = net();
    golden_weights(&c, "swa.").copy_to(&mut model);
    // Wrong running statistics to start with: update_bn must not depend on them.
    model.1 .0.running_mean.0 = [7.0; 6];
    model.1 .0.running_var.0 = [0.5; 6];
    let x = c.f32("x");
    let labels = vec![0u32; BN_SAMPLES];
    let data = Dataset::new(&x[..BN_SAMPLES * 4], 4, &labels, 1).unwrap();
    let mut input = Batch::<8, 4>::zeros();
    let mut cache = <Net as Layer<Batch<8, 4>>>::Cache::ZERO;
    assert_eq!(
        update_bn(&mut model, &data, &mut input, &mut cache).unwrap(),
        4
    );
    assert_eq!(model.1 .0.cumulative, None);
    assert_eq!(model.1 .0.momentum, 0.1);
    assert_matches(
        "running_mean",
        &model.1 .0.running_mean.0,
        c.raw("swa.1.running_mean").1,
        1e-6,
    );
    assert_matches(
        "running_var",
        &model.1 .0.running_var.0,
        c.raw("swa.1.running_var").1,
        1e-6,
    );
    assert_matches(
        "SWA y_eval",
        &eval_outputs(&mut model, &c),
        c.raw("swa.y_eval").1,
        1e-6,
    );
}

/// The whole recipe in microtrain: the trainer's 16 steps, both averages, `update_bn`
/// on the SWA weights swapped into the trainer's model, and the eval outputs of the
/// final model and both averages.
#[test]
fn training_trace_with_averages_matches_pytorch() {
    let c = case();
    let mut t: Trainer<Net, CrossEntropy, Sgd, 8, 4, 3> =
        Trainer::new(net(), CrossEntropy::default(), Sgd::new(0.2), 0);
    let init: Vec<f32> = PARAMS.iter().flat_map(|k| c.f32(k)).collect();
    let mut w = Weights::<P, NB>::zeros();
    w.copy_from(&mut t.model);
    w.params.copy_from_slice(&init);
    w.copy_to(&mut t.model);

    let x = c.f32("x");
    let y: Vec<u32> = c.raw("y").1.iter().map(|&v| v as u32).collect();
    let mut swa = Averaged::<P, NB>::swa(SWA_START);
    let mut ema = Averaged::<P, NB>::ema(ema_decay())
        .unwrap()
        .average_buffers(true);
    for step in 0..STEPS {
        let b = step % 4;
        let xb: Batch<8, 4> = Matrix(as_rows(&x[b * 32..(b + 1) * 32]));
        let yb: [u32; 8] = y[b * 8..(b + 1) * 8].try_into().unwrap();
        t.train_step(&xb, &yb).unwrap();
        swa.update(&mut t.model).unwrap();
        ema.update(&mut t.model).unwrap();
        let mut now = Weights::<P, NB>::zeros();
        now.copy_from(&mut t.model);
        let theta = c.raw(&format!("theta.{step}")).1;
        assert_matches(
            &format!("theta.{step} parameters"),
            &now.params,
            &theta[..P],
            1e-5,
        );
        assert_matches(
            &format!("theta.{step} buffers"),
            &now.buffers,
            &theta[P..],
            1e-5,
        );
    }
    assert_matches(
        "final y_eval",
        &eval_outputs(&mut t.model, &c),
        c.raw("final.y_eval").1,
        1e-5,
    );
    check_weights("EMA", ema.weights(), &c, "ema", true, 1e-5);
    check_weights("SWA", swa.weights(), &c, "swa", false, 1e-5);

    let trained = t.model;
    swa.swap(&mut t.model);
    let data = Dataset::new(&x[..BN_SAMPLES * 4], 4, &y[..BN_SAMPLES], 1).unwrap();
    let mut input = Batch::<8, 4>::zeros();
    let mut cache = <Net as Layer<Batch<8, 4>>>::Cache::ZERO;
    update_bn(&mut t.model, &data, &mut input, &mut cache).unwrap();
    let mut recomputed = Weights::<P, NB>::zeros();
    recomputed.copy_from(&mut t.model);
    check_weights("SWA after update_bn", &recomputed, &c, "swa", true, 1e-5);
    assert_matches(
        "SWA y_eval",
        &eval_outputs(&mut t.model, &c),
        c.raw("swa.y_eval").1,
        1e-5,
    );
    swa.swap(&mut t.model);
    assert_eq!(
        t.model, trained,
        "swapping back restores the trained model exactly"
    );

    let mut ema_model = net();
    ema.copy_to(&mut ema_model);
    assert_matches(
        "EMA y_eval",
        &eval_outputs(&mut ema_model, &c),
        c.raw("ema.y_eval").1,
        1e-5,
    );
}
