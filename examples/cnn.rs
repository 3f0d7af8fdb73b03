//! A small CNN on the host: the very code the firmware example (`examples/cortex-m`,
//! binary `cnn`) runs on the microcontroller, from `examples/common/cnn_task.rs`, so this
//! run prints what the microcontroller prints (from the `epoch 0` line on, bit for bit).
//!
//! ```text
//! cargo run --release --example cnn
//! ```
//!
//! It exits with a failure status unless the network learned: the training loss fell
//! below half its first value and at least 90 % of the test pictures are right, the
//! test the firmware applies on the device.

#[path = "common/cnn_task.rs"]
mod cnn_task;

use std::process::ExitCode;

fn main() -> ExitCode {
    // On the heap: the trainer is large for a stack (the firmware keeps it in a static).
    let mut trainer = Box::new(cnn_task::fresh());
    if cnn_task::run("the host", &mut trainer, &mut |line| println!("{line}")) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
