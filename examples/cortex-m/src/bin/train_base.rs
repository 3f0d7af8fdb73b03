//! The baseline of [`train_only`](../train_only.rs): the same data and the same
//! parameter hash, without training. `.ci/firmware_size.sh` subtracts its `.text`
//! from `train_only`'s to give the code that training (configuration, initialisation,
//! the epochs, evaluation) adds; vectors, reset, the exit, the panic handler, the
//! data's generation and the hash are in both.
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --no-default-features --bin train_base --target thumbv7em-none-eabihf
//! ```
//!
//! Exits QEMU with success (a zero hash would be a failure; FNV-1a of zero bytes is not
//! zero).

#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use microtrain::train::Trainer;

/// The task, shared word for word with `bench` and the host example.
#[allow(dead_code)]
#[path = "../../../common/mlp_bench_task.rs"]
mod mlp_bench_task;

/// Panic handling, printing and the exit, shared with the other firmware examples.
#[allow(dead_code)]
#[path = "../board.rs"]
mod board;

use microtrain::Batch;
use mlp_bench_task::{make_data, parameter_hash, BATCHES, SAMPLES};

/// The trainer, in `.bss` as in `train_only`; here only its parameters are hashed.
static mut TRAINER: mlp_bench_task::BenchTrainer = Trainer::ZERO;

#[entry]
fn main() -> ! {
    // SAFETY: `main` runs once and nothing else (no interrupt handler) touches
    // `TRAINER`, so this is the only reference to it.
    let trainer = unsafe { &mut *addr_of_mut!(TRAINER) };
    let mut inputs = [Batch::zeros(); BATCHES];
    let mut labels = [0; SAMPLES];
    make_data(&mut inputs, &mut labels);
    black_box((&mut inputs, &mut labels));
    let hash = parameter_hash(black_box(&mut trainer.model));
    board::finish(black_box(hash) != 0)
}
