//! The main demo: a small MLP learns to read handwritten digits, on the host, with the
//! same code that trains on a microcontroller.
//!
//! ```text
//! cargo run --release --example digits
//! ```
//!
//! The data are the 1797 8×8 digits of the UCI "Optical Recognition of Handwritten
//! Digits" test set (Alpaydin & Kaynak, CC BY 4.0), as shipped with scikit-learn;
//! `examples/data/README.md` says where they come from. The CSV is compiled into the
//! binary (by `examples/common/digits_data.rs`, which `examples/depth.rs` shares), so
//! the example runs from any directory with nothing but Rust.
//!
//! What it does, in the order a careful practitioner would:
//!
//! 1. parses the CSV, scales the pixels from `0..=16` to `[0, 1]`, and splits the
//!    samples with a seeded shuffle into train / validation / test sets;
//! 2. builds `64 → 32 ReLU → dropout → 10` with He initialisation, prints the RAM the
//!    whole trainer needs, and the initial loss beside `ln 10`, the loss of uniform
//!    guessing, which an untrained classifier should be near;
//! 3. trains with softmax cross-entropy and plain mini-batch SGD under a warm-up and
//!    cosine learning-rate schedule, prints the training and validation loss after every
//!    epoch and keeps them in a `History`, and with an `EarlyStopper` restores the
//!    weights of the epoch with the lowest validation loss;
//! 4. plots both loss curves (always plot your losses), then judges the kept weights
//!    once on the test set: accuracy, confusion matrix, and some digits drawn in ASCII
//!    with what the network read.
//!
//! Everything is seeded: a run prints the same numbers on every machine. The process
//! exits with a failure status if the test accuracy falls below [`PASS_ACCURACY`].

#[path = "common/digits_data.rs"]
mod digits_data;

use digits_data::{parse, split, Samples, CLASSES, CSV, FEATURES, PIXEL_MAX, SIDE};
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Dropout, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Optimizer, Sgd};
use microtrain::schedule::{Cosine, Scheduler, Sequential};
use microtrain::train::{Decision, EarlyStopper, EarlyStopping, EpochRecord, History, Trainer};
use microtrain::{kernels, seq, Batch, MatMut, MatRef, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::process::ExitCode;
use std::time::Instant;

/// Hidden units.
const HIDDEN: usize = 32;

/// Samples held out to choose the epoch (and to watch for overfitting).
const VALIDATION: usize = 200;
/// Samples held out, untouched until the end, to measure the final model.
const TEST: usize = 200;

/// Mini-batch size `B`: a compile-time constant, because the trainer's buffers are.
const BATCH: usize = 32;
/// Passes over the training set.
const EPOCHS: usize = 40;
/// Peak step size of plain SGD, reached after the warm-up and then annealed.
const LEARNING_RATE: f32 = 0.1;
/// The warm-up starts at this fraction of [`LEARNING_RATE`] ...
const WARMUP_FACTOR: f32 = 0.1;
/// ... and reaches it linearly after this many epochs.
const WARMUP_EPOCHS: u32 = 3;
/// Early stopping: epochs without a better validation loss before training stops.
const PATIENCE: u32 = 8;
/// Probability that dropout zeroes a hidden unit during training.
const DROPOUT: f32 = 0.1;
/// Seed of the split, the initial weights, the batch order and the dropout masks.
const SEED: u64 = 7;
/// The run fails below this test accuracy.
const PASS_ACCURACY: f32 = 0.90;

/// The network: `Dense → ReLU → Dropout → Dense`, logits out.
type Net = Seq![Dense<FEATURES, HIDDEN>, Relu, Dropout, Dense<HIDDEN, CLASSES>];
/// The network with its loss, optimizer and buffers for batches of [`BATCH`].
type DigitsTrainer = Trainer<Net, CrossEntropy, Sgd, BATCH, FEATURES, CLASSES>;

/// The model's logits for every sample, batch by batch (the last batch padded).
fn logits(trainer: &mut DigitsTrainer, samples: &Samples) -> Vec<[f32; CLASSES]> {
    let mut out = Vec::with_capacity(samples.len());
    let mut batch: Batch<BATCH, FEATURES> = Batch::zeros();
    for start in (0..samples.len()).step_by(BATCH) {
        let rows = BATCH.min(samples.len() - start);
        for (r, row) in batch.0.iter_mut().enumerate() {
            if r < rows {
                row.copy_from_slice(samples.image(start + r));
            } else {
                *row = [0.0; FEATURES];
            }
        }
        out.extend_from_slice(&trainer.predict(&batch).0[..rows]);
    }
    out
}

/// Class probabilities `softmax(z)` of one row of logits.
fn probabilities(z: &[f32; CLASSES]) -> Result<[f32; CLASSES], microtrain::Error> {
    let mut p = [0.0; CLASSES];
    kernels::softmax_rows(
        MatRef::new(z, 1, CLASSES)?,
        MatMut::new(&mut p, 1, CLASSES)?,
    )?;
    Ok(p)
}

/// A line chart of several series over epochs `1..=n`, on a logarithmic loss axis.
/// Each series is drawn with its own mark; where two meet, `#`.
fn plot(series: &[(&str, char, Vec<f32>)], height: usize) -> String {
    let values = || series.iter().flat_map(|(_, _, v)| v.iter().copied());
    let hi = values().fold(f32::MIN, f32::max).log10();
    let lo = values().fold(f32::MAX, f32::min).log10();
    let span = (hi - lo).max(1e-6);
    let width = series.iter().map(|(_, _, v)| v.len()).max().unwrap_or(0);
    let mut grid = vec![vec![' '; width]; height];
    for (_, mark, values) in series {
        for (x, &v) in values.iter().enumerate() {
            let y = ((hi - v.log10()) / span * (height - 1) as f32).round() as usize;
            let cell = &mut grid[y.min(height - 1)][x];
            *cell = if *cell == ' ' || *cell == *mark {
                *mark
            } else {
                '#'
            };
        }
    }
    let mut text = String::new();
    for (y, row) in grid.iter().enumerate() {
        let label = if y % 3 == 0 || y == height - 1 {
            let value = 10f32.powf(hi - span * y as f32 / (height - 1) as f32);
            format!("{value:7.3}")
        } else {
            String::new()
        };
        let row: String = row.iter().collect();
        text += &format!("{label:>7} |{}\n", row.trim_end());
    }
    text += &format!("{:>7} +{}\n", "", "-".repeat(width));
    let last = format!("{width}");
    text += &format!(
        "{:>7}  1{}{last}  epoch\n",
        "",
        " ".repeat(width.saturating_sub(1 + last.len()))
    );
    let legend: Vec<String> = series
        .iter()
        .map(|(name, mark, _)| format!("{mark} {name}"))
        .collect();
    text += &format!(
        "{:>7}  {}   (# both; loss axis logarithmic)\n",
        "",
        legend.join("   ")
    );
    text
}

/// Draws images side by side, two characters per pixel, darker ink for higher values,
/// each with two caption lines underneath.
fn draw(images: &[&[f32]], captions: &[[String; 2]]) -> String {
    const INK: &[u8] = b" .:-=+*#%@";
    let mut text = String::new();
    for y in 0..SIDE {
        let rows: Vec<String> = images
            .iter()
            .map(|image| {
                image[y * SIDE..(y + 1) * SIDE]
                    .iter()
                    .map(|&v| {
                        let level = (v * (INK.len() - 1) as f32).round() as usize;
                        let c = INK[level.min(INK.len() - 1)] as char;
                        format!("{c}{c}")
                    })
                    .collect()
            })
            .collect();
        text += &format!("  |{}|\n", rows.join("|  |"));
    }
    for line in 0..2 {
        let cells: Vec<String> = captions
            .iter()
            .map(|c| format!("{:<width$}", c[line], width = 2 * SIDE))
            .collect();
        text += &format!("   {}\n", cells.join("    ").trim_end());
    }
    text
}

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let started = Instant::now();
    let mut rng = Pcg32::seed_from_u64(SEED);

    // 1. Data.
    let all = parse(CSV)?;
    let (train_samples, validation_samples, test_samples) = split(&all, VALIDATION, TEST, &mut rng);
    let train = train_samples.dataset()?;
    let validation = validation_samples.dataset()?;
    let test = test_samples.dataset()?;
    println!(
        "UCI handwritten digits (Alpaydin & Kaynak; CC BY 4.0): {} images of {SIDE}x{SIDE} pixels, \
         {CLASSES} classes",
        all.len()
    );
    println!(
        "split with seed {SEED}: {} train / {} validation / {} test; pixels scaled from 0..{PIXEL_MAX} to [0, 1]\n",
        train.len(),
        validation.len(),
        test.len()
    );

    // 2. Model, and what training it costs in RAM.
    let mut trainer: DigitsTrainer = Trainer::new(
        seq![Dense::zeros(), Relu, Dropout::new(DROPOUT), Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(LEARNING_RATE),
        SEED,
    );
    init_params(&mut trainer.model, Init::HeNormal, &mut rng);
    println!(
        "model: Dense<{FEATURES}, {HIDDEN}> -> ReLU -> Dropout(p = {DROPOUT}) -> Dense<{HIDDEN}, {CLASSES}>, \
         He-normal init, softmax cross-entropy"
    );
    println!(
        "training: plain SGD in mini-batches of {BATCH}, at most {EPOCHS} epochs; learning rate warmed up \
         linearly from {WARMUP_FACTOR} x {LEARNING_RATE} over {WARMUP_EPOCHS} epochs, then cosine-annealed; \
         early stopping after {PATIENCE} epochs without a better validation loss\n"
    );
    let config_bytes = DigitsTrainer::BYTES
        - DigitsTrainer::PARAM_BYTES
        - DigitsTrainer::ACTIVATION_BYTES
        - DigitsTrainer::OPTIMIZER_BYTES;
    println!(
        "RAM to train, Trainer::<Net, CrossEntropy, Sgd, {BATCH}, {FEATURES}, {CLASSES}>::BYTES = {} bytes \
         (known at compile time):",
        DigitsTrainer::BYTES
    );
    println!(
        "  PARAM_BYTES       {:>6}  {} parameters and their gradients",
        DigitsTrainer::PARAM_BYTES,
        Net::COUNT
    );
    println!(
        "  ACTIVATION_BYTES  {:>6}  activations kept for backprop, the input batch, targets, output gradient",
        DigitsTrainer::ACTIVATION_BYTES
    );
    println!(
        "  OPTIMIZER_BYTES   {:>6}  optimizer state (none for plain SGD)",
        DigitsTrainer::OPTIMIZER_BYTES
    );
    println!("  the rest          {config_bytes:>6}  settings (dropout, loss, learning rate), context, padding\n");

    // Sanity check before training: an untrained classifier should guess uniformly.
    let initial = trainer.evaluate(&train)?;
    println!(
        "initial training loss {:.3} (uniform guessing: ln 10 = {:.3})\n",
        initial.loss,
        (CLASSES as f32).ln()
    );

    // 3. Training: a linear warm-up into cosine annealing of the learning rate, the
    //    training history kept, and early stopping on the validation loss, which keeps
    //    a copy of the best weights.
    let schedule = Sequential::warmup(
        WARMUP_FACTOR,
        WARMUP_EPOCHS,
        Cosine::new(LEARNING_RATE, EPOCHS as u32),
    );
    let mut scheduler = Scheduler::start(schedule, &mut trainer.optimizer);
    let mut stopper = EarlyStopper::<{ Net::COUNT }>::new(EarlyStopping::new().patience(PATIENCE));
    let mut history = History::<EPOCHS>::new();
    println!("epoch |     lr | train loss | val loss | val acc |");
    println!("------+--------+------------+----------+---------+");
    let training = Instant::now();
    for epoch in 1..=EPOCHS as u32 {
        let lr = trainer.optimizer.learning_rate();
        let risk = trainer.epoch(&train, &mut rng)?;
        let val = trainer.evaluate(&validation)?;
        history.push(EpochRecord::new(epoch, risk, val, lr));
        let decision = stopper.update(val.loss, &mut trainer.model);
        println!(
            "{epoch:5} | {lr:.4} | {:10.4} | {:8.4} | {:6.1}% |{}",
            risk.data,
            val.loss,
            100.0 * val.accuracy.unwrap_or(0.0),
            match decision {
                Decision::Improved => " best so far",
                Decision::Stop { .. } => " no improvement for the patience: stop",
                Decision::Wait { .. } => "",
            }
        );
        if decision.should_stop() {
            break;
        }
        scheduler.step(&mut trainer.optimizer);
    }
    let training_time = training.elapsed();
    println!(
        "\ntrain loss: mean over the epoch's mini-batches, dropout on; validation: after the epoch, dropout off"
    );
    stopper.restore(&mut trainer.model)?;
    // The stopper counts epochs from 0; the table counts from 1.
    let (best_epoch, best_loss) = stopper.best().map_or((0, f32::NAN), |(e, l)| (e + 1, l));
    println!(
        "trained {} epochs in {:.2} s; restored the weights of epoch {best_epoch} (lowest validation loss {best_loss:.4})\n",
        history.len(),
        training_time.as_secs_f64(),
    );

    // 4. Loss curves.
    println!("loss curves:\n");
    print!(
        "{}",
        plot(
            &[
                ("train", 't', history.iter().map(|r| r.train_loss).collect()),
                (
                    "validation",
                    'v',
                    history.iter().map(|r| r.validation_loss).collect()
                ),
            ],
            13,
        )
    );

    // 5. The test set, judged once.
    let result = trainer.evaluate(&test)?;
    let accuracy = result.accuracy.unwrap_or(0.0);
    let outputs = logits(&mut trainer, &test_samples);
    let predictions: Vec<usize> = outputs
        .iter()
        .map(|z| kernels::argmax(z).unwrap_or(0))
        .collect();
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    for (&p, &t) in predictions.iter().zip(&test_samples.labels) {
        confusion[t as usize][p] += 1;
    }
    let correct: usize = (0..CLASSES).map(|c| confusion[c][c]).sum();
    println!(
        "\nTEST: accuracy {:.1}% ({correct}/{}), loss {:.4}\n",
        100.0 * accuracy,
        test.len(),
        result.loss
    );
    if correct as f32 / test.len() as f32 != accuracy {
        return Err("the confusion matrix disagrees with Trainer::evaluate".into());
    }

    println!("confusion matrix (rows: true digit, columns: predicted digit):\n");
    println!(
        "true\\pred {}   recall",
        (0..CLASSES).map(|c| format!("{c:>4}")).collect::<String>()
    );
    for (t, row) in confusion.iter().enumerate() {
        let cells: String = row
            .iter()
            .enumerate()
            .map(|(p, &n)| match (n, p == t) {
                (0, false) => "   .".to_string(),
                _ => format!("{n:>4}"),
            })
            .collect();
        let total: usize = row.iter().sum();
        println!(
            "{t:>9} {cells}   {:5.1}%",
            100.0 * row[t] as f32 / total.max(1) as f32
        );
    }

    // A few test digits as the network saw them: the first ones, then its mistakes.
    let caption = |i: usize| -> Result<[String; 2], microtrain::Error> {
        let (read, truth) = (predictions[i], test_samples.labels[i] as usize);
        let p = probabilities(&outputs[i])?;
        let verdict = if read == truth { "ok" } else { "WRONG" };
        Ok([
            format!("read {read} ({:.0}%)", 100.0 * p[read]),
            format!("true {truth} {verdict}"),
        ])
    };
    let first: Vec<usize> = (0..4).collect();
    let mistakes: Vec<usize> = (0..test.len())
        .filter(|&i| predictions[i] != test_samples.labels[i] as usize)
        .take(4)
        .collect();
    for (title, shown) in [
        ("the first test digits", first),
        ("the network's mistakes", mistakes),
    ] {
        if shown.is_empty() {
            continue;
        }
        println!("\n{title} (read: the predicted digit and its softmax probability):\n");
        let images: Vec<&[f32]> = shown.iter().map(|&i| test_samples.image(i)).collect();
        let captions = shown
            .iter()
            .map(|&i| caption(i))
            .collect::<Result<Vec<_>, _>>()?;
        print!("{}", draw(&images, &captions));
    }

    println!("\ntotal runtime {:.2} s", started.elapsed().as_secs_f64());
    if accuracy < PASS_ACCURACY {
        println!(
            "FAIL: test accuracy {:.1}% is below {:.0}%",
            100.0 * accuracy,
            100.0 * PASS_ACCURACY
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
