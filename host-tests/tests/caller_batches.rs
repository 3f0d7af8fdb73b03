//! The trainer without a gather buffer (`CallerBatchTrainer`) against the gathering
//! `Trainer`: the same batches give the same parameters bit for bit; the in-place
//! shuffle is a uniform permutation that keeps inputs and targets together; the memory
//! figures differ by exactly one input batch; bad input is refused by name and changes
//! nothing (parameters, optimizer, counters, the caller's data).
//!
//! The reference for an epoch is the gathering trainer's own `epoch`, made to visit the
//! samples in the order the in-place epoch trained them: the order an epoch of the
//! gathering trainer uses is `Permutation::new(n, rng)` (public), so a `Dataset::select`
//! view `v` with `v[p(k)] = t(k)` makes it train sample `t(k)` at position `k`.

use core::mem::size_of;
use host_tests::Rng;
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Layer, Params, Relu};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::{Adam, AdamConfig, Refusal, Sgd};
use microtrain::train::{
    Batches, CallerBatchTrainer, CallerBatches, Dataset, Permutation, Trainer,
};
use microtrain::{seq, Batch, Error, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

type Net = Seq![Dense<4, 8>, Relu, Dense<8, 3>];
const PARAMS: usize = 4 * 8 + 8 + 8 * 3 + 3;
const B: usize = 4;
type Gathering = Trainer<Net, CrossEntropy, Adam<PARAMS>, B, 4, 3>;
type InPlace = CallerBatchTrainer<Net, CrossEntropy, Adam<PARAMS>, B, 4, 3>;

/// Samples: 10, so the third batch of 4 is partial.
const N: usize = 10;
const BATCHES: usize = N.div_ceil(B);

fn adam() -> Adam<PARAMS> {
    Adam::new(AdamConfig::DEFAULT.with_lr(0.05))
}

/// The same initial model in both kinds of trainer.
fn trainers(seed: u64) -> (Gathering, InPlace) {
    let net = || seq![Dense::zeros(), Relu, Dense::zeros()];
    let mut g: Gathering = Trainer::new(net(), CrossEntropy::default(), adam(), 3);
    let mut c: InPlace = Trainer::new(net(), CrossEntropy::default(), adam(), 3);
    init_params(
        &mut g.model,
        Init::HeNormal,
        &mut Pcg32::seed_from_u64(seed),
    );
    init_params(
        &mut c.model,
        Init::HeNormal,
        &mut Pcg32::seed_from_u64(seed),
    );
    (g, c)
}

fn params<M: Params>(model: &mut M) -> Vec<f32> {
    let mut v = Vec::new();
    model.visit(&mut |p| v.extend_from_slice(p.value));
    v
}

#[track_caller]
fn assert_same_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{what}: element {i}: {x:e} and {y:e}"
        );
    }
}

/// `N` samples of 4 values in 3 classes: flat (for a `Dataset`) and in batches.
struct Data {
    flat: Vec<f32>,
    labels: Vec<u32>,
    batches: [Batch<B, 4>; BATCHES],
    batch_labels: [u32; BATCHES * B],
}

fn data(seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let flat = rng.uniform_vec(N * 4, -1.0, 1.0);
    let labels: Vec<u32> = (0..N).map(|_| rng.below(3) as u32).collect();
    let mut batches = [Batch::zeros(); BATCHES];
    let mut batch_labels = [0; BATCHES * B];
    for i in 0..N {
        batches[i / B].0[i % B].copy_from_slice(&flat[i * 4..][..4]);
        batch_labels[i] = labels[i];
    }
    Data {
        flat,
        labels,
        batches,
        batch_labels,
    }
}

/// Several epochs of each trainer over the same sample orders, with `micro_batches`
/// and `drop_last`: the risks and the parameters must agree bit for bit after each.
fn epochs_agree(micro_batches: usize, drop_last: bool) {
    let Data {
        flat,
        labels,
        mut batches,
        mut batch_labels,
    } = data(11);
    let (mut g, mut c) = trainers(5);
    g.drop_last = drop_last;
    c.drop_last = drop_last;
    let full = Dataset::new(&flat, 4, &labels, 1).unwrap();
    let mut stored = Batches::with_len(&mut batches, &mut batch_labels, 1, N).unwrap();
    // A twin store of sample numbers, shuffled by the same draws: which original
    // sample sits at each position.
    let mut id_batches = [Batch::<B, 1>::zeros(); BATCHES];
    for i in 0..N {
        id_batches[i / B].0[i % B][0] = i as f32;
    }
    let mut id_labels = [0u32; BATCHES * B];
    let mut ids = Batches::with_len(&mut id_batches, &mut id_labels, 1, N).unwrap();
    let (mut rng_c, mut rng_g) = (Pcg32::seed_from_u64(21), Pcg32::seed_from_u64(99));
    for epoch in 0..4 {
        ids.shuffle(&mut rng_c.clone());
        let risk_c = c
            .epoch_in_place_accumulated(&mut stored, &mut rng_c, micro_batches)
            .unwrap();
        let order: Vec<usize> = (0..N).map(|k| ids.input(k)[0] as usize).collect();
        for (k, &t) in order.iter().enumerate() {
            assert_eq!(
                stored.input(k),
                &flat[t * 4..][..4],
                "epoch {epoch} sample {k}"
            );
            assert_eq!(stored.target(k), &[labels[t]], "epoch {epoch} sample {k}");
        }
        let p = Permutation::new(N, &mut rng_g.clone());
        let mut view = vec![0u32; N];
        for (k, &t) in order.iter().enumerate() {
            view[p.get(k)] = t as u32;
        }
        let risk_g = g
            .epoch_accumulated(&full.select(&view).unwrap(), &mut rng_g, micro_batches)
            .unwrap();
        let what = format!("epoch {epoch}, micro_batches {micro_batches}, drop_last {drop_last}");
        assert_eq!(risk_c.data.to_bits(), risk_g.data.to_bits(), "{what}: risk");
        assert_eq!(risk_c.penalty.to_bits(), risk_g.penalty.to_bits(), "{what}");
        assert_same_bits(&params(&mut c.model), &params(&mut g.model), &what);
        assert_eq!(c.steps(), g.steps(), "{what}: steps");
    }
    assert!(c.steps() > 0);
    // Evaluation over the same order: the same figures.
    let order: Vec<u32> = (0..N).map(|k| ids.input(k)[0] as u32).collect();
    let e_c = c.evaluate_batches(&stored).unwrap();
    let e_g = g.evaluate(&full.select(&order).unwrap()).unwrap();
    assert_eq!(e_c.loss.to_bits(), e_g.loss.to_bits());
    assert_eq!(e_c.accuracy, e_g.accuracy);
}

#[test]
fn epochs_in_place_train_bit_identically_to_gathering_epochs() {
    epochs_agree(1, false);
}

#[test]
fn accumulated_epochs_in_place_agree_too() {
    epochs_agree(2, false);
    epochs_agree(0, false);
}

#[test]
fn drop_last_in_place_drops_the_partial_batch_as_the_gathering_trainer_does() {
    epochs_agree(1, true);
}

#[test]
fn train_steps_on_the_same_batches_agree_bit_for_bit() {
    let Data {
        batches,
        batch_labels,
        ..
    } = data(4);
    let (mut g, mut c) = trainers(8);
    for round in 0..3 {
        for k in 0..2 {
            let y: [u32; B] = batch_labels[k * B..][..B].try_into().unwrap();
            let (rg, rc) = (g.train_step(&batches[k], &y), c.train_step(&batches[k], &y));
            assert_eq!(rg, rc, "round {round} batch {k}");
        }
    }
    assert_same_bits(&params(&mut c.model), &params(&mut g.model), "train_step");
    let x = batches[0];
    assert_eq!(g.predict(&x).unwrap(), c.predict(&x).unwrap());
    let report = |t: &mut InPlace| t.overfit_batch(&x, &[0, 1, 2, 0], 3, 0.0).unwrap();
    let r_c = report(&mut c);
    let r_g = g.overfit_batch(&x, &[0, 1, 2, 0], 3, 0.0).unwrap();
    assert_eq!(r_c, r_g);
    assert_same_bits(
        &params(&mut c.model),
        &params(&mut g.model),
        "overfit_batch",
    );
}

#[test]
fn the_trainer_without_a_buffer_is_one_input_batch_smaller() {
    let batch = size_of::<Batch<B, 4>>();
    assert_eq!(batch, 4 * B * 4);
    assert_eq!(size_of::<CallerBatches>(), 0);
    assert_eq!(InPlace::BYTES, size_of::<InPlace>());
    assert_eq!(InPlace::BYTES, Gathering::BYTES - batch);
    assert_eq!(
        InPlace::ACTIVATION_BYTES,
        Gathering::ACTIVATION_BYTES - batch
    );
    // The activations are the model's cache and the batch targets (one u32 label per
    // sample), nothing else.
    type Cache = <Net as Layer<Batch<B, 4>>>::Cache;
    assert_eq!(InPlace::ACTIVATION_BYTES, size_of::<Cache>() + 4 * B);
    assert_eq!(InPlace::PARAM_BYTES, Gathering::PARAM_BYTES);
    assert_eq!(InPlace::PARAM_BYTES, 2 * 4 * PARAMS);
    assert_eq!(InPlace::OPTIMIZER_BYTES, Gathering::OPTIMIZER_BYTES);
    let rest = |bytes, p, a, o| bytes - p - a - o;
    assert_eq!(
        rest(
            InPlace::BYTES,
            InPlace::PARAM_BYTES,
            InPlace::ACTIVATION_BYTES,
            InPlace::OPTIMIZER_BYTES
        ),
        rest(
            Gathering::BYTES,
            Gathering::PARAM_BYTES,
            Gathering::ACTIVATION_BYTES,
            Gathering::OPTIMIZER_BYTES
        ),
        "the settings and counters are the same"
    );
    // The firmware bench's shape: 64-32-10, batch 32, Adam. The input batch is 8 KiB.
    type BenchNet = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
    type G = Trainer<BenchNet, CrossEntropy, Adam<2410>, 32, 64, 10>;
    type C = CallerBatchTrainer<BenchNet, CrossEntropy, Adam<2410>, 32, 64, 10>;
    assert_eq!(G::BYTES - C::BYTES, 32 * 64 * 4);
    assert_eq!(C::PARAM_BYTES, 2 * 4 * 2410);
}

#[test]
fn a_trainer_zero_without_a_buffer_refuses_until_configured_then_trains_as_new() {
    let Data {
        mut batches,
        mut batch_labels,
        ..
    } = data(2);
    let (mut x2, mut y2) = (batches, batch_labels);
    let before = batches;
    let mut zero: Box<InPlace> = Box::new(Trainer::ZERO);
    let mut stored = Batches::with_len(&mut batches, &mut batch_labels, 1, N).unwrap();
    let err = zero
        .epoch_in_place(&mut stored, &mut Pcg32::seed_from_u64(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Setting {
                name: "Trainer::ZERO",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(zero.refused_steps(), 0);
    zero.configure(
        CrossEntropy::default(),
        AdamConfig::DEFAULT.with_lr(0.05),
        3,
    );
    init_params(
        &mut zero.model,
        Init::HeNormal,
        &mut Pcg32::seed_from_u64(1),
    );
    let (_, mut new) = trainers(1);
    let mut stored2 = Batches::with_len(&mut x2, &mut y2, 1, N).unwrap();
    for _ in 0..2 {
        let a = zero.epoch_in_place(&mut stored, &mut Pcg32::seed_from_u64(0));
        let b = new.epoch_in_place(&mut stored2, &mut Pcg32::seed_from_u64(0));
        assert_eq!(a, b);
    }
    assert_eq!(zero.steps(), 2 * BATCHES as u64);
    assert_same_bits(&params(&mut zero.model), &params(&mut new.model), "ZERO");
    assert_ne!(batches, before, "trained epochs shuffled the store");
}

/// The state a refusal must leave alone.
fn snapshot(t: &mut InPlace) -> (Vec<f32>, u64, u64) {
    (params(&mut t.model), t.steps(), t.refused_steps())
}

#[test]
fn bad_targets_are_refused_before_anything_moves() {
    let Data {
        mut batches,
        mut batch_labels,
        ..
    } = data(3);
    let (_, mut c) = trainers(2);
    batch_labels[7] = 3; // three classes
    let before = (batches, batch_labels);
    let state = snapshot(&mut c);
    let mut stored = Batches::with_len(&mut batches, &mut batch_labels, 1, N).unwrap();
    let mut rng = Pcg32::seed_from_u64(0);
    let label = Error::Label {
        sample: 7,
        label: 3,
        classes: 3,
    };
    assert_eq!(c.epoch_in_place(&mut stored, &mut rng), Err(label));
    assert_eq!(c.evaluate_batches(&stored), Err(label));
    assert_eq!(c.check_batches(&stored), Err(label));
    assert_eq!(
        label.to_string(),
        "sample 7: label 3 is not below the 3 classes"
    );
    assert_eq!((batches, batch_labels), before, "the data keeps its order");
    assert_eq!(snapshot(&mut c), state);

    // Two targets per sample for a loss that takes one.
    let mut two = [0u32; 2 * BATCHES * B];
    let mut stored = Batches::with_len(&mut batches, &mut two, 2, N).unwrap();
    assert_eq!(
        c.epoch_in_place(&mut stored, &mut rng),
        Err(Error::Shape {
            what: "targets per sample",
            expected: 1,
            found: 2
        })
    );
    assert_eq!(batches, before.0);
    assert_eq!(snapshot(&mut c), state);
}

#[test]
fn drop_last_without_a_full_batch_and_bad_settings_are_refused_unchanged() {
    let mut x = [Matrix([[0.5; 4]; B])];
    let mut y = [0u32, 1, 2, 0];
    let (_, mut c) = trainers(2);
    let state = snapshot(&mut c);
    c.drop_last = true;
    let mut stored = Batches::with_len(&mut x, &mut y, 1, 3).unwrap();
    let err = c
        .epoch_in_place(&mut stored, &mut Pcg32::seed_from_u64(0))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Empty {
            what: "epoch (drop_last with fewer samples than one batch)"
        }
    );
    c.drop_last = false;
    c.optimizer.config.lr = f32::NAN;
    let err = c
        .epoch_in_place(&mut stored, &mut Pcg32::seed_from_u64(0))
        .unwrap_err();
    assert!(matches!(err, Error::Setting { .. }), "{err}");
    assert_eq!(y, [0, 1, 2, 0]);
    assert_eq!(x[0].0[..3], [[0.5; 4]; 3]);
    assert_eq!(snapshot(&mut c), state);
}

#[test]
fn a_diverging_step_in_place_is_refused_and_counted() {
    type T = CallerBatchTrainer<Dense<1, 1>, Mse, Sgd, 2, 1, 1>;
    let mut t: T = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    t.model.weight.0 = [[1.0]];
    let mut x = [Matrix([[1.0], [2.0]]), Matrix([[3.0], [4.0]])];
    let mut y = [3e38f32; 4]; // (w·x − y)² overflows for every sample
    let mut stored = Batches::new(&mut x, &mut y, 1).unwrap();
    let err = t
        .epoch_in_place(&mut stored, &mut Pcg32::seed_from_u64(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Diverged {
                step: 1,
                cause: Refusal::Loss,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!((t.steps(), t.refused_steps()), (0, 1));
    assert_eq!(t.model.weight.0, [[1.0]]);
    assert_eq!(t.model.bias.0, [0.0]);
}

#[test]
fn batches_refuse_bad_stores_by_name_and_change_nothing() {
    let mut x = [Matrix([[1.0], [2.0]]), Matrix([[3.0], [4.0]])];
    let mut y = [0u32; 4];
    let before = x;
    assert_eq!(
        Batches::with_len(&mut x, &mut y, 1, 0).unwrap_err(),
        Error::Empty {
            what: "batches (no samples)"
        }
    );
    assert_eq!(
        Batches::<Batch<2, 1>, u32>::new(&mut [], &mut [], 1).unwrap_err(),
        Error::Empty {
            what: "batches (no samples)"
        }
    );
    assert_eq!(
        Batches::with_len(&mut x, &mut y, 1, 5).unwrap_err(),
        Error::Length {
            what: "samples (at most the rows of the batches)",
            expected: 4,
            found: 5
        }
    );
    let err = Batches::with_len(&mut x, &mut y[..3], 1, 3).unwrap_err();
    assert_eq!(
        err,
        Error::Length {
            what: "targets (targets_per_sample for every row of the batches)",
            expected: 4,
            found: 3
        }
    );
    assert!(err.to_string().contains("targets"), "{err}");
    assert!(matches!(
        Batches::new(&mut x, &mut y, usize::MAX).unwrap_err(),
        Error::Setting {
            name: "Batches targets_per_sample",
            ..
        }
    ));
    // A NaN among the samples, counted over every value of the batches in order; a
    // refused partial store does not zero its padding.
    x[1].0[0][0] = f32::NAN;
    let nan = Batches::with_len(&mut x, &mut y, 1, 3).unwrap_err();
    assert_eq!(
        nan,
        Error::NonFinite {
            what: "inputs",
            index: 2
        }
    );
    assert_eq!(x[0], before[0]);
    assert_eq!(x[1].0[1], before[1].0[1]);
    // The NaN is not a sample of a store of 2: accepted, and the padding of a full
    // last batch is nothing.
    let ok = Batches::with_len(&mut x, &mut y, 1, 2).unwrap();
    assert_eq!(ok.batches(), 1);
    assert!(
        x[1].0[0][0].is_nan(),
        "rows of unused batches are not touched"
    );
}

#[test]
fn a_partial_store_zeroes_its_padding_and_shuffles_only_its_samples() {
    let mut x = [Matrix([[1.0], [2.0], [3.0]]), Matrix([[4.0], [5.0], [6.0]])];
    let mut y = [1u32, 2, 3, 4, 5, 6];
    let mut stored = Batches::with_len(&mut x, &mut y, 1, 4).unwrap();
    let mut rng = Pcg32::seed_from_u64(4);
    for _ in 0..20 {
        stored.shuffle(&mut rng);
        let mut seen: Vec<u32> = (0..4).map(|i| stored.input(i)[0] as u32).collect();
        for i in 0..4 {
            assert_eq!(stored.target(i), &[stored.input(i)[0] as u32]);
        }
        seen.sort();
        assert_eq!(seen, [1, 2, 3, 4]);
    }
    assert_eq!(x[1].0[1..], [[0.0], [0.0]], "padding zeroed and left alone");
    assert_eq!(y[4..], [5, 6], "targets of padding rows left alone");
}

/// Positions of 5 items over 20 000 shuffles: 25 cells, 16 degrees of freedom; the
/// 99.9 % quantile of χ²₁₆ is 39.25.
#[test]
fn the_in_place_shuffle_is_uniform() {
    const ITEMS: usize = 5;
    const SHUFFLES: usize = 20_000;
    let mut counts = [[0usize; ITEMS]; ITEMS];
    let mut rng = Pcg32::seed_from_u64(12);
    for _ in 0..SHUFFLES {
        // Two batches of 3 rows, 5 samples: swaps within and across batches. From the
        // same order every time (shuffling a shuffled order would hide a bias that
        // composes away, such as Sattolo's cycles-only variant).
        let mut x = [Matrix([[0.0], [1.0], [2.0]]), Matrix([[3.0], [4.0], [0.0]])];
        let mut y = [0u32, 1, 2, 3, 4, 0];
        let mut stored = Batches::with_len(&mut x, &mut y, 1, ITEMS).unwrap();
        stored.shuffle(&mut rng);
        for position in 0..ITEMS {
            counts[stored.target(position)[0] as usize][position] += 1;
        }
    }
    let expected = SHUFFLES as f64 / ITEMS as f64;
    let chi2: f64 = counts
        .iter()
        .flatten()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 39.25, "χ² = {chi2}, counts {counts:?}");
}
