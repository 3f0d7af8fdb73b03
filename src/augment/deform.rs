//! Deformations that bend straight lines: perspective and elastic.

use super::warp::{remap, warp, Projective};
use super::{probability, Augment, Picture, Pixel, Range};
use crate::check::ok;
use crate::init::uniform;
use crate::kernels::math;
use crate::Error;
use rand_core::Rng;

/// Views the image from a random angle (PyTorch:
/// `torchvision.transforms.v2.RandomPerspective(distortion, fill=fill·MAX)`): each
/// corner `(0, 0), (W − 1, 0), (W − 1, H − 1), (0, H − 1)` moves inwards by
/// `u·distortion·(W − 1)/2` horizontally and `u'·distortion·(H − 1)/2` vertically, every
/// `u` drawn uniformly from `[0, 1)` (eight draws: corner by corner in that order,
/// horizontal first), and [`perspective`] moves the corners there. torchvision draws
/// whole-pixel offsets up to `distortion·⌊W/2⌋`; these are continuous and keep each
/// corner in its own quadrant, so the four never cross.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Perspective};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[1.0f32]; 6]; 6];
/// Perspective::new(0.5, 0.0)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(p[0][0][0] < 1.0 && p[3][3][0] == 1.0);     // corners fill, the middle stays
/// assert_eq!(
///     Perspective::new(1.5, 0.0).unwrap_err(),
///     Error::Setting { name: "Perspective distortion", value: 1.5, rule: "in [0, 1]" }
/// );
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Perspective {
    distortion: f32,
    fill: f32,
}

impl Perspective {
    /// Corners moving inwards by up to `distortion` (in `[0, 1]`) of half the size,
    /// `fill` where the image uncovers.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Perspective distortion"` or `"Perspective fill"` if
    /// either is not in `[0, 1]` (NaN included).
    ///
    /// # Examples
    ///
    /// See [`Perspective`].
    pub const fn new(distortion: f32, fill: f32) -> Result<Self, Error> {
        Ok(Perspective {
            distortion: ok!(probability("Perspective distortion", distortion)),
            fill: ok!(probability("Perspective fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize> Augment<Picture<P, H, W, C>>
    for Perspective
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let (right, bottom) = (W as f32 - 1.0, H as f32 - 1.0);
        let (dx, dy) = (
            self.distortion * right * 0.5,
            self.distortion * bottom * 0.5,
        );
        let from = [[0.0, 0.0], [right, 0.0], [right, bottom], [0.0, bottom]];
        let mut to = from;
        for (corner, point) in to.iter_mut().enumerate() {
            let inward_x = if corner == 1 || corner == 2 { -dx } else { dx };
            let inward_y = if corner >= 2 { -dy } else { dy };
            point[0] += inward_x * uniform(rng);
            point[1] += inward_y * uniform(rng);
        }
        // Degenerate corners (a picture one pixel wide) leave the picture as it is.
        let _ = perspective(sample, from, to, self.fill);
    }
}

/// Moves the image content at each point `from[k] = [x, y]` to `to[k]` by the
/// projective map through those four pairs: output pixel `q` shows the source at
/// `Projective::between(to, from).map(q)`, bilinear with `fill` outside (see
/// [`warp`]). PyTorch: `torchvision.transforms.v2.functional.perspective(img,
/// startpoints=from, endpoints=to)`.
///
/// # Errors
///
/// [`Error::Setting`] from [`Projective::between`] if a point is not finite or three
/// points of a set lie on a line; the picture is then unchanged.
///
/// # Examples
///
/// ```
/// use microtrain::augment::perspective;
/// let corners = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
/// let mut p = [[[1u8], [2], [3]], [[4], [5], [6]], [[7], [8], [9]]];
/// perspective(&mut p, corners, corners, 0.0)?;          // the identity
/// assert_eq!(p, [[[1], [2], [3]], [[4], [5], [6]], [[7], [8], [9]]]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn perspective<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    from: [[f32; 2]; 4],
    to: [[f32; 2]; 4],
    fill: f32,
) -> Result<(), Error> {
    let map = Projective::between(to, from)?;
    warp(picture, &map, fill);
    Ok(())
}

/// Elastic deformation (Simard, Steinkraus & Platt 2003; PyTorch:
/// `torchvision.transforms.v2.ElasticTransform`) on a coarse `G × G` grid: each
/// application draws `α` uniformly from `alpha`, then each grid node's displacement
/// `(dx, dy) = α·(2u − 1, 2u' − 1)`, row by row (`1 + 2·G·G` draws), and [`elastic`]
/// spreads the grid over the image bilinearly.
///
/// Simard draws an independent displacement per pixel, smooths the field with a
/// Gaussian of width `σ` and scales it by `α`. A coarse grid interpolated bilinearly
/// is a smooth random field too, with its correlation length set by the node spacing
/// `(W − 1)/(G − 1)` instead of `σ` (roughly: spacing ≈ 2σ to 3σ), and needs `2·G²`
/// draws and no `H × W` field in memory. Here `α` is the largest displacement in
/// pixels; torchvision's `alpha` scales a blurred field whose typical size depends on
/// `σ`. `G ≥ 2` is checked at compile time.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Elastic};
/// use microtrain::Error;
/// use rand_core::SeedableRng;
/// let mut p = [[[0.5f32, 0.5, 0.5]; 8]; 8];
/// Elastic::<3>::new((0.0, 2.0), 0.5)?.apply(&mut p, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(p, [[[0.5, 0.5, 0.5]; 8]; 8]);              // flat, and the fill matches
/// assert!(Elastic::<3>::new((-1.0, 2.0), 0.0).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elastic<const G: usize> {
    alpha: Range,
    fill: f32,
}

impl<const G: usize> Elastic<G> {
    /// Displacements of at most `α` pixels, `α` in `[alpha.0, alpha.1]`, `fill` outside.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"Elastic alpha"` for a NaN, infinite, empty or
    /// negative range, `"Elastic fill"` for a fill outside `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`Elastic`].
    pub const fn new(alpha: (f32, f32), fill: f32) -> Result<Self, Error> {
        const { assert!(G >= 2, "the elastic grid needs at least 2 × 2 nodes") };
        Ok(Elastic {
            alpha: ok!(Range::within(
                "Elastic alpha",
                alpha.0,
                alpha.1,
                0.0,
                f32::MAX,
                "at least 0 (pixels)"
            )),
            fill: ok!(probability("Elastic fill", fill)),
        })
    }
}

impl<P: Pixel, const H: usize, const W: usize, const C: usize, const G: usize>
    Augment<Picture<P, H, W, C>> for Elastic<G>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<P, H, W, C>, rng: &mut R) {
        let alpha = self.alpha.draw(rng);
        let mut grid = [[[0.0f32; 2]; G]; G];
        for d in grid.as_flattened_mut().as_flattened_mut() {
            *d = alpha * (2.0 * uniform(rng) - 1.0);
        }
        elastic(sample, &grid, self.fill);
    }
}

/// Where output coordinate `t` (in `0..n`) falls on a grid of `g` nodes spread from 0
/// to `n − 1`: the node below and the fraction towards the next.
fn grid_position(t: f32, n: usize, g: usize) -> (usize, f32) {
    if n < 2 || g < 2 {
        return (0, 0.0);
    }
    let s = t * (g - 1) as f32 / (n - 1) as f32;
    let i = (math::floor(s) as usize).min(g - 2);
    (i, s - i as f32)
}

/// Deforms `picture` by the displacement grid `displacement[i][j] = [dx, dy]` (pixels):
/// node `(i, j)` sits at `(j·(W − 1)/(G − 1), i·(H − 1)/(G − 1))`, the displacement
/// `d(q)` at output pixel `q` is the bilinear interpolation of the nodes around it
/// (`align_corners=True`), and `q` shows the source at `q + d(q)`, bilinear with `fill`
/// outside (see [`warp`]). A zero grid is the identity. PyTorch:
/// `torchvision.transforms.v2.functional.elastic(img, displacement)` with the
/// upsampled field in normalised units.
///
/// # Examples
///
/// ```
/// use microtrain::augment::elastic;
/// let mut p = [[[10u8], [20], [30]]];
/// elastic(&mut p, &[[[1.0, 0.0]; 2]; 2], 0.0);           // every pixel reads one right
/// assert_eq!(p, [[[20], [30], [0]]]);
/// ```
pub fn elastic<P: Pixel, const H: usize, const W: usize, const C: usize, const G: usize>(
    picture: &mut Picture<P, H, W, C>,
    displacement: &[[[f32; 2]; G]; G],
    fill: f32,
) {
    const { assert!(G >= 1, "the elastic grid needs at least one node") };
    let next = |i: usize| (i + 1).min(G - 1);
    remap(picture, fill, |x, y| {
        let (j, fx) = grid_position(x, W, G);
        let (i, fy) = grid_position(y, H, G);
        let mut d = [0.0f32; 2];
        for (k, d) in d.iter_mut().enumerate() {
            let top = (1.0 - fx) * displacement[i][j][k] + fx * displacement[i][next(j)][k];
            let bottom =
                (1.0 - fx) * displacement[next(i)][j][k] + fx * displacement[next(i)][next(j)][k];
            *d = (1.0 - fy) * top + fy * bottom;
        }
        (x + d[0], y + d[1])
    });
}
