//! The firmware benchmark: trains a 64→32 ReLU→10 MLP with cross-entropy and Adam,
//! batch 32, from a `static` trainer (`Trainer::ZERO` in `.bss`, configured in place:
//! no flash for its image; a `CallerBatchTrainer`, which holds no input batch: each
//! epoch shuffles the task's batches in place and trains on them where they are), prints its losses and a hash of the trained parameters
//! (which must equal the host twin's, `examples/mlp_bench.rs`, built by
//! `Trainer::new`), then counts the instructions of three training steps, of one matrix
//! product and of one Adam update, and the stack that configuring the trainer and one
//! training step used. The task lives in `examples/common/mlp_bench_task.rs`.
//!
//! Instruction counts need QEMU's `-icount shift=0` (every instruction advances the
//! virtual clock by 1 ns): SysTick then counts virtual time, and a calibration loop of
//! known length converts its ticks to instructions. `.ci/firmware_bench.sh` runs it so.
//! Instructions are not cycles: QEMU models no pipeline, caches or wait states.
//!
//! ```text
//! cd examples/cortex-m
//! cargo build --release --bin bench --target thumbv7em-none-eabihf
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -icount shift=0 -nographic \
//!     -semihosting-config enable=on,target=native -kernel target/thumbv7em-none-eabihf/release/bench
//! ```

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::entry;
use microtrain::train::Trainer;

/// The task, shared word for word with the host example `examples/mlp_bench.rs`.
#[path = "../../../common/mlp_bench_task.rs"]
mod mlp_bench_task;

/// Panic handling, printing and the exit, shared with the other firmware examples.
#[path = "../board.rs"]
mod board;

/// The trainer, in a static: too large for the stack. Every byte of `Trainer::ZERO` is
/// zero, so it lands in `.bss` (zeroed at start-up, no flash for its image); `run`
/// configures it in place.
static mut TRAINER: mlp_bench_task::BenchTrainer = Trainer::ZERO;

/// Bytes of stack below the caller's stack pointer painted by [`stack_used`].
const PAINTED: usize = 4096;

/// The pattern [`stack_used`] paints.
const PAINT: u32 = 0xdead_beef;

/// Runs `f(arg)` and returns the bytes of stack it used (return address and saved
/// registers included): paints the `PAINTED` bytes below the stack pointer, calls `f`
/// through an opaque pointer (so that it is not inlined into this frame), then finds the
/// lowest word that no longer holds the paint.
#[inline(never)]
fn stack_used<A>(f: fn(&mut A), arg: &mut A) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = sp - PAINTED;
    for addr in (bottom..sp).step_by(4) {
        // SAFETY: the RAM below the stack pointer is free stack (the memory map gives
        // megabytes of it), and nothing else runs (no interrupt is enabled).
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
    }
    core::hint::black_box(f)(arg);
    let lowest = (bottom..sp)
        .step_by(4)
        // SAFETY: as above; the words were written just now.
        .find(|&addr| unsafe { core::ptr::read_volatile(addr as *const u32) } != PAINT)
        .unwrap_or(sp);
    sp - lowest
}

/// Bytes of stack painted by [`step_stack_used`].
const STEP_PAINTED: usize = 16384;

/// Runs `f` and returns the bytes of stack it used, as [`stack_used`] measures them,
/// over `STEP_PAINTED` bytes.
#[inline(never)]
fn step_stack_used(f: &mut dyn FnMut()) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = sp - STEP_PAINTED;
    for addr in (bottom..sp).step_by(4) {
        // SAFETY: as in `stack_used`.
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
    }
    core::hint::black_box(&mut *f)();
    let lowest = (bottom..sp)
        .step_by(4)
        // SAFETY: as above; the words were written just now.
        .find(|&addr| unsafe { core::ptr::read_volatile(addr as *const u32) } != PAINT)
        .unwrap_or(sp);
    sp - lowest
}

/// SysTick's counter is 24 bits wide.
const WRAP: u32 = 1 << 24;

/// Iterations of the calibration loop (two instructions each).
const CALIBRATION: u32 = 1 << 20;

/// SysTick ticks elapsed since it started, counting up (valid across one wrap).
fn ticks() -> u32 {
    WRAP - 1 - SYST::get_current()
}

/// Runs `subs; bne` `CALIBRATION` times: exactly `2 · CALIBRATION` instructions.
fn calibration_loop() {
    // SAFETY: the block only counts a register down to zero; it touches no memory and
    // no other register (the flags are declared clobbered by default).
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {n}, {n}, #1",
            "bne 1b",
            n = inout(reg) CALIBRATION => _,
            options(nomem, nostack),
        );
    }
}

fn run() -> bool {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        return false;
    };
    let mut syst = peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(WRAP - 1);
    syst.clear_current();
    syst.enable_counter();

    let start = ticks();
    calibration_loop();
    let calibration_ticks = ticks().wrapping_sub(start) % WRAP;
    // Instructions per tick, in 1/1024ths: 40 on mps2-an386 (25 MHz), if -icount shift=0.
    let per_tick_1024 = (u64::from(2 * CALIBRATION) << 10) / u64::from(calibration_ticks.max(1));
    // An instruction clock from SysTick ticks; sampled at least once per wrap (every
    // 2²⁴ ticks, about 670 M instructions), so unfolding one wrap at a time is enough.
    let mut last = ticks();
    let mut total: u64 = 0;
    let mut clock = move || {
        let now = ticks();
        total += u64::from(now.wrapping_sub(last) % WRAP);
        last = now;
        (total * per_tick_1024) >> 10
    };

    // SAFETY: `run` is called once, from `main`, and nothing else touches `TRAINER`
    // (no interrupt handler uses it), so this is the only reference to it.
    let trainer = unsafe { &mut *addr_of_mut!(TRAINER) };
    let configure_stack = stack_used(mlp_bench_task::configure, trainer);
    let learned = mlp_bench_task::run(
        env!("FIRMWARE_MACHINE"),
        trainer,
        &mut board::say,
        Some(&mut clock),
        Some(&mut step_stack_used),
    );
    board::say(format_args!(
        "instructions per SysTick tick: {}.{:03} (calibrated over {} instructions)",
        per_tick_1024 >> 10,
        ((per_tick_1024 & 1023) * 1000) >> 10,
        2 * CALIBRATION
    ));
    board::say(format_args!(
        "stack used by Trainer::configure: {configure_stack} bytes (Trainer::ZERO in .bss, configured in place)"
    ));
    learned
}

#[entry]
fn main() -> ! {
    board::finish(run())
}
