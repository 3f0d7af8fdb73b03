//! Our three matrix products against `matrixmultiply` and `nalgebra`, side by side in one
//! run.
//!
//! Every benchmark computes `C = op(A) · op(B)` with `C: M × N` and inner dimension `K`,
//! where `op` is the identity or the transpose as the product says:
//!
//! | group        | microtrain                 | matrixmultiply::sgemm     | nalgebra                 |
//! |--------------|----------------------------|---------------------------|--------------------------|
//! | `matmul`     | [`kernels::matmul`]        | strides of `A`, `B`       | `c.gemm(1, a, b, 0)`     |
//! | `matmul_bt`  | [`kernels::matmul_bt`]     | `B` read with swapped strides | `c.gemm(1, a, bᵀ view, 0)` |
//! | `matmul_at`  | [`kernels::matmul_at`]     | `A` read with swapped strides | `c.gemm_tr(1, a, b, 0)`  |
//!
//! `matrixmultiply` takes strides, so its transposes are free; it picks an FMA kernel at
//! run time (AVX-512 or AVX2 on x86-64). `nalgebra` uses statically sized `SMatrix` when
//! every dimension is at most 64 (its own generic loops), `DMatrix` otherwise
//! (which hands the product to `matrixmultiply`). All three write into a preallocated `C`:
//! nothing is allocated inside the timed loop except what a peer allocates internally.
//! Our products do not use fused multiply-add (bit-exactness, see `src/kernels/gemm.rs`);
//! the peers do.
//!
//! Throughput is `Elements(2·M·N·K)`, so criterion's `elem/s` reads as FLOP/s.
//!
//! ```text
//! cargo bench --bench gemm                       # default target (SSE2 for our code)
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/native-target cargo bench --bench gemm
//! cargo bench --bench gemm -- 'matmul_bt/32x784x128'   # one group
//! ```

use core::hint::black_box;
use core::time::Duration;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use microtrain::kernels::{self, Accumulate};
use microtrain::{MatMut, MatRef};
use nalgebra::{Const, DMatrix, DMatrixView, Dyn, MatrixView, SMatrix};

/// The three products, in the names of our kernels.
#[derive(Clone, Copy)]
enum Product {
    /// `C = A · B`, `A: M × K`, `B: K × N`.
    AB,
    /// `C = A · Bᵀ`, `A: M × K`, `B: N × K`.
    ABt,
    /// `C = Aᵀ · B`, `A: K × M`, `B: K × N`.
    AtB,
}

impl Product {
    const ALL: [Product; 3] = [Product::AB, Product::ABt, Product::AtB];

    fn name(self) -> &'static str {
        match self {
            Product::AB => "matmul",
            Product::ABt => "matmul_bt",
            Product::AtB => "matmul_at",
        }
    }

    /// Shapes of the stored `A` and `B` (rows, columns) for `C: m × n`, inner `k`.
    fn stored(self, m: usize, k: usize, n: usize) -> ((usize, usize), (usize, usize)) {
        match self {
            Product::AB => ((m, k), (k, n)),
            Product::ABt => ((m, k), (n, k)),
            Product::AtB => ((k, m), (k, n)),
        }
    }
}

/// Deterministic values in `[-1, 1)`.
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn bench_microtrain(
    g: &mut BenchmarkGroup<'_, WallTime>,
    p: Product,
    (m, k, n): (usize, usize, usize),
) {
    let ((ar, ac), (br, bc)) = p.stored(m, k, n);
    let a = values(ar * ac, 1);
    let b = values(br * bc, 2);
    let mut c = vec![0.0f32; m * n];
    let kernel = match p {
        Product::AB => kernels::matmul,
        Product::ABt => kernels::matmul_bt,
        Product::AtB => kernels::matmul_at,
    };
    g.bench_function("microtrain", |bench| {
        bench.iter(|| {
            kernel(
                MatMut::new(&mut c, m, n).unwrap(),
                MatRef::new(black_box(&a), ar, ac).unwrap(),
                MatRef::new(black_box(&b), br, bc).unwrap(),
                Accumulate::Overwrite,
            )
            .unwrap();
            black_box(&mut c);
        })
    });
}

fn bench_matrixmultiply(
    g: &mut BenchmarkGroup<'_, WallTime>,
    p: Product,
    (m, k, n): (usize, usize, usize),
) {
    let ((ar, ac), (br, bc)) = p.stored(m, k, n);
    let a = values(ar * ac, 1);
    let b = values(br * bc, 2);
    let mut c = vec![0.0f32; m * n];
    // Strides (row, column) of op(A): M × K and op(B): K × N in row-major storage.
    let (rsa, csa) = match p {
        Product::AtB => (1, m as isize),
        _ => (k as isize, 1),
    };
    let (rsb, csb) = match p {
        Product::ABt => (1, k as isize),
        _ => (n as isize, 1),
    };
    g.bench_function("matrixmultiply", |bench| {
        bench.iter(|| {
            let (a, b) = (black_box(&a), black_box(&b));
            // SAFETY: `a`, `b`, `c` hold op(A): m × k, op(B): k × n and C: m × n with
            // the strides above, and `c` does not overlap the inputs.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    rsb,
                    csb,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            black_box(&mut c);
        })
    });
}

/// `nalgebra` with heap matrices (it calls `matrixmultiply` for these sizes).
fn bench_nalgebra_dynamic(
    g: &mut BenchmarkGroup<'_, WallTime>,
    p: Product,
    (m, k, n): (usize, usize, usize),
) {
    let ((ar, ac), (br, bc)) = p.stored(m, k, n);
    let a = DMatrix::from_vec(ar, ac, values(ar * ac, 1));
    let b = DMatrix::from_vec(br, bc, values(br * bc, 2));
    let mut c = DMatrix::<f32>::zeros(m, n);
    g.bench_function("nalgebra", |bench| {
        bench.iter(|| {
            let (a, b) = (black_box(&a), black_box(&b));
            match p {
                Product::AB => c.gemm(1.0, a, b, 0.0),
                Product::ABt => {
                    // Bᵀ as a view with swapped strides: no copy.
                    let bt = DMatrixView::from_slice_with_strides(b.as_slice(), k, n, br, 1);
                    c.gemm(1.0, a, &bt, 0.0)
                }
                Product::AtB => c.gemm_tr(1.0, a, b, 0.0),
            }
            black_box(&mut c);
        })
    });
}

/// `nalgebra` with stack matrices of static size (its own loops, no `matrixmultiply`).
fn bench_nalgebra_static<const M: usize, const K: usize, const N: usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    p: Product,
) {
    fn filled<const R: usize, const C: usize>(seed: u32) -> Box<SMatrix<f32, R, C>> {
        Box::new(SMatrix::from_column_slice(&values(R * C, seed)))
    }
    let mut c = Box::new(SMatrix::<f32, M, N>::zeros());
    g.bench_function("nalgebra", |bench| match p {
        Product::AB => {
            let (a, b) = (filled::<M, K>(1), filled::<K, N>(2));
            bench.iter(|| {
                c.gemm(1.0, black_box(&*a), black_box(&*b), 0.0);
                black_box(&mut c);
            })
        }
        Product::ABt => {
            let (a, b) = (filled::<M, K>(1), filled::<N, K>(2));
            bench.iter(|| {
                let b = black_box(&*b);
                // Bᵀ as a view with swapped strides: no copy.
                let bt = MatrixView::<f32, Const<K>, Const<N>, Dyn, Dyn>::from_slice_with_strides_generic(
                    b.as_slice(),
                    Const::<K>,
                    Const::<N>,
                    Dyn(N),
                    Dyn(1),
                );
                c.gemm(1.0, black_box(&*a), &bt, 0.0);
                black_box(&mut c);
            })
        }
        Product::AtB => {
            let (a, b) = (filled::<K, M>(1), filled::<K, N>(2));
            bench.iter(|| {
                c.gemm_tr(1.0, black_box(&*a), black_box(&*b), 0.0);
                black_box(&mut c);
            })
        }
    });
}

/// How `nalgebra` is measured for one shape.
type NalgebraBench = fn(&mut BenchmarkGroup<'_, WallTime>, Product, (usize, usize, usize));

/// One group per (product, shape): the three implementations side by side.
fn shape(crit: &mut Criterion, (m, k, n): (usize, usize, usize), nalgebra: NalgebraBench) {
    for p in Product::ALL {
        let mut g = crit.benchmark_group(format!("{}/{m}x{k}x{n}", p.name()));
        g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        bench_microtrain(&mut g, p, (m, k, n));
        bench_matrixmultiply(&mut g, p, (m, k, n));
        nalgebra(&mut g, p, (m, k, n));
        g.finish();
    }
}

/// `(M, K, N)` with `nalgebra` on `SMatrix` (`static`) or on `DMatrix` (`dynamic`).
macro_rules! shape {
    ($crit:expr, static $m:literal, $k:literal, $n:literal) => {
        shape($crit, ($m, $k, $n), |g, p, _| {
            bench_nalgebra_static::<$m, $k, $n>(g, p)
        })
    };
    ($crit:expr, dynamic $m:literal, $k:literal, $n:literal) => {
        shape($crit, ($m, $k, $n), bench_nalgebra_dynamic)
    };
}

fn main() {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    // Square products.
    shape!(&mut crit, static 8, 8, 8);
    shape!(&mut crit, static 16, 16, 16);
    shape!(&mut crit, static 32, 32, 32);
    shape!(&mut crit, static 64, 64, 64);
    shape!(&mut crit, dynamic 128, 128, 128);
    shape!(&mut crit, dynamic 256, 256, 256);
    // MLP shapes: a batch of 32 through 64 → 32, 784 → 128 and 128 → 10 layers.
    // (`nalgebra` on `SMatrix` up to 64 in every dimension, on `DMatrix` above.)
    shape!(&mut crit, static 32, 64, 32);
    shape!(&mut crit, dynamic 32, 784, 128);
    shape!(&mut crit, dynamic 32, 128, 10);
    crit.final_summary();
}
