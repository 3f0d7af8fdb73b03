//! Occlusion: coarse salt and pepper, and cutout.
//!
//! Fill values are fractions of [`Pixel::MAX`] and sizes are fractions of the picture,
//! so one setting means the same on `u8` and `f32` pictures and on any resolution.
//! Every `(lo, hi)` argument is a [`Range`].

use super::colour::{bounded, fraction};
use super::{Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::uniform;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// The coarse mask shared by [`CoarseSalt`] and [`CoarsePepper`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Coarse {
    p: Range,
    size: Range,
}

impl Coarse {
    const fn new(
        p: (f32, f32),
        size: (f32, f32),
        p_name: &'static str,
        size_name: &'static str,
    ) -> Result<Self, Error> {
        let p = ok!(fraction(p_name, p));
        let size = ok!(bounded(
            size_name,
            size,
            f32::MIN_POSITIVE,
            1.0,
            "in (0, 1]"
        ));
        Ok(Coarse { p, size })
    }

    /// `(p, size)`, then the mask's `rows × cols = round(H·size) × round(W·size)` (at
    /// least 1), cells drawn row by row, each set with probability `p`.
    fn draw<R: Rng + ?Sized, const H: usize, const W: usize>(
        &self,
        rng: &mut R,
    ) -> ([[bool; W]; H], usize, usize) {
        let p = self.p.draw(rng);
        let size = self.size.draw(rng);
        let cells = |n: usize| (math::round(n as f32 * size) as usize).clamp(1, n.max(1));
        let (rows, cols) = (cells(H), cells(W));
        let mut mask = [[false; W]; H];
        for row in mask.iter_mut().take(rows) {
            for cell in row.iter_mut().take(cols) {
                *cell = uniform(rng) < p;
            }
        }
        (mask, rows, cols)
    }
}

/// Sets every pixel (all channels) whose cell of the `rows × cols` mask is set to
/// `value`; pixel `(y, x)` lies in cell `(⌊y·rows/H⌋, ⌊x·cols/W⌋)` (nearest upsampling,
/// as PyTorch's `interpolate(mode="nearest")`). `rows`/`cols` are clamped to `1..=H`/`W`.
fn coarse_fill<P: Pixel, const H: usize, const W: usize, const C: usize>(
    sample: &mut Picture<P, H, W, C>,
    mask: &[[bool; W]; H],
    rows: usize,
    cols: usize,
    value: f32,
) {
    let rows = rows.clamp(1, H.max(1));
    let cols = cols.clamp(1, W.max(1));
    for (y, row) in sample.iter_mut().enumerate() {
        for (x, pixel) in row.iter_mut().enumerate() {
            if mask[y * rows / H][x * cols / W] {
                *pixel = [P::from_f32(value); C];
            }
        }
    }
}

macro_rules! coarse {
    ($name:ident, $value:expr, $what:literal, $imgaug:literal, $p:literal, $size:literal) => {
        #[doc = concat!("Coarse ", $what, " as imgaug's `", $imgaug, "(p, size_percent)`: a")]
        /// random mask of `round(H·size) × round(W·size)` cells (`size` drawn per
        /// picture, a fraction of the picture), each set with probability `p` (drawn
        /// per picture), upsampled by nearest neighbour; the pixels under set cells
        #[doc = concat!("become ", $what, " (every channel ", stringify!($value), ").")]
        /// imgaug draws the replacement values near the extreme; here they are exactly
        /// it.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use microtrain::augment::{Augment, ", stringify!($name), "};")]
        /// use rand_core::SeedableRng;
        #[doc = concat!("let t = ", stringify!($name), "::new((1.0, 1.0), (0.5, 0.5))?;")]
        /// let mut p = [[[100u8; 3]; 4]; 4];
        /// t.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
        #[doc = concat!("assert_eq!(p, [[[", stringify!($value), "; 3]; 4]; 4]);")]
        /// # Ok::<(), microtrain::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name(Coarse);

        impl $name {
            /// Probabilities drawn from `p` and mask sizes from `size`, fractions of
            /// the picture's height and width.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`Error::Setting`] named `\"", $p, "\"` if a bound of `p` is")]
            #[doc = concat!("outside `[0, 1]`, `\"", $size, "\"` if one of `size` is")]
            /// outside `(0, 1]`, either if `hi < lo` or a bound is NaN.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use microtrain::augment::", stringify!($name), ";")]
            #[doc = concat!("assert!(", stringify!($name), "::new((0.0, 0.1), (0.0, 0.1)).is_err());")]
            /// ```
            pub const fn new(p: (f32, f32), size: (f32, f32)) -> Result<Self, Error> {
                match Coarse::new(p, size, $p, $size) {
                    Ok(c) => Ok($name(c)),
                    Err(e) => Err(e),
                }
            }

            /// `(p, size)` for one picture, drawn in that order.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use microtrain::augment::", stringify!($name), ";")]
            /// use rand_core::SeedableRng;
            #[doc = concat!("let (p, s) = ", stringify!($name), "::new((0.0, 0.1), (0.1, 0.5))?")]
            ///     .draw(&mut rand_pcg::Pcg32::seed_from_u64(1));
            /// assert!((0.0..=0.1).contains(&p) && (0.1..=0.5).contains(&s));
            /// # Ok::<(), microtrain::Error>(())
            /// ```
            pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f32, f32) {
                let p = self.0.p.draw(rng);
                (p, self.0.size.draw(rng))
            }

            /// The deterministic core: the mask is `mask[..rows][..cols]`; pixel
            /// `(y, x)` lies in cell `(⌊y·rows/H⌋, ⌊x·cols/W⌋)`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use microtrain::augment::", stringify!($name), ";")]
            /// let mut p = [[[100u8], [100], [100], [100]]];       // 1 × 4
            /// let mask = [[true, false, false, false]];             // 1 × 2 cells used
            #[doc = concat!(stringify!($name), "::apply_with(&mut p, &mask, 1, 2);")]
            #[doc = concat!("assert_eq!(p, [[[", stringify!($value), "], [", stringify!($value), "], [100], [100]]]);")]
            /// ```
            pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
                sample: &mut Picture<P, H, W, C>,
                mask: &[[bool; W]; H],
                rows: usize,
                cols: usize,
            ) {
                coarse_fill(sample, mask, rows, cols, P::MAX * ($value as f32 / 255.0));
            }
        }

        impl<P: Pixel, const H: usize, const W: usize, const C: usize>
            Augment<Picture<P, H, W, C>> for $name
        {
            fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
                let (mask, rows, cols) = self.0.draw::<R, H, W>(rng);
                Self::apply_with(sample, &mask, rows, cols);
            }
        }
    };
}

coarse!(
    CoarseSalt,
    255,
    "salt",
    "CoarseSalt",
    "CoarseSalt p",
    "CoarseSalt size"
);
coarse!(
    CoarsePepper,
    0,
    "pepper",
    "CoarsePepper",
    "CoarsePepper p",
    "CoarsePepper size"
);

/// Cutout (DeVries & Taylor 2017): `N` rectangles filled with the value `fill·MAX` on
/// every channel. Each rectangle's height and width are `round(h·H)` and `round(w·W)`
/// with `h`, `w` drawn from their ranges, and it lies wholly inside the picture, its
/// top-left corner uniform over the places it fits (torchvision `RandomErasing` with
/// `value=fill`, drawing sizes rather than area and aspect ratio). Rectangles may
/// overlap; pixels outside them do not change.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Cutout};
/// use rand_core::SeedableRng;
/// let cutout = Cutout::<2>::new((0.25, 0.5), (0.25, 0.5), 0.0)?;
/// let mut p = [[[1.0f32; 3]; 8]; 8];
/// cutout.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// let erased = p.as_flattened().iter().filter(|v| v[0] == 0.0).count();
/// assert!((4..=32).contains(&erased));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cutout<const N: usize> {
    height: Range,
    width: Range,
    fill: f32,
}

impl<const N: usize> Cutout<N> {
    /// `N` rectangles whose heights and widths, as fractions of the picture's, are
    /// drawn from `height` and `width`, filled with `fill·MAX` (`fill` in `[0, 1]`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"Cutout height"`, `"Cutout width"` or `"Cutout fill"`
    /// for a value outside `[0, 1]` (NaN included) or `hi < lo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Cutout;
    /// assert!(Cutout::<1>::new((0.2, 0.4), (0.2, 0.4), 1.5).is_err());
    /// ```
    pub const fn new(height: (f32, f32), width: (f32, f32), fill: f32) -> Result<Self, Error> {
        let height = ok!(fraction("Cutout height", height));
        let width = ok!(fraction("Cutout width", width));
        let fill = ok!(super::probability("Cutout fill", fill));
        Ok(Cutout {
            height,
            width,
            fill,
        })
    }

    /// The rectangles `[top, left, height, width]` for one `rows × cols` picture:
    /// for each in turn the height fraction, the width fraction, then the top and the
    /// left corner.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Cutout;
    /// use rand_core::SeedableRng;
    /// let [[top, left, h, w]] = Cutout::<1>::new((0.5, 0.5), (0.25, 0.25), 0.0)?
    ///     .draw(8, 8, &mut rand_pcg::Pcg32::seed_from_u64(1));
    /// assert!((h, w) == (4, 2) && top + h <= 8 && left + w <= 8);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn draw<R: Rng + ?Sized>(&self, rows: usize, cols: usize, rng: &mut R) -> [[usize; 4]; N] {
        let mut rects = [[0; 4]; N];
        let extent = |fraction: f32, n: usize| (math::round(fraction * n as f32) as usize).min(n);
        let place = |u: f32, room: usize| ((u * (room + 1) as f32) as usize).min(room);
        for rect in rects.iter_mut() {
            let h = extent(self.height.draw(rng), rows);
            let w = extent(self.width.draw(rng), cols);
            let top = place(uniform(rng), rows - h);
            let left = place(uniform(rng), cols - w);
            *rect = [top, left, h, w];
        }
        rects
    }

    /// The deterministic core: fills each `[top, left, height, width]` of `rects`
    /// (clipped to the picture) with `fill·MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Cutout;
    /// let mut p = [[[9u8], [9], [9]], [[9], [9], [9]]];
    /// Cutout::<1>::apply_with(&mut p, &[[1, 1, 5, 1]], 0.0);
    /// assert_eq!(p, [[[9], [9], [9]], [[9], [0], [9]]]);
    /// ```
    pub fn apply_with<P: Pixel, const H: usize, const W: usize, const C: usize>(
        sample: &mut Picture<P, H, W, C>,
        rects: &[[usize; 4]],
        fill: f32,
    ) {
        let value = [P::from_f32(fill * P::MAX); C];
        for &[top, left, h, w] in rects {
            for row in sample.iter_mut().skip(top).take(h) {
                for pixel in row.iter_mut().skip(left).take(w) {
                    *pixel = value;
                }
            }
        }
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const N: usize>
    Augment<Picture<P, H, W, C>> for Cutout<N>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let rects = self.draw(H, W, rng);
        Self::apply_with(sample, &rects, self.fill);
    }
}
