//! Weather: fog and clouds (blends toward a bright colour through low-frequency noise)
//! and snow (bright flakes over a whitened picture).
//!
//! Opacities, brightnesses and densities are fractions in `[0, 1]` (brightness of
//! [`Pixel::MAX`]). Every `(lo, hi)` argument is a [`Range`].

use super::colour::fraction;
use super::{Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::uniform;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// The value noise at pixel `(y, x)` of an `H × W` picture: the `G × G` grid stretched
/// over the picture with its corners on the corner pixels (`align_corners=True`) and
/// interpolated bilinearly.
fn value_noise<const G: usize>(
    grid: &[[f32; G]; G],
    y: usize,
    x: usize,
    h: usize,
    w: usize,
) -> f32 {
    let position = |i: usize, n: usize| {
        let g = if n > 1 {
            i as f32 * (G - 1) as f32 / (n - 1) as f32
        } else {
            0.0
        };
        let cell = (math::floor(g) as usize).min(G.saturating_sub(2));
        (cell, g - cell as f32)
    };
    let ((i, t), (j, s)) = (position(y, h), position(x, w));
    let (i1, j1) = ((i + 1).min(G - 1), (j + 1).min(G - 1));
    let top = (1.0 - s) * grid[i][j] + s * grid[i][j1];
    let bottom = (1.0 - s) * grid[i1][j] + s * grid[i1][j1];
    (1.0 - t) * top + t * bottom
}

/// `G × G` uniform values in `[0, 1)`, drawn row by row.
fn draw_grid<R: Rng + ?Sized, const G: usize>(rng: &mut R) -> [[f32; G]; G] {
    let mut grid = [[0.0; G]; G];
    for v in grid.as_flattened_mut() {
        *v = uniform(rng);
    }
    grid
}

/// Clouds: an approximation of imgaug's `Clouds` (imgaug layers several octaves of
/// noise with random exponents; here one octave of value noise). A `G × G` grid of
/// uniform values, its corners on the corner pixels and interpolated bilinearly
/// (PyTorch `interpolate(mode="bilinear", align_corners=True)`), gives a field
/// `n ∈ [0, 1)`; the picture is blended toward the grey `b·MAX` with
/// opacity `α = d·clamp((n − 1 + c)/c, 0, 1)`: clouds cover the part `c` of the noise
/// range where it is brightest. The density `d`, brightness `b` and coverage `c` are
/// drawn per picture, then the grid row by row: `v' = (1 − α)·v + α·b·MAX`.
/// `d = 0` is the identity. `G ≥ 2` is checked at compile time.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Clouds};
/// use rand_core::SeedableRng;
/// let clouds = Clouds::<4>::new((0.5, 0.9), (0.9, 1.0), (0.3, 0.7))?;
/// let mut p = [[[0.0f32; 3]; 16]; 16];
/// clouds.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p.as_flattened().iter().any(|v| v[0] > 0.0));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clouds<const G: usize> {
    density: Range,
    brightness: Range,
    coverage: Range,
}

impl<const G: usize> Clouds<G> {
    /// Densities, brightnesses and coverages drawn from the given ranges, all in
    /// `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Clouds density"`, `"Clouds brightness"` or
    /// `"Clouds coverage"` for a bound outside `[0, 1]` (NaN included) or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Clouds;
    /// assert!(Clouds::<4>::new((0.5, 0.9), (0.9, 1.0), (0.7, 0.3)).is_err());
    /// ```
    pub const fn new(
        density: (f32, f32),
        brightness: (f32, f32),
        coverage: (f32, f32),
    ) -> Result<Self, Error> {
        const { assert!(G >= 2, "the noise grid needs at least 2 × 2 points") };
        Ok(Clouds {
            density: ok!(fraction("Clouds density", density)),
            brightness: ok!(fraction("Clouds brightness", brightness)),
            coverage: ok!(fraction("Clouds coverage", coverage)),
        })
    }

    /// `(density, brightness, coverage)` for one picture, drawn in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Clouds;
    /// use rand_core::SeedableRng;
    /// let (d, b, c) = Clouds::<4>::new((0.5, 0.9), (0.9, 1.0), (0.3, 0.7))?
    ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.5..=0.9).contains(&d) && (0.9..=1.0).contains(&b) && (0.3..=0.7).contains(&c));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32, f32) {
        let density = self.density.draw(rng);
        let brightness = self.brightness.draw(rng);
        (density, brightness, self.coverage.draw(rng))
    }

    /// The deterministic core with a fixed noise `grid`, `density`, `brightness` and
    /// `coverage` (no clouds where `coverage ≤ 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Clouds;
    /// let mut p = [[[0u8], [0], [0]]];
    /// let grid = [[0.0, 1.0], [0.0, 1.0]];                 // brighter to the right
    /// Clouds::apply_with(&mut p, &grid, 1.0, 1.0, 0.5);
    /// assert_eq!(p, [[[0], [0], [255]]]);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        grid: &[[f32; G]; G],
        density: f32,
        brightness: f32,
        coverage: f32,
    ) {
        const { assert!(G >= 2, "the noise grid needs at least 2 × 2 points") };
        let colour = brightness * P::MAX;
        for (y, row) in sample.iter_mut().enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                let n = value_noise(grid, y, x, H, W);
                let alpha = if coverage > 0.0 {
                    density * ((n - 1.0 + coverage) / coverage).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                for v in pixel.iter_mut() {
                    *v = P::from_f32((1.0 - alpha) * v.to_f32() + alpha * colour);
                }
            }
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const G: usize>
    Augment<Picture<P, H, W, C>> for Clouds<G>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (density, brightness, coverage) = self.draw(rng);
        let grid = draw_grid(rng);
        Self::apply_with(sample, &grid, density, brightness, coverage);
    }
}

/// Fog: an approximation of imgaug's `Fog` (a dense, low-frequency cloud layer): as
/// [`Clouds`] with coverage 1, so the opacity is `α = d·n` everywhere, following the
/// value noise `n` of a `G × G` grid. The density `d` and brightness `b` are drawn per
/// picture, then the grid: `v' = (1 − α)·v + α·b·MAX`. `d = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Fog};
/// use rand_core::SeedableRng;
/// let fog = Fog::<3>::new((0.4, 0.8), (0.8, 1.0))?;
/// let mut p = [[[0u8; 3]; 8]; 8];
/// fog.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p.as_flattened().iter().all(|v| v[0] <= 204));     // α ≤ 0.8
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fog<const G: usize> {
    density: Range,
    brightness: Range,
}

impl<const G: usize> Fog<G> {
    /// Densities and brightnesses drawn from the given ranges, in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Fog density"` or `"Fog brightness"` for a bound
    /// outside `[0, 1]` (NaN included) or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Fog;
    /// assert!(Fog::<3>::new((0.4, 1.2), (0.8, 1.0)).is_err());
    /// ```
    pub const fn new(density: (f32, f32), brightness: (f32, f32)) -> Result<Self, Error> {
        const { assert!(G >= 2, "the noise grid needs at least 2 × 2 points") };
        Ok(Fog {
            density: ok!(fraction("Fog density", density)),
            brightness: ok!(fraction("Fog brightness", brightness)),
        })
    }

    /// `(density, brightness)` for one picture, drawn in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Fog;
    /// use rand_core::SeedableRng;
    /// let (d, b) = Fog::<3>::new((0.4, 0.8), (0.8, 1.0))?
    ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.4..=0.8).contains(&d) && (0.8..=1.0).contains(&b));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32) {
        let density = self.density.draw(rng);
        (density, self.brightness.draw(rng))
    }

    /// The deterministic core: [`Clouds::apply_with`] with coverage 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Fog;
    /// let mut p = [[[0.0f32], [0.0], [0.0]]];
    /// Fog::apply_with(&mut p, &[[0.0, 1.0], [0.0, 1.0]], 0.5, 1.0);
    /// assert_eq!(p, [[[0.0], [0.25], [0.5]]]);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        grid: &[[f32; G]; G],
        density: f32,
        brightness: f32,
    ) {
        Clouds::apply_with(sample, grid, density, brightness, 1.0);
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const G: usize>
    Augment<Picture<P, H, W, C>> for Fog<G>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (density, brightness) = self.draw(rng);
        let grid = draw_grid(rng);
        Self::apply_with(sample, &grid, density, brightness);
    }
}

/// Snow: the picture is whitened, `v₁ = v + w·(MAX − v)`, and one-pixel flakes fall on
/// it: each pixel is a flake with probability `d` and then takes `max(v₁, b·MAX)` on
/// every channel. The whitening `w`, density `d` and flake brightness `b` are drawn per
/// picture, then the flakes row by row. A simple stand-in for imgaug's `Snowflakes`
/// (which draws blurred, motion-streaked flake layers); `w = 0, d = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Snow};
/// use rand_core::SeedableRng;
/// let snow = Snow::new((0.05, 0.1), (0.9, 1.0), (0.0, 0.1))?;
/// let mut p = [[[0.0f32; 3]; 16]; 16];
/// snow.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p.as_flattened().iter().any(|v| v[0] >= 0.9));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snow {
    density: Range,
    brightness: Range,
    whiten: Range,
}

impl Snow {
    /// Flake densities, flake brightnesses and whitenings drawn from the given ranges,
    /// in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Snow density"`, `"Snow brightness"` or
    /// `"Snow whiten"` for a bound outside `[0, 1]` (NaN included) or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Snow;
    /// assert!(Snow::new((0.05, 0.1), (0.9, 1.0), (-0.1, 0.1)).is_err());
    /// ```
    pub const fn new(
        density: (f32, f32),
        brightness: (f32, f32),
        whiten: (f32, f32),
    ) -> Result<Self, Error> {
        Ok(Snow {
            density: ok!(fraction("Snow density", density)),
            brightness: ok!(fraction("Snow brightness", brightness)),
            whiten: ok!(fraction("Snow whiten", whiten)),
        })
    }

    /// `(density, brightness, whiten)` for one picture, drawn in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Snow;
    /// use rand_core::SeedableRng;
    /// let (d, b, w) = Snow::new((0.05, 0.1), (0.9, 1.0), (0.0, 0.1))?
    ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.05..=0.1).contains(&d) && (0.9..=1.0).contains(&b) && (0.0..=0.1).contains(&w));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32, f32) {
        let density = self.density.draw(rng);
        let brightness = self.brightness.draw(rng);
        (density, brightness, self.whiten.draw(rng))
    }

    /// The deterministic core with fixed `flakes`, `brightness` and `whiten`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Snow;
    /// let mut p = [[[100u8], [100]]];
    /// Snow::apply_with(&mut p, &[[true, false]], 0.8, 0.2);
    /// assert_eq!(p, [[[204], [131]]]);                     // 100 + 0.2·155 = 131
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        flakes: &[[bool; W]; H],
        brightness: f32,
        whiten: f32,
    ) {
        let flake = brightness * P::MAX;
        for (row, flake_row) in sample.iter_mut().zip(flakes) {
            for (pixel, &is_flake) in row.iter_mut().zip(flake_row) {
                for v in pixel.iter_mut() {
                    let white = v.to_f32() + whiten * (P::MAX - v.to_f32());
                    *v = P::from_f32(if is_flake { white.max(flake) } else { white });
                }
            }
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Snow
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (density, brightness, whiten) = self.draw(rng);
        let mut flakes = [[false; W]; H];
        for flake in flakes.as_flattened_mut() {
            *flake = uniform(rng) < density;
        }
        Self::apply_with(sample, &flakes, brightness, whiten);
    }
}
