//! The XOR task that both the host example (`examples/xor.rs`) and the firmware
//! (`examples/cortex-m`) run: one network, one seed, one piece of code, so the two print
//! the same lines; `.ci/firmware.sh` checks that they do, bit for bit.
//!
//! A 2-8-1 tanh MLP learns XOR with mean squared error and full-batch gradient descent
//! (`B = 4`: all four samples in every step), learning rate 0.2, 1000 epochs, weights
//! from Xavier-normal initialisation drawn from `Pcg32` seeded with 42. (With this
//! initialisation a learning rate of 0.5 diverges.) `core` only: it builds for the
//! microcontroller as it is.

use core::fmt::Arguments;
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Error, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Samples in the data set, all used in every step (full batch).
pub const SAMPLES: usize = 4;
/// Input features.
pub const INPUTS: usize = 2;
/// Hidden units.
pub const HIDDEN: usize = 8;
/// Outputs.
pub const OUTPUTS: usize = 1;

/// Seed of the weight initialisation and of the (irrelevant, full-batch) sample order.
pub const SEED: u64 = 42;
/// Gradient-descent steps.
pub const EPOCHS: usize = 1000;
/// Step size of gradient descent.
pub const LEARNING_RATE: f32 = 0.2;
/// Print the loss every this many epochs.
pub const REPORT_EVERY: usize = 100;
/// The run fails unless the final mean squared error is below this.
pub const LOSS_GOAL: f32 = 0.01;

/// XOR: the four corners of the unit square, sample after sample.
pub const XOR_INPUTS: [f32; SAMPLES * INPUTS] = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// XOR: `1` where exactly one input is `1`.
pub const XOR_TARGETS: [f32; SAMPLES * OUTPUTS] = [0.0, 1.0, 1.0, 0.0];

/// The network: `y = tanh(x·W₁ᵀ + b₁)·W₂ᵀ + b₂`.
pub type Net = Seq![Dense<INPUTS, HIDDEN>, Tanh, Dense<HIDDEN, OUTPUTS>];
/// The network with MSE, plain SGD and buffers for a batch of all four samples.
pub type XorTrainer = Trainer<Net, Mse, Sgd, SAMPLES, INPUTS, OUTPUTS>;

/// What training achieved.
pub struct Outcome {
    /// Loss of the initial weights.
    pub initial_loss: f32,
    /// Loss after the last step.
    pub final_loss: f32,
    /// The trained network's output for each sample.
    pub outputs: Batch<SAMPLES, OUTPUTS>,
}

/// Trains a freshly initialised network on XOR; calls `progress(epoch, loss)` every
/// [`REPORT_EVERY`] epochs with that epoch's loss (that of the weights before its step).
pub fn train(mut progress: impl FnMut(usize, f32)) -> Result<Outcome, Error> {
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
        outputs: *trainer.predict(&x)?,
    })
}

/// Trains, reports each line through `say`, and says whether the network learned XOR:
/// every sample classified right and the loss below [`LOSS_GOAL`].
pub fn run(machine: &str, say: &mut impl FnMut(Arguments<'_>)) -> bool {
    say(format_args!(
        "microtrain on {machine}: 2-{HIDDEN}-1 tanh MLP, XOR, full-batch gradient descent, \
         lr {LEARNING_RATE}, {EPOCHS} epochs, seed {SEED}"
    ));
    say(format_args!(
        "trainer RAM: {} bytes (parameters + gradients {}, activations and batch buffers {}, \
         optimizer state {})",
        XorTrainer::BYTES,
        XorTrainer::PARAM_BYTES,
        XorTrainer::ACTIVATION_BYTES,
        XorTrainer::OPTIMIZER_BYTES
    ));
    let outcome = match train(|epoch, loss| say(format_args!("epoch {epoch:5}  loss {loss}"))) {
        Ok(outcome) => outcome,
        Err(error) => {
            say(format_args!("training failed: {error}"));
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
        say(format_args!(
            "  {} xor {} -> {} (class {predicted}, target {})",
            input[0], input[1], output[0], target[0]
        ));
    }
    say(format_args!(
        "loss {} -> {}; accuracy {correct}/{SAMPLES}",
        outcome.initial_loss, outcome.final_loss
    ));
    let learned = correct == SAMPLES && outcome.final_loss < LOSS_GOAL;
    say(format_args!(
        "{}",
        if learned {
            "PASS: learned XOR"
        } else {
            "FAIL: did not learn XOR"
        }
    ));
    learned
}
