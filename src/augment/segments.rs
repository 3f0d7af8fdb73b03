//! Segments: super-pixels, regions of the picture replaced by their mean colour.

use super::colour::fraction;
use super::{Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::uniform;
use crate::Error;
use rand_core::Rng;

/// Super-pixels, after imgaug's `Superpixels(p_replace, n_segments)`: the picture is cut
/// into `N` regions and each region, with probability `p` (drawn per picture from
/// `p_replace`), has every pixel replaced by the region's mean, channel by channel.
///
/// imgaug cuts regions with SLIC; that is too heavy here, so the regions are the
/// Voronoi cells of `N` random seed pixels: pixel `(y, x)` belongs to the seed nearest
/// in Euclidean distance (ties to the lower index). The draws are `p`, then each seed's
/// row `⌊u·H⌋` and column `⌊u·W⌋`, then each region's replacement (`u < p`), in order.
/// A region whose seed is nobody's nearest (a duplicate seed) is empty. Means are
/// `f32` sums in row order divided by the count. `p = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Superpixels};
/// use rand_core::SeedableRng;
/// let all = Superpixels::<1>::new((1.0, 1.0))?;             // one region, always replaced
/// let mut p = [[[0u8], [100]], [[100], [200]]];
/// all.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[100], [100]], [[100], [100]]]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Superpixels<const N: usize> {
    p_replace: Range,
}

impl<const N: usize> Superpixels<N> {
    /// Replacement probabilities drawn from `p_replace`, in `[0, 1]` (imgaug's default
    /// is `(0, 1)`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Superpixels p_replace"` for a bound outside `[0, 1]`
    /// (NaN included) or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Superpixels;
    /// assert!(Superpixels::<16>::new((0.5, 1.5)).is_err());
    /// ```
    pub const fn new(p_replace: (f32, f32)) -> Result<Self, Error> {
        let p_replace = ok!(fraction("Superpixels p_replace", p_replace));
        Ok(Superpixels { p_replace })
    }

    /// The seeds `[row, col]` and replacement decisions for one `rows × cols` picture.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Superpixels;
    /// use rand_core::SeedableRng;
    /// let (seeds, replace) = Superpixels::<4>::new((0.0, 0.0))?
    ///     .draw(5, 7, &mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!(seeds.iter().all(|&[y, x]| y < 5 && x < 7));
    /// assert_eq!(replace, [false; 4]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(
        &self,
        rows: usize,
        cols: usize,
        rng: &mut R,
    ) -> ([[usize; 2]; N], [bool; N]) {
        let p = self.p_replace.draw(rng);
        let at = |u: f32, n: usize| ((u * n as f32) as usize).min(n.saturating_sub(1));
        let mut seeds = [[0; 2]; N];
        for seed in seeds.iter_mut() {
            let y = at(uniform(rng), rows);
            *seed = [y, at(uniform(rng), cols)];
        }
        let mut replace = [false; N];
        for r in replace.iter_mut() {
            *r = uniform(rng) < p;
        }
        (seeds, replace)
    }

    /// The deterministic core: regions are the Voronoi cells of `seeds` (`[row, col]`,
    /// any position), and region `i` is replaced by its mean where `replace[i]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Superpixels;
    /// let mut p = [[[0.0f32], [0.5], [0.25], [0.75]]];
    /// Superpixels::apply_with(&mut p, &[[0, 0], [0, 3]], &[true, false]);
    /// assert_eq!(p, [[[0.25], [0.25], [0.25], [0.75]]]);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        seeds: &[[usize; 2]; N],
        replace: &[bool; N],
    ) {
        if !replace.iter().any(|&r| r) {
            return;
        }
        let mut sums = [[0.0f32; C]; N];
        let mut counts = [0u32; N];
        for (y, row) in sample.iter().enumerate() {
            for (x, pixel) in row.iter().enumerate() {
                let region = nearest(seeds, y, x);
                counts[region] += 1;
                for (sum, v) in sums[region].iter_mut().zip(pixel) {
                    *sum += v.to_f32();
                }
            }
        }
        let mut means = [[P::from_f32(0.0); C]; N];
        for ((mean, sum), &count) in means.iter_mut().zip(&sums).zip(&counts) {
            for (m, &s) in mean.iter_mut().zip(sum) {
                *m = P::from_f32(s / count.max(1) as f32);
            }
        }
        for (y, row) in sample.iter_mut().enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                let region = nearest(seeds, y, x);
                if replace[region] {
                    *pixel = means[region];
                }
            }
        }
    }
}

/// The index of the seed nearest to `(y, x)` (squared Euclidean distance, saturating;
/// ties to the lower index).
fn nearest<const N: usize>(seeds: &[[usize; 2]; N], y: usize, x: usize) -> usize {
    let mut best = (u64::MAX, 0);
    for (i, &[sy, sx]) in seeds.iter().enumerate() {
        let (dy, dx) = (sy.abs_diff(y) as u64, sx.abs_diff(x) as u64);
        let d = dy.saturating_mul(dy).saturating_add(dx.saturating_mul(dx));
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const N: usize>
    Augment<Picture<P, H, W, C>> for Superpixels<N>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (seeds, replace) = self.draw(H, W, rng);
        Self::apply_with(sample, &seeds, &replace);
    }
}
