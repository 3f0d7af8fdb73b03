//! A picture of every augmentation: one real digit and what each image transform of
//! `microtrain::augment` makes of it, and a synthetic accelerometer window under each
//! signal transform.
//!
//! ```text
//! cargo run --release --example augment_grid [-- DIR [SEED]]
//! ```
//!
//! It writes `augment_grid.png` to `DIR` (default `target/experiments/`). The image is
//! sample 32 of the committed UCI digits (a 5; `examples/common/digits_data.rs` reads
//! them), an 8 × 8 picture with values `0..=16` scaled to `[0, 1]`, upscaled to
//! 32 × 32 by the crate's own bilinear [`crop_resize`] (the 8 × 8 window in a corner of
//! a 32 × 32 picture, stretched over all of it). Each tile is one transform applied
//! once, through [`Augment::apply`], to that `Picture<f32, 32, 32, 1>`, with settings
//! strong enough to see (most drawn from a one-value range, so the label gives the
//! exact value); the tiles are drawn 4× with nearest-neighbour by the `image` crate,
//! and labelled with `plotters` (DejaVu Sans compiled in, as the other examples do).
//!
//! Under the tiles, a synthetic 3-axis accelerometer window of 128 steps (a
//! `Picture<f32, 1, 128, 3>`: walking-like sines around 1 g on the vertical axis) goes
//! through each signal transform, drawn as line charts over the original (light).
//! `MixSameClass` works on a batch: it is shown mixing the window with a second one of
//! the same class (the same sines, shifted and larger).
//!
//! `SEED` (default 1) seeds one generator per tile (`Pcg32::seed_from_u64(SEED · 1000 +
//! tile)`): the same seed draws the same picture.

#[path = "common/digits_data.rs"]
#[allow(dead_code)]
mod digits_data;
#[path = "common/png_plot.rs"]
#[allow(dead_code)]
mod png_plot;

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, Luma, RgbImage};
use microtrain::augment::{
    crop_resize, Augment, Brighten, ChannelDropout, Clouds, CoarsePepper, CoarseSalt, CropPad,
    CropResize, Cutout, Elastic, Emboss, FlipHorizontal, FlipVertical, Fog, GammaContrast,
    GaussianBlur, GaussianNoise, Invert, Jitter, MagnitudeWarp, MixSameClass, Perspective, Picture,
    Pixel, Rotate, Scaling, Sharpen, Shear, Snow, Superpixels, TimeShift, TimeWarp, Translate,
};
use microtrain::Signal;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;

/// The sample of the digits data shown (a 5: no symmetry, so every flip shows).
const DIGIT: usize = 32;
/// Side of the upscaled digit.
const SIDE: usize = 32;
/// The image every image transform sees.
type Tile = Picture<f32, SIDE, SIDE, 1>;
/// Steps of the signal window.
const STEPS: usize = 128;
/// The window every signal transform sees: ax, ay, az.
type Window = Picture<f32, 1, STEPS, 3>;

/// Drawn size of a pixel of a tile.
const ZOOM: u32 = 4;
/// Tiles per row.
const COLS: u32 = 6;
/// One tile's cell: the two label lines above, then the tile.
const CELL_W: u32 = 150;
const LABEL_H: u32 = 38;
const CELL_H: u32 = LABEL_H + SIDE as u32 * ZOOM + 12;
/// Signal charts per row, and the height of one.
const PANEL_COLS: u32 = 4;
const PANEL_H: u32 = 200;
/// Room for the title and for each section's heading.
const TITLE_H: u32 = 46;
const HEADING_H: u32 = 30;
const MARGIN: u32 = 10;
const WIDTH: u32 = 2 * MARGIN + COLS * CELL_W;
/// The font family of every text.
const FONT: &str = "sans-serif";
/// ax, ay, az (Okabe & Ito, as `png_plot`'s palette).
const AXES: [(&str, RGBColor); 3] = [
    ("ax", RGBColor(230, 159, 0)),
    ("ay", RGBColor(0, 114, 178)),
    ("az", RGBColor(0, 158, 115)),
];

/// A transform applied to a sample with a generator.
type Apply<S> = Box<dyn Fn(&mut S, &mut Pcg32)>;

/// One transform as the picture shows it: its name, its settings, and how to apply it.
struct Shown<S> {
    name: &'static str,
    setting: String,
    apply: Apply<S>,
}

/// `transform` through [`Augment::apply`], labelled.
fn shown<S, A: Augment<S> + 'static>(name: &'static str, setting: &str, transform: A) -> Shown<S> {
    Shown {
        name,
        setting: setting.to_string(),
        apply: Box::new(move |s, rng| transform.apply(s, rng)),
    }
}

/// The untransformed sample.
fn original<S>(setting: &str) -> Shown<S> {
    Shown {
        name: "original",
        setting: setting.to_string(),
        apply: Box::new(|_, _| {}),
    }
}

/// Every image transform, in the order of `augment`'s modules, with settings to see.
fn image_transforms() -> Result<Vec<Shown<Tile>>, microtrain::Error> {
    Ok(vec![
        original("8×8 → 32×32"),
        shown("FlipHorizontal", "", FlipHorizontal),
        shown("FlipVertical", "", FlipVertical),
        shown(
            "Rotate",
            "30° anticlockwise",
            Rotate::new((30.0, 30.0), 0.0)?,
        ),
        shown("Shear", "x 25°", Shear::new((25.0, 25.0), (0.0, 0.0), 0.0)?),
        shown(
            "Translate",
            "x +0.2, y −0.15",
            Translate::new((0.2, 0.2), (-0.15, -0.15), 0.0)?,
        ),
        shown(
            "CropResize",
            "scale 0.4, ratio 1",
            CropResize::new((0.4, 0.4), (1.0, 1.0))?,
        ),
        shown("CropPad", "pad 8 px", CropPad::new(8, 8, 0.0)?),
        shown("Perspective", "distortion 0.6", Perspective::new(0.6, 0.0)?),
        shown(
            "Elastic",
            "4×4 grid, α 4 px",
            Elastic::<4>::new((4.0, 4.0), 0.0)?,
        ),
        shown("Brighten", "+0.3", Brighten::new((0.3, 0.3))?),
        shown("GammaContrast", "γ 0.4", GammaContrast::new((0.4, 0.4))?),
        shown("Invert", "", Invert),
        shown(
            "Sharpen",
            "α 0.7, lightness 1",
            Sharpen::new((0.7, 0.7), (1.0, 1.0))?,
        ),
        shown(
            "Emboss",
            "α 1, strength 1",
            Emboss::new((1.0, 1.0), (1.0, 1.0))?,
        ),
        shown("GaussianNoise", "σ 0.1", GaussianNoise::new((0.1, 0.1))?),
        shown(
            "GaussianBlur",
            "σ 1.5 px, 7 taps",
            GaussianBlur::<3>::new((1.5, 1.5))?,
        ),
        shown(
            "CoarseSalt",
            "p 0.1, 8×8 cells",
            CoarseSalt::new((0.1, 0.1), (0.25, 0.25))?,
        ),
        shown(
            "CoarsePepper",
            "p 0.3, 8×8 cells",
            CoarsePepper::new((0.3, 0.3), (0.25, 0.25))?,
        ),
        shown(
            "Cutout",
            "2 of 0.3 × 0.3, grey",
            Cutout::<2>::new((0.3, 0.3), (0.3, 0.3), 0.5)?,
        ),
        shown("Fog", "density 0.7", Fog::<4>::new((0.7, 0.7), (0.9, 0.9))?),
        shown(
            "Clouds",
            "density 0.9, coverage 0.5",
            Clouds::<5>::new((0.9, 0.9), (0.95, 0.95), (0.5, 0.5))?,
        ),
        shown(
            "Snow",
            "flakes 5 %, whiten 0.15",
            Snow::new((0.05, 0.05), (1.0, 1.0), (0.15, 0.15))?,
        ),
        shown(
            "Superpixels",
            "24 cells, p 1",
            Superpixels::<24>::new((1.0, 1.0))?,
        ),
    ])
}

/// Every signal transform, with settings to see. `partner` is the second window of the
/// class that `MixSameClass` mixes with.
fn signal_transforms(partner: Window) -> Result<Vec<Shown<Window>>, microtrain::Error> {
    let mix = MixSameClass::new(0.5, 0.5)?;
    Ok(vec![
        original(""),
        shown("Jitter", "σ 0.05", Jitter::new(0.05)?),
        shown("Scaling", "σ 0.3", Scaling::new(0.3)?),
        shown(
            "TimeShift",
            "±32 steps, circular",
            TimeShift::new(32, None)?,
        ),
        shown(
            "MagnitudeWarp",
            "6 knots, σ 0.3",
            MagnitudeWarp::<6>::new(0.3)?,
        ),
        shown("TimeWarp", "6 knots, σ 0.5", TimeWarp::<6>::new(0.5)?),
        shown("ChannelDropout", "p 0.75", ChannelDropout::new(0.75)?),
        Shown {
            name: "MixSameClass",
            setting: "λ 0.5".to_string(),
            apply: Box::new(move |w, rng| {
                let mut batch = Signal::<2, STEPS, 3>::zeros();
                batch.0 = [*w, partner];
                mix.apply(&mut batch, &[0, 0], 2, rng);
                *w = batch.0[0];
            }),
        },
    ])
}

/// The digit, upscaled: the 8 × 8 pixels in the top-left corner of a 32 × 32 picture,
/// then that corner resized bilinearly to the whole picture.
fn digit(pixels: &[f32]) -> Result<Tile, microtrain::Error> {
    let mut tile: Tile = [[[0.0]; SIDE]; SIDE];
    for (i, &v) in pixels.iter().enumerate() {
        tile[i / digits_data::SIDE][i % digits_data::SIDE] = [v];
    }
    let side = digits_data::SIDE;
    crop_resize(&mut tile, 0, 0, side, side)?;
    Ok(tile)
}

/// A walking-like accelerometer window (in g): someone starting to walk, the swing
/// growing over the window, with steps every 20 samples. `phase` shifts it by that many
/// steps, `gain` scales the swing.
fn walk(phase: f32, gain: f32) -> Window {
    let tau = std::f32::consts::TAU;
    let mut w: Window = [[[0.0; 3]; STEPS]];
    for (t, step) in w[0].iter_mut().enumerate() {
        let swing = gain * (0.3 + 0.7 * t as f32 / (STEPS - 1) as f32);
        let t = t as f32 + phase;
        *step = [
            swing * (0.3 * (tau * t / 40.0).sin() + 0.06 * (tau * t / 13.0).sin()),
            swing * 0.2 * (tau * t / 40.0 + 1.0).sin(),
            1.0 + swing * 0.4 * (tau * t / 20.0).sin(),
        ];
    }
    w
}

/// A tile as an 8-bit grey image, `ZOOM` times larger (nearest neighbour), in colour.
fn tile_image(tile: &Tile) -> RgbImage {
    let side = SIDE as u32;
    let grey = GrayImage::from_fn(side, side, |x, y| {
        Luma([u8::from_f32(tile[y as usize][x as usize][0] * 255.0)])
    });
    let big = imageops::resize(&grey, side * ZOOM, side * ZOOM, FilterType::Nearest);
    DynamicImage::ImageLuma8(big).to_rgb8()
}

/// Where tile `i` goes: the top-left corner of its cell.
fn cell(i: usize) -> (u32, u32) {
    let (row, col) = (i as u32 / COLS, i as u32 % COLS);
    (MARGIN + col * CELL_W, TITLE_H + HEADING_H + row * CELL_H)
}

/// Draws the `runs` of text one after the other, each in its colour, the whole line
/// centred across the picture with its top at `y`.
fn draw_runs(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    runs: &[(&str, RGBColor)],
    y: i32,
) -> Result<(), Box<dyn Error>> {
    let font = (FONT, 16).into_font();
    let widths = runs
        .iter()
        .map(|(text, _)| Ok(font.box_size(text)?.0 as i32))
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    let mut x = (WIDTH as i32 - widths.iter().sum::<i32>()) / 2;
    for ((text, colour), w) in runs.iter().zip(widths) {
        root.draw(&Text::new(*text, (x, y), font.clone().color(colour)))?;
        x += w;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let (dir, seed) = png_plot::dir_and_seed()?;
    let rng = |i: usize| Pcg32::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(i as u64));

    let all = digits_data::parse(digits_data::CSV)?;
    let original = digit(all.image(DIGIT))?;
    let images = image_transforms()?;
    let tiles: Vec<Tile> = images
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut tile = original;
            (t.apply)(&mut tile, &mut rng(i));
            tile
        })
        .collect();

    let window = walk(0.0, 1.0);
    let signals = signal_transforms(walk(6.0, 1.3))?;
    let windows: Vec<Window> = signals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut w = window;
            (t.apply)(&mut w, &mut rng(100 + i));
            w
        })
        .collect();

    // The pixel tiles, through `image`.
    let tile_rows = (images.len() as u32).div_ceil(COLS);
    let signals_top = TITLE_H + HEADING_H + tile_rows * CELL_H + 4;
    let panel_rows = (signals.len() as u32).div_ceil(PANEL_COLS);
    let height = signals_top + HEADING_H + panel_rows * PANEL_H + MARGIN;
    let mut canvas = RgbImage::from_pixel(WIDTH, height, image::Rgb([255, 255, 255]));
    for (i, tile) in tiles.iter().enumerate() {
        let (x, y) = cell(i);
        let left = x + (CELL_W - SIDE as u32 * ZOOM) / 2;
        imageops::replace(
            &mut canvas,
            &tile_image(tile),
            left.into(),
            (y + LABEL_H).into(),
        );
    }

    // Labels, frames and the signal charts, through `plotters` on the same pixels.
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the bundled DejaVu Sans font could not be read")?;
    {
        let root = BitMapBackend::with_buffer(&mut canvas, (WIDTH, height)).into_drawing_area();
        let centred = |size: u32| {
            (FONT, size).into_font().into_text_style(&root).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ),
            )
        };
        let title = format!(
            "microtrain::augment — UCI digit #{DIGIT} (a {}), seed {seed}",
            all.labels[DIGIT]
        );
        root.draw(&Text::new(title, (WIDTH as i32 / 2, 10), centred(24)))?;
        root.draw(&Text::new(
            "Images: Picture<f32, 32, 32, 1>, one tile per transform (drawn 4×)",
            (WIDTH as i32 / 2, TITLE_H as i32),
            centred(16),
        ))?;
        let grey = centred(13).color(&RGBColor(90, 90, 90));
        for (i, t) in images.iter().enumerate() {
            let (x, y) = cell(i);
            let (mid, side) = ((x + CELL_W / 2) as i32, (SIDE as u32 * ZOOM) as i32);
            root.draw(&Text::new(t.name, (mid, y as i32), centred(15)))?;
            root.draw(&Text::new(
                t.setting.as_str(),
                (mid, y as i32 + 18),
                grey.clone(),
            ))?;
            let (left, top) = (mid - side / 2 - 1, (y + LABEL_H) as i32 - 1);
            root.draw(&Rectangle::new(
                [(left, top), (left + side + 1, top + side + 1)],
                RGBColor(160, 160, 160),
            ))?;
        }

        let black = RGBColor(0, 0, 0);
        let [(ax, ax_colour), (ay, ay_colour), (az, az_colour)] = AXES;
        let heading = [
            (
                "Signals: Picture<f32, 1, 128, 3>, a synthetic accelerometer (g): ",
                black,
            ),
            (ax, ax_colour),
            (", ", black),
            (ay, ay_colour),
            (", ", black),
            (az, az_colour),
            ("; light: the original", black),
        ];
        draw_runs(&root, &heading, signals_top as i32)?;
        let all_values = windows.iter().flat_map(|w| w[0].iter().flatten().copied());
        let (lo, hi) = all_values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = (f64::from(lo) - 0.1, f64::from(hi) + 0.1);
        let panel_w = (WIDTH - 2 * MARGIN) / PANEL_COLS;
        for (i, (t, w)) in signals.iter().zip(&windows).enumerate() {
            let (row, col) = (i as u32 / PANEL_COLS, i as u32 % PANEL_COLS);
            let corner = (
                (MARGIN + col * panel_w) as i32,
                (signals_top + HEADING_H + row * PANEL_H) as i32,
            );
            let area = root.clone().shrink(corner, (panel_w, PANEL_H));
            let caption = if t.setting.is_empty() {
                t.name.to_string()
            } else {
                format!("{} ({})", t.name, t.setting)
            };
            let mut chart = ChartBuilder::on(&area)
                .caption(caption, (FONT, 13))
                .margin(4)
                .x_label_area_size(18)
                .y_label_area_size(30)
                .build_cartesian_2d(0.0..(STEPS - 1) as f64, lo..hi)?;
            chart
                .configure_mesh()
                .label_style((FONT, 11))
                .x_labels(5)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_labels(5)
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for (c, (_, colour)) in AXES.iter().enumerate() {
                let line = |w: &Window| {
                    w[0].iter()
                        .enumerate()
                        .map(|(t, s)| (t as f64, f64::from(s[c])))
                        .collect::<Vec<_>>()
                };
                chart.draw_series(LineSeries::new(
                    line(&window),
                    colour.mix(0.3).stroke_width(1),
                ))?;
                chart.draw_series(LineSeries::new(line(w), colour.stroke_width(2)))?;
            }
        }
        root.present()?;
    }

    std::fs::create_dir_all(&dir)?;
    let path = dir.join("augment_grid.png");
    // The best compression keeps the committed copy small (the charts' antialiased
    // lines have many shades).
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let encoder = PngEncoder::new_with_quality(file, CompressionType::Best, PngFilter::Adaptive);
    canvas.write_with_encoder(encoder)?;
    println!(
        "{} image transforms and {} signal transforms (seed {seed}) drawn to {}",
        images.len() - 1,
        signals.len() - 1,
        path.display()
    );
    Ok(())
}
