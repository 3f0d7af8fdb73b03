//! The gesture task of `examples/gesture.rs`: a synthetic 3-axis accelerometer on a
//! wrist, six gestures, and the small 1-D CNN that tells them apart. `core` only (with
//! the crate's `libm`-backed math shim), so the generator and the training loop could
//! run on the device as they are; the host example adds the printing, timing and
//! confusion matrix.
//!
//! # The sensor
//!
//! A window is [`STEPS`] samples at [`RATE_HZ`] (1.28 s) of the specific force
//! `f = Rᵀ·(a + g)` in g on the device's three axes, where `a` is the hand's
//! acceleration in the user's frame (x right, y forward, z up), `g = (0, 0, 1)` is the
//! reaction to gravity that an accelerometer at rest reads, and `R` is the device's
//! orientation: roll and pitch up to ±40°, yaw up to ±25°, drifting by up to ±8° in roll
//! over the window (the arm moves). Then the sensor itself: a bias of σ = 0.03 g and a
//! gain error of σ = 2 % per axis, white noise of σ = 0.015 g, and the output of a
//! ±4 g, 12-bit part (steps of 1/512 g, clipped at ±4 g).
//!
//! # The gestures
//!
//! Each performance has its own amplitude, speed, start time and phase:
//!
//! | class | motion `a(t)` |
//! |---|---|
//! | idle | slow sway (0.2–1 Hz, ≤ 0.12 g) and tremor; one time in three a single bump (the arm knocks the desk) |
//! | shake | 2–5 cycles at 2.5–6 Hz along a line within ±30° of x, 0.4–1.5 g, Hann envelope |
//! | circle | 1–1.5 loops at 1.5–3 Hz in the x–y plane, either way round, ellipse ratio 0.4–1, 0.3–0.9 g |
//! | knock | two damped 12–18 Hz jolts along z, 0.12–0.35 s apart, 0.4–2 g (aliased at 50 Hz) |
//! | swipe left / right | one period of `∓sin` along x over 0.25–0.6 s (speed up, slow down), 0.3–1.2 g, with a small arc in z |
//!
//! The hard pairs are designed in: a double knock against an idle arm with one bump,
//! a slow or fat shake against an elliptical circle, a swipe against the first half of
//! a shake, and swipe left against swipe right under ±25° of yaw.
//!
//! Window `i` of a data set with seed `s` is a pure function of `(s, i)` (a `Pcg32`
//! seeded from both), so training, validation and test windows are fresh draws that
//! never repeat, and the same seed gives the same bits on every target.

use microtrain::augment::{
    each_image, ChannelDropout, Jitter, MagnitudeWarp, Maybe, MixSameClass, Scaling, TimeShift,
    TimeWarp,
};
use microtrain::init::{init_params, standard_normal, uniform, Init};
use microtrain::kernels::math::{cos, exp, round, sin};
use microtrain::layers::{BatchNorm, Conv1d, Dense, GlobalAvgPool, MaxPool1d, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::{Dataset, Decision, EarlyStopper, EarlyStopping, Trainer};
use microtrain::{seq, Error, Seq, Signal};
use rand_pcg::Pcg32;

/// Samples per second.
pub const RATE_HZ: f32 = 50.0;
/// Samples per window (1.28 s).
pub const STEPS: usize = 64;
/// Accelerometer axes.
pub const AXES: usize = 3;
/// Values per window, channels-last: `[ax, ay, az]` for each step.
pub const WINDOW: usize = STEPS * AXES;
/// The gestures, in label order.
pub const GESTURES: [&str; CLASSES] = [
    "idle",
    "shake",
    "circle",
    "knock",
    "swipe left",
    "swipe right",
];
/// Number of gestures.
pub const CLASSES: usize = 6;
/// Windows per step.
pub const BATCH: usize = 8;
/// Adam's step size.
pub const LEARNING_RATE: f32 = 0.005;
/// The most epochs a run may take.
pub const MAX_EPOCHS: usize = 150;
/// Epochs without a lower validation loss before training stops.
pub const PATIENCE: u32 = 20;

/// The network: three convolution blocks (5, 5 and 3 taps; a receptive field of 21
/// steps, 0.42 s), global average pooling (so a gesture is found wherever it falls in
/// the window), a linear classifier. Batch normalisation is worth its memory here:
/// without it the same network, at the same step size, ends about ten points lower.
pub type Net = Seq![
    Conv1d<AXES, 6, 5, 1, 2, STEPS>,
    BatchNorm<6>,
    Relu,
    MaxPool1d<2, 2, { STEPS / 2 }>,
    Conv1d<6, 12, 5, 1, 2, { STEPS / 2 }>,
    BatchNorm<12>,
    Relu,
    MaxPool1d<2, 2, { STEPS / 4 }>,
    Conv1d<12, 16, 3, 1, 1, { STEPS / 4 }>,
    BatchNorm<16>,
    Relu,
    GlobalAvgPool,
    Dense<16, CLASSES>
];
/// Trainable parameters.
pub const PARAMS: usize = <Net as Params>::COUNT;
/// Batch normalisation's running statistics.
pub const BUFFERS: usize = <Net as Params>::BUFFERS;
/// A batch of windows.
pub type Windows = Signal<BATCH, STEPS, AXES>;
/// The network with cross-entropy, Adam and buffers for a batch of [`BATCH`] windows.
pub type GestureTrainer = Trainer<Net, CrossEntropy, Adam<PARAMS>, BATCH, WINDOW, CLASSES, Windows>;

/// A trainer with an untrained network (weights zero until [`train`] initialises
/// them). `const`, so it can be a `static` on the device.
pub const fn fresh(seed: u64) -> GestureTrainer {
    let model = seq![
        Conv1d::zeros(),
        BatchNorm::new(),
        Relu,
        MaxPool1d,
        Conv1d::zeros(),
        BatchNorm::new(),
        Relu,
        MaxPool1d,
        Conv1d::zeros(),
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
        seed,
    )
}

const TAU: f32 = core::f32::consts::TAU;
const DEGREE: f32 = core::f32::consts::PI / 180.0;

/// A uniform draw in `[lo, hi)`.
fn between(rng: &mut Pcg32, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * uniform(rng)
}

/// `+1` or `−1`, evenly.
fn sign(rng: &mut Pcg32) -> f32 {
    if uniform(rng) < 0.5 {
        -1.0
    } else {
        1.0
    }
}

/// The Hann window on `[0, 1]`, zero outside: `(1 − cos 2πu)/2`.
fn hann(u: f32) -> f32 {
    if (0.0..=1.0).contains(&u) {
        0.5 - 0.5 * cos(TAU * u)
    } else {
        0.0
    }
}

/// A damped oscillation starting at `t = 0` (zero before): a knock's ring-down.
fn jolt(t: f32, amplitude: f32, freq: f32, decay: f32) -> f32 {
    if t < 0.0 {
        0.0
    } else {
        amplitude * exp(-t / decay) * sin(TAU * freq * t)
    }
}

/// One performance of a gesture: the hand's acceleration in the user's frame, in g.
enum Motion {
    Idle {
        sway: [(f32, f32, f32); 2],
        tremor: (f32, f32),
        bump: Option<(f32, f32, f32, f32)>,
    },
    Shake {
        start: f32,
        duration: f32,
        freq: f32,
        amplitude: f32,
        direction: (f32, f32),
        phase: f32,
    },
    Circle {
        start: f32,
        duration: f32,
        freq: f32,
        amplitude: f32,
        ratio: f32,
        turn: f32,
        phase: f32,
    },
    Knock {
        start: f32,
        gap: f32,
        amplitudes: (f32, f32),
        freq: f32,
        decay: f32,
    },
    Swipe {
        start: f32,
        duration: f32,
        amplitude: f32,
        side: f32,
        arc: f32,
    },
}

/// A start time that keeps most of a gesture of `duration` seconds in the window.
fn start_for(rng: &mut Pcg32, duration: f32) -> f32 {
    let length = STEPS as f32 / RATE_HZ;
    between(rng, -0.1 * duration, (length - 0.9 * duration).max(0.0))
}

impl Motion {
    /// Draws a performance of gesture `class` (see the table in the module docs).
    fn draw(class: usize, rng: &mut Pcg32) -> Motion {
        let length = STEPS as f32 / RATE_HZ;
        match class {
            0 => Motion::Idle {
                sway: core::array::from_fn(|_| {
                    (
                        between(rng, 0.2, 1.0),
                        between(rng, 0.02, 0.12),
                        between(rng, 0.0, TAU),
                    )
                }),
                tremor: (between(rng, 8.0, 12.0), between(rng, 0.003, 0.02)),
                bump: (uniform(rng) < 1.0 / 3.0).then(|| {
                    (
                        between(rng, 0.0, length - 0.1),
                        between(rng, 0.4, 2.0) * sign(rng),
                        between(rng, 12.0, 18.0),
                        between(rng, 0.02, 0.05),
                    )
                }),
            },
            1 => {
                let freq = between(rng, 2.5, 6.0);
                let duration = between(rng, 2.0, 5.0) / freq;
                let angle = between(rng, -30.0, 30.0) * DEGREE;
                Motion::Shake {
                    start: start_for(rng, duration),
                    duration,
                    freq,
                    amplitude: between(rng, 0.4, 1.5),
                    direction: (cos(angle), sin(angle)),
                    phase: between(rng, 0.0, TAU),
                }
            }
            2 => {
                let freq = between(rng, 1.5, 3.0);
                let duration = between(rng, 1.0, 1.5) / freq;
                Motion::Circle {
                    start: start_for(rng, duration),
                    duration,
                    freq,
                    amplitude: between(rng, 0.3, 0.9),
                    ratio: between(rng, 0.4, 1.0),
                    turn: sign(rng),
                    phase: between(rng, 0.0, TAU),
                }
            }
            3 => {
                let gap = between(rng, 0.12, 0.35);
                Motion::Knock {
                    start: start_for(rng, gap + 0.1),
                    gap,
                    amplitudes: (between(rng, 0.4, 2.0), between(rng, 0.4, 2.0)),
                    freq: between(rng, 12.0, 18.0),
                    decay: between(rng, 0.02, 0.05),
                }
            }
            _ => {
                let duration = between(rng, 0.25, 0.6);
                Motion::Swipe {
                    start: start_for(rng, duration),
                    duration,
                    amplitude: between(rng, 0.3, 1.2),
                    side: if class == 4 { -1.0 } else { 1.0 },
                    arc: between(rng, -0.3, 0.3),
                }
            }
        }
    }

    /// The acceleration at time `t` seconds into the window.
    fn at(&self, t: f32) -> [f32; 3] {
        match *self {
            Motion::Idle { sway, tremor, bump } => {
                let s0 = sway[0].1 * sin(TAU * sway[0].0 * t + sway[0].2);
                let s1 = sway[1].1 * sin(TAU * sway[1].0 * t + sway[1].2);
                let shiver = tremor.1 * sin(TAU * tremor.0 * t);
                let knock = bump.map_or(0.0, |(at, a, f, d)| jolt(t - at, a, f, d));
                [s0 + shiver, s1, 0.5 * (s0 - s1) + knock]
            }
            Motion::Shake {
                start,
                duration,
                freq,
                amplitude,
                direction,
                phase,
            } => {
                let u = (t - start) / duration;
                let v = amplitude * hann(u) * sin(TAU * freq * (t - start) + phase);
                [v * direction.0, v * direction.1, 0.0]
            }
            Motion::Circle {
                start,
                duration,
                freq,
                amplitude,
                ratio,
                turn,
                phase,
            } => {
                let e = amplitude * hann((t - start) / duration);
                let angle = TAU * freq * (t - start) + phase;
                [e * cos(angle), e * ratio * turn * sin(angle), 0.0]
            }
            Motion::Knock {
                start,
                gap,
                amplitudes,
                freq,
                decay,
            } => {
                let z = jolt(t - start, amplitudes.0, freq, decay)
                    + jolt(t - start - gap, amplitudes.1, freq, decay);
                [0.0, 0.0, -z]
            }
            Motion::Swipe {
                start,
                duration,
                amplitude,
                side,
                arc,
            } => {
                let u = (t - start) / duration;
                if (0.0..=1.0).contains(&u) {
                    let x = side * amplitude * sin(TAU * u);
                    [x, 0.0, arc * amplitude * sin(core::f32::consts::PI * u)]
                } else {
                    [0.0; 3]
                }
            }
        }
    }
}

/// The rotation `R = Rz(yaw)·Ry(pitch)·Rx(roll)` as a row-major matrix.
fn rotation(roll: f32, pitch: f32, yaw: f32) -> [[f32; 3]; 3] {
    let (sr, cr) = (sin(roll), cos(roll));
    let (sp, cp) = (sin(pitch), cos(pitch));
    let (sy, cy) = (sin(yaw), cos(yaw));
    [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
}

/// SplitMix64's output function: a well-mixed 64-bit hash, the same everywhere.
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Steps of the simulated 12-bit, ±4 g accelerometer: 1/512 g.
const COUNTS_PER_G: f32 = 512.0;
/// Its full scale, in g.
const FULL_SCALE: f32 = 4.0;

/// Window `index` of the data set `seed`: gesture `class` as the device measures it,
/// channels-last into `window` (`STEPS` rows of `[ax, ay, az]` in g).
pub fn window(seed: u64, index: u64, class: usize, window: &mut [f32]) {
    let mut rng = Pcg32::new(splitmix64(seed ^ splitmix64(index)), index);
    let motion = Motion::draw(class, &mut rng);
    let roll = between(&mut rng, -40.0, 40.0) * DEGREE;
    let pitch = between(&mut rng, -40.0, 40.0) * DEGREE;
    let yaw = between(&mut rng, -25.0, 25.0) * DEGREE;
    let drift = between(&mut rng, -8.0, 8.0) * DEGREE;
    let bias: [f32; 3] = core::array::from_fn(|_| 0.03 * standard_normal(&mut rng));
    let gain: [f32; 3] = core::array::from_fn(|_| 1.0 + 0.02 * standard_normal(&mut rng));
    for (step, out) in window.chunks_exact_mut(AXES).take(STEPS).enumerate() {
        let progress = step as f32 / (STEPS - 1) as f32;
        let r = rotation(roll + drift * progress, pitch, yaw);
        let a = motion.at(step as f32 / RATE_HZ);
        let force = [a[0], a[1], a[2] + 1.0];
        for (axis, value) in out.iter_mut().enumerate() {
            // The device axis `axis` is column `axis` of R: f = Rᵀ·(a + g).
            let ideal = r[0][axis] * force[0] + r[1][axis] * force[1] + r[2][axis] * force[2];
            let noisy = gain[axis] * ideal + bias[axis] + 0.015 * standard_normal(&mut rng);
            let clipped = noisy.clamp(-FULL_SCALE, FULL_SCALE - 1.0 / COUNTS_PER_G);
            *value = round(clipped * COUNTS_PER_G) / COUNTS_PER_G;
        }
    }
}

/// Fills `windows` (`WINDOW` values each) and `labels` with windows `first, first + 1,
/// …` of data set `seed`; window `i` shows gesture `i mod CLASSES`, so every class has
/// its share.
pub fn fill(seed: u64, first: u64, windows: &mut [f32], labels: &mut [u32]) {
    for (i, (w, label)) in windows.chunks_exact_mut(WINDOW).zip(labels).enumerate() {
        let index = first + i as u64;
        let class = (index % CLASSES as u64) as usize;
        *label = class as u32;
        window(seed, index, class, w);
    }
}

/// How a run ended.
pub struct Run {
    /// Epochs trained.
    pub epochs: usize,
    /// The epoch (from 0) whose weights were kept, and its validation loss.
    pub best: (u32, f32),
}

/// Initialises `trainer`'s network from `seed` and trains it on `train` with Adam,
/// with or without augmentation, until the validation loss has not improved for
/// [`PATIENCE`] epochs (or [`MAX_EPOCHS`]); restores the best epoch's weights and
/// batch-norm statistics. Calls `report(epoch, train_loss, val_loss, val_accuracy,
/// improved)` after each epoch.
pub fn train(
    trainer: &mut GestureTrainer,
    train: &Dataset<'_, u32>,
    validation: &Dataset<'_, u32>,
    seed: u64,
    augmented: bool,
    mut report: impl FnMut(usize, f32, f32, f32, bool),
) -> Result<Run, Error> {
    let mut rng = Pcg32::new(splitmix64(seed), 0);
    init_params(&mut trainer.model, Init::HeNormal, &mut rng);
    // The augmentations of Um et al. 2017, mildly: a smooth change of speed and of
    // gain, a per-axis gain, a shift in time, a little extra noise, now and then a
    // dead axis; first, pairs of windows of one gesture mixed.
    let pipeline = (
        Maybe::new(0.5, TimeWarp::<4>::new(0.2)?)?,
        MagnitudeWarp::<4>::new(0.1)?,
        Scaling::new(0.1)?,
        TimeShift::new(8, None)?,
        Jitter::new(0.01)?,
        Maybe::new(0.05, ChannelDropout::new(0.34)?)?,
    );
    let mix = MixSameClass::new(0.6, 1.0)?;
    // The stopper keeps the best epoch's parameters and batch-norm statistics.
    let mut stopper = EarlyStopper::<PARAMS, BUFFERS>::new(EarlyStopping::new().patience(PATIENCE));
    let mut epochs = 0;
    for epoch in 0..MAX_EPOCHS {
        let risk = if augmented {
            trainer.epoch_augmented(train, &mut rng, 1, |x, labels, rows, rng| {
                // A batch-level transform: `Maybe` does not take it, so the coin is here.
                if uniform(rng) < 0.5 {
                    mix.apply(x, labels, rows, rng);
                }
                each_image(&pipeline, x, rows, rng);
            })?
        } else {
            trainer.epoch(train, &mut rng)?
        };
        let val = trainer.evaluate(validation)?;
        let decision = stopper.update(val.loss, &mut trainer.model);
        epochs = epoch + 1;
        report(
            epoch,
            risk.data,
            val.loss,
            val.accuracy.unwrap_or(0.0),
            decision == Decision::Improved,
        );
        if decision.should_stop() {
            break;
        }
    }
    stopper.restore(&mut trainer.model)?;
    Ok(Run {
        epochs,
        best: stopper.best().unwrap_or((0, f32::NAN)),
    })
}
