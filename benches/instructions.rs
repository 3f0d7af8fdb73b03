//! Instruction counts that do not drift with the machine's load: the training steps of
//! `benches/step.rs` and the main kernels, each run a fixed number of times inside one
//! function, [`measured`], that `.ci/callgrind.sh` has callgrind count alone
//! (`--toggle-collect`). Instructions per call = callgrind's total / calls.
//!
//! ```text
//! .ci/callgrind.sh                        # every workload, a table
//! instructions --list                     # the workload names, one per line
//! instructions 'step 64-32-10 adam b32'   # one workload: prints `calls=N`
//! cargo bench --bench instructions        # no name: each workload timed natively once
//! ```
//!
//! Every workload is deterministic (fixed inputs, fixed seeds), so its count is the
//! same from run to run on one build; it changes only with the code, the compiler or
//! the target features (the script builds the default x86-64 target: valgrind does not
//! run AVX-512 code). The first two calls run before the counted ones, outside
//! [`measured`].

#[path = "common/mod.rs"]
mod common;

use common::fill;
use common::nets::{mlp_step, params, Opt};
use core::hint::black_box;
use microtrain::kernels::{self, Accumulate, Activation};
use microtrain::loss::{CrossEntropy, Loss};
use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd};
use microtrain::{Batch, MatMut, MatRef};
use std::time::Instant;

/// Calls `f` `calls` times: the only function callgrind counts.
#[inline(never)]
fn measured(f: &mut dyn FnMut(), calls: usize) {
    for _ in 0..calls {
        f();
    }
}

/// A workload: its name, how many calls are counted, and a constructor of the call.
type Workload = (&'static str, usize, fn() -> Box<dyn FnMut()>);

/// Every workload. The steps are those of `benches/step.rs`; the kernels are the
/// products and loops those steps spend their time in.
fn workloads() -> Vec<Workload> {
    vec![
        ("step 64-32-10 adam b32", 200, || {
            mlp_step::<64, 32, 10, 32, { params(64, 32, 10) }>(Opt::Adam)
        }),
        ("step 64-32-10 sgd b32", 200, || {
            mlp_step::<64, 32, 10, 32, { params(64, 32, 10) }>(Opt::Sgd)
        }),
        ("step 64-32-10 adam b1", 500, || {
            mlp_step::<64, 32, 10, 1, { params(64, 32, 10) }>(Opt::Adam)
        }),
        ("step 64-32-10 sgd b1", 500, || {
            mlp_step::<64, 32, 10, 1, { params(64, 32, 10) }>(Opt::Sgd)
        }),
        ("step 784-128-10 adam b32", 10, || {
            mlp_step::<784, 128, 10, 32, { params(784, 128, 10) }>(Opt::Adam)
        }),
        ("step 784-128-10 sgd b32", 10, || {
            mlp_step::<784, 128, 10, 32, { params(784, 128, 10) }>(Opt::Sgd)
        }),
        ("step 784-128-10 adam b1", 20, || {
            mlp_step::<784, 128, 10, 1, { params(784, 128, 10) }>(Opt::Adam)
        }),
        // The 64-32-10 step's products: forward X·W₁ᵀ, weight gradient dYᵀ·X, input
        // gradient dY·W₂; then a square product and a small one.
        ("matmul_bt 32x64 * (32x64)T", 500, || {
            product(32, 64, 32, Product::Abt)
        }),
        ("matmul_at (32x32)T * 32x64", 500, || {
            product(32, 32, 64, Product::Atb)
        }),
        ("matmul 32x10 * 10x32", 500, || {
            product(32, 10, 32, Product::Ab)
        }),
        ("matmul 64x64 * 64x64", 200, || {
            product(64, 64, 64, Product::Ab)
        }),
        ("matmul 8x8 * 8x8", 2000, || product(8, 8, 8, Product::Ab)),
        ("cross_entropy 32x10", 2000, cross_entropy),
        ("relu forward 32x32", 2000, relu),
        ("adam step_slice 2410", 500, || {
            optimizer(Adam::<2410>::new(AdamConfig::default()))
        }),
        ("sgd step_slice 2410", 500, || optimizer(Sgd::new(1e-2))),
    ]
}

/// Which of the three products.
#[derive(Clone, Copy)]
enum Product {
    /// `A·B`
    Ab,
    /// `A·Bᵀ`
    Abt,
    /// `Aᵀ·B`
    Atb,
}

/// A product producing an `m × n` matrix with inner dimension `k`.
fn product(m: usize, k: usize, n: usize, which: Product) -> Box<dyn FnMut()> {
    let (mut a, mut b, mut c) = (vec![0.0; m * k], vec![0.0; k * n], vec![0.0; m * n]);
    fill(&mut a, 1);
    fill(&mut b, 2);
    Box::new(move || {
        let c = MatMut::new(&mut c, m, n).expect("shape");
        let (a, b) = (black_box(&a[..]), black_box(&b[..]));
        let done = match which {
            Product::Ab => kernels::matmul(
                c,
                MatRef::new(a, m, k).expect("shape"),
                MatRef::new(b, k, n).expect("shape"),
                Accumulate::Overwrite,
            ),
            Product::Abt => kernels::matmul_bt(
                c,
                MatRef::new(a, m, k).expect("shape"),
                MatRef::new(b, n, k).expect("shape"),
                Accumulate::Overwrite,
            ),
            Product::Atb => kernels::matmul_at(
                c,
                MatRef::new(a, k, m).expect("shape"),
                MatRef::new(b, k, n).expect("shape"),
                Accumulate::Overwrite,
            ),
        };
        done.expect("shapes agree");
    })
}

/// The loss of a batch of 32 rows of 10 logits, with its gradient.
fn cross_entropy() -> Box<dyn FnMut()> {
    let mut out = Batch::<32, 10>::zeros();
    fill(out.as_mut_slice(), 4);
    let labels: [u32; 32] = core::array::from_fn(|r| (r % 10) as u32);
    let mut grad = Batch::<32, 10>::zeros();
    Box::new(move || {
        black_box(CrossEntropy::default().loss(black_box(&out), &labels, 32, &mut grad));
    })
}

/// ReLU over 32 × 32 values.
fn relu() -> Box<dyn FnMut()> {
    let mut x = vec![0.0; 1024];
    fill(&mut x, 5);
    let mut y = vec![0.0; 1024];
    Box::new(move || {
        kernels::activate(Activation::Relu, black_box(&x), &mut y).expect("lengths agree");
    })
}

/// One optimizer step on 2 410 values (the 64-32-10 network's count).
fn optimizer(mut opt: impl Optimizer + 'static) -> Box<dyn FnMut()> {
    let mut value = vec![0.0; 2410];
    fill(&mut value, 6);
    let mut grad = vec![0.0; 2410];
    fill(&mut grad, 7);
    Box::new(move || {
        opt.step_slice(&mut value, black_box(&grad))
            .expect("the update is finite");
    })
}

fn main() {
    common::limit_dispatch();
    let name = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if std::env::args().any(|a| a == "--list") {
        for (name, _, _) in workloads() {
            println!("{name}");
        }
        return;
    }
    match name {
        Some(name) => {
            let Some((_, calls, make)) = workloads().into_iter().find(|w| w.0 == name) else {
                eprintln!("no workload named {name:?}; --list names them");
                std::process::exit(2);
            };
            let mut f = make();
            f();
            f();
            measured(&mut f, calls);
            println!("calls={calls}");
        }
        None => {
            println!("instructions: run .ci/callgrind.sh for instruction counts; native time per call here");
            for (name, calls, make) in workloads() {
                let mut f = make();
                f();
                let start = Instant::now();
                measured(&mut f, calls);
                let ns = start.elapsed().as_secs_f64() * 1e9 / calls as f64;
                println!("{name:<28} {ns:>12.0} ns");
            }
        }
    }
}
