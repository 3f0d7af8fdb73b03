//! Weight initialisation and depth: how the scale of the initial weights decides
//! whether activations and gradients survive ten layers (the seed lecture's "Gradient
//! control: weights initialization").
//!
//! ```text
//! cargo run --release --example init_scale [-- DIR [SEED]]
//! ```
//!
//! Ten blocks `Dense<64, 64> → activation`, once with tanh and once with ReLU, take one
//! batch of 256 samples whose 64 features are drawn from `N(0, 1)`. Each stack is
//! initialised five ways (biases zero), forward in training mode, then backward from a
//! random output gradient `∂J/∂y ~ N(0, 1)` (the gradient of `J = Σ g ⊙ y` for a fixed
//! random `g`: a loss whose gradient at the top has unit scale, so that what reaches
//! each layer shows what depth does to it). For every layer it prints the mean and the
//! standard deviation of the activations `h`, the standard deviation of `∂J/∂h` and of
//! the weight gradient `∂J/∂W` (summed over the batch), and the share of tanh units
//! saturated (`|h| > 0.99`, where tanh' < 0.02) or of ReLU units at zero; and it draws
//! the three standard deviations per layer as `init_scale.png` in `DIR` (default
//! `target/experiments/`).
//!
//! The five initialisations: the seed's `0.01·N(0, 1)` and `0.05·N(0, 1)`; Xavier
//! (`N(0, 2/(n_in + n_out))` truncated at 2σ, as the seed writes it) and He
//! (`N(0, 2/n_in)`); and `0.4·N(0, 1)`. Whether a fixed σ is small or large depends on
//! the width: a layer multiplies the scale by about `σ·√n_in` (times the activation's
//! gain). The seed's pictures (from CS231n) use layers some thousands wide, where 0.05
//! is large (`0.05·√4096 = 3.2`); at width 64 it is `0.05·8 = 0.4`, smaller than
//! Xavier's `1/√64`, so here the seed's "large weights" are `0.4·N(0, 1)`
//! (`0.4·8 = 3.2`, the same gain as 0.05 at width 4096).
//!
//! `SEED` (default 1) fixes the input batch, the output gradient and the weights; the
//! same seed prints the same numbers. The run takes well under a second in release.
//!
//! What it shows (seed 1):
//!
//! - `0.01·N(0, 1)`: every layer multiplies the scale by about `0.01·√64 = 0.08`, so the
//!   activations collapse (tanh: std 0.08 in layer 1, 1e-11 in layer 10) and so do the
//!   gradients `∂J/∂h` on their way down (1 at the top, 1e-10 in layer 1); the weight
//!   gradients are the same in every layer, and all tiny (2e-9). `0.05·N(0, 1)` is too
//!   small at this width as well (×0.4 per layer).
//! - `0.4·N(0, 1)` with tanh saturates a third of the units (31–41 % with `|h| > 0.99`)
//!   but the gradient does not vanish: the large weights amplify what passes the
//!   unsaturated units, and `∂J/∂h` grows about ×1.4 per layer towards the input. With
//!   ReLU the same weights explode (std 3e3 in layer 10).
//! - Xavier holds tanh's scale within a factor of five over ten layers (std 0.59 → 0.11;
//!   tanh shrinks what it passes, and the truncation at 2σ takes 12 % off σ); He holds
//!   ReLU's (0.7 to 1.1 in every layer, `∂J/∂h` 0.85 to 1.1). Xavier with ReLU loses
//!   about half the variance per layer (0.52 → 0.005), the seed's reason for He.

#[path = "common/png_plot.rs"]
mod png_plot;

use microtrain::init::{init_params, standard_normal, Init};
use microtrain::layers::{Context, Dense, Layer, Mode, ParamKind, Relu, Tanh, Zeroed};
use microtrain::{seq, Batch, Seq};
use png_plot::{draw_grid, Panel, Series};
use rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::error::Error;
use std::time::Instant;

/// Units per layer (and input features).
const WIDTH: usize = 64;
/// Samples in the batch.
const BATCH: usize = 256;
/// Blocks `Dense → activation` in a stack (fixed by [`Stack`]).
const DEPTH: usize = 10;
/// A tanh unit counts as saturated above this `|h|` (its derivative is below 0.02).
const SATURATED: f32 = 0.99;

/// The initialisations compared, with their names in tables and legends.
const INITS: [(&str, Init); 5] = [
    ("0.01 N(0,1)", Init::Normal { std: 0.01 }),
    ("0.05 N(0,1)", Init::Normal { std: 0.05 }),
    ("0.4 N(0,1)", Init::Normal { std: 0.4 }),
    ("Xavier", Init::XavierNormal),
    ("He", Init::HeNormal),
];

/// A batch of activations (or of their gradients).
type X = Batch<BATCH, WIDTH>;
/// One block: a dense layer and its activation.
type Block<A> = (Dense<WIDTH, WIDTH>, A);
/// Ten blocks as nested pairs: `(block₁, (block₂, … block₁₀))`.
type Stack<A> = Seq![
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
    Block<A>,
];

/// A stack of ten blocks whose activations are `act`, all weights zero.
fn stack<A: Copy>(act: A) -> Stack<A> {
    let b = (Dense::zeros(), act);
    seq![b, b, b, b, b, b, b, b, b, b]
}

/// A stack of blocks whose output slots can be read block by block. The cache of a pair
/// `(block, rest)` is a `SeqCache` whose `first` is the block's cache and `second` the
/// rest's cache. A block's output slot holds its activation `h` after the forward pass
/// and `∂J/∂h` after the backward pass, which writes each gradient over its activation
/// (the last block's slot holds the output gradient given to `backward`).
trait Blocks: Layer<X, Output = X> {
    /// Pushes every block's output slot, first to last.
    fn slots<'c>(cache: &'c Self::Cache, out: &mut Vec<&'c X>);
}

/// The last block.
impl<A: Layer<X, Output = X>> Blocks for Block<A> {
    fn slots<'c>(cache: &'c Self::Cache, out: &mut Vec<&'c X>) {
        out.push(A::output(&cache.second));
    }
}

/// A block followed by more blocks.
impl<A: Layer<X, Output = X>, R: Blocks> Blocks for (Block<A>, R) {
    fn slots<'c>(cache: &'c Self::Cache, out: &mut Vec<&'c X>) {
        out.push(<Block<A> as Layer<X>>::output(&cache.first));
        R::slots(&cache.second, out);
    }
}

/// Mean and standard deviation (population, accumulated in `f64`).
fn moments(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// What the experiment measures in one layer.
#[derive(Clone, Copy, Debug)]
struct LayerStats {
    /// Mean of the activations `h`.
    mean: f64,
    /// Standard deviation of `h`.
    std: f64,
    /// Standard deviation of `∂J/∂h`.
    grad_std: f64,
    /// Standard deviation of `∂J/∂W` (over the weights of the layer).
    weight_grad_std: f64,
    /// Share of units saturated (tanh: `|h| > 0.99`) or off (ReLU: `h = 0`).
    share: f64,
}

/// Initialises `model` with `init` (weights drawn from `seed`), runs one forward pass
/// on `x` in training mode and one backward pass from `dy`, and measures every layer.
fn measure<S: Blocks>(
    model: &mut S,
    init: Init,
    seed: u64,
    x: &X,
    dy: &X,
    is_off: impl Fn(f32) -> bool,
) -> Vec<LayerStats> {
    init_params(model, init, &mut Pcg32::seed_from_u64(seed));
    let mut cache = Box::new(<S as Layer<X>>::Cache::ZERO);
    model.forward(x, &mut cache, &mut Context::new(Mode::Train, seed));
    // The activations, read before the backward pass writes the gradients over them.
    let mut slots = Vec::with_capacity(DEPTH);
    S::slots(&cache, &mut slots);
    let outputs: Vec<Vec<f32>> = slots.iter().map(|h| h.as_slice().to_vec()).collect();
    model.zero_grad();
    model.backward(x, &mut cache, dy, None);

    let mut weight_grad_std = Vec::with_capacity(DEPTH);
    model.visit(&mut |p| {
        if p.kind == ParamKind::Weight {
            weight_grad_std.push(moments(p.grad).1);
        }
    });
    let mut grads = Vec::with_capacity(DEPTH);
    S::slots(&cache, &mut grads);
    outputs
        .iter()
        .zip(grads)
        .zip(weight_grad_std)
        .map(|((h, grad), weight_grad_std)| {
            let (mean, std) = moments(h);
            let off = h.iter().filter(|&&v| is_off(v)).count();
            LayerStats {
                mean,
                std,
                grad_std: moments(grad.as_slice()).1,
                weight_grad_std,
                share: off as f64 / h.len() as f64,
            }
        })
        .collect()
}

/// One stack's measurements under one initialisation.
struct Run {
    activation: &'static str,
    init: &'static str,
    layers: Vec<LayerStats>,
}

/// A measured quantity: its name, and how to read it from a layer's statistics.
type Quantity = (&'static str, fn(&LayerStats) -> f64);

/// The quantities printed in scientific notation for every layer.
const PRINTED: [Quantity; 4] = [
    ("mean h", |s| s.mean),
    ("std h", |s| s.std),
    ("std dJ/dh", |s| s.grad_std),
    ("std dJ/dW", |s| s.weight_grad_std),
];

/// Prints a run as rows of quantities over columns of layers, then the percentage of
/// units that are saturated or off, under the name `share_name`.
fn print_run(run: &Run, share_name: &str) {
    let header: String = (1..=DEPTH).map(|l| format!("{l:>9}")).collect();
    println!(
        "{:<16}{header}",
        format!("{} / {}", run.activation, run.init)
    );
    for (name, value) in PRINTED {
        let cells: String = run
            .layers
            .iter()
            .map(|s| format!("{:9.1e}", value(s)))
            .collect();
        println!("  {name:<14}{cells}");
    }
    let cells: String = run
        .layers
        .iter()
        .map(|s| format!("{:9.1}", 100.0 * s.share))
        .collect();
    println!("  {share_name:<14}{cells}");
}

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let (dir, seed) = png_plot::dir_and_seed()?;

    // One batch of inputs and one output gradient, shared by every run.
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut x: Box<X> = Box::new(Batch::zeros());
    let mut dy: Box<X> = Box::new(Batch::zeros());
    for v in x.as_mut_slice().iter_mut().chain(dy.as_mut_slice()) {
        *v = standard_normal(&mut rng);
    }
    // The weights are drawn from their own stream, the same for every initialisation
    // (up to Xavier's redraws beyond 2σ), so the runs differ in scale only.
    let weight_seed = seed.wrapping_add(1);

    println!(
        "{DEPTH} blocks Dense<{WIDTH}, {WIDTH}> -> activation, biases 0; one batch of {BATCH} samples, \
         x ~ N(0, 1); backward from dJ/dy ~ N(0, 1); seed {seed}"
    );
    println!(
        "columns: layers 1 (next to the input) to {DEPTH} (the output); dJ/dW summed over the batch\n"
    );
    let mut tanh_net = Box::new(stack(Tanh));
    let mut relu_net = Box::new(stack(Relu));
    let mut runs = Vec::new();
    for (name, init) in INITS {
        let layers = measure(&mut *tanh_net, init, weight_seed, &x, &dy, |h| {
            h.abs() > SATURATED
        });
        runs.push(Run {
            activation: "tanh",
            init: name,
            layers,
        });
    }
    for (name, init) in INITS {
        let layers = measure(&mut *relu_net, init, weight_seed, &x, &dy, |h| h == 0.0);
        runs.push(Run {
            activation: "ReLU",
            init: name,
            layers,
        });
    }
    for run in &runs {
        let share = if run.activation == "tanh" {
            "% |h| > 0.99"
        } else {
            "% h = 0"
        };
        print_run(run, share);
    }

    // The picture: rows tanh and ReLU; columns std h, std dJ/dh, std dJ/dW per layer.
    let quantities: [Quantity; 3] = [
        ("activations h", |s| s.std),
        ("gradient dJ/dh", |s| s.grad_std),
        ("weight gradient dJ/dW", |s| s.weight_grad_std),
    ];
    let mut panels = Vec::new();
    for activation in ["tanh", "ReLU"] {
        for (quantity, value) in quantities {
            let series = runs
                .iter()
                .filter(|r| r.activation == activation)
                .map(|r| Series {
                    name: r.init.to_string(),
                    points: (1..).zip(r.layers.iter().map(value)).collect(),
                })
                .collect();
            panels.push(Panel {
                title: format!("{activation}: std of {quantity}"),
                x_label: "layer".to_string(),
                y_label: "standard deviation (log)".to_string(),
                log_y: true,
                series,
            });
        }
    }
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("init_scale.png");
    draw_grid(
        &path,
        (1650, 1000),
        &format!(
            "{DEPTH} x (Dense<{WIDTH},{WIDTH}> + activation), batch {BATCH}, x ~ N(0,1), dJ/dy ~ N(0,1), seed {seed}"
        ),
        (2, 3),
        &panels,
    )?;
    println!("\nwrote {}", path.display());
    println!("total runtime {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
