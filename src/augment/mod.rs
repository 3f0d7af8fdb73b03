//! Data augmentation: new training samples from simple random transformations of the
//! ones you have ("Not enough data? Augment the data set with new data from simple
//! transformations").
//!
//! A transform implements [`Augment<S>`] for the samples `S` it understands: an image
//! of `H × W` pixels with `C` channels is a [`Picture<P, H, W, C>`] (channels-last, the
//! layout of one sample of an [`Image`] batch), with `u8` or `f32` [`Pixel`]s. Each
//! transform draws its parameters from a [`rand_core::Rng`] within [`Range`]s its
//! constructor checked, so bad settings (an empty range, NaN, a probability outside
//! `[0, 1]`) are refused where they are made, with an [`Error::Setting`] naming them.
//! [`Maybe`] gives a transform a probability; a tuple of transforms is a pipeline that
//! applies them in order. Nothing allocates: scratch space is a copy of the sample on
//! the stack, sized by the sample's type.
//!
//! The trainer applies a pipeline to each training batch through
//! [`Trainer::epoch_augmented`](crate::train::Trainer::epoch_augmented) and
//! [`each_image`], never in evaluation. The generator is the epoch's, so one seed gives
//! the same augmented batches on the host and on the device.
//!
//! PyTorch's counterpart is `torchvision.transforms.v2` (`RandomApply`, `Compose`).
//!
//! # Examples
//!
//! ```
//! use microtrain::augment::{Augment, FlipHorizontal, Invert, Maybe};
//! use rand_core::SeedableRng;
//! let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
//! let pipeline = (FlipHorizontal, Maybe::new(0.5, Invert)?);
//! let mut picture = [[[10u8], [20], [30]]];                 // 1 × 3 pixels, 1 channel
//! pipeline.apply(&mut picture, &mut rng);
//! assert!(picture == [[[30], [20], [10]]] || picture == [[[225], [235], [245]]]);
//! # Ok::<(), microtrain::Error>(())
//! ```

mod colour;
mod crop;
mod deform;
mod geometric;
mod noise;
mod occlusion;
mod segments;
mod signal;
mod warp;
mod weather;

pub use colour::{Brighten, Emboss, GammaContrast, Invert, Sharpen};
pub use crop::{crop_resize, CropPad, CropResize};
pub use deform::{elastic, perspective, Elastic, Perspective};
pub use geometric::{
    rotate, shear, translate, FlipHorizontal, FlipVertical, Rotate, Shear, Translate,
};
pub use noise::{GaussianBlur, GaussianNoise};
pub use occlusion::{CoarsePepper, CoarseSalt, Cutout};
pub use segments::Superpixels;
pub use signal::{
    ChannelDropout, Jitter, MagnitudeWarp, MixSameClass, Scaling, TimeShift, TimeWarp,
};
pub use warp::{warp, Projective};
pub use weather::{Clouds, Fog, Snow};

use crate::init::uniform;
use crate::{Error, Image};
use rand_core::Rng;

/// One image of `H × W` pixels with `C` channels each, channels-last: row, column,
/// channel. One sample of an [`Image<B, H, W, C>`] batch is a `Picture<f32, H, W, C>`,
/// and a 1-D window of `L` steps ([`Signal`](crate::Signal)) is a
/// `Picture<f32, 1, L, C>`.
///
/// # Examples
///
/// ```
/// use microtrain::augment::Picture;
/// let rgb: Picture<u8, 2, 2, 3> = [[[255, 0, 0]; 2]; 2];   // 2 × 2 red pixels
/// assert_eq!(rgb[1][0], [255, 0, 0]);
/// ```
pub type Picture<P, const H: usize, const W: usize, const C: usize> = [[[P; C]; W]; H];

/// A pixel value: `u8` in `0..=255` or `f32` in `[0, 1]`. Transforms compute in `f32`
/// and store through [`Pixel::from_f32`], which clamps into the range, so every output
/// stays a valid pixel.
///
/// # Examples
///
/// ```
/// use microtrain::augment::Pixel;
/// assert_eq!(u8::from_f32(300.0), 255);
/// assert_eq!(u8::from_f32(12.5), 13);         // rounds half away from zero
/// assert_eq!(f32::from_f32(-0.25), 0.0);
/// assert_eq!(<u8 as Pixel>::MAX, 255.0);
/// ```
pub trait Pixel: Copy + PartialEq + core::fmt::Debug {
    /// The brightest value, as `f32` (the darkest is 0).
    const MAX: f32;
    /// The value as `f32`.
    fn to_f32(self) -> f32;
    /// The nearest pixel to `v`, clamped into `[0, MAX]` (NaN becomes 0).
    fn from_f32(v: f32) -> Self;
}

impl Pixel for u8 {
    const MAX: f32 = 255.0;
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        // `as` saturates and maps NaN to 0; rounding first keeps the nearest value.
        crate::kernels::math::round(v) as u8
    }
}

impl Pixel for f32 {
    const MAX: f32 = 1.0;
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        if v >= 0.0 {
            v.min(1.0)
        } else {
            0.0
        }
    }
}

/// A transform of samples `S` whose parameters are drawn from a generator.
///
/// Implemented by every transform of this module for the samples it understands, by
/// [`Maybe`], and by tuples of up to eight transforms (a pipeline: applied in order).
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, FlipVertical};
/// use rand_core::SeedableRng;
/// let mut p = [[[1.0f32]], [[2.0]]];                       // 2 × 1 pixels
/// FlipVertical.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[2.0]], [[1.0]]]);
/// ```
pub trait Augment<S> {
    /// Transforms `sample` in place, drawing any random parameter from `rng`.
    fn apply<R: Rng + ?Sized>(&self, sample: &mut S, rng: &mut R);
}

/// Applies transform `A` with probability `p` (PyTorch: `transforms.RandomApply([a], p)`).
/// One uniform draw decides, then `A` draws its own parameters.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Invert, Maybe};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let never = Maybe::new(0.0, Invert)?;
/// let mut p = [[[7u8]]];
/// never.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[7]]]);
/// assert_eq!(
///     Maybe::new(1.5, Invert).unwrap_err(),
///     Error::Setting { name: "probability", value: 1.5, rule: "in [0, 1]" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Maybe<A> {
    p: f32,
    transform: A,
}

impl<A: Copy> Maybe<A> {
    /// `transform` applied with probability `p`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if `p` is not in `[0, 1]` (NaN included).
    ///
    /// # Examples
    ///
    /// See [`Maybe`].
    pub const fn new(p: f32, transform: A) -> Result<Self, Error> {
        match probability("probability", p) {
            Ok(p) => Ok(Maybe { p, transform }),
            Err(e) => Err(e),
        }
    }
}

impl<S, A: Augment<S>> Augment<S> for Maybe<A> {
    fn apply<R: Rng + ?Sized>(&self, sample: &mut S, rng: &mut R) {
        if uniform(rng) < self.p {
            self.transform.apply(sample, rng);
        }
    }
}

macro_rules! pipeline {
    ($($name:ident),+) => {
        impl<S, $($name: Augment<S>),+> Augment<S> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn apply<R: Rng + ?Sized>(&self, sample: &mut S, rng: &mut R) {
                let ($($name,)+) = self;
                $($name.apply(sample, rng);)+
            }
        }
    };
}

pipeline!(A);
pipeline!(A, B2);
pipeline!(A, B2, C);
pipeline!(A, B2, C, D);
pipeline!(A, B2, C, D, E);
pipeline!(A, B2, C, D, E, F);
pipeline!(A, B2, C, D, E, F, G);
pipeline!(A, B2, C, D, E, F, G, H);

/// A closed interval `[lo, hi]` from which a transform draws a parameter uniformly
/// (`lo == hi` draws that value every time).
///
/// # Examples
///
/// ```
/// use microtrain::augment::Range;
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let r = Range::new("degrees", -15.0, 15.0)?;
/// let d = r.draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
/// assert!((-15.0..=15.0).contains(&d));
/// assert_eq!(
///     Range::new("degrees", 1.0, -1.0).unwrap_err(),
///     Error::Setting { name: "degrees", value: -1.0, rule: "a finite upper bound at least the lower one" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The lower bound.
    pub lo: f32,
    /// The upper bound.
    pub hi: f32,
}

impl Range {
    /// The interval `[lo, hi]` for the setting `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `name` if a bound is NaN or infinite or `hi < lo`.
    ///
    /// # Examples
    ///
    /// See [`Range`].
    pub const fn new(name: &'static str, lo: f32, hi: f32) -> Result<Self, Error> {
        if !lo.is_finite() {
            return Err(Error::Setting {
                name,
                value: lo,
                rule: "a finite lower bound",
            });
        }
        if !hi.is_finite() || hi < lo {
            return Err(Error::Setting {
                name,
                value: hi,
                rule: "a finite upper bound at least the lower one",
            });
        }
        Ok(Range { lo, hi })
    }

    /// `new` for a setting that must also lie within `[min, max]` (an opacity, a
    /// fraction of the image).
    ///
    /// # Errors
    ///
    /// As [`Range::new`], and [`Error::Setting`] with `rule` if a bound is outside
    /// `[min, max]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Range;
    /// assert!(Range::within("fraction", 0.1, 0.5, 0.0, 1.0, "in [0, 1]").is_ok());
    /// assert!(Range::within("fraction", 0.1, 1.5, 0.0, 1.0, "in [0, 1]").is_err());
    /// ```
    pub const fn within(
        name: &'static str,
        lo: f32,
        hi: f32,
        min: f32,
        max: f32,
        rule: &'static str,
    ) -> Result<Self, Error> {
        match Range::new(name, lo, hi) {
            Ok(r) if r.lo < min => Err(Error::Setting {
                name,
                value: lo,
                rule,
            }),
            Ok(r) if r.hi > max => Err(Error::Setting {
                name,
                value: hi,
                rule,
            }),
            other => other,
        }
    }

    /// A uniform draw `lo + (hi − lo)·u`, `u ∈ [0, 1)`.
    ///
    /// # Examples
    ///
    /// See [`Range`].
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        self.lo + (self.hi - self.lo) * uniform(rng)
    }
}

pub use crate::check::probability;

/// Applies `transform` to the first `rows` samples of an image batch (the real samples
/// of a partial batch; padding rows stay zero), in sample order, all drawing from
/// `rng`. This is what a trainer's augmentation hook calls for image models.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{each_image, FlipHorizontal};
/// use microtrain::Image;
/// use rand_core::SeedableRng;
/// let mut batch = Image([[[[1.0], [2.0]]], [[[3.0], [4.0]]]]);   // 2 samples of 1 × 2
/// each_image(&FlipHorizontal, &mut batch, 1, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(batch.0, [[[[2.0], [1.0]]], [[[3.0], [4.0]]]]);      // only row 0
/// ```
pub fn each_image<A, R, const B: usize, const H: usize, const W: usize, const C: usize>(
    transform: &A,
    batch: &mut Image<B, H, W, C>,
    rows: usize,
    rng: &mut R,
) where
    A: Augment<Picture<f32, H, W, C>>,
    R: Rng + ?Sized,
{
    for sample in batch.0.iter_mut().take(rows) {
        transform.apply(sample, rng);
    }
}
