//! The training steps of `benches/step.rs`, timed the quiet way: each step warms up for
//! thousands of calls, then one clock reading spans a long run of calls, and rounds
//! of all the steps interleave so that a burst of load on a shared machine hits every
//! step alike. The median of the rounds is printed. Criterion's one-call samples read
//! small steps higher (each sample pays the clock and a cold start); this harness is
//! where the README's "default ÷ native" table comes from.
//!
//! ```text
//! cargo bench --bench step_quiet                                   # default build
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench step_quiet  # native
//! MICROTRAIN_DISPATCH=avx2 cargo bench --bench step_quiet          # dispatch capped at AVX2
//! cargo bench --bench step_quiet -- 5                              # rounds (default 5)
//! cargo bench --bench step_quiet -- 5 "adam b32"                   # only names containing it
//! ```

#[path = "common/mod.rs"]
mod common;

use common::median;
use common::nets::{mlp_step, params, Opt};
use std::time::Instant;

/// A step: its name, warm-up calls, timed calls per round, and its constructor.
type Step = (&'static str, usize, usize, fn() -> Box<dyn FnMut()>);

/// The steps timed, the first four those of the README's table.
fn steps() -> Vec<Step> {
    vec![
        ("64-32-10 adam b32", 3_000, 20_000, || {
            mlp_step::<64, 32, 10, 32, { params(64, 32, 10) }>(Opt::Adam)
        }),
        ("64-32-10 adam b1", 3_000, 20_000, || {
            mlp_step::<64, 32, 10, 1, { params(64, 32, 10) }>(Opt::Adam)
        }),
        ("64-32-10 sgd b32", 3_000, 20_000, || {
            mlp_step::<64, 32, 10, 32, { params(64, 32, 10) }>(Opt::Sgd)
        }),
        ("784-128-10 adam b32", 200, 1_000, || {
            mlp_step::<784, 128, 10, 32, { params(784, 128, 10) }>(Opt::Adam)
        }),
        ("64-32-10 sgd b1", 3_000, 20_000, || {
            mlp_step::<64, 32, 10, 1, { params(64, 32, 10) }>(Opt::Sgd)
        }),
        ("784-128-10 adam b1", 200, 2_000, || {
            mlp_step::<784, 128, 10, 1, { params(784, 128, 10) }>(Opt::Adam)
        }),
    ]
}

/// Microseconds per call of a fresh step after its warm-up.
fn time_round(warm: usize, calls: usize, make: fn() -> Box<dyn FnMut()>) -> f64 {
    let mut f = make();
    for _ in 0..warm {
        f();
    }
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

fn main() {
    common::limit_dispatch();
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5)
        .max(1);
    let filter: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_err() && !a.starts_with('-'));
    let avx512 = cfg!(target_feature = "avx512f");
    let avx2 = cfg!(target_feature = "avx2");
    println!(
        "step_quiet: compiled for {}, run-time dispatch {:?}, {rounds} rounds",
        if avx512 {
            "AVX-512F"
        } else if avx2 {
            "AVX2"
        } else {
            "the default target"
        },
        microtrain::kernels::dispatch::active(),
    );
    let mut steps = steps();
    if let Some(f) = &filter {
        steps.retain(|(name, ..)| name.contains(f.as_str()));
    }
    let mut times = vec![Vec::new(); steps.len()];
    for _ in 0..rounds {
        for (i, &(_, warm, calls, make)) in steps.iter().enumerate() {
            times[i].push(time_round(warm, calls, make));
        }
    }
    for ((name, ..), t) in steps.iter().zip(times) {
        let spread = t.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - t.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{name:<22} median {:>10.3} µs   (spread {spread:.3})",
            median(t)
        );
    }
}
