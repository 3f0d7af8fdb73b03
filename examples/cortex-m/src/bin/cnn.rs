//! On-device learning under QEMU: a small convolutional network learns to tell four
//! kinds of 8×8 pictures apart (horizontal bar, vertical bar, diagonal, blob) on the
//! microcontroller, with mini-batch Adam through `microtrain`'s `Trainer`. The task
//! lives in `examples/common/cnn_task.rs`, which the host example `examples/cnn.rs` runs
//! too: the same code, and the same printed numbers.
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --bin cnn --target thumbv7em-none-eabihf
//! cargo run --release --bin cnn --target thumbv8m.main-none-eabihf
//! ```
//!
//! The firmware prints the loss as it falls, a few predictions, the losses and the
//! accuracies over semihosting, and exits QEMU with success only if the network learned
//! (see `cnn_task::run`).
//!
//! The trainer (`CnnTrainer::BYTES`, about 49 KiB on Cortex-M) is a `static`,
//! initialised at compile time by the `const fn` `cnn_task::fresh`: it never travels
//! through the stack. It has non-zero fields (BatchNorm scales, Adam's configuration),
//! so it lives in `.data`: its initial image costs as much flash as RAM. The pictures
//! (16 KiB) are made on the stack at run time.

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m_rt::entry;

/// The task, shared word for word with the host example `examples/cnn.rs`.
#[path = "../../../common/cnn_task.rs"]
mod cnn_task;

/// Panic handling, printing and the exit, shared with the other firmware example.
#[path = "../board.rs"]
mod board;

/// The trainer, in a static: far too large for a microcontroller's stack.
static mut TRAINER: cnn_task::CnnTrainer = cnn_task::fresh();

/// Trains, reports each line over semihosting (when printing is on), and says whether
/// the network learned.
fn run() -> bool {
    // SAFETY: `run` is called once, from `main`, and nothing else touches `TRAINER`
    // (no interrupt handler uses it), so this is the only reference to it.
    let trainer = unsafe { &mut *addr_of_mut!(TRAINER) };
    cnn_task::run(env!("FIRMWARE_MACHINE"), trainer, &mut board::say)
}

#[entry]
fn main() -> ! {
    board::finish(run())
}
