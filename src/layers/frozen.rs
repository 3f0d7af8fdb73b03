//! Frozen layers and bias-only fine-tuning: adapting a pretrained network on the device
//! while paying RAM only for what is trained.
//!
//! A trainer holds, for every trainable scalar, its value, its gradient and the
//! optimizer's state (`Params::COUNT` sizes all three), and, for every layer, the
//! activations its backward pass needs. Freezing removes the first three for what is
//! frozen; running the frozen *front* of a network outside the trainer removes the
//! activations too:
//!
//! - [`FrozenDense`]: `y = x·Wᵀ + b` with `W` and `b` fixed. No gradients, no optimizer
//!   state (`Params::COUNT = 0`); its backward pass only propagates `∂J/∂x = ∂J/∂y · W`.
//!   PyTorch: an `nn.Linear` with `requires_grad_(False)` on both parameters. A `const`
//!   or `static` one lives in flash; a trainer can borrow it (`&FrozenDense` is a layer
//!   too), so its weights never take RAM.
//! - [`BiasOnly`]: the same layer with a frozen, borrowed weight and a trainable bias
//!   (`Params::COUNT = OUT`): bias-only fine-tuning (TinyTL, Cai et al. 2020; PyTorch:
//!   `weight.requires_grad_(False)`).
//! - [`extract_features`]: the frozen front of a network applied to a whole dataset, a
//!   batch at a time, in evaluation mode, into a caller-owned buffer. A trainer whose
//!   model is only the trainable head then trains on those features, and keeps no
//!   activation of the frozen layers: the idiom for "no kept activations before the
//!   first trainable layer".
//!
//! ```text
//! pretrained:  x ─ Dense<64,32> ─ ReLU ─ Dense<32,10> ─ logits
//! fine-tune:   x ─ FrozenDense<64,32> ─ ReLU ─┬─ features (once per sample, Eval mode)
//!                                              └─ Trainer<Dense<32,10>, …, 32, 10>
//! ```
//!
//! Frozen normalisation and dropout: `extract_features` runs the front in
//! [`Mode::Eval`], where [`Dropout`](super::Dropout) is the identity and
//! [`BatchNorm`](super::BatchNorm) normalises with its running statistics, which is
//! what a frozen network does (PyTorch: `body.eval()` under `torch.no_grad()`). There
//! is no frozen batch normalisation to place *inside* a trainer: a `BatchNorm` there
//! trains and updates its statistics.

use super::{Context, Input, Layer, Mode, Param, ParamKind, Params, Penalty};
use crate::kernels;
use crate::tensor::Tensor;
use crate::{Batch, Error, Matrix, Vector};

use super::dense::{add_bias_gradient, affine, input_gradient};
use super::Dense;

/// A fully connected layer `y = x·Wᵀ + b` whose weight and bias are fixed: no
/// gradients, no optimizer state (`Params::COUNT = 0`), and a backward pass that only
/// writes `∂J/∂X = ∂J/∂Y · W`. Forward and `∂J/∂X` are bit for bit those of a
/// [`Dense`] with the same parameters (the same kernels in the same order).
///
/// PyTorch: `nn.Linear(IN, OUT).requires_grad_(False)`.
///
/// Build one from a trained [`Dense`] (`FrozenDense::from(&dense)`), or in a `const`
/// from its parts so that the weights stay in flash; `&FrozenDense` is a layer as well,
/// so a trainer can borrow a frozen layer instead of copying it into RAM.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, FrozenDense, Layer, Mode, Params, Zeroed};
/// use microtrain::{Batch, Matrix, Vector};
/// static LAYER: FrozenDense<2, 1> = FrozenDense::from_parts(Matrix([[2.0, -1.0]]), Vector([0.5]));
/// assert_eq!(<FrozenDense<2, 1> as Params>::COUNT, 0);
/// let x: Batch<1, 2> = Matrix([[1.0, 1.0]]);
/// let mut y = Zeroed::ZERO;
/// LAYER.forward(&x, &mut y, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(y.0, [[1.5]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrozenDense<const IN: usize, const OUT: usize> {
    /// `W`, one row per output (PyTorch's layout of `nn.Linear.weight`).
    pub weight: Matrix<OUT, IN>,
    /// `b`.
    pub bias: Vector<OUT>,
}

impl<const IN: usize, const OUT: usize> FrozenDense<IN, OUT> {
    /// The frozen layer with weight `W` and bias `b`; `const`, so pretrained weights
    /// written as Rust literals can be a `const` or `static` in flash.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::FrozenDense;
    /// use microtrain::{Matrix, Vector};
    /// const BODY: FrozenDense<3, 2> =
    ///     FrozenDense::from_parts(Matrix([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), Vector([0.0, 1.0]));
    /// assert_eq!(BODY.bias.0, [0.0, 1.0]);
    /// ```
    pub const fn from_parts(weight: Matrix<OUT, IN>, bias: Vector<OUT>) -> Self {
        FrozenDense { weight, bias }
    }

    /// A [`BiasOnly`] layer that borrows this layer's weight and starts from a copy of
    /// its bias: the layer for bias-only fine-tuning.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{FrozenDense, Params};
    /// use microtrain::{Matrix, Vector};
    /// static BODY: FrozenDense<2, 2> = FrozenDense::from_parts(Matrix([[1.0, 2.0], [3.0, 4.0]]), Vector([5.0, 6.0]));
    /// let tuned = BODY.bias_tuned();
    /// assert_eq!((tuned.bias.0, tuned.weight.0[1]), ([5.0, 6.0], [3.0, 4.0]));
    /// assert_eq!(<microtrain::layers::BiasOnly<2, 2> as Params>::COUNT, 2);
    /// ```
    pub const fn bias_tuned(&self) -> BiasOnly<'_, IN, OUT> {
        BiasOnly::new(&self.weight, self.bias)
    }
}

impl<const IN: usize, const OUT: usize> FrozenDense<IN, OUT> {
    /// A trainable [`Dense`] that starts from this layer's weight and bias (gradients
    /// zero, no penalty): the layer to fine-tune; `const`, so a trainer holding it can
    /// be a `static` initialised from flash.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Dense, FrozenDense};
    /// use microtrain::{Matrix, Vector};
    /// const HEAD: FrozenDense<2, 1> = FrozenDense::from_parts(Matrix([[1.0, 2.0]]), Vector([3.0]));
    /// static mut TUNED: Dense<2, 1> = HEAD.thaw();
    /// assert_eq!(HEAD.thaw().weight_grad.0, [[0.0, 0.0]]);
    /// ```
    pub const fn thaw(&self) -> Dense<IN, OUT> {
        Dense {
            weight: self.weight,
            bias: self.bias,
            weight_grad: Matrix::zeros(),
            bias_grad: Vector::zeros(),
            penalty: Penalty::NONE,
        }
    }
}

impl<const IN: usize, const OUT: usize> From<&Dense<IN, OUT>> for FrozenDense<IN, OUT> {
    /// Freezes a trained layer: copies its weight and bias, drops its gradients and
    /// penalty.
    ///
    /// ```
    /// use microtrain::layers::{Dense, FrozenDense};
    /// let mut d = Dense::<2, 1>::zeros();
    /// d.weight.0 = [[1.0, 2.0]];
    /// assert_eq!(FrozenDense::from(&d).weight, d.weight);
    /// ```
    fn from(dense: &Dense<IN, OUT>) -> Self {
        FrozenDense::from_parts(dense.weight, dense.bias)
    }
}

impl<const B: usize, const IN: usize, const OUT: usize> Layer<Batch<B, IN>>
    for FrozenDense<IN, OUT>
{
    type Output = Batch<B, OUT>;
    type Cache = Batch<B, OUT>;

    fn forward(&self, x: &Batch<B, IN>, y: &mut Batch<B, OUT>, _: &mut Context) {
        affine(&self.weight, &self.bias, x, y);
    }

    fn output(y: &Batch<B, OUT>) -> &Batch<B, OUT> {
        y
    }

    fn output_mut(y: &mut Batch<B, OUT>) -> &mut Batch<B, OUT> {
        y
    }

    fn backward_in_place(&mut self, x: Input<'_, Batch<B, IN>>, dy: &mut Batch<B, OUT>) {
        input_gradient(&self.weight, dy, x.into_grad());
    }
}

/// Nothing to train.
impl<const IN: usize, const OUT: usize> Params for FrozenDense<IN, OUT> {
    const COUNT: usize = 0;

    fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
}

/// A borrowed frozen layer: the model holds a reference (one pointer), the weights stay
/// where they are, in flash for a `static`.
///
/// ```
/// use microtrain::layers::{Dense, FrozenDense, Relu};
/// use microtrain::{loss::CrossEntropy, optim::Sgd, train::Trainer, Matrix, Vector, Seq};
/// static BODY: FrozenDense<4, 3> = FrozenDense::from_parts(Matrix([[0.5; 4]; 3]), Vector([0.0; 3]));
/// type Net = Seq![&'static FrozenDense<4, 3>, Relu, Dense<3, 2>];
/// let t: Trainer<Net, CrossEntropy, Sgd, 1, 4, 2> =
///     Trainer::new((&BODY, (Relu, Dense::zeros())), CrossEntropy::default(), Sgd::new(0.1), 0);
/// assert_eq!(t.model.0.weight.0[0], [0.5; 4]);
/// ```
impl<const B: usize, const IN: usize, const OUT: usize> Layer<Batch<B, IN>>
    for &FrozenDense<IN, OUT>
{
    type Output = Batch<B, OUT>;
    type Cache = Batch<B, OUT>;

    fn forward(&self, x: &Batch<B, IN>, y: &mut Batch<B, OUT>, _: &mut Context) {
        affine(&self.weight, &self.bias, x, y);
    }

    fn output(y: &Batch<B, OUT>) -> &Batch<B, OUT> {
        y
    }

    fn output_mut(y: &mut Batch<B, OUT>) -> &mut Batch<B, OUT> {
        y
    }

    fn backward_in_place(&mut self, x: Input<'_, Batch<B, IN>>, dy: &mut Batch<B, OUT>) {
        input_gradient(&self.weight, dy, x.into_grad());
    }
}

/// Nothing to train.
impl<const IN: usize, const OUT: usize> Params for &FrozenDense<IN, OUT> {
    const COUNT: usize = 0;

    fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
}

/// A fully connected layer `y = x·Wᵀ + b` whose weight `W` is frozen (borrowed, so it
/// can stay in flash) and whose bias `b` trains: bias-only fine-tuning (TinyTL, Cai et
/// al. 2020). Per step it adds `∂J/∂b += Σ_rows ∂J/∂Y` and, when asked, writes
/// `∂J/∂X = ∂J/∂Y · W`, bit for bit as [`Dense`] does; `Params::COUNT = OUT`, so an
/// optimizer holds state for the biases only.
///
/// PyTorch: `nn.Linear(IN, OUT)` with `weight.requires_grad_(False)`.
///
/// Do not pass a pretrained model to [`init_params`](crate::init::init_params): it would
/// reset the biases.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{BiasOnly, Dense, Params};
/// use microtrain::{loss::Mse, optim::Sgd, train::Trainer, Matrix};
/// let mut pretrained = Dense::<1, 1>::zeros();
/// pretrained.weight.0 = [[2.0]];
/// let mut t: Trainer<BiasOnly<'_, 1, 1>, Mse, Sgd, 1, 1, 1> =
///     Trainer::new(BiasOnly::from(&pretrained), Mse, Sgd::new(0.25), 0);
/// t.train_step(&Matrix([[1.0]]), &Matrix([[4.0]]))?;   // y = 2, ∂J/∂b = 2(2 − 4) = −4
/// assert_eq!((t.model.bias.0, t.model.weight.0), ([1.0], [[2.0]]));
/// assert_eq!(<BiasOnly<'_, 1, 1> as Params>::COUNT, 1);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiasOnly<'w, const IN: usize, const OUT: usize> {
    /// `W`, frozen, one row per output.
    pub weight: &'w Matrix<OUT, IN>,
    /// `b`, trained.
    pub bias: Vector<OUT>,
    /// `∂J/∂b`.
    pub bias_grad: Vector<OUT>,
}

impl<'w, const IN: usize, const OUT: usize> BiasOnly<'w, IN, OUT> {
    /// The layer with frozen weight `W` and initial bias `b` (its gradient zero);
    /// `const`, so a trainer holding it can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::BiasOnly;
    /// use microtrain::{Matrix, Vector};
    /// static W: Matrix<2, 3> = Matrix([[1.0; 3]; 2]);
    /// static LAYER: BiasOnly<'static, 3, 2> = BiasOnly::new(&W, Vector([0.0, 1.0]));
    /// assert_eq!(LAYER.bias_grad.0, [0.0, 0.0]);
    /// ```
    pub const fn new(weight: &'w Matrix<OUT, IN>, bias: Vector<OUT>) -> Self {
        BiasOnly {
            weight,
            bias,
            bias_grad: Vector::zeros(),
        }
    }
}

impl<'w, const IN: usize, const OUT: usize> From<&'w Dense<IN, OUT>> for BiasOnly<'w, IN, OUT> {
    /// Borrows a trained layer's weight and copies its bias.
    ///
    /// ```
    /// use microtrain::layers::{BiasOnly, Dense};
    /// let mut d = Dense::<2, 1>::zeros();
    /// d.bias.0 = [3.0];
    /// assert_eq!(BiasOnly::from(&d).bias.0, [3.0]);
    /// ```
    fn from(dense: &'w Dense<IN, OUT>) -> Self {
        BiasOnly::new(&dense.weight, dense.bias)
    }
}

impl<const B: usize, const IN: usize, const OUT: usize> Layer<Batch<B, IN>>
    for BiasOnly<'_, IN, OUT>
{
    type Output = Batch<B, OUT>;
    type Cache = Batch<B, OUT>;

    fn forward(&self, x: &Batch<B, IN>, y: &mut Batch<B, OUT>, _: &mut Context) {
        affine(self.weight, &self.bias, x, y);
    }

    fn output(y: &Batch<B, OUT>) -> &Batch<B, OUT> {
        y
    }

    fn output_mut(y: &mut Batch<B, OUT>) -> &mut Batch<B, OUT> {
        y
    }

    fn backward_in_place(&mut self, x: Input<'_, Batch<B, IN>>, dy: &mut Batch<B, OUT>) {
        add_bias_gradient(dy, &mut self.bias_grad);
        input_gradient(self.weight, dy, x.into_grad());
    }
}

impl<const IN: usize, const OUT: usize> Params for BiasOnly<'_, IN, OUT> {
    const COUNT: usize = OUT;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        f(Param {
            value: &mut self.bias.0,
            grad: &mut self.bias_grad.0,
            kind: ParamKind::Bias,
            fan_in: IN,
            fan_out: OUT,
            penalty: Penalty::NONE,
        });
    }
}

/// Applies the frozen front `body` of a network to every sample of `inputs` (`IN`
/// values each, sample after sample, in the storage order of `X`), `B` samples at a
/// time in [`Mode::Eval`], and writes the `F` features of each sample to `features`;
/// returns the number of samples. A trainer whose model is only the trainable head
/// then trains on `Dataset::new(features, F, labels, 1)`, and keeps no activation of
/// `body`. PyTorch: `with torch.no_grad(): features = body.eval()(inputs)`.
///
/// `x` and `cache` are the caller's scratch for one batch (their contents on entry do
/// not matter); the last batch of a number of samples that `B` does not divide is
/// padded with zeros, and only its real rows are written. Evaluation mode makes
/// [`Dropout`](super::Dropout) the identity and [`BatchNorm`](super::BatchNorm) use its
/// running statistics, as a frozen network should.
///
/// # Errors
///
/// [`Error::Empty`] if `inputs` is empty; [`Error::Length`] if `inputs` does not hold a
/// whole number of samples or `features` does not hold `F` values for each of them;
/// [`Error::NonFinite`] for the first NaN or infinite input. `features` is untouched on
/// an error.
///
/// # The fine-tuning idiom
///
/// Freeze the front of a pretrained network, compute its features once, train the head
/// alone. The head trainer's [`BYTES`](crate::train::Trainer::BYTES) holds no
/// parameter, gradient, optimizer state or activation of the front; the caller's
/// features buffer (`N · F` values) replaces the raw inputs (`N · IN`).
///
/// ```
/// use microtrain::layers::{extract_features, Dense, FrozenDense, Relu, Zeroed};
/// use microtrain::{loss::CrossEntropy, optim::Sgd, train::{Dataset, Trainer}, Batch};
/// use rand_core::SeedableRng;
/// // A "pretrained" 2-2-2 network (here: hand-set weights), and new data to adapt to.
/// let mut first = Dense::<2, 2>::zeros();
/// first.weight.0 = [[1.0, 0.0], [0.0, 1.0]];
/// let body = (FrozenDense::from(&first), Relu);
/// let inputs = [1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 2.0];
/// let labels = [1u32, 0, 1, 0]; // the new task swaps the classes
/// let mut features = [0.0; 8];
/// let (mut x, mut cache) = (Batch::<2, 2>::zeros(), Zeroed::ZERO);
/// extract_features(&body, &inputs, &mut features, &mut x, &mut cache)?;
/// let data = Dataset::new(&features, 2, &labels, 1)?;
/// let mut head: Trainer<Dense<2, 2>, CrossEntropy, Sgd, 2, 2, 2> =
///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.5), 0);
/// let mut rng = rand_pcg::Pcg32::seed_from_u64(0);
/// for _ in 0..50 {
///     head.epoch(&data, &mut rng)?;
/// }
/// assert_eq!(head.evaluate(&data)?.accuracy, Some(1.0));
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::layers::{extract_features, FrozenDense, Relu, Zeroed};
/// use microtrain::{Batch, Matrix, Vector};
/// static BODY: (FrozenDense<2, 2>, Relu) =
///     (FrozenDense::from_parts(Matrix([[1.0, 0.0], [-1.0, 0.0]]), Vector([0.0, 0.0])), Relu);
/// let inputs = [1.0, 5.0, -2.0, 7.0, 3.0, 0.0]; // three samples of two values
/// let mut features = [0.0; 6];
/// let (mut x, mut cache) = (Batch::<2, 2>::zeros(), Zeroed::ZERO);
/// assert_eq!(extract_features(&BODY, &inputs, &mut features, &mut x, &mut cache)?, 3);
/// assert_eq!(features, [1.0, 0.0, 0.0, 2.0, 3.0, 0.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn extract_features<L, X, const B: usize, const F: usize>(
    body: &L,
    inputs: &[f32],
    features: &mut [f32],
    x: &mut X,
    cache: &mut L::Cache,
) -> Result<usize, Error>
where
    X: Tensor,
    L: Layer<X, Output = Batch<B, F>>,
{
    const {
        assert!(
            B > 0 && X::SAMPLES == B,
            "the body's input must hold B > 0 samples"
        )
    };
    let per_sample = X::LEN / B;
    if inputs.is_empty() || per_sample == 0 {
        return Err(Error::Empty { what: "inputs" });
    }
    let samples = inputs.len() / per_sample;
    kernels::vector::same_len(
        "inputs (a whole number of samples)",
        samples * per_sample,
        inputs.len(),
    )?;
    kernels::vector::same_len("features (F per sample)", samples * F, features.len())?;
    if let Some(index) = inputs.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "inputs",
            index,
        });
    }
    let mut ctx = Context::new(Mode::Eval, 0);
    for (batch, out) in inputs
        .chunks(B * per_sample)
        .zip(features.chunks_mut(B * F))
    {
        let rows = batch.len() / per_sample;
        let xs = x.as_mut_slice();
        xs[..batch.len()].copy_from_slice(batch);
        xs[batch.len()..].fill(0.0);
        ctx.rows = rows;
        body.forward(x, cache, &mut ctx);
        let y = L::output(cache);
        for (dst, src) in out.chunks_exact_mut(F).zip(y.0.iter()) {
            dst.copy_from_slice(src);
        }
    }
    Ok(samples)
}
