//! The photometric augmentations (colour, noise, occlusion, weather, super-pixels):
//! each deterministic core against the independent `f64` references of
//! `host_tests::photometric`, on `u8` and `f32` pictures of several shapes (one channel
//! and three, single rows and columns where the reflected edges fold more than once),
//! and the conventions against SciPy and PyTorch (golden file). Properties and errors
//! are in `augment_photometric_properties.rs`.
//!
//! Tolerances: `f32` outputs must be within `tol·MAX` of the clamped `f64` reference
//! (`tol` a few ulps times the size of the sums involved). `u8` outputs must be within
//! `0.5 + tol·255` of it: the transform computes in `f32`, which lands within
//! `tol·255` of the exact value, and then rounds to the nearest integer; so a `u8`
//! output differs from the rounded reference by at most 1, and only when the exact
//! value lies within `tol·255` of a half.

use host_tests::every_shape;
use host_tests::golden::Case;
use host_tests::photometric::{self as reference, assert_matches, picture, Image64, Sample};
use host_tests::Rng as DataRng;
use microtrain::augment::{
    Brighten, Clouds, CoarsePepper, CoarseSalt, Cutout, Emboss, Fog, GammaContrast, GaussianBlur,
    GaussianNoise, Picture, Pixel, Sharpen, Snow, Superpixels,
};
use microtrain::init::standard_normal;
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

#[test]
fn brighten_and_gamma_match_the_formulas() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("brighten");
        let img = Image64::of(&p);
        for offset in [-0.3f32, 0.0, 0.17, 0.6] {
            let mut q = p;
            Brighten::apply_with(&mut q, offset);
            let d = f64::from(offset) * img.max;
            assert_matches(&q, &img.map(|_, _, _, v| v + d), 1e-6, "Brighten");
        }
        for gamma in [0.3f32, 1.0, 1.7, 3.0] {
            let mut q = p;
            GammaContrast::apply_with(&mut q, gamma);
            let g = f64::from(gamma);
            let expected = img.map(|_, _, _, v| img.max * (v / img.max).powf(g));
            assert_matches(&q, &expected, 2e-6, "GammaContrast");
        }
    }
    every_shape!(check);
}

#[test]
fn sharpen_and_emboss_match_imgaug_kernels() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("sharpen");
        let img = Image64::of(&p);
        for (alpha, lightness) in [(0.2f32, 1.0f32), (1.0, 0.8), (0.55, 1.2)] {
            let mut q = p;
            Sharpen::apply_with(&mut q, alpha, lightness);
            let k = reference::sharpen_kernel(f64::from(alpha), f64::from(lightness));
            assert_matches(&q, &reference::correlate3(&img, k), 1e-5, "Sharpen");
        }
        for (alpha, strength) in [(1.0f32, 0.25f32), (0.5, 1.0), (0.3, 2.0)] {
            let mut q = p;
            Emboss::apply_with(&mut q, alpha, strength);
            let k = reference::emboss_kernel(f64::from(alpha), f64::from(strength));
            assert_matches(&q, &reference::correlate3(&img, k), 1e-5, "Emboss");
        }
    }
    every_shape!(check);
}

#[test]
fn gaussian_blur_matches_the_2d_sum() {
    fn radius<P: Sample, const H: usize, const W: usize, const C: usize, const K: usize>() {
        let p = picture::<P, H, W, C>("blur");
        let img = Image64::of(&p);
        for sigma in [0.5f32, 1.0, 3.0] {
            let mut q = p;
            GaussianBlur::<K>::apply_with(&mut q, sigma);
            let expected = reference::gaussian_blur(&img, f64::from(sigma), K);
            assert_matches(&q, &expected, 2e-6, "GaussianBlur");
        }
    }
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        radius::<P, H, W, C, 1>();
        radius::<P, H, W, C, 2>();
        radius::<P, H, W, C, 4>(); // wider than the 1-pixel sides: folds twice
    }
    every_shape!(check);
}

#[test]
fn gaussian_noise_adds_scaled_standard_normals_in_order() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("noise");
        let img = Image64::of(&p);
        for sigma in [0.05f32, 0.3] {
            let mut q = p;
            GaussianNoise::apply_with(&mut q, sigma, &mut Pcg32::seed_from_u64(11));
            let mut rng = Pcg32::seed_from_u64(11);
            let z: Vec<f64> = img
                .v
                .iter()
                .map(|_| f64::from(standard_normal(&mut rng)))
                .collect();
            let s = f64::from(sigma) * img.max;
            let expected = img.map(|y, x, c, v| v + s * z[(y * W + x) * C + c]);
            assert_matches(&q, &expected, 1e-6, "GaussianNoise");
        }
    }
    every_shape!(check);
}

#[test]
fn coarse_salt_and_pepper_upsample_their_mask_by_nearest_neighbour() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("coarse");
        let img = Image64::of(&p);
        let mut rng = DataRng::for_case("coarse mask", &[H, W]);
        for (rows, cols) in [(1, 1), (H, W), (2, 3), (H.div_ceil(2), 1)] {
            let (rows, cols) = (rows.min(H), cols.min(W));
            let mut mask = [[false; W]; H];
            for cell in mask.as_flattened_mut() {
                *cell = rng.below(3) == 0;
            }
            let low: Vec<Vec<bool>> = mask.iter().map(|r| r.to_vec()).collect();
            let set = reference::nearest_cell(&low, rows, cols, H, W);
            let mut salt = p;
            CoarseSalt::apply_with(&mut salt, &mask, rows, cols);
            let expected = img.map(|y, x, _, v| if set(y, x) { img.max } else { v });
            assert_matches(&salt, &expected, 0.0, "CoarseSalt");
            let mut pepper = p;
            CoarsePepper::apply_with(&mut pepper, &mask, rows, cols);
            let expected = img.map(|y, x, _, v| if set(y, x) { 0.0 } else { v });
            assert_matches(&pepper, &expected, 0.0, "CoarsePepper");
        }
    }
    every_shape!(check);
}

#[test]
fn cutout_fills_its_clipped_rectangles() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("cutout");
        let img = Image64::of(&p);
        let rects = [
            [1, 2, 2, 3],
            [H - 1, 0, 5, 1],
            [0, W - 1, 1, 9],
            [H + 3, 0, 2, 2],
        ];
        let mut q = p;
        Cutout::<4>::apply_with(&mut q, &rects, 0.4);
        let inside = |y: usize, x: usize| {
            rects
                .iter()
                .any(|&[t, l, h, w]| (t..t + h).contains(&y) && (l..l + w).contains(&x))
        };
        let expected = img.map(|y, x, _, v| if inside(y, x) { 0.4 * img.max } else { v });
        assert_matches(&q, &expected, 1e-7, "Cutout");
    }
    every_shape!(check);
}

#[test]
fn clouds_and_fog_blend_through_bilinear_value_noise() {
    fn grid<P: Sample, const H: usize, const W: usize, const C: usize, const G: usize>() {
        let p = picture::<P, H, W, C>("clouds");
        let img = Image64::of(&p);
        let mut rng = DataRng::for_case("clouds grid", &[G]);
        let mut g = [[0.0f32; G]; G];
        for v in g.as_flattened_mut() {
            *v = rng.uniform(0.0, 1.0);
        }
        let g64: Vec<Vec<f64>> = g
            .iter()
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect();
        for (density, brightness, coverage) in
            [(0.8f32, 0.95f32, 0.4f32), (0.3, 0.6, 1.0), (1.0, 1.0, 0.05)]
        {
            let mut q = p;
            Clouds::apply_with(&mut q, &g, density, brightness, coverage);
            let (d, b, c) = (
                f64::from(density),
                f64::from(brightness),
                f64::from(coverage),
            );
            // Near the threshold the f32 opacity has an error of ~ulp/coverage.
            assert_matches(&q, &reference::clouds(&img, &g64, d, b, c), 2e-5, "Clouds");
            let mut q = p;
            Fog::apply_with(&mut q, &g, density, brightness);
            assert_matches(&q, &reference::clouds(&img, &g64, d, b, 1.0), 2e-6, "Fog");
        }
    }
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        grid::<P, H, W, C, 2>();
        grid::<P, H, W, C, 3>();
        grid::<P, H, W, C, 5>();
    }
    every_shape!(check);
}

#[test]
fn snow_whitens_then_places_flakes() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("snow");
        let img = Image64::of(&p);
        let mut rng = DataRng::for_case("snow flakes", &[H, W]);
        let mut flakes = [[false; W]; H];
        for f in flakes.as_flattened_mut() {
            *f = rng.below(4) == 0;
        }
        for (brightness, whiten) in [(0.9f32, 0.1f32), (0.6, 0.0), (1.0, 0.5)] {
            let mut q = p;
            Snow::apply_with(&mut q, &flakes, brightness, whiten);
            let (b, w) = (f64::from(brightness) * img.max, f64::from(whiten));
            let expected = img.map(|y, x, _, v| {
                let white = v + w * (img.max - v);
                if flakes[y][x] {
                    white.max(b)
                } else {
                    white
                }
            });
            assert_matches(&q, &expected, 1e-6, "Snow");
        }
    }
    every_shape!(check);
}

#[test]
fn superpixels_replace_voronoi_regions_by_their_means() {
    fn regions<P: Sample, const H: usize, const W: usize, const C: usize, const N: usize>() {
        let p = picture::<P, H, W, C>("superpixels");
        let img = Image64::of(&p);
        let mut rng = DataRng::for_case("superpixel seeds", &[H, W, N]);
        for _ in 0..3 {
            let mut seeds = [[0; 2]; N];
            let mut replace = [false; N];
            for (s, r) in seeds.iter_mut().zip(&mut replace) {
                *s = [rng.below(H as u64) as usize, rng.below(W as u64) as usize];
                *r = rng.below(2) == 0;
            }
            if N > 2 {
                seeds[N - 1] = seeds[0]; // a duplicate seed owns no pixel
            }
            let mut q = p;
            Superpixels::apply_with(&mut q, &seeds, &replace);
            let expected = reference::superpixels(&img, &seeds, &replace);
            assert_matches(&q, &expected, 1e-5, "Superpixels");
        }
    }
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        regions::<P, H, W, C, 1>();
        regions::<P, H, W, C, 3>();
        regions::<P, H, W, C, 6>();
    }
    every_shape!(check);
}

/// A golden tensor `(H, W[, C])` as an image with pixel range `max`.
fn golden_image(case: &Case, key: &str, max: f64) -> Image64 {
    let (dims, v) = case.raw(key);
    let c = if dims.len() == 3 { dims[2] } else { 1 };
    Image64 {
        h: dims[0],
        w: dims[1],
        c,
        max,
        v: v.to_vec(),
    }
}

/// A golden picture (its values are exactly representable).
fn golden_picture<P: Pixel, const H: usize, const W: usize, const C: usize>(
    case: &Case,
    key: &str,
) -> Picture<P, H, W, C> {
    let v = case.raw(key).1;
    assert_eq!(v.len(), H * W * C, "{key}");
    let mut p = [[[P::from_f32(0.0); C]; W]; H];
    for (d, &s) in p.as_flattened_mut().as_flattened_mut().iter_mut().zip(v) {
        *d = P::from_f32(s as f32);
        assert_eq!(f64::from(d.to_f32()), s, "{key}: inputs are exact");
    }
    p
}

/// A golden parameter list in `f32` (short binary fractions: exact).
fn golden_params(case: &Case, key: &str) -> Vec<f32> {
    case.raw(key).1.iter().map(|&v| v as f32).collect()
}

/// The filters and fog of the `kind` (`"u8"` or `"f32"`) picture against the golden file.
fn filters_match_golden<P: Pixel>(case: &Case, kind: &str) {
    let p: Picture<P, 5, 7, 3> = golden_picture(case, &format!("{kind}_input"));
    let expect = |name: &str| golden_image(case, &format!("{kind}_{name}"), f64::from(P::MAX));
    let (sharpen, emboss) = (
        golden_params(case, "params_sharpen"),
        golden_params(case, "params_emboss"),
    );
    let (blur, fog) = (
        golden_params(case, "params_blur"),
        golden_params(case, "params_fog"),
    );
    let grid = golden_params(case, "fog_grid");
    let grid: [[f32; 3]; 3] = core::array::from_fn(|i| core::array::from_fn(|j| grid[i * 3 + j]));
    let mut q = p;
    Sharpen::apply_with(&mut q, sharpen[0], sharpen[1]);
    assert_matches(&q, &expect("sharpen"), 1e-5, "Sharpen vs scipy");
    let mut q = p;
    Emboss::apply_with(&mut q, emboss[0], emboss[1]);
    assert_matches(&q, &expect("emboss"), 1e-5, "Emboss vs scipy");
    let mut q = p;
    assert_eq!(blur[1], 2.0);
    GaussianBlur::<2>::apply_with(&mut q, blur[0]);
    assert_matches(&q, &expect("blur0"), 2e-6, "GaussianBlur<2> vs scipy");
    let mut q = p;
    assert_eq!(blur[3], 4.0);
    GaussianBlur::<4>::apply_with(&mut q, blur[2]);
    assert_matches(&q, &expect("blur1"), 2e-6, "GaussianBlur<4> vs scipy");
    let mut q = p;
    Fog::apply_with(&mut q, &grid, fog[0], fog[1]);
    assert_matches(&q, &expect("fog"), 2e-6, "Fog vs torch bilinear");
}

/// The conventions (mirrored edges, normalised Gaussian taps, nearest and bilinear
/// upsampling) against SciPy and PyTorch: `reference/make_augment_photometric.py`.
#[test]
fn conventions_match_scipy_and_pytorch() {
    let case = Case::load_from("augment", "photometric");
    filters_match_golden::<f32>(&case, "f32");
    filters_match_golden::<u8>(&case, "u8");

    let mut row: Picture<f32, 1, 4, 1> = golden_picture(&case, "row_input");
    GaussianBlur::<4>::apply_with(&mut row, 1.0);
    let expected = golden_image(&case, "row_blur", 1.0);
    assert_matches(&row, &expected, 2e-6, "GaussianBlur<4> on 1 × 4 vs scipy");

    let p: Picture<f32, 5, 7, 3> = golden_picture(&case, "f32_input");
    for (rows, cols) in [(2, 3), (3, 5)] {
        let cells = case.raw(&format!("mask_{rows}x{cols}")).1;
        let mut mask = [[false; 7]; 5];
        for (i, &m) in cells.iter().enumerate() {
            mask[i / cols][i % cols] = m == 1.0;
        }
        let up = case.raw(&format!("mask_{rows}x{cols}_up")).1;
        let mut q = p;
        CoarseSalt::apply_with(&mut q, &mask, rows, cols);
        let img = Image64::of(&p);
        let expected = img.map(|y, x, _, v| if up[y * 7 + x] == 1.0 { 1.0 } else { v });
        assert_matches(&q, &expected, 0.0, "CoarseSalt vs torch nearest");
    }
}
