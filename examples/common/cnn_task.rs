//! The CNN task that both the host example (`examples/cnn.rs`) and the firmware
//! (`examples/cortex-m`, binary `cnn`) run: one network, one seed, one piece of code, so
//! the two print the same lines; `.ci/firmware.sh` checks that they do, bit for bit.
//!
//! A small convolutional network tells four kinds of 8×8 one-channel pictures apart: a
//! horizontal bar, a vertical bar, a diagonal line and a 3×3 blob, each at a position
//! that varies from sample to sample, over a background of faint noise:
//!
//! ```text
//! conv 3×3 (1→4, pad 1) – BatchNorm – ReLU – max pool 2×2 –
//! conv 3×3 (4→8, pad 1) – BatchNorm – ReLU – global average pool – Dense(8→4)
//! ```
//!
//! Cross-entropy, Adam (lr 0.01), mini-batches of 8 out of 32 training pictures, each
//! training batch augmented (a random shift by up to one pixel, then Gaussian noise),
//! [`EPOCHS`] epochs, He-normal weights drawn from `Pcg32` seeded with [`SEED`]; judged on
//! 32 other pictures. The pictures come from an integer hash, not from a random-number
//! library whose stream could change between versions; the only float operations are
//! exact conversions and one multiplication, so host and device see the same bits.
//! `core` only: it builds for the microcontroller as it is.

use core::fmt::Arguments;
use microtrain::augment::{each_image, CropPad, GaussianNoise};
use microtrain::init::{init_params, Init};
use microtrain::layers::{BatchNorm, Conv2d, Dense, GlobalAvgPool, MaxPool2d, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Error, Image, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Height and width of a picture.
pub const SIDE: usize = 8;
/// Values per picture (one channel).
pub const PIXELS: usize = SIDE * SIDE;
/// Kinds of picture: horizontal bar, vertical bar, diagonal, blob.
pub const CLASSES: usize = 4;
/// Pictures in the training set, and in the test set.
pub const SAMPLES: usize = 32;
/// Pictures per step (four steps per epoch).
pub const BATCH: usize = 8;

/// Seed of the weight initialisation and of the sample order.
pub const SEED: u64 = 42;
/// Passes over the training set.
pub const EPOCHS: usize = 40;
/// Adam's step size.
pub const LEARNING_RATE: f32 = 0.01;
/// Print the loss every this many epochs.
pub const REPORT_EVERY: usize = 4;
/// Predictions printed at the end (the first test pictures, one of each class).
pub const SHOWN: usize = 4;

/// The network.
pub type Net = Seq![
    Conv2d<1, 4, 3, 1, 1, SIDE, SIDE>,
    BatchNorm<4>,
    Relu,
    MaxPool2d<2, 2, { SIDE / 2 }, { SIDE / 2 }>,
    Conv2d<4, 8, 3, 1, 1, { SIDE / 2 }, { SIDE / 2 }>,
    BatchNorm<8>,
    Relu,
    GlobalAvgPool,
    Dense<8, CLASSES>
];
/// The network's parameters (weights, biases, scales and shifts).
pub const PARAMS: usize = <Net as Params>::COUNT;
/// A batch of pictures, channels-last.
pub type Pictures = Image<BATCH, SIDE, SIDE, 1>;
/// The network with cross-entropy, Adam and buffers for a batch of [`BATCH`] pictures.
pub type CnnTrainer = Trainer<Net, CrossEntropy, Adam<PARAMS>, BATCH, PIXELS, CLASSES, Pictures>;

/// A trainer with an untrained network (all weights zero until [`train`] initialises
/// them). `const`, so the trainer can be a `static` and never travel through the stack.
pub const fn fresh() -> CnnTrainer {
    let model = seq![
        Conv2d::zeros(),
        BatchNorm::new(),
        Relu,
        MaxPool2d,
        Conv2d::zeros(),
        BatchNorm::new(),
        Relu,
        GlobalAvgPool,
        Dense::zeros()
    ];
    let config = AdamConfig::DEFAULT.with_lr(LEARNING_RATE);
    Trainer::new(
        model,
        CrossEntropy {
            label_smoothing: 0.0,
        },
        Adam::new(config),
        SEED,
    )
}

/// An integer hash (Chris Wellons' `lowbias32`): well mixed, and the same everywhere.
const fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Whether pixel `(y, x)` belongs to the shape of `class` at variant `v`.
fn on_shape(class: usize, v: usize, y: usize, x: usize) -> bool {
    match class {
        // A horizontal bar on one of rows 1..=6, a vertical bar on one of columns 1..=6.
        0 => y == 1 + v % 6,
        1 => x == 1 + v % 6,
        // A diagonal line, shifted by −2..=2 from the main diagonal.
        2 => x + 2 == y + v % 5,
        // A 3×3 blob with its corner at one of 6×6 positions.
        _ => {
            let (top, left) = (v % 6, (v / 6 + 2 * v) % 6);
            (top..top + 3).contains(&y) && (left..left + 3).contains(&x)
        }
    }
}

/// Fills `pictures` (channels-last, `PIXELS` values each) and `labels`: picture `s` is of
/// class `s mod CLASSES`, variant `first + s / CLASSES`; shape pixels are 1 minus noise,
/// the rest noise, the noise in `[0, 0.25)` from [`hash`].
pub fn make_pictures(first: usize, pictures: &mut [f32], labels: &mut [u32]) {
    for (s, (picture, label)) in pictures.chunks_exact_mut(PIXELS).zip(labels).enumerate() {
        let (class, v) = (s % CLASSES, first + s / CLASSES);
        *label = class as u32;
        for (p, value) in picture.iter_mut().enumerate() {
            let (y, x) = (p / SIDE, p % SIDE);
            let key = ((class * 256 + v) * PIXELS + p) as u32;
            // 22 random bits, exactly representable; times 2⁻²⁴: [0, 0.25).
            let noise = (hash(key ^ 0x9e37_79b9) >> 10) as f32 * (1.0 / 16_777_216.0);
            *value = if on_shape(class, v, y, x) {
                1.0 - noise
            } else {
                noise
            };
        }
    }
}

/// What training achieved.
pub struct Outcome {
    /// Loss of the initial weights on the training set.
    pub initial_loss: f32,
    /// Loss on the training set after the last epoch.
    pub final_loss: f32,
    /// Loss on the test set.
    pub test_loss: f32,
    /// Accuracy on the training set.
    pub train_accuracy: f32,
    /// Accuracy on the test set.
    pub test_accuracy: f32,
}

/// Initialises `trainer`'s network (fresh from [`fresh`]) and trains it; calls
/// `progress(epoch, loss)` every [`REPORT_EVERY`] epochs and after the last with that
/// epoch's mean training loss; writes the logits of the first test batch to `logits`.
pub fn train(
    trainer: &mut CnnTrainer,
    logits: &mut [[f32; CLASSES]; BATCH],
    mut progress: impl FnMut(usize, f32),
) -> Result<Outcome, Error> {
    let mut train_x = [0.0; SAMPLES * PIXELS];
    let mut train_y = [0; SAMPLES];
    let mut test_x = [0.0; SAMPLES * PIXELS];
    let mut test_y = [0; SAMPLES];
    make_pictures(0, &mut train_x, &mut train_y);
    make_pictures(SAMPLES / CLASSES, &mut test_x, &mut test_y);
    let train_set = Dataset::new(&train_x, PIXELS, &train_y, 1)?;
    let test_set = Dataset::new(&test_x, PIXELS, &test_y, 1)?;

    let mut rng = Pcg32::seed_from_u64(SEED);
    init_params(&mut trainer.model, Init::HeNormal, &mut rng);
    let initial_loss = trainer.evaluate(&train_set)?.loss;
    // Data augmentation, drawn from the epoch's generator: a shift by up to one pixel
    // in each direction, then faint noise. The firmware prints what the host prints,
    // so the augmented batches are the same bits on both.
    let augment = (CropPad::new(1, 1, 0.0)?, GaussianNoise::new((0.0, 0.02))?);
    for epoch in 0..EPOCHS {
        let risk = trainer.epoch_augmented(&train_set, &mut rng, 1, |x, _, rows, rng| {
            each_image(&augment, x, rows, rng)
        })?;
        if epoch % REPORT_EVERY == 0 || epoch + 1 == EPOCHS {
            progress(epoch, risk.data);
        }
    }
    let train_eval = trainer.evaluate(&train_set)?;
    let test_eval = trainer.evaluate(&test_set)?;

    let mut x = Pictures::zeros();
    x.as_mut_slice().copy_from_slice(&test_x[..BATCH * PIXELS]);
    *logits = trainer.predict(&x)?.0;
    Ok(Outcome {
        initial_loss,
        final_loss: train_eval.loss,
        test_loss: test_eval.loss,
        train_accuracy: train_eval.accuracy.unwrap_or(0.0),
        test_accuracy: test_eval.accuracy.unwrap_or(0.0),
    })
}

/// The class with the largest logit (the first of equals).
fn argmax(logits: &[f32; CLASSES]) -> usize {
    let mut best = 0;
    for (c, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = c;
        }
    }
    best
}

/// Trains `trainer` (fresh from [`fresh`]), reports each line through `say`, and says
/// whether the network learned: the training loss fell below half its first value and
/// at least 90 % of the test pictures are classified right.
pub fn run(machine: &str, trainer: &mut CnnTrainer, say: &mut impl FnMut(Arguments<'_>)) -> bool {
    say(format_args!(
        "microtrain on {machine}: CNN conv3x3(1-4)-BN-ReLU-maxpool-conv3x3(4-8)-BN-ReLU-GAP-dense(8-{CLASSES}), \
         {SIDE}x{SIDE} pictures, {CLASSES} classes, Adam lr {LEARNING_RATE}, batch {BATCH} of {SAMPLES}, \
         {EPOCHS} epochs, seed {SEED}"
    ));
    say(format_args!(
        "trainer RAM: {} bytes (parameters + gradients {}, activations and batch buffers {}, \
         optimizer state {}); {PARAMS} parameters",
        CnnTrainer::BYTES,
        CnnTrainer::PARAM_BYTES,
        CnnTrainer::ACTIVATION_BYTES,
        CnnTrainer::OPTIMIZER_BYTES
    ));
    let mut logits = [[0.0; CLASSES]; BATCH];
    let outcome = match train(trainer, &mut logits, |epoch, loss| {
        say(format_args!("epoch {epoch:3}  loss {loss:?}"))
    }) {
        Ok(outcome) => outcome,
        Err(error) => {
            say(format_args!("training failed: {error}"));
            return false;
        }
    };

    for (s, row) in logits.iter().take(SHOWN).enumerate() {
        say(format_args!(
            "  test picture {s}: logits {row:?} -> class {} (target {})",
            argmax(row),
            s % CLASSES
        ));
    }
    say(format_args!(
        "train loss {:?} -> {:?}, accuracy {:?}; test loss {:?}, accuracy {:?}",
        outcome.initial_loss,
        outcome.final_loss,
        outcome.train_accuracy,
        outcome.test_loss,
        outcome.test_accuracy
    ));
    let learned = outcome.final_loss < 0.5 * outcome.initial_loss && outcome.test_accuracy >= 0.9;
    say(format_args!(
        "{}",
        if learned {
            "PASS: the CNN learned the shapes"
        } else {
            "FAIL: the CNN did not learn the shapes"
        }
    ));
    learned
}
