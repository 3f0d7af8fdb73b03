//! `exp_slice` (the vectorised `expf` that softmax uses) against `math::exp`, the scalar
//! `libm::expf`, bit for bit: over a stride through every `f32` bit pattern, around
//! each branch boundary of `expf` (the argument-reduction thresholds, the overflow and
//! underflow limits, the points where `x/ln 2 ± ½` is an integer), and with every
//! length of ragged end. (All 2³² inputs were compared once, in release builds for
//! x86-64 with SSE2 and with AVX-512: no difference.)

use microtrain::kernels::{exp_slice, math};
use microtrain::Error;

/// Runs `exp_slice` on `x` and compares each element with `math::exp`.
fn check(x: &[f32]) {
    let mut y = vec![0.0; x.len()];
    exp_slice(x, &mut y).expect("equal lengths");
    for (&v, &e) in x.iter().zip(&y) {
        let want = math::exp(v);
        assert_eq!(
            e.to_bits(),
            want.to_bits(),
            "exp({v:e} = {:#010x}): {e:e} against expf's {want:e}",
            v.to_bits()
        );
    }
}

#[test]
fn a_stride_through_every_bit_pattern() {
    // 4099 is prime, so the stride visits every residue of the low bits.
    let x: Vec<f32> = (0..=u32::MAX / 4099)
        .map(|i| f32::from_bits(i * 4099))
        .collect();
    check(&x);
}

#[test]
fn around_the_branch_boundaries() {
    // |x| thresholds of expf: 2⁻¹⁴, ½ ln 2, 1.5 ln 2, 87.33655 (subnormal results),
    // 88.72284 (overflow), 103.97208 (zero), infinity.
    let edges = [
        0x3900_0000u32,
        0x3eb1_7218,
        0x3f85_1592,
        0x42ae_ac50,
        0x42b1_7218,
        0x42cf_f1b5,
        0x7f80_0000,
    ];
    let mut x = Vec::new();
    for edge in edges {
        for d in 0..64u32 {
            for bits in [edge - 32 + d, (edge - 32 + d) | 0x8000_0000] {
                x.push(f32::from_bits(bits));
            }
        }
    }
    // x near (n + ½) ln 2, where the rounding of x/ln 2 ± ½ picks k.
    for n in -150..150 {
        let centre = (n as f32 + 0.5) * core::f32::consts::LN_2;
        let mut v = centre;
        for _ in 0..16 {
            v = v.next_down();
        }
        for _ in 0..33 {
            x.push(v);
            v = v.next_up();
        }
    }
    x.extend([
        0.0,
        -0.0,
        f32::NAN,
        -f32::NAN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
    ]);
    check(&x);
}

#[test]
fn every_ragged_end() {
    let x: Vec<f32> = (0..40).map(|i| (i as f32 - 20.0) * 0.37).collect();
    for len in 0..=x.len() {
        check(&x[..len]);
        // A special case in the ragged end alone, or in the vector before it.
        let mut y = x[..len].to_vec();
        if let Some(last) = y.last_mut() {
            *last = -200.0;
        }
        check(&y);
    }
}

#[test]
fn lengths_must_agree() {
    let mut y = [0.0; 2];
    assert!(matches!(
        exp_slice(&[1.0; 3], &mut y),
        Err(Error::Length { .. })
    ));
}
