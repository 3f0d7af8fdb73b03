//! How the training step's time grows with the model and the batch: a sweep of
//! [`Trainer::train_step`] over hidden width `H` = 16 … 1024 and batch `B` = 1 … 128
//! for `Dense<64, H> → Relu → Dense<H, 10>`, softmax cross-entropy and Adam (PyTorch's
//! defaults), the step of `benches/step.rs`.
//!
//! Each point is the median wall time of one-call samples (`common::median_us`: a
//! 0.2 s warm-up, then up to one second). The bench prints a table of microseconds per
//! step and nanoseconds per parameter·sample, writes it as CSV (`scaling.csv`), and
//! draws `scaling.png`:
//!
//! - microseconds per step against `log₂ H`, one line per batch;
//! - nanoseconds per parameter·sample (`time / (P · B)`, where `P` is the parameter
//!   count) against `log₂ H`, one line per batch: where the step is linear in
//!   parameters × batch, this line is flat;
//!
//! and `scaling_batch.png`, the same cost against `log₂ B`, one line per width.
//!
//! ```text
//! cargo bench --bench scaling                       # writes target/experiments/scaling.{csv,png}
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
//!     cargo bench --bench scaling -- docs            # writes docs/scaling.{csv,png}
//! ```
//!
//! The first argument that is not a flag is the output folder. Under `cargo test` (which
//! runs bench binaries with `--bench` absent) it times nothing.

#[path = "common/mod.rs"]
mod common;
#[path = "../examples/common/png_plot.rs"]
#[allow(dead_code)] // the experiments' command line is not used here
mod png_plot;

use common::median_us;
use common::nets::{mlp_step, params, Opt};
use png_plot::{draw_grid, Panel, Series};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Inputs and classes of every swept network.
const IN: usize = 64;
const OUT: usize = 10;
/// At most this many one-call samples per point.
const SAMPLES: usize = 2000;

/// The swept widths and batches.
const WIDTHS: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];
const BATCHES: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// One measured point: width, batch, median µs per step.
struct Point {
    hidden: usize,
    batch: usize,
    micros: f64,
}

impl Point {
    /// Nanoseconds per parameter per sample.
    fn per_unit(&self) -> f64 {
        self.micros * 1e3 / (params(IN, self.hidden, OUT) * self.batch) as f64
    }
}

/// The step closure of width `$h` at batch `$b` (each pair is its own monomorphisation).
macro_rules! step_of {
    ($h:expr, $b:expr; [$($hh:literal)*]; $bs:tt) => {
        match $h {
            $($hh => step_of!(@batch $hh, $b; $bs),)*
            _ => unreachable!("only the listed widths are swept"),
        }
    };
    (@batch $hh:literal, $b:expr; [$($bb:literal)*]) => {
        match $b {
            $($bb => mlp_step::<IN, $hh, OUT, $bb, { params(IN, $hh, OUT) }>(Opt::Adam),)*
            _ => unreachable!("only the listed batches are swept"),
        }
    };
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("scaling: run with `cargo bench --bench scaling` to time the sweep");
        return;
    }
    let dir = PathBuf::from(
        args.iter()
            .find(|a| !a.starts_with('-'))
            .map_or(png_plot::DEFAULT_DIR, String::as_str),
    );
    // The largest trainers are built on the stack before they move to the heap.
    let sweep = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(sweep)
        .expect("a thread for the sweep")
        .join()
        .expect("the sweep finished");
    if let Err(e) = write(&dir, &sweep) {
        eprintln!("scaling: could not write into {}: {e}", dir.display());
        std::process::exit(1);
    }
}

/// Times every (width, batch) pair, printing each as it is measured.
fn sweep() -> Vec<Point> {
    println!("{:>6} {:>5} {:>10} {:>12}", "H", "B", "µs/step", "ns/(P·B)");
    let mut out = Vec::new();
    for hidden in WIDTHS {
        for batch in BATCHES {
            let mut f =
                step_of!(hidden, batch; [16 32 64 128 256 512 1024]; [1 2 4 8 16 32 64 128]);
            let point = Point {
                hidden,
                batch,
                micros: median_us(SAMPLES, &mut *f),
            };
            println!(
                "{:>6} {:>5} {:>10.2} {:>12.4}",
                hidden,
                batch,
                point.micros,
                point.per_unit()
            );
            out.push(point);
        }
    }
    out
}

/// `log₂ n` as the charts' `x` coordinate.
fn log2(n: usize) -> u32 {
    n.trailing_zeros()
}

/// Writes `scaling.csv` and `scaling.png` into `dir`.
fn write(dir: &std::path::Path, sweep: &[Point]) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut csv = String::from("hidden,batch,params,us_per_step,ns_per_param_sample\n");
    for p in sweep {
        writeln!(
            csv,
            "{},{},{},{:.3},{:.5}",
            p.hidden,
            p.batch,
            params(IN, p.hidden, OUT),
            p.micros,
            p.per_unit()
        )?;
    }
    std::fs::write(dir.join("scaling.csv"), csv)?;
    let shown_batches = [1, 4, 16, 32, 128];
    let by_width = |value: fn(&Point) -> f64| -> Vec<Series> {
        shown_batches
            .iter()
            .map(|&b| Series {
                name: format!("batch {b}"),
                points: sweep
                    .iter()
                    .filter(|p| p.batch == b)
                    .map(|p| (log2(p.hidden), value(p)))
                    .collect(),
            })
            .collect()
    };
    let by_batch: Vec<Series> = [16, 64, 256, 1024]
        .iter()
        .map(|&h| Series {
            name: format!("width {h}"),
            points: sweep
                .iter()
                .filter(|p| p.hidden == h)
                .map(|p| (log2(p.batch), p.per_unit()))
                .collect(),
        })
        .collect();
    let panels = [
        Panel {
            title: "time per step".into(),
            x_label: "log₂ hidden width".into(),
            y_label: "µs".into(),
            log_y: true,
            series: by_width(|p| p.micros),
        },
        Panel {
            title: "cost per parameter·sample".into(),
            x_label: "log₂ hidden width".into(),
            y_label: "ns / (P·B)".into(),
            log_y: true,
            series: by_width(Point::per_unit),
        },
    ];
    let title = "Adam step of 64-H-10, one thread";
    draw_grid(
        &dir.join("scaling.png"),
        (1200, 560),
        title,
        (1, 2),
        &panels,
    )?;
    let per_batch = Panel {
        title: "cost per parameter·sample".into(),
        x_label: "log₂ batch".into(),
        y_label: "ns / (P·B)".into(),
        log_y: true,
        series: by_batch,
    };
    draw_grid(
        &dir.join("scaling_batch.png"),
        (700, 560),
        title,
        (1, 1),
        &[per_batch],
    )?;
    println!(
        "scaling: wrote scaling.csv, scaling.png and scaling_batch.png into {}",
        dir.display()
    );
    Ok(())
}
