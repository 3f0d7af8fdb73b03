//! The training steps the benches time: ReLU MLPs with softmax cross-entropy, trained
//! by [`Trainer::train_step`] on one fixed batch over and over (so the parameters
//! change from call to call, as in real training).

#![allow(dead_code)] // each bench uses part of it

use super::fill;
use core::hint::black_box;
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Layer, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd};
use microtrain::train::Trainer;
use microtrain::{seq, Batch, Seq, Zeroed};
use rand_core::SeedableRng;

/// `Dense<IN, H> → Relu → Dense<H, OUT>`.
pub type Mlp<const IN: usize, const H: usize, const OUT: usize> =
    Seq![Dense<IN, H>, Relu, Dense<H, OUT>];

/// Plain SGD's learning rate in every step bench (Adam uses PyTorch's default 1e-3).
pub const SGD_LR: f32 = 1e-2;

/// The optimizer of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// `Adam` with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8).
    Adam,
    /// Plain `Sgd` with learning rate [`SGD_LR`].
    Sgd,
}

impl Opt {
    /// `adam` or `sgd`, as the benches and `torch_step.py` name it.
    pub fn name(self) -> &'static str {
        match self {
            Opt::Adam => "adam",
            Opt::Sgd => "sgd",
        }
    }
}

/// The parameter count of `Mlp<IN, H, OUT>`, which Adam's state is sized for.
pub const fn params(inputs: usize, hidden: usize, outputs: usize) -> usize {
    inputs * hidden + hidden + hidden * outputs + outputs
}

/// A step of `Mlp<IN, H, OUT>` at batch `B` with `opt`, as a closure that calls
/// `Trainer::train_step` once. `P` must be [`params`]`(IN, H, OUT)` (checked at compile
/// time by `Trainer::new`). The trainer (on the heap: the 784-128-10 one with Adam
/// holds 1.2 MB) starts from He-normal weights drawn with seed 1; the input is
/// [`fill`]ed with seed 3, the labels are `r % OUT`.
pub fn mlp_step<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const B: usize,
    const P: usize,
>(
    opt: Opt,
) -> Box<dyn FnMut()> {
    let model = || -> Mlp<IN, H, OUT> { seq![Dense::zeros(), Relu, Dense::zeros()] };
    match opt {
        Opt::Adam => step::<_, _, B, IN, OUT>(Box::new(Trainer::new(
            model(),
            CrossEntropy::default(),
            Adam::<P>::new(AdamConfig::default()),
            0,
        ))),
        Opt::Sgd => step::<_, _, B, IN, OUT>(Box::new(Trainer::new(
            model(),
            CrossEntropy::default(),
            Sgd::new(SGD_LR),
            0,
        ))),
    }
}

/// The step closure of a trainer.
fn step<M, O, const B: usize, const IN: usize, const OUT: usize>(
    mut t: Box<Trainer<M, CrossEntropy, O, B, IN, OUT>>,
) -> Box<dyn FnMut()>
where
    M: Layer<Batch<B, IN>, Output = Batch<B, OUT>> + Params + 'static,
    O: Optimizer + 'static,
{
    init_params(
        &mut t.model,
        Init::HeNormal,
        &mut rand_pcg::Pcg32::seed_from_u64(1),
    );
    let mut x = Box::new(Batch::<B, IN>::ZERO);
    fill(x.as_mut_slice(), 3);
    let labels: [u32; B] = core::array::from_fn(|r| (r % OUT) as u32);
    Box::new(move || {
        let risk = t
            .train_step(black_box(&x), &labels)
            .expect("the step is finite");
        black_box(risk);
    })
}
