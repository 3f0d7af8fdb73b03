//! The matrix products `A·B`, `A·Bᵀ`, `Aᵀ·B` against an `f64` reference, SIMD against
//! scalar bit for bit, identity matrices, empty dimensions and shape errors.

use host_tests::bound::dot_bound;
use host_tests::canonical::sequential_dot;
use host_tests::check::assert_bits_eq;
use host_tests::{abs, assert_close, product_shapes, reference, Rng, MATRIX_SIZES};
use microtrain::kernels::{self, scalar};
use microtrain::{Accumulate, Error, MatMut, MatRef};

const MODES: [Accumulate; 2] = [Accumulate::Overwrite, Accumulate::Add];

/// A product kernel: `C (+)= op(A)·op(B)`.
type Kernel =
    for<'c, 'a, 'b> fn(MatMut<'c>, MatRef<'a>, MatRef<'b>, Accumulate) -> Result<(), Error>;

/// The reference of a product: `op(A)·op(B)` in `f64`, given `M`, `K`, `N`.
type Reference = fn(&[f32], &[f32], usize, usize, usize) -> Vec<f64>;

/// Which of the three products; `C` is always `M × N` and the inner dimension `K`.
#[derive(Clone, Copy, Debug)]
enum Product {
    /// `A·B`, `A: M × K`, `B: K × N`.
    AB,
    /// `A·Bᵀ`, `A: M × K`, `B: N × K`.
    ABt,
    /// `Aᵀ·B`, `A: K × M`, `B: K × N`.
    AtB,
}

const PRODUCTS: [Product; 3] = [Product::AB, Product::ABt, Product::AtB];

impl Product {
    /// The stored shape `(rows, cols)` of `A`.
    fn a_shape(self, m: usize, k: usize) -> (usize, usize) {
        match self {
            Product::AB | Product::ABt => (m, k),
            Product::AtB => (k, m),
        }
    }

    /// The stored shape `(rows, cols)` of `B`.
    fn b_shape(self, k: usize, n: usize) -> (usize, usize) {
        match self {
            Product::AB | Product::AtB => (k, n),
            Product::ABt => (n, k),
        }
    }

    /// The public (SIMD unless the `scalar` feature is on) kernel.
    fn kernel(self) -> Kernel {
        match self {
            Product::AB => kernels::matmul,
            Product::ABt => kernels::matmul_bt,
            Product::AtB => kernels::matmul_at,
        }
    }

    /// The scalar path.
    fn scalar(self) -> Kernel {
        match self {
            Product::AB => scalar::matmul,
            Product::ABt => scalar::matmul_bt,
            Product::AtB => scalar::matmul_at,
        }
    }

    fn reference(self) -> Reference {
        match self {
            Product::AB => reference::matmul,
            Product::ABt => reference::matmul_bt,
            Product::AtB => reference::matmul_at,
        }
    }

    /// Runs `kernel` on `C: m × n` (`c`), `A`, `B` with shapes for `(m, k, n)`.
    fn run(
        self,
        kernel: Kernel,
        c: &mut [f32],
        a: &[f32],
        b: &[f32],
        (m, k, n): (usize, usize, usize),
        mode: Accumulate,
    ) -> Result<(), Error> {
        let (ar, ac) = self.a_shape(m, k);
        let (br, bc) = self.b_shape(k, n);
        kernel(
            MatMut::new(c, m, n)?,
            MatRef::new(a, ar, ac)?,
            MatRef::new(b, br, bc)?,
            mode,
        )
    }
}

/// Operands for one case: `A`, `B` and the initial `C`.
fn operands(
    label: &str,
    p: Product,
    mode: Accumulate,
    (m, k, n): (usize, usize, usize),
    wild: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = Rng::for_case(label, &[p as usize, mode as usize, m, k, n]);
    let mut gen = |len: usize| {
        if wild {
            rng.wild_vec(len)
        } else {
            rng.uniform_vec(len, -1.0, 1.0)
        }
    };
    (gen(m * k), gen(k * n), gen(m * n))
}

/// Runs the public kernel on one case and compares every element of `C` with the
/// `f64` reference.
fn check_against_reference(p: Product, mode: Accumulate, dims: (usize, usize, usize), wild: bool) {
    let (m, k, n) = dims;
    let (a, b, c0) = operands("gemm reference", p, mode, dims, wild);
    let mut c = c0.clone();
    p.run(p.kernel(), &mut c, &a, &b, dims, mode).unwrap();
    let product = p.reference()(&a, &b, m, k, n);
    // Σₖ |a(i, k)·b(k, j)| is the same product of |A| and |B|.
    let magnitude = p.reference()(&abs(&a), &abs(&b), m, k, n);
    for i in 0..m {
        for j in 0..n {
            let at = i * n + j;
            let c0 = f64::from(c0[at]);
            let (expected, magnitude, terms) = match mode {
                Accumulate::Overwrite => (product[at], magnitude[at], k),
                Accumulate::Add => (c0 + product[at], c0.abs() + magnitude[at], k + 1),
            };
            // The kernel rounds each of the K products and adds them to c₀ one by one;
            // with c₀ counted as the exact product c₀·1 that is an f32 dot product of
            // `terms` = K (c₀ = +0, the first addition is exact) or K + 1 (C += …)
            // terms, so (Higham (3.5)):
            //   |ĉ − c| ≤ γ_terms·(|c₀| + Σₖ|aₖbₖ|) + K·2⁻¹⁵⁰   (underflowing products)
            // plus the f64 reference's own γ_terms(2⁻⁵³)·(…) — see `dot_bound`.
            let bound = dot_bound(terms, magnitude);
            assert_close!(
                c[at],
                expected,
                bound,
                "{p:?} {mode:?} M={m} K={k} N={n} wild={wild}, C[{i}][{j}] (index {at})"
            );
        }
    }
}

/// Every shape of [`product_shapes`], inputs uniform in `[-1, 1)`.
fn sweep(p: Product, mode: Accumulate) {
    for dims in product_shapes() {
        check_against_reference(p, mode, dims, false);
    }
}

#[test]
fn ab_overwrite_matches_reference() {
    sweep(Product::AB, Accumulate::Overwrite);
}

#[test]
fn ab_add_matches_reference() {
    sweep(Product::AB, Accumulate::Add);
}

#[test]
fn abt_overwrite_matches_reference() {
    sweep(Product::ABt, Accumulate::Overwrite);
}

#[test]
fn abt_add_matches_reference() {
    sweep(Product::ABt, Accumulate::Add);
}

#[test]
fn atb_overwrite_matches_reference() {
    sweep(Product::AtB, Accumulate::Overwrite);
}

#[test]
fn atb_add_matches_reference() {
    sweep(Product::AtB, Accumulate::Add);
}

/// Every size from 1 to 67 along one axis (1 to 200 for `K`) with the other two
/// fixed, including the `1 × N`, `N × 1` outputs and the `1 × K · K × 1` dot product;
/// inputs from the whole exponent range (`Rng::wild`), so the bound is also checked
/// under heavy cancellation and subnormal products.
#[test]
fn every_size_along_each_axis_matches_reference() {
    for p in PRODUCTS {
        for mode in MODES {
            for s in 1..=67 {
                for (x, y) in [(1, 1), (5, 7)] {
                    check_against_reference(p, mode, (s, x, y), true);
                    check_against_reference(p, mode, (x, y, s), true);
                }
            }
            for k in 1..=200 {
                for (m, n) in [(1, 1), (3, 17)] {
                    check_against_reference(p, mode, (m, k, n), true);
                }
            }
        }
    }
}

/// The SIMD path and the scalar path give the same bits for every shape of
/// [`product_shapes`], on inputs with signed zeros, subnormals, tiny and large
/// magnitudes.
fn simd_matches_scalar(p: Product) {
    for mode in MODES {
        for dims in product_shapes() {
            let (a, b, c0) = operands("gemm bits", p, mode, dims, true);
            let mut simd = c0.clone();
            let mut scalar = c0;
            p.run(p.kernel(), &mut simd, &a, &b, dims, mode).unwrap();
            p.run(p.scalar(), &mut scalar, &a, &b, dims, mode).unwrap();
            let (m, k, n) = dims;
            assert_bits_eq(
                &simd,
                &scalar,
                format_args!("{p:?} {mode:?} M={m} K={k} N={n}"),
            );
        }
    }
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn ab_simd_matches_scalar_bit_for_bit() {
    simd_matches_scalar(Product::AB);
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn abt_simd_matches_scalar_bit_for_bit() {
    simd_matches_scalar(Product::ABt);
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn atb_simd_matches_scalar_bit_for_bit() {
    simd_matches_scalar(Product::AtB);
}

/// Every product reproduces, bit for bit, the canonical order documented in
/// `src/kernels/gemm.rs` (`c₀ + p₀ + p₁ + …` in increasing `k`, each product rounded,
/// no fused multiply-add), written again in `host_tests::canonical::sequential_dot`.
/// The `K` sizes cross the 64-wide chunks of `k` up to twice, and `M`, `N` cover full
/// and partial register tiles and panels.
#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn products_follow_the_documented_order() {
    let outer = [1, 3, 4, 16, 17, 33];
    for p in PRODUCTS {
        for mode in MODES {
            for m in outer {
                for k in [1, 5, 64, 65, 130] {
                    for n in outer {
                        let dims = (m, k, n);
                        let (a, b, c0) = operands("gemm order", p, mode, dims, true);
                        let c = product(p, p.kernel(), &c0, &a, &b, dims, mode);
                        let a_ik = |i: usize, kk: usize| match p {
                            Product::AB | Product::ABt => a[i * k + kk],
                            Product::AtB => a[kk * m + i],
                        };
                        let b_kj = |kk: usize, j: usize| match p {
                            Product::AB | Product::AtB => b[kk * n + j],
                            Product::ABt => b[j * k + kk],
                        };
                        let mut expected = vec![0.0f32; m * n];
                        for i in 0..m {
                            for j in 0..n {
                                let start = match mode {
                                    Accumulate::Overwrite => 0.0,
                                    Accumulate::Add => c0[i * n + j],
                                };
                                let terms = (0..k).map(|kk| (a_ik(i, kk), b_kj(kk, j)));
                                expected[i * n + j] = sequential_dot(start, terms);
                            }
                        }
                        assert_bits_eq(
                            &c,
                            &expected,
                            format_args!("{p:?} {mode:?} M={m} K={k} N={n}"),
                        );
                    }
                }
            }
        }
    }
}

/// `(product, A, B, (M, K, N), expected C)`.
type IdentityCase<'a> = (
    Product,
    &'a [f32],
    &'a [f32],
    (usize, usize, usize),
    &'a [f32],
);

fn identity(n: usize) -> Vec<f32> {
    let mut e = vec![0.0; n * n];
    for i in 0..n {
        e[i * n + i] = 1.0;
    }
    e
}

/// Runs `kernel` and returns `C`.
fn product(
    p: Product,
    kernel: Kernel,
    c0: &[f32],
    a: &[f32],
    b: &[f32],
    dims: (usize, usize, usize),
    mode: Accumulate,
) -> Vec<f32> {
    let mut c = c0.to_vec();
    p.run(kernel, &mut c, a, b, dims, mode).unwrap();
    c
}

/// With an identity operand every element of `C` is one product `x·1` plus products
/// `x·0 = ±0`, and adding signed zeros to a value is exact: `A·I = A`, `I·A = A`,
/// `A·Iᵀ = A`, `I·Bᵀ = Bᵀ`, `Iᵀ·B = B`, `Aᵀ·I = Aᵀ`, exactly (as values: a `−0.0` may
/// come out as `+0.0`, because the sum starts at `+0.0`). With `C += …` the single
/// rounding is the one of `c₀ + x`, so the result equals the `f32` sum exactly.
#[test]
fn identity_products_are_exact() {
    for kernel_of in [Product::kernel as fn(Product) -> Kernel, Product::scalar] {
        for &r in &MATRIX_SIZES {
            // Identity sizes: one, two, a partial panel, a full chunk plus one.
            for s in [1, 2, 17, 65] {
                let mut rng = Rng::for_case("gemm identity", &[r, s]);
                let x = rng.wild_vec(r * s); // r × s
                let xt = reference::transpose(&x, r, s); // s × r
                let c0 = rng.wild_vec(r * s);
                let (ir, is) = (identity(r), identity(s));
                // (product, A, B, (M, K, N), expected r × s or s × r result)
                let cases: [IdentityCase<'_>; 6] = [
                    (Product::AB, &x, &is, (r, s, s), &x),
                    (Product::AB, &ir, &x, (r, r, s), &x),
                    (Product::ABt, &x, &is, (r, s, s), &x),
                    (Product::ABt, &ir, &xt, (r, r, s), &x),
                    (Product::AtB, &ir, &x, (r, r, s), &x),
                    (Product::AtB, &xt, &is, (r, s, s), &x),
                ];
                for (p, a, b, dims, expected) in cases {
                    let kernel = kernel_of(p);
                    let zeros = vec![0.0; expected.len()];
                    let c = product(p, kernel, &zeros, a, b, dims, Accumulate::Overwrite);
                    for (at, (&got, &want)) in c.iter().zip(expected).enumerate() {
                        assert!(
                            got == want,
                            "{p:?} Overwrite with identity, dims {dims:?}, index {at}: {got:e} != {want:e}"
                        );
                    }
                    let c = product(p, kernel, &c0, a, b, dims, Accumulate::Add);
                    for (at, &got) in c.iter().enumerate() {
                        let want = c0[at] + expected[at];
                        assert!(
                            got == want,
                            "{p:?} Add with identity, dims {dims:?}, index {at}: {got:e} != {want:e}"
                        );
                    }
                }
            }
        }
    }
}

/// `K = 0`: `C = A·B` is the zero matrix and `C += A·B` leaves `C` alone; `M = 0` or
/// `N = 0`: nothing to do and nothing to panic about.
#[test]
fn empty_dimensions() {
    for p in PRODUCTS {
        for kernel in [p.kernel(), p.scalar()] {
            for (m, n) in [(1, 1), (3, 17), (17, 3), (16, 16)] {
                let c0 = Rng::for_case("gemm empty", &[m, n]).wild_vec(m * n);
                let c = product(p, kernel, &c0, &[], &[], (m, 0, n), Accumulate::Overwrite);
                assert!(
                    c.iter().all(|v| v.to_bits() == 0),
                    "{p:?} K=0 Overwrite {m}×{n}: {c:?}"
                );
                let c = product(p, kernel, &c0, &[], &[], (m, 0, n), Accumulate::Add);
                assert_bits_eq(&c, &c0, format_args!("{p:?} K=0 Add {m}×{n}"));
            }
            for (m, k, n) in [
                (0, 3, 5),
                (5, 3, 0),
                (0, 0, 0),
                (0, 0, 4),
                (4, 0, 0),
                (0, 70, 0),
            ] {
                for mode in MODES {
                    let c = product(
                        p,
                        kernel,
                        &[],
                        &vec![1.0; m * k],
                        &vec![1.0; k * n],
                        (m, k, n),
                        mode,
                    );
                    assert!(c.is_empty(), "{p:?} {mode:?} {m}×{k}×{n}");
                }
            }
        }
    }
}

/// Asserts `result` is `Error::Shape` naming the two disagreeing sizes.
#[track_caller]
fn assert_shape_error(result: Result<(), Error>, sizes: (usize, usize), context: &str) {
    match result {
        Err(Error::Shape {
            what,
            expected,
            found,
        }) => {
            assert!(!what.is_empty(), "{context}: empty description");
            let mut got = [expected, found];
            let mut want = [sizes.0, sizes.1];
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(
                got, want,
                "{context}: {what} expected {expected}, found {found}"
            );
        }
        other => panic!("{context}: expected Error::Shape, got {other:?}"),
    }
}

/// Every disagreement between the three views is reported as `Error::Shape` with the
/// two sizes that disagree, and `C` is left untouched.
#[test]
fn mismatched_shapes_are_errors() {
    let (m, k, n) = (3, 4, 5);
    for p in PRODUCTS {
        for kernel in [p.kernel(), p.scalar()] {
            let (ar, ac) = p.a_shape(m, k);
            let (br, bc) = p.b_shape(k, n);
            let a = vec![1.0; 64];
            let b = vec![1.0; 64];
            let mut c = vec![7.0; 64];
            // (C rows, C cols, A rows, A cols, B rows, B cols, disagreeing sizes, what)
            let wrong_k = match p {
                Product::AB | Product::AtB => (ar, ac, k + 1, bc),
                Product::ABt => (ar, ac, br, k + 1),
            };
            let cases = [
                (m + 1, n, (ar, ac), (br, bc), (m, m + 1), "rows of C"),
                (m, n + 1, (ar, ac), (br, bc), (n, n + 1), "columns of C"),
                (
                    m,
                    n,
                    (wrong_k.0, wrong_k.1),
                    (wrong_k.2, wrong_k.3),
                    (k, k + 1),
                    "inner",
                ),
            ];
            for (cr, cc, (ar, ac), (br, bc), sizes, what) in cases {
                let result = kernel(
                    MatMut::new(&mut c[..cr * cc], cr, cc).unwrap(),
                    MatRef::new(&a[..ar * ac], ar, ac).unwrap(),
                    MatRef::new(&b[..br * bc], br, bc).unwrap(),
                    Accumulate::Overwrite,
                );
                assert_shape_error(result, sizes, &format!("{p:?} {what}"));
                assert!(c.iter().all(|&v| v == 7.0), "{p:?} {what}: C was written");
            }
        }
    }
}

/// A view whose slice does not hold `rows · cols` elements is `Error::Length`.
#[test]
fn views_of_the_wrong_length_are_errors() {
    let data = [0.0f32; 6];
    assert_eq!(
        MatRef::new(&data, 2, 4).unwrap_err(),
        Error::Length {
            what: "matrix view",
            expected: 8,
            found: 6
        }
    );
    let mut data = [0.0f32; 6];
    assert!(matches!(
        MatMut::new(&mut data, 7, 1),
        Err(Error::Length {
            expected: 7,
            found: 6,
            ..
        })
    ));
    assert!(matches!(
        MatRef::new(&[], usize::MAX, 2),
        Err(Error::Length { found: 0, .. })
    ));
}

/// A product with no columns writes nothing and returns at once, however many rows the
/// views claim (the scalar path used to walk all 2⁶² of them: a hang the probe found).
#[test]
fn products_without_columns_return_at_once() -> Result<(), Error> {
    let m = 1usize << 62;
    for k in [0, 3] {
        let a = vec![0.0f32; if k == 0 { 0 } else { 3 }];
        let (a_rows, a_cols) = if k == 0 { (m, 0) } else { (1, 3) };
        let mut c: [f32; 0] = [];
        // Only the shapes the checks accept are run; the point is that none hangs.
        if let Ok(a) = MatRef::new(&a, a_rows, a_cols) {
            let b = MatRef::new(&[], 0, a_cols)?;
            let _ =
                kernels::matmul_bt(MatMut::new(&mut c, a_rows, 0)?, a, b, Accumulate::Overwrite);
            let _ = scalar::matmul_bt(MatMut::new(&mut c, a_rows, 0)?, a, b, Accumulate::Overwrite);
        }
    }
    Ok(())
}
