//! The main demo: an MLP and a small CNN learn to read handwritten digits, on the host,
//! with the same code that trains on a microcontroller, following the recipe of a
//! careful practitioner.
//!
//! ```text
//! cargo run --release --example digits [-- DIR [SEED]]
//! ```
//!
//! The data are the 1797 8×8 digits of the UCI "Optical Recognition of Handwritten
//! Digits" test set (Alpaydin & Kaynak, CC BY 4.0), as shipped with scikit-learn;
//! `examples/data/README.md` says where they come from. The CSV is compiled into the
//! binary, so the example runs from any directory with nothing but Rust.
//!
//! What it does, in order:
//!
//! 1. splits the data with a fixed seed into 1397 train / 200 validation / 200 test
//!    samples, and standardises them per channel with statistics of the training set;
//! 2. **starts by overfitting to debug**: on a throw-away copy of each network, trains
//!    on one batch of 32 until the loss is near zero
//!    ([`Trainer::overfit_batch`](microtrain::train::Trainer::overfit_batch)), and
//!    stops here if a network cannot memorise it;
//! 3. trains the MLP, then the CNN, with the recipe of `examples/common/digits_recipe.rs`
//!    (He initialisation, Adam, reduce-on-plateau, dropout, batch norm, augmentation,
//!    early stopping on the validation loss), a progress bar per epoch with the losses;
//! 4. judges each kept model once on the test set: accuracy and confusion matrix, and
//!    draws some test digits in ASCII with what the CNN read;
//! 5. **always plot your losses**: writes the training and validation loss and accuracy
//!    curves of both networks to `DIR/digits_curves.png` (default
//!    `target/experiments`).
//!
//! `SEED` (default 1) fixes the weights, the batch order, the augmentation and the
//! dropout masks; the split is the same for every seed. The process exits with a
//! failure status if a network cannot overfit one batch or a test accuracy falls below
//! [`PASS_ACCURACY`]. `examples/digits_parity.rs` runs the same recipe over many seeds
//! to compare with PyTorch (`reference/parity_digits.py`).

#[path = "common/digits_data.rs"]
#[allow(dead_code)]
mod digits_data;
#[path = "common/digits_recipe.rs"]
#[allow(dead_code)]
mod digits_recipe;
#[path = "common/png_plot.rs"]
mod png_plot;

use digits_data::{Samples, CLASSES, FEATURES, PIXEL_MAX, SIDE};
use digits_recipe::{
    batches_per_epoch, first_batch, fit, predictions, Cnn, CnnStopper, CnnTrainer, Epoch, Fit, Mlp,
    MlpStopper, MlpTrainer, Prepared, Watch, BATCH, DROPOUT, HIDDEN, LEARNING_RATE, MAX_EPOCHS,
    NOISE, PATIENCE, PLATEAU, SHIFT, SPLIT_SEED, STOPPING,
};
use indicatif::{ProgressBar, ProgressStyle};
use microtrain::layers::Params;
use microtrain::train::{Decision, OverfitReport};
use microtrain::{kernels, MatMut, MatRef};
use png_plot::{draw_grid, Panel, Series};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::process::ExitCode;
use std::time::Instant;

/// The run fails if a test accuracy falls below this.
const PASS_ACCURACY: f32 = 0.90;
/// The overfitting check: at most this many steps on one batch ...
const OVERFIT_STEPS: u32 = 1000;
/// ... to bring its loss (dropout on) to this.
const OVERFIT_LOSS: f32 = 0.01;

/// Progress bars, one per epoch, that stay on screen with the epoch's losses; plain
/// lines when the output is not a terminal.
struct Bars {
    batches: u64,
    bar: ProgressBar,
}

impl Bars {
    fn new(batches: usize) -> Self {
        Bars {
            batches: batches as u64,
            bar: ProgressBar::hidden(),
        }
    }
}

/// One epoch's numbers on one line.
fn epoch_line(record: &Epoch) -> String {
    format!(
        "lr {:.5} | train loss {:.4} (augmented, dropout: {:.4}) acc {:5.1}% | val loss {:.4} acc {:5.1}%{}",
        record.lr,
        record.train.loss,
        record.running_loss,
        100.0 * record.train.accuracy.unwrap_or(0.0),
        record.validation.loss,
        100.0 * record.validation.accuracy.unwrap_or(0.0),
        match record.decision {
            Decision::Improved => " *",
            Decision::Stop { .. } => " stop",
            Decision::Wait { .. } => "",
        }
    )
}

impl Watch for Bars {
    fn start(&mut self, epoch: usize) {
        self.bar = ProgressBar::new(self.batches);
        self.bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:24}] {pos:>2}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.bar.set_prefix(format!("epoch {epoch:2}/{MAX_EPOCHS}"));
    }

    fn batch(&mut self) {
        self.bar.inc(1);
    }

    fn end(&mut self, epoch: usize, record: &Epoch) {
        let line = epoch_line(record);
        if self.bar.is_hidden() {
            println!("epoch {epoch:2}/{MAX_EPOCHS} {line}");
        } else {
            self.bar.finish_with_message(line);
        }
    }
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

/// Prints the confusion matrix of `predicted` against `truth`; returns the correct count.
fn confusion(predicted: &[usize], truth: &[u32]) -> usize {
    let mut matrix = [[0usize; CLASSES]; CLASSES];
    for (&p, &t) in predicted.iter().zip(truth) {
        matrix[t as usize][p] += 1;
    }
    println!("confusion matrix (rows: true digit, columns: predicted digit):\n");
    println!(
        "true\\pred {}   recall",
        (0..CLASSES).map(|c| format!("{c:>4}")).collect::<String>()
    );
    for (t, row) in matrix.iter().enumerate() {
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
    (0..CLASSES).map(|c| matrix[c][c]).sum()
}

/// Prints what the overfitting check found; returns whether it got there.
fn overfit_line(name: &str, report: &OverfitReport) -> bool {
    if report.reached {
        println!(
            "  {name}: loss {:.3} -> {:.4} in {} steps: it can learn",
            report.initial_loss, report.final_loss, report.steps
        );
    } else {
        println!(
            "  {name}: loss {:.3} -> {:.4} after {} steps, not below {OVERFIT_LOSS}: \
             something is wrong (a bug, a frozen layer, labels that do not match, the learning rate)",
            report.initial_loss, report.final_loss, report.steps
        );
    }
    report.reached
}

/// Prints a trained network's summary and test results; returns its test accuracy
/// and the predictions.
fn report(
    name: &str,
    fit: &Fit,
    predicted: &[(usize, [f32; CLASSES])],
    test: &Samples,
    seconds: f64,
) -> Result<f32, Box<dyn Error>> {
    println!(
        "\n{name}: {} epochs in {seconds:.1} s; kept the model of epoch {} (lowest validation loss {:.4})",
        fit.epochs.len(),
        fit.best_epoch,
        fit.epochs[fit.best_epoch - 1].validation.loss
    );
    let accuracy = fit.test.accuracy.unwrap_or(0.0);
    let classes: Vec<usize> = predicted.iter().map(|p| p.0).collect();
    println!(
        "{name} TEST: accuracy {:.1}% ({}/{}), loss {:.4}\n",
        100.0 * accuracy,
        (accuracy * test.len() as f32).round(),
        test.len(),
        fit.test.loss
    );
    let correct = confusion(&classes, &test.labels);
    if correct as f32 / test.len() as f32 != accuracy {
        return Err("the confusion matrix disagrees with Trainer::evaluate".into());
    }
    Ok(accuracy)
}

/// The four panels of the PNG: loss and accuracy of each network.
fn panels(runs: &[(&str, &Fit)]) -> Vec<Panel> {
    let series = |fit: &Fit, pick: &dyn Fn(&Epoch) -> (f64, f64)| -> Vec<Series> {
        let points = |which: usize| {
            fit.epochs
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (train, val) = pick(e);
                    (i as u32 + 1, if which == 0 { train } else { val })
                })
                .collect()
        };
        vec![
            Series {
                name: "training set (after each epoch, dropout off)".to_string(),
                points: points(0),
            },
            Series {
                name: "validation set".to_string(),
                points: points(1),
            },
        ]
    };
    let mut out = Vec::new();
    for (name, fit) in runs {
        out.push(Panel {
            title: format!("{name}: loss (best epoch {})", fit.best_epoch),
            x_label: "epoch".to_string(),
            y_label: "cross-entropy (log)".to_string(),
            log_y: true,
            series: series(fit, &|e| {
                (f64::from(e.train.loss), f64::from(e.validation.loss))
            }),
        });
        out.push(Panel {
            title: format!("{name}: accuracy"),
            x_label: "epoch".to_string(),
            y_label: "accuracy (%)".to_string(),
            log_y: false,
            series: series(fit, &|e| {
                (
                    100.0 * f64::from(e.train.accuracy.unwrap_or(0.0)),
                    100.0 * f64::from(e.validation.accuracy.unwrap_or(0.0)),
                )
            }),
        });
    }
    out
}

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let started = Instant::now();
    let (dir, seed) = png_plot::dir_and_seed()?;

    // 1. Data.
    let data = Prepared::load()?;
    println!(
        "UCI handwritten digits (Alpaydin & Kaynak; CC BY 4.0): {} images of {SIDE}x{SIDE} pixels, {CLASSES} classes",
        data.all.len()
    );
    println!(
        "split with seed {SPLIT_SEED}: {} train / {} validation / {} test; pixels 0..{PIXEL_MAX} scaled to [0, 1], \
         then standardised per channel with the training set's mean {:.4} and std {:.4}",
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        data.scaler.mean()[0],
        data.scaler.std()[0]
    );
    println!(
        "augmentation of every training batch, on [0, 1] pixels before standardising: \
         a shift by up to {SHIFT} pixel each way (zero fill), Gaussian noise sigma {NOISE}\n"
    );
    println!(
        "MLP: Dense<{FEATURES}, {HIDDEN}> -> BatchNorm -> ReLU -> Dropout({DROPOUT}) -> Dense<{HIDDEN}, {CLASSES}>: \
         {} parameters, {} bytes of RAM to train",
        Mlp::COUNT,
        MlpTrainer::BYTES
    );
    println!(
        "CNN: conv3x3(1->16) -> BN -> ReLU -> maxpool2 -> conv3x3(16->32) -> BN -> ReLU -> maxpool2 -> \
         flatten(128) -> Dropout({DROPOUT}) -> Dense<128, {CLASSES}>: {} parameters, {} bytes of RAM to train",
        Cnn::COUNT,
        CnnTrainer::BYTES
    );
    println!(
        "both: He-normal init (seed {seed}), softmax cross-entropy, Adam lr {LEARNING_RATE} in batches of {BATCH}, \
         learning rate halved after {} epochs without a lower validation loss, early stopping after {PATIENCE}, \
         at most {MAX_EPOCHS} epochs\n",
        PLATEAU.patience
    );

    // 2. Start by overfitting to debug, on throw-away trainers.
    println!(
        "start by overfitting to debug: one batch of {BATCH} training samples, at most {OVERFIT_STEPS} steps \
         to a loss of {OVERFIT_LOSS} (dropout on)"
    );
    let mut rng = Pcg32::seed_from_u64(seed);
    let (x, y) = first_batch(&data)?;
    let mlp_ok = overfit_line(
        "MLP",
        &digits_recipe::mlp(seed, &mut rng).overfit_batch(&x, &y, OVERFIT_STEPS, OVERFIT_LOSS)?,
    );
    let (x, y) = first_batch(&data)?;
    let cnn_ok = overfit_line(
        "CNN",
        &digits_recipe::cnn(seed, &mut rng).overfit_batch(&x, &y, OVERFIT_STEPS, OVERFIT_LOSS)?,
    );
    if !(mlp_ok && cnn_ok) {
        println!("FAIL: a network cannot memorise one batch; not training it");
        return Ok(ExitCode::FAILURE);
    }

    // 3. and 4. Train each network from fresh weights, then judge it on the test set.
    let mut bars = Bars::new(batches_per_epoch(&data));
    println!("\ntraining the MLP (* marks a new lowest validation loss):");
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut mlp = digits_recipe::mlp(seed, &mut rng);
    let clock = Instant::now();
    let mlp_fit = fit(
        &mut mlp,
        &mut MlpStopper::new(STOPPING),
        &data,
        &mut rng,
        &mut bars,
    )?;
    let mlp_seconds = clock.elapsed().as_secs_f64();
    let mlp_predicted = predictions(&mut mlp, &data.test)?;
    let mlp_accuracy = report("MLP", &mlp_fit, &mlp_predicted, &data.test, mlp_seconds)?;

    println!("\ntraining the CNN:");
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut cnn = digits_recipe::cnn(seed, &mut rng);
    let clock = Instant::now();
    let cnn_fit = fit(
        &mut cnn,
        &mut CnnStopper::new(STOPPING),
        &data,
        &mut rng,
        &mut bars,
    )?;
    let cnn_seconds = clock.elapsed().as_secs_f64();
    let cnn_predicted = predictions(&mut cnn, &data.test)?;
    let cnn_accuracy = report("CNN", &cnn_fit, &cnn_predicted, &data.test, cnn_seconds)?;

    // A few test digits as the CNN saw them: the first ones, then its mistakes.
    let test = &data.test_raw;
    let caption = |i: usize| -> Result<[String; 2], microtrain::Error> {
        let (read, truth) = (cnn_predicted[i].0, test.labels[i] as usize);
        let p = probabilities(&cnn_predicted[i].1)?;
        let verdict = if read == truth { "ok" } else { "WRONG" };
        Ok([
            format!("read {read} ({:.0}%)", 100.0 * p[read]),
            format!("true {truth} {verdict}"),
        ])
    };
    let first: Vec<usize> = (0..4).collect();
    let mistakes: Vec<usize> = (0..test.len())
        .filter(|&i| cnn_predicted[i].0 != test.labels[i] as usize)
        .take(4)
        .collect();
    for (title, shown) in [
        ("the first test digits", first),
        ("the CNN's mistakes", mistakes),
    ] {
        if shown.is_empty() {
            continue;
        }
        println!("\n{title} (read: the CNN's digit and its softmax probability):\n");
        let images: Vec<&[f32]> = shown.iter().map(|&i| test.image(i)).collect();
        let captions = shown
            .iter()
            .map(|&i| caption(i))
            .collect::<Result<Vec<_>, _>>()?;
        print!("{}", draw(&images, &captions));
    }

    // 5. Always plot your losses.
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("digits_curves.png");
    draw_grid(
        &path,
        (1400, 1000),
        &format!("UCI digits, seed {seed}: training and validation curves"),
        (2, 2),
        &panels(&[("MLP", &mlp_fit), ("CNN", &cnn_fit)]),
    )?;
    println!(
        "\nloss and accuracy curves: {} (name another folder with `-- DIR [SEED]`)",
        path.display()
    );

    println!(
        "\ntest accuracy: MLP {:.1}%, CNN {:.1}%; total runtime {:.1} s",
        100.0 * mlp_accuracy,
        100.0 * cnn_accuracy,
        started.elapsed().as_secs_f64()
    );
    if mlp_accuracy.min(cnn_accuracy) < PASS_ACCURACY {
        println!(
            "FAIL: a test accuracy is below {:.0}%",
            100.0 * PASS_ACCURACY
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
