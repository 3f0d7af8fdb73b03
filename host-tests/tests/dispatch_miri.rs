//! A small check of the run-time dispatched kernels that Miri can run: each level's
//! matrix products against the scalar path, bit for bit, on two shapes that cover
//! partial register tiles, both panel widths and more than one chunk of `k`, and the
//! optimizer loop on a rule with every `Lane` operation, and the bias corrections'
//! `pow_complement`, whose fused multiply-add (with `fma`) must give Dekker's bits.
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+avx2,+fma" cargo +nightly miri test -p host-tests --test dispatch_miri
//! RUSTFLAGS="-C target-feature=+avx512f,+fma" cargo +nightly miri test -p host-tests --test dispatch_miri
//! ```
//!
//! Miri cannot run `cpuid`; under it the target features the crate was compiled with
//! stand for the CPU, so the flag chooses which dispatched level is checked (without
//! one, only the build's own vectors). Miri then checks that every `#[target_feature]`
//! function runs only where that feature is enabled, and every memory access of the
//! kernels. The same test runs natively with `cargo test`.

use host_tests::check::assert_bits_eq;
use host_tests::Rng;
use microtrain::kernels::dispatch::{active, detected, set_limit, Level};
use microtrain::kernels::math;
use microtrain::kernels::optim::{self, Lane, Rule};
use microtrain::kernels::{self, scalar};
use microtrain::{Accumulate, MatMut, MatRef};

/// A rule with every `Lane` operation.
struct Step;

impl Rule<0> for Step {
    fn apply<L: Lane>(&self, p: L, g: L, s: [L; 0]) -> (L, [L; 0]) {
        let d = g / (g.abs().sqrt() + L::splat(0.5));
        (p.max(-p) - d * g.sign() - L::splat(0.1), s)
    }
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn dispatched_kernels_match_the_scalar_path() {
    // Bias corrections with Dekker's products (the baseline level), for the levels
    // whose products may take the fused multiply-add's error.
    let cases = [
        (0.9f32, 1u32),
        (0.9, 7),
        (0.999, 3),
        (0.999, 1000),
        (0.9, 1 << 20),
    ];
    set_limit(Level::Baseline);
    let corrections: Vec<(f32, f32)> = cases
        .iter()
        .map(|&(x, n)| math::pow_complement(x, n))
        .collect();
    for level in [Level::Baseline, Level::Avx2, Level::Avx512] {
        set_limit(level);
        assert_eq!(active(), level.min(detected()));
        // Partial tiles of both panel widths; a second chunk of `k` for 16 lanes; a
        // tile of eight rows on a one-vector panel (read from `Aᵀ` too).
        for (m, k, n) in [(5, 3, 33), (3, 40, 17), (9, 4, 7)] {
            let mut rng = Rng::for_case("dispatch miri", &[m, k, n]);
            let (a, b, c0) = (
                rng.wild_vec(m * k),
                rng.wild_vec(k * n),
                rng.wild_vec(m * n),
            );
            let what = format_args!("{level:?} M={m} K={k} N={n}");
            let mode = Accumulate::Add;
            let a_mk = MatRef::new(&a, m, k).unwrap();
            let a_km = MatRef::new(&a, k, m).unwrap();
            let b_kn = MatRef::new(&b, k, n).unwrap();
            let b_nk = MatRef::new(&b, n, k).unwrap();
            let products = [
                (
                    kernels::matmul as Kernel,
                    scalar::matmul as Kernel,
                    a_mk,
                    b_kn,
                ),
                (kernels::matmul_bt, scalar::matmul_bt, a_mk, b_nk),
                (kernels::matmul_at, scalar::matmul_at, a_km, b_kn),
            ];
            for (fast_kernel, slow_kernel, a, b) in products {
                let (mut fast, mut slow) = (c0.clone(), c0.clone());
                fast_kernel(MatMut::new(&mut fast, m, n).unwrap(), a, b, mode).unwrap();
                slow_kernel(MatMut::new(&mut slow, m, n).unwrap(), a, b, mode).unwrap();
                assert_bits_eq(&fast, &slow, what);
            }
        }
        // 32 values: whole vectors at every width, so no scalar tail (whose square
        // root, libm's `sqrtss` in inline assembly, Miri cannot run); the reference is
        // the rule written out per value with std's square root.
        let mut rng = Rng::for_case("dispatch miri optim", &[]);
        let (mut p, g) = (
            rng.uniform_vec(32, -1.0, 1.0),
            rng.uniform_vec(32, -1.0, 1.0),
        );
        let expected: Vec<f32> = p
            .iter()
            .zip(&g)
            .map(|(&p, &g)| {
                let d = g / (g.abs().sqrt() + 0.5);
                let sign = if g > 0.0 {
                    1.0
                } else if g < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                let max = if -p > p { -p } else { p };
                max - d * sign - 0.1
            })
            .collect();
        optim::run(true, &Step, &mut p, &g, []).unwrap();
        assert_bits_eq(&p, &expected, format_args!("{level:?} optimizer loop"));
        for (&(x, n), &(power, complement)) in cases.iter().zip(&corrections) {
            let got = math::pow_complement(x, n);
            assert_bits_eq(
                &[got.0, got.1],
                &[power, complement],
                format_args!("{level:?} pow_complement({x}, {n})"),
            );
        }
    }
    set_limit(Level::Avx512);
}

/// A product kernel: `C (+)= op(A)·op(B)`.
type Kernel = for<'c, 'a, 'b> fn(
    MatMut<'c>,
    MatRef<'a>,
    MatRef<'b>,
    Accumulate,
) -> Result<(), microtrain::Error>;
