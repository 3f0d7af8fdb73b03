//! On-device learning on a RISC-V core without an FPU: the XOR task of
//! `examples/common/xor_task.rs` (a 2-8-1 tanh network, full-batch gradient descent
//! through `microtrain`'s `Trainer`) on an RV32IMAC hart, QEMU's `virt` machine.
//! The host example `examples/xor.rs` and the Cortex-M firmware (`examples/cortex-m`)
//! run the same code and print the same numbers; `.ci/cores.sh` checks it bit for bit.
//!
//! ```text
//! cd examples/riscv
//! cargo run --release
//! ```
//!
//! (the runner is `qemu-system-riscv32 -machine virt -bios none`, from
//! `.cargo/config.toml`; Debian's `qemu-system-misc` has it).
//!
//! RV32IMAC has no F extension: every float operation is a call into compiler-builtins'
//! soft-float routines (`__addsf3`, `__mulsf3`, …), which round exactly as IEEE 754
//! hardware does, and `tanh`/`exp` come from `libm` as on every target.
//!
//! The firmware prints over semihosting and exits QEMU with success only if the network
//! learned XOR: every sample classified right and the loss below `xor_task::LOSS_GOAL`.
//! Everything is on the stack or in statics: no heap.

#![no_std]
#![no_main]

use riscv_rt::entry;
use riscv_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use riscv_semihosting::hprintln;

/// The task, shared word for word with the host example `examples/xor.rs`.
#[path = "../../common/xor_task.rs"]
mod xor_task;

/// The machine named on the first printed line.
const MACHINE: &str = "virt (RV32IMAC)";

/// Prints the panic message and fails the run.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("{}", info);
    debug::exit(EXIT_FAILURE);
    halt()
}

/// Sleeps for ever: where the program ends if semihosting did not stop the machine.
fn halt() -> ! {
    loop {
        riscv::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    let learned = xor_task::run(MACHINE, &mut |line| hprintln!("{}", line));
    debug::exit(if learned { EXIT_SUCCESS } else { EXIT_FAILURE });
    halt()
}
