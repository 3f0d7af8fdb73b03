//! Layers: the [`Layer`] trait, and the layers built on it.
//!
//! A layer maps an input tensor type to an output tensor type. Both are types, so a
//! model whose layers do not fit together does not compile:
//!
//! ```compile_fail
//! use microtrain::layers::{Dense, Layer, Relu};
//! use microtrain::Batch;
//! fn check<L: Layer<Batch<4, 2>>>() {}
//! check::<(Dense<2, 8>, (Relu, Dense<7, 1>))>(); // 8 outputs feed 7 inputs
//! ```
//!
//! A sequential model is a pair `(first, rest)`, nested as deep as needed; [`seq!`]
//! writes the nesting for you. Every activation kept for backprop is stored once, in the
//! [`Layer::Cache`] of the layer that produced it, and the whole cache is one value
//! whose size the types fix. A hidden ReLU that feeds a fully connected layer keeps one
//! buffer instead of two as [`ReluDense`] (`Seq![Dense<64, 32>, ReluDense<32, 10>]`
//! for `Seq![Dense<64, 32>, Relu, Dense<32, 10>]`, the same bits).
//!
//! [`seq!`]: crate::seq

mod activation;
mod conv;
mod dense;
mod dropout;
mod frozen;
mod norm;
mod pool;
mod relu_dense;
mod residual;
mod sequential;

pub use activation::{Gelu, LeakyRelu, Relu, Sigmoid, Tanh};
pub use conv::{conv_len, Conv, Conv1d, Conv2d, ConvCache, DepthwiseConv2d};
pub use dense::Dense;
pub use dropout::Dropout;
pub use dropout::DropoutCache;
pub use frozen::{extract_features, BiasOnly, FrozenDense};
pub use norm::{BatchNorm, BatchStats, GroupNorm, GroupStats, InstanceNorm, LayerNorm};
pub use pool::{AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool, MaxPool1d, MaxPool2d};
pub use relu_dense::{ReluDense, BLOCK_ROWS};
pub use residual::{
    basic_block, down_block, BasicBlock, DownBlock, ProjectedResidual, ProjectedResidualCache,
    Residual,
};
pub use sequential::SeqCache;

pub use crate::tensor::{Tensor, Zeroed};

/// Whether a forward pass is for training (dropout active, activations kept for
/// backprop) or for evaluation (PyTorch: `model.train()` / `model.eval()`).
///
/// # Examples
///
/// ```
/// use microtrain::layers::Mode;
/// assert_ne!(Mode::Train, Mode::Eval);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Training: stochastic layers sample.
    Train,
    /// Evaluation: deterministic.
    Eval,
}

/// What a forward pass needs besides its input: the mode, how many rows of the batch
/// hold real samples, and a seed for stochastic layers.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Mode};
/// let mut ctx = Context::new(Mode::Train, 7);
/// let (a, b) = (ctx.next_seed(), ctx.next_seed());
/// assert_ne!(a, b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// Train or eval.
    pub mode: Mode,
    /// Rows of the batch that hold real samples (the rest are padding). Equal to the
    /// batch size except in the last, partial batch of an epoch.
    pub rows: usize,
    seed: u64,
}

impl Context {
    /// A context in `mode` whose stochastic layers derive their randomness from `seed`.
    /// `rows` starts at `usize::MAX`, meaning every row is a real sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Context, Mode};
    /// assert_eq!(Context::new(Mode::Eval, 0).mode, Mode::Eval);
    /// ```
    pub const fn new(mode: Mode, seed: u64) -> Self {
        Context {
            mode,
            rows: usize::MAX,
            seed,
        }
    }

    /// Every byte zero: train mode, seed 0 and `rows` 0, which the trainer sets before
    /// every forward pass ([`Trainer::ZERO`](crate::train::Trainer::ZERO)'s context).
    pub(crate) const ZEROED: Context = Context {
        mode: Mode::Train,
        rows: 0,
        seed: 0,
    };

    /// A fresh 64-bit seed (a SplitMix64 step), for one stochastic layer's forward pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Context, Mode};
    /// let mut a = Context::new(Mode::Train, 1);
    /// let mut b = Context::new(Mode::Train, 1);
    /// assert_eq!(a.next_seed(), b.next_seed());
    /// ```
    pub fn next_seed(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The seed state, for checkpoints.
    pub(crate) fn seed_state(&mut self) -> &mut u64 {
        &mut self.seed
    }
}

/// Whether a parameter tensor is a weight, a bias or a normalisation scale. The seed's
/// penalty `λΩ(θ)` constrains weights only.
///
/// # Examples
///
/// ```
/// use microtrain::layers::ParamKind;
/// assert_ne!(ParamKind::Weight, ParamKind::Bias);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A weight: regularised, initialised from the fan-in and fan-out.
    Weight,
    /// A bias (or a normalisation shift `β`): not regularised, initialised to zero.
    Bias,
    /// A normalisation layer's scale `γ`: not regularised, initialised to one, and
    /// decayed by an optimizer's `weight_decay` only where biases are.
    Scale,
}

/// The seed's weight penalty `λΩ(w)` for one layer's weights (never its biases):
/// L2 (weight decay) `Ω = ½ Σ w²` with strength `l2`, and L1 (Lasso)
/// `Ω = ½ Σ |w|` with strength `l1`. Their gradients `l2·w` and `½·l1·sign(w)` are
/// added to the weight gradients by the trainer, once per step, and the penalty is
/// reported apart from the data loss (PyTorch has no layer-level equivalent; its
/// `weight_decay` is the optimizer-side L2, see [`optim`](crate::optim)).
///
/// # Examples
///
/// ```
/// use microtrain::layers::Penalty;
/// let p = Penalty { l2: 0.1, l1: 0.0 };
/// assert_eq!(p.value(&[1.0, -3.0]), 0.1 * 0.5 * 10.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    /// L2 strength `λ₂`.
    pub l2: f32,
    /// L1 strength `λ₁`.
    pub l1: f32,
}

impl Penalty {
    /// No penalty.
    ///
    /// ```
    /// use microtrain::layers::{Dense, Penalty};
    /// assert_eq!(Dense::<2, 2>::zeros().penalty, Penalty::NONE);
    /// ```
    pub const NONE: Penalty = Penalty { l2: 0.0, l1: 0.0 };

    /// Checks the strengths: finite and ≥ 0 (a negative one would reward large
    /// weights). The trainer refuses a step with a bad penalty before touching anything.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`](crate::Error::Setting) naming `"Penalty l2"` or `"Penalty l1"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Penalty, Error};
    /// assert!(Penalty { l2: 1e-4, l1: 0.0 }.check().is_ok());
    /// assert_eq!(
    ///     Penalty { l2: -1e-4, l1: 0.0 }.check(),
    ///     Err(Error::Setting { name: "Penalty l2", value: -1e-4, rule: "finite and at least 0" })
    /// );
    /// ```
    pub const fn check(self) -> Result<Self, crate::Error> {
        crate::check::ok!(crate::check::non_negative("Penalty l2", self.l2));
        crate::check::ok!(crate::check::non_negative("Penalty l1", self.l1));
        Ok(self)
    }

    /// `λ₂·½Σw² + λ₁·½Σ|w|` for the weights `w`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Penalty;
    /// assert_eq!(Penalty { l2: 0.0, l1: 2.0 }.value(&[1.0, -3.0]), 4.0);
    /// ```
    pub fn value(&self, w: &[f32]) -> f32 {
        let mut total = 0.0;
        if self.l2 != 0.0 {
            total += self.l2 * 0.5 * crate::kernels::squared_norm(w);
        }
        if self.l1 != 0.0 {
            total += self.l1 * 0.5 * crate::kernels::abs_sum(w);
        }
        total
    }

    /// Adds `∂(λΩ)/∂w = λ₂·w + ½λ₁·sign(w)` to `grad`.
    ///
    /// # Errors
    ///
    /// [`Error::Length`](crate::Error::Length) if `w` and `grad` differ in length.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Penalty;
    /// let mut g = [0.0, 0.0];
    /// Penalty { l2: 1.0, l1: 1.0 }.add_gradient(&[2.0, -2.0], &mut g)?;
    /// assert_eq!(g, [2.5, -2.5]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn add_gradient(&self, w: &[f32], grad: &mut [f32]) -> Result<(), crate::Error> {
        if *self == Penalty::NONE {
            return Ok(());
        }
        crate::kernels::optim::run(true, &PenaltyRule(*self), grad, w, []).map(|_| ())
    }
}

/// `grad ← grad + λ₂w + ½λ₁ sign(w)`, with the gradient in the parameter lane.
struct PenaltyRule(Penalty);

impl crate::kernels::optim::Rule<0> for PenaltyRule {
    fn apply<L: crate::kernels::optim::Lane>(&self, grad: L, w: L, s: [L; 0]) -> (L, [L; 0]) {
        let g = grad + L::splat(self.0.l2) * w;
        (g + L::splat(0.5 * self.0.l1) * w.sign(), s)
    }
}

/// One parameter tensor with its gradient, as a layer shows it to optimizers,
/// initialisers and regularisers.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, ParamKind, Params};
/// let mut d = Dense::<3, 2>::zeros();
/// let mut kinds = [None; 2];
/// let mut i = 0;
/// d.visit(&mut |p| { kinds[i] = Some((p.kind, p.value.len())); i += 1 });
/// assert_eq!(kinds, [Some((ParamKind::Weight, 6)), Some((ParamKind::Bias, 2))]);
/// ```
#[derive(Debug)]
pub struct Param<'a> {
    /// The values.
    pub value: &'a mut [f32],
    /// The gradient of the loss with respect to the values, accumulated by backward.
    pub grad: &'a mut [f32],
    /// Weight or bias.
    pub kind: ParamKind,
    /// Inputs feeding each output (for initialisation).
    pub fan_in: usize,
    /// Outputs fed by each input (for initialisation).
    pub fan_out: usize,
    /// The weight penalty of this tensor ([`Penalty::NONE`] for biases).
    pub penalty: Penalty,
}

/// The input of an in-place backward pass ([`Layer::backward_in_place`]): the buffer
/// that holds the layer's forward input `x`, and whether the layer may overwrite it with
/// the input gradient `∂J/∂x`.
///
/// - `Keep(x)`: `x` is someone else's buffer (the caller's batch, or the input of the
///   first layer of a model): the layer reads it and never writes it; no `∂J/∂x` is
///   computed.
/// - `Overwrite(x)`: the buffer holds `x` on entry and `∂J/∂x` on return. In a
///   sequential model it is the previous layer's output slot, so the previous layer
///   finds its own `dy` there.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Input, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut d = Dense::<2, 1>::zeros();
/// d.weight = Matrix([[2.0, -1.0]]);
/// let mut x: Batch<1, 2> = Matrix([[1.0, 3.0]]);
/// let mut cache = Zeroed::ZERO;
/// d.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
/// // The gradient dy = 1 goes over the output, dx = dy·W over the input.
/// <Dense<2, 1> as Layer<Batch<1, 2>>>::output_mut(&mut cache).0 = [[1.0]];
/// d.backward_in_place(Input::Overwrite(&mut x), &mut cache);
/// assert_eq!((x.0, d.weight_grad.0), ([[2.0, -1.0]], [[1.0, 3.0]]));
/// ```
#[derive(Debug)]
pub enum Input<'a, X> {
    /// Read `x`; do not write it, and compute no input gradient.
    Keep(&'a X),
    /// The buffer holds `x` on entry and `∂J/∂x` on return.
    Overwrite(&'a mut X),
}

impl<'a, X> Input<'a, X> {
    /// The forward input `x`, as long as the layer has not yet written its gradient.
    ///
    /// ```
    /// use microtrain::layers::Input;
    /// assert_eq!(*Input::Keep(&3).get(), 3);
    /// ```
    pub fn get(&self) -> &X {
        match self {
            Input::Keep(x) => x,
            Input::Overwrite(x) => x,
        }
    }

    /// The buffer to overwrite with `∂J/∂x`, if it is wanted.
    ///
    /// ```
    /// use microtrain::layers::Input;
    /// let mut v = 1;
    /// assert!(Input::Keep(&0).into_grad().is_none());
    /// *Input::Overwrite(&mut v).into_grad().unwrap() = 2;
    /// assert_eq!(v, 2);
    /// ```
    pub fn into_grad(self) -> Option<&'a mut X> {
        match self {
            Input::Keep(_) => None,
            Input::Overwrite(x) => Some(x),
        }
    }

    /// A shorter borrow of the same input.
    ///
    /// ```
    /// use microtrain::layers::Input;
    /// let mut v = 1;
    /// let mut input = Input::Overwrite(&mut v);
    /// assert_eq!(*input.reborrow().get(), 1);
    /// ```
    pub fn reborrow(&mut self) -> Input<'_, X> {
        match self {
            Input::Keep(x) => Input::Keep(x),
            Input::Overwrite(x) => Input::Overwrite(x),
        }
    }
}

/// A differentiable layer from `X` to [`Layer::Output`].
///
/// - `forward` computes the output into the layer's cache, keeping what backward needs;
/// - `backward_in_place` runs the backward pass over the buffers of the forward pass:
///   on entry the output slot of the cache ([`output_mut`](Layer::output_mut)) holds
///   `dy = ∂J/∂y` instead of `y`, and the layer adds the gradient of the loss with
///   respect to its parameters into the parameter gradients (`∂J/∂θ += …`, so
///   gradients of several batches can accumulate) and, for [`Input::Overwrite`],
///   writes `dx = ∂J/∂x` over `x`, after it has used `x` for its own gradients. The
///   seed's back-propagation `∂J/∂h⁽ˡ⁻¹⁾ = (∂h⁽ˡ⁾/∂h⁽ˡ⁻¹⁾)ᵀ ∂J/∂h⁽ˡ⁾` then needs no
///   buffer of its own: each gradient lives where the value it is the gradient of
///   lived, which backward no longer needs;
/// - `backward` is the same with separate buffers for `dy` and `dx` (a copy of each);
/// - `visit` shows each parameter tensor with its gradient, weights before biases,
///   layers in order: that order is the canonical flat order of optimizer state.
///
/// Once the output slot holds `dy`, a layer cannot read its output `y`: a layer whose
/// derivative is written in terms of `y` (tanh, sigmoid) recomputes it from `x`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, Zeroed};
/// use microtrain::Batch;
/// let mut layer = Dense::<2, 1>::zeros();
/// layer.weight.0 = [[1.0, 2.0]];
/// let x: Batch<1, 2> = microtrain::Matrix([[3.0, 4.0]]);
/// let mut cache = <Dense<2, 1> as Layer<Batch<1, 2>>>::Cache::ZERO;
/// layer.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(<Dense<2, 1> as Layer<Batch<1, 2>>>::output(&cache).0, [[11.0]]);
/// ```
pub trait Layer<X: Tensor>: Params {
    /// The output tensor type.
    type Output: Tensor;
    /// Everything the forward pass keeps for the backward pass, the output included.
    type Cache: Zeroed;

    /// Computes the output of `x` into `cache`.
    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context);

    /// The output computed by the last `forward` (until a backward pass writes `dy`
    /// over it).
    fn output(cache: &Self::Cache) -> &Self::Output;

    /// The output slot of the cache: where the caller writes `dy = ∂J/∂y` before
    /// [`backward_in_place`](Layer::backward_in_place).
    fn output_mut(cache: &mut Self::Cache) -> &mut Self::Output;

    /// The backward pass in place: with `dy` in the output slot of `cache` (the rest of
    /// the cache as the last forward pass left it) and `x` the input of that pass, adds
    /// the parameter gradients and, for [`Input::Overwrite`], overwrites `x` with
    /// `dx = ∂J/∂x`. An [`Input::Keep`] input is never written. The pass consumes the
    /// cache: a composite layer's inner activations hold gradients on return, and the
    /// output slot's contents are unspecified, so another backward pass needs another
    /// forward pass first.
    fn backward_in_place(&mut self, x: Input<'_, X>, cache: &mut Self::Cache);

    /// Given the input `x` and cache of the last forward pass and the gradient `dy` of
    /// the loss with respect to the output, adds the parameter gradients and, if `dx` is
    /// given, writes the gradient with respect to `x` into it: `dy` is copied into the
    /// output slot, `x` into `dx`, and [`backward_in_place`](Layer::backward_in_place)
    /// runs on them, so both give the same bits. `x` is never written; the cached
    /// output is (read it before, if you need it).
    fn backward(&mut self, x: &X, cache: &mut Self::Cache, dy: &Self::Output, dx: Option<&mut X>) {
        Self::output_mut(cache)
            .as_mut_slice()
            .copy_from_slice(dy.as_slice());
        match dx {
            Some(dx) => {
                dx.as_mut_slice().copy_from_slice(x.as_slice());
                self.backward_in_place(Input::Overwrite(dx), cache);
            }
            None => self.backward_in_place(Input::Keep(x), cache),
        }
    }

    /// Folds what the last training-mode `forward` measured into the layer's
    /// non-trainable state: batch normalisation's running statistics. The trainer calls
    /// it once a step is accepted, so a refused step leaves that state untouched too;
    /// PyTorch updates the same statistics inside its forward pass, with the same
    /// result for every accepted step. Layers without such state do nothing.
    fn commit(&mut self, cache: &Self::Cache) {
        let _ = cache;
    }
}

/// The trainable parameters of a layer or model, whatever its input type, and its
/// non-trainable state (buffers: batch normalisation's running statistics).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params, Relu};
/// type Net = (Dense<4, 3>, (Relu, Dense<3, 2>));
/// assert_eq!(Net::COUNT, (4 * 3 + 3) + (3 * 2 + 2));
/// ```
pub trait Params {
    /// Number of trainable scalars.
    const COUNT: usize;

    /// Calls `f` on every parameter tensor with its gradient, in canonical order:
    /// layers first to last, weights before biases.
    fn visit(&mut self, f: &mut impl FnMut(Param<'_>));

    /// Number of non-trainable `f32` state values (PyTorch: the buffers of
    /// `named_buffers()`, such as `running_mean`); none by default.
    const BUFFERS: usize = 0;

    /// Calls `f` on every buffer in canonical order (layers first to last). Optimizers
    /// never see buffers; evaluation, checkpoints and weight averaging do.
    fn visit_buffers(&mut self, f: &mut impl FnMut(Buffer<'_>)) {
        let _ = f;
    }

    /// Checks the layers' own settings, which are public fields a caller may change
    /// between steps: batch and group normalisation's `momentum` and `ε`
    /// ([`BatchNorm::check`], [`GroupNorm::check`]). The trainer calls it before every
    /// step, with the optimizer's check, so a bad setting is refused before anything
    /// moves. Layers without such settings accept; compositions check every part.
    ///
    /// # Errors
    ///
    /// The first layer's [`Error::Setting`](crate::Error::Setting).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{BatchNorm, Dense, Params, Relu};
    /// let mut net = (Dense::<2, 3>::zeros(), (BatchNorm::<3>::new(), Relu));
    /// assert!(net.check_settings().is_ok());
    /// net.1 .0.momentum = f32::NAN;
    /// assert!(net.check_settings().is_err());
    /// ```
    fn check_settings(&self) -> Result<(), crate::Error> {
        Ok(())
    }

    /// Sets every gradient to zero (PyTorch: `optimizer.zero_grad(set_to_none=False)`).
    fn zero_grad(&mut self) {
        self.visit(&mut |p| p.grad.fill(0.0));
    }
}

/// One non-trainable state tensor of a layer, as [`Params::visit_buffers`] shows it.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{BatchNorm, Params};
/// let mut bn = BatchNorm::<3>::new();
/// let mut names = [""; 2];
/// let mut i = 0;
/// bn.visit_buffers(&mut |b| { names[i] = b.name; i += 1 });
/// assert_eq!(names, ["running_mean", "running_var"]);
/// assert_eq!(<BatchNorm<3> as Params>::BUFFERS, 6);
/// ```
#[derive(Debug)]
pub struct Buffer<'a> {
    /// The values.
    pub value: &'a mut [f32],
    /// PyTorch's name for it within its layer (`running_mean`, `running_var`).
    pub name: &'static str,
    /// For a running estimate, its layer's averaging mode (see
    /// [`BatchNorm::cumulative`]): weight averaging switches it to a cumulative mean to
    /// recompute the statistics ([`update_bn`](crate::average::update_bn)). `None` for
    /// a buffer that is not a running estimate.
    pub cumulative: Option<&'a mut Option<u32>>,
}

/// Writes a sequential model's value as nested pairs: `seq![a, b, c]` is
/// `(a, (b, c))`. [`Seq!`](crate::Seq) writes its type the same way.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Relu};
/// use microtrain::{seq, Seq};
/// type Net = Seq![Dense<2, 8>, Relu, Dense<8, 1>];
/// let net: Net = seq![Dense::zeros(), Relu, Dense::zeros()];
/// assert_eq!(net.1 .1.bias.0, [0.0]);
/// ```
#[macro_export]
macro_rules! seq {
    ($last:expr $(,)?) => { $last };
    ($first:expr, $($rest:expr),+ $(,)?) => { ($first, $crate::seq![$($rest),+]) };
}

/// Writes a sequential model's type as nested pairs: `Seq![A, B, C]` is `(A, (B, C))`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Tanh};
/// use microtrain::Seq;
/// let _: Seq![Dense<2, 3>, Tanh, Dense<3, 1>] = (Dense::zeros(), (Tanh, Dense::zeros()));
/// ```
#[allow(non_snake_case)]
#[macro_export]
macro_rules! Seq {
    ($last:ty $(,)?) => { $last };
    ($first:ty, $($rest:ty),+ $(,)?) => { ($first, $crate::Seq![$($rest),+]) };
}
