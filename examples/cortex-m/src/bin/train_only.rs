//! The benchmark's training and nothing else, for the footprint of training: the task
//! of `bench` (`examples/common/mlp_bench_task.rs`: make the data, initialise, ten
//! epochs, evaluate, hash the parameters) without its probes (SysTick calibration, the
//! instruction clock, stack painting, the separately timed product and Adam update).
//! Its `.text` above [`train_base`](../train_base.rs)'s, which makes the same data and
//! hashes the same parameters without training, is the code that training adds
//! (`.ci/firmware_size.sh`).
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --no-default-features --bin train_only --target thumbv7em-none-eabihf
//! ```
//!
//! Exits QEMU with success if the network learned.

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use microtrain::train::Trainer;

/// The task, shared word for word with `bench` and the host example.
#[path = "../../../common/mlp_bench_task.rs"]
mod mlp_bench_task;

/// Panic handling, printing and the exit, shared with the other firmware examples.
#[path = "../board.rs"]
mod board;

/// The trainer, in `.bss` as in `bench`.
static mut TRAINER: mlp_bench_task::BenchTrainer = Trainer::ZERO;

#[entry]
fn main() -> ! {
    // SAFETY: `main` runs once and nothing else (no interrupt handler) touches
    // `TRAINER`, so this is the only reference to it.
    let trainer = unsafe { &mut *addr_of_mut!(TRAINER) };
    mlp_bench_task::configure(trainer);
    let learned = mlp_bench_task::run("", trainer, &mut board::say, None, None);
    board::finish(learned)
}
