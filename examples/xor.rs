//! XOR on the host: the network, trainer and seed of the firmware example
//! (`examples/cortex-m`), so this run prints what the microcontroller prints.
//!
//! ```text
//! cargo run --example xor
//! ```
//!
//! A 2-8-1 tanh MLP learns XOR with mean squared error and full-batch gradient descent
//! (`B = 4`: all four samples in every step), learning rate 0.2, 1000 epochs, weights
//! from Xavier-normal initialisation drawn from `Pcg32` seeded with 42. (With this
//! initialisation a learning rate of 0.5 diverges.)
//!
//! It prints the loss every 100 epochs and the final predictions in the firmware's
//! format; since the library trains bit-identically on every target, the lines from
//! `epoch 0` on match the firmware's under QEMU. It exits with a failure status unless
//! every sample is classified right and the loss is below [`LOSS_GOAL`]: the test the
//! firmware applies on the device.

use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::process::ExitCode;

/// Samples in the data set, all used in every step (full batch).
const SAMPLES: usize = 4;
/// Input features.
const INPUTS: usize = 2;
/// Hidden units.
const HIDDEN: usize = 8;
/// Outputs.
const OUTPUTS: usize = 1;

/// Seed of the weight initialisation and of the (irrelevant, full-batch) sample order.
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

/// The network: `y = tanh(x·W₁ᵀ + b₁)·W₂ᵀ + b₂`.
type Net = Seq![Dense<INPUTS, HIDDEN>, Tanh, Dense<HIDDEN, OUTPUTS>];
/// The network with MSE, plain SGD and buffers for a batch of all four samples.
type XorTrainer = Trainer<Net, Mse, Sgd, SAMPLES, INPUTS, OUTPUTS>;

fn main() -> Result<ExitCode, microtrain::Error> {
    println!(
        "microtrain on the host: 2-{HIDDEN}-1 tanh MLP, XOR, full-batch gradient descent, \
         lr {LEARNING_RATE}, {EPOCHS} epochs, seed {SEED}"
    );
    println!(
        "trainer RAM: {} bytes (parameters + gradients {}, activations and batch buffers {}, \
         optimizer state {})",
        XorTrainer::BYTES,
        XorTrainer::PARAM_BYTES,
        XorTrainer::ACTIVATION_BYTES,
        XorTrainer::OPTIMIZER_BYTES
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

    let initial_loss = trainer.evaluate(&data)?.loss;
    for epoch in 0..EPOCHS {
        // One epoch is one step here (B = 4 = every sample); the loss returned is that
        // of the weights before the step.
        let risk = trainer.epoch(&data, &mut rng)?;
        if epoch % REPORT_EVERY == 0 {
            println!("epoch {epoch:5}  loss {}", risk.data);
        }
    }
    let final_loss = trainer.evaluate(&data)?.loss;

    let mut x = Batch::<SAMPLES, INPUTS>::zeros();
    x.as_mut_slice().copy_from_slice(&XOR_INPUTS);
    let outputs = *trainer.predict(&x);
    let mut correct = 0;
    let samples = XOR_INPUTS
        .chunks_exact(INPUTS)
        .zip(&outputs.0)
        .zip(XOR_TARGETS.chunks_exact(OUTPUTS));
    for ((input, output), target) in samples {
        let predicted = if output[0] > 0.5 { 1.0 } else { 0.0 };
        if predicted == target[0] {
            correct += 1;
        }
        println!(
            "  {} xor {} -> {} (class {predicted}, target {})",
            input[0], input[1], output[0], target[0]
        );
    }
    println!("loss {initial_loss} -> {final_loss}; accuracy {correct}/{SAMPLES}");

    if correct == SAMPLES && final_loss < LOSS_GOAL {
        println!("PASS: learned XOR");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAIL: did not learn XOR");
        Ok(ExitCode::FAILURE)
    }
}
