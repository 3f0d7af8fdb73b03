//! The sensor case: a wearable's gesture classifier trained from scratch on windows of
//! a simulated 3-axis accelerometer, the kind of model that personalises on the device.
//!
//! ```text
//! cargo run --release --example gesture
//! ```
//!
//! Six gestures (idle, shake, circle, knock, swipe left, swipe right), 1.28 s windows
//! at 50 Hz in g, with gravity on whatever axis the tilted wrist puts it, sensor bias,
//! gain error, noise and 12-bit quantisation; every window generated on the fly from a
//! seed (`examples/common/gesture_task.rs` describes the simulation). A small 1-D CNN
//! learns from 32 windows per gesture, stops early on 32 more, and is judged on 100
//! fresh windows per gesture: once trained with the signal augmentations and once
//! without, from the same seed.
//!
//! It exits with a failure status if the augmented run's test accuracy is below
//! [`PASS_ACCURACY`].

#[path = "common/gesture_task.rs"]
mod gesture_task;

use gesture_task::{
    fill, fresh, train, GestureTrainer, Run, Windows, AXES, BATCH, BUFFERS, CLASSES, GESTURES,
    LEARNING_RATE, MAX_EPOCHS, PARAMS, PATIENCE, RATE_HZ, STEPS, WINDOW,
};
use microtrain::train::Dataset;
use std::process::ExitCode;
use std::time::Instant;

/// Seed of the weights, the sample order and the augmentation.
const SEED: u64 = 7;
/// Seeds of the repeated comparison, besides [`SEED`].
const MORE_SEEDS: [u64; 4] = [1, 2, 3, 4];
/// Seeds of the three data sets (their windows never coincide).
const DATA_SEEDS: [u64; 3] = [0x7261_696e, 0x7661_6c69, 0x7465_7374];
/// Windows per gesture for training, validation and test.
const PER_CLASS: [usize; 3] = [32, 32, 100];
/// The least test accuracy of the augmented run that counts as a pass.
const PASS_ACCURACY: f32 = 0.80;

/// Windows and labels of one data set.
struct Split {
    windows: Vec<f32>,
    labels: Vec<u32>,
}

impl Split {
    fn generate(seed: u64, per_class: usize) -> Split {
        let n = per_class * CLASSES;
        let mut split = Split {
            windows: vec![0.0; n * WINDOW],
            labels: vec![0; n],
        };
        fill(seed, 0, &mut split.windows, &mut split.labels);
        split
    }

    fn dataset(&self) -> Result<Dataset<'_, u32>, microtrain::Error> {
        Dataset::new(&self.windows, WINDOW, &self.labels, 1)
    }
}

/// The predicted gesture of every window, batch by batch (the last batch padded).
fn predictions(
    trainer: &mut GestureTrainer,
    split: &Split,
) -> Result<Vec<usize>, microtrain::Error> {
    let mut out = Vec::with_capacity(split.labels.len());
    let mut batch = Windows::zeros();
    for (chunk, rows) in split
        .windows
        .chunks(BATCH * WINDOW)
        .map(|c| (c, c.len() / WINDOW))
    {
        batch.as_mut_slice().fill(0.0);
        batch.as_mut_slice()[..chunk.len()].copy_from_slice(chunk);
        let logits = trainer.predict(&batch)?;
        out.extend(
            logits.0[..rows].iter().map(|row| {
                (0..CLASSES).fold(0, |best, c| if row[c] > row[best] { c } else { best })
            }),
        );
    }
    Ok(out)
}

/// The gestures' names in the confusion matrix's columns.
const SHORT: [&str; CLASSES] = ["idle", "shake", "circle", "knock", "left", "right"];

/// One training run and its verdict on the test set.
struct Outcome {
    trainer: Box<GestureTrainer>,
    run: Run,
    accuracy: f32,
    confusion: [[usize; CLASSES]; CLASSES],
    seconds: f64,
}

fn run(
    splits: &[Split; 3],
    seed: u64,
    augmented: bool,
    verbose: bool,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let (train_set, val_set) = (splits[0].dataset()?, splits[1].dataset()?);
    let mut trainer = Box::new(fresh(seed));
    let started = Instant::now();
    if verbose {
        println!("epoch | train loss | val loss | val acc |");
        println!("------+------------+----------+---------+");
    }
    let run = train(
        &mut trainer,
        &train_set,
        &val_set,
        seed,
        augmented,
        |epoch, loss, val_loss, val_acc, improved| {
            if verbose {
                println!(
                    "{epoch:5} | {loss:10.4} | {val_loss:8.4} | {:6.1}% |{}",
                    100.0 * val_acc,
                    if improved { " best so far" } else { "" }
                );
            }
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let test = &splits[2];
    let predicted = predictions(&mut trainer, test)?;
    let mut confusion = [[0; CLASSES]; CLASSES];
    for (&p, &t) in predicted.iter().zip(&test.labels) {
        confusion[t as usize][p] += 1;
    }
    let correct: usize = (0..CLASSES).map(|c| confusion[c][c]).sum();
    let accuracy = correct as f32 / test.labels.len() as f32;
    let evaluated = trainer.evaluate(&test.dataset()?)?.accuracy.unwrap_or(0.0);
    if (evaluated - accuracy).abs() > 1e-6 {
        return Err(format!(
            "confusion matrix ({accuracy}) and Trainer::evaluate ({evaluated}) disagree"
        )
        .into());
    }
    Ok(Outcome {
        trainer,
        run,
        accuracy,
        confusion,
        seconds,
    })
}

/// The class probabilities of one window, as the device would classify a gesture just
/// recorded: `predict_proba_one` puts the window in row 0 of a zeroed batch (BatchNorm
/// uses its running statistics in evaluation, so the padding does not change row 0)
/// and turns the logits into probabilities by a softmax.
fn classify(
    trainer: &mut GestureTrainer,
    window: &[f32],
) -> Result<[f32; CLASSES], microtrain::Error> {
    let window: &[f32; WINDOW] = window.try_into().map_err(|_| microtrain::Error::Length {
        what: "gesture window",
        expected: WINDOW,
        found: window.len(),
    })?;
    trainer.predict_proba_one(window)
}

fn print_confusion(confusion: &[[usize; CLASSES]; CLASSES]) {
    println!("confusion matrix (rows: true gesture, columns: predicted):\n");
    print!("{:>12} |", "");
    for name in SHORT {
        print!("{name:>7}");
    }
    println!(" | recall");
    for (t, row) in confusion.iter().enumerate() {
        print!("{:>12} |", GESTURES[t]);
        for n in row {
            print!("{n:>7}");
        }
        let total: usize = row.iter().sum();
        println!(" | {:5.1}%", 100.0 * row[t] as f32 / total as f32);
    }
}

fn main() -> ExitCode {
    match demo() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> Result<bool, Box<dyn std::error::Error>> {
    let started = Instant::now();
    println!(
        "gestures from a simulated wrist accelerometer: {CLASSES} classes ({}), \
         windows of {STEPS} steps at {RATE_HZ} Hz ({:.2} s) x {AXES} axes in g\n",
        GESTURES.join(", "),
        STEPS as f32 / RATE_HZ
    );
    let splits = [0, 1, 2].map(|i| Split::generate(DATA_SEEDS[i], PER_CLASS[i]));
    println!(
        "data: {} train / {} validation / {} test windows, generated in {:.0} ms",
        splits[0].labels.len(),
        splits[1].labels.len(),
        splits[2].labels.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "network: conv1d(3-6, k5)-BN-ReLU-maxpool2 - conv1d(6-12, k5)-BN-ReLU-maxpool2 - \
         conv1d(12-16, k3)-BN-ReLU - global avg pool - dense(16-{CLASSES})"
    );
    println!(
        "{PARAMS} parameters ({} bytes as f32), {BUFFERS} batch-norm statistics",
        4 * PARAMS
    );
    println!(
        "trainer RAM for batches of {BATCH}: {} bytes = parameters + gradients {} + activations \
         and batch buffers {} + Adam state {} + bookkeeping",
        GestureTrainer::BYTES,
        GestureTrainer::PARAM_BYTES,
        GestureTrainer::ACTIVATION_BYTES,
        GestureTrainer::OPTIMIZER_BYTES
    );
    println!(
        "Adam lr {LEARNING_RATE}, up to {MAX_EPOCHS} epochs, early stopping on the validation \
         loss (patience {PATIENCE}), seed {SEED}\n"
    );

    println!("with augmentation (mix same class, time warp, magnitude warp, scaling, time shift, jitter, channel dropout):\n");
    let mut with = run(&splits, SEED, true, true)?;
    println!(
        "\n{} epochs in {:.2} s; kept epoch {} (from 0; validation loss {:.4})",
        with.run.epochs, with.seconds, with.run.best.0, with.run.best.1
    );
    println!("test accuracy {:.1}%\n", 100.0 * with.accuracy);
    print_confusion(&with.confusion);

    println!("\none window at a time, as on the device (the first test window of each gesture):\n");
    let trainer = &mut with.trainer;
    for (class, name) in GESTURES.iter().enumerate() {
        let window = &splits[2].windows[class * WINDOW..(class + 1) * WINDOW];
        let p = classify(trainer, window)?;
        let best = (0..CLASSES).fold(0, |b, c| if p[c] > p[b] { c } else { b });
        let shown: Vec<String> = p.iter().map(|v| format!("{v:.2}")).collect();
        println!(
            "{name:>12}: p = [{}] -> {}",
            shown.join(" "),
            GESTURES[best]
        );
    }

    println!("\nwithout augmentation (same seed, same data):\n");
    let without = run(&splits, SEED, false, false)?;
    println!(
        "{} epochs in {:.2} s; kept epoch {} (validation loss {:.4})",
        without.run.epochs, without.seconds, without.run.best.0, without.run.best.1
    );
    println!("test accuracy {:.1}%\n", 100.0 * without.accuracy);
    print_confusion(&without.confusion);

    println!(
        "\ntest accuracy: {:.1}% with augmentation, {:.1}% without",
        100.0 * with.accuracy,
        100.0 * without.accuracy,
    );

    // One seed is one draw: the same comparison over more seeds (weights, order and
    // augmentation; the data stay the same).
    println!("\nthe comparison over {} seeds:\n", 1 + MORE_SEEDS.len());
    println!(" seed | with aug. | without | epochs (with / without)");
    let row = |seed: u64, a: &Outcome, b: &Outcome| {
        println!(
            "{seed:5} | {:8.1}% | {:6.1}% | {} / {}",
            100.0 * a.accuracy,
            100.0 * b.accuracy,
            a.run.epochs,
            b.run.epochs
        )
    };
    row(SEED, &with, &without);
    let (mut sum_with, mut sum_without) = (with.accuracy, without.accuracy);
    for seed in MORE_SEEDS {
        let a = run(&splits, seed, true, false)?;
        let b = run(&splits, seed, false, false)?;
        row(seed, &a, &b);
        sum_with += a.accuracy;
        sum_without += b.accuracy;
    }
    let n = (1 + MORE_SEEDS.len()) as f32;
    println!(
        " mean | {:8.1}% | {:6.1}% |",
        100.0 * sum_with / n,
        100.0 * sum_without / n
    );
    println!("\ntotal time {:.2} s", started.elapsed().as_secs_f64());
    let pass = with.accuracy >= PASS_ACCURACY;
    println!(
        "{}: test accuracy {:.1}% {} the threshold of {:.0}%",
        if pass { "PASS" } else { "FAIL" },
        100.0 * with.accuracy,
        if pass { "reaches" } else { "is below" },
        100.0 * PASS_ACCURACY
    );
    Ok(pass)
}
