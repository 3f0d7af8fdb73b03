//! The geometric augmentations against SciPy on fixed parameters
//! (`reference/make_augment_geometric.py`, outputs in
//! `reference/golden/augment/geometric/`), their exact identities, the draws of the
//! random transforms, and their errors.
//!
//! Tolerances. The Rust side computes each source coordinate in `f32` (sin/cos/tan,
//! a 3 × 3 matrix, a projective division: relative error a few `2⁻²⁴` of coordinates
//! below 10, so ≲ 1e-6 pixels), and a bilinear value moves by at most the largest
//! neighbour difference (≤ MAX) per pixel of coordinate error; the interpolation adds
//! ≤ 4 roundings of MAX (≤ 2.4e-7·MAX). [`F32_BOUND`] = 4e-6·MAX covers that with
//! margin; the largest deviations measured are 7.7e-7·MAX (`perspective_f32`) and
//! 5.8e-7·MAX (`shear_f32_both`), the others ≤ 4e-7·MAX. A `u8` output is the `f32` value rounded half away from zero, so it may
//! differ from the unrounded `f64` reference by 0.5 plus the `f32` error (0.501 grey
//! levels): at most one grey level from rounding the reference itself, and measured
//! at 0.5 exactly where the reference falls on a half.

use host_tests::assert_close;
use microtrain::augment::{
    crop_resize, elastic, perspective, rotate, shear, translate, Augment, CropPad, CropResize,
    Elastic, FlipHorizontal, FlipVertical, Maybe, Perspective, Picture, Pixel, Projective, Rotate,
    Shear, Translate,
};
use microtrain::init::uniform;
use microtrain::Error;
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::collections::HashMap;

/// The error bound on an `f32` output, as a fraction of `Pixel::MAX` (see the file docs).
const F32_BOUND: f64 = 4e-6;

/// One golden case: its `params` line and its tensors.
struct Golden {
    name: String,
    params: HashMap<String, String>,
    tensors: HashMap<String, Vec<f64>>,
}

impl Golden {
    fn load(name: &str) -> Golden {
        let path = format!(
            "{}/reference/golden/augment/geometric/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (mut params, mut tensors) = (HashMap::new(), HashMap::new());
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        while let Some(line) = lines.next() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("params") => {
                    for kv in words {
                        let (k, v) = kv.split_once('=').expect("key=value");
                        params.insert(k.to_string(), v.to_string());
                    }
                }
                Some("tensor") => {
                    let key = words.next().expect("a name").to_string();
                    let count: usize = words.map(|d| d.parse::<usize>().unwrap()).product();
                    let values: Vec<f64> = lines
                        .next()
                        .expect("values")
                        .split_whitespace()
                        .map(|v| v.parse().unwrap())
                        .collect();
                    assert_eq!(values.len(), count, "{path}: {key}");
                    tensors.insert(key, values);
                }
                other => panic!("{path}: unexpected line {other:?}"),
            }
        }
        Golden {
            name: name.to_string(),
            params,
            tensors,
        }
    }

    fn list(&self, key: &str) -> Vec<f32> {
        self.params[key]
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect()
    }

    fn f(&self, key: &str) -> f32 {
        self.list(key)[0]
    }

    fn n(&self, key: &str) -> usize {
        self.params[key].parse().unwrap()
    }

    fn points(&self, key: &str) -> [[f32; 2]; 4] {
        let v = self.list(key);
        core::array::from_fn(|k| [v[2 * k], v[2 * k + 1]])
    }

    fn grid<const G: usize>(&self) -> [[[f32; 2]; G]; G] {
        let v = &self.tensors["grid"];
        assert_eq!(v.len(), G * G * 2, "{}: grid size", self.name);
        core::array::from_fn(|i| {
            core::array::from_fn(|j| [0, 1].map(|k| v[(i * G + j) * 2 + k] as f32))
        })
    }
}

/// Runs `transform` on the case's input and compares with its reference output.
fn check_case<P: Pixel, const H: usize, const W: usize, const C: usize>(
    name: &str,
    transform: impl Fn(&mut Picture<P, H, W, C>, &Golden),
) {
    let g = Golden::load(name);
    assert_eq!(
        g.params["dtype"] == "u8",
        P::MAX == 255.0,
        "{name}: pixel type"
    );
    let x = &g.tensors["x"];
    let mut p: Picture<P, H, W, C> = [[[P::from_f32(0.0); C]; W]; H];
    for (v, &e) in p.as_flattened_mut().as_flattened_mut().iter_mut().zip(x) {
        *v = P::from_f32(e as f32);
        assert_eq!(f64::from(v.to_f32()), e, "{name}: input not exact");
    }
    transform(&mut p, &g);
    let max = f64::from(P::MAX);
    let bound = if P::MAX == 255.0 { 0.5 } else { 0.0 } + F32_BOUND * max;
    let ours = p.as_flattened().as_flattened();
    let y = &g.tensors["y"];
    assert_eq!(ours.len(), y.len());
    for (i, (v, &e)) in ours.iter().zip(y).enumerate() {
        assert_close!(v.to_f32(), e, bound, "{name} element {i}");
    }
}

/// `check_case` for several cases (each with its own picture type) and one transform.
macro_rules! cases {
    (|$p:ident, $g:ident| $body:expr; $(($name:literal, $t:ty, $h:literal, $w:literal, $c:literal)),+ $(,)?) => {
        $(check_case::<$t, $h, $w, $c>($name, |$p, $g| $body);)+
    };
}

#[test]
fn rotation_matches_scipy() {
    cases!(|p, g| rotate(p, g.f("degrees"), g.f("fill"));
        ("rotate_f32_30", f32, 7, 9, 3),
        ("rotate_u8_neg17", u8, 8, 8, 1),
        ("rotate_f32_200", f32, 6, 5, 2),
        ("rotate_u8_75_rgb", u8, 9, 6, 3),
    );
}

#[test]
fn shear_matches_scipy() {
    cases!(|p, g| shear(p, g.f("x_degrees"), g.f("y_degrees"), g.f("fill"));
        ("shear_f32_x20", f32, 7, 8, 2),
        ("shear_u8_y_neg35", u8, 8, 6, 3),
        ("shear_f32_both", f32, 9, 9, 1),
    );
}

#[test]
fn translation_matches_scipy() {
    cases!(|p, g| translate(p, g.f("dx"), g.f("dy"), g.f("fill"));
        ("translate_f32", f32, 6, 7, 3),
        ("translate_u8", u8, 7, 5, 2),
    );
}

#[test]
fn crop_resize_matches_scipy_zoom() {
    cases!(|p, g| crop_resize(p, g.n("top"), g.n("left"), g.n("height"), g.n("width")).unwrap();
        ("crop_resize_f32", f32, 7, 9, 3),
        ("crop_resize_u8", u8, 8, 8, 1),
    );
}

#[test]
fn perspective_matches_scipy() {
    cases!(|p, g| perspective(p, g.points("from"), g.points("to"), g.f("fill")).unwrap();
        ("perspective_f32", f32, 8, 10, 3),
        ("perspective_u8", u8, 7, 7, 2),
    );
}

#[test]
fn elastic_matches_scipy() {
    check_case::<f32, 8, 8, 3>("elastic_f32_g3", |p, g| {
        elastic(p, &g.grid::<3>(), g.f("fill"))
    });
    check_case::<u8, 9, 7, 1>("elastic_u8_g4", |p, g| {
        elastic(p, &g.grid::<4>(), g.f("fill"))
    });
}

/// A picture of distinct-ish random values (u8: 0..=255; f32: multiples of 1/256).
fn random_picture<P: Pixel, const H: usize, const W: usize, const C: usize>(
    seed: u64,
) -> Picture<P, H, W, C> {
    let mut rng = host_tests::Rng::for_case("augment_geometric", &[seed as usize, H, W, C]);
    let mut p = [[[P::from_f32(0.0); C]; W]; H];
    for v in p.as_flattened_mut().as_flattened_mut() {
        let k = rng.below(256) as f32;
        *v = P::from_f32(if P::MAX == 255.0 { k } else { k / 256.0 });
    }
    p
}

/// A transform under test, boxed so that several fit in one list.
type Run<P, const H: usize, const W: usize, const C: usize> = Box<dyn Fn(&mut Picture<P, H, W, C>)>;

/// The identities that must hold bit for bit, on one picture type and shape.
fn identities<P: Pixel, const H: usize, const W: usize, const C: usize>() {
    let original = random_picture::<P, H, W, C>(1);
    let corners = [
        [0.0, 0.0],
        [W as f32 - 1.0, 0.0],
        [W as f32 - 1.0, H as f32 - 1.0],
        [0.0, H as f32 - 1.0],
    ];
    let mut runs: Vec<(&str, Run<P, H, W, C>)> = vec![
        ("rotate 0", Box::new(|p| rotate(p, 0.0, 0.5))),
        ("rotate 360", Box::new(|p| rotate(p, 360.0, 0.5))),
        ("shear 0", Box::new(|p| shear(p, 0.0, 0.0, 0.5))),
        ("translate 0", Box::new(|p| translate(p, 0.0, 0.0, 0.5))),
        (
            "full crop",
            Box::new(|p| crop_resize(p, 0, 0, H, W).unwrap()),
        ),
        (
            "zero grid",
            Box::new(|p| elastic(p, &[[[0.0; 2]; 3]; 3], 0.5)),
        ),
        (
            "flip twice",
            Box::new(|p| {
                let mut rng = Pcg32::seed_from_u64(0);
                FlipHorizontal.apply(p, &mut rng);
                FlipHorizontal.apply(p, &mut rng);
                FlipVertical.apply(p, &mut rng);
                FlipVertical.apply(p, &mut rng);
            }),
        ),
    ];
    if W > 1 && H > 1 {
        runs.push((
            "perspective onto itself",
            Box::new(move |p| perspective(p, corners, corners, 0.5).unwrap()),
        ));
    }
    for (what, run) in runs {
        let mut p = original;
        run(&mut p);
        assert_eq!(p, original, "{what} on {H}×{W}×{C}");
    }
}

#[test]
fn identities_are_exact() {
    identities::<u8, 5, 7, 3>();
    identities::<f32, 5, 7, 3>();
    identities::<u8, 8, 8, 1>();
    identities::<f32, 6, 4, 2>();
    identities::<f32, 1, 9, 2>();
}

/// Asserts output pixel `(r, c)` of `p` is pixel `source(r, c)` of `original`, or the
/// fill where `source` gives `None`.
#[track_caller]
fn assert_moved<P: Pixel, const H: usize, const W: usize, const C: usize>(
    p: &Picture<P, H, W, C>,
    original: &Picture<P, H, W, C>,
    fill: f32,
    source: impl Fn(usize, usize) -> Option<(usize, usize)>,
    what: &str,
) {
    for (r, row) in p.iter().enumerate() {
        for (c, pixel) in row.iter().enumerate() {
            let expected = match source(r, c) {
                Some((sr, sc)) => original[sr][sc],
                None => [P::from_f32(fill * P::MAX); C],
            };
            assert_eq!(*pixel, expected, "{what} at ({r}, {c})");
        }
    }
}

/// Quarter turns on a square picture, whole-pixel shifts and a half turn on any
/// picture move pixels without interpolating, so they equal index permutations.
fn permutations<P: Pixel, const N: usize, const M: usize, const C: usize>() {
    let square = random_picture::<P, N, N, C>(2);
    // Output (row, col) reads source (row, col); counter-clockwise as np.rot90.
    let n = N - 1;
    let mut p = square;
    rotate(&mut p, 90.0, 0.0);
    assert_moved(&p, &square, 0.0, |r, c| Some((c, n - r)), "rotate 90");
    let mut p = square;
    rotate(&mut p, -90.0, 0.0);
    assert_moved(&p, &square, 0.0, |r, c| Some((n - c, r)), "rotate -90");
    let mut p = square;
    rotate(&mut p, 270.0, 0.0);
    assert_moved(&p, &square, 0.0, |r, c| Some((n - c, r)), "rotate 270");
    let wide = random_picture::<P, N, M, C>(3);
    let mut p = wide;
    rotate(&mut p, 180.0, 0.0);
    assert_moved(
        &p,
        &wide,
        0.0,
        |r, c| Some((n - r, M - 1 - c)),
        "rotate 180",
    );
    for (dx, dy) in [(2isize, -1isize), (-3, 0), (0, 1), (1, 1)] {
        let fill = 0.2;
        let mut p = wide;
        translate(&mut p, dx as f32, dy as f32, fill);
        let source = |r: usize, c: usize| {
            let sr = usize::try_from(r as isize - dy).ok().filter(|&v| v < N)?;
            let sc = usize::try_from(c as isize - dx).ok().filter(|&v| v < M)?;
            Some((sr, sc))
        };
        assert_moved(&p, &wide, fill, source, &format!("shift ({dx}, {dy})"));
    }
}

#[test]
fn whole_pixel_moves_are_permutations() {
    permutations::<u8, 6, 9, 3>();
    permutations::<f32, 7, 4, 1>();
    permutations::<f32, 1, 5, 2>();
}

/// Every random transform with settings that exercise it.
type Pipeline = (
    Rotate,
    Shear,
    Translate,
    CropResize,
    CropPad,
    Perspective,
    Elastic<4>,
    Maybe<Rotate>,
);

fn pipeline() -> Pipeline {
    (
        Rotate::new((-40.0, 40.0), 0.0).unwrap(),
        Shear::new((-20.0, 20.0), (-10.0, 10.0), 1.0).unwrap(),
        Translate::new((-0.2, 0.2), (-0.1, 0.3), 0.5).unwrap(),
        CropResize::new((0.3, 1.0), (0.5, 2.0)).unwrap(),
        CropPad::new(2, 1, 0.0).unwrap(),
        Perspective::new(0.6, 1.0).unwrap(),
        Elastic::<4>::new((0.5, 3.0), 0.25).unwrap(),
        Maybe::new(0.5, Rotate::new((170.0, 190.0), 0.75).unwrap()).unwrap(),
    )
}

#[test]
fn pipelines_are_reproducible_and_stay_in_range() {
    let transforms = pipeline();
    let original = random_picture::<f32, 12, 10, 3>(4);
    let mut results = Vec::new();
    for seed in [0u64, 0, 1] {
        let mut p = original;
        let mut rng = Pcg32::seed_from_u64(seed);
        for _ in 0..5 {
            transforms.apply(&mut p, &mut rng);
            for v in p.as_flattened().as_flattened() {
                assert!((0.0..=1.0).contains(v), "{v} out of range");
            }
        }
        results.push(p);
    }
    assert_eq!(results[0], results[1], "same seed, same pictures");
    assert_ne!(results[0], results[2], "another seed, other pictures");
    let mut q = random_picture::<u8, 9, 9, 1>(5);
    let copy = q;
    transforms.apply(&mut q, &mut Pcg32::seed_from_u64(7));
    assert_ne!(q, copy);
}

#[test]
fn labels_are_untouched_by_an_augmented_epoch() {
    use microtrain::augment::each_image;
    use microtrain::layers::{Dense, Flatten};
    use microtrain::{
        loss::CrossEntropy,
        optim::Sgd,
        seq,
        train::{Dataset, Trainer},
        Image, Seq,
    };
    // Sample k is a flat 4 × 4 image of brightness (k + 1)/16 with label k mod 3.
    let n = 10;
    let x: Vec<f32> = (0..n).flat_map(|k| [(k + 1) as f32 / 16.0; 16]).collect();
    let labels: Vec<u32> = (0..n).map(|k| (k % 3) as u32).collect();
    let data = Dataset::new(&x, 16, &labels, 1).unwrap();
    let mut t: Trainer<
        Seq![Flatten<16>, Dense<16, 3>],
        CrossEntropy,
        Sgd,
        4,
        16,
        3,
        Image<4, 4, 4, 1>,
    > = Trainer::new(
        seq![Flatten, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        0,
    );
    let transforms = pipeline();
    let mut seen = Vec::new();
    let mut rng = Pcg32::seed_from_u64(3);
    t.epoch_augmented(&data, &mut rng, 1, |batch, targets, rows, rng| {
        for (row, &label) in targets.iter().enumerate().take(rows) {
            let k = (batch.0[row][0][0][0] * 16.0).round() as usize - 1;
            assert_eq!(
                label, labels[k],
                "the batch pairs sample {k} with its label"
            );
            seen.push(k);
        }
        let before = *targets;
        each_image(&transforms, batch, rows, rng);
        assert_eq!(*targets, before);
    })
    .unwrap();
    seen.sort();
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "every sample once");
}

/// Replays the draws each transform documents from a copy of the generator: the
/// parameters stay within the settings, and the transform equals its fixed-parameter
/// core on them.
#[test]
fn draws_stay_within_the_settings() {
    type P = Picture<f32, 9, 11, 2>;
    let original: P = random_picture(6);
    let (w, h) = (11.0f32, 9.0f32);
    let draw = |rng: &mut Pcg32, lo: f32, hi: f32| lo + (hi - lo) * uniform(rng);
    for seed in 0..40u64 {
        let rng = Pcg32::seed_from_u64(seed);
        let run = |t: &dyn Fn(&mut P, &mut Pcg32)| {
            let mut p = original;
            t(&mut p, &mut rng.clone());
            p
        };
        let fixed = |f: &dyn Fn(&mut P)| {
            let mut p = original;
            f(&mut p);
            p
        };
        let mut r = rng.clone();

        let t = Rotate::new((-25.0, 10.0), 0.5).unwrap();
        let d = draw(&mut r, -25.0, 10.0);
        assert!((-25.0..=10.0).contains(&d));
        assert_eq!(run(&|p, g| t.apply(p, g)), fixed(&|p| rotate(p, d, 0.5)));

        let t = Shear::new((-30.0, 5.0), (2.0, 12.0), 0.0).unwrap();
        let mut r = rng.clone();
        let (x, y) = (draw(&mut r, -30.0, 5.0), draw(&mut r, 2.0, 12.0));
        assert!((-30.0..=5.0).contains(&x) && (2.0..=12.0).contains(&y));
        assert_eq!(run(&|p, g| t.apply(p, g)), fixed(&|p| shear(p, x, y, 0.0)));

        let t = Translate::new((-0.3, 0.1), (0.0, 0.5), 1.0).unwrap();
        let mut r = rng.clone();
        let (dx, dy) = (draw(&mut r, -0.3, 0.1) * w, draw(&mut r, 0.0, 0.5) * h);
        assert!((-0.3 * w..=0.1 * w).contains(&dx) && (0.0..=0.5 * h).contains(&dy));
        assert_eq!(
            run(&|p, g| t.apply(p, g)),
            fixed(&|p| translate(p, dx, dy, 1.0))
        );

        let t = CropPad::new(3, 1, 0.0).unwrap();
        let mut r = rng.clone();
        let sx = 3.0 - (uniform(&mut r) * 7.0).floor();
        let sy = 1.0 - (uniform(&mut r) * 3.0).floor();
        assert!((-3.0..=3.0).contains(&sx) && (-1.0..=1.0).contains(&sy));
        assert_eq!(
            run(&|p, g| t.apply(p, g)),
            fixed(&|p| translate(p, sx, sy, 0.0))
        );

        let t = CropResize::new((0.25, 0.9), (0.5, 2.0)).unwrap();
        let mut r = rng.clone();
        let s = draw(&mut r, 0.25, 0.9);
        let ratio = draw(&mut r, 0.5f32.ln(), 2.0f32.ln()).exp();
        assert!((0.25..=0.9).contains(&s) && (0.499..=2.001).contains(&ratio));
        let area = s * w * h;
        let width = ((area * ratio).sqrt().round() as usize).clamp(1, 11);
        let height = ((area / ratio).sqrt().round() as usize).clamp(1, 9);
        let top = (uniform(&mut r) * (10 - height) as f32) as usize;
        let left = (uniform(&mut r) * (12 - width) as f32) as usize;
        assert!(top + height <= 9 && left + width <= 11);
        let window = fixed(&|p| crop_resize(p, top, left, height, width).unwrap());
        assert_eq!(run(&|p, g| t.apply(p, g)), window, "seed {seed}");

        let t = Perspective::new(0.7, 0.25).unwrap();
        let mut r = rng.clone();
        let from = [
            [0.0, 0.0],
            [w - 1.0, 0.0],
            [w - 1.0, h - 1.0],
            [0.0, h - 1.0],
        ];
        let (mx, my) = (0.7 * (w - 1.0) / 2.0, 0.7 * (h - 1.0) / 2.0);
        let to: [[f32; 2]; 4] = core::array::from_fn(|k| {
            let sx = if k == 1 || k == 2 { -1.0 } else { 1.0 };
            let sy = if k >= 2 { -1.0 } else { 1.0 };
            let ux = uniform(&mut r);
            let uy = uniform(&mut r);
            [from[k][0] + sx * mx * ux, from[k][1] + sy * my * uy]
        });
        for k in 0..4 {
            assert!((to[k][0] - from[k][0]).abs() <= mx && (to[k][1] - from[k][1]).abs() <= my);
        }
        let moved = fixed(&|p| perspective(p, from, to, 0.25).unwrap());
        assert_eq!(run(&|p, g| t.apply(p, g)), moved);

        let t = Elastic::<3>::new((0.5, 2.5), 0.0).unwrap();
        let mut r = rng.clone();
        let alpha = draw(&mut r, 0.5, 2.5);
        assert!((0.5..=2.5).contains(&alpha));
        let grid: [[[f32; 2]; 3]; 3] = core::array::from_fn(|_| {
            core::array::from_fn(|_| [0; 2].map(|_| alpha * (2.0 * uniform(&mut r) - 1.0)))
        });
        assert!(grid
            .as_flattened()
            .as_flattened()
            .iter()
            .all(|d| d.abs() <= alpha));
        assert_eq!(
            run(&|p, g| t.apply(p, g)),
            fixed(&|p| elastic(p, &grid, 0.0))
        );
    }
}

/// Asserts `result` is `Error::Setting` naming `name` with `value` (NaN matches NaN).
#[track_caller]
fn assert_setting<T: std::fmt::Debug>(result: Result<T, Error>, name: &str, value: f32) {
    match result {
        Err(
            e @ Error::Setting {
                name: n,
                value: v,
                rule,
            },
        ) => {
            assert_eq!(n, name);
            assert!(
                v == value || (v.is_nan() && value.is_nan()),
                "{name}: value {v}, expected {value}"
            );
            assert!(!rule.is_empty());
            assert!(e.to_string().starts_with(name), "{e}");
        }
        other => {
            panic!("expected Error::Setting {{ name: {name:?}, value: {value} }}, got {other:?}")
        }
    }
}

#[test]
fn bad_settings_are_named() {
    let (nan, inf) = (f32::NAN, f32::INFINITY);
    assert_setting(Rotate::new((nan, 1.0), 0.0), "Rotate degrees", nan);
    assert_setting(Rotate::new((0.0, inf), 0.0), "Rotate degrees", inf);
    assert_setting(Rotate::new((-inf, 0.0), 0.0), "Rotate degrees", -inf);
    assert_setting(Rotate::new((5.0, 4.0), 0.0), "Rotate degrees", 4.0);
    assert_setting(Rotate::new((0.0, 1.0), 1.5), "Rotate fill", 1.5);
    assert_setting(Rotate::new((0.0, 1.0), nan), "Rotate fill", nan);
    assert_setting(Shear::new((0.0, 90.0), (0.0, 0.0), 0.0), "Shear x", 90.0);
    assert_setting(Shear::new((-90.0, 0.0), (0.0, 0.0), 0.0), "Shear x", -90.0);
    assert_setting(Shear::new((0.0, 0.0), (nan, 0.0), 0.0), "Shear y", nan);
    assert_setting(Shear::new((0.0, 0.0), (3.0, 2.0), 0.0), "Shear y", 2.0);
    assert_setting(Shear::new((0.0, 0.0), (0.0, 0.0), -0.1), "Shear fill", -0.1);
    assert_setting(
        Translate::new((-1.5, 0.0), (0.0, 0.0), 0.0),
        "Translate x",
        -1.5,
    );
    assert_setting(
        Translate::new((0.0, 0.0), (0.0, inf), 0.0),
        "Translate y",
        inf,
    );
    assert_setting(
        Translate::new((0.0, 0.0), (0.5, 1.5), 0.0),
        "Translate y",
        1.5,
    );
    assert_setting(
        Translate::new((0.0, 0.0), (0.0, 0.0), inf),
        "Translate fill",
        inf,
    );
    assert_setting(
        CropResize::new((0.0, 1.0), (1.0, 1.0)),
        "CropResize scale",
        0.0,
    );
    assert_setting(
        CropResize::new((0.5, 1.5), (1.0, 1.0)),
        "CropResize scale",
        1.5,
    );
    assert_setting(
        CropResize::new((-0.5, 1.0), (1.0, 1.0)),
        "CropResize scale",
        -0.5,
    );
    assert_setting(
        CropResize::new((0.5, nan), (1.0, 1.0)),
        "CropResize scale",
        nan,
    );
    assert_setting(
        CropResize::new((0.8, 0.5), (1.0, 1.0)),
        "CropResize scale",
        0.5,
    );
    assert_setting(
        CropResize::new((0.5, 1.0), (0.0, 1.0)),
        "CropResize ratio",
        0.0,
    );
    assert_setting(
        CropResize::new((0.5, 1.0), (2.0, 1.0)),
        "CropResize ratio",
        1.0,
    );
    assert_setting(
        CropResize::new((0.5, 1.0), (1.0, inf)),
        "CropResize ratio",
        inf,
    );
    assert_setting(CropPad::new(4, 4, 2.0), "CropPad fill", 2.0);
    assert_setting(Perspective::new(nan, 0.0), "Perspective distortion", nan);
    assert_setting(Perspective::new(1.01, 0.0), "Perspective distortion", 1.01);
    assert_setting(Perspective::new(-0.1, 0.0), "Perspective distortion", -0.1);
    assert_setting(Perspective::new(0.5, -1.0), "Perspective fill", -1.0);
    assert_setting(Elastic::<3>::new((-1.0, 2.0), 0.0), "Elastic alpha", -1.0);
    assert_setting(Elastic::<3>::new((1.0, nan), 0.0), "Elastic alpha", nan);
    assert_setting(Elastic::<3>::new((2.0, 1.0), 0.0), "Elastic alpha", 1.0);
    assert_setting(Elastic::<3>::new((1.0, 2.0), 1.1), "Elastic fill", 1.1);
    assert_setting(
        Maybe::new(1.5, Rotate::new((0.0, 1.0), 0.0).unwrap()),
        "probability",
        1.5,
    );
    assert_setting(Maybe::new(-0.5, FlipHorizontal), "probability", -0.5);
    // Settings at the edges of their ranges are accepted.
    assert!(Rotate::new((0.0, 0.0), 1.0).is_ok());
    assert!(Shear::new((-89.9, 89.9), (0.0, 0.0), 0.0).is_ok());
    assert!(Translate::new((-1.0, 1.0), (-1.0, 1.0), 0.0).is_ok());
    assert!(CropResize::new((1.0, 1.0), (0.1, 10.0)).is_ok());
    assert!(Perspective::new(1.0, 1.0).is_ok());
    assert!(Elastic::<2>::new((0.0, 0.0), 0.0).is_ok());
}

#[test]
fn bad_runtime_inputs_are_named_and_leave_the_picture() {
    let original = random_picture::<u8, 5, 6, 2>(8);
    let mut p = original;
    assert_setting(crop_resize(&mut p, 0, 0, 0, 6), "crop height", 0.0);
    assert_setting(crop_resize(&mut p, 3, 0, 3, 6), "crop height", 3.0);
    assert_setting(crop_resize(&mut p, usize::MAX, 0, 3, 6), "crop height", 3.0);
    assert_setting(crop_resize(&mut p, 0, 1, 5, 6), "crop width", 6.0);
    assert_setting(crop_resize(&mut p, 0, 0, 5, 0), "crop width", 0.0);
    let square = [[0.0, 0.0], [5.0, 0.0], [5.0, 4.0], [0.0, 4.0]];
    let line = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 4.0]];
    assert_setting(
        perspective(&mut p, square, line, 0.0),
        "perspective points",
        0.0,
    );
    assert_setting(
        perspective(&mut p, line, square, 0.0),
        "perspective points",
        0.0,
    );
    let mut bad = square;
    bad[2][1] = f32::NAN;
    assert_setting(
        perspective(&mut p, bad, square, 0.0),
        "perspective points",
        f32::NAN,
    );
    assert_setting(
        Projective::between(square, [[0.0, f32::INFINITY]; 4]),
        "perspective points",
        f32::INFINITY,
    );
    assert_eq!(p, original, "errors leave the picture unchanged");
    // Non-finite parameters of the fixed-parameter cores read the fill everywhere.
    rotate(&mut p, f32::NAN, 0.0);
    assert_eq!(p, [[[0; 2]; 6]; 5]);
    let mut q = original;
    translate(&mut q, f32::INFINITY, 0.0, 1.0);
    assert_eq!(q, [[[255; 2]; 6]; 5]);
}
