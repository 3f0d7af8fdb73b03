//! `kernels::first_non_finite`, the check of every input batch and gradient before a
//! step, against the plain scan it replaces: every length around the SIMD width and
//! across several of its blocks of values, a NaN (quiet, signalling, either sign),
//! +inf or −inf at every position (alone, and before another one), and huge finite
//! values, whose products with zero must not look like a non-finite value.

use host_tests::Rng;
use microtrain::kernels::first_non_finite;

fn scan(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| !v.is_finite())
}

#[test]
fn finds_the_first_non_finite_value_wherever_it_is() {
    let mut rng = Rng::for_case("first_non_finite", &[]);
    for len in 0..=41 {
        let base: Vec<f32> = (0..len)
            .map(|_| rng.uniform(-1.0, 1.0) * f32::MAX)
            .collect();
        assert_eq!(first_non_finite(&base), None, "len {len}: all finite");
        for at in 0..len {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
                let mut x = base.clone();
                x[at] = bad;
                assert_eq!(first_non_finite(&x), Some(at), "len {len}, {bad} at {at}");
                if at + 1 < len {
                    x[len - 1] = f32::NAN;
                    assert_eq!(first_non_finite(&x), Some(at), "len {len}, two bad values");
                }
            }
        }
    }
}

#[test]
fn agrees_with_the_scan_on_wild_values() {
    let mut rng = Rng::for_case("first_non_finite wild", &[]);
    for _ in 0..2000 {
        let len = rng.below(70) as usize;
        let x = rng.wild_vec(len);
        assert_eq!(first_non_finite(&x), scan(&x), "{x:?}");
    }
    let extremes = [f32::MAX, -f32::MAX, f32::MIN_POSITIVE, 1e-45, -0.0, 0.0];
    let x: Vec<f32> = (0..64).map(|i| extremes[i % extremes.len()]).collect();
    assert_eq!(first_non_finite(&x), None);
}

/// A non-finite value of every kind at every position of slices that span several
/// blocks of the SIMD check, its vector remainder and its scalar tail, alone and
/// before another one; and finite extremes everywhere else.
#[test]
fn first_non_finite_finds_every_position() {
    let bad = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001), // signalling NaN
        f32::from_bits(0xffff_ffff),
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let finite = [
        f32::MAX,
        -f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        0.0,
        -0.0,
        1.0,
        -3.3e38,
    ];
    for len in 0..=140 {
        let base: Vec<f32> = (0..len)
            .map(|i| finite[(i * 7 + len) % finite.len()])
            .collect();
        assert_eq!(first_non_finite(&base), None, "len {len}: all finite");
        for at in 0..len {
            for (k, &b) in bad.iter().enumerate() {
                let mut x = base.clone();
                x[at] = b;
                assert_eq!(first_non_finite(&x), Some(at), "len {len}, {b} at {at}");
                for later in [at + 1, at + 8, at + 33, len - 1] {
                    if later > at && later < len {
                        x[later] = bad[(k + 1) % bad.len()];
                        assert_eq!(first_non_finite(&x), Some(at), "len {len}, {at}, {later}");
                    }
                }
            }
        }
    }
}

/// Random lengths and positions on long slices, against the plain scan.
#[test]
fn first_non_finite_agrees_with_the_scan() {
    let mut rng = Rng::for_case("loss_speed first_non_finite", &[]);
    for _ in 0..3000 {
        let len = rng.below(3000) as usize;
        let mut x = rng.wild_vec(len);
        for _ in 0..rng.below(3) {
            if len > 0 {
                let at = rng.below(len as u64) as usize;
                x[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.below(3) as usize];
            }
        }
        assert_eq!(first_non_finite(&x), scan(&x), "len {len}");
    }
}
