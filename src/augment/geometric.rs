//! Geometric transforms: pixels move, values do not change.

use super::{Augment, Picture};
use rand_core::Rng;

/// Mirrors the image left–right: column `x` becomes column `W − 1 − x` (PyTorch:
/// `torchvision.transforms.v2.functional.horizontal_flip`). Flipping twice is the
/// identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, FlipHorizontal};
/// use rand_core::SeedableRng;
/// let mut p = [[[1u8, 2], [3, 4]]];                          // 1 × 2 pixels, 2 channels
/// FlipHorizontal.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[3, 4], [1, 2]]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FlipHorizontal;

impl<P: Copy, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for FlipHorizontal
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, _rng: &mut R) {
        for row in sample.iter_mut() {
            row.reverse();
        }
    }
}

/// Mirrors the image top–bottom: row `y` becomes row `H − 1 − y` (PyTorch:
/// `torchvision.transforms.v2.functional.vertical_flip`). Flipping twice is the
/// identity.
///
/// # Examples
///
/// See [`Augment`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FlipVertical;

impl<P: Copy, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for FlipVertical
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, _rng: &mut R) {
        sample.reverse();
    }
}
