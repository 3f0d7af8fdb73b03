//! The fine-tuning task that both the host example (`examples/finetune.rs`) and the
//! firmware (`examples/cortex-m`, binary `finetune`) run: one piece of code, so the two
//! print the same lines; `.ci/firmware.sh` checks that they do, bit for bit.
//!
//! A 64-32-10 ReLU network pretrained on the host on the UCI handwritten digits
//! (`examples/finetune_weights.rs` trains it and writes its weights, and the samples the
//! device sees, to `examples/cortex-m/src/finetune_pretrained.rs`) meets digits the
//! device sees differently: every pixel `p ∈ [0, 1]` reads `INK·p + GLOW`, half the
//! ink on a half-lit background (another sensor gain and offset: the pretrained network
//! gets 40 % of the shifted test digits right instead of 98 %). The device adapts it
//! with the frozen-layer idioms of `microtrain::layers::frozen`, never training the
//! first layer's 2048 weights:
//!
//! 1. **head**: the frozen first layer and its ReLU run once over the fine-tuning set
//!    as a feature extractor (`extract_features`, evaluation mode, into a caller-owned
//!    buffer); a trainer whose model is only the last layer, `Dense<32, 10>`, trains on
//!    those features. It keeps no activation of the first layer;
//! 2. **bias-only**: the whole network with both weight matrices frozen in flash and
//!    only the 42 biases trained (`BiasOnly`, TinyTL).
//!
//! Both use Adam (lr [`LEARNING_RATE`]) in mini-batches of [`BATCH`] for [`EPOCHS`]
//! epochs, sample order from `Pcg32` seeded with [`SEED`]. Accuracy is measured on
//! [`TEST`] shifted samples the fine-tuning never saw. Everything is `core`: the
//! pixels come from flash as integers, and the shift is exact in `f32`.

use core::fmt::Arguments;
use microtrain::layers::{extract_features, BiasOnly, Dense, FrozenDense, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Error, Seq};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Pixels per image (8×8).
pub const FEATURES: usize = 64;
/// The largest pixel value of the data (ink in a 4×4 block of the original bitmap).
pub const PIXEL_MAX: u8 = 16;
/// Hidden units: the features the frozen first layer hands the head.
pub const HIDDEN: usize = 32;
/// Digits 0 to 9.
pub const CLASSES: usize = 10;
/// Samples the device fine-tunes on (the first of the embedded samples).
pub const FINETUNE: usize = 250;
/// Samples the device measures accuracy on (the rest of the embedded samples).
pub const TEST: usize = 250;
/// Scratch values [`run`] needs: the pixels of the fine-tuning or the test set.
pub const SCRATCH: usize = FEATURES * if FINETUNE > TEST { FINETUNE } else { TEST };
/// Samples per step, on the device as in pretraining.
pub const BATCH: usize = 10;
/// Seed of the sample order.
pub const SEED: u64 = 5;
/// Passes over the fine-tuning set.
pub const EPOCHS: usize = 20;
/// Adam's step size for fine-tuning.
pub const LEARNING_RATE: f32 = 0.01;
/// The shifted domain's ink gain (a power of two: the multiplication is exact).
pub const INK: f32 = 0.5;
/// The shifted domain's background level, added to every pixel (exact too).
pub const GLOW: f32 = 0.5;

/// The pretrained network, as the host trains it.
pub type Net = Seq![Dense<FEATURES, HIDDEN>, Relu, Dense<HIDDEN, CLASSES>];
/// Full training of [`Net`] with Adam: what the device would need without freezing.
pub type FullTrainer =
    Trainer<Net, CrossEntropy, Adam<{ <Net as Params>::COUNT }>, BATCH, FEATURES, CLASSES>;
/// The trainable head alone, on the features of the frozen first layer.
pub type HeadTrainer = Trainer<
    Dense<HIDDEN, CLASSES>,
    CrossEntropy,
    Adam<{ HIDDEN * CLASSES + CLASSES }>,
    BATCH,
    HIDDEN,
    CLASSES,
>;
/// The network with frozen weights (borrowed from flash) and trainable biases.
pub type BiasNet = Seq![
    BiasOnly<'static, FEATURES, HIDDEN>,
    Relu,
    BiasOnly<'static, HIDDEN, CLASSES>
];
/// Bias-only fine-tuning of the whole network.
pub type BiasTrainer =
    Trainer<BiasNet, CrossEntropy, Adam<{ HIDDEN + CLASSES }>, BATCH, FEATURES, CLASSES>;
/// The frozen front of the network: the feature extractor.
pub type Body = (&'static FrozenDense<FEATURES, HIDDEN>, Relu);

/// What the device holds from the host: the pretrained layers and the samples it will
/// see (pixels as characters for [`pixel`], labels as ASCII digits), all in flash.
pub struct Pretrained {
    /// The first layer.
    pub body: &'static FrozenDense<FEATURES, HIDDEN>,
    /// The last layer.
    pub head: &'static FrozenDense<HIDDEN, CLASSES>,
    /// [`FINETUNE`] fine-tuning samples, then [`TEST`] test samples.
    pub images: &'static [[u8; FEATURES]],
    /// Their labels.
    pub labels: &'static [u8],
}

/// The head trainer, starting from the pretrained last layer; `const`, so it can be a
/// `static`.
pub const fn head_trainer(head: &FrozenDense<HIDDEN, CLASSES>) -> HeadTrainer {
    let optimizer = Adam::new(AdamConfig::DEFAULT.with_lr(LEARNING_RATE));
    Trainer::new(
        head.thaw(),
        CrossEntropy {
            label_smoothing: 0.0,
        },
        optimizer,
        SEED,
    )
}

/// The bias-only trainer over the pretrained network; `const`, so it can be a `static`.
pub const fn bias_trainer(pretrained: &Pretrained) -> BiasTrainer {
    let model = seq![
        pretrained.body.bias_tuned(),
        Relu,
        pretrained.head.bias_tuned()
    ];
    let optimizer = Adam::new(AdamConfig::DEFAULT.with_lr(LEARNING_RATE));
    Trainer::new(
        model,
        CrossEntropy {
            label_smoothing: 0.0,
        },
        optimizer,
        SEED,
    )
}

/// The pixel value `0..=16` that character `c` of `0123456789abcdefg` stands for (the
/// generated file's encoding of the images).
pub const fn pixel(c: u8) -> u8 {
    if c <= b'9' {
        c - b'0'
    } else {
        c - b'a' + 10
    }
}

/// Writes sample `image` as the device sees it: each pixel `value / 16 · INK + GLOW`
/// (exact in `f32`).
pub fn shifted(image: &[u8; FEATURES], out: &mut [f32]) {
    for (v, &px) in out.iter_mut().zip(image) {
        *v = f32::from(pixel(px)) / f32::from(PIXEL_MAX) * INK + GLOW;
    }
}

/// Writes sample `image` as the host saw it in pretraining: `value / 16`.
pub fn plain(image: &[u8; FEATURES], out: &mut [f32]) {
    for (v, &px) in out.iter_mut().zip(image) {
        *v = f32::from(pixel(px)) / f32::from(PIXEL_MAX);
    }
}

/// The RAM each way of adapting the network takes in a trainer (`Trainer::BYTES`), and
/// the features buffer the head needs besides, one line.
pub fn ram_line() -> ([usize; 3], usize) {
    (
        [FullTrainer::BYTES, BiasTrainer::BYTES, HeadTrainer::BYTES],
        FINETUNE * HIDDEN * 4,
    )
}

/// Applies the frozen body to `images` (each through `view`) into `features`, a batch
/// at a time, converting pixels from flash into a small stack buffer.
fn features_of(
    body: &Body,
    images: &[[u8; FEATURES]],
    view: fn(&[u8; FEATURES], &mut [f32]),
    features: &mut [f32],
) -> Result<(), Error> {
    let mut x = Batch::<BATCH, FEATURES>::zeros();
    let mut cache = microtrain::layers::Zeroed::ZERO;
    let mut pixels = [0.0; BATCH * FEATURES];
    for (chunk, out) in images
        .chunks(BATCH)
        .zip(features.chunks_mut(BATCH * HIDDEN))
    {
        for (image, dst) in chunk.iter().zip(pixels.chunks_exact_mut(FEATURES)) {
            view(image, dst);
        }
        let n = chunk.len() * FEATURES;
        extract_features(body, &pixels[..n], out, &mut x, &mut cache)?;
    }
    Ok(())
}

/// Pixels of `images` through `view`, one after another, into `out`.
fn pixels_of(images: &[[u8; FEATURES]], view: fn(&[u8; FEATURES], &mut [f32]), out: &mut [f32]) {
    for (image, dst) in images.iter().zip(out.chunks_exact_mut(FEATURES)) {
        view(image, dst);
    }
}

/// FNV-1a over the bits of `values`: a fingerprint of trained parameters, equal on
/// host and device only if every bit is.
fn fingerprint(values: &[f32]) -> u32 {
    values.iter().fold(0x811c_9dc5, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
    })
}

/// Accuracy in percent, exactly as printed.
fn percent(accuracy: Option<f32>) -> f32 {
    accuracy.unwrap_or(0.0) * 100.0
}

/// Runs the task: reports through `say`, returns whether both ways of fine-tuning beat
/// the pretrained network on the shifted test set. `head` and `bias` are fresh from
/// [`head_trainer`] and [`bias_trainer`]; `scratch` holds the pixels of the fine-tuning
/// set, then of the test set, for the bias-only run ([`SCRATCH`] values).
pub fn run(
    machine: &str,
    pretrained: &Pretrained,
    head: &mut HeadTrainer,
    bias: &mut BiasTrainer,
    scratch: &mut [f32; SCRATCH],
    say: &mut dyn FnMut(Arguments<'_>),
) -> bool {
    let ([full, bias_bytes, head_bytes], features) = ram_line();
    say(format_args!(
        "fine-tuning a pretrained 64-32-10 network on {machine}"
    ));
    say(format_args!(
        "RAM (Trainer::BYTES): full training {full} B, bias-only {bias_bytes} B, \
         last layer {head_bytes} B + features {features} B"
    ));
    match finetune(pretrained, head, bias, scratch, say) {
        Ok(better) => better,
        Err(e) => {
            say(format_args!("error: {e}"));
            false
        }
    }
}

fn finetune(
    pretrained: &Pretrained,
    head: &mut HeadTrainer,
    bias: &mut BiasTrainer,
    scratch: &mut [f32; SCRATCH],
    say: &mut dyn FnMut(Arguments<'_>),
) -> Result<bool, Error> {
    let (tune_images, test_images) = pretrained.images.split_at(FINETUNE);
    let (tune_labels, test_labels) = pretrained.labels.split_at(FINETUNE);
    let mut tune_y = [0u32; FINETUNE];
    let mut test_y = [0u32; TEST];
    for (y, &l) in tune_y
        .iter_mut()
        .zip(tune_labels)
        .chain(test_y.iter_mut().zip(test_labels))
    {
        *y = u32::from(l - b'0');
    }
    let body: Body = (pretrained.body, Relu);
    let mut tune_f = [0.0; FINETUNE * HIDDEN];
    let mut test_f = [0.0; TEST * HIDDEN];

    // The pretrained network, on the test samples as pretraining saw them, then shifted.
    features_of(&body, test_images, plain, &mut test_f)?;
    let clean = head.evaluate(&Dataset::new(&test_f, HIDDEN, &test_y, 1)?)?;
    features_of(&body, test_images, shifted, &mut test_f)?;
    let test_set = Dataset::new(&test_f, HIDDEN, &test_y, 1)?;
    let before = head.evaluate(&test_set)?;
    say(format_args!(
        "pretrained: test accuracy {:.1} % as pretrained, {:.1} % shifted (loss {:.4})",
        percent(clean.accuracy),
        percent(before.accuracy),
        before.loss
    ));

    // 1. The last layer, on features the frozen first layer computes once.
    features_of(&body, tune_images, shifted, &mut tune_f)?;
    let tune_set = Dataset::new(&tune_f, HIDDEN, &tune_y, 1)?;
    let mut rng = Pcg32::seed_from_u64(SEED);
    for epoch in 0..EPOCHS {
        let risk = head.epoch(&tune_set, &mut rng)?;
        if epoch % 5 == 0 || epoch + 1 == EPOCHS {
            say(format_args!(
                "last layer: epoch {epoch:2} loss {:.6}",
                risk.data
            ));
        }
    }
    let tuned = head.evaluate(&test_set)?;
    say(format_args!(
        "last layer: test accuracy {:.1} % (loss {:.4}), parameters' FNV-1a {:#010x}",
        percent(tuned.accuracy),
        tuned.loss,
        fingerprint(head.model.weight.as_slice()) ^ fingerprint(&head.model.bias.0)
    ));

    // 2. The biases of both layers, weights frozen in flash.
    let pixels = &mut scratch[..FINETUNE * FEATURES];
    pixels_of(tune_images, shifted, pixels);
    let tune_raw = Dataset::new(pixels, FEATURES, &tune_y, 1)?;
    let mut rng = Pcg32::seed_from_u64(SEED);
    for epoch in 0..EPOCHS {
        let risk = bias.epoch(&tune_raw, &mut rng)?;
        if epoch % 5 == 0 || epoch + 1 == EPOCHS {
            say(format_args!(
                "bias-only: epoch {epoch:2} loss {:.6}",
                risk.data
            ));
        }
    }
    let pixels = &mut scratch[..TEST * FEATURES];
    pixels_of(test_images, shifted, pixels);
    let biased = bias.evaluate(&Dataset::new(pixels, FEATURES, &test_y, 1)?)?;
    say(format_args!(
        "bias-only: test accuracy {:.1} % (loss {:.4}), biases' FNV-1a {:#010x}",
        percent(biased.accuracy),
        biased.loss,
        fingerprint(&bias.model.0.bias.0) ^ fingerprint(&bias.model.1 .1.bias.0)
    ));
    let gained = |e: microtrain::train::Evaluation| {
        e.accuracy.unwrap_or(0.0) > before.accuracy.unwrap_or(1.0)
    };
    Ok(gained(tuned) && gained(biased))
}
