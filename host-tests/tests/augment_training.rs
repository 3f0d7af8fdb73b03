//! Does augmentation help where a plain network overfits? A small MLP learns to tell
//! three frequencies of a noisy two-channel oscillation (1, 2 or 3 cycles per window
//! of 32 steps, random phase and amplitude) from 24 training windows, with and without
//! signal augmentation, same seed and epochs; 600 validation windows judge both.
//!
//! The task's invariances are what the transforms supply: a circular time shift of a
//! whole number of cycles changes only the phase, scaling only the amplitude, jitter
//! and magnitude warp only the noise, and same-class mixing keeps the frequency.
//!
//! The test asserts only what must hold whatever the numbers: both runs finite and
//! bit-for-bit reproducible, and the clean training loss higher with augmentation
//! (it cannot memorise windows it never sees twice). It prints both validation losses
//! (`cargo test -p host-tests --test augment_training -- --nocapture`).

use host_tests::Rng;
use microtrain::augment::{each_image, Jitter, MagnitudeWarp, MixSameClass, Scaling, TimeShift};
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Flatten, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::{Dataset, Evaluation, Trainer};
use microtrain::{seq, Seq, Signal};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

const L: usize = 32;
const C: usize = 2;
const IN: usize = L * C;
const B: usize = 8;
const CLASSES: usize = 3;
const EPOCHS: usize = 150;

type Net = Seq![Flatten<IN>, Dense<IN, 32>, Relu, Dense<32, CLASSES>];
const PARAMS: usize = IN * 32 + 32 + 32 * CLASSES + CLASSES;
type Net3 = Trainer<Net, CrossEntropy, Adam<PARAMS>, B, IN, CLASSES, Signal<B, L, C>>;

/// `n` windows: class `i mod 3` has `class + 1` cycles; channel 0 is `a·sin`, channel 1
/// `a·cos` of the same phase, plus Gaussian-like noise (a sum of three uniforms).
fn windows(n: usize, label: &str) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng::for_case(label, &[n]);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % CLASSES;
        let cycles = (class + 1) as f64;
        let phase = f64::from(rng.uniform(0.0, std::f32::consts::TAU));
        let amplitude = f64::from(rng.uniform(0.5, 1.5));
        for t in 0..L {
            let angle = std::f64::consts::TAU * cycles * t as f64 / L as f64 + phase;
            for wave in [angle.sin(), angle.cos()] {
                let noise: f32 = (0..3).map(|_| rng.uniform(-0.5, 0.5)).sum();
                x.push((amplitude * wave) as f32 + noise);
            }
        }
        y.push(class as u32);
    }
    (x, y)
}

struct Run {
    train: Evaluation,
    valid: Evaluation,
    curve: Vec<f32>,
    bits: Vec<u32>,
}

fn run(augment: bool) -> Run {
    let (x, y) = windows(24, "train");
    let (vx, vy) = windows(600, "valid");
    let train = Dataset::new(&x, IN, &y, 1).unwrap();
    let valid = Dataset::new(&vx, IN, &vy, 1).unwrap();
    let config = AdamConfig {
        lr: 3e-3,
        ..AdamConfig::default()
    };
    let mut t: Net3 = Trainer::new(
        seq![Flatten, Dense::zeros(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Adam::new(config),
        0,
    );
    let mut rng = Pcg32::seed_from_u64(11);
    init_params(&mut t.model, Init::HeUniform, &mut rng);
    let pipeline = (
        TimeShift::new(L / 2, None).unwrap(),
        Scaling::new(0.2).unwrap(),
        MagnitudeWarp::<4>::new(0.1).unwrap(),
        Jitter::new(0.1).unwrap(),
    );
    let mix = MixSameClass::new(0.5, 1.0).unwrap();
    let mut curve = Vec::new();
    for epoch in 1..=EPOCHS {
        if augment {
            t.epoch_augmented(&train, &mut rng, 1, |x, labels, rows, rng| {
                each_image(&pipeline, x, rows, rng);
                mix.apply(x, labels, rows, rng);
            })
        } else {
            t.epoch(&train, &mut rng)
        }
        .unwrap();
        if epoch % 10 == 0 {
            curve.push(t.evaluate(&valid).unwrap().loss);
        }
    }
    let mut bits = Vec::new();
    t.model
        .visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    Run {
        train: t.evaluate(&train).unwrap(),
        valid: t.evaluate(&valid).unwrap(),
        curve,
        bits,
    }
}

#[test]
fn augmentation_against_overfitting_on_a_small_signal_set() {
    let plain = run(false);
    let augmented = run(true);
    for (name, r) in [("plain", &plain), ("augmented", &augmented)] {
        println!(
            "{name:>9}: train loss {:.4} (acc {:.3}), validation loss {:.4} (acc {:.3})",
            r.train.loss,
            r.train.accuracy.unwrap(),
            r.valid.loss,
            r.valid.accuracy.unwrap(),
        );
        let curve: Vec<String> = r.curve.iter().map(|l| format!("{l:.3}")).collect();
        println!(
            "{:>9}  validation loss every 10 epochs: {}",
            "",
            curve.join(" ")
        );
        assert!(
            r.train.loss.is_finite() && r.valid.loss.is_finite(),
            "{name}"
        );
    }
    assert_eq!(run(true).bits, augmented.bits, "augmented run reproducible");
    assert!(
        augmented.train.loss > plain.train.loss,
        "augmentation should keep the network from memorising its 24 windows"
    );
}
