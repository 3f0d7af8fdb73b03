//! Checkpoint and resume on the host: the very code the firmware example
//! (`examples/cortex-m`, binary `resume`) runs on the microcontroller, from
//! `examples/common/resume_task.rs`, so this run prints what the microcontroller prints
//! (from the third line on, bit for bit).
//!
//! ```text
//! cargo run --release --example resume
//! ```
//!
//! It exits with a failure status unless the run resumed from a checkpoint ends
//! exactly where the uninterrupted run ends.

#[path = "common/cnn_task.rs"]
#[allow(dead_code)]
mod cnn_task;
#[path = "common/resume_task.rs"]
mod resume_task;

use std::process::ExitCode;

fn main() -> ExitCode {
    // On the heap: the trainers are large for a stack (the firmware keeps them in statics).
    let mut straight = Box::new(cnn_task::fresh());
    let mut resumed = Box::new(cnn_task::fresh());
    let mut flash = Box::new([0u8; resume_task::FLASH]);
    let mut scratch = Box::new([0u8; resume_task::CHECKPOINT]);
    let passed = resume_task::run(
        "the host",
        &mut straight,
        &mut resumed,
        &mut flash,
        &mut scratch,
        &mut |line| println!("{line}"),
    );
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
