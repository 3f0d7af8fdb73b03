//! The baseline for footprint figures: a firmware that does nothing but report success.
//! `.ci/firmware_bench.sh` subtracts its `.text` from the benchmark's to give the code
//! that training adds (vectors, reset, semihosting exit and the panic handler are in
//! both).

#![no_std]
#![no_main]

use cortex_m_rt::entry;

/// Panic handling, printing and the exit, shared with the other firmware examples
/// (this one prints nothing).
#[allow(dead_code)]
#[path = "../board.rs"]
mod board;

#[entry]
fn main() -> ! {
    board::finish(true)
}
