//! Weight averaging and ensembles on the handwritten digits: what each buys over the
//! final weights of one training run, on one held-out test set, over several seeds.
//!
//! ```text
//! cargo run --release --example averaging
//! ```
//!
//! One run per seed trains `64 → 32 → BatchNorm → ReLU → 10` with plain SGD under
//! cosine annealing with warm restarts (SGDR: 5 cycles of 8 epochs), and keeps, from
//! that one trajectory:
//!
//! - **final**: the weights after the last epoch (the bottom of the last cycle);
//! - **SWA**: the Polyak–Ruppert mean of the weights at the ends of cycles 2 to 5
//!   (`Averaged::swa(1)`, updated at each `snapshot_due` epoch), evaluated after
//!   `update_bn` recomputes the batch-norm statistics for the averaged weights, and,
//!   to show why that matters, with the statistics of the last model instead;
//! - **EMA**: the exponential moving average of the weights after every step
//!   (decay 0.995, about 200 steps or 4.5 epochs), batch-norm statistics averaged too
//!   (PyTorch's `use_buffers=True`);
//! - **snapshots**: the ensemble of the 5 cycle-end snapshots, by average probability
//!   and by majority vote.
//!
//! The split is fixed (seed 7: 500 test samples, the other 1297 for training), the
//! seeds change the initial weights and the batch order. Each epoch takes the samples
//! in a fresh random order, in full batches of 32 (the last 17 samples of each order
//! are left out, PyTorch's `drop_last=True`), so that every step can update the EMA.
//! The process fails if any method falls below [`PASS_ACCURACY`].

#[path = "common/digits_data.rs"]
mod digits_data;

use digits_data::{parse, split, Samples, CLASSES, CSV, FEATURES, SIDE};
use microtrain::average::{update_bn, Averaged};
use microtrain::ensemble::{snapshot_due, Ensemble};
use microtrain::init::{init_params, Init};
use microtrain::layers::{BatchNorm, Dense, Layer, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::Sgd;
use microtrain::schedule::{CosineWarmRestarts, Scheduler};
use microtrain::train::{Dataset, Permutation, Trainer};
use microtrain::{seq, Batch, Seq, Zeroed};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::process::ExitCode;

const HIDDEN: usize = 32;
const BATCH: usize = 32;
const TEST: usize = 500;
const SPLIT_SEED: u64 = 7;
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
/// Epochs of one SGDR cycle, and cycles.
const CYCLE: u32 = 8;
const CYCLES: u32 = 5;
const LEARNING_RATE: f32 = 0.2;
const EMA_DECAY: f32 = 0.995;
/// Snapshots kept: every cycle's.
const SNAPSHOTS: usize = CYCLES as usize;
/// Every method must reach this test accuracy.
const PASS_ACCURACY: f32 = 0.90;

type Net = Seq![Dense<FEATURES, HIDDEN>, BatchNorm<HIDDEN>, Relu, Dense<HIDDEN, CLASSES>];
type DigitsTrainer = Trainer<Net, CrossEntropy, Sgd, BATCH, FEATURES, CLASSES>;
const P: usize = Net::COUNT;
const NB: usize = Net::BUFFERS;

/// Test accuracy and loss (`None` where there is no probability: the vote) of each
/// method of one seed, in the order of [`METHODS`].
type Row = [(f32, Option<f32>); 6];
const METHODS: [&str; 6] = [
    "final",
    "SWA + update_bn",
    "SWA, stale BN",
    "EMA",
    "snapshots, mean",
    "snapshots, vote",
];

/// Trains with one seed; returns the test results of every method and the final
/// model's weights.
fn run(
    seed: u64,
    train: &Dataset<'_, u32>,
    test: &Dataset<'_, u32>,
) -> Result<(Row, Box<DigitsTrainer>), Box<dyn Error>> {
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut t: Box<DigitsTrainer> = Box::new(Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(LEARNING_RATE),
        seed,
    ));
    init_params(&mut t.model, Init::HeNormal, &mut rng);
    let schedule = CosineWarmRestarts::new(LEARNING_RATE, CYCLE);
    let mut scheduler = Scheduler::start(schedule, &mut t.optimizer);
    let mut swa = Box::new(Averaged::<P, NB>::swa(1));
    let mut ema = Box::new(Averaged::<P, NB>::ema(EMA_DECAY)?.average_buffers(true));
    let mut snapshots = Box::new(Ensemble::<P, NB, SNAPSHOTS>::new());
    let mut x = Batch::<BATCH, FEATURES>::zeros();
    let mut y = [0u32; BATCH];
    for epoch in 0..CYCLE * CYCLES {
        let order = Permutation::new(train.len(), &mut rng);
        for start in (0..train.len() - BATCH + 1).step_by(BATCH) {
            for (r, (row, label)) in x.0.iter_mut().zip(&mut y).enumerate() {
                let i = order.get(start + r);
                row.copy_from_slice(train.input(i));
                *label = train.target(i)[0];
            }
            t.train_step(&x, &y)?;
            ema.update(&mut t.model)?;
        }
        if snapshot_due(&schedule, epoch) {
            snapshots.push(&mut t.model);
            swa.update(&mut t.model)?;
        }
        scheduler.step(&mut t.optimizer);
    }
    let accuracy = |t: &mut DigitsTrainer| -> Result<(f32, Option<f32>), microtrain::Error> {
        let e = t.evaluate(test)?;
        Ok((e.accuracy.unwrap_or(0.0), Some(e.loss)))
    };
    let final_accuracy = accuracy(&mut t)?;

    // SWA: first with the batch-norm statistics of the last model (the buffers the
    // average copied), then recomputed for the averaged weights.
    swa.swap(&mut t.model);
    let stale = accuracy(&mut t)?;
    let mut input = Box::new(Batch::<BATCH, FEATURES>::zeros());
    let mut cache = Box::new(<Net as Layer<Batch<BATCH, FEATURES>>>::Cache::ZERO);
    update_bn(&mut t.model, train, &mut input, &mut cache)?;
    let swa_accuracy = accuracy(&mut t)?;
    swa.swap(&mut t.model);

    ema.swap(&mut t.model);
    let ema_accuracy = accuracy(&mut t)?;
    ema.swap(&mut t.model);

    let ensemble = snapshots.evaluate(&mut t, test)?;
    let row = [
        final_accuracy,
        swa_accuracy,
        stale,
        ema_accuracy,
        (ensemble.average_accuracy, Some(ensemble.loss)),
        (ensemble.vote_accuracy, None),
    ];
    Ok((row, t))
}

fn mean_and_std(v: &[f32]) -> (f32, f32) {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let all = parse(CSV)?;
    let (train_samples, _, test_samples): (Samples, Samples, Samples) =
        split(&all, 0, TEST, &mut Pcg32::seed_from_u64(SPLIT_SEED));
    let (train, test) = (train_samples.dataset()?, test_samples.dataset()?);
    println!(
        "UCI digits ({SIDE}x{SIDE} pixels): {} train / {} test samples (split seed {SPLIT_SEED}); \
         model 64 -> {HIDDEN} -> BatchNorm -> ReLU -> 10",
        train.len(),
        test.len()
    );
    println!(
        "SGD lr {LEARNING_RATE}, batches of {BATCH}, SGDR: {CYCLES} cycles of {CYCLE} epochs; SWA over cycle ends 2..{CYCLES}; \
         EMA decay {EMA_DECAY} per step; snapshot ensemble of {SNAPSHOTS}"
    );
    println!(
        "memory beside the trainer ({} B): SWA {} B, EMA {} B, {SNAPSHOTS} snapshots {} B ({P} parameters + {NB} BN statistics each)\n",
        DigitsTrainer::BYTES,
        Averaged::<P, NB>::BYTES,
        Averaged::<P, NB>::BYTES,
        Ensemble::<P, NB, SNAPSHOTS>::BYTES
    );
    println!("test accuracy (test loss: mean cross-entropy of the predicted probabilities)\n");
    print!("{:<6}", "seed");
    for m in METHODS {
        print!("| {m:>18} ");
    }
    println!();
    let mut rows = Vec::new();
    let mut independent = Box::new(Ensemble::<P, NB, { SEEDS.len() }>::new());
    let mut last = None;
    for seed in SEEDS {
        let (row, mut t) = run(seed, &train, &test)?;
        independent.push(&mut t.model);
        print!("{seed:<6}");
        for (a, loss) in row {
            let cell = match loss {
                Some(l) => format!("{:.1}% ({l:.4})", 100.0 * a),
                None => format!("{:.1}%", 100.0 * a),
            };
            print!("| {cell:>18} ");
        }
        println!();
        rows.push(row);
        last = Some(t);
    }
    print!("{:<6}", "mean");
    let mut failed = false;
    for (m, _) in METHODS.iter().enumerate() {
        let column: Vec<f32> = rows.iter().map(|r| r[m].0).collect();
        let (mean, std) = mean_and_std(&column);
        let cell = format!("{:.1}% ± {:.1}%", 100.0 * mean, 100.0 * std);
        print!("| {cell:>18} ");
        failed |= column.iter().any(|&a| a < PASS_ACCURACY);
    }
    println!();
    print!("{:<6}", "");
    for (m, _) in METHODS.iter().enumerate() {
        let column: Vec<f32> = rows.iter().filter_map(|r| r[m].1).collect();
        if column.is_empty() {
            print!("| {:18} ", "");
        } else {
            let (mean, std) = mean_and_std(&column);
            let cell = format!("({mean:.4} ± {std:.4})");
            print!("| {cell:>18} ");
        }
    }
    println!(
        "\n\none test sample = {:.1}%; ± is the standard deviation over the {} seeds",
        100.0 / test.len() as f32,
        SEEDS.len()
    );
    let mut t = last.ok_or("no seed")?;
    let e = independent.evaluate(&mut t, &test)?;
    println!(
        "ensemble of the {} seeds' final models: mean {:.1}% (loss {:.4}), vote {:.1}%",
        SEEDS.len(),
        100.0 * e.average_accuracy,
        e.loss,
        100.0 * e.vote_accuracy
    );
    failed |= e.average_accuracy < PASS_ACCURACY;
    if failed {
        println!("FAIL: a method fell below {:.0}%", 100.0 * PASS_ACCURACY);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
