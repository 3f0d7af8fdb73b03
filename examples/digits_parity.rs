//! Our side of the comparison with PyTorch: the digits demo's MLP and CNN, trained with
//! the demo's recipe (`examples/common/digits_recipe.rs`) on the same split, over many
//! seeds; `reference/parity_digits.py` trains the same networks with the same recipe
//! in PyTorch and prints the two side by side.
//!
//! ```text
//! cargo run --release --example digits_parity -- [--seeds N] [--first-seed S] [--out FILE] [--write-split FILE]
//! /work/torchenv/bin/python reference/parity_digits.py --seeds N --compare FILE
//! ```
//!
//! Defaults: 10 seeds from 1, results to `target/experiments/parity_digits_rust.csv`
//! (one line per network and seed: epochs trained, the kept epoch, test accuracy and
//! loss). `--write-split FILE` writes the split's indices (the file PyTorch reads,
//! committed as `reference/digits_split.txt`) and exits.

#[path = "common/digits_data.rs"]
#[allow(dead_code)]
mod digits_data;
#[path = "common/digits_recipe.rs"]
#[allow(dead_code)]
mod digits_recipe;

use digits_recipe::{
    fit, CnnStopper, Fit, MlpStopper, Prepared, SPLIT_SEED, STOPPING, TEST, VALIDATION,
};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// The command line.
struct Options {
    seeds: u64,
    first_seed: u64,
    out: PathBuf,
    write_split: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        seeds: 10,
        first_seed: 1,
        out: PathBuf::from("target/experiments/parity_digits_rust.csv"),
        write_split: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} must be a whole number, not {v:?}"))
        };
        match flag.as_str() {
            "--seeds" => o.seeds = number(value()?)?,
            "--first-seed" => o.first_seed = number(value()?)?,
            "--out" => o.out = PathBuf::from(value()?),
            "--write-split" => o.write_split = Some(PathBuf::from(value()?)),
            _ => {
                return Err(format!(
                    "unknown argument {flag:?}; expected --seeds N, --first-seed S, --out FILE, --write-split FILE"
                ))
            }
        }
    }
    Ok(o)
}

/// Mean and sample standard deviation.
fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn main() -> Result<(), Box<dyn Error>> {
    let o = options()?;
    let data = Prepared::load()?;
    if let Some(path) = o.write_split {
        let mut text = format!(
            "# UCI digits split of examples/digits.rs and examples/digits_parity.rs: row indices \
             (from 0) of examples/data/digits.csv,\n# drawn by microtrain's Permutation from \
             Pcg32 seed {SPLIT_SEED} ({TEST} test, {VALIDATION} validation, the rest train)\n"
        );
        for (name, part) in ["train", "validation", "test"].iter().zip(&data.indices) {
            let list: Vec<String> = part.iter().map(|i| i.to_string()).collect();
            writeln!(text, "{name} {}", list.join(" "))?;
        }
        std::fs::write(&path, text)?;
        println!("wrote the split to {}", path.display());
        return Ok(());
    }

    let mut csv = String::from("framework,model,seed,epochs,best_epoch,test_accuracy,test_loss\n");
    let mut accuracies: [Vec<f64>; 2] = Default::default();
    let started = Instant::now();
    for seed in o.first_seed..o.first_seed + o.seeds {
        let mut rng = Pcg32::seed_from_u64(seed);
        let mut mlp = digits_recipe::mlp(seed, &mut rng);
        let mlp_fit = fit(
            &mut mlp,
            &mut MlpStopper::new(STOPPING),
            &data,
            &mut rng,
            &mut (),
        )?;
        let mut rng = Pcg32::seed_from_u64(seed);
        let mut cnn = digits_recipe::cnn(seed, &mut rng);
        let cnn_fit = fit(
            &mut cnn,
            &mut CnnStopper::new(STOPPING),
            &data,
            &mut rng,
            &mut (),
        )?;
        for (k, (name, f)) in [("mlp", &mlp_fit), ("cnn", &cnn_fit)].iter().enumerate() {
            let f: &Fit = f;
            let accuracy = f64::from(f.test.accuracy.unwrap_or(0.0));
            accuracies[k].push(accuracy);
            writeln!(
                csv,
                "microtrain,{name},{seed},{},{},{accuracy:.4},{:.5}",
                f.epochs.len(),
                f.best_epoch,
                f.test.loss
            )?;
            println!(
                "seed {seed:3} {name}: {:2} epochs, kept {:2}, test accuracy {:.1}%, loss {:.4}",
                f.epochs.len(),
                f.best_epoch,
                100.0 * accuracy,
                f.test.loss
            );
        }
    }
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&o.out, csv)?;
    for (name, values) in ["MLP", "CNN"].iter().zip(&accuracies) {
        let (mean, sd) = mean_sd(values);
        println!(
            "{name}: test accuracy {:.2}% ± {:.2} over {} seeds",
            100.0 * mean,
            100.0 * sd,
            values.len()
        );
    }
    println!(
        "results: {} ({:.0} s)",
        o.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
