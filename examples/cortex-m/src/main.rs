//! On-device learning under QEMU: a 2-8-1 tanh network learns XOR on the
//! microcontroller, with full-batch gradient descent through `microtrain`'s `Trainer`.
//! The task lives in `examples/common/xor_task.rs`, which the host example
//! `examples/xor.rs` runs too: the same code, and the same printed numbers.
//!
//! | target                      | core         | QEMU machine  |
//! |-----------------------------|--------------|---------------|
//! | `thumbv7em-none-eabihf`     | Cortex-M4F   | `mps2-an386`  |
//! | `thumbv8m.main-none-eabihf` | Cortex-M55   | `mps3-an547`  |
//! | `thumbv6m-none-eabi`        | Cortex-M0    | `microbit`    |
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --target thumbv7em-none-eabihf
//! cargo run --release --target thumbv8m.main-none-eabihf
//! cargo run --release --target thumbv6m-none-eabi --bin microtrain-cortex-m
//! ```
//!
//! The Cortex-M0 has no FPU: every float operation is a call into compiler-builtins'
//! soft-float routines (`__aeabi_fadd`, `__aeabi_fmul`, …), which round exactly as the
//! hardware does, so it prints the same bits. Only this binary fits its 16 KiB of RAM
//! (it needs about 3.3 KiB, stack included); `.ci/cores.sh` runs it.
//!
//! The firmware prints the loss as it falls, the final predictions and the accuracy over
//! semihosting, and exits QEMU with success only if the network learned XOR: every
//! sample classified right and the loss below `xor_task::LOSS_GOAL`.
//!
//! The FPU (where there is one): cortex-m-rt's reset handler grants full access to CP10/CP11 in
//! `SCB->CPACR` before it calls `main` on every `-eabihf` target, so float code may run
//! from the first line of `main`.
//!
//! Everything is on the stack or in statics: no heap.

#![no_std]
#![no_main]

use cortex_m_rt::entry;

/// The task, shared word for word with the host example `examples/xor.rs`.
#[path = "../../common/xor_task.rs"]
mod xor_task;

/// Panic handling, printing and the exit, shared with the other firmware example.
#[path = "board.rs"]
mod board;

/// Trains, reports each line over semihosting (when printing is on), and says whether
/// the network learned XOR.
fn run() -> bool {
    xor_task::run(env!("FIRMWARE_MACHINE"), &mut board::say)
}

#[entry]
fn main() -> ! {
    board::finish(run())
}
