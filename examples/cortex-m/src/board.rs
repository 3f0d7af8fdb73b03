//! What every firmware example shares: the panic handler without printing, the halt,
//! printing over semihosting, and the exit that tells QEMU (and CI) whether the
//! network learned.

use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};

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

/// Prints one line over semihosting when the `print` feature is on; compiles to
/// nothing otherwise.
#[inline(always)]
pub fn say(line: core::fmt::Arguments<'_>) {
    if cfg!(feature = "print") {
        cortex_m_semihosting::hprintln!("{}", line);
    }
}

/// Exits QEMU with success if the network learned, failure otherwise.
#[inline(always)]
pub fn finish(learned: bool) -> ! {
    debug::exit(if learned { EXIT_SUCCESS } else { EXIT_FAILURE });
    halt()
}
