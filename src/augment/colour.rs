//! Colour transforms: each pixel's values change, pixels do not move.
//!
//! Offsets are fractions of [`Pixel::MAX`], so one setting means the same on `u8` and
//! `f32` pictures (imgaug's `Add(value=25)` on `u8` is our offset `25/255`).
//! Every `(lo, hi)` argument is a [`Range`] the transform draws from once per picture.

use super::{Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// The interval `(lo, hi)` for setting `name`, inside `[min, max]` (see [`Range::within`]).
pub(super) const fn bounded(
    name: &'static str,
    (lo, hi): (f32, f32),
    min: f32,
    max: f32,
    rule: &'static str,
) -> Result<Range, Error> {
    Range::within(name, lo, hi, min, max, rule)
}

/// The interval `(lo, hi)` for a fraction in `[0, 1]`.
pub(super) const fn fraction(name: &'static str, range: (f32, f32)) -> Result<Range, Error> {
    bounded(name, range, 0.0, 1.0, "in [0, 1]")
}

/// The index `i` reflected into `0..n` without repeating the edge (`d c b | a b c d |
/// c b a`: OpenCV's `BORDER_REFLECT_101`, PyTorch's `padding_mode="reflect"`), folded
/// again as often as needed when `i` is further out than `n`; `0` when `n == 1`.
pub(super) fn reflect(i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period as isize) as usize;
    if m < n {
        m
    } else {
        period - m
    }
}

/// Replaces every value `v` by `MAX − v` (PyTorch:
/// `torchvision.transforms.v2.functional.invert`). Inverting twice is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Invert};
/// use rand_core::SeedableRng;
/// let mut p = [[[0.25f32, 1.0]]];
/// Invert.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[0.75, 0.0]]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Invert;

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Invert
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, _rng: &mut R) {
        for v in sample.as_flattened_mut().as_flattened_mut() {
            *v = P::from_f32(P::MAX - v.to_f32());
        }
    }
}

/// Adds one offset `d`, drawn from `[lo, hi]` per picture, to every value:
/// `v' = v + d·MAX`, clamped to the pixel range. This is imgaug's `Add` (with
/// `value = d·255` on `u8`); torchvision's `adjust_brightness` *multiplies* instead.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Brighten};
/// use rand_core::SeedableRng;
/// let brighten = Brighten::new((0.1, 0.1))?;
/// let mut p = [[[100u8, 250]]];
/// brighten.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[126, 255]]]);                 // 100 + 25.5 rounds to 126
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brighten {
    offset: Range,
}

impl Brighten {
    /// Offsets drawn from `offset = (lo, hi)`, fractions of `MAX` in `[-1, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Brighten offset"` if a bound is NaN, infinite or
    /// outside `[-1, 1]`, or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Brighten;
    /// assert!(Brighten::new((-0.2, 0.2)).is_ok());
    /// assert!(Brighten::new((0.2, -0.2)).is_err());
    /// ```
    pub const fn new(offset: (f32, f32)) -> Result<Self, Error> {
        let offset = ok!(bounded("Brighten offset", offset, -1.0, 1.0, "in [-1, 1]"));
        Ok(Brighten { offset })
    }

    /// The offset for one picture, in `[lo, hi]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Brighten;
    /// use rand_core::SeedableRng;
    /// let d = Brighten::new((0.0, 0.5))?.draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.0..=0.5).contains(&d));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        self.offset.draw(rng)
    }

    /// The deterministic core: `v' = v + offset·MAX` for every value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Brighten;
    /// let mut p = [[[0.5f32, 0.9]]];
    /// Brighten::apply_with(&mut p, -0.25);
    /// assert_eq!(p, [[[0.25, 0.65]]]);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        offset: f32,
    ) {
        let add = offset * P::MAX;
        for v in sample.as_flattened_mut().as_flattened_mut() {
            *v = P::from_f32(v.to_f32() + add);
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Brighten
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        Self::apply_with(sample, self.draw(rng));
    }
}

/// Gamma contrast with `γ` drawn from `[lo, hi]` per picture:
/// `v' = MAX·(v/MAX)^γ` (imgaug `GammaContrast`, torchvision `adjust_gamma` with
/// gain 1). `γ < 1` brightens the shadows, `γ > 1` darkens them; `γ = 1` is the
/// identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, GammaContrast};
/// use rand_core::SeedableRng;
/// let mut p = [[[0.25f32]]];
/// GammaContrast::new((0.5, 0.5))?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[0.5]]]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaContrast {
    gamma: Range,
}

impl GammaContrast {
    /// Exponents drawn from `gamma = (lo, hi)`, both positive (imgaug's default is
    /// `(0.7, 1.7)`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"GammaContrast gamma"` if a bound is NaN, infinite or
    /// not positive, or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GammaContrast;
    /// assert!(GammaContrast::new((0.7, 1.7)).is_ok());
    /// assert!(GammaContrast::new((0.0, 1.7)).is_err());
    /// ```
    pub const fn new(gamma: (f32, f32)) -> Result<Self, Error> {
        let gamma = ok!(bounded(
            "GammaContrast gamma",
            gamma,
            f32::MIN_POSITIVE,
            f32::MAX,
            "positive"
        ));
        Ok(GammaContrast { gamma })
    }

    /// The exponent `γ` for one picture, in `[lo, hi]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GammaContrast;
    /// use rand_core::SeedableRng;
    /// let g = GammaContrast::new((0.7, 1.7))?.draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.7..=1.7).contains(&g));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        self.gamma.draw(rng)
    }

    /// The deterministic core: `v' = MAX·(v/MAX)^gamma` for every value.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GammaContrast;
    /// let mut p = [[[64u8, 255]]];
    /// GammaContrast::apply_with(&mut p, 2.0);
    /// assert_eq!(p, [[[16, 255]]]);                  // 255·(64/255)² = 16.06
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        gamma: f32,
    ) {
        for v in sample.as_flattened_mut().as_flattened_mut() {
            *v = P::from_f32(P::MAX * math::powf(v.to_f32() / P::MAX, gamma));
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for GammaContrast
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        Self::apply_with(sample, self.draw(rng));
    }
}

/// Correlates every channel with the 3×3 kernel `k` (not flipped, like OpenCV's
/// `filter2D`): `v'(y, x) = Σᵢ Σⱼ k[i][j]·v(y+i−1, x+j−1)`, summed row by row, left to
/// right, edges reflected ([`reflect`]).
fn correlate3<P: Pixel, const H: usize, const W: usize, const C: usize>(
    sample: &mut Picture<P, H, W, C>,
    k: &[[f32; 3]; 3],
) {
    let source = *sample;
    for (y, row) in sample.iter_mut().enumerate() {
        for (x, pixel) in row.iter_mut().enumerate() {
            for (c, v) in pixel.iter_mut().enumerate() {
                let mut sum = 0.0;
                for (i, k_row) in k.iter().enumerate() {
                    let sy = reflect(y as isize + i as isize - 1, H);
                    for (j, &kij) in k_row.iter().enumerate() {
                        let sx = reflect(x as isize + j as isize - 1, W);
                        sum += kij * source[sy][sx][c].to_f32();
                    }
                }
                *v = P::from_f32(sum);
            }
        }
    }
}

/// The 3×3 kernel `(1 − alpha)·identity + alpha·effect`.
fn blend_kernel(alpha: f32, effect: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let mut k = effect;
    for (i, row) in k.iter_mut().enumerate() {
        for (j, kij) in row.iter_mut().enumerate() {
            let identity = if i == 1 && j == 1 { 1.0 } else { 0.0 };
            *kij = (1.0 - alpha) * identity + alpha * *kij;
        }
    }
    k
}

/// Sharpening as imgaug's `Sharpen(alpha, lightness)`: the picture is correlated with
/// the 3×3 kernel `(1 − α)·I + α·E`, `I` the identity kernel and
/// `E = [[−1, −1, −1], [−1, 8 + L, −1], [−1, −1, −1]]`, with `α` and the lightness `L`
/// drawn per picture. Edges are reflected without repeating the border pixel (OpenCV's
/// `BORDER_REFLECT_101`, imgaug's). `α = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Sharpen};
/// use rand_core::SeedableRng;
/// let sharpen = Sharpen::new((0.0, 0.2), (0.8, 1.2))?;    // imgaug's defaults
/// let mut flat = [[[0.5f32]; 3]; 3];
/// sharpen.apply(&mut flat, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(flat.as_flattened().iter().all(|p| (p[0] - 0.5).abs() <= 0.021)); // the kernel sums to 1 − α + αL
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sharpen {
    alpha: Range,
    lightness: Range,
}

impl Sharpen {
    /// Opacities drawn from `alpha` (in `[0, 1]`) and lightnesses from `lightness`
    /// (finite).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Sharpen alpha"` or `"Sharpen lightness"` for a NaN
    /// or infinite bound, `hi < lo`, or an alpha outside `[0, 1]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Sharpen;
    /// assert!(Sharpen::new((0.0, 1.5), (1.0, 1.0)).is_err());
    /// ```
    pub const fn new(alpha: (f32, f32), lightness: (f32, f32)) -> Result<Self, Error> {
        let alpha = ok!(fraction("Sharpen alpha", alpha));
        let lightness = ok!(Range::new("Sharpen lightness", lightness.0, lightness.1));
        Ok(Sharpen { alpha, lightness })
    }

    /// `(alpha, lightness)` for one picture, drawn in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Sharpen;
    /// use rand_core::SeedableRng;
    /// let (a, l) = Sharpen::new((0.0, 0.2), (0.8, 1.2))?
    ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.0..=0.2).contains(&a) && (0.8..=1.2).contains(&l));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32) {
        let alpha = self.alpha.draw(rng);
        (alpha, self.lightness.draw(rng))
    }

    /// The deterministic core with a fixed `alpha` and `lightness`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Sharpen;
    /// let mut p = [[[0u8], [100], [0]]];                    // 1 × 3, rows reflected
    /// Sharpen::apply_with(&mut p, 1.0, 1.0);
    /// assert_eq!(p, [[[0], [255], [0]]]);                 // −600 and 700 clamp
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        alpha: f32,
        lightness: f32,
    ) {
        let effect = [
            [-1.0, -1.0, -1.0],
            [-1.0, 8.0 + lightness, -1.0],
            [-1.0, -1.0, -1.0],
        ];
        correlate3(sample, &blend_kernel(alpha, effect));
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Sharpen
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (alpha, lightness) = self.draw(rng);
        Self::apply_with(sample, alpha, lightness);
    }
}

/// Embossing as imgaug's `Emboss(alpha, strength)`: the picture is correlated with
/// `(1 − α)·I + α·E`, `E = [[−1 − s, −s, 0], [−s, 1, s], [0, s, 1 + s]]`, with `α` and
/// the strength `s` drawn per picture; edges as [`Sharpen`]. `α = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Emboss};
/// use rand_core::SeedableRng;
/// let emboss = Emboss::new((0.0, 1.0), (0.25, 1.0))?;     // imgaug's defaults
/// let mut flat = [[[0.5f32]; 3]; 3];
/// emboss.apply(&mut flat, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(flat.as_flattened().iter().all(|p| (p[0] - 0.5).abs() < 1e-6)); // sums to 1
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Emboss {
    alpha: Range,
    strength: Range,
}

impl Emboss {
    /// Opacities drawn from `alpha` (in `[0, 1]`) and strengths from `strength`
    /// (finite).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Emboss alpha"` or `"Emboss strength"` for a NaN or
    /// infinite bound, `hi < lo`, or an alpha outside `[0, 1]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Emboss;
    /// assert!(Emboss::new((0.5, 0.5), (f32::NAN, 1.0)).is_err());
    /// ```
    pub const fn new(alpha: (f32, f32), strength: (f32, f32)) -> Result<Self, Error> {
        let alpha = ok!(fraction("Emboss alpha", alpha));
        let strength = ok!(Range::new("Emboss strength", strength.0, strength.1));
        Ok(Emboss { alpha, strength })
    }

    /// `(alpha, strength)` for one picture, drawn in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Emboss;
    /// use rand_core::SeedableRng;
    /// let (a, s) = Emboss::new((0.0, 1.0), (0.25, 1.0))?
    ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.0..=1.0).contains(&a) && (0.25..=1.0).contains(&s));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32) {
        let alpha = self.alpha.draw(rng);
        (alpha, self.strength.draw(rng))
    }

    /// The deterministic core with a fixed `alpha` and `strength`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Emboss;
    /// let mut p = [[[0.0f32], [0.25], [0.25]]];           // a step: bright to the right
    /// Emboss::apply_with(&mut p, 1.0, 0.5);
    /// assert_eq!(p[0][1][0], 0.75);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        alpha: f32,
        strength: f32,
    ) {
        let s = strength;
        let effect = [[-1.0 - s, -s, 0.0], [-s, 1.0, s], [0.0, s, 1.0 + s]];
        correlate3(sample, &blend_kernel(alpha, effect));
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Emboss
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (alpha, strength) = self.draw(rng);
        Self::apply_with(sample, alpha, strength);
    }
}
