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
//! Our products do not use fused multiply-add (bit-exactness, see `src/kernels/gemm.rs`)
//! unless the crate's `fma` feature asks for it (`--features microtrain/fma`); the peers
//! do.
//!
//! Throughput is `Elements(2·M·N·K)`, so criterion's `elem/s` reads as FLOP/s.
//!
//! With `GEMM_ROUNDS=R` in the environment the bench skips criterion and measures in
//! `R` interleaved rounds instead: each round times every implementation of every shape
//! once (a few milliseconds each, in a rotating order) and a loop of independent
//! 512-bit and 256-bit `vfmadd231ps` (the single-core FMA peak, x86-64 only), and the
//! table gives the median over the rounds of each, the ratio of ours to the faster
//! peer, and for ours GFLOP/s and the share of the peak measured in the same rounds.
//! On a machine shared with other work that is steadier than criterion's back-to-back
//! runs.
//!
//! ```text
//! cargo bench --bench gemm                       # default target (SSE2 for our code)
//! GEMM_ROUNDS=15 cargo bench --bench gemm        # interleaved rounds, one table
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/native-target cargo bench --bench gemm
//! cargo bench --bench gemm -- 'matmul_bt/32x784x128'   # one group
//! ```

#[path = "common/mod.rs"]
mod common;

use common::median;
use core::hint::black_box;
use core::time::Duration;
use criterion::{Criterion, Throughput};
use microtrain::kernels::{self, Accumulate};
use microtrain::{MatMut, MatRef};
use nalgebra::{Const, DMatrix, DMatrixView, Dyn, MatrixView, SMatrix};
use std::time::Instant;

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

/// Deterministic values in `[-1, 1)` (`common::fill`).
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut v = vec![0.0; len];
    common::fill(&mut v, seed);
    v
}

/// One timed implementation: a call computes the product once into its own `C`.
type Call = Box<dyn FnMut()>;

fn microtrain(p: Product, (m, k, n): (usize, usize, usize)) -> Call {
    let ((ar, ac), (br, bc)) = p.stored(m, k, n);
    let a = values(ar * ac, 1);
    let b = values(br * bc, 2);
    let mut c = vec![0.0f32; m * n];
    let kernel = match p {
        Product::AB => kernels::matmul,
        Product::ABt => kernels::matmul_bt,
        Product::AtB => kernels::matmul_at,
    };
    Box::new(move || {
        kernel(
            MatMut::new(&mut c, m, n).unwrap(),
            MatRef::new(black_box(&a), ar, ac).unwrap(),
            MatRef::new(black_box(&b), br, bc).unwrap(),
            Accumulate::Overwrite,
        )
        .unwrap();
        black_box(&mut c);
    })
}

fn matrixmultiply(p: Product, (m, k, n): (usize, usize, usize)) -> Call {
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
    Box::new(move || {
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
}

/// `nalgebra` with heap matrices (it calls `matrixmultiply` for these sizes).
fn nalgebra_dynamic(p: Product, (m, k, n): (usize, usize, usize)) -> Call {
    let ((ar, ac), (br, bc)) = p.stored(m, k, n);
    let a = DMatrix::from_vec(ar, ac, values(ar * ac, 1));
    let b = DMatrix::from_vec(br, bc, values(br * bc, 2));
    let mut c = DMatrix::<f32>::zeros(m, n);
    Box::new(move || {
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
}

/// `nalgebra` with stack matrices of static size (its own loops, no `matrixmultiply`).
fn nalgebra_static<const M: usize, const K: usize, const N: usize>(p: Product) -> Call {
    fn filled<const R: usize, const C: usize>(seed: u32) -> Box<SMatrix<f32, R, C>> {
        Box::new(SMatrix::from_column_slice(&values(R * C, seed)))
    }
    let mut c = Box::new(SMatrix::<f32, M, N>::zeros());
    match p {
        Product::AB => {
            let (a, b) = (filled::<M, K>(1), filled::<K, N>(2));
            Box::new(move || {
                c.gemm(1.0, black_box(&*a), black_box(&*b), 0.0);
                black_box(&mut c);
            })
        }
        Product::ABt => {
            let (a, b) = (filled::<M, K>(1), filled::<N, K>(2));
            Box::new(move || {
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
            Box::new(move || {
                c.gemm_tr(1.0, black_box(&*a), black_box(&*b), 0.0);
                black_box(&mut c);
            })
        }
    }
}

/// How `nalgebra` is set up for one shape.
type Nalgebra = fn(Product, (usize, usize, usize)) -> Call;

/// The implementations, in the order of [`Case::calls`].
const NAMES: [&str; 3] = ["microtrain", "matrixmultiply", "nalgebra"];

/// One product at one shape, and its three implementations.
struct Case {
    product: Product,
    dims: (usize, usize, usize),
    calls: [Call; 3],
}

impl Case {
    fn name(&self) -> String {
        let (m, k, n) = self.dims;
        format!("{}/{m}x{k}x{n}", self.product.name())
    }

    fn flops(&self) -> f64 {
        let (m, k, n) = self.dims;
        2.0 * (m * k * n) as f64
    }
}

/// `(M, K, N)` with `nalgebra` on `SMatrix` (`static`) or on `DMatrix` (`dynamic`).
macro_rules! shape {
    (static $m:literal, $k:literal, $n:literal) => {
        (($m, $k, $n), |p, _| nalgebra_static::<$m, $k, $n>(p))
    };
    (dynamic $m:literal, $k:literal, $n:literal) => {
        (($m, $k, $n), nalgebra_dynamic)
    };
}

/// Every benched shape: the three products of each.
fn cases() -> Vec<Case> {
    let shapes: [((usize, usize, usize), Nalgebra); 9] = [
        // Square products.
        shape!(static 8, 8, 8),
        shape!(static 16, 16, 16),
        shape!(static 32, 32, 32),
        shape!(static 64, 64, 64),
        shape!(dynamic 128, 128, 128),
        shape!(dynamic 256, 256, 256),
        // MLP shapes: a batch of 32 through 64 → 32, 784 → 128 and 128 → 10 layers.
        // (`nalgebra` on `SMatrix` up to 64 in every dimension, on `DMatrix` above.)
        shape!(static 32, 64, 32),
        shape!(dynamic 32, 784, 128),
        shape!(dynamic 32, 128, 10),
    ];
    let mut cases = Vec::new();
    for (dims, nalgebra) in shapes {
        for product in Product::ALL {
            cases.push(Case {
                product,
                dims,
                calls: [
                    microtrain(product, dims),
                    matrixmultiply(product, dims),
                    nalgebra(product, dims),
                ],
            });
        }
    }
    cases
}

/// Criterion: one group per (product, shape), the three implementations side by side.
fn criterion_groups(crit: &mut Criterion) {
    for mut case in cases() {
        let mut g = crit.benchmark_group(case.name());
        g.throughput(Throughput::Elements(case.flops() as u64));
        for (name, call) in NAMES.iter().zip(&mut case.calls) {
            g.bench_function(*name, |bench| bench.iter(&mut *call));
        }
        g.finish();
    }
}

/// The single-core FMA peak: loops of twelve independent `vfmadd231ps` (too many for
/// the latency to matter) on `zmm` or `ymm` registers. Each call runs `iters` loops and
/// returns the FLOPs it did, or `None` where the CPU lacks the instructions.
#[cfg(target_arch = "x86_64")]
mod peak {
    use core::arch::asm;

    macro_rules! fma_loop {
        ($name:ident, $feature:literal, $lanes:literal, $r:literal) => {
            #[target_feature(enable = $feature)]
            unsafe fn $name(iters: u64) {
                // SAFETY: register-only arithmetic on registers declared clobbered.
                unsafe {
                    asm!(
                        concat!("vxorps ", $r, "14, ", $r, "14, ", $r, "14"),
                        concat!("vxorps ", $r, "15, ", $r, "15, ", $r, "15"),
                        "2:",
                        concat!("vfmadd231ps ", $r, "0, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "1, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "2, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "3, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "4, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "5, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "6, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "7, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "8, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "9, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "10, ", $r, "14, ", $r, "15"),
                        concat!("vfmadd231ps ", $r, "11, ", $r, "14, ", $r, "15"),
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) iters => _,
                        out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                        out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                        out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
                        out("ymm14") _, out("ymm15") _,
                        options(nomem, nostack),
                    );
                }
            }
        };
    }

    fma_loop!(zmm_loop, "avx512f", 16, "zmm");
    fma_loop!(ymm_loop, "avx2,fma", 8, "ymm");

    /// 512-bit FMAs: FLOPs done, if the CPU has AVX-512F.
    pub fn zmm(iters: u64) -> Option<f64> {
        // SAFETY: the CPU has the instructions, checked first.
        std::arch::is_x86_feature_detected!("avx512f").then(|| {
            unsafe { zmm_loop(iters) };
            (iters * 12 * 2 * 16) as f64
        })
    }

    /// 256-bit FMAs: FLOPs done, if the CPU has FMA.
    pub fn ymm(iters: u64) -> Option<f64> {
        // SAFETY: the CPU has the instructions, checked first.
        std::arch::is_x86_feature_detected!("fma").then(|| {
            unsafe { ymm_loop(iters) };
            (iters * 12 * 2 * 8) as f64
        })
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod peak {
    pub fn zmm(_: u64) -> Option<f64> {
        None
    }
    pub fn ymm(_: u64) -> Option<f64> {
        None
    }
}

/// `GEMM_ROUNDS=R`: `R` interleaved rounds (module documentation), then one table;
/// `GEMM_FILTER=text` keeps the cases whose name contains `text`.
fn rounds(r: usize) {
    let sample = Duration::from_millis(3);
    let filter = std::env::var("GEMM_FILTER").unwrap_or_default();
    let mut cases = cases();
    cases.retain(|case| case.name().contains(&filter));
    // Calls per sample, so that one sample takes about `sample`.
    let reps: Vec<[u32; 3]> = cases
        .iter_mut()
        .map(|case| {
            case.calls.each_mut().map(|call| {
                call();
                let t = Instant::now();
                let mut n = 0u32;
                while t.elapsed() < sample / 4 {
                    call();
                    n += 1;
                }
                (4 * n).max(1)
            })
        })
        .collect();
    let mut times = vec![[(); 3].map(|_| Vec::new()); cases.len()];
    let (mut zmm, mut ymm) = (Vec::new(), Vec::new());
    for round in 0..r {
        for (at, case) in cases.iter_mut().enumerate() {
            for s in 0..3 {
                let which = (round + s) % 3;
                let (call, n) = (&mut case.calls[which], reps[at][which]);
                let t = Instant::now();
                for _ in 0..n {
                    call();
                }
                times[at][which].push(t.elapsed().as_secs_f64() * 1e9 / f64::from(n));
            }
        }
        for (peak, flops) in [(&mut zmm, peak::zmm as fn(u64) -> _), (&mut ymm, peak::ymm)] {
            let t = Instant::now();
            if let Some(f) = flops(2_000_000) {
                peak.push(f / t.elapsed().as_secs_f64() / 1e9);
            }
        }
    }
    let peak = if zmm.is_empty() && ymm.is_empty() {
        None
    } else {
        let (z, y) = (
            (!zmm.is_empty()).then(|| median(zmm.clone())),
            (!ymm.is_empty()).then(|| median(ymm.clone())),
        );
        println!(
            "FMA peak, one core, median of {r} rounds: zmm {} GFLOP/s, ymm {} GFLOP/s",
            z.map_or("-".into(), |z| format!("{z:.1}")),
            y.map_or("-".into(), |y| format!("{y:.1}")),
        );
        Some(z.unwrap_or(0.0).max(y.unwrap_or(0.0)))
    };
    println!(
        "{:<24} {:>11} {:>14} {:>11} {:>7} {:>8} {:>7}",
        "product/MxKxN", "microtrain", "matrixmultiply", "nalgebra", "ours/", "GFLOP/s", "% peak"
    );
    println!(
        "{:<24} {:>11} {:>14} {:>11} {:>7}",
        "", "ns", "ns", "ns", "faster"
    );
    for (case, times) in cases.iter().zip(times) {
        let [ours, mm, na] = times.map(median);
        let gflops = case.flops() / ours;
        println!(
            "{:<24} {:>11.1} {:>14.1} {:>11.1} {:>7.2} {:>8.1} {:>7}",
            case.name(),
            ours,
            mm,
            na,
            ours / mm.min(na),
            gflops,
            peak.map_or("-".into(), |p| format!("{:.0}", 100.0 * gflops / p)),
        );
    }
}

fn main() {
    if let Some(r) = std::env::var("GEMM_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
    {
        return rounds(r);
    }
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    criterion_groups(&mut crit);
    crit.final_summary();
}
