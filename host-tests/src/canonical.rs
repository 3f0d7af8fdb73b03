//! The documented canonical evaluation orders, written again in plain `f32` from the
//! kernels' module documentation (not from their code). A kernel that follows its
//! documented order reproduces these bit for bit; one that reorders its additions or
//! fuses a multiply-add does not, even where its result stays within the error bound.
//! That is what makes training bit-identical across targets (design principle 4).
//!
//! Rust never contracts `a * b + c` into a fused multiply-add, so each product below is
//! rounded before it is added.

/// `src/kernels/gemm.rs`: `C[i][j] = ((((c₀ + p₀) + p₁) + …) + p_{K−1})`, each
/// `p_k = fl(a(i, k)·b(k, j))`, `k` increasing, `c₀ = +0.0` for `Overwrite`.
///
/// # Examples
///
/// ```
/// let c = host_tests::canonical::sequential_dot(1.0, [(2.0, 3.0), (4.0, 5.0)]);
/// assert_eq!(c, 27.0);
/// ```
pub fn sequential_dot(c0: f32, terms: impl IntoIterator<Item = (f32, f32)>) -> f32 {
    let mut c = c0;
    for (a, b) in terms {
        let p = a * b;
        c += p;
    }
    c
}

/// `src/kernels/vector.rs`: term `i` is added to lane `i mod 8` of eight partial sums
/// that start at `+0.0`, in increasing `i`; then
/// `((p₀ + p₄) + (p₂ + p₆)) + ((p₁ + p₅) + (p₃ + p₇))`.
///
/// # Examples
///
/// ```
/// let s = host_tests::canonical::eight_lane_sum((1..=10).map(|i| i as f32));
/// assert_eq!(s, 55.0);
/// ```
pub fn eight_lane_sum(terms: impl IntoIterator<Item = f32>) -> f32 {
    let mut p = [0.0f32; 8];
    for (i, t) in terms.into_iter().enumerate() {
        p[i % 8] += t;
    }
    ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]))
}
