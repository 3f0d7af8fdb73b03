//! Gradient accumulation, penalties and clipping in the trainer.

use microtrain::layers::{Dense, Params, Penalty, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::{Adam, AdamConfig, Sgd};
use microtrain::train::{Clip, Dataset, Trainer};
use microtrain::{seq, Seq};
use rand_pcg::rand_core::SeedableRng;

type Net = Seq![Dense<3, 5>, Tanh, Dense<5, 2>];

fn net(seed: u64) -> Net {
    let mut n: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    let mut rng = rand_pcg::Pcg32::seed_from_u64(seed);
    microtrain::init::init_params(&mut n, microtrain::init::Init::XavierUniform, &mut rng);
    n
}

fn params(model: &mut impl Params) -> Vec<f32> {
    let mut out = vec![];
    model.visit(&mut |p| out.extend_from_slice(p.value));
    out
}

fn data() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..36).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let y: Vec<f32> = (0..24).map(|i| ((i * 5 % 7) as f32 - 3.0) / 3.0).collect();
    (x, y)
}

/// k micro-batches of B equal one batch of k·B: the same mean gradient, so the same
/// update up to the order of the additions. The bound: each gradient element is a
/// sum of 12 terms of size ≲ 1 computed in two groupings; the reassociation error is
/// below 12·2⁻²⁴·Σ|terms| ≈ 1e-6 per step, and Adam's update is bounded by lr per
/// step, so 3 epochs of 12 samples stay within 1e-5 of each other.
#[test]
fn accumulated_micro_batches_equal_the_large_batch() {
    let (x, y) = data();
    let d = Dataset::new(&x, 3, &y, 2).unwrap();
    let cfg = AdamConfig {
        lr: 0.01,
        ..Default::default()
    };
    let mut small: Trainer<Net, Mse, Adam<32>, 2, 3, 2> =
        Trainer::new(net(1), Mse, Adam::new(cfg), 0);
    let mut large: Trainer<Net, Mse, Adam<32>, 6, 3, 2> =
        Trainer::new(net(1), Mse, Adam::new(cfg), 0);
    for epoch in 0..3 {
        let a = small
            .epoch_accumulated(&d, &mut rand_pcg::Pcg32::seed_from_u64(epoch), 3)
            .unwrap();
        let b = large
            .epoch(&d, &mut rand_pcg::Pcg32::seed_from_u64(epoch))
            .unwrap();
        assert!(
            (a.data - b.data).abs() <= 1e-5 * b.data.abs().max(1.0),
            "epoch {epoch}: {a:?} vs {b:?}"
        );
    }
    let (p, q) = (params(&mut small.model), params(&mut large.model));
    let moved = params(&mut net(1))
        .iter()
        .zip(&q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(moved > 0.01, "the runs must have trained ({moved})");
    for (i, (a, b)) in p.iter().zip(&q).enumerate() {
        assert!((a - b).abs() <= 1e-5, "parameter {i}: {a} vs {b}");
    }
    // Without accumulation, the small batch takes 6 updates per epoch: different.
    let mut plain: Trainer<Net, Mse, Adam<32>, 2, 3, 2> =
        Trainer::new(net(1), Mse, Adam::new(cfg), 0);
    for epoch in 0..3 {
        plain
            .epoch(&d, &mut rand_pcg::Pcg32::seed_from_u64(epoch))
            .unwrap();
    }
    let differs = params(&mut plain.model)
        .iter()
        .zip(&q)
        .any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differs);
}

/// The seed's penalties: L2 adds λ₂w, L1 adds ½λ₁sign(w) to weight gradients (never
/// biases), and the step reports λΩ apart from the data loss.
#[test]
fn penalties_add_their_gradients_and_report_their_value() {
    let x = [1.0f32, -2.0, 0.5];
    let xb = microtrain::Matrix([x]);
    let yb = microtrain::Matrix([[0.5, -0.5]]);
    let mut base: Trainer<Dense<3, 2>, Mse, Sgd, 1, 3, 2> =
        Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    base.model.weight.0 = [[0.3, -0.2, 0.1], [0.0, 0.4, -0.5]];
    base.model.bias.0 = [0.2, -0.1];
    let mut pen = Trainer::<Dense<3, 2>, Mse, Sgd, 1, 3, 2>::new(base.model, Mse, Sgd::new(0.1), 0);
    pen.model.penalty = Penalty { l2: 0.5, l1: 0.2 };
    let w0 = base.model.weight;
    let r0 = base.train_step(&xb, &yb).unwrap();
    let r1 = pen.train_step(&xb, &yb).unwrap();
    assert_eq!(r0.penalty, 0.0);
    assert_eq!(r0.data, r1.data);
    let w = w0.as_slice();
    let want_penalty: f64 = w
        .iter()
        .map(|&v| 0.5 * 0.5 * (v as f64).powi(2) + 0.2 * 0.5 * (v as f64).abs())
        .sum();
    assert!(
        (r1.penalty as f64 - want_penalty).abs() < 1e-7,
        "{} vs {want_penalty}",
        r1.penalty
    );
    for (i, &wi) in w.iter().enumerate() {
        let v = wi as f64;
        let sign = if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        };
        let extra = 0.1 * (0.5 * v + 0.5 * 0.2 * sign);
        let got = base.model.weight.as_slice()[i] as f64 - pen.model.weight.as_slice()[i] as f64;
        assert!((got - extra).abs() < 1e-7, "weight {i}: {got} vs {extra}");
    }
    assert_eq!(
        base.model.bias, pen.model.bias,
        "biases are never penalised"
    );
}

#[test]
fn clipping_by_norm_and_by_value() {
    let mut d = Dense::<2, 2>::zeros();
    d.weight_grad.0 = [[3.0, 0.0], [0.0, 4.0]];
    d.bias_grad.0 = [0.0, 0.0];
    let norm = Clip::Norm(10.0).apply(&mut d);
    assert_eq!(norm, 5.0);
    assert_eq!(
        d.weight_grad.0,
        [[3.0, 0.0], [0.0, 4.0]],
        "below the limit nothing changes"
    );
    Clip::Norm(1.0).apply(&mut d);
    // PyTorch: coef = max_norm / (norm + 1e-6)
    let coef = 1.0f64 / (5.0 + 1e-6);
    assert!((d.weight_grad.0[1][1] as f64 - 4.0 * coef).abs() < 1e-7);
    d.weight_grad.0 = [[3.0, -7.0], [0.5, 4.0]];
    Clip::Value(1.0).apply(&mut d);
    assert_eq!(d.weight_grad.0, [[1.0, -1.0], [0.5, 1.0]]);
}
