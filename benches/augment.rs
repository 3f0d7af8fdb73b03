//! The cost of each augmentation of `microtrain::augment` on one sample: every image
//! transform on a 28 × 28 × 1 picture, with `f32` and with `u8` pixels, and every signal
//! transform on a 1 × 128 × 3 window.
//!
//! | group                     | sample                                         |
//! |---------------------------|------------------------------------------------|
//! | `augment_f32_28x28/NAME`  | `Picture<f32, 28, 28, 1>`                      |
//! | `augment_u8_28x28/NAME`   | `Picture<u8, 28, 28, 1>`                       |
//! | `augment_signal_1x128x3/NAME` | `Picture<f32, 1, 128, 3>`                  |
//!
//! Each iteration is one [`Augment::apply`]: the random draws and the transform, from a
//! `Pcg32` seeded once per benchmark; every iteration starts from a fresh copy of the
//! sample (criterion's `iter_batched_ref`, the copy not timed). The picture is UCI digit
//! 32 (`examples/common/digits_data.rs`) upscaled bilinearly from 8 × 8 by
//! [`crop_resize`]; the window is a smooth synthetic accelerometer signal. The settings
//! are ordinary training ranges (the cost hardly depends on them, except through the
//! const parameters: blur taps, grid and cell counts), listed in [`image_transforms`].
//! `MixSameClass` works on a batch: `augment_signal_1x128x3/MixSameClass_batch32` mixes
//! a batch of 32 windows of 4 classes (divide by 32 for the cost per window).
//!
//! ```text
//! cargo bench --bench augment
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/native-target \
//!     cargo bench --bench augment
//! cargo bench --bench augment -- Rotate       # only the benchmarks whose name matches
//! ```
//!
//! Each benchmark warms up for 0.3 s and measures 20 samples in about 1 s, so the whole
//! run takes one to two minutes; criterion's `--measurement-time` and
//! `--sample-size` arguments override that.

#[allow(dead_code)]
#[path = "../examples/common/digits_data.rs"]
mod digits_data;

use core::hint::black_box;
use core::time::Duration;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion};
use microtrain::augment::{
    crop_resize, Augment, Brighten, ChannelDropout, Clouds, CoarsePepper, CoarseSalt, CropPad,
    CropResize, Cutout, Elastic, Emboss, FlipHorizontal, FlipVertical, Fog, GammaContrast,
    GaussianBlur, GaussianNoise, Invert, Jitter, MagnitudeWarp, MixSameClass, Perspective, Picture,
    Pixel, Rotate, Scaling, Sharpen, Shear, Snow, Superpixels, TimeShift, TimeWarp, Translate,
};
use microtrain::Signal;
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Side of the benchmarked pictures (MNIST's).
const SIDE: usize = 28;
/// Steps of the benchmarked window.
const STEPS: usize = 128;
/// The digits-data sample used as the picture.
const DIGIT: usize = 32;
/// Every benchmark's generator seed.
const SEED: u64 = 7;

type Tile<P> = Picture<P, SIDE, SIDE, 1>;
type Window = Picture<f32, 1, STEPS, 3>;

/// Times `transform.apply` on fresh copies of `sample` as benchmark `name` of `group`.
fn one<S: Copy, A: Augment<S>>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    transform: A,
    sample: &S,
) {
    let mut rng = Pcg32::seed_from_u64(SEED);
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || *sample,
            |s| transform.apply(black_box(s), &mut rng),
            BatchSize::SmallInput,
        )
    });
}

/// Every image transform, with ordinary training settings, on `picture`.
fn image_transforms<P: Pixel>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    picture: &Tile<P>,
) -> Result<(), microtrain::Error> {
    one(group, "FlipHorizontal", FlipHorizontal, picture);
    one(group, "FlipVertical", FlipVertical, picture);
    one(group, "Rotate", Rotate::new((-15.0, 15.0), 0.0)?, picture);
    let shear = Shear::new((-15.0, 15.0), (-15.0, 15.0), 0.0)?;
    one(group, "Shear", shear, picture);
    let translate = Translate::new((-0.1, 0.1), (-0.1, 0.1), 0.0)?;
    one(group, "Translate", translate, picture);
    let crop = CropResize::new((0.6, 1.0), (0.75, 1.333))?;
    one(group, "CropResize", crop, picture);
    one(group, "CropPad", CropPad::new(4, 4, 0.0)?, picture);
    one(group, "Perspective", Perspective::new(0.3, 0.0)?, picture);
    one(
        group,
        "Elastic_4x4",
        Elastic::<4>::new((0.0, 2.0), 0.0)?,
        picture,
    );
    one(group, "Brighten", Brighten::new((-0.2, 0.2))?, picture);
    one(
        group,
        "GammaContrast",
        GammaContrast::new((0.7, 1.5))?,
        picture,
    );
    one(group, "Invert", Invert, picture);
    let sharpen = Sharpen::new((0.0, 0.5), (0.8, 1.2))?;
    one(group, "Sharpen", sharpen, picture);
    one(
        group,
        "Emboss",
        Emboss::new((0.0, 0.5), (0.5, 1.0))?,
        picture,
    );
    one(
        group,
        "GaussianNoise",
        GaussianNoise::new((0.0, 0.05))?,
        picture,
    );
    let blur = GaussianBlur::<2>::new((0.1, 1.0))?;
    one(group, "GaussianBlur_5taps", blur, picture);
    let salt = CoarseSalt::new((0.0, 0.05), (0.1, 0.3))?;
    one(group, "CoarseSalt", salt, picture);
    let pepper = CoarsePepper::new((0.0, 0.05), (0.1, 0.3))?;
    one(group, "CoarsePepper", pepper, picture);
    let cutout = Cutout::<1>::new((0.2, 0.4), (0.2, 0.4), 0.0)?;
    one(group, "Cutout_1", cutout, picture);
    let fog = Fog::<4>::new((0.2, 0.6), (0.8, 1.0))?;
    one(group, "Fog_4x4", fog, picture);
    let clouds = Clouds::<4>::new((0.3, 0.8), (0.8, 1.0), (0.3, 0.7))?;
    one(group, "Clouds_4x4", clouds, picture);
    let snow = Snow::new((0.0, 0.03), (0.8, 1.0), (0.0, 0.1))?;
    one(group, "Snow", snow, picture);
    let superpixels = Superpixels::<16>::new((0.3, 0.7))?;
    one(group, "Superpixels_16", superpixels, picture);
    Ok(())
}

/// Every signal transform on `window`; `MixSameClass` on a batch of 32 such windows.
fn signal_transforms(
    group: &mut BenchmarkGroup<'_, WallTime>,
    window: &Window,
) -> Result<(), microtrain::Error> {
    one(group, "Jitter", Jitter::new(0.03)?, window);
    one(group, "Scaling", Scaling::new(0.1)?, window);
    one(group, "TimeShift", TimeShift::new(16, None)?, window);
    one(
        group,
        "MagnitudeWarp_6",
        MagnitudeWarp::<6>::new(0.2)?,
        window,
    );
    one(group, "TimeWarp_6", TimeWarp::<6>::new(0.2)?, window);
    one(group, "ChannelDropout", ChannelDropout::new(0.1)?, window);

    let mix = MixSameClass::new(0.3, 0.7)?;
    let mut batch = Signal::<32, STEPS, 3>::zeros();
    for (k, w) in batch.0.iter_mut().enumerate() {
        *w = *window;
        w[0].rotate_left(k);
    }
    let labels: [u32; 32] = core::array::from_fn(|k| k as u32 % 4);
    let mut rng = Pcg32::seed_from_u64(SEED);
    group.bench_function("MixSameClass_batch32", |b| {
        b.iter_batched_ref(
            || batch,
            |s| mix.apply(black_box(s), &labels, 32, &mut rng),
            BatchSize::LargeInput,
        )
    });
    Ok(())
}

/// The digit upscaled to `SIDE × SIDE` by bilinear interpolation, as `P` pixels.
fn digit<P: Pixel>() -> Result<Tile<P>, Box<dyn std::error::Error>> {
    let all = digits_data::parse(digits_data::CSV)?;
    let mut tile = [[[P::from_f32(0.0)]; SIDE]; SIDE];
    for (i, &v) in all.image(DIGIT).iter().enumerate() {
        tile[i / digits_data::SIDE][i % digits_data::SIDE] = [P::from_f32(v * P::MAX)];
    }
    let side = digits_data::SIDE;
    crop_resize(&mut tile, 0, 0, side, side)?;
    Ok(tile)
}

/// A smooth three-axis window: sines around 0, 0 and 1 g.
fn window() -> Window {
    let tau = std::f32::consts::TAU;
    let mut w: Window = [[[0.0; 3]; STEPS]];
    for (t, step) in w[0].iter_mut().enumerate() {
        let t = t as f32;
        *step = [
            0.3 * (tau * t / 40.0).sin(),
            0.2 * (tau * t / 40.0 + 1.0).sin(),
            1.0 + 0.4 * (tau * t / 20.0).sin(),
        ];
    }
    w
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();

    let mut group = crit.benchmark_group("augment_f32_28x28");
    image_transforms(&mut group, &digit::<f32>()?)?;
    group.finish();

    let mut group = crit.benchmark_group("augment_u8_28x28");
    image_transforms(&mut group, &digit::<u8>()?)?;
    group.finish();

    let mut group = crit.benchmark_group("augment_signal_1x128x3");
    signal_transforms(&mut group, &window())?;
    group.finish();

    crit.final_summary();
    Ok(())
}
