//! Geometric transforms: pixels move, values do not change.

use super::warp::{warp, Projective};
use super::{probability, Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::kernels::math;
use crate::Error;
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

/// The centre of a `H × W` picture, `((W − 1)/2, (H − 1)/2)`.
pub(super) fn centre<const H: usize, const W: usize>() -> (f32, f32) {
    ((W as f32 - 1.0) * 0.5, (H as f32 - 1.0) * 0.5)
}

/// Rotates the image by an angle drawn uniformly from `degrees`, counter-clockwise on
/// screen for a positive angle, about its centre `((W − 1)/2, (H − 1)/2)`, reading the
/// source bilinearly with `fill` (a brightness in `[0, 1]`) from outside (PyTorch:
/// `torchvision.transforms.v2.RandomRotation(degrees, InterpolationMode.BILINEAR,
/// fill=fill·MAX)`). One draw per application. The fixed-angle core is [`rotate`].
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Rotate};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[0.5f32]; 4]; 4];
/// Rotate::new((-30.0, 30.0), 0.0)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p.as_flattened().as_flattened().iter().all(|v| (0.0..=0.5).contains(v)));
/// assert_eq!(
///     Rotate::new((0.0, f32::INFINITY), 0.0).unwrap_err(),
///     Error::Setting { name: "Rotate degrees", value: f32::INFINITY, rule: "a finite upper bound at least the lower one" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotate {
    degrees: Range,
    fill: f32,
}

impl Rotate {
    /// Rotation by an angle in `[degrees.0, degrees.1]` degrees, `fill` outside.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Rotate degrees"` for a NaN, infinite or empty range,
    /// `"Rotate fill"` if `fill` is not in `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`Rotate`].
    pub const fn new(degrees: (f32, f32), fill: f32) -> Result<Self, Error> {
        Ok(Rotate {
            degrees: ok!(Range::new("Rotate degrees", degrees.0, degrees.1)),
            fill: ok!(probability("Rotate fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Rotate
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        rotate(sample, self.degrees.draw(rng), self.fill);
    }
}

/// Rotates `picture` by `degrees`, counter-clockwise on screen, about its centre: the
/// output pixel `q` shows the source at `c + R(θ)·(q − c)`, `R(θ) = [[cos θ, −sin θ],
/// [sin θ, cos θ]]`, `c = ((W − 1)/2, (H − 1)/2)`, bilinear with `fill` outside (see
/// [`warp`]). A rotation by 0 is the identity; by a multiple of 90° on a square image it
/// only moves pixels (PyTorch: `torchvision.transforms.v2.functional.rotate`).
///
/// # Examples
///
/// ```
/// use microtrain::augment::rotate;
/// let mut p = [[[1u8], [2]], [[3], [4]]];
/// rotate(&mut p, 90.0, 0.0);                           // a quarter turn to the left
/// assert_eq!(p, [[[2], [4]], [[1], [3]]]);
/// ```
pub fn rotate<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    degrees: f32,
    fill: f32,
) {
    let (cx, cy) = centre::<H, W>();
    warp(picture, &Projective::rotation(degrees, cx, cy), fill);
}

/// Shears the image about its centre by angles drawn uniformly from `x` and `y`
/// (degrees, each in `(−90, 90)`), `fill` outside; two draws per application, `x`
/// first. The fixed-angle core is [`shear`]. (PyTorch:
/// `torchvision.transforms.v2.RandomAffine(0, shear=(x.0, x.1, y.0, y.1))`.)
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Shear};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[200u8]; 3]; 3];
/// Shear::new((-20.0, 20.0), (0.0, 0.0), 0.0)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p[1], [[200]; 3]);                       // the centre row does not move
/// assert_eq!(
///     Shear::new((0.0, 90.0), (0.0, 0.0), 0.0).unwrap_err(),
///     Error::Setting { name: "Shear x", value: 90.0, rule: "in (-90, 90) degrees" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shear {
    x: Range,
    y: Range,
    fill: f32,
}

/// `Range::new` for an angle strictly between −90° and 90°.
const fn shear_range(name: &'static str, r: (f32, f32)) -> Result<Range, Error> {
    let r = ok!(Range::new(name, r.0, r.1));
    let rule = "in (-90, 90) degrees";
    if r.lo <= -90.0 {
        return Err(Error::Setting {
            name,
            value: r.lo,
            rule,
        });
    }
    if r.hi >= 90.0 {
        return Err(Error::Setting {
            name,
            value: r.hi,
            rule,
        });
    }
    Ok(r)
}

impl Shear {
    /// Shear by angles in `[x.0, x.1]` (along x) and `[y.0, y.1]` (along y) degrees.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Shear x"` or `"Shear y"` for a NaN, infinite or empty
    /// range or a bound outside `(−90, 90)`, `"Shear fill"` for a fill outside `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`Shear`].
    pub const fn new(x: (f32, f32), y: (f32, f32), fill: f32) -> Result<Self, Error> {
        Ok(Shear {
            x: ok!(shear_range("Shear x", x)),
            y: ok!(shear_range("Shear y", y)),
            fill: ok!(probability("Shear fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Shear
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let x = self.x.draw(rng);
        let y = self.y.draw(rng);
        shear(sample, x, y, self.fill);
    }
}

/// Shears `picture` about its centre `c`, as torchvision does: first along x by
/// `x_degrees` (a point moves left by `tan(x_degrees)·(y − cy)`, so for a positive
/// angle rows below the centre move left), then along y by `y_degrees` (up by
/// `tan(y_degrees)·(x − cx)`). The forward map is `q = c + [[1, −tx], [−ty, 1 + tx·ty]]
/// ·(p − c)` with `tx = tan(x_degrees)`, `ty = tan(y_degrees)`: torchvision's
/// `R(a)·SHy(sy)·SHx(sx)` at `a = 0`. Output pixel `q` shows the source at
/// `c + [[1 + tx·ty, tx], [ty, 1]]·(q − c)`, bilinear with `fill` outside (see
/// [`warp`]). PyTorch: `torchvision.transforms.v2.functional.affine(img, 0, [0, 0], 1,
/// [x_degrees, y_degrees])`.
///
/// # Examples
///
/// ```
/// use microtrain::augment::shear;
/// let mut p = [[[1.0f32], [0.0], [0.0]], [[0.0], [1.0], [0.0]], [[0.0], [0.0], [1.0]]];
/// shear(&mut p, 45.0, 0.0, 0.0);                   // tan 45° = 1: the diagonal stands up
/// for row in p {
///     assert!((row[1][0] - 1.0).abs() < 1e-6);
/// }
/// ```
pub fn shear<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    x_degrees: f32,
    y_degrees: f32,
    fill: f32,
) {
    let tan = |d: f32| {
        let r = d * (core::f32::consts::PI / 180.0);
        math::sin(r) / math::cos(r)
    };
    let (tx, ty) = (tan(x_degrees), tan(y_degrees));
    let (cx, cy) = centre::<H, W>();
    let a = 1.0 + tx * ty;
    let map = Projective::affine([[a, tx, cx - a * cx - tx * cy], [ty, 1.0, cy - ty * cx - cy]]);
    warp(picture, &map, fill);
}

/// Moves the image by `x·W` pixels right and `y·H` pixels down, the fractions `x`, `y`
/// drawn uniformly from ranges within `[−1, 1]` (two draws, `x` first), with `fill`
/// where the image uncovers. Sub-pixel shifts interpolate bilinearly (torchvision's
/// `RandomAffine(0, translate=(a, b))` draws from `[−a·W, a·W]` and rounds to whole
/// pixels; use [`CropPad`](super::CropPad) for whole-pixel shifts). The fixed-shift core
/// is [`translate`].
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Translate};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[9u8]; 4]; 2];
/// Translate::new((0.0, 0.0), (-0.5, 0.5), 0.0)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(1));
/// assert!(p.iter().all(|row| row[0] == row[3]));       // only vertical moves
/// assert_eq!(
///     Translate::new((-1.5, 0.0), (0.0, 0.0), 0.0).unwrap_err(),
///     Error::Setting { name: "Translate x", value: -1.5, rule: "in [-1, 1] (fractions of the size)" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Translate {
    x: Range,
    y: Range,
    fill: f32,
}

impl Translate {
    /// Shifts by fractions `[x.0, x.1]` of the width and `[y.0, y.1]` of the height.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Translate x"` or `"Translate y"` for a NaN, infinite
    /// or empty range or a bound outside `[−1, 1]`, `"Translate fill"` for a fill outside
    /// `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`Translate`].
    pub const fn new(x: (f32, f32), y: (f32, f32), fill: f32) -> Result<Self, Error> {
        let rule = "in [-1, 1] (fractions of the size)";
        Ok(Translate {
            x: ok!(Range::within("Translate x", x.0, x.1, -1.0, 1.0, rule)),
            y: ok!(Range::within("Translate y", y.0, y.1, -1.0, 1.0, rule)),
            fill: ok!(probability("Translate fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Translate
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let dx = self.x.draw(rng) * W as f32;
        let dy = self.y.draw(rng) * H as f32;
        translate(sample, dx, dy, self.fill);
    }
}

/// Moves `picture` by `dx` pixels right and `dy` pixels down: output pixel `(x, y)`
/// shows the source at `(x − dx, y − dy)`, bilinear with `fill` outside (see [`warp`]).
/// Whole-pixel shifts only move pixels; a shift by 0 is the identity (PyTorch:
/// `torchvision.transforms.v2.functional.affine(img, 0, [dx, dy], 1, 0)`).
///
/// # Examples
///
/// ```
/// use microtrain::augment::translate;
/// let mut p = [[[10u8], [20], [30]]];
/// translate(&mut p, -1.0, 0.0, 0.0);
/// assert_eq!(p, [[[20], [30], [0]]]);
/// ```
pub fn translate<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    dx: f32,
    dy: f32,
    fill: f32,
) {
    warp(
        picture,
        &Projective::affine([[1.0, 0.0, -dx], [0.0, 1.0, -dy]]),
        fill,
    );
}
