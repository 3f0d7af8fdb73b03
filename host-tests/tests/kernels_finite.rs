//! `kernels::first_non_finite`, the check of every input batch and gradient before a
//! step, against the plain scan it replaces: every length around the SIMD width, a NaN,
//! +inf or −inf at every position (alone, and after another one), and huge finite values,
//! whose products with zero must not look like a non-finite value.

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
