//! The digits recipe that the demo (`examples/digits.rs`) and the PyTorch comparison
//! (`examples/digits_parity.rs`, `reference/parity_digits.py`) share: the data
//! preparation, the two networks and the training loop, written once.
//!
//! The recipe, step for step what `reference/parity_digits.py` does in PyTorch:
//!
//! - **split**: 200 test and 200 validation samples drawn with seed [`SPLIT_SEED`], the
//!   other 1397 train; the test set is judged once, at the end;
//! - **standardisation per channel**: one mean and one standard deviation over every
//!   pixel of the training images (scikit-learn `StandardScaler` on the pooled pixels;
//!   torchvision `Normalize(mean, std)`). Per channel rather than per pixel, because
//!   the augmentation moves digits by a pixel: a border pixel that is always 0 in the
//!   training set would have a standard deviation near 0, and a shifted digit would put
//!   huge values there;
//! - **augmentation before standardisation**: the pixel transforms work on `[0, 1]`
//!   pictures (they clamp into it), so each training batch is augmented in `[0, 1]`
//!   (a shift by up to [`SHIFT`] pixel each way with zero fill, then Gaussian noise of
//!   σ = [`NOISE`], clamped to `[0, 1]`) and then standardised; the stored validation
//!   and test sets are standardised once and never augmented;
//! - **He initialisation** (`kaiming_normal_`, fan-in) of every weight, biases 0,
//!   batch-norm scales 1;
//! - **Adam** (lr [`LEARNING_RATE`], β = (0.9, 0.999), ε = 10⁻⁸) in mini-batches of
//!   [`BATCH`] (the last, partial batch kept), **reduce-on-plateau** of the validation
//!   loss ([`PLATEAU`]: halve after 3 epochs without improvement);
//! - **dropout** ([`DROPOUT`]) before the last layer, **batch normalisation** after every
//!   hidden layer;
//! - **early stopping** on the validation loss ([`PATIENCE`] epochs without a lower one,
//!   at most [`MAX_EPOCHS`]), then the best epoch's model is restored, batch-norm
//!   running statistics included.

use crate::digits_data::{gather, parse, split_indices, Samples, CLASSES, CSV, FEATURES, SIDE};
use microtrain::augment::{Augment, CropPad, GaussianNoise, Picture};
use microtrain::init::{init_params, Init};
use microtrain::layers::{
    BatchNorm, Conv2d, Dense, Dropout, Flatten, Layer, MaxPool2d, Params, Relu,
};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig, Optimizer};
use microtrain::schedule::{PlateauConfig, ReduceOnPlateau};
use microtrain::train::{Decision, EarlyStopper, EarlyStopping, Evaluation, Standardize, Trainer};
use microtrain::{seq, Batch, Image, Seq, Tensor};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Seed of the train / validation / test split (the same for every training seed).
pub const SPLIT_SEED: u64 = 7;
/// Samples held out to choose the epoch and drive the schedule.
pub const VALIDATION: usize = 200;
/// Samples held out, untouched until the end, to measure the final model.
pub const TEST: usize = 200;
/// Mini-batch size (a compile-time constant: the trainer's buffers are sized by it).
pub const BATCH: usize = 32;
/// At most this many passes over the training set.
pub const MAX_EPOCHS: usize = 60;
/// Adam's initial step size.
pub const LEARNING_RATE: f32 = 0.003;
/// Reduce-on-plateau of the validation loss: halve the rate after 3 bad epochs.
pub const PLATEAU: PlateauConfig = PlateauConfig {
    factor: 0.5,
    patience: 3,
    ..PlateauConfig::new()
};
/// Early stopping: epochs without a lower validation loss before training stops.
pub const PATIENCE: u32 = 10;
/// Dropout probability before the last layer.
pub const DROPOUT: f32 = 0.2;
/// Augmentation: shift by up to this many pixels each way, zero fill.
pub const SHIFT: u16 = 1;
/// Augmentation: standard deviation of the added Gaussian noise (pixels in `[0, 1]`).
pub const NOISE: f32 = 0.05;
/// Hidden units of the MLP.
pub const HIDDEN: usize = 128;

/// `64 → 128 → BatchNorm → ReLU → Dropout → 10`.
pub type Mlp =
    Seq![Dense<FEATURES, HIDDEN>, BatchNorm<HIDDEN>, Relu, Dropout, Dense<HIDDEN, CLASSES>];
/// `conv 3×3 (1→16) → BN → ReLU → max pool 2 → conv 3×3 (16→32) → BN → ReLU → max pool 2
/// → flatten (2·2·32) → Dropout → 10`.
pub type Cnn = Seq![
    Conv2d<1, 16, 3, 1, 1, SIDE, SIDE>,
    BatchNorm<16>,
    Relu,
    MaxPool2d<2, 2, 4, 4>,
    Conv2d<16, 32, 3, 1, 1, 4, 4>,
    BatchNorm<32>,
    Relu,
    MaxPool2d<2, 2, 2, 2>,
    Flatten<128>,
    Dropout,
    Dense<128, CLASSES>
];
/// A batch of pictures for the CNN, channels-last.
pub type Pictures = Image<BATCH, SIDE, SIDE, 1>;
/// The MLP with cross-entropy, Adam and buffers for batches of [`BATCH`].
pub type MlpTrainer =
    Trainer<Mlp, CrossEntropy, Adam<{ <Mlp as Params>::COUNT }>, BATCH, FEATURES, CLASSES>;
/// The CNN with cross-entropy, Adam and buffers for batches of [`BATCH`] pictures.
pub type CnnTrainer = Trainer<
    Cnn,
    CrossEntropy,
    Adam<{ <Cnn as Params>::COUNT }>,
    BATCH,
    FEATURES,
    CLASSES,
    Pictures,
>;

fn adam<const P: usize>() -> Adam<P> {
    Adam::new(AdamConfig {
        lr: LEARNING_RATE,
        ..AdamConfig::default()
    })
}

/// A trainer for the MLP with He-initialised weights drawn from `rng`; dropout draws
/// The early stopping of the recipe: [`PATIENCE`] epochs without a lower validation loss.
pub const STOPPING: EarlyStopping = EarlyStopping::new().patience(PATIENCE);
/// The MLP's early-stopping state (its parameters and batch-norm statistics).
pub type MlpStopper = EarlyStopper<{ <Mlp as Params>::COUNT }, { <Mlp as Params>::BUFFERS }>;
/// The CNN's early-stopping state.
pub type CnnStopper = EarlyStopper<{ <Cnn as Params>::COUNT }, { <Cnn as Params>::BUFFERS }>;

/// from `seed`. On the heap, like every large trainer on the host.
pub fn mlp(seed: u64, rng: &mut Pcg32) -> Box<MlpTrainer> {
    let model = seq![
        Dense::zeros(),
        BatchNorm::new(),
        Relu,
        Dropout::new(DROPOUT),
        Dense::zeros()
    ];
    let mut t = Box::new(Trainer::new(model, CrossEntropy::default(), adam(), seed));
    init_params(&mut t.model, Init::HeNormal, rng);
    t
}

/// A trainer for the CNN with He-initialised weights drawn from `rng`; dropout draws
/// from `seed`.
pub fn cnn(seed: u64, rng: &mut Pcg32) -> Box<CnnTrainer> {
    let model = seq![
        Conv2d::zeros(),
        BatchNorm::new(),
        Relu,
        MaxPool2d,
        Conv2d::zeros(),
        BatchNorm::new(),
        Relu,
        MaxPool2d,
        Flatten,
        Dropout::new(DROPOUT),
        Dense::zeros()
    ];
    let mut t = Box::new(Trainer::new(model, CrossEntropy::default(), adam(), seed));
    init_params(&mut t.model, Init::HeNormal, rng);
    t
}

/// The data, split and scaled.
pub struct Prepared {
    /// Every sample, pixels in `[0, 1]`.
    pub all: Samples,
    /// The split: indices into `all` of the train, validation and test samples.
    pub indices: [Vec<usize>; 3],
    /// Training samples in `[0, 1]`: what the augmentation starts from.
    pub train_raw: Samples,
    /// Training samples standardised (to measure the training loss without dropout).
    pub train: Samples,
    /// Validation samples, standardised.
    pub validation: Samples,
    /// Test samples, standardised.
    pub test: Samples,
    /// Test samples in `[0, 1]` (to draw them).
    pub test_raw: Samples,
    /// The standardisation fitted on the training pixels.
    pub scaler: Standardize<1>,
}

impl Prepared {
    /// Parses the compiled-in CSV, splits with [`SPLIT_SEED`], fits the standardisation
    /// on the training pixels and applies it to copies of every part.
    pub fn load() -> Result<Self, Box<dyn std::error::Error>> {
        let all = parse(CSV)?;
        let indices = split_indices(
            all.len(),
            VALIDATION,
            TEST,
            &mut Pcg32::seed_from_u64(SPLIT_SEED),
        );
        let train_raw = gather(&all, &indices[0]);
        let scaler = Standardize::<1>::fit(&train_raw.dataset()?)?;
        let scaled = |indices: &[usize]| -> Result<Samples, microtrain::Error> {
            let mut part = gather(&all, indices);
            scaler.apply(&mut part.pixels)?;
            Ok(part)
        };
        Ok(Prepared {
            train: scaled(&indices[0])?,
            validation: scaled(&indices[1])?,
            test: scaled(&indices[2])?,
            test_raw: gather(&all, &indices[2]),
            train_raw,
            indices,
            scaler,
            all,
        })
    }
}

/// The augmentation pipeline on `[0, 1]` pictures.
pub fn augmentation() -> Result<(CropPad, GaussianNoise), microtrain::Error> {
    Ok((
        CropPad::new(SHIFT, SHIFT, 0.0)?,
        GaussianNoise::new((NOISE, NOISE))?,
    ))
}

/// Augments the first `rows` samples of a batch (pixels in `[0, 1]`, 64 each), then
/// standardises them.
fn augment_rows(
    values: &mut [f32],
    rows: usize,
    pipeline: &(CropPad, GaussianNoise),
    scaler: &Standardize<1>,
    rng: &mut Pcg32,
) {
    for sample in values.chunks_exact_mut(FEATURES).take(rows) {
        let mut picture: Picture<f32, SIDE, SIDE, 1> = [[[0.0]; SIDE]; SIDE];
        for (p, v) in picture.as_flattened_mut().iter_mut().zip(sample.iter()) {
            p[0] = *v;
        }
        pipeline.apply(&mut picture, rng);
        for (v, p) in sample.iter_mut().zip(picture.as_flattened()) {
            *v = p[0];
        }
        // Lengths are whole samples: the scaler cannot refuse them.
        let _ = scaler.apply(sample);
    }
}

/// What one epoch measured.
#[derive(Clone, Copy, Debug)]
pub struct Epoch {
    /// The learning rate it trained with.
    pub lr: f32,
    /// Mean loss over its mini-batches (augmented, dropout on).
    pub running_loss: f32,
    /// Loss and accuracy on the training set after the epoch (not augmented, dropout off).
    pub train: Evaluation,
    /// Loss and accuracy on the validation set after the epoch.
    pub validation: Evaluation,
    /// What early stopping decided.
    pub decision: Decision,
}

/// The outcome of [`fit`].
pub struct Fit {
    /// Every epoch trained.
    pub epochs: Vec<Epoch>,
    /// The epoch (counting from 1) whose model was kept.
    pub best_epoch: usize,
    /// The kept model on the test set.
    pub test: Evaluation,
}

/// What [`fit`] tells as it goes (the demo draws progress bars; the comparison runs
/// quietly with `()`).
pub trait Watch {
    /// Epoch `epoch` (from 1) starts.
    fn start(&mut self, _epoch: usize) {}
    /// A batch has been loaded and augmented.
    fn batch(&mut self) {}
    /// Epoch `epoch` has been trained and measured.
    fn end(&mut self, _epoch: usize, _record: &Epoch) {}
}

impl Watch for () {}

/// Trains `trainer` with the recipe on `data`, drawing the batch order and the
/// augmentation from `rng`, telling `watch` as it goes; restores the best epoch's
/// model and judges it on the test set.
pub fn fit<M, X, const P: usize, const NB: usize>(
    trainer: &mut Trainer<M, CrossEntropy, Adam<P>, BATCH, FEATURES, CLASSES, X>,
    stopper: &mut EarlyStopper<P, NB>,
    data: &Prepared,
    rng: &mut Pcg32,
    watch: &mut impl Watch,
) -> Result<Fit, microtrain::Error>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<BATCH, CLASSES>> + Copy,
{
    let train_raw = data.train_raw.dataset()?;
    let train = data.train.dataset()?;
    let validation = data.validation.dataset()?;
    let pipeline = augmentation()?;
    let mut plateau = ReduceOnPlateau::new(PLATEAU, trainer.optimizer.learning_rate());
    // The stopper decides and keeps the best epoch's parameters and batch-norm
    // statistics.
    stopper.reset();
    let mut epochs = Vec::new();
    for epoch in 1..=MAX_EPOCHS {
        let lr = trainer.optimizer.learning_rate();
        watch.start(epoch);
        let risk = trainer.epoch_augmented(&train_raw, rng, 1, |x, _, rows, rng| {
            augment_rows(x.as_mut_slice(), rows, &pipeline, &data.scaler, rng);
            watch.batch();
        })?;
        let validation = trainer.evaluate(&validation)?;
        let record = Epoch {
            lr,
            running_loss: risk.data,
            train: trainer.evaluate(&train)?,
            validation,
            decision: stopper.update(validation.loss, &mut trainer.model),
        };
        watch.end(epoch, &record);
        epochs.push(record);
        if record.decision.should_stop() {
            break;
        }
        plateau.step_optimizer(record.validation.loss, &mut trainer.optimizer);
    }
    stopper.restore(&mut trainer.model)?;
    let best_epoch = stopper.best().map_or(0, |(epoch, _)| epoch as usize + 1);
    let test = trainer.evaluate(&data.test.dataset()?)?;
    Ok(Fit {
        epochs,
        best_epoch,
        test,
    })
}

/// Batches per epoch (the last one partial).
pub fn batches_per_epoch(data: &Prepared) -> usize {
    data.train.len().div_ceil(BATCH)
}

/// The model's predicted class for each sample (the last batch padded with zeros).
///
/// # Errors
///
/// [`Error::NonFinite`](microtrain::Error::NonFinite) for a NaN or infinite pixel.
pub fn predictions<M, X, const P: usize>(
    trainer: &mut Trainer<M, CrossEntropy, Adam<P>, BATCH, FEATURES, CLASSES, X>,
    samples: &Samples,
) -> Result<Vec<(usize, [f32; CLASSES])>, microtrain::Error>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<BATCH, CLASSES>>,
{
    let mut out = Vec::with_capacity(samples.len());
    let mut x = X::ZERO;
    for start in (0..samples.len()).step_by(BATCH) {
        let rows = BATCH.min(samples.len() - start);
        let values = x.as_mut_slice();
        values.fill(0.0);
        values[..rows * FEATURES]
            .copy_from_slice(&samples.pixels[start * FEATURES..(start + rows) * FEATURES]);
        for logits in &trainer.predict(&x)?.0[..rows] {
            let class = microtrain::kernels::argmax(logits).unwrap_or(0);
            out.push((class, *logits));
        }
    }
    Ok(out)
}

/// The first `BATCH` standardised training samples as one batch, for the overfitting
/// check.
pub fn first_batch<X: Tensor + Copy>(data: &Prepared) -> Result<(X, [u32; BATCH]), String> {
    if data.train.len() < BATCH {
        return Err(format!("fewer than {BATCH} training samples"));
    }
    let mut x = X::ZERO;
    x.as_mut_slice()
        .copy_from_slice(&data.train.pixels[..BATCH * FEATURES]);
    let mut y = [0; BATCH];
    y.copy_from_slice(&data.train.labels[..BATCH]);
    Ok((x, y))
}
