//! Properties of the photometric augmentations: neutral settings are identities,
//! outputs stay in the pixel range, pipelines are reproducible from their seed, `apply`
//! draws in the documented order, drawn parameters stay in their ranges, and every
//! constructor refuses bad settings with an error that names them.

use host_tests::every_shape;
use host_tests::photometric::{picture, Sample};
use microtrain::augment::{
    Augment, Brighten, Clouds, CoarsePepper, CoarseSalt, Cutout, Emboss, Fog, GammaContrast,
    GaussianBlur, GaussianNoise, Invert, Maybe, Picture, Sharpen, Snow, Superpixels,
};
use microtrain::init::uniform;
use microtrain::Error;
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

#[test]
fn superpixels_with_one_region_give_the_mean_everywhere() {
    let p = picture::<f32, 5, 7, 3>("one region");
    let mut q = p;
    Superpixels::<1>::new((1.0, 1.0))
        .unwrap()
        .apply(&mut q, &mut Pcg32::seed_from_u64(2));
    for c in 0..3 {
        let mean = p.iter().flatten().map(|px| f64::from(px[c])).sum::<f64>() / 35.0;
        for px in q.iter().flatten() {
            assert!(
                (f64::from(px[c]) - mean).abs() < 1e-6,
                "channel {c}: {} vs {mean}",
                px[c]
            );
        }
    }
}

#[test]
fn inverting_twice_is_the_identity() {
    let p = picture::<u8, 5, 7, 3>("invert");
    let mut q = p;
    let rng = &mut Pcg32::seed_from_u64(0);
    (Invert, Invert).apply(&mut q, rng);
    assert_eq!(q, p);
    let p = picture::<f32, 5, 7, 3>("invert");
    let mut q = p;
    (Invert, Invert).apply(&mut q, rng);
    for (a, b) in q
        .iter()
        .flatten()
        .flatten()
        .zip(p.iter().flatten().flatten())
    {
        assert!((a - b).abs() <= f32::EPSILON / 2.0, "{a} vs {b}"); // 1 − (1 − v): two roundings
    }
}

/// Each transform set to its neutral parameters leaves `u8` and `f32` pictures as they
/// were, bit for bit.
#[test]
fn neutral_settings_are_identities() {
    fn check<P: Sample, const H: usize, const W: usize, const C: usize>() {
        let p = picture::<P, H, W, C>("identity");
        let rng = &mut Pcg32::seed_from_u64(5);
        let neutral = (
            Brighten::new((0.0, 0.0)).unwrap(),
            GammaContrast::new((1.0, 1.0)).unwrap(),
            Sharpen::new((0.0, 0.0), (0.5, 1.5)).unwrap(),
            Emboss::new((0.0, 0.0), (0.0, 2.0)).unwrap(),
            GaussianNoise::new((0.0, 0.0)).unwrap(),
            GaussianBlur::<3>::new((0.0, 0.0)).unwrap(),
            GaussianBlur::<2>::new((1e-3, 1e-3)).unwrap(), // σ → 0: the taps underflow to 0
            Cutout::<3>::new((0.0, 0.0), (0.0, 1.0), 0.5).unwrap(),
        );
        let neutral_too = (
            CoarseSalt::new((0.0, 0.0), (0.1, 1.0)).unwrap(),
            CoarsePepper::new((0.0, 0.0), (0.1, 1.0)).unwrap(),
            Fog::<3>::new((0.0, 0.0), (0.0, 1.0)).unwrap(),
            Clouds::<4>::new((0.0, 0.0), (0.0, 1.0), (0.0, 1.0)).unwrap(),
            Snow::new((0.0, 0.0), (0.0, 1.0), (0.0, 0.0)).unwrap(),
            Superpixels::<4>::new((0.0, 0.0)).unwrap(),
            Maybe::new(0.0, Invert).unwrap(),
        );
        for _ in 0..5 {
            let mut q = p;
            (neutral, neutral_too).apply(&mut q, rng);
            assert_eq!(q, p, "{H}×{W}×{C}, MAX {}", P::MAX);
        }
    }
    every_shape!(check);
}

/// Wide settings of every transform, for the range and reproducibility tests.
fn strong() -> impl Augment<Picture<f32, 6, 5, 3>> + Augment<Picture<u8, 6, 5, 3>> + Copy {
    (
        (
            Brighten::new((-1.0, 1.0)).unwrap(),
            GammaContrast::new((0.05, 8.0)).unwrap(),
            Sharpen::new((0.0, 1.0), (-10.0, 10.0)).unwrap(),
            Emboss::new((0.0, 1.0), (-4.0, 4.0)).unwrap(),
            GaussianNoise::new((0.0, 2.0)).unwrap(),
            GaussianBlur::<3>::new((0.0, 5.0)).unwrap(),
            Cutout::<2>::new((0.0, 1.0), (0.0, 1.0), 1.0).unwrap(),
            Invert,
        ),
        (
            Maybe::new(0.5, CoarseSalt::new((0.0, 1.0), (0.1, 1.0)).unwrap()).unwrap(),
            Maybe::new(0.5, CoarsePepper::new((0.0, 1.0), (0.1, 1.0)).unwrap()).unwrap(),
            Fog::<2>::new((0.0, 1.0), (0.0, 1.0)).unwrap(),
            Clouds::<3>::new((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)).unwrap(),
            Snow::new((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)).unwrap(),
            Maybe::new(0.7, Superpixels::<5>::new((0.0, 1.0)).unwrap()).unwrap(),
        ),
    )
}

#[test]
fn outputs_stay_in_the_pixel_range() {
    let t = strong();
    let rng = &mut Pcg32::seed_from_u64(9);
    for _ in 0..200 {
        let mut p = picture::<f32, 6, 5, 3>("range");
        t.apply(&mut p, rng);
        assert!(
            p.iter()
                .flatten()
                .flatten()
                .all(|v| (0.0..=1.0).contains(v)),
            "{p:?}"
        );
    }
}

#[test]
fn a_pipeline_is_reproducible_from_its_seed() {
    let t = strong();
    let run = |seed: u64| {
        let mut a = picture::<u8, 6, 5, 3>("seed");
        let mut b = picture::<f32, 6, 5, 3>("seed");
        let rng = &mut Pcg32::seed_from_u64(seed);
        t.apply(&mut a, rng);
        t.apply(&mut b, rng);
        (a, b.map(|r| r.map(|px| px.map(f32::to_bits))))
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

/// `apply` is `draw`, then the documented random parts, then `apply_with`: the draws
/// happen in the documented order.
#[test]
fn apply_is_draw_then_the_deterministic_core() {
    let p = picture::<f32, 6, 5, 3>("order");
    let same = |a: &Picture<f32, 6, 5, 3>, b: &Picture<f32, 6, 5, 3>, what: &str| {
        assert_eq!(a, b, "{what}");
    };
    let (mut a, mut b) = (p, p);
    let t = Sharpen::new((0.0, 1.0), (0.5, 1.5)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let (alpha, l) = t.draw(&mut Pcg32::seed_from_u64(1));
    Sharpen::apply_with(&mut b, alpha, l);
    same(&a, &b, "Sharpen");

    let (mut a, mut b) = (p, p);
    let t = GaussianNoise::new((0.0, 0.2)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let rng = &mut Pcg32::seed_from_u64(1);
    let s = t.draw(rng);
    GaussianNoise::apply_with(&mut b, s, rng);
    same(&a, &b, "GaussianNoise");

    let (mut a, mut b) = (p, p);
    let t = Clouds::<3>::new((0.2, 1.0), (0.5, 1.0), (0.2, 0.9)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let rng = &mut Pcg32::seed_from_u64(1);
    let (d, br, c) = t.draw(rng);
    let grid: [[f32; 3]; 3] = core::array::from_fn(|_| core::array::from_fn(|_| uniform(rng)));
    Clouds::apply_with(&mut b, &grid, d, br, c);
    same(&a, &b, "Clouds");

    let (mut a, mut b) = (p, p);
    let t = Snow::new((0.1, 0.4), (0.5, 1.0), (0.0, 0.3)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let rng = &mut Pcg32::seed_from_u64(1);
    let (d, br, w) = t.draw(rng);
    let flakes: [[bool; 5]; 6] =
        core::array::from_fn(|_| core::array::from_fn(|_| uniform(rng) < d));
    Snow::apply_with(&mut b, &flakes, br, w);
    same(&a, &b, "Snow");

    let (mut a, mut b) = (p, p);
    let t = CoarseSalt::new((0.2, 0.6), (0.3, 0.8)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let rng = &mut Pcg32::seed_from_u64(1);
    let (prob, size) = t.draw(rng);
    let (rows, cols) = ((6.0 * size).round() as usize, (5.0 * size).round() as usize);
    let mut mask = [[false; 5]; 6];
    for row in mask.iter_mut().take(rows.max(1)) {
        for cell in row.iter_mut().take(cols.max(1)) {
            *cell = uniform(rng) < prob;
        }
    }
    CoarseSalt::apply_with(&mut b, &mask, rows.max(1), cols.max(1));
    same(&a, &b, "CoarseSalt");

    let (mut a, mut b) = (p, p);
    let t = Superpixels::<4>::new((0.3, 0.9)).unwrap();
    t.apply(&mut a, &mut Pcg32::seed_from_u64(1));
    let (seeds, replace) = t.draw(6, 5, &mut Pcg32::seed_from_u64(1));
    Superpixels::apply_with(&mut b, &seeds, &replace);
    same(&a, &b, "Superpixels");
}

#[test]
fn cutout_changes_only_the_pixels_inside_its_rectangles() {
    let t = Cutout::<3>::new((0.1, 0.6), (0.2, 0.5), 0.5).unwrap();
    for seed in 0..50 {
        let p = picture::<u8, 9, 11, 2>("cutout only");
        let mut q = p;
        t.apply(&mut q, &mut Pcg32::seed_from_u64(seed));
        let rects = t.draw(9, 11, &mut Pcg32::seed_from_u64(seed));
        for (y, row) in q.iter().enumerate() {
            for (x, px) in row.iter().enumerate() {
                let inside = rects
                    .iter()
                    .any(|&[t, l, h, w]| (t..t + h).contains(&y) && (l..l + w).contains(&x));
                assert_eq!(
                    *px,
                    if inside { [128, 128] } else { p[y][x] },
                    "seed {seed} ({y}, {x})"
                );
            }
        }
        for &[top, left, h, w] in &rects {
            assert!(top + h <= 9 && left + w <= 11, "{rects:?}");
            assert!((1..=5).contains(&h) && (2..=6).contains(&w), "{rects:?}"); // round(0.1·9), round(0.6·9)…
        }
    }
}

#[test]
fn drawn_parameters_stay_in_their_ranges() {
    let rng = &mut Pcg32::seed_from_u64(17);
    let within = |v: f32, lo: f32, hi: f32, what: &str| {
        assert!((lo..=hi).contains(&v), "{what}: {v} outside [{lo}, {hi}]");
    };
    let (brighten, gamma) = (
        Brighten::new((-0.2, 0.3)).unwrap(),
        GammaContrast::new((0.7, 1.7)).unwrap(),
    );
    let (sharpen, emboss) = (
        Sharpen::new((0.0, 0.2), (0.8, 1.2)).unwrap(),
        Emboss::new((0.1, 0.9), (0.25, 1.0)).unwrap(),
    );
    let (noise, blur) = (
        GaussianNoise::new((0.01, 0.05)).unwrap(),
        GaussianBlur::<2>::new((0.3, 1.5)).unwrap(),
    );
    let (salt, pepper) = (
        CoarseSalt::new((0.02, 0.1), (0.05, 0.5)).unwrap(),
        CoarsePepper::new((0.3, 0.4), (0.5, 1.0)).unwrap(),
    );
    let fog = Fog::<4>::new((0.4, 0.8), (0.7, 0.9)).unwrap();
    let clouds = Clouds::<4>::new((0.5, 1.0), (0.8, 1.0), (0.2, 0.6)).unwrap();
    let snow = Snow::new((0.01, 0.05), (0.85, 1.0), (0.0, 0.15)).unwrap();
    let superpixels = Superpixels::<5>::new((0.0, 0.0)).unwrap();
    for _ in 0..2000 {
        within(brighten.draw(rng), -0.2, 0.3, "Brighten offset");
        within(gamma.draw(rng), 0.7, 1.7, "GammaContrast gamma");
        let (a, l) = sharpen.draw(rng);
        within(a, 0.0, 0.2, "Sharpen alpha");
        within(l, 0.8, 1.2, "Sharpen lightness");
        let (a, s) = emboss.draw(rng);
        within(a, 0.1, 0.9, "Emboss alpha");
        within(s, 0.25, 1.0, "Emboss strength");
        within(noise.draw(rng), 0.01, 0.05, "GaussianNoise sigma");
        within(blur.draw(rng), 0.3, 1.5, "GaussianBlur sigma");
        let (p, s) = salt.draw(rng);
        within(p, 0.02, 0.1, "CoarseSalt p");
        within(s, 0.05, 0.5, "CoarseSalt size");
        let (p, s) = pepper.draw(rng);
        within(p, 0.3, 0.4, "CoarsePepper p");
        within(s, 0.5, 1.0, "CoarsePepper size");
        let (d, b) = fog.draw(rng);
        within(d, 0.4, 0.8, "Fog density");
        within(b, 0.7, 0.9, "Fog brightness");
        let (d, b, c) = clouds.draw(rng);
        within(d, 0.5, 1.0, "Clouds density");
        within(b, 0.8, 1.0, "Clouds brightness");
        within(c, 0.2, 0.6, "Clouds coverage");
        let (d, b, w) = snow.draw(rng);
        within(d, 0.01, 0.05, "Snow density");
        within(b, 0.85, 1.0, "Snow brightness");
        within(w, 0.0, 0.15, "Snow whiten");
        let (seeds, replace) = superpixels.draw(3, 1, rng);
        assert!(seeds.iter().all(|&[y, x]| y < 3 && x < 1) && replace == [false; 5]);
    }
}

/// Asserts an [`Error::Setting`] with this name, value (NaN matches NaN) and rule.
#[track_caller]
fn assert_setting<T: core::fmt::Debug>(
    result: Result<T, Error>,
    name: &str,
    value: f32,
    rule: &str,
) {
    match result {
        Err(Error::Setting {
            name: n,
            value: v,
            rule: r,
        }) => {
            assert_eq!((n, r), (name, rule), "value {v}");
            assert!(
                v == value || (v.is_nan() && value.is_nan()),
                "{name}: value {v}, expected {value}"
            );
            assert!(Error::Setting {
                name: n,
                value: v,
                rule: r
            }
            .to_string()
            .contains(name));
        }
        other => panic!("{name}: expected a setting error, got {other:?}"),
    }
}

#[test]
fn bad_settings_are_refused_with_their_names() {
    const LO: &str = "a finite lower bound";
    const HI: &str = "a finite upper bound at least the lower one";
    const FRACTION: &str = "in [0, 1]";
    let (nan, inf) = (f32::NAN, f32::INFINITY);
    assert_setting(Brighten::new((nan, 0.1)), "Brighten offset", nan, LO);
    assert_setting(Brighten::new((0.0, inf)), "Brighten offset", inf, HI);
    assert_setting(Brighten::new((0.2, 0.1)), "Brighten offset", 0.1, HI);
    assert_setting(
        Brighten::new((-1.5, 0.0)),
        "Brighten offset",
        -1.5,
        "in [-1, 1]",
    );
    assert_setting(
        GammaContrast::new((0.0, 1.0)),
        "GammaContrast gamma",
        0.0,
        "positive",
    );
    assert_setting(
        GammaContrast::new((-inf, 1.0)),
        "GammaContrast gamma",
        -inf,
        LO,
    );
    assert_setting(
        Sharpen::new((0.0, 1.5), (1.0, 1.0)),
        "Sharpen alpha",
        1.5,
        FRACTION,
    );
    assert_setting(
        Sharpen::new((0.0, 1.0), (nan, 1.0)),
        "Sharpen lightness",
        nan,
        LO,
    );
    assert_setting(
        Emboss::new((-0.1, 1.0), (1.0, 1.0)),
        "Emboss alpha",
        -0.1,
        FRACTION,
    );
    assert_setting(
        Emboss::new((0.0, 1.0), (1.0, 0.5)),
        "Emboss strength",
        0.5,
        HI,
    );
    assert_setting(
        GaussianNoise::new((-0.1, 0.1)),
        "GaussianNoise sigma",
        -0.1,
        "not negative",
    );
    assert_setting(
        GaussianNoise::new((0.0, nan)),
        "GaussianNoise sigma",
        nan,
        HI,
    );
    assert_setting(
        GaussianBlur::<2>::new((-1.0, 1.0)),
        "GaussianBlur sigma",
        -1.0,
        "not negative",
    );
    assert_setting(
        GaussianBlur::<2>::new((1.0, inf)),
        "GaussianBlur sigma",
        inf,
        HI,
    );
    assert_setting(
        CoarseSalt::new((-0.1, 0.5), (0.1, 0.2)),
        "CoarseSalt p",
        -0.1,
        FRACTION,
    );
    assert_setting(
        CoarseSalt::new((0.1, 0.5), (0.0, 0.2)),
        "CoarseSalt size",
        0.0,
        "in (0, 1]",
    );
    assert_setting(
        CoarsePepper::new((0.1, 1.5), (0.1, 0.2)),
        "CoarsePepper p",
        1.5,
        FRACTION,
    );
    assert_setting(
        CoarsePepper::new((0.1, 0.5), (0.1, 1.1)),
        "CoarsePepper size",
        1.1,
        "in (0, 1]",
    );
    assert_setting(
        Cutout::<1>::new((0.1, 1.2), (0.1, 0.2), 0.0),
        "Cutout height",
        1.2,
        FRACTION,
    );
    assert_setting(
        Cutout::<1>::new((0.1, 0.2), (0.3, 0.2), 0.0),
        "Cutout width",
        0.2,
        HI,
    );
    assert_setting(
        Cutout::<1>::new((0.1, 0.2), (0.1, 0.2), nan),
        "Cutout fill",
        nan,
        FRACTION,
    );
    assert_setting(
        Cutout::<1>::new((0.1, 0.2), (0.1, 0.2), -0.5),
        "Cutout fill",
        -0.5,
        FRACTION,
    );
    assert_setting(
        Fog::<2>::new((0.0, 1.1), (0.5, 1.0)),
        "Fog density",
        1.1,
        FRACTION,
    );
    assert_setting(
        Fog::<2>::new((0.0, 1.0), (nan, 1.0)),
        "Fog brightness",
        nan,
        LO,
    );
    assert_setting(
        Clouds::<2>::new((0.0, 1.0), (0.5, 1.0), (0.6, 0.5)),
        "Clouds coverage",
        0.5,
        HI,
    );
    assert_setting(
        Clouds::<2>::new((-inf, 1.0), (0.5, 1.0), (0.5, 0.5)),
        "Clouds density",
        -inf,
        LO,
    );
    assert_setting(
        Clouds::<2>::new((0.0, 1.0), (0.5, 2.0), (0.5, 0.5)),
        "Clouds brightness",
        2.0,
        FRACTION,
    );
    assert_setting(
        Snow::new((0.0, -0.1), (0.5, 1.0), (0.0, 0.1)),
        "Snow density",
        -0.1,
        HI,
    );
    assert_setting(
        Snow::new((0.0, 0.1), (0.5, inf), (0.0, 0.1)),
        "Snow brightness",
        inf,
        HI,
    );
    assert_setting(
        Snow::new((0.0, 0.1), (0.5, 1.0), (0.0, 1.1)),
        "Snow whiten",
        1.1,
        FRACTION,
    );
    assert_setting(
        Superpixels::<4>::new((0.5, 1.5)),
        "Superpixels p_replace",
        1.5,
        FRACTION,
    );
    assert_setting(
        Superpixels::<4>::new((nan, 0.5)),
        "Superpixels p_replace",
        nan,
        LO,
    );
    assert_setting(
        Maybe::new(-0.5, Snow::new((0.0, 0.1), (0.5, 1.0), (0.0, 0.1)).unwrap()),
        "probability",
        -0.5,
        FRACTION,
    );
}
