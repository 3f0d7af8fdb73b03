//! Line charts as PNG files for the host experiments (`examples/init_scale.rs`,
//! `examples/depth.rs`, `examples/digits.rs`), drawn with `plotters`' bitmap backend.
//!
//! Text is drawn with `ab_glyph` from DejaVu Sans compiled into the binary (the
//! `dejavu` crate), so a machine without system fonts draws the same picture. Host-only:
//! `plotters` and `dejavu` are dev-dependencies, never dependencies of the library.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::error::Error;
use std::path::{Path, PathBuf};

/// Where the experiments write their pictures unless told otherwise.
pub const DEFAULT_DIR: &str = "target/experiments";
/// The seed of the experiments' data, weights and batch order unless told otherwise.
pub const DEFAULT_SEED: u64 = 1;

/// The experiments' command line, `[DIR [SEED]]`: the folder for the PNG and the seed.
pub fn dir_and_seed() -> Result<(PathBuf, u64), String> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| DEFAULT_DIR.to_string()));
    let seed = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("SEED must be a whole number, not {s:?}"))?,
        None => DEFAULT_SEED,
    };
    Ok((dir, seed))
}

/// The font family every text in the charts uses.
const FONT: &str = "sans-serif";

/// Line colours, one per series, in order (colour-blind safe: Okabe & Ito).
const PALETTE: [RGBColor; 7] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
];

/// One line: a name for the legend and its points `(x, y)`.
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// The points, in order of `x`.
    pub points: Vec<(u32, f64)>,
}

/// One chart of a grid: a title, axis names and its lines.
pub struct Panel {
    /// Above the chart.
    pub title: String,
    /// Under the `x` axis.
    pub x_label: String,
    /// Beside the `y` axis.
    pub y_label: String,
    /// A logarithmic `y` axis (values at or below zero left out), or a linear one.
    pub log_y: bool,
    /// The lines, coloured from [`PALETTE`] in order.
    pub series: Vec<Series>,
}

/// Height in pixels of one row of the legend under the grid.
const LEGEND_ROW: u32 = 30;
/// Length of a legend entry's colour swatch, and the gap between entries.
const SWATCH: i32 = 30;
const GAP: i32 = 36;

/// Draws `panels` row by row into a `rows × cols` grid under `title`, with one legend
/// for all of them underneath (every panel draws the same series, in the same order,
/// in the same colours), and writes it as a PNG of `size` pixels to `path`. On a
/// logarithmic `y` axis, values at or below zero are left out.
pub fn draw_grid(
    path: &Path,
    size: (u32, u32),
    title: &str,
    (rows, cols): (usize, usize),
    panels: &[Panel],
) -> Result<(), Box<dyn Error>> {
    // Registering twice only replaces the entry; the bytes are the crate's static font.
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the bundled DejaVu Sans font could not be read")?;
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT, 26))?;
    let (width, height) = root.dim_in_pixel();
    let lines = match panels.first() {
        Some(first) => legend_lines(first, width as i32)?,
        None => Vec::new(),
    };
    let legend_height = LEGEND_ROW * lines.len() as u32 + 14;
    let (grid, legend) = root.split_vertically(height.saturating_sub(legend_height));
    for (area, panel) in grid.split_evenly((rows, cols)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    if let Some(first) = panels.first() {
        draw_legend(&legend, first, &lines)?;
    }
    root.present()?;
    Ok(())
}

/// The legend's font.
fn legend_font() -> FontDesc<'static> {
    (FONT, 17).into_font()
}

/// One line of the legend: the series' indices with the width of their names.
type LegendLine = Vec<(usize, i32)>;

/// Splits `panel`'s series into legend lines that fit `width` pixels: each line is the
/// series' indices with the width of their names.
fn legend_lines(panel: &Panel, width: i32) -> Result<Vec<LegendLine>, Box<dyn Error>> {
    let font = legend_font();
    let mut lines: Vec<LegendLine> = vec![Vec::new()];
    let mut used = 0;
    for (i, s) in panel.series.iter().enumerate() {
        let w = font.box_size(&s.name)?.0 as i32;
        let entry = SWATCH + 8 + w;
        let line = lines.last_mut().expect("there is always a line");
        if !line.is_empty() && used + GAP + entry > width {
            lines.push(vec![(i, w)]);
            used = entry;
        } else {
            used += if line.is_empty() { entry } else { GAP + entry };
            lines
                .last_mut()
                .expect("there is always a line")
                .push((i, w));
        }
    }
    Ok(lines)
}

/// The names of `panel`'s series beside their colours, line by line, each line centred.
fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    lines: &[LegendLine],
) -> Result<(), Box<dyn Error>> {
    let font = legend_font();
    let width = area.dim_in_pixel().0 as i32;
    for (row, line) in lines.iter().enumerate() {
        let total: i32 = line.iter().map(|(_, w)| SWATCH + 8 + w + GAP).sum::<i32>() - GAP;
        let mut x = (width - total).max(0) / 2;
        let y = LEGEND_ROW as i32 * row as i32 + LEGEND_ROW as i32 / 2 + 4;
        for &(i, w) in line {
            let colour = PALETTE[i % PALETTE.len()];
            area.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH, y)],
                colour.stroke_width(3),
            ))?;
            area.draw(&Text::new(
                panel.series[i].name.as_str(),
                (x + SWATCH + 8, y - 9),
                font.clone(),
            ))?;
            x += SWATCH + 8 + w + GAP;
        }
    }
    Ok(())
}

/// A tick label: plain decimals from 0.01 to 1000, powers of ten beyond.
fn tick(v: f64) -> String {
    if (0.01..1000.0).contains(&v) {
        let text = format!("{v:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// One chart of the grid.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), Box<dyn Error>> {
    let xs = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
    };
    let (x_lo, x_hi) = (xs().min().unwrap_or(0), xs().max().unwrap_or(1).max(1));
    let ys = || {
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite() && (*y > 0.0 || !panel.log_y))
    };
    let (lo, hi) = (ys().fold(f64::MAX, f64::min), ys().fold(f64::MIN, f64::max));
    if panel.log_y {
        // A third of a decade of room above and below the data.
        let (y_lo, y_hi) = if lo < hi {
            (lo / 2.0, hi * 2.0)
        } else {
            (0.1, 10.0)
        };
        draw_lines(area, panel, x_lo..x_hi, (y_lo..y_hi).log_scale())
    } else {
        // A twentieth of the span of room above and below.
        let margin = if lo < hi { (hi - lo) / 20.0 } else { 1.0 };
        let (y_lo, y_hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
        draw_lines(area, panel, x_lo..x_hi, (y_lo - margin)..(y_hi + margin))
    }
}

/// The axes and lines of one chart, on a `y` axis of either kind.
fn draw_lines<Y>(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    x: std::ops::Range<u32>,
    y: Y,
) -> Result<(), Box<dyn Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 19))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .y_label_formatter(&|&v| tick(v))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (series, &colour) in panel.series.iter().zip(PALETTE.iter().cycle()) {
        let points = series
            .points
            .iter()
            .copied()
            .filter(|(_, y)| y.is_finite() && (*y > 0.0 || !panel.log_y));
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
        // A line needs two points; a series cut short shows its points as dots.
        if series.points.len() < 2 {
            chart.draw_series(points.map(|p| Circle::new(p, 5, colour.filled())))?;
        }
    }
    Ok(())
}
