//! Lottery tickets (Frankle & Carbin, ICLR 2019) at small scale, on the UCI digits: does
//! a dense network contain a sparse subnetwork that, trained from the *same* initial
//! weights, does as well as the whole?
//!
//! ```text
//! cargo run --release --example lottery [-- DIR [SEED]]
//! ```
//!
//! The network is an MLP `64 → 128 → 64 → 10` with ReLU (17 024 weights in three
//! layers, 202 biases), He-normal initialisation, softmax cross-entropy, Adam at
//! `lr = 3·10⁻³`, mini-batches of 32, 40 epochs per training run. The data are the 1797 digits of `examples/digits.rs`, split with
//! the seed into 1197 training, 300 validation and 300 test samples.
//!
//! Iterative magnitude pruning, for each of three seeds (`SEED`, `SEED + 1`,
//! `SEED + 2`; `SEED` defaults to 1):
//!
//! 1. initialise `θ₀`, keep a copy (`prune::RewindPoint`), start with the full mask;
//! 2. train with the mask enforced (`prune::Masked` around Adam); record the test
//!    accuracy at the epoch of lowest validation loss (early stopping, as in the paper)
//!    and that epoch;
//! 3. prune 20 % of the remaining weights of smallest magnitude, one threshold over all
//!    layers (`Scope::Global`; biases stay), rewind the kept weights to `θ₀`, go to 2;
//!    fifteen rounds take the network to 3.5 % of its weights.
//!
//! At every sparsity the same mask is also trained from a **new random initialisation**
//! (Frankle & Carbin's control: is it the structure, or the structure with its initial
//! values?). The dense network is round 0. The run prints the per-layer sparsity of each
//! round, a table of test accuracies (mean, min and max over the seeds), and draws
//! `lottery.png` in `DIR` (default `target/experiments/`): test accuracy and
//! early-stopping epoch against the fraction of weights remaining.
//!
//! The seeds run on one thread each; about 70 s of CPU time in release, so about 35 s on
//! two idle cores.
//!
//! What it showed (seed 1, so seeds 1 to 3; the README quotes the table): the winning
//! tickets keep the dense network's test accuracy (97.8 %) down to 13 % of the weights
//! (98.0 %, every seed within [97.7, 98.3]) and lose 1.4 points at 3.5 % (96.4 %). The
//! same masks from a new random initialisation are below the tickets at every sparsity:
//! by 0.2 to 1 point down to a third of the weights, by 1 to 1.6 points from a quarter
//! down to 5.5 %, and by 3.6 points at 3.5 % (92.8 %, 5 points under the dense network).
//! Between 33 % and 13 % the tickets also reach their lowest validation loss earlier
//! (epochs 30 to 34 against 36 to 40, means over three seeds, with wide spreads). The
//! test set has 300 samples, so one sample is 0.33 points: the differences above 1 point
//! are the ones to trust, and they are those at high sparsity, as in the paper.

// This example needs the data, not the image size that `digits.rs` draws with; and of
// the plotting helpers only the command line.
#[allow(dead_code)]
#[path = "common/digits_data.rs"]
mod digits_data;
#[allow(dead_code)]
#[path = "common/png_plot.rs"]
mod png_plot;

use digits_data::{parse, split, CLASSES, CSV, FEATURES};
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, ParamKind, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::prune::{mask_words, Mask, Masked, RewindPoint, Scope};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Seq};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::path::Path;
use std::time::Instant;

/// Samples held out to choose the early-stopping epoch.
const VALIDATION: usize = 300;
/// Samples held out to measure accuracy.
const TEST: usize = 300;
/// Mini-batch size.
const BATCH: usize = 32;
/// Passes over the training set in every training run.
const EPOCHS: usize = 40;
/// Adam's step size.
const LEARNING_RATE: f32 = 3e-3;
/// The fraction of the remaining weights pruned in each round.
const RATE: f32 = 0.2;
/// Rounds of pruning after the dense run: `0.8¹⁵ ≈ 3.5 %` of the weights remain.
const ROUNDS: usize = 15;
/// Seeds per experiment: `SEED`, `SEED + 1`, ...
const SEEDS: u64 = 3;

/// `64 → 128 → 64 → 10`.
type Net = Seq![Dense<FEATURES, 128>, Relu, Dense<128, 64>, Relu, Dense<64, CLASSES>];
const P: usize = <Net as Params>::COUNT;
const W: usize = mask_words(P);
type Optim = Masked<Adam<P>, W>;
type LotteryTrainer = Trainer<Net, CrossEntropy, Optim, BATCH, FEATURES, CLASSES>;

fn net() -> Net {
    seq![Dense::zeros(), Relu, Dense::zeros(), Relu, Dense::zeros()]
}

/// What one training run gave.
struct Run {
    /// Test accuracy at the epoch of lowest validation loss.
    accuracy: f64,
    /// That epoch (1-based).
    epoch: usize,
    /// The trained model (for the next round's pruning).
    model: Net,
}

/// The three splits.
struct Data<'a> {
    train: Dataset<'a, u32>,
    validation: Dataset<'a, u32>,
    test: Dataset<'a, u32>,
}

/// Trains from `start` (rewound through `mask`) with `mask` enforced; the batch order
/// comes from `order_seed`.
fn train(
    start: &RewindPoint<P>,
    mask: &Mask<W>,
    data: &Data<'_>,
    order_seed: u64,
) -> Result<Run, Box<dyn Error>> {
    let adam = Adam::new(AdamConfig {
        lr: LEARNING_RATE,
        ..AdamConfig::default()
    });
    let mut trainer: Box<LotteryTrainer> = Box::new(Trainer::new(
        net(),
        CrossEntropy::default(),
        Masked::new(adam, *mask),
        order_seed,
    ));
    start.rewind(&mut trainer.model, mask);
    let mut rng = Pcg32::seed_from_u64(order_seed);
    let (mut best_loss, mut accuracy, mut epoch) = (f32::INFINITY, 0.0, 0);
    for e in 1..=EPOCHS {
        trainer.epoch(&data.train, &mut rng)?;
        let validation = trainer.evaluate(&data.validation)?.loss;
        if validation < best_loss {
            best_loss = validation;
            accuracy = f64::from(trainer.evaluate(&data.test)?.accuracy.unwrap_or(0.0));
            epoch = e;
        }
    }
    Ok(Run {
        accuracy,
        epoch,
        model: trainer.model,
    })
}

/// He-normal weights, zero biases, drawn from `seed`.
fn initial(seed: u64) -> RewindPoint<P> {
    let mut model = net();
    init_params(&mut model, Init::HeNormal, &mut Pcg32::seed_from_u64(seed));
    RewindPoint::capture(&mut model)
}

/// Results of one arm at one sparsity, one per seed.
#[derive(Default, Clone)]
struct Cell {
    accuracy: Vec<f64>,
    epoch: Vec<f64>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// One round of one seed: the fraction of weights remaining (%), per layer (0 to 1),
/// and `(test accuracy, early-stopping epoch)` of the ticket and of the control.
struct Round {
    remaining: f64,
    per_layer: Vec<f32>,
    ticket: (f64, usize),
    reinit: (f64, usize),
}

/// Iterative magnitude pruning from the initialisation drawn from `s`: every round
/// trains the ticket and the control, then prunes [`RATE`] of the remaining weights of
/// the trained ticket. Prints each round if `verbose`.
fn prune_and_retrain(s: u64, data: &Data<'_>, verbose: bool) -> Result<Vec<Round>, String> {
    let start = initial(s);
    let mut mask = Mask::<W>::dense::<Net>();
    let mut rounds = Vec::new();
    for round in 0..=ROUNDS {
        let mut probe = net();
        let (kept, total) = mask.weights_kept(&mut probe);
        let mut per_layer = Vec::new();
        mask.sparsity(&mut probe, |t| {
            if t.kind == ParamKind::Weight {
                per_layer.push(t.remaining());
            }
        });
        let order = s.wrapping_mul(1000) + round as u64;
        let run = train(&start, &mask, data, order).map_err(|e| e.to_string())?;
        // The control: the same mask from a fresh random initialisation.
        let fresh = initial(s.wrapping_mul(7919) + 100 + round as u64);
        let control = train(&fresh, &mask, data, order).map_err(|e| e.to_string())?;
        if verbose {
            println!(
                "seed {s}, round {round:2}: {kept:5} of {total} weights, ticket {:.1} %, \
                 random re-init {:.1} %",
                100.0 * run.accuracy,
                100.0 * control.accuracy
            );
        }
        rounds.push(Round {
            remaining: 100.0 * kept as f64 / total as f64,
            per_layer,
            ticket: (run.accuracy, run.epoch),
            reinit: (control.accuracy, control.epoch),
        });
        let mut trained = run.model;
        mask.prune(&mut trained, RATE, Scope::Global)
            .map_err(|e| e.to_string())?;
    }
    Ok(rounds)
}

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let (dir, seed) = png_plot::dir_and_seed()?;
    let all = parse(CSV)?;
    let (train_s, validation_s, test_s) =
        split(&all, VALIDATION, TEST, &mut Pcg32::seed_from_u64(seed));
    let data = Data {
        train: train_s.dataset()?,
        validation: validation_s.dataset()?,
        test: test_s.dataset()?,
    };
    println!(
        "UCI digits: {} training / {} validation / {} test samples (seed {seed}); \
         MLP 64-128-64-10, He-normal, Adam lr {LEARNING_RATE}, batch {BATCH}, {EPOCHS} epochs \
         per run; prune {:.0} % of the remaining weights per round (global), {ROUNDS} rounds, \
         seeds {seed}..{}\n",
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        100.0 * RATE,
        seed + SEEDS - 1,
    );

    // One thread per seed: the seeds are independent, and each prints the same numbers
    // whatever the threads do.
    let outcomes: Vec<Result<Vec<Round>, String>> = std::thread::scope(|scope| {
        let data = &data;
        let handles: Vec<_> = (seed..seed + SEEDS)
            .map(|s| {
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(scope, move || prune_and_retrain(s, data, s == seed))
            })
            .collect::<Result<_, _>>()
            .expect("threads start");
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a seed's thread panicked".to_string())?
                    .map_err(|e| e.to_string())
            })
            .collect()
    });
    let mut ticket = vec![Cell::default(); ROUNDS + 1];
    let mut reinit = vec![Cell::default(); ROUNDS + 1];
    let mut remaining = vec![0.0; ROUNDS + 1];
    let mut per_layer = Vec::new();
    for (k, outcome) in outcomes.into_iter().enumerate() {
        for (round, r) in outcome?.into_iter().enumerate() {
            remaining[round] = r.remaining;
            ticket[round].accuracy.push(100.0 * r.ticket.0);
            ticket[round].epoch.push(r.ticket.1 as f64);
            reinit[round].accuracy.push(100.0 * r.reinit.0);
            reinit[round].epoch.push(r.reinit.1 as f64);
            if k == 0 {
                per_layer.push(r.per_layer);
            }
        }
    }
    println!("weights remaining per layer (seed {seed}):\n");
    println!(
        "{:>6} {:>9} | {:>9} {:>9} {:>9}",
        "round", "all", "64-128", "128-64", "64-10"
    );
    for (round, layers) in per_layer.iter().enumerate() {
        let cells: String = layers
            .iter()
            .map(|r| format!(" {:>8.1}%", 100.0 * r))
            .collect();
        println!("{round:>6} {:>8.1}% |{cells}", remaining[round]);
    }

    let dense = mean(&ticket[0].accuracy);
    println!(
        "\ntest accuracy (%) at the early-stopping epoch, mean [min, max] over {SEEDS} seeds; \
         dense network: {dense:.1} %\n"
    );
    println!(
        "{:>10} | {:>24} {:>7} | {:>24} {:>7}",
        "remaining", "winning ticket", "epoch", "same mask, random init", "epoch"
    );
    for round in 0..=ROUNDS {
        let cell = |c: &Cell| {
            let (lo, hi) = min_max(&c.accuracy);
            format!("{:6.1} [{:5.1}, {:5.1}]", mean(&c.accuracy), lo, hi)
        };
        println!(
            "{:>9.1}% | {:>24} {:>7.1} | {:>24} {:>7.1}",
            remaining[round],
            cell(&ticket[round]),
            mean(&ticket[round].epoch),
            cell(&reinit[round]),
            mean(&reinit[round].epoch),
        );
    }

    std::fs::create_dir_all(&dir)?;
    let path = dir.join("lottery.png");
    draw(&path, &remaining, &ticket, &reinit, seed)?;
    println!("\nwrote {}", path.display());
    println!("total runtime {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

const FONT: &str = "sans-serif";

/// Two panels against the fraction of weights remaining (one tick per round, so the
/// axis is logarithmic): test accuracy, and the early-stopping epoch; each arm's mean
/// as a line with its min–max band over the seeds, the dense network as a dashed level.
fn draw(
    path: &Path,
    remaining: &[f64],
    ticket: &[Cell],
    reinit: &[Cell],
    seed: u64,
) -> Result<(), Box<dyn Error>> {
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the bundled DejaVu Sans font could not be read")?;
    let root = BitMapBackend::new(path, (1400, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "Lottery tickets on UCI digits: MLP 64-128-64-10, iterative global magnitude pruning \
             (20 % per round), {SEEDS} seeds from {seed}"
        ),
        (FONT, 22),
    )?;
    let panels = root.split_evenly((1, 2));
    let arms = [
        (
            "winning ticket (rewound to its init)",
            ticket,
            RGBColor(0, 114, 178),
        ),
        ("same mask, random re-init", reinit, RGBColor(213, 94, 0)),
    ];
    let label = |x: &f64| {
        let i = x.round() as usize;
        match remaining.get(i) {
            Some(r) if *r >= 9.95 => format!("{r:.0}"),
            Some(r) => format!("{r:.1}"),
            None => String::new(),
        }
    };
    type Metric = fn(&Cell) -> &Vec<f64>;
    let metrics: [(&str, &str, Metric, (f64, f64)); 2] = [
        (
            "test accuracy at early stopping",
            "test accuracy (%)",
            |c| &c.accuracy,
            (88.0, 100.0),
        ),
        (
            "early-stopping epoch (lowest validation loss)",
            "epoch",
            |c| &c.epoch,
            (0.0, EPOCHS as f64 + 1.0),
        ),
    ];
    for (area, (title, y_label, metric, y_range)) in panels.iter().zip(metrics) {
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 19))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.3..ROUNDS as f64 + 0.3, y_range.0..y_range.1)?;
        chart
            .configure_mesh()
            .x_desc("weights remaining (%), log scale")
            .y_desc(y_label)
            .x_labels(ROUNDS + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (name, cells, colour) in arms {
            let stats: Vec<(f64, f64, f64, f64)> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (lo, hi) = min_max(metric(c));
                    (i as f64, mean(metric(c)), lo.max(y_range.0), hi)
                })
                .collect();
            let band: Vec<(f64, f64)> = stats
                .iter()
                .map(|s| (s.0, s.3))
                .chain(stats.iter().rev().map(|s| (s.0, s.2)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18))))?;
            chart
                .draw_series(LineSeries::new(
                    stats.iter().map(|s| (s.0, s.1.max(y_range.0))),
                    colour.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
                });
            chart.draw_series(
                stats
                    .iter()
                    .map(|s| Circle::new((s.0, s.1.max(y_range.0)), 3, colour.filled())),
            )?;
        }
        let level = mean(metric(&ticket[0]));
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, level), (ROUNDS as f64, level)],
                6,
                4,
                BLACK.stroke_width(1),
            ))?
            .label("dense network")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(1)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
