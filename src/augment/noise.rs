//! Noise: additive Gaussian noise and Gaussian blur.
//!
//! The noise's σ is a fraction of [`Pixel::MAX`], so one setting means the same on
//! `u8` and `f32` pictures; the blur's σ is in pixels. Every `(lo, hi)` argument is a
//! [`Range`].

use super::colour::{bounded, reflect};
use super::{Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::standard_normal;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// Additive Gaussian noise, independent for every value: `v' = v + σ·MAX·z`,
/// `z ~ N(0, 1)` drawn by [`standard_normal`] in row, column, channel order, with `σ`
/// drawn from `[lo, hi]` per picture (imgaug `AdditiveGaussianNoise(scale=σ·255)` on
/// `u8`, `per_channel=True`; torchvision `GaussianNoise(sigma=σ)` on floats, but with
/// clamping always on).
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, GaussianNoise};
/// use rand_core::SeedableRng;
/// let mut p = [[[0.5f32; 3]; 4]; 4];
/// GaussianNoise::new((0.0, 0.05))?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p.as_flattened().as_flattened().iter().all(|v| (0.0..=1.0).contains(v)));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNoise {
    sigma: Range,
}

impl GaussianNoise {
    /// Standard deviations drawn from `sigma = (lo, hi)`, fractions of `MAX`, not
    /// negative.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"GaussianNoise sigma"` for a NaN, infinite or negative
    /// bound or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianNoise;
    /// assert!(GaussianNoise::new((-0.1, 0.1)).is_err());
    /// ```
    pub const fn new(sigma: (f32, f32)) -> Result<Self, Error> {
        let sigma = ok!(bounded(
            "GaussianNoise sigma",
            sigma,
            0.0,
            f32::MAX,
            "not negative"
        ));
        Ok(GaussianNoise { sigma })
    }

    /// `σ` for one picture, in `[lo, hi]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianNoise;
    /// use rand_core::SeedableRng;
    /// let s = GaussianNoise::new((0.01, 0.1))?.draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.01..=0.1).contains(&s));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        self.sigma.draw(rng)
    }

    /// The core with a fixed `sigma`: `v' = v + sigma·MAX·z`, one
    /// [`standard_normal`] draw `z` per value in row, column, channel order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianNoise;
    /// use rand_core::SeedableRng;
    /// let mut p = [[[7u8, 9]]];
    /// GaussianNoise::apply_with(&mut p, 0.0, &mut rand_pcg::Pcg32::seed_from_u64(0));
    /// assert_eq!(p, [[[7, 9]]]);
    /// ```
    pub fn apply_with<P: Pixel, R: Rng + ?Sized, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        sigma: f32,
        rng: &mut R,
    ) {
        let scale = sigma * P::MAX;
        for v in sample.as_flattened_mut().as_flattened_mut() {
            *v = P::from_f32(v.to_f32() + scale * standard_normal(rng));
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for GaussianNoise
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let sigma = self.draw(rng);
        Self::apply_with(sample, sigma, rng);
    }
}

/// Gaussian blur with `σ` (in pixels) drawn from `[lo, hi]` per picture and a kernel
/// of radius `K` (`2K + 1` taps; torchvision `GaussianBlur(kernel_size=2K+1, sigma)`).
///
/// The taps are `wₖ = exp(−k²/(2σ²)) / Σⱼ exp(−j²/(2σ²))` for `|k| ≤ K`, applied
/// separably: along rows, then along columns, the intermediate kept in `f32` (a copy
/// of the picture on the stack). Each output sums `w₀·v₀` and then `wₖ·(v₋ₖ + vₖ)` for
/// `k = 1..=K`. Edges are reflected without repeating the border pixel, like
/// torchvision's `padding_mode="reflect"` (folded again where `K` exceeds the picture).
/// `σ = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, GaussianBlur};
/// use rand_core::SeedableRng;
/// let blur = GaussianBlur::<2>::new((0.1, 2.0))?;
/// let mut p = [[[0.0f32], [0.0], [1.0], [0.0], [0.0]]];
/// blur.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p[0][2][0] < 1.0 && p[0][1][0] == p[0][3][0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianBlur<const K: usize> {
    sigma: Range,
}

impl<const K: usize> GaussianBlur<K> {
    /// Standard deviations (in pixels) drawn from `sigma = (lo, hi)`, not negative.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"GaussianBlur sigma"` for a NaN, infinite or negative
    /// bound or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianBlur;
    /// assert!(GaussianBlur::<3>::new((0.5, f32::INFINITY)).is_err());
    /// ```
    pub const fn new(sigma: (f32, f32)) -> Result<Self, Error> {
        let sigma = ok!(bounded(
            "GaussianBlur sigma",
            sigma,
            0.0,
            f32::MAX,
            "not negative"
        ));
        Ok(GaussianBlur { sigma })
    }

    /// `σ` for one picture, in `[lo, hi]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianBlur;
    /// use rand_core::SeedableRng;
    /// let s = GaussianBlur::<2>::new((0.1, 2.0))?.draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((0.1..=2.0).contains(&s));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        self.sigma.draw(rng)
    }

    /// The deterministic core with a fixed `sigma`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::GaussianBlur;
    /// let mut p = [[[0u8], [255], [0]]];
    /// GaussianBlur::<1>::apply_with(&mut p, 1e6);                 // a box filter
    /// assert_eq!(p, [[[170], [85], [170]]]);                       // edges reflect
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        sigma: f32,
    ) {
        // Taps for k = 1..=K (w₀ = 1 before normalising); σ = 0 gives exp(−∞) = 0.
        let mut taps = [0.0f32; K];
        let mut total = 1.0;
        for (k, w) in taps.iter_mut().enumerate() {
            let d = (k + 1) as f32;
            *w = math::exp(-(d * d) / (2.0 * sigma * sigma));
            total += 2.0 * *w;
        }
        let centre = 1.0 / total;
        for w in taps.iter_mut() {
            *w /= total;
        }
        // Along rows, into an f32 copy.
        let mut rows = [[[0.0f32; C]; W]; H];
        for (y, row) in rows.iter_mut().enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                for (c, v) in pixel.iter_mut().enumerate() {
                    *v = blur_line(|sx| sample[y][sx][c].to_f32(), x, W, centre, &taps);
                }
            }
        }
        // Along columns, back into the picture.
        for (y, row) in sample.iter_mut().enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                for (c, v) in pixel.iter_mut().enumerate() {
                    *v = P::from_f32(blur_line(|sy| rows[sy][x][c], y, H, centre, &taps));
                }
            }
        }
    }
}

/// One blurred value at `i` of a line of `n` values `line(j)`: `centre·line(i)`, then
/// `taps[k−1]·(line(i−k) + line(i+k))` for `k = 1..=K`, indices reflected.
fn blur_line<const K: usize>(
    line: impl Fn(usize) -> f32,
    i: usize,
    n: usize,
    centre: f32,
    taps: &[f32; K],
) -> f32 {
    let mut sum = centre * line(i);
    for (k, &w) in taps.iter().enumerate() {
        let d = k as isize + 1;
        sum += w * (line(reflect(i as isize - d, n)) + line(reflect(i as isize + d, n)));
    }
    sum
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const K: usize>
    Augment<Picture<P, H, W, C>> for GaussianBlur<K>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        Self::apply_with(sample, self.draw(rng));
    }
}
