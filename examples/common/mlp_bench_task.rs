//! The training-step benchmark that both the host example (`examples/mlp_bench.rs`) and
//! the firmware (`examples/cortex-m`, binary `bench`) run: a 64→32 ReLU→10 MLP with
//! cross-entropy and Adam (PyTorch's defaults), batch 32, from the same code and seed,
//! its ReLU inside the output layer ([`ReluDense`]: one hidden buffer, not two),
//! so the two must end with the same parameters, bit for bit. The firmware also counts
//! the instructions of one training step, of the forward layer's matrix product and of
//! one Adam update, through the `clock` it passes in (QEMU's `-icount shift=0`).
//!
//! The data: 128 samples of 64 values in 10 classes; class `c`'s samples are a fixed
//! binary pattern plus noise in `[0, 0.5)`, all from an integer hash, so host and device
//! see the same bits. The task holds them in whole batches ([`Batches`]) and the trainer
//! holds no input batch of its own ([`CallerBatchTrainer`]): each epoch shuffles the
//! samples in place and trains on each batch where it is. `core` only: it builds for the
//! microcontroller as it is.

use core::fmt::Arguments;
use microtrain::init::{init_params, HeNormal};
use microtrain::kernels::{matmul_bt, Accumulate};
use microtrain::layers::{Dense, Params, ReluDense};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig, Optimizer};
use microtrain::train::{Batches, CallerBatchTrainer, Trainer};
use microtrain::{seq, Batch, Error, MatMut, MatRef, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Inputs per sample.
pub const FEATURES: usize = 64;
/// Hidden units.
pub const HIDDEN: usize = 32;
/// Classes.
pub const CLASSES: usize = 10;
/// Samples per step.
pub const BATCH: usize = 32;
/// Samples in the training set (four steps per epoch).
pub const SAMPLES: usize = 128;
/// Batches in the training set.
pub const BATCHES: usize = SAMPLES / BATCH;
/// Passes over the training set.
pub const EPOCHS: usize = 10;
/// Seed of the weight initialisation and of the sample order.
pub const SEED: u64 = 7;

/// The network.
pub type Net = Seq![Dense<FEATURES, HIDDEN>, ReluDense<HIDDEN, CLASSES>];
/// Its parameters: 64·32 + 32 + 32·10 + 10 = 2 410.
pub const PARAMS: usize = <Net as Params>::COUNT;
/// The network with cross-entropy, Adam and the activations of a batch of [`BATCH`]
/// samples; the batches are the caller's (no input buffer in the trainer).
pub type BenchTrainer =
    CallerBatchTrainer<Net, CrossEntropy, Adam<PARAMS>, BATCH, FEATURES, CLASSES>;

/// The loss: cross-entropy without label smoothing.
pub const LOSS: CrossEntropy = CrossEntropy {
    label_smoothing: 0.0,
};
/// Adam with PyTorch's defaults.
pub const ADAM: AdamConfig = AdamConfig::DEFAULT.with_lr(1e-3);

/// A trainer with an untrained network, built whole by the `const` [`Trainer::new`]:
/// the host twin's way (in a `static`, its 44 KB image would sit in flash, `.data`).
#[allow(dead_code)] // the firmware uses `configure`
pub const fn fresh() -> BenchTrainer {
    Trainer::new(
        seq![Dense::zeros(), ReluDense::zeros()],
        LOSS,
        Adam::new(ADAM),
        SEED,
    )
}

/// Makes `trainer`, a [`Trainer::ZERO`] (a `static` in `.bss`), equal to [`fresh`]'s
/// in place: the firmware's way. The host twin starts from `fresh`, so equal output
/// shows that the two trainers are the same.
#[allow(dead_code)] // the host twin uses `fresh`
pub fn configure(trainer: &mut BenchTrainer) {
    trainer.configure(LOSS, ADAM, SEED);
}

/// Runs its argument and returns the bytes of stack it used (the firmware paints the
/// stack; the host has no such probe).
pub type StackProbe<'a> = &'a mut dyn FnMut(&mut dyn FnMut()) -> usize;

/// An integer hash (Chris Wellons' `lowbias32`): well mixed, and the same everywhere.
const fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Fills the training set: sample `s` (row `s mod BATCH` of batch `s / BATCH`) is of
/// class `s mod CLASSES`.
pub fn make_data(inputs: &mut [Batch<BATCH, FEATURES>; BATCHES], labels: &mut [u32; SAMPLES]) {
    let rows = inputs.iter_mut().flat_map(|batch| batch.0.iter_mut());
    for (s, (x, label)) in rows.zip(labels).enumerate() {
        let class = s % CLASSES;
        *label = class as u32;
        for (f, value) in x.iter_mut().enumerate() {
            let pattern = (hash((class * FEATURES + f) as u32) >> 31) as f32;
            // 23 random bits times 2⁻²⁴: [0, 0.5), exactly representable.
            let noise = (hash(((s * FEATURES + f) as u32) ^ 0x9e37_79b9) >> 9) as f32
                * (1.0 / 16_777_216.0);
            *value = pattern + noise;
        }
    }
}

/// FNV-1a over the bits of every parameter, in `Params::visit` order.
pub fn parameter_hash(model: &mut Net) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    model.visit(&mut |p| {
        for v in p.value.iter() {
            for byte in v.to_bits().to_le_bytes() {
                h = (h ^ u32::from(byte)).wrapping_mul(0x0100_0193);
            }
        }
    });
    h
}

/// Instructions spent in `f`, by `clock` (which counts instructions, or returns 0).
fn count(clock: &mut impl FnMut() -> u64, f: impl FnOnce()) -> u64 {
    let start = clock();
    f();
    clock().wrapping_sub(start)
}

/// Trains `trainer` (fresh from [`fresh`] or [`configure`]) and reports through `say`. With `measure`,
/// then counts instructions through that clock and reports them, and with `stack`
/// (which runs its argument and returns the bytes of stack it used) the stack of one
/// `train_step`: the `instructions` and `stack used` lines are the only ones the host
/// (which has neither probe) does not print.
/// Returns whether the loss fell below half its first value.
pub fn run(
    machine: &str,
    trainer: &mut BenchTrainer,
    say: &mut impl FnMut(Arguments<'_>),
    measure: Option<&mut dyn FnMut() -> u64>,
    stack: Option<StackProbe<'_>>,
) -> bool {
    say(format_args!(
        "microtrain on {machine}: MLP {FEATURES}-{HIDDEN}-{CLASSES} ReLU, cross-entropy, Adam, \
         batch {BATCH} of {SAMPLES}, {EPOCHS} epochs, seed {SEED}"
    ));
    say(format_args!(
        "trainer RAM: {} bytes (parameters + gradients {}, activations and batch targets {}, \
         optimizer state {}); {PARAMS} parameters",
        BenchTrainer::BYTES,
        BenchTrainer::PARAM_BYTES,
        BenchTrainer::ACTIVATION_BYTES,
        BenchTrainer::OPTIMIZER_BYTES
    ));
    match train(trainer, say, measure, stack) {
        Ok(learned) => learned,
        Err(error) => {
            say(format_args!("training failed: {error}"));
            false
        }
    }
}

fn train(
    trainer: &mut BenchTrainer,
    say: &mut impl FnMut(Arguments<'_>),
    measure: Option<&mut dyn FnMut() -> u64>,
    stack: Option<StackProbe<'_>>,
) -> Result<bool, Error> {
    let mut inputs = [Batch::zeros(); BATCHES];
    let mut labels = [0; SAMPLES];
    make_data(&mut inputs, &mut labels);
    let mut data = Batches::new(&mut inputs, &mut labels, 1)?;
    let mut rng = Pcg32::seed_from_u64(SEED);
    init_params(&mut trainer.model, HeNormal, &mut rng);

    let first = trainer.evaluate_batches(&data)?.loss;
    let mut last = first;
    for epoch in 0..EPOCHS {
        last = trainer.epoch_in_place(&mut data, &mut rng)?.data;
        say(format_args!("epoch {epoch:2}  loss {last:?}"));
    }
    let eval = trainer.evaluate_batches(&data)?;
    say(format_args!(
        "loss {first:?} -> {:?}, accuracy {:?}; parameter hash {:08x}",
        eval.loss,
        eval.accuracy.unwrap_or(0.0),
        parameter_hash(&mut trainer.model)
    ));
    if let Some(clock) = measure {
        // After the recorded run, so the counted steps change nothing it reports.
        let mut clock = move || clock();
        // The first batch, as the last epoch left it; `train_step` reads it in place.
        let x = data.batch(0);
        let y: [u32; BATCH] = core::array::from_fn(|i| data.target(i)[0]);
        let mut step = [0u64; 3];
        for s in step.iter_mut() {
            let mut result = Ok(());
            *s = count(&mut clock, || {
                result = trainer.train_step(x, &y).map(|_| ())
            });
            result?;
        }
        say(format_args!(
            "instructions per train_step (batch {BATCH}, forward + loss + backward + Adam): {} {} {}",
            step[0], step[1], step[2]
        ));
        if let Some(stack) = stack {
            let mut result = Ok(());
            let used = stack(&mut || result = trainer.train_step(x, &y).map(|_| ()));
            result?;
            say(format_args!(
                "stack used by train_step: {used} bytes (the batch is the caller's)"
            ));
        }
        // The first layer's forward product, X·Wᵀ (W is HIDDEN × FEATURES).
        let mut out = [0.0f32; BATCH * HIDDEN];
        let weights = trainer.model.0.weight.as_slice();
        let mut result = Ok(());
        let product = count(&mut clock, || {
            result = match (
                MatMut::new(&mut out, BATCH, HIDDEN),
                MatRef::new(x.as_slice(), BATCH, FEATURES),
                MatRef::new(weights, HIDDEN, FEATURES),
            ) {
                (Ok(c), Ok(a), Ok(b)) => matmul_bt(c, a, b, Accumulate::Overwrite),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
            };
        });
        result?;
        let macs = (BATCH * FEATURES * HIDDEN) as u64;
        say(format_args!(
            "instructions per multiply-add, X·Wᵀ {BATCH}x{FEATURES} by {FEATURES}x{HIDDEN}: {}.{:02} ({product} for {macs})",
            product / macs,
            product * 100 / macs % 100
        ));
        let (optimizer, model) = (&mut trainer.optimizer, &mut trainer.model);
        let mut result = Ok(());
        let update = count(&mut clock, || result = optimizer.step(model));
        result?;
        say(format_args!(
            "instructions per parameter, one Adam update: {}.{:02} ({update} for {PARAMS})",
            update / PARAMS as u64,
            update * 100 / PARAMS as u64 % 100
        ));
    }
    Ok(last < 0.5 * first)
}
