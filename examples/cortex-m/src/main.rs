//! On-device learning under QEMU: a 2-8-1 tanh network learns XOR on the
//! microcontroller, with full-batch gradient descent through `microtrain`'s
//! [`Trainer`]: the same types and code that train on the host.
//!
//! | target                      | core         | QEMU machine  |
//! |-----------------------------|--------------|---------------|
//! | `thumbv7em-none-eabihf`     | Cortex-M4F   | `mps2-an386`  |
//! | `thumbv8m.main-none-eabihf` | Cortex-M55   | `mps3-an547`  |
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --target thumbv7em-none-eabihf
//! cargo run --release --target thumbv8m.main-none-eabihf
//! ```
//!
//! The firmware prints the loss as it falls, the final predictions and the accuracy over
//! semihosting, and exits QEMU with success only if the network learned XOR: every
//! sample classified right and the loss below [`LOSS_GOAL`].
//!
//! The FPU: cortex-m-rt's reset handler grants full access to CP10/CP11 in
//! `SCB->CPACR` before it calls `main` on every `-eabihf` target, so float code may run
//! from the first line of `main`.
//!
//! Everything is on the stack or in statics: no heap.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Error, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

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

/// Samples in the data set, all used in every step (full batch).
const SAMPLES: usize = 4;
/// Input features.
const INPUTS: usize = 2;
/// Hidden units.
const HIDDEN: usize = 8;
/// Outputs.
const OUTPUTS: usize = 1;

/// Seed of the weight initialisation.
const SEED: u64 = 42;
/// Gradient-descent steps.
const EPOCHS: usize = 1000;
/// Step size of gradient descent.
const LEARNING_RATE: f32 = 0.2;
/// Print the loss every this many epochs.
const REPORT_EVERY: usize = 100;
/// The run fails unless the final mean squared error is below this.
const LOSS_GOAL: f32 = 0.01;

/// XOR: the four corners of the unit square, sample after sample.
const XOR_INPUTS: [f32; SAMPLES * INPUTS] = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// XOR: `1` where exactly one input is `1`.
const XOR_TARGETS: [f32; SAMPLES * OUTPUTS] = [0.0, 1.0, 1.0, 0.0];

/// The network: `y = tanh(x·W₁ᵀ + b₁)·W₂ᵀ + b₂`, the same type the host example trains.
type Net = Seq![Dense<INPUTS, HIDDEN>, Tanh, Dense<HIDDEN, OUTPUTS>];
/// The trainer: the network, its kept activations for a full batch, MSE and plain SGD.
type XorTrainer = Trainer<Net, Mse, Sgd, SAMPLES, INPUTS, OUTPUTS>;

/// What training achieved.
struct Outcome {
    /// Loss of the initial weights.
    initial_loss: f32,
    /// Loss after the last step.
    final_loss: f32,
    /// The trained network's output for each sample.
    outputs: Batch<SAMPLES, OUTPUTS>,
}

/// Trains a freshly initialised network on XOR with the library's [`Trainer`]; calls
/// `progress(epoch, loss)` every [`REPORT_EVERY`] epochs with that epoch's loss.
fn train_xor(mut progress: impl FnMut(usize, f32)) -> Result<Outcome, Error> {
    let mut rng = Pcg32::seed_from_u64(SEED);
    let model = seq![Dense::zeros(), Tanh, Dense::zeros()];
    let mut trainer = XorTrainer::new(model, Mse, Sgd::new(LEARNING_RATE), SEED);
    init_params(&mut trainer.model, Init::XavierNormal, &mut rng);
    let data = Dataset::new(&XOR_INPUTS, INPUTS, &XOR_TARGETS, OUTPUTS)?;

    let initial_loss = trainer.evaluate(&data)?.loss;
    for epoch in 0..EPOCHS {
        let risk = trainer.epoch(&data, &mut rng)?;
        if epoch % REPORT_EVERY == 0 {
            progress(epoch, risk.data);
        }
    }
    let final_loss = trainer.evaluate(&data)?.loss;
    let mut x = Batch::<SAMPLES, INPUTS>::zeros();
    x.as_mut_slice().copy_from_slice(&XOR_INPUTS);
    Ok(Outcome {
        initial_loss,
        final_loss,
        outputs: *trainer.predict(&x),
    })
}

/// Trains, reports, and says whether the network learned XOR.
fn run() -> bool {
    say!(
        "microtrain on {}: 2-{}-1 tanh MLP, XOR, full-batch gradient descent, lr {}, {} epochs, seed {}",
        env!("FIRMWARE_MACHINE"),
        HIDDEN,
        LEARNING_RATE,
        EPOCHS,
        SEED
    );
    say!(
        "trainer RAM: {} bytes (parameters + gradients {}, activations and batch buffers {}, optimizer state {})",
        XorTrainer::BYTES,
        XorTrainer::PARAM_BYTES,
        XorTrainer::ACTIVATION_BYTES,
        XorTrainer::OPTIMIZER_BYTES
    );
    let outcome = match train_xor(|epoch, loss| say!("epoch {:5}  loss {}", epoch, loss)) {
        Ok(outcome) => outcome,
        Err(error) => {
            say!("training failed: {}", error);
            return false;
        }
    };

    let mut correct = 0;
    let samples = XOR_INPUTS
        .chunks_exact(INPUTS)
        .zip(&outcome.outputs.0)
        .zip(XOR_TARGETS.chunks_exact(OUTPUTS));
    for ((input, output), target) in samples {
        let predicted = if output[0] > 0.5 { 1.0 } else { 0.0 };
        if predicted == target[0] {
            correct += 1;
        }
        say!(
            "  {} xor {} -> {} (class {}, target {})",
            input[0],
            input[1],
            output[0],
            predicted,
            target[0]
        );
    }
    say!(
        "loss {} -> {}; accuracy {}/{}",
        outcome.initial_loss,
        outcome.final_loss,
        correct,
        SAMPLES
    );

    let learned = correct == SAMPLES && outcome.final_loss < LOSS_GOAL;
    say!(
        "{}",
        if learned {
            "PASS: learned XOR"
        } else {
            "FAIL: did not learn XOR"
        }
    );
    learned
}

#[entry]
fn main() -> ! {
    let status = if run() { EXIT_SUCCESS } else { EXIT_FAILURE };
    debug::exit(status);
    halt()
}
