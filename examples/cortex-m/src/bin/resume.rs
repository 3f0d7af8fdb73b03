//! Checkpoint and resume under QEMU: the CNN of the `cnn` binary trains, writes
//! checkpoints (trainer and data-order generator) into two A/B slots of a flash image
//! in RAM, and a fresh trainer loads the newest one and finishes the run, which must
//! end exactly where the uninterrupted run ends. The task lives in
//! `examples/common/resume_task.rs`, which the host example `examples/resume.rs` runs
//! too: the same code, and the same printed numbers, so the host's run proves the
//! device's resume bit for bit.
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --bin resume --target thumbv7em-none-eabihf
//! cargo run --release --bin resume --target thumbv8m.main-none-eabihf
//! ```
//!
//! The two trainers (about 49 KiB each), the flash image and the scratch buffer are
//! statics, initialised at compile time: nothing large travels through the stack. The
//! trainers have non-zero fields, so they live in `.data` (their image costs flash).

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m_rt::entry;

/// The network, shared word for word with the host examples.
#[path = "../../../common/cnn_task.rs"]
#[allow(dead_code)]
mod cnn_task;

/// The task, shared word for word with the host example `examples/resume.rs`.
#[path = "../../../common/resume_task.rs"]
mod resume_task;

/// Panic handling, printing and the exit, shared with the other firmware examples.
#[path = "../board.rs"]
mod board;

/// The uninterrupted run's trainer.
static mut STRAIGHT: cnn_task::CnnTrainer = cnn_task::fresh();
/// The trainer that resumes from the checkpoint.
static mut RESUMED: cnn_task::CnnTrainer = cnn_task::fresh();
/// Two checkpoint slots, as a flash driver would offer them (zero, in `.bss`: the task
/// erases them first).
static mut FLASH: [u8; resume_task::FLASH] = [0; resume_task::FLASH];
/// One checkpoint's worth of scratch space.
static mut SCRATCH: [u8; resume_task::CHECKPOINT] = [0; resume_task::CHECKPOINT];

/// Runs the task, reports each line over semihosting (when printing is on), and says
/// whether the resumed run equals the uninterrupted one.
fn run() -> bool {
    // SAFETY: `run` is called once, from `main`, and nothing else touches these statics
    // (no interrupt handler uses them), so these are the only references to them.
    let (straight, resumed, flash, scratch) = unsafe {
        (
            &mut *addr_of_mut!(STRAIGHT),
            &mut *addr_of_mut!(RESUMED),
            &mut *addr_of_mut!(FLASH),
            &mut *addr_of_mut!(SCRATCH),
        )
    };
    resume_task::run(
        env!("FIRMWARE_MACHINE"),
        straight,
        resumed,
        flash,
        scratch,
        &mut board::say,
    )
}

#[entry]
fn main() -> ! {
    board::finish(run())
}
