//! On-device learning under QEMU: a 2-8-1 tanh network learns XOR on the
//! microcontroller, with full-batch gradient descent built from `microtrain`'s kernels.
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
use microtrain::kernels::{self, math, Activation};
use microtrain::{Accumulate, Batch, Error, Matrix, Vector};
use rand_core::{Rng, SeedableRng};
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

/// XOR: the four corners of the unit square.
const XOR_INPUTS: Batch<SAMPLES, INPUTS> = Matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
/// XOR: `1` where exactly one input is `1`.
const XOR_TARGETS: Batch<SAMPLES, OUTPUTS> = Matrix([[0.0], [1.0], [1.0], [0.0]]);

/// A two-layer perceptron `y = tanh(x·W₁ + b₁)·W₂ + b₂`.
///
/// The same struct holds the gradients of the loss with respect to each parameter.
#[derive(Clone, Copy, Default)]
struct Mlp {
    w1: Matrix<INPUTS, HIDDEN>,
    b1: Vector<HIDDEN>,
    w2: Matrix<HIDDEN, OUTPUTS>,
    b2: Vector<OUTPUTS>,
}

/// What the forward pass keeps for the backward pass.
#[derive(Default)]
struct Activations {
    /// Hidden pre-activation `Z = X·W₁ + b₁`.
    z: Batch<SAMPLES, HIDDEN>,
    /// Hidden activation `H = tanh Z`.
    h: Batch<SAMPLES, HIDDEN>,
    /// Output `Y = H·W₂ + b₂`.
    y: Batch<SAMPLES, OUTPUTS>,
}

impl Mlp {
    /// PyTorch's `nn.Linear` default: weights and biases uniform in `±1/√fan_in`.
    fn init(rng: &mut Pcg32) -> Self {
        let mut model = Mlp::default();
        let bound1 = 1.0 / math::sqrt(INPUTS as f32);
        let bound2 = 1.0 / math::sqrt(HIDDEN as f32);
        fill_uniform(rng, bound1, model.w1.as_mut_slice());
        fill_uniform(rng, bound1, model.b1.as_mut_slice());
        fill_uniform(rng, bound2, model.w2.as_mut_slice());
        fill_uniform(rng, bound2, model.b2.as_mut_slice());
        model
    }

    /// `Z = X·W₁ + b₁`, `H = tanh Z`, `Y = H·W₂ + b₂`.
    fn forward(&self, x: &Batch<SAMPLES, INPUTS>, act: &mut Activations) -> Result<(), Error> {
        act.z.set_product(x, &self.w1, Accumulate::Overwrite);
        for row in &mut act.z.0 {
            kernels::add(self.b1.as_slice(), row)?;
        }
        kernels::activate(Activation::Tanh, act.z.as_slice(), act.h.as_mut_slice())?;
        act.y.set_product(&act.h, &self.w2, Accumulate::Overwrite);
        for row in &mut act.y.0 {
            kernels::add(self.b2.as_slice(), row)?;
        }
        Ok(())
    }

    /// The gradients of the loss, given `dY = ∂L/∂Y` and the forward pass's activations:
    ///
    /// ```text
    /// ∂W₂ = Hᵀ·dY     ∂b₂ = Σ_rows dY     dH = dY·W₂ᵀ
    /// dZ = dH ⊙ (1 − H²)
    /// ∂W₁ = Xᵀ·dZ     ∂b₁ = Σ_rows dZ
    /// ```
    fn backward(
        &self,
        x: &Batch<SAMPLES, INPUTS>,
        act: &Activations,
        dy: &Batch<SAMPLES, OUTPUTS>,
        grad: &mut Mlp,
    ) -> Result<(), Error> {
        grad.w2.set_product_at(&act.h, dy, Accumulate::Overwrite);
        grad.b2 = column_sums(dy)?;

        let mut dh = Batch::<SAMPLES, HIDDEN>::zeros();
        dh.set_product_bt(dy, &self.w2, Accumulate::Overwrite);
        let mut dz = Batch::<SAMPLES, HIDDEN>::zeros();
        kernels::activation_backward(
            Activation::Tanh,
            act.z.as_slice(),
            act.h.as_slice(),
            dh.as_slice(),
            dz.as_mut_slice(),
        )?;

        grad.w1.set_product_at(x, &dz, Accumulate::Overwrite);
        grad.b1 = column_sums(&dz)?;
        Ok(())
    }

    /// Plain gradient descent: `θ ← θ − η·∂θ` for every parameter.
    fn descend(&mut self, grad: &Mlp, learning_rate: f32) -> Result<(), Error> {
        kernels::axpy(-learning_rate, grad.w1.as_slice(), self.w1.as_mut_slice())?;
        kernels::axpy(-learning_rate, grad.b1.as_slice(), self.b1.as_mut_slice())?;
        kernels::axpy(-learning_rate, grad.w2.as_slice(), self.w2.as_mut_slice())?;
        kernels::axpy(-learning_rate, grad.b2.as_slice(), self.b2.as_mut_slice())?;
        Ok(())
    }
}

/// Fills `out` with values uniform in `[-bound, bound)`, 24 random bits each.
fn fill_uniform(rng: &mut Pcg32, bound: f32, out: &mut [f32]) {
    const SCALE: f32 = 1.0 / (1u32 << 24) as f32;
    for v in out {
        let unit = (rng.next_u32() >> 8) as f32 * SCALE; // [0, 1)
        *v = (2.0 * unit - 1.0) * bound;
    }
}

/// The sum of each column of `m`: the gradient of a bias added to every row.
fn column_sums<const R: usize, const C: usize>(m: &Matrix<R, C>) -> Result<Vector<C>, Error> {
    let mut sums = Vector::<C>::zeros();
    for row in &m.0 {
        kernels::add(row, sums.as_mut_slice())?;
    }
    Ok(sums)
}

/// Mean squared error `L = (1/N) Σ (y − t)²` over all `N` outputs, and writes its
/// gradient `∂L/∂y = (2/N)(y − t)` into `dy`.
fn mse<const B: usize, const N: usize>(
    y: &Batch<B, N>,
    target: &Batch<B, N>,
    dy: &mut Batch<B, N>,
) -> Result<f32, Error> {
    let count = (B * N) as f32;
    dy.clone_from(y);
    kernels::axpy(-1.0, target.as_slice(), dy.as_mut_slice())?; // y − t
    let loss = kernels::squared_norm(dy.as_slice()) / count;
    kernels::scale(2.0 / count, dy.as_mut_slice());
    Ok(loss)
}

/// What training achieved.
struct Outcome {
    /// Loss of the initial weights.
    initial_loss: f32,
    /// Loss after the last step.
    final_loss: f32,
    /// The trained network's output for each sample.
    outputs: Batch<SAMPLES, OUTPUTS>,
}

/// Trains a freshly initialised network on XOR; calls `progress(epoch, loss)` every
/// [`REPORT_EVERY`] epochs with the loss before that epoch's step.
fn train_xor(mut progress: impl FnMut(usize, f32)) -> Result<Outcome, Error> {
    let mut rng = Pcg32::seed_from_u64(SEED);
    let mut model = Mlp::init(&mut rng);
    let mut act = Activations::default();
    let mut grad = Mlp::default();
    let mut dy = Batch::<SAMPLES, OUTPUTS>::zeros();

    let mut initial_loss = f32::NAN;
    for epoch in 0..EPOCHS {
        model.forward(&XOR_INPUTS, &mut act)?;
        let loss = mse(&act.y, &XOR_TARGETS, &mut dy)?;
        if epoch == 0 {
            initial_loss = loss;
        }
        if epoch % REPORT_EVERY == 0 {
            progress(epoch, loss);
        }
        model.backward(&XOR_INPUTS, &act, &dy, &mut grad)?;
        model.descend(&grad, LEARNING_RATE)?;
    }

    model.forward(&XOR_INPUTS, &mut act)?;
    let final_loss = mse(&act.y, &XOR_TARGETS, &mut dy)?;
    Ok(Outcome {
        initial_loss,
        final_loss,
        outputs: act.y,
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
    let outcome = match train_xor(|epoch, loss| say!("epoch {:5}  loss {}", epoch, loss)) {
        Ok(outcome) => outcome,
        Err(error) => {
            say!("training failed: {}", error);
            return false;
        }
    };

    let mut correct = 0;
    let samples = XOR_INPUTS
        .0
        .iter()
        .zip(&outcome.outputs.0)
        .zip(&XOR_TARGETS.0);
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
