//! Weight averaging against f64 references: SWA as the arithmetic mean and EMA as the
//! decay-weighted sum of a random trajectory, the start/every rhythm, batch-norm
//! statistics recomputed on images with a partial batch, and bad input.

use host_tests::check::assert_all_close;
use host_tests::Rng;
use microtrain::average::{update_bn, Average, Averaged, Weights};
use microtrain::layers::{BatchNorm, Context, Dense, Layer, Mode, Params};
use microtrain::train::Dataset;
use microtrain::{Batch, Error, Image, Zeroed};

type Net = (Dense<3, 4>, BatchNorm<4>);
const P: usize = Net::COUNT;
const NB: usize = Net::BUFFERS;

fn net() -> Net {
    (Dense::zeros(), BatchNorm::new())
}

/// A trajectory of `n` random weights (parameters and buffers).
fn trajectory(label: &str, n: usize) -> Vec<Weights<P, NB>> {
    let mut rng = Rng::for_case(label, &[n]);
    (0..n)
        .map(|_| Weights {
            params: core::array::from_fn(|_| rng.uniform(-3.0, 3.0)),
            buffers: core::array::from_fn(|_| rng.uniform(0.0, 2.0)),
        })
        .collect()
}

/// Relative error bound of `n` folds: each rounds a few times, and the average is a
/// convex combination, so errors stay of the size of the values.
fn bound(values: &[f64], folds: usize) -> Vec<f64> {
    values
        .iter()
        .map(|v| 4.0 * folds as f64 * f64::from(f32::EPSILON) * v.abs().max(1.0))
        .collect()
}

#[test]
fn swa_is_the_mean_of_the_weights_folded_in() {
    let traj = trajectory("swa mean", 40);
    for (start, every) in [(0, 1), (7, 1), (3, 4), (39, 1)] {
        let mut swa = Averaged::<P, NB>::swa(start).every(every);
        let mut model = net();
        let mut folded = Vec::new();
        for (call, w) in traj.iter().enumerate() {
            w.copy_to(&mut model);
            let due = swa.update(&mut model).unwrap();
            let want = call as u32 >= start && (call as u32 - start).is_multiple_of(every);
            assert_eq!(due, want, "call {call}, start {start}, every {every}");
            if due {
                folded.push(w);
            }
        }
        assert_eq!(swa.count() as usize, folded.len());
        assert_eq!(swa.calls(), 40);
        let mean: Vec<f64> = (0..P)
            .map(|i| {
                folded.iter().map(|w| f64::from(w.params[i])).sum::<f64>() / folded.len() as f64
            })
            .collect();
        assert_all_close(
            &swa.weights().params,
            &mean,
            &bound(&mean, folded.len()),
            "SWA parameters",
        );
        // Buffers are copied from the last call folded in (PyTorch: use_buffers=False).
        assert_eq!(swa.weights().buffers, folded.last().unwrap().buffers);
    }
}

#[test]
fn ema_is_the_decay_weighted_sum() {
    let traj = trajectory("ema", 30);
    for decay in [0.0, 0.5, 0.9, 0.999, 1.0] {
        let mut ema = Averaged::<P, NB>::ema(decay).unwrap().average_buffers(true);
        let mut model = net();
        let d = f64::from(decay);
        let mut want: Vec<f64> = Vec::new();
        for w in &traj {
            w.copy_to(&mut model);
            ema.update(&mut model).unwrap();
            let now = w.params.iter().chain(&w.buffers).map(|&v| f64::from(v));
            want = if want.is_empty() {
                now.collect()
            } else {
                want.iter()
                    .zip(now)
                    .map(|(e, v)| d * e + (1.0 - d) * v)
                    .collect()
            };
        }
        let got: Vec<f32> = ema
            .weights()
            .params
            .iter()
            .chain(&ema.weights().buffers)
            .copied()
            .collect();
        assert_all_close(
            &got,
            &want,
            &bound(&want, traj.len()),
            format!("EMA decay {decay}"),
        );
    }
    assert_eq!(Average::Ema { decay: 0.9 }.weight(5), 1.0 - 0.9f32);
    assert_eq!(Average::Swa.weight(2), 1.0 / 3.0);
}

#[test]
fn a_non_finite_model_is_refused_and_changes_nothing() {
    let traj = trajectory("nan", 3);
    let mut model = net();
    let mut ema = Averaged::<P, NB>::ema(0.9).unwrap().average_buffers(true);
    traj[0].copy_to(&mut model);
    ema.update(&mut model).unwrap();
    let before = ema.clone();
    model.0.bias.0[2] = f32::NAN;
    assert_eq!(
        ema.update(&mut model),
        Err(Error::NonFinite {
            what: "model parameters",
            index: 12 + 2
        })
    );
    assert_eq!(ema, before);
    traj[1].copy_to(&mut model);
    model.1.running_var.0[1] = f32::INFINITY;
    assert_eq!(
        ema.update(&mut model),
        Err(Error::NonFinite {
            what: "model buffers",
            index: 4 + 1
        })
    );
    assert_eq!(ema, before);
    for bad in [-0.1, 1.0001, f32::NAN] {
        let err = Averaged::<P, NB>::ema(bad).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Setting {
                    name: "EMA decay",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("EMA decay"));
    }
}

#[test]
fn swapping_in_and_out_restores_both_exactly() {
    let traj = trajectory("swap", 2);
    let mut model = net();
    traj[0].copy_to(&mut model);
    model.0.weight_grad.0[1][1] = 0.25;
    let original = model;
    let mut avg = Averaged::<P, NB>::swa(0);
    traj[1].copy_to(&mut model);
    avg.update(&mut model).unwrap();
    model = original;
    avg.swap(&mut model);
    let mut inside = Weights::<P, NB>::zeros();
    inside.copy_from(&mut model);
    assert_eq!(inside, traj[1]);
    assert_eq!(model.0.weight_grad.0[1][1], 0.25, "gradients stay");
    avg.swap(&mut model);
    assert_eq!(model, original);
    assert_eq!(avg.weights(), &traj[1]);
}

/// `update_bn` on a batch norm of images: per channel, the mean over batches of each
/// batch's mean and unbiased variance over its real samples' pixels, in f64.
#[test]
fn update_bn_on_images_averages_batch_statistics() {
    const H: usize = 3;
    const W: usize = 2;
    const C: usize = 3;
    const BATCH: usize = 4;
    let n = 2 * BATCH + 3; // 4, 4, 3
    let mut rng = Rng::for_case("update_bn images", &[n]);
    let x: Vec<f32> = (0..n * H * W * C)
        .map(|i| rng.uniform(-1.0, 1.0) * (1 + i % C) as f32 + (i % C) as f32)
        .collect();
    let labels = vec![0u32; n];
    let data = Dataset::new(&x, H * W * C, &labels, 1).unwrap();
    let mut bn = BatchNorm::<C>::new();
    bn.momentum = 0.3;
    let mut input = Image::<BATCH, H, W, C>::zeros();
    let mut cache = <BatchNorm<C> as Layer<Image<BATCH, H, W, C>>>::Cache::ZERO;
    assert_eq!(
        update_bn(&mut bn, &data, &mut input, &mut cache).unwrap(),
        3
    );
    assert_eq!((bn.momentum, bn.cumulative), (0.3, None));
    let (mut mean, mut var) = ([0.0f64; C], [0.0f64; C]);
    for start in (0..n).step_by(BATCH) {
        let rows = BATCH.min(n - start);
        for c in 0..C {
            let v: Vec<f64> = (start * H * W..(start + rows) * H * W)
                .map(|p| f64::from(x[p * C + c]))
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            mean[c] += m / 3.0;
            var[c] += s / 3.0;
        }
    }
    assert_all_close(&bn.running_mean.0, &mean, &[1e-6; C], "running mean");
    assert_all_close(&bn.running_var.0, &var, &[4e-6; C], "running variance");
}

#[test]
fn cumulative_mode_folds_batch_n_with_momentum_one_over_n() {
    let mut bn = BatchNorm::<1>::new();
    bn.cumulative = Some(0);
    let mut cache = Zeroed::ZERO;
    let mut ctx = Context::new(Mode::Train, 0);
    for (k, pair) in [[1.0, 3.0], [0.0, 8.0], [2.0, 2.5]].iter().enumerate() {
        let x = microtrain::Matrix([[pair[0]], [pair[1]]]);
        <BatchNorm<1> as Layer<Batch<2, 1>>>::forward(&bn, &x, &mut cache, &mut ctx);
        <BatchNorm<1> as Layer<Batch<2, 1>>>::commit(&mut bn, &cache);
        assert_eq!(bn.cumulative, Some(k as u32 + 1));
    }
    // Means 2, 4, 2.25; unbiased variances 2, 32, 0.125.
    assert!((bn.running_mean.0[0] - 8.25 / 3.0).abs() < 1e-6);
    assert!((bn.running_var.0[0] - 34.125 / 3.0).abs() < 1e-5);
}

#[test]
fn update_bn_refuses_mismatched_samples_and_changes_nothing() {
    let mut model = net();
    model.1.running_mean.0 = [0.5; 4];
    let before = model;
    let data = Dataset::new(&[1.0; 8], 4, &[0u32; 2], 1).unwrap();
    let mut input = Batch::<2, 3>::zeros();
    let mut cache = <Net as Layer<Batch<2, 3>>>::Cache::ZERO;
    assert_eq!(
        update_bn(&mut model, &data, &mut input, &mut cache),
        Err(Error::Shape {
            what: "features per sample",
            expected: 3,
            found: 4
        })
    );
    assert_eq!(model, before);
}
