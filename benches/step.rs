//! One training step, [`Trainer::train_step`], against dfdx 0.13 (in the same run) and
//! PyTorch (through `benches/torch_step.py`).
//!
//! The step: forward, softmax cross-entropy, backward, optimizer update, on one batch
//! of `B` samples of a ReLU MLP, single-threaded, f32:
//!
//! | group                     | network                                        | optimizer             |
//! |---------------------------|------------------------------------------------|-----------------------|
//! | `step/64-32-10_adam_b32`  | `Dense<64, 32> → Relu → Dense<32, 10>`         | Adam, PyTorch defaults (lr 1e-3) |
//! | `step/64-32-10_sgd_b32`   | the same                                       | plain SGD, lr 1e-2    |
//! | `step/784-128-10_…`       | `Dense<784, 128> → Relu → Dense<128, 10>`      | Adam or SGD           |
//!
//! each at batch 32 and batch 1 (`…_b1`), and the README demo's two networks with batch
//! normalisation and dropout, built by `examples/common/digits_recipe.rs` (Adam, lr 3e-3,
//! batch 32, training mode):
//!
//! | group                        | network                                                   |
//! |------------------------------|-----------------------------------------------------------|
//! | `step/digits-mlp_adam_b32`   | `Dense<64, 128> → BatchNorm → Relu → Dropout(0.2) → Dense<128, 10>` |
//! | `step/digits-cnn_adam_b32`   | `Conv2d 3×3 1→16 → BatchNorm → Relu → MaxPool 2 → Conv2d 3×3 16→32 → BatchNorm → Relu → MaxPool 2 → Flatten → Dropout(0.2) → Dense<128, 10>` on 8×8 pictures |
//!
//! dfdx has no counterpart for these two in this bench (its column shows `-`).
//!
//! The MLP groups have two functions: `microtrain`
//! (`Trainer::train_step` with `CrossEntropy`) and `dfdx` (`forward_mut` on a traced
//! input, `cross_entropy_with_logits_loss`, `backward`, `Optimizer::update`,
//! `zero_grads`: its own training loop, `Cpu` device, one rayon thread). Both train on
//! the same fixed batch over and over, so the parameters change from call to call as in
//! real training.
//!
//! After the criterion groups (only under `cargo bench`, not when `cargo test` runs
//! the binary), a table gives each side's median of one-call samples, measured in three
//! interleaved rounds (microtrain, dfdx, microtrain, dfdx, …; the median of the three
//! round medians is printed), beside PyTorch's median from `benches/torch_step.py`,
//! run with the interpreter named by **`MICROTRAIN_TORCH_PYTHON`** (skipped with one
//! line saying why if it is unset or torch does not import).
//!
//! ```text
//! MICROTRAIN_TORCH_PYTHON=/path/to/venv/bin/python cargo bench --bench step
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
//!     MICROTRAIN_TORCH_PYTHON=/path/to/venv/bin/python cargo bench --bench step
//! cargo bench --bench step -- 784-128      # only the groups whose name matches
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "../examples/common/digits_data.rs"]
#[allow(dead_code)] // the demo's data helpers; the bench needs the shapes only
mod digits_data;
#[path = "../examples/common/digits_recipe.rs"]
#[allow(dead_code)] // the demo's recipe; the bench needs its two trainers only
mod digits_recipe;

use common::nets::{mlp_step, params, Opt, SGD_LR};
use common::{fill, median_us, Torch};
use core::hint::black_box;
use core::time::Duration;
use criterion::Criterion;
use dfdx::prelude::Optimizer as _;
use dfdx::prelude::*;
use microtrain::{Batch, Zeroed};
use rand_core::SeedableRng;

/// Interleaved rounds of the direct timing.
const ROUNDS: usize = 3;
/// At most this many one-call samples per round and side.
const SAMPLES: usize = 3000;

/// One benchmarked step: `{net} {optimizer} b{batch}`, as `torch_step.py` prints it.
struct Case {
    net: &'static str,
    optimizer: &'static str,
    batch: usize,
}

impl Case {
    fn key(&self) -> String {
        format!("{} {} b{}", self.net, self.optimizer, self.batch)
    }
}

/// dfdx's training step for `Linear<IN, H> → ReLU → Linear<H, OUT>` at batch `B`,
/// with `adam` (its defaults equal PyTorch's) or `sgd` (lr [`SGD_LR`], no momentum).
macro_rules! dfdx_step {
    ($in:literal, $hidden:literal, $out:literal, $b:literal, $opt:ident) => {{
        type Mlp = (Linear<$in, $hidden>, ReLU, Linear<$hidden, $out>);
        let dev = Cpu::seed_from_u64(0);
        let mut model = dev.build_module::<Mlp, f32>();
        let mut grads = Some(model.alloc_grads());
        let mut opt = dfdx_step!(@opt $opt, model);
        let mut xs = vec![0.0f32; $b * $in];
        fill(&mut xs, 3);
        let x: Tensor<Rank2<$b, $in>, f32, Cpu> = dev.tensor_from_vec(xs, (Const, Const));
        let mut ys = vec![0.0f32; $b * $out];
        for r in 0..$b {
            ys[r * $out + r % $out] = 1.0;
        }
        let y: Tensor<Rank2<$b, $out>, f32, Cpu> = dev.tensor_from_vec(ys, (Const, Const));
        Box::new(move || {
            let traced = black_box(&x).trace(grads.take().expect("gradients are back"));
            let loss = cross_entropy_with_logits_loss(model.forward_mut(traced), y.clone());
            let mut g = loss.backward();
            opt.update(&mut model, &g).expect("every parameter has a gradient");
            model.zero_grads(&mut g);
            grads = Some(g);
        }) as Step
    }};
    (@opt adam, $model:ident) => {
        dfdx::optim::Adam::new(&$model, dfdx::optim::AdamConfig::default())
    };
    (@opt sgd, $model:ident) => {
        dfdx::optim::Sgd::new(
            &$model,
            dfdx::optim::SgdConfig {
                lr: SGD_LR as f64,
                momentum: None,
                weight_decay: None,
            },
        )
    };
}

/// One case: `IN-H-OUT`, batch, `adam` or `sgd`, with our step and dfdx's.
macro_rules! case {
    ($in:literal, $hidden:literal, $out:literal, $b:literal, $opt:ident, $variant:ident) => {
        (
            Case {
                net: concat!($in, "-", $hidden, "-", $out),
                optimizer: Opt::$variant.name(),
                batch: $b,
            },
            mlp_step::<$in, $hidden, $out, $b, { params($in, $hidden, $out) }>(Opt::$variant),
            Some(dfdx_step!($in, $hidden, $out, $b, $opt)),
        )
    };
}

/// A step as a closure.
type Step = Box<dyn FnMut()>;

/// Every case, with its steps: ours, then dfdx's where it has one.
fn cases() -> Vec<(Case, Step, Option<Step>)> {
    vec![
        case!(64, 32, 10, 32, adam, Adam),
        case!(64, 32, 10, 32, sgd, Sgd),
        case!(64, 32, 10, 1, adam, Adam),
        case!(64, 32, 10, 1, sgd, Sgd),
        case!(784, 128, 10, 32, adam, Adam),
        case!(784, 128, 10, 32, sgd, Sgd),
        case!(784, 128, 10, 1, adam, Adam),
        case!(784, 128, 10, 1, sgd, Sgd),
        digits_case("digits-mlp"),
        digits_case("digits-cnn"),
    ]
}

/// The README demo's MLP (`digits-mlp`) or CNN (`digits-cnn`), from
/// `digits_recipe::{mlp, cnn}` (He-normal weights from seed 1, dropout seed 0), stepping
/// on one fixed batch of `BATCH` inputs [`fill`]ed with seed 3, labels `r % 10`.
fn digits_case(net: &'static str) -> (Case, Step, Option<Step>) {
    use digits_recipe::{cnn, mlp, BATCH};
    let labels: [u32; BATCH] = core::array::from_fn(|r| (r % digits_data::CLASSES) as u32);
    let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
    let ours: Step = if net == "digits-mlp" {
        let mut t = mlp(0, &mut rng);
        let mut x = Box::new(Batch::<BATCH, { digits_data::FEATURES }>::zeros());
        fill(x.as_mut_slice(), 3);
        Box::new(move || {
            black_box(
                t.train_step(black_box(&x), &labels)
                    .expect("the step is finite"),
            );
        })
    } else {
        let mut t = cnn(0, &mut rng);
        let mut x = Box::new(digits_recipe::Pictures::ZERO);
        fill(x.as_mut_slice(), 3);
        Box::new(move || {
            black_box(
                t.train_step(black_box(&x), &labels)
                    .expect("the step is finite"),
            );
        })
    };
    let case = Case {
        net,
        optimizer: Opt::Adam.name(),
        batch: BATCH,
    };
    (case, ours, None)
}

/// The median of `ROUNDS` round medians, ours and dfdx's (if any) interleaved.
fn interleaved(ours: &mut Step, mut dfdx: Option<&mut Step>) -> (f64, Option<f64>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(median_us(SAMPLES, &mut *ours));
        if let Some(d) = dfdx.as_deref_mut() {
            b.push(median_us(SAMPLES, &mut **d));
        }
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    (a[ROUNDS / 2], b.get(ROUNDS / 2).copied())
}

fn main() {
    // dfdx's matrix products run on rayon's global pool: one thread, as ours and
    // PyTorch's (`torch.set_num_threads(1)`). Set before dfdx first touches the pool.
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let filter = filter();
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    let mut rows = Vec::new();
    for (case, mut ours, mut dfdx) in cases() {
        let id = format!("step/{}_{}_b{}", case.net, case.optimizer, case.batch);
        if !id.contains(&filter) {
            continue;
        }
        let mut g = crit.benchmark_group(&id);
        g.bench_function("microtrain", |b| b.iter(&mut ours));
        if let Some(dfdx) = dfdx.as_mut() {
            g.bench_function("dfdx", |b| b.iter(&mut *dfdx));
        }
        g.finish();
        if bench_mode {
            let (o, d) = interleaved(&mut ours, dfdx.as_mut());
            rows.push((case, o, d));
        }
    }
    crit.final_summary();
    if bench_mode {
        table(&rows);
    }
}

/// The filter among criterion's arguments (its first positional one), which the direct
/// timing follows too.
fn filter() -> String {
    const TAKES_VALUE: [&str; 8] = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--profile-time",
        "--output-format",
        "--color",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            return a;
        }
    }
    String::new()
}

/// Our medians beside dfdx's and PyTorch's.
fn table(rows: &[(Case, f64, Option<f64>)]) {
    let torch = Torch::run("torch_step.py")
        .map_err(|why| println!("\nPyTorch skipped: {why}."))
        .ok();
    println!();
    println!(
        "training step, one thread: medians in µs of one-call samples, {ROUNDS} interleaved rounds \
         (microtrain and dfdx 0.13 in this process)"
    );
    if let Some(t) = &torch {
        println!("PyTorch: {} (torch_step.py)", t.version);
    }
    println!("ratios: the other's time / microtrain's, above 1 means microtrain is faster");
    println!(
        "{:<11} {:<5} {:>5} {:>11} {:>9} {:>6} {:>9} {:>6}",
        "net", "optim", "batch", "microtrain", "dfdx", "ratio", "PyTorch", "ratio"
    );
    for (case, o, d) in rows {
        let t = torch
            .as_ref()
            .and_then(|t| t.median_us(&format!("torch step {}", case.key())));
        let (t, tr) = match t {
            Some(t) => (format!("{t:.1}"), format!("{:.1}", t / o)),
            None => ("-".into(), "-".into()),
        };
        let (d, dr) = match d {
            Some(d) => (format!("{d:.2}"), format!("{:.2}", d / o)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<11} {:<5} {:>5} {:>11.2} {:>9} {:>6} {:>9} {:>6}",
            case.net, case.optimizer, case.batch, o, d, dr, t, tr
        );
    }
}
