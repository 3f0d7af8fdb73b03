//! The one sampler every moving transform uses: for each output pixel, a coordinate
//! map gives the source point it shows, and bilinear interpolation reads the source
//! there, with a fill value for pixels from outside the image (inverse mapping).
//! [`warp`] states the coordinate conventions and the interpolation formula.

use super::{Picture, Pixel};
use crate::kernels::math;
use crate::Error;

/// A projective map of the plane, `(x, y) ↦ ((a·x + b·y + c)/w, (d·x + e·y + f)/w)`
/// with `w = g·x + h·y + i`, stored as the 3 × 3 matrix `[[a, b, c], [d, e, f], [g, h,
/// i]]` acting on `(x, y, 1)`. An affine map has last row `[0, 0, 1]`. [`warp`] uses one
/// to send each output pixel to the source point it shows. (PyTorch:
/// `torchvision.transforms.v2.functional.affine`/`perspective` build the same matrices.)
///
/// # Examples
///
/// ```
/// use microtrain::augment::Projective;
/// let shift = Projective::affine([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]);
/// assert_eq!(shift.map(3.0, 4.0), (5.0, 3.0));
/// let turn = Projective::rotation(90.0, 0.0, 0.0);               // about the origin
/// assert_eq!(turn.map(1.0, 0.0), (0.0, 1.0));
/// assert_eq!(shift.then(&turn).map(0.0, 0.0), (1.0, 2.0));        // shift, then turn
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projective {
    /// The matrix, row by row.
    pub m: [[f32; 3]; 3],
}

impl Projective {
    /// The identity map.
    pub const IDENTITY: Projective = Projective {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };

    /// The affine map `(x, y) ↦ (a·x + b·y + c, d·x + e·y + f)` from its two rows
    /// `[[a, b, c], [d, e, f]]`.
    ///
    /// # Examples
    ///
    /// See [`Projective`].
    pub const fn affine(rows: [[f32; 3]; 2]) -> Projective {
        Projective {
            m: [rows[0], rows[1], [0.0, 0.0, 1.0]],
        }
    }

    /// The rotation by `degrees` about `(cx, cy)` that turns the x axis towards the y
    /// axis: `(x, y) ↦ (cx + cos θ·(x − cx) − sin θ·(y − cy), cy + sin θ·(x − cx) +
    /// cos θ·(y − cy))`. With y pointing down the image, that is clockwise on screen.
    /// Whole quarter turns are exact (`cos 90° = 0`, not `−4.4e−8`).
    ///
    /// # Examples
    ///
    /// See [`Projective`].
    pub fn rotation(degrees: f32, cx: f32, cy: f32) -> Projective {
        let (s, c) = sin_cos_degrees(degrees);
        Projective::affine([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy]])
    }

    /// The point `(x, y)` maps to.
    ///
    /// # Examples
    ///
    /// See [`Projective`].
    pub fn map(&self, x: f32, y: f32) -> (f32, f32) {
        let [r0, r1, r2] = self.m;
        let u = r0[0] * x + r0[1] * y + r0[2];
        let v = r1[0] * x + r1[1] * y + r1[2];
        let w = r2[0] * x + r2[1] * y + r2[2];
        if w == 1.0 {
            (u, v)
        } else {
            (u / w, v / w)
        }
    }

    /// The map that applies `self` first, then `next` (the matrix product
    /// `next · self`).
    ///
    /// # Examples
    ///
    /// See [`Projective`].
    pub fn then(&self, next: &Projective) -> Projective {
        let mut m = [[0.0; 3]; 3];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = next.m[i][0] * self.m[0][j]
                    + next.m[i][1] * self.m[1][j]
                    + next.m[i][2] * self.m[2][j];
            }
        }
        Projective { m }
    }

    /// The projective map that sends each point `from[k] = [x, y]` to `to[k]`
    /// (`cv2.getPerspectiveTransform(from, to)`; torchvision's `perspective(img,
    /// startpoints, endpoints)` samples through `between(endpoints, startpoints)`).
    /// Built in closed form through the unit square (Heckbert 1989): `Q_to · Q_from⁻¹`,
    /// `Q` the map from the square's corners `(0,0), (1,0), (1,1), (0,1)` to the points.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"perspective points"` if a coordinate is NaN or
    /// infinite, or if three of the points of either set lie on one line (no such map).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::Projective;
    /// let square = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]];
    /// let kite = [[1.0, 0.0], [3.0, 0.0], [4.0, 4.0], [0.0, 4.0]];
    /// let p = Projective::between(square, kite)?;
    /// let (x, y) = p.map(4.0, 0.0);
    /// assert!((x - 3.0).abs() < 1e-5 && y.abs() < 1e-5);
    /// assert!(Projective::between(square, [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 4.0]]).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn between(from: [[f32; 2]; 4], to: [[f32; 2]; 4]) -> Result<Projective, Error> {
        let q_from = square_to_quad(from)?;
        let q_to = square_to_quad(to)?;
        Ok(adjugate(&q_from).then(&q_to))
    }
}

/// `(sin, cos)` of `degrees`, with the angle first reduced to `[−45°, 45°]` plus whole
/// quarter turns, which are applied exactly.
fn sin_cos_degrees(degrees: f32) -> (f32, f32) {
    let quarters = math::round(degrees / 90.0);
    let rest = (degrees - 90.0 * quarters) * (core::f32::consts::PI / 180.0);
    let (s, c) = (math::sin(rest), math::cos(rest));
    // `quarters` is NaN or huge only for a NaN or enormous angle; `as` saturates.
    match (quarters as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// The error for perspective points: `value` is the offending coordinate, or 0 (the
/// cross product) for three points on a line.
const fn bad_points(value: f32) -> Error {
    Error::Setting {
        name: "perspective points",
        value,
        rule: "finite, no three on one line",
    }
}

/// The map from the unit square's corners `(0,0), (1,0), (1,1), (0,1)` to `q[0..4]`.
fn square_to_quad(q: [[f32; 2]; 4]) -> Result<Projective, Error> {
    if let Some(&v) = q.iter().flatten().find(|v| !v.is_finite()) {
        return Err(bad_points(v));
    }
    let [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
    // Three points on one line make the map singular.
    for (a, b, c) in [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)] {
        let cross =
            (q[b][0] - q[a][0]) * (q[c][1] - q[a][1]) - (q[b][1] - q[a][1]) * (q[c][0] - q[a][0]);
        if cross == 0.0 {
            return Err(bad_points(0.0));
        }
    }
    let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
    let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
    let den = dx1 * dy2 - dx2 * dy1;
    let g = (sx * dy2 - dx2 * sy) / den;
    let h = (dx1 * sy - sx * dy1) / den;
    let p = Projective {
        m: [
            [x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
            [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
            [g, h, 1.0],
        ],
    };
    if p.m.iter().flatten().all(|v| v.is_finite()) {
        Ok(p)
    } else {
        Err(bad_points(0.0))
    }
}

/// The adjugate: the inverse up to a scale factor, which a projective map ignores.
fn adjugate(p: &Projective) -> Projective {
    let a = p.m;
    let co =
        |r0: usize, r1: usize, c0: usize, c1: usize| a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0];
    Projective {
        m: [
            [co(1, 2, 1, 2), -co(0, 2, 1, 2), co(0, 1, 1, 2)],
            [-co(1, 2, 0, 2), co(0, 2, 0, 2), -co(0, 1, 0, 2)],
            [co(1, 2, 0, 1), -co(0, 2, 0, 1), co(0, 1, 0, 1)],
        ],
    }
}

/// Resamples `picture` in place: output pixel `(x, y)` becomes the source read at
/// `map.map(x, y)` by bilinear interpolation, with `fill` (a brightness in `[0, 1]`, a
/// fraction of [`Pixel::MAX`], rounded to a pixel value) outside the image. The
/// scratch space is one copy of the picture, on the stack.
///
/// # Coordinates and interpolation
///
/// Pixel `(x, y)` (column `x`, row `y`) has its centre at the point `(x, y)`; the image
/// covers `[−½, W − ½] × [−½, H − ½]`, and its centre is `((W − 1)/2, (H − 1)/2)`, the
/// point torchvision rotates about. Bilinear interpolation at a source point `(sx, sy)`
/// reads the four pixels around it, `x₀ = ⌊sx⌋`, `y₀ = ⌊sy⌋`, `fx = sx − x₀`,
/// `fy = sy − y₀`:
///
/// `v = (1 − fy)·((1 − fx)·p(x₀, y₀) + fx·p(x₀ + 1, y₀)) + fy·((1 − fx)·p(x₀, y₀ + 1) + fx·p(x₀ + 1, y₀ + 1))`
///
/// where a pixel outside the image reads as the fill (so the image fades into the fill
/// over one pixel at its border). This is `scipy.ndimage.map_coordinates(order=1,
/// mode="grid-constant", cval=fill)`, and PyTorch's `grid_sample(mode="bilinear",
/// padding_mode="zeros", align_corners=False)` when the fill is 0. (torchvision blends a
/// non-zero fill through a mask, which weights border pixels slightly differently.)
/// A source point whose coordinates are NaN or infinite reads as the fill. A source
/// point on a pixel centre reads that pixel exactly, so maps that send centres to
/// centres (a shift by whole pixels, a quarter turn) only move pixels.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{warp, Projective};
/// // Output pixel x shows source x − 1: the picture moves one pixel right.
/// let right = Projective::affine([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]);
/// let mut p = [[[10u8], [20], [30]]];
/// warp(&mut p, &right, 1.0);
/// assert_eq!(p, [[[255], [10], [20]]]);
/// ```
pub fn warp<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    map: &Projective,
    fill: f32,
) {
    remap(picture, fill, |x, y| map.map(x, y));
}

/// [`warp`] through any coordinate map `source(x, y) → (sx, sy)`.
pub(crate) fn remap<P: Pixel, const H: usize, const W: usize, const C: usize>(
    picture: &mut Picture<P, H, W, C>,
    fill: f32,
    source: impl Fn(f32, f32) -> (f32, f32),
) {
    let original = *picture;
    let fill = P::from_f32(fill * P::MAX);
    for (y, row) in picture.iter_mut().enumerate() {
        for (x, pixel) in row.iter_mut().enumerate() {
            let (sx, sy) = source(x as f32, y as f32);
            *pixel = bilinear(&original, sx, sy, fill);
        }
    }
}

/// The bilinear read at `(sx, sy)` described in the module docs.
fn bilinear<P: Pixel, const H: usize, const W: usize, const C: usize>(
    src: &Picture<P, H, W, C>,
    sx: f32,
    sy: f32,
    fill: P,
) -> [P; C] {
    // Beyond one pixel outside (or NaN), all four taps are fill.
    if !(sx > -1.0 && sx < W as f32 && sy > -1.0 && sy < H as f32) {
        return [fill; C];
    }
    let (x0, y0) = (math::floor(sx), math::floor(sy));
    let (fx, fy) = (sx - x0, sy - y0); // exact: |sx|, |sy| < 2²³
    let (x0, y0) = (x0 as isize, y0 as isize);
    // The four taps, found once for all channels; `None` outside the image.
    let pixel = |y: isize, x: isize| match (usize::try_from(y), usize::try_from(x)) {
        (Ok(y), Ok(x)) if y < H && x < W => Some(&src[y][x]),
        _ => None,
    };
    let taps = [
        pixel(y0, x0),
        pixel(y0, x0 + 1),
        pixel(y0 + 1, x0),
        pixel(y0 + 1, x0 + 1),
    ];
    let mut out = [fill; C];
    for (c, v) in out.iter_mut().enumerate() {
        let [a, b, d, e] = taps.map(|t| t.map_or(fill.to_f32(), |p| p[c].to_f32()));
        let top = (1.0 - fx) * a + fx * b;
        let bottom = (1.0 - fx) * d + fx * e;
        *v = P::from_f32((1.0 - fy) * top + fy * bottom);
    }
    out
}
