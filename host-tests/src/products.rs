//! The three matrix products as values, for tests that run each one on the dispatched
//! (SIMD) path and on the scalar path and compare the bits.

use microtrain::kernels::{self, scalar};
use microtrain::{Accumulate, Error, MatMut, MatRef};

/// A product kernel: `C (+)= op(A)·op(B)`.
pub type Kernel =
    for<'c, 'a, 'b> fn(MatMut<'c>, MatRef<'a>, MatRef<'b>, Accumulate) -> Result<(), Error>;

/// `(name, SIMD kernel, scalar kernel, A transposed, B transposed)`.
pub type Product = (&'static str, Kernel, Kernel, bool, bool);

/// `A·B`, `A·Bᵀ` and `Aᵀ·B`.
pub const PRODUCTS: [Product; 3] = [
    ("A·B", kernels::matmul, scalar::matmul, false, false),
    ("A·Bᵀ", kernels::matmul_bt, scalar::matmul_bt, false, true),
    ("Aᵀ·B", kernels::matmul_at, scalar::matmul_at, true, false),
];

/// Runs `kernel` on `C: m × n` from `A` and `B` stored as the transposition flags say
/// (`A` is `k × m` when transposed, else `m × k`; `B` is `n × k` or `k × n`).
///
/// # Examples
///
/// ```
/// use host_tests::products::{run, PRODUCTS};
/// use microtrain::Accumulate;
/// let (_, simd, _, a_t, b_t) = PRODUCTS[0];
/// let mut c = [0.0; 1];
/// run(simd, (a_t, b_t), &mut c, &[2.0, 3.0], &[4.0, 5.0], (1, 2, 1), Accumulate::Overwrite);
/// assert_eq!(c, [23.0]);
/// ```
///
/// # Panics
///
/// If the slices do not fit the shape.
pub fn run(
    kernel: Kernel,
    (a_t, b_t): (bool, bool),
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    mode: Accumulate,
) {
    let a = if a_t {
        MatRef::new(a, k, m)
    } else {
        MatRef::new(a, m, k)
    };
    let b = if b_t {
        MatRef::new(b, n, k)
    } else {
        MatRef::new(b, k, n)
    };
    kernel(MatMut::new(c, m, n).unwrap(), a.unwrap(), b.unwrap(), mode).unwrap();
}
