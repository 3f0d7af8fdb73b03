//! microtrain logging through `defmt` (the crate's `defmt` feature) on a Cortex-M4F
//! under QEMU: the XOR task of `examples/common/xor_task.rs`, with every figure sent as
//! a defmt frame: [`Risk`](microtrain::loss::Risk)s as training runs, an
//! [`Evaluation`](microtrain::train::Evaluation), the
//! [`History`](microtrain::train::History) and an [`Error`](microtrain::Error) for a
//! refused input. The frames travel over semihosting (`defmt-semihosting`) to QEMU's
//! standard output, and `defmt-print` decodes them with the format strings kept in the
//! ELF:
//!
//! ```text
//! cargo install defmt-print
//! cd examples/cortex-m-defmt
//! cargo build --release
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
//!     -semihosting-config enable=on,target=native \
//!     -kernel target/thumbv7em-none-eabihf/release/microtrain-cortex-m-defmt \
//!     | defmt-print -e target/thumbv7em-none-eabihf/release/microtrain-cortex-m-defmt
//! ```
//!
//! QEMU exits with success only if the network learned XOR and the refused input was
//! refused; `.ci/firmware.sh` runs it and checks the decoded lines.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt_semihosting as _;
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, EpochRecord, History};
use microtrain::{seq, Error, Matrix};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// The task, shared with the host example `examples/xor.rs` and `examples/cortex-m`.
#[path = "../../common/xor_task.rs"]
#[allow(dead_code)] // the printing runner is not used here
mod xor_task;

use xor_task::{XorTrainer, EPOCHS, INPUTS, LEARNING_RATE, OUTPUTS, SEED, XOR_INPUTS, XOR_TARGETS};

/// Records kept: one per report.
const RECORDS: usize = EPOCHS / xor_task::REPORT_EVERY;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic");
    debug::exit(EXIT_FAILURE);
    halt()
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// Trains XOR, logging as it goes; whether it learned and refused the bad input.
fn run() -> Result<bool, Error> {
    defmt::info!(
        "microtrain with defmt: 2-8-1 tanh MLP, XOR, lr {=f32}, {=usize} epochs, trainer {=usize} bytes",
        LEARNING_RATE,
        EPOCHS,
        XorTrainer::BYTES
    );
    let mut rng = Pcg32::seed_from_u64(SEED);
    let mut trainer = XorTrainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(LEARNING_RATE),
        SEED,
    );
    init_params(&mut trainer.model, Init::XavierNormal, &mut rng);
    let data = Dataset::new(&XOR_INPUTS, INPUTS, &XOR_TARGETS, OUTPUTS)?;
    let mut history = History::<RECORDS>::new();
    for epoch in 0..EPOCHS {
        let risk = trainer.epoch(&data, &mut rng)?;
        if epoch % xor_task::REPORT_EVERY == 0 {
            let evaluation = trainer.evaluate(&data)?;
            defmt::info!("epoch {=usize}: {}", epoch, risk);
            history.push(EpochRecord::new(epoch as u32, risk, evaluation, LEARNING_RATE));
        }
    }
    let evaluation = trainer.evaluate(&data)?;
    defmt::info!("final: {}", evaluation);
    defmt::info!("{}", history);

    // A sensor that fails: one NaN input. The step is refused and says why.
    let bad = Matrix([[0.0, f32::NAN], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let refused = match trainer.train_step(&bad, &Matrix([[0.0], [1.0], [1.0], [0.0]])) {
        Err(e) => {
            defmt::warn!("refused: {}", e);
            matches!(e, Error::NonFinite { .. })
        }
        Ok(risk) => {
            defmt::error!("a NaN input was accepted: {}", risk);
            false
        }
    };
    Ok(evaluation.loss < xor_task::LOSS_GOAL && refused)
}

#[entry]
fn main() -> ! {
    let passed = match run() {
        Ok(passed) => passed,
        Err(e) => {
            defmt::error!("training failed: {}", e);
            false
        }
    };
    defmt::info!("{=str}", if passed { "PASS" } else { "FAIL" });
    debug::exit(if passed { EXIT_SUCCESS } else { EXIT_FAILURE });
    halt()
}
