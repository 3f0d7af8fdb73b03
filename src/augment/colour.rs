//! Colour transforms: each pixel's values change, pixels do not move.

use super::{Augment, Picture, Pixel};
use rand_core::Rng;

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
