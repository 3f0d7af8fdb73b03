//! Early stopping: the stop comes after exactly `patience` epochs without improvement,
//! `restore` gives back the bit-identical parameters of the best epoch (checked against
//! copies this test makes itself), `min_delta`, mode max, NaN and infinite metrics, the
//! stop being final until `reset`, and a real run that overfits a noisy dataset.

use microtrain::layers::{Dense, Params, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{
    Dataset, Decision, Direction, EarlyStopper, EarlyStopping, EpochRecord, History, StopReason,
    Trainer,
};
use microtrain::{seq, Error, Matrix, Seq};

/// SplitMix64, for reproducible data and initial weights without any other crate.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-7), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// Every parameter of `model`, in `visit` order.
fn snapshot<M: Params>(model: &mut M) -> Vec<f32> {
    let mut out = Vec::with_capacity(M::COUNT);
    model.visit(&mut |p| out.extend_from_slice(p.value));
    out
}

/// Asserts that two parameter vectors are identical bit for bit.
fn assert_bits_eq(found: &[f32], expected: &[f32], what: &str) {
    assert_eq!(found.len(), expected.len(), "{what}: lengths");
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert_eq!(
            f.to_bits(),
            e.to_bits(),
            "{what}: parameter {i} is {f} ({:#010x}), expected {e} ({:#010x})",
            f.to_bits(),
            e.to_bits()
        );
    }
}

/// Sets every parameter of `model` to `σ·N(0, 1)` with `σ = 1/√fan_in`.
fn randomise<M: Params>(model: &mut M, rng: &mut SplitMix) {
    model.visit(&mut |p| {
        let std = (1.0 / p.fan_in as f32).sqrt();
        p.value.iter_mut().for_each(|v| *v = std * rng.normal());
    });
}

const SAMPLES: usize = 8;
type Small = Seq![Dense<1, 8>, Tanh, Dense<8, 1>];
const SMALL: usize = <Small as Params>::COUNT;

/// A trainer on 8 points of a line, full-batch gradient descent: the parameters change
/// at every epoch.
struct Run {
    trainer: Trainer<Small, Mse, Sgd, SAMPLES, 1, 1>,
    x: Matrix<SAMPLES, 1>,
    y: Matrix<SAMPLES, 1>,
}

impl Run {
    fn new(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let mut trainer = Trainer::new(
            seq![Dense::zeros(), Tanh, Dense::zeros()],
            Mse,
            Sgd::new(0.05),
            0,
        );
        randomise(&mut trainer.model, &mut rng);
        let mut x = Matrix::zeros();
        let mut y = Matrix::zeros();
        for i in 0..SAMPLES {
            x.0[i][0] = i as f32 / 4.0 - 1.0;
            y.0[i][0] = 0.5 * x.0[i][0] + 0.1 * rng.normal();
        }
        Run { trainer, x, y }
    }

    /// One epoch (one full-batch step).
    fn epoch(&mut self) {
        self.trainer.train_step(&self.x, &self.y).unwrap();
    }
}

/// A validation metric that falls to its minimum at epoch 3 and then rises.
const FALL_THEN_RISE: [f32; 12] = [1.0, 0.8, 0.6, 0.5, 0.55, 0.52, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7];

#[test]
fn stops_after_exactly_patience_epochs_and_restores_the_best_bits() {
    for patience in 0..=9u32 {
        let mut run = Run::new(7);
        let mut stopper = EarlyStopper::<SMALL>::new(EarlyStopping::new().patience(patience));
        let mut saved_at_best = Vec::new();
        let mut stopped_at = None;
        for (epoch, &metric) in FALL_THEN_RISE.iter().enumerate() {
            run.epoch();
            let params = snapshot(&mut run.trainer.model);
            let decision = stopper.update(metric, &mut run.trainer.model);
            let waited = epoch.saturating_sub(3) as u32; // epochs after the best one
            let expected = if epoch <= 3 {
                Decision::Improved
            } else if waited < patience {
                Decision::Wait {
                    epochs_left: patience - waited,
                }
            } else {
                Decision::Stop {
                    reason: StopReason::Patience,
                }
            };
            assert_eq!(decision, expected, "patience {patience}, epoch {epoch}");
            if epoch == 3 {
                saved_at_best = params;
            }
            if decision.should_stop() {
                stopped_at = Some(epoch);
                break;
            }
        }
        // Epochs 0..=3 improve; epochs 4, 5, … do not: the stop is the `patience`-th
        // of them (patience 0: the first).
        let expected_stop = 3 + patience.max(1) as usize;
        if expected_stop < FALL_THEN_RISE.len() {
            assert_eq!(stopped_at, Some(expected_stop), "patience {patience}");
            assert_eq!(stopper.stopped(), Some(StopReason::Patience));
            assert_eq!(stopper.epochs(), expected_stop as u32 + 1);
        } else {
            assert_eq!(stopped_at, None, "patience {patience}");
        }
        assert_eq!(stopper.best(), Some((3, 0.5)));

        // The model has moved on since the best epoch; restore puts back its bits.
        let current = snapshot(&mut run.trainer.model);
        assert_ne!(
            current, saved_at_best,
            "the parameters changed after epoch 3"
        );
        assert_bits_eq(
            stopper.best_params().unwrap(),
            &saved_at_best,
            "best_params",
        );
        stopper.restore(&mut run.trainer.model).unwrap();
        assert_bits_eq(
            &snapshot(&mut run.trainer.model),
            &saved_at_best,
            "restored parameters",
        );
        // restore changes no state and can be repeated.
        run.epoch();
        stopper.restore(&mut run.trainer.model).unwrap();
        assert_bits_eq(
            &snapshot(&mut run.trainer.model),
            &saved_at_best,
            "restored twice",
        );
    }
}

#[test]
fn a_later_improvement_resets_the_wait_and_replaces_the_snapshot() {
    let mut run = Run::new(3);
    let mut stopper = EarlyStopper::<SMALL>::new(EarlyStopping::new().patience(2));
    let metrics = [0.9, 1.0, 0.8, 0.85, 0.95];
    let expected = [
        Decision::Improved,
        Decision::Wait { epochs_left: 1 },
        Decision::Improved,
        Decision::Wait { epochs_left: 1 },
        Decision::Stop {
            reason: StopReason::Patience,
        },
    ];
    let mut at_epoch_2 = Vec::new();
    for (epoch, (&metric, &want)) in metrics.iter().zip(&expected).enumerate() {
        run.epoch();
        if epoch == 2 {
            at_epoch_2 = snapshot(&mut run.trainer.model);
        }
        assert_eq!(
            stopper.update(metric, &mut run.trainer.model),
            want,
            "epoch {epoch}"
        );
    }
    assert_eq!(stopper.best(), Some((2, 0.8)));
    stopper.restore(&mut run.trainer.model).unwrap();
    assert_bits_eq(&snapshot(&mut run.trainer.model), &at_epoch_2, "restored");
}

#[test]
fn min_delta_demands_more_than_delta_in_min_mode() {
    // Exactly representable values: 1 − 0.25 = 0.75 is not an improvement (a change
    // of exactly δ), 0.5 is.
    let mut run = Run::new(1);
    let config = EarlyStopping::new().patience(3).min_delta(0.25);
    let mut stopper = EarlyStopper::<SMALL>::new(config);
    let steps = [
        (1.0, Decision::Improved),
        (0.875, Decision::Wait { epochs_left: 2 }),
        (0.75, Decision::Wait { epochs_left: 1 }),
        (0.5, Decision::Improved),
        (0.375, Decision::Wait { epochs_left: 2 }),
        (0.125, Decision::Improved),
    ];
    for (epoch, &(metric, want)) in steps.iter().enumerate() {
        run.epoch();
        assert_eq!(
            stopper.update(metric, &mut run.trainer.model),
            want,
            "epoch {epoch}"
        );
    }
    assert_eq!(stopper.best(), Some((5, 0.125)));

    // A negative min_delta is used as its absolute value; NaN counts as zero.
    for (delta, improves) in [(-0.25, false), (f32::NAN, true)] {
        let mut s = EarlyStopper::<SMALL>::new(EarlyStopping::new().min_delta(delta));
        s.update(1.0, &mut run.trainer.model);
        let d = s.update(0.875, &mut run.trainer.model);
        assert_eq!(d == Decision::Improved, improves, "min_delta {delta}");
    }
    // Without min_delta, any decrease improves; equal does not.
    let mut s = EarlyStopper::<SMALL>::new(EarlyStopping::new());
    s.update(1.0, &mut run.trainer.model);
    assert_eq!(
        s.update(1.0, &mut run.trainer.model),
        Decision::Wait { epochs_left: 2 }
    );
    assert_eq!(
        s.update(f32::from_bits(1.0f32.to_bits() - 1), &mut run.trainer.model),
        Decision::Improved
    );
}

#[test]
fn mode_max_follows_an_accuracy_upwards() {
    let mut run = Run::new(2);
    let mut stopper =
        EarlyStopper::<SMALL>::new(EarlyStopping::new().patience(2).mode(Direction::Max));
    let steps = [
        (0.5, Decision::Improved),
        (0.625, Decision::Improved),
        (0.625, Decision::Wait { epochs_left: 1 }),
        (0.75, Decision::Improved),
        (0.5, Decision::Wait { epochs_left: 1 }),
        (
            0.6875,
            Decision::Stop {
                reason: StopReason::Patience,
            },
        ),
    ];
    let mut at_best = Vec::new();
    for (epoch, &(metric, want)) in steps.iter().enumerate() {
        run.epoch();
        if epoch == 3 {
            at_best = snapshot(&mut run.trainer.model);
        }
        assert_eq!(
            stopper.update(metric, &mut run.trainer.model),
            want,
            "epoch {epoch}"
        );
    }
    assert_eq!(stopper.best(), Some((3, 0.75)));
    stopper.restore(&mut run.trainer.model).unwrap();
    assert_bits_eq(&snapshot(&mut run.trainer.model), &at_best, "restored");

    // With min_delta 0.125 in mode max: 0.625 is not more than 0.5 + 0.125.
    let config = EarlyStopping::new()
        .patience(5)
        .mode(Direction::Max)
        .min_delta(0.125);
    let mut s = EarlyStopper::<SMALL>::new(config);
    let found: Vec<Decision> = [0.5, 0.625, 0.75]
        .iter()
        .map(|&m| s.update(m, &mut run.trainer.model))
        .collect();
    assert_eq!(
        found,
        [
            Decision::Improved,
            Decision::Wait { epochs_left: 4 },
            Decision::Improved
        ]
    );
}

#[test]
fn nan_is_never_an_improvement() {
    let mut run = Run::new(4);

    // check_finite (the default): NaN or ±∞ stops at once; the best is kept.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for mode in [Direction::Min, Direction::Max] {
            let mut s = EarlyStopper::<SMALL>::new(EarlyStopping::new().mode(mode));
            run.epoch();
            let best = snapshot(&mut run.trainer.model);
            assert_eq!(s.update(0.5, &mut run.trainer.model), Decision::Improved);
            run.epoch();
            assert_eq!(
                s.update(bad, &mut run.trainer.model),
                Decision::Stop {
                    reason: StopReason::NonFinite
                },
                "{bad} in {mode:?}"
            );
            assert_eq!(s.best(), Some((0, 0.5)));
            s.restore(&mut run.trainer.model).unwrap();
            assert_bits_eq(&snapshot(&mut run.trainer.model), &best, "after NaN stop");
        }
    }

    // Without check_finite, NaN is one more epoch without improvement.
    let config = EarlyStopping::new().patience(2).check_finite(false);
    let mut s = EarlyStopper::<SMALL>::new(config);
    assert_eq!(
        s.update(f32::NAN, &mut run.trainer.model),
        Decision::Wait { epochs_left: 1 }
    );
    assert_eq!(s.best(), None);
    assert_eq!(s.best_params(), None);
    // Nothing saved: restore refuses and leaves the model alone.
    let before = snapshot(&mut run.trainer.model);
    assert!(matches!(
        s.restore(&mut run.trainer.model),
        Err(Error::Empty { .. })
    ));
    assert_bits_eq(&snapshot(&mut run.trainer.model), &before, "failed restore");
    assert_eq!(s.update(0.7, &mut run.trainer.model), Decision::Improved);
    assert_eq!(
        s.update(f32::NAN, &mut run.trainer.model),
        Decision::Wait { epochs_left: 1 }
    );
    assert_eq!(
        s.update(f32::NAN, &mut run.trainer.model),
        Decision::Stop {
            reason: StopReason::Patience
        }
    );
    assert_eq!(s.best(), Some((1, 0.7)));

    // +∞ is no improvement on the starting +∞ of mode min.
    let mut s = EarlyStopper::<SMALL>::new(EarlyStopping::new().check_finite(false));
    assert_eq!(
        s.update(f32::INFINITY, &mut run.trainer.model),
        Decision::Wait { epochs_left: 2 }
    );
    assert_eq!(s.best(), None);
}

#[test]
fn the_stop_is_final_until_reset() {
    let mut run = Run::new(5);
    let config = EarlyStopping::new().patience(1);
    let mut s = EarlyStopper::<SMALL>::new(config);
    run.epoch();
    let best = snapshot(&mut run.trainer.model);
    s.update(1.0, &mut run.trainer.model);
    run.epoch();
    let stop = Decision::Stop {
        reason: StopReason::Patience,
    };
    assert_eq!(s.update(2.0, &mut run.trainer.model), stop);
    // A better metric after the stop changes nothing.
    run.epoch();
    assert_eq!(s.update(0.1, &mut run.trainer.model), stop);
    assert_eq!(s.best(), Some((0, 1.0)));
    assert_eq!(s.epochs(), 2);
    assert_bits_eq(s.best_params().unwrap(), &best, "snapshot after the stop");

    s.reset();
    assert_eq!(s, EarlyStopper::new(config));
    assert_eq!(s.stopped(), None);
    assert_eq!(s.update(3.0, &mut run.trainer.model), Decision::Improved);
    assert_eq!(s.best(), Some((0, 3.0)));
}

#[test]
fn the_state_size_is_the_parameters_plus_a_small_constant() {
    assert_eq!(
        EarlyStopper::<SMALL>::BYTES,
        std::mem::size_of::<EarlyStopper<SMALL>>()
    );
    assert_eq!(EarlyStopper::<SMALL>::BYTES, 4 * SMALL + 36);
    assert_eq!(EarlyStopper::<0>::BYTES, 36);
    assert_eq!(EarlyStopper::<1000>::BYTES, 4036);
    // The default configuration (PyTorch Lightning's).
    let c = EarlyStopping::default();
    assert_eq!(
        (c.patience, c.min_delta, c.mode, c.check_finite),
        (3, 0.0, Direction::Min, true)
    );
}

/// The seed's case: a network with far more parameters than samples, trained on a
/// few noisy points, first fits the curve (validation loss falls) and then the noise
/// (validation loss rises). Early stopping stops the run and brings back the epoch
/// with the least validation loss.
#[test]
fn stops_a_real_overfitting_run_and_restores_its_best_epoch() {
    const TRAIN: usize = 12;
    const HIDDEN: usize = 64;
    type Net = Seq![
        Dense<1, HIDDEN>,
        Tanh,
        Dense<HIDDEN, HIDDEN>,
        Tanh,
        Dense<HIDDEN, 1>
    ];
    const P: usize = <Net as Params>::COUNT;
    const PATIENCE: u32 = 40;
    const MAX_EPOCHS: usize = 2000;

    // y = sin x + 0.4·noise on 12 training points; the validation set is the clean
    // curve at 64 points between them.
    let mut rng = SplitMix(0);
    let xs: Vec<f32> = (0..TRAIN)
        .map(|i| -3.0 + 6.0 * i as f32 / (TRAIN - 1) as f32)
        .collect();
    let ys: Vec<f32> = xs.iter().map(|&x| x.sin() + 0.4 * rng.normal()).collect();
    let vx: Vec<f32> = (0..64)
        .map(|i| -3.0 + 6.0 * (i as f32 + 0.5) / 64.0)
        .collect();
    let vy: Vec<f32> = vx.iter().map(|&x| x.sin()).collect();
    let validation = Dataset::new(&vx, 1, &vy, 1).unwrap();

    let mut trainer: Trainer<Net, Mse, Sgd, TRAIN, 1, 1> = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(0.05),
        0,
    );
    randomise(&mut trainer.model, &mut rng);
    let mut x = Matrix::<TRAIN, 1>::zeros();
    let mut y = Matrix::<TRAIN, 1>::zeros();
    for i in 0..TRAIN {
        x.0[i][0] = xs[i];
        y.0[i][0] = ys[i];
    }

    let mut stopper = EarlyStopper::<P>::new(EarlyStopping::new().patience(PATIENCE));
    let mut history = History::<64>::new();
    // This test's own record of the best epoch: (epoch, loss, parameters).
    let mut best: Option<(u32, f32, Vec<f32>)> = None;
    let mut first_loss = None;
    let mut stopped_at = None;
    for epoch in 0..MAX_EPOCHS as u32 {
        let risk = trainer.train_step(&x, &y).unwrap();
        let eval = trainer.evaluate(&validation).unwrap();
        first_loss.get_or_insert(eval.loss);
        history.push(EpochRecord::new(epoch, risk, eval, 0.05));
        if best.as_ref().is_none_or(|b| eval.loss < b.1) {
            best = Some((epoch, eval.loss, snapshot(&mut trainer.model)));
        }
        let decision = stopper.update(eval.loss, &mut trainer.model);
        let (best_epoch, _, _) = best.as_ref().unwrap();
        assert_eq!(
            decision == Decision::Improved,
            *best_epoch == epoch,
            "epoch {epoch}"
        );
        if decision.should_stop() {
            assert_eq!(
                decision,
                Decision::Stop {
                    reason: StopReason::Patience
                }
            );
            stopped_at = Some(epoch);
            break;
        }
    }
    let stopped_at = stopped_at.expect("validation loss rises, so the run stops early");
    let (best_epoch, best_loss, best_params) = best.unwrap();
    assert_eq!(stopped_at, best_epoch + PATIENCE, "stop = best + patience");
    assert_eq!(stopper.best(), Some((best_epoch, best_loss)));
    assert!(
        best_loss < 0.5 * first_loss.unwrap(),
        "the curve was learnt first"
    );

    // The run overfitted: at the stop, training loss still falls while validation
    // loss has risen above its best.
    let last = *history.last().unwrap();
    assert!(last.validation_loss > best_loss);
    assert!(history.is_overfitting(PATIENCE as usize), "{history}");

    stopper.restore(&mut trainer.model).unwrap();
    assert_bits_eq(&snapshot(&mut trainer.model), &best_params, "restored");
    // The restored model evaluates to the best loss, bit for bit.
    let again = trainer.evaluate(&validation).unwrap().loss;
    assert_eq!(again.to_bits(), best_loss.to_bits());
}

/// With batch normalisation, the best epoch's model is its parameters *and* its running
/// statistics: `restore` brings back both, bit for bit, after later epochs changed both.
#[test]
fn restores_batch_norm_statistics_with_the_parameters() {
    use microtrain::layers::{BatchNorm, Buffer};
    type Bn = (Dense<2, 3>, BatchNorm<3>);
    fn buffers(model: &mut Bn) -> Vec<f32> {
        let mut out = Vec::new();
        model.visit_buffers(&mut |b: Buffer<'_>| out.extend_from_slice(b.value));
        out
    }
    let mut rng = SplitMix(11);
    let mut model: Bn = (Dense::zeros(), BatchNorm::new());
    randomise(&mut model, &mut rng);
    model.visit_buffers(&mut |b: Buffer<'_>| {
        for v in b.value.iter_mut() {
            *v = 0.5 + rng.uniform();
        }
    });
    let mut stopper =
        EarlyStopper::<{ Bn::COUNT }, { Bn::BUFFERS }>::new(EarlyStopping::new().patience(3));
    assert_eq!(stopper.update(1.0, &mut model), Decision::Improved);
    let (best_params, best_buffers) = (snapshot(&mut model), buffers(&mut model));
    // Later epochs move both the weights and the running statistics.
    randomise(&mut model, &mut rng);
    model.visit_buffers(&mut |b: Buffer<'_>| b.value.iter_mut().for_each(|v| *v += 1.0));
    assert_eq!(
        stopper.update(2.0, &mut model),
        Decision::Wait { epochs_left: 2 }
    );
    assert_ne!(buffers(&mut model), best_buffers);
    stopper.restore(&mut model).unwrap();
    assert_bits_eq(&snapshot(&mut model), &best_params, "parameters");
    assert_bits_eq(&buffers(&mut model), &best_buffers, "running statistics");
}
