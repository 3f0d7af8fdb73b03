//! The host twin of the firmware benchmark (`examples/cortex-m`, binary `bench`): the
//! same 64→32→10 MLP, Adam, batch 32 and seed, from `examples/common/mlp_bench_task.rs`,
//! the same trainer without an input batch of its own (`CallerBatchTrainer`, trained
//! on the task's batches in place), so its loss lines and final parameter hash must
//! equal the firmware's, bit for bit
//! (`.ci/firmware_bench.sh` checks it, and runs it on x86-64 and aarch64 builds too).
//!
//! ```text
//! cargo run --release --example mlp_bench
//! ```

#[path = "common/mlp_bench_task.rs"]
mod mlp_bench_task;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut trainer = Box::new(mlp_bench_task::fresh());
    let mut say = |line: std::fmt::Arguments<'_>| println!("{line}");
    if mlp_bench_task::run("the host", &mut trainer, &mut say, None, None) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
