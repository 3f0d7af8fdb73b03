//! Our 2-D convolution against PyTorch's `nn.Conv2d`, forward and backward, in one run.
//!
//! Two shapes, batch `B = 32`, kernel `K = 3`, stride 1, padding 1 (the output keeps the
//! input's size), channels-last [`Image`]s:
//!
//! | group suffix        | layer                              | input                   |
//! |---------------------|------------------------------------|-------------------------|
//! | `32x1x28x28_to_8`   | `Conv2d<1, 8, 3, 1, 1, 28, 28>`    | `Image<32, 28, 28, 1>`  |
//! | `32x8x14x14_to_16`  | `Conv2d<8, 16, 3, 1, 1, 14, 14>`   | `Image<32, 14, 14, 8>`  |
//!
//! `conv2d_forward/…` times [`Layer::forward`]; `conv2d_backward/…` times
//! [`Layer::backward`] with `Some(dx)`: the weight, bias and input gradients (the
//! parameter gradients accumulate across iterations, as the trait specifies; the cost
//! is the same).
//!
//! Throughput is `Elements(flops)`, so criterion's `elem/s` reads as FLOP/s, with
//! (multiply and add counted as two FLOPs, `HO × WO` the output size):
//!
//! ```text
//! forward  = 2·B·HO·WO·CO·K·K·CI                      (the bias add is not counted)
//! backward = 2 · 2·B·HO·WO·CO·K·K·CI + B·HO·WO·CO     (dW and dX, plus the bias sum)
//! ```
//!
//! After the criterion groups the bench compares us with PyTorch. It runs
//! `benches/torch_conv.py` (the same shapes, `torch.set_num_threads(1)`, float32, in
//! PyTorch's default channels-first layout and in `channels_last`) with the Python
//! interpreter named by the environment variable **`MICROTRAIN_TORCH_PYTHON`**. If that
//! is unset, or the interpreter cannot run the script (torch does not import), one line
//! says PyTorch was skipped and why, and the bench still passes. Our side of that table
//! is timed directly here, not read from criterion's estimates: the median of one-call
//! samples after a warm-up, exactly as the Python script times PyTorch (a call per
//! sample, up to 1000 samples or one second, at least 21). The comparison runs only
//! under `cargo bench` (criterion's `--bench` mode), not when `cargo test` runs the
//! bench binary as a test.
//!
//! ```text
//! MICROTRAIN_TORCH_PYTHON=/path/to/venv/bin/python cargo bench --bench conv
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/native-target \
//!     MICROTRAIN_TORCH_PYTHON=/path/to/venv/bin/python cargo bench --bench conv
//! cargo bench --bench conv -- --warm-up-time 1 --measurement-time 3   # shorter runs
//! ```

use core::hint::black_box;
use core::time::Duration;
use criterion::{Criterion, Throughput};
use microtrain::layers::{Context, Conv2d, Layer, Mode};
use microtrain::{Image, Zeroed};

/// The data, timing and PyTorch-running helpers the benches share.
#[path = "common/mod.rs"]
mod common;
use common::{fill, median_us, Torch};

/// The batch size of every shape.
const B: usize = 32;
/// The kernel size of every shape (stride 1, padding 1).
const K: usize = 3;

/// A zeroed value on the heap (the caches and images here are hundreds of KiB).
fn boxed<T: Zeroed>() -> Box<T> {
    Box::new(T::ZERO)
}

/// One shape's name and FLOP counts.
#[derive(Clone, Copy)]
struct Shape {
    /// `{B}x{CI}x{H}x{W}_to_{CO}`, in criterion's group names.
    id: &'static str,
    /// `{CI}x{H}x{W}->{CO}`, as `torch_conv.py` prints it.
    torch: &'static str,
    forward_flops: u64,
    backward_flops: u64,
}

impl Shape {
    /// The FLOP counts of a stride-1, same-size `K × K` convolution (see the module
    /// docs).
    const fn new(
        id: &'static str,
        torch: &'static str,
        ci: usize,
        co: usize,
        ho: usize,
        wo: usize,
    ) -> Shape {
        let forward = 2 * B * ho * wo * co * K * K * ci;
        Shape {
            id,
            torch,
            forward_flops: forward as u64,
            backward_flops: (2 * forward + B * ho * wo * co) as u64,
        }
    }
}

/// Our medians for one shape, in microseconds.
struct Ours {
    shape: Shape,
    forward_us: f64,
    backward_us: f64,
}

/// Benchmarks `Conv2d<CI, CO, 3, 1, 1, H, W>` on `Image<32, H, W, CI>` under criterion
/// and, if `direct`, times it once more for the PyTorch table.
fn conv<const CI: usize, const CO: usize, const H: usize, const W: usize>(
    crit: &mut Criterion,
    shape: Shape,
    direct: bool,
) -> Option<Ours> {
    let mut layer = Box::new(Conv2d::<CI, CO, K, 1, 1, H, W>::zeros());
    fill(
        layer
            .weight
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut(),
        1,
    );
    fill(&mut layer.bias.0, 2);
    let mut x = boxed::<Image<B, H, W, CI>>();
    fill(x.as_mut_slice(), 3);
    let mut dy = boxed::<Image<B, H, W, CO>>();
    fill(dy.as_mut_slice(), 4);
    let mut dx = boxed::<Image<B, H, W, CI>>();
    let mut cache = boxed::<<Conv2d<CI, CO, K, 1, 1, H, W> as Layer<Image<B, H, W, CI>>>::Cache>();
    let mut ctx = Context::new(Mode::Train, 0);

    let mut forward = || {
        layer.forward(black_box(&*x), &mut cache, &mut ctx);
        black_box(&mut cache);
    };
    let mut g = crit.benchmark_group(format!("conv2d_forward/{}", shape.id));
    g.throughput(Throughput::Elements(shape.forward_flops));
    g.bench_function("microtrain", |bench| bench.iter(&mut forward));
    g.finish();
    let forward_us = direct.then(|| median_us(1000, &mut forward));

    // The backward pass reads the input and the cache of a forward pass.
    layer.forward(&x, &mut cache, &mut ctx);
    let mut backward = || {
        layer.backward(black_box(&*x), &mut cache, black_box(&*dy), Some(&mut *dx));
        black_box(&mut *dx);
        black_box(&mut layer.weight_grad);
    };
    let mut g = crit.benchmark_group(format!("conv2d_backward/{}", shape.id));
    g.throughput(Throughput::Elements(shape.backward_flops));
    g.bench_function("microtrain", |bench| bench.iter(&mut backward));
    g.finish();
    let backward_us = direct.then(|| median_us(1000, &mut backward));

    Some(Ours {
        shape,
        forward_us: forward_us?,
        backward_us: backward_us?,
    })
}

/// The table of our medians beside PyTorch's.
fn compare(ours: &[Ours]) {
    let torch = match Torch::run("torch_conv.py") {
        Ok(t) => Some(t),
        Err(why) => {
            println!("\nPyTorch skipped: {why}.");
            None
        }
    };
    println!();
    println!("conv2d, batch {B}, 3x3, stride 1, padding 1: medians in µs (ours timed directly, one call per sample)");
    if let Some(t) = &torch {
        println!("PyTorch: {} (torch_conv.py); ratio = PyTorch / microtrain, above 1 means microtrain is faster", t.version);
    }
    println!(
        "{:<16} {:<9} {:>12} {:>8} {:>12} {:>6} {:>12} {:>6}",
        "shape", "pass", "microtrain", "GFLOP/s", "torch NCHW", "ratio", "torch NHWC", "ratio"
    );
    for o in ours {
        for (pass, us, flops) in [
            ("forward", o.forward_us, o.shape.forward_flops),
            ("backward", o.backward_us, o.shape.backward_flops),
        ] {
            let mut row = format!(
                "{:<16} {:<9} {:>12.1} {:>8.2}",
                o.shape.torch,
                pass,
                us,
                flops as f64 / us / 1e3
            );
            for format in ["channels_first", "channels_last"] {
                match torch.as_ref().and_then(|t| {
                    t.median_us(&format!(
                        "torch conv {} b{B} {format} {pass}",
                        o.shape.torch
                    ))
                }) {
                    Some(t) => row += &format!(" {:>12.1} {:>6.2}", t, t / us),
                    None => row += &format!(" {:>12} {:>6}", "-", "-"),
                }
            }
            println!("{row}");
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs this binary without it, and
    // criterion then runs each benchmark once as a test: no timing table then.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    let ours = [
        conv::<1, 8, 28, 28>(
            &mut crit,
            Shape::new("32x1x28x28_to_8", "1x28x28->8", 1, 8, 28, 28),
            bench_mode,
        ),
        conv::<8, 16, 14, 14>(
            &mut crit,
            Shape::new("32x8x14x14_to_16", "8x14x14->16", 8, 16, 14, 14),
            bench_mode,
        ),
    ];
    crit.final_summary();
    if bench_mode {
        compare(&ours.into_iter().flatten().collect::<Vec<_>>());
    }
}
