//! References and helpers for the host tests of `microtrain`.
//!
//! - [`reference`]: independent `f64` implementations of every kernel, written from
//!   the mathematical definitions (not from the kernels' code).
//! - [`bound`]: the rounding-error bounds that serve as tolerances, each derived from
//!   the `f32` arithmetic the kernel performs ([`bound::Tracked`] does running error
//!   analysis for the formulas with transcendental functions).
//! - [`check`]: [`assert_close!`], [`check::assert_all_close`] and
//!   [`check::assert_bits_eq`], which print everything needed to diagnose a failure.
//! - [`canonical`]: the kernels' documented evaluation orders, in plain `f32`, for the
//!   tests that pin those orders bit for bit.
//! - [`Rng`]: a deterministic SplitMix64 test-data generator.
//! - [`photometric`]: `f64` references for the photometric image augmentations.
//! - [`flash`] and [`resume`]: a simulated flash with power cuts, and the training run
//!   the checkpoint tests interrupt and resume.
//!
//! The tests themselves live in `tests/kernels_*.rs`.

// The bit-identity tests are compiled out with host-tests' own `fma` feature: a build
// that turns on microtrain's alone would run them against fused products, where they
// could pass only by accident.
const _: () = assert!(
    microtrain::kernels::FUSED_PRODUCTS == cfg!(feature = "fma"),
    "microtrain's `fma` feature is on but host-tests' is not: run with `--features fma` \
     (host-tests' feature, which turns microtrain's on and skips the bit-identity tests)"
);

pub mod bound;
pub mod canonical;
pub mod check;
pub mod flash;
pub mod golden;
pub mod layer_check;
pub mod photometric;
pub mod products;
pub mod reference;
pub mod resume;
mod rng;

pub use rng::Rng;

/// Every size from 1 to 67: the vector sweeps cross the 8-lane and 16-lane SIMD
/// widths several times, with every remainder.
pub const VECTOR_SIZES: core::ops::RangeInclusive<usize> = 1..=67;

/// Matrix dimensions for the product sweeps: 1 and 2 (degenerate rows/columns), small
/// primes, and the neighbours of the SIMD width 16, of 32 and of the `k`-chunk 64, so
/// that every combination of full and partial register tiles, panels and chunks occurs.
pub const MATRIX_SIZES: [usize; 15] = [1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 63, 64, 65, 67];

/// Inner dimensions: [`MATRIX_SIZES`] plus sizes that cross the `k`-chunk boundary
/// (`KC = 64`) more than once: `130 = 2·64 + 2`, `200 = 3·64 + 8`.
pub const INNER_SIZES: [usize; 17] = [
    1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 63, 64, 65, 67, 130, 200,
];

/// Small sizes for which the product sweeps run every `(M, K, N)` combination.
pub const SMALL_SIZES: [usize; 8] = [1, 2, 3, 5, 7, 13, 16, 17];

/// The `(M, K, N)` shapes of the product sweeps:
///
/// - every combination of [`SMALL_SIZES`] (`M`, `N`) with [`SMALL_SIZES`] plus
///   63, 64, 65, 130 (`K`);
/// - every *pair* of dimensions from [`MATRIX_SIZES`] × [`INNER_SIZES`] × [`MATRIX_SIZES`]:
///   for each pair of values of two dimensions there is a shape with those values, the
///   third cycling through the sizes up to 33 (through [`SMALL_SIZES`] next to
///   `K > 67`). All pairs rather than the full cube keeps the debug-build test run
///   short: 1258 shapes and 12 million multiply-adds instead of 3825 shapes and 129
///   million.
///
/// # Examples
///
/// ```
/// let shapes = host_tests::product_shapes();
/// assert_eq!(shapes.len(), 1258);
/// assert!(shapes.contains(&(1, 1, 1)));
/// // every pair of values of M and K occurs
/// for m in host_tests::MATRIX_SIZES {
///     for k in host_tests::INNER_SIZES {
///         assert!(shapes.iter().any(|s| s.0 == m && s.1 == k));
///     }
/// }
/// ```
pub fn product_shapes() -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    let small_inner = SMALL_SIZES.iter().chain(&[63, 64, 65, 130]);
    for &m in &SMALL_SIZES {
        for &k in small_inner.clone() {
            for &n in &SMALL_SIZES {
                shapes.push((m, k, n));
            }
        }
    }
    let (ms, ks) = (&MATRIX_SIZES, &INNER_SIZES);
    // The third dimension of a pair is free; it cycles through the sizes up to 33
    // (through `SMALL_SIZES` next to K > 67), which keeps every pair and every kind of
    // partial tile, panel and chunk while skipping the costliest all-large shapes.
    let cheap: Vec<usize> = MATRIX_SIZES.iter().copied().filter(|&s| s <= 33).collect();
    let third = |i: usize, j: usize, k: usize| {
        if k > 67 {
            SMALL_SIZES[(i + j) % SMALL_SIZES.len()]
        } else {
            cheap[(i + j) % cheap.len()]
        }
    };
    for (i, &m) in ms.iter().enumerate() {
        for (j, &n) in ms.iter().enumerate() {
            shapes.push((m, ks[(i + j) % ks.len()], n));
        }
        for (j, &k) in ks.iter().enumerate() {
            shapes.push((m, k, third(i, j, k)));
        }
    }
    for (i, &k) in ks.iter().enumerate() {
        for (j, &n) in ms.iter().enumerate() {
            shapes.push((third(i, j, k), k, n));
        }
    }
    shapes.sort_unstable();
    shapes.dedup();
    shapes
}

/// Element-wise absolute values (see [`reference::abs`]).
pub use reference::abs;
