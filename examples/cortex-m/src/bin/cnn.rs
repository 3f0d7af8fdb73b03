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
//! The trainer (`CnnTrainer::BYTES`, about 88 KiB on Cortex-M) is a `static`,
//! initialised at compile time by the `const fn` `cnn_task::fresh`: it never travels
//! through the stack. It has non-zero fields (BatchNorm scales, Adam's configuration),
//! so it lives in `.data`: its initial image costs as much flash as RAM. The pictures
//! (16 KiB) are made on the stack at run time.

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};

/// The task, shared word for word with the host example `examples/cnn.rs`.
#[path = "../../../common/cnn_task.rs"]
mod cnn_task;

#[cfg(feature = "print")]
use panic_semihosting as _;

/// Without the `print` feature nothing may format: a panic just fails the run.
#[cfg(not(feature = "print"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(EXIT_FAILURE);
    halt()
}

/// Sleeps for ever: where the program ends if semihosting did not stop the machine.
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// `hprintln!` when the `print` feature is on; nothing at all otherwise.
macro_rules! say {
    ($($arg:tt)*) => {
        if cfg!(feature = "print") {
            cortex_m_semihosting::hprintln!($($arg)*);
        }
    };
}

/// The trainer, in a static: far too large for a microcontroller's stack.
static mut TRAINER: cnn_task::CnnTrainer = cnn_task::fresh();

/// Trains, reports each line over semihosting (when printing is on), and says whether
/// the network learned.
fn run() -> bool {
    // SAFETY: `run` is called once, from `main`, and nothing else touches `TRAINER`
    // (no interrupt handler uses it), so this is the only reference to it.
    let trainer = unsafe { &mut *addr_of_mut!(TRAINER) };
    cnn_task::run(env!("FIRMWARE_MACHINE"), trainer, &mut |line| {
        say!("{}", line)
    })
}

#[entry]
fn main() -> ! {
    let status = if run() { EXIT_SUCCESS } else { EXIT_FAILURE };
    debug::exit(status);
    halt()
}
