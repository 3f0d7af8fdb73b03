//! The blocking of the SIMD matrix products does not show in their bits: long inner
//! dimensions that cross the `KC`-long chunks of `k` (once and twice, for panels one
//! and two vectors wide), the stack buffers sized for short ones, and the narrower
//! vectors and taller register tiles of products with few columns, at every run-time
//! dispatch level, against the scalar path. With the `fma` feature (on a target with
//! fused multiply-add), the products follow the fused order `c ← fma(a, b, c)` in
//! increasing `k` exactly, whatever the blocking and the vector width.
//!
//! The level is a process-wide setting, so this file holds one test that sets it.

use host_tests::check::assert_bits_eq;
use host_tests::products::{run, Product, PRODUCTS};
use host_tests::Rng;
use microtrain::kernels::dispatch::{set_limit, Level};
use microtrain::kernels::gemm::KC;
use microtrain::Accumulate;

const MODES: [Accumulate; 2] = [Accumulate::Overwrite, Accumulate::Add];

/// Inner dimensions at the edges of the stack buffers (8, 32, 128, 256 vectors: `k`
/// values of panels one vector wide, half as many of panels two vectors wide)
/// and past one and two chunks of a panel two vectors wide (`KC`) and one vector wide
/// (`2·KC`).
fn inner_sizes() -> Vec<usize> {
    vec![
        4,
        5,
        16,
        17,
        64,
        65,
        128,
        129,
        KC,
        KC + 1,
        2 * KC + 1,
        4 * KC + 1,
    ]
}

/// Rows (tiles of 8, 4, 2, 1 rows) and columns (narrower vectors up to 8 columns,
/// one and two vectors, partial vectors) of `C`.
const OUTER: [usize; 4] = [1, 8, 13, 33];
const COLUMNS: [usize; 7] = [1, 7, 8, 9, 17, 32, 40];

/// Calls `check(name, kernel, scalar kernel, layout, dims, mode, a, b, c0)` on every
/// case, inputs from the whole exponent range.
fn every_case(
    mut check: impl FnMut(Product, (usize, usize, usize), Accumulate, &[f32], &[f32], &[f32]),
) {
    for product in PRODUCTS {
        for mode in MODES {
            for k in inner_sizes() {
                for m in OUTER {
                    for n in COLUMNS {
                        let mut rng = Rng::for_case("gemm blocking", &[m, k, n, mode as usize]);
                        let (a, b, c0) = (
                            rng.wild_vec(m * k),
                            rng.wild_vec(k * n),
                            rng.wild_vec(m * n),
                        );
                        check(product, (m, k, n), mode, &a, &b, &c0);
                    }
                }
            }
        }
    }
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn blocking_keeps_the_scalar_bits_at_every_level() {
    for level in [Level::Baseline, Level::Avx2, Level::Avx512] {
        set_limit(level);
        every_case(
            |(name, kernel, reference, a_t, b_t), dims, mode, a, b, c0| {
                let (mut fast, mut slow) = (c0.to_vec(), c0.to_vec());
                run(kernel, (a_t, b_t), &mut fast, a, b, dims, mode);
                run(reference, (a_t, b_t), &mut slow, a, b, dims, mode);
                let (m, k, n) = dims;
                assert_bits_eq(
                    &fast,
                    &slow,
                    format_args!("{level:?} {name} {mode:?} M={m} K={k} N={n}"),
                );
            },
        );
    }
    set_limit(Level::Avx512);
}

/// The fused order, written again: `c ← fma(a(i, k), b(k, j), c)` for `k = 0, 1, …`
/// from `+0.0` or the old `C[i][j]`.
#[test]
#[cfg(all(feature = "fma", target_feature = "fma"))]
fn fma_products_follow_the_fused_order() {
    every_case(|(name, kernel, _, a_t, b_t), dims, mode, a, b, c0| {
        let (m, k, n) = dims;
        let mut c = c0.to_vec();
        run(kernel, (a_t, b_t), &mut c, a, b, dims, mode);
        let a_ik = |i: usize, kk: usize| if a_t { a[kk * m + i] } else { a[i * k + kk] };
        let b_kj = |kk: usize, j: usize| if b_t { b[j * k + kk] } else { b[kk * n + j] };
        let mut expected = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = match mode {
                    Accumulate::Overwrite => 0.0f32,
                    Accumulate::Add => c0[i * n + j],
                };
                for kk in 0..k {
                    acc = a_ik(i, kk).mul_add(b_kj(kk, j), acc);
                }
                expected[i * n + j] = acc;
            }
        }
        assert_bits_eq(
            &c,
            &expected,
            format_args!("fma {name} {mode:?} M={m} K={k} N={n}"),
        );
    });
}
