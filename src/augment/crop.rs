//! Crops: a random window of the image, resized back to the full size or shifted in
//! from a padded border.

use super::geometric::translate;
use super::warp::remap;
use super::{probability, Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::uniform;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// Crops a random window and resizes it back to `H × W` (PyTorch:
/// `torchvision.transforms.v2.RandomResizedCrop((H, W), scale, ratio)`). Each
/// application draws, in this order: the area fraction `s` uniformly from `scale`, the
/// aspect ratio `r = w/h` log-uniformly from `ratio`, then the window's top row and
/// left column uniformly among the positions where it fits (four draws). The window is
/// `w = round(√(s·H·W·r))` by `h = round(√(s·H·W/r))` pixels, each clamped into
/// `1..=W` and `1..=H`; torchvision instead retries up to ten times and falls back to a
/// centre crop, which costs a varying number of draws. The resize is [`crop_resize`].
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, CropResize};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[0.25f32, 0.75]; 8]; 8];
/// let crop = CropResize::new((0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0))?;   // torchvision's defaults
/// crop.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[0.25, 0.75]; 8]; 8]);                                 // a flat image stays flat
/// assert_eq!(
///     CropResize::new((0.0, 1.0), (1.0, 1.0)).unwrap_err(),
///     Error::Setting { name: "CropResize scale", value: 0.0, rule: "in (0, 1]" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropResize {
    scale: Range,
    ratio: Range,
}

impl CropResize {
    /// Windows covering a fraction `[scale.0, scale.1]` of the area, with width/height
    /// in `[ratio.0, ratio.1]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"CropResize scale"` for a NaN, infinite or empty range
    /// or a bound outside `(0, 1]`, `"CropResize ratio"` for a NaN, infinite or empty
    /// range or a bound not above 0.
    ///
    /// # Examples
    ///
    /// See [`CropResize`].
    pub const fn new(scale: (f32, f32), ratio: (f32, f32)) -> Result<Self, Error> {
        let scale = ok!(Range::within(
            "CropResize scale",
            scale.0,
            scale.1,
            0.0,
            1.0,
            "in (0, 1]"
        ));
        if scale.lo <= 0.0 {
            return Err(Error::Setting {
                name: "CropResize scale",
                value: scale.lo,
                rule: "in (0, 1]",
            });
        }
        let ratio = ok!(Range::new("CropResize ratio", ratio.0, ratio.1));
        if ratio.lo <= 0.0 {
            return Err(Error::Setting {
                name: "CropResize ratio",
                value: ratio.lo,
                rule: "above 0",
            });
        }
        Ok(CropResize { scale, ratio })
    }
}

/// `floor(u·n)` for a uniform `u ∈ [0, 1)`: a uniform index in `0..n`.
fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((uniform(rng) * n as f32) as usize).min(n.saturating_sub(1))
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for CropResize
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let area = self.scale.draw(rng) * (H * W) as f32;
        let (lo, hi) = (math::ln(self.ratio.lo), math::ln(self.ratio.hi));
        let ratio = math::exp(lo + (hi - lo) * uniform(rng));
        let side = |v: f32, n: usize| (math::round(math::sqrt(v)) as usize).clamp(1, n.max(1));
        let (width, height) = (side(area * ratio, W), side(area / ratio, H));
        let top = index(rng, H + 1 - height.min(H));
        let left = index(rng, W + 1 - width.min(W));
        // The window fits by construction; an empty picture has nothing to crop.
        let _ = crop_resize(sample, top, left, height, width);
    }
}

/// Resizes the window of `height × width` pixels at row `top`, column `left` to the
/// whole picture by bilinear interpolation: output pixel `(x, y)` shows the window at
/// `(left + clamp((x + ½)·width/W − ½, 0, width − 1), top + clamp((y + ½)·height/H − ½,
/// 0, height − 1))`, pixel centres aligned as in `F.interpolate(mode="bilinear",
/// align_corners=False)` and the window's edge pixels repeated (PyTorch:
/// `torchvision.transforms.v2.functional.resized_crop(img, top, left, height, width,
/// (H, W))`; the window is never larger than the picture, so the resize never shrinks
/// and torchvision's antialiasing does not arise).
/// The whole picture as the window is the identity.
///
/// # Errors
///
/// [`Error::Setting`] naming `"crop height"` or `"crop width"` (with the size as the
/// value) if the window is empty or does not fit in the picture; the picture is then
/// unchanged.
///
/// # Examples
///
/// ```
/// use microtrain::augment::crop_resize;
/// let mut p = [[[0u8], [100], [200], [250]]];
/// crop_resize(&mut p, 0, 1, 1, 2)?;                  // columns 1..3 stretched to 4
/// assert_eq!(p, [[[100], [125], [175], [200]]]);
/// assert!(crop_resize(&mut p, 0, 3, 1, 2).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn crop_resize<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    top: usize,
    left: usize,
    height: usize,
    width: usize,
) -> Result<(), Error> {
    let rule = "at least 1, with the window inside the picture";
    if height == 0 || top.checked_add(height).is_none_or(|end| end > H) {
        return Err(Error::Setting {
            name: "crop height",
            value: height as f32,
            rule,
        });
    }
    if width == 0 || left.checked_add(width).is_none_or(|end| end > W) {
        return Err(Error::Setting {
            name: "crop width",
            value: width as f32,
            rule,
        });
    }
    let (sx, sy) = (width as f32 / W as f32, height as f32 / H as f32);
    let (left, top) = (left as f32, top as f32);
    let (right, bottom) = ((width - 1) as f32, (height - 1) as f32);
    remap(picture, 0.0, |x, y| {
        let u = ((x + 0.5) * sx - 0.5).clamp(0.0, right);
        let v = ((y + 0.5) * sy - 0.5).clamp(0.0, bottom);
        (left + u, top + v)
    });
    Ok(())
}

/// Pads the image by `pad_x` pixels left and right and `pad_y` above and below with
/// `fill`, then crops an `H × W` window at a uniformly drawn position (two draws,
/// column first): a shift by a whole number of pixels in `−pad_x..=pad_x` and
/// `−pad_y..=pad_y` (PyTorch: `torchvision.transforms.v2.RandomCrop((H, W),
/// padding=(pad_x, pad_y), fill=fill·MAX)`). Shifting is [`translate`](super::translate)
/// by whole pixels.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, CropPad};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[1u8], [2], [3], [4]]];
/// CropPad::new(1, 0, 0.0)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(2));
/// assert!([[[[0], [1], [2], [3]]], [[[1], [2], [3], [4]]], [[[2], [3], [4], [0]]]].contains(&p));
/// assert!(CropPad::new(1, 1, 2.0).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropPad {
    pad_x: u16,
    pad_y: u16,
    fill: f32,
}

impl CropPad {
    /// Padding `pad_x` left and right, `pad_y` above and below, with `fill`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"CropPad fill"` if `fill` is not in `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`CropPad`].
    pub const fn new(pad_x: u16, pad_y: u16, fill: f32) -> Result<Self, Error> {
        Ok(CropPad {
            pad_x,
            pad_y,
            fill: ok!(probability("CropPad fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for CropPad
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let shift = |rng: &mut R, pad: u16| {
            let pad = usize::from(pad);
            pad as f32 - index(rng, 2 * pad + 1) as f32
        };
        let dx = shift(rng, self.pad_x);
        let dy = shift(rng, self.pad_y);
        translate(sample, dx, dy, self.fill);
    }
}
