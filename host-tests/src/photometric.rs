//! Independent `f64` references for the photometric augmentations of
//! `microtrain::augment`, written from the definitions (imgaug, torchvision, the
//! formulas in the doc comments) rather than from the crate's code: a picture becomes an
//! [`Image64`] of values in pixel units, and every reference returns the exact result
//! before clamping and rounding to the pixel type.

use crate::Rng;
use microtrain::augment::{Picture, Pixel};

/// A picture as `f64` values in pixel units (`0..=MAX`), row, column, channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Image64 {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// The brightest value of the pixel type it came from.
    pub max: f64,
    /// `h·w·c` values.
    pub v: Vec<f64>,
}

impl Image64 {
    /// The values of `picture`.
    pub fn of<P: Pixel, const H: usize, const W: usize, const C: usize>(
        picture: &Picture<P, H, W, C>,
    ) -> Self {
        let v = picture
            .iter()
            .flatten()
            .flatten()
            .map(|p| f64::from(p.to_f32()))
            .collect();
        Image64 {
            h: H,
            w: W,
            c: C,
            max: f64::from(P::MAX),
            v,
        }
    }

    /// The value at row `y`, column `x`, channel `c`.
    pub fn at(&self, y: usize, x: usize, c: usize) -> f64 {
        self.v[(y * self.w + x) * self.c + c]
    }

    /// A new image whose value at `(y, x, c)` is `f(y, x, c, old value)`.
    pub fn map(&self, f: impl Fn(usize, usize, usize, f64) -> f64) -> Self {
        let mut out = self.clone();
        for y in 0..self.h {
            for x in 0..self.w {
                for c in 0..self.c {
                    out.v[(y * self.w + x) * self.c + c] = f(y, x, c, self.at(y, x, c));
                }
            }
        }
        out
    }
}

/// Reflection without repeating the edge (`numpy.pad(mode="reflect")`, OpenCV
/// `BORDER_REFLECT_101`), by folding at the borders until the index is inside.
pub fn mirror(mut i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let last = n as isize - 1;
    while i < 0 || i > last {
        if i < 0 {
            i = -i;
        }
        if i > last {
            i = 2 * last - i;
        }
    }
    i as usize
}

/// Correlation with a 3×3 kernel (OpenCV `filter2D`), edges mirrored.
pub fn correlate3(img: &Image64, k: [[f64; 3]; 3]) -> Image64 {
    img.map(|y, x, c, _| {
        let mut s = 0.0;
        for (dy, row) in (-1isize..=1).zip(k) {
            for (dx, kv) in (-1isize..=1).zip(row) {
                let sy = mirror(y as isize + dy, img.h);
                let sx = mirror(x as isize + dx, img.w);
                s += kv * img.at(sy, sx, c);
            }
        }
        s
    })
}

/// `(1 − alpha)·identity + alpha·effect`, as imgaug builds its `Sharpen`/`Emboss`
/// matrices.
fn blend(alpha: f64, effect: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut k = effect.map(|row| row.map(|e| alpha * e));
    k[1][1] += 1.0 - alpha;
    k
}

/// imgaug `Sharpen`'s matrix for one `alpha` and `lightness`.
pub fn sharpen_kernel(alpha: f64, lightness: f64) -> [[f64; 3]; 3] {
    blend(
        alpha,
        [
            [-1.0, -1.0, -1.0],
            [-1.0, 8.0 + lightness, -1.0],
            [-1.0, -1.0, -1.0],
        ],
    )
}

/// imgaug `Emboss`'s matrix for one `alpha` and `strength`.
pub fn emboss_kernel(alpha: f64, s: f64) -> [[f64; 3]; 3] {
    blend(
        alpha,
        [[-1.0 - s, -s, 0.0], [-s, 1.0, s], [0.0, s, 1.0 + s]],
    )
}

/// Gaussian blur as one 2-D sum (not separated): weights
/// `g(dy)·g(dx) / (Σ g)²`, `g(d) = exp(−d²/(2σ²))` for `|d| ≤ radius`, edges mirrored.
pub fn gaussian_blur(img: &Image64, sigma: f64, radius: usize) -> Image64 {
    let r = radius as isize;
    let g = |d: isize| {
        if d == 0 {
            1.0
        } else {
            (-((d * d) as f64) / (2.0 * sigma * sigma)).exp()
        }
    };
    let total: f64 = (-r..=r).map(g).sum();
    img.map(|y, x, c, _| {
        let mut s = 0.0;
        for dy in -r..=r {
            for dx in -r..=r {
                let v = img.at(
                    mirror(y as isize + dy, img.h),
                    mirror(x as isize + dx, img.w),
                    c,
                );
                s += g(dy) * g(dx) / (total * total) * v;
            }
        }
        s
    })
}

/// Whether pixel `(y, x)` of an `h × w` image is under a set cell of the
/// `rows × cols` mask upsampled by nearest neighbour (PyTorch
/// `interpolate(mode="nearest")`: source index `⌊dst·in/out⌋`).
pub fn nearest_cell(
    mask: &[Vec<bool>],
    rows: usize,
    cols: usize,
    h: usize,
    w: usize,
) -> impl Fn(usize, usize) -> bool + '_ {
    move |y, x| {
        let sy = (y as f64 * rows as f64 / h as f64).floor() as usize;
        let sx = (x as f64 * cols as f64 / w as f64).floor() as usize;
        mask[sy][sx]
    }
}

/// Value noise: the `g × g` grid on the picture's corners (`align_corners=True`),
/// interpolated bilinearly, written as a sum of tent functions:
/// `n(y, x) = Σᵢⱼ grid[i][j]·max(0, 1 − |Y − i|)·max(0, 1 − |X − j|)`,
/// `Y = y·(g − 1)/(h − 1)` (0 when `h = 1`).
pub fn value_noise(grid: &[Vec<f64>], y: usize, x: usize, h: usize, w: usize) -> f64 {
    let g = grid.len();
    let scale = |i: usize, n: usize| {
        if n == 1 {
            0.0
        } else {
            i as f64 * (g - 1) as f64 / (n - 1) as f64
        }
    };
    let (gy, gx) = (scale(y, h), scale(x, w));
    let tent = |d: f64| (1.0 - d.abs()).max(0.0);
    let mut n = 0.0;
    for (i, row) in grid.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            n += v * tent(gy - i as f64) * tent(gx - j as f64);
        }
    }
    n
}

/// Clouds (and fog with `coverage = 1`): blend toward `brightness·MAX` with opacity
/// `density·clamp((n − 1 + coverage)/coverage, 0, 1)`.
pub fn clouds(
    img: &Image64,
    grid: &[Vec<f64>],
    density: f64,
    brightness: f64,
    coverage: f64,
) -> Image64 {
    img.map(|y, x, _, v| {
        let n = value_noise(grid, y, x, img.h, img.w);
        let a = density * ((n - 1.0 + coverage) / coverage).clamp(0.0, 1.0);
        (1.0 - a) * v + a * brightness * img.max
    })
}

/// Voronoi super-pixels by brute force: each pixel's region is the first seed at the
/// least distance; replaced regions take their `f64` mean.
pub fn superpixels(img: &Image64, seeds: &[[usize; 2]], replace: &[bool]) -> Image64 {
    let region = |y: usize, x: usize| {
        let d =
            |s: &[usize; 2]| (s[0] as f64 - y as f64).powi(2) + (s[1] as f64 - x as f64).powi(2);
        let least = seeds.iter().map(d).fold(f64::INFINITY, f64::min);
        seeds.iter().position(|s| d(s) == least).unwrap()
    };
    let mut sums = vec![vec![0.0; img.c]; seeds.len()];
    let mut counts = vec![0.0; seeds.len()];
    for y in 0..img.h {
        for x in 0..img.w {
            let r = region(y, x);
            counts[r] += 1.0;
            for (c, sum) in sums[r].iter_mut().enumerate() {
                *sum += img.at(y, x, c);
            }
        }
    }
    img.map(|y, x, c, v| {
        let r = region(y, x);
        if replace[r] {
            sums[r][c] / counts[r]
        } else {
            v
        }
    })
}

/// Pixel types with a random test value (a few exact 0s and MAXs among them).
pub trait Sample: Pixel {
    /// A random value.
    fn random(rng: &mut Rng) -> Self;
}

impl Sample for u8 {
    fn random(rng: &mut Rng) -> u8 {
        rng.below(256) as u8
    }
}

impl Sample for f32 {
    fn random(rng: &mut Rng) -> f32 {
        match rng.below(8) {
            0 => 0.0,
            1 => 1.0,
            _ => rng.uniform(0.0, 1.0),
        }
    }
}

/// A random picture for the case `label` (the same for the same label and shape).
pub fn picture<P: Sample, const H: usize, const W: usize, const C: usize>(
    label: &str,
) -> Picture<P, H, W, C> {
    let mut rng = Rng::for_case(label, &[H, W, C, P::MAX as usize]);
    let mut p = [[[P::from_f32(0.0); C]; W]; H];
    for v in p.as_flattened_mut().as_flattened_mut() {
        *v = P::random(&mut rng);
    }
    p
}

/// Asserts that `actual` is the clamped `expected` within the tolerance explained at
/// the top of `tests/augment_photometric.rs`: `f32` values within `tol·MAX`, `u8`
/// values within `0.5 + tol·255` (the nearest integer to a value within `tol·255`).
pub fn assert_matches<P: Pixel, const H: usize, const W: usize, const C: usize>(
    actual: &Picture<P, H, W, C>,
    expected: &Image64,
    tol: f64,
    what: &str,
) {
    let max = f64::from(P::MAX);
    let bound = if P::MAX == 255.0 {
        0.5 + tol * max
    } else {
        tol * max
    };
    for (i, (a, &e)) in actual
        .iter()
        .flatten()
        .flatten()
        .zip(&expected.v)
        .enumerate()
    {
        let e = e.clamp(0.0, max);
        let a = f64::from(a.to_f32());
        assert!(
            (a - e).abs() <= bound,
            "{what} ({H}×{W}×{C}, MAX {max}) at value {i}: got {a}, expected {e}, bound {bound}"
        );
    }
}

/// Runs `check::<P, H, W, C>()` on `u8` and `f32` pictures of the test shapes: 5×7×3,
/// 1×4×1 (one row), 6×1×2 (one column) and 8×8×1.
#[macro_export]
macro_rules! every_shape {
    ($check:ident) => {
        $check::<u8, 5, 7, 3>();
        $check::<f32, 5, 7, 3>();
        $check::<u8, 1, 4, 1>();
        $check::<f32, 1, 4, 1>();
        $check::<u8, 6, 1, 2>();
        $check::<f32, 6, 1, 2>();
        $check::<f32, 8, 8, 1>();
    };
}
