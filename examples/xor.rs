//! XOR on the host: the very code the firmware example (`examples/cortex-m`) runs on
//! the microcontroller, from `examples/common/xor_task.rs`, so this run prints what the
//! microcontroller prints (from the `epoch 0` line on, bit for bit).
//!
//! ```text
//! cargo run --example xor
//! ```
//!
//! It exits with a failure status unless the network learned XOR: every sample
//! classified right and the loss below `LOSS_GOAL`, the test the firmware applies on
//! the device.

#[path = "common/xor_task.rs"]
mod xor_task;

use std::process::ExitCode;

fn main() -> ExitCode {
    if xor_task::run("the host", &mut |line| println!("{line}")) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
