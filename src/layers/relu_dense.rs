//! A ReLU followed by a fully connected layer, `y = max(0, x)·Wᵀ + b`, as one layer
//! (PyTorch: `nn.Sequential(nn.ReLU(), nn.Linear(IN, OUT))`): the hidden layer of an
//! MLP at the analytic minimum of activation memory.
//!
//! In `Seq![Dense<64, 32>, Relu, Dense<32, 10>]` the hidden layer keeps two buffers,
//! the pre-activation `h` (the first `Dense`'s output) and `a = max(0, h)` (the `Relu`'s
//! output), because every layer keeps its own output. Only one is needed:
//! `Seq![Dense<64, 32>, ReluDense<32, 10>]` keeps `h` alone. The ReLU's output is never
//! stored; it is recomputed from `h`, a few rows of the batch at a time, into a block on
//! the stack (backward, once `h` may be overwritten, over `h` itself), and its mask
//! (`h > 0 ⇔ a > 0`) is read from `h` as the input gradient is written over it.
//!
//! The ReLU sits on the consumer's side so that every gradient still goes over the
//! activation it belongs to (`∂J/∂h` over `h`) and the layer keeps the [`Layer`]
//! contract unchanged: it composes with everything a `Dense` composes with (a model's
//! last layer, a [`Residual`](super::Residual) body, which is then a pre-activation
//! block, a [`FrozenDense`](super::FrozenDense) before it), and nothing outside it has
//! to know its mask.

use super::dense::{add_bias_gradient, Dense};
use super::{Context, Input, Layer, Param, Params, Zeroed};
use crate::kernels::{self, inplace, Accumulate, Activation, MatMut, MatRef, Path};
use crate::{Batch, Matrix};

/// Rows of the batch per block: the stack block holds `BLOCK_ROWS × IN` floats
/// (512 bytes for `IN = 32`), the one buffer [`ReluDense`] adds, and only while its
/// forward or backward pass runs. Blocks serve the forward product, the input gradient
/// and, with [`Input::Keep`] only, the weight gradient (with [`Input::Overwrite`] the
/// ReLU is applied to `x` in place and `∂J/∂W` is one product over the batch). Fewer
/// rows mean more, smaller matrix products.
///
/// The firmware benchmark's step (64-32-10, batch 32, Adam) on the Cortex-M4F, with
/// `Seq![Dense<64, 32>, ReluDense<32, 10>]` (4 096 bytes less cache than `Seq![Dense<64,
/// 32>, Relu, Dense<32, 10>]`), measured 2026-11-30 with 4 rows: 587.5k instructions at
/// opt-level `"s"` and 564.7k at opt-level 3, 1 300 bytes of stack for `train_step`
/// (627.0k and 606.2k, 1 316 bytes, when `∂J/∂W` was also computed a block at a time).
///
/// ```
/// assert_eq!(microtrain::layers::BLOCK_ROWS, 4);
/// ```
pub const BLOCK_ROWS: usize = 4;

/// A ReLU on the input, then a fully connected layer: `Y = max(0, X)·Wᵀ + 1·bᵀ`
/// (PyTorch: `nn.Sequential(nn.ReLU(), nn.Linear(IN, OUT))`), with the [`Dense`] it
/// wraps holding `W`, `b`, their gradients and the penalty. Backward, given `∂J/∂Y`,
/// with `A = max(0, X)`:
///
/// ```text
/// ∂J/∂W += (∂J/∂Y)ᵀ · A      ∂J/∂b += Σ_rows ∂J/∂Y      ∂J/∂X = relu'(X) ⊙ (∂J/∂Y · W)
/// ```
///
/// with `relu'(x) = 0` for `x ≤ 0` (so `∂J/∂x` is `+0.0` there, for `x = -0.0` too) and
/// `1` otherwise, NaN included: [`Relu`](super::Relu)'s rule. The layer keeps only its
/// output; `A` is recomputed, [`BLOCK_ROWS`] rows at a time, in a block on the stack
/// (and, in a backward pass that overwrites `X` with `∂J/∂X`, over `X` itself first).
/// Every element is computed by the same kernels in the same order as by
/// `(Relu, Dense<IN, OUT>)`, so the two train to the same bits with `IN·B` floats less
/// kept: `Seq![Dense<64, 32>, ReluDense<32, 10>]` is `Seq![Dense<64, 32>, Relu,
/// Dense<32, 10>]` with one cache buffer instead of two. Its parameters come in
/// [`Dense`]'s order, so checkpoints and optimizer state carry over.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, ReluDense, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut d = Dense::<2, 1>::zeros();
/// d.weight = Matrix([[2.0, -1.0]]);
/// d.bias.0 = [0.5];
/// let layer = ReluDense(d);
/// let x: Batch<1, 2> = Matrix([[1.0, -3.0]]); // max(0, x) = [1, 0]
/// let mut cache = Zeroed::ZERO;
/// layer.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(cache.0, [[2.5]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReluDense<const IN: usize, const OUT: usize>(pub Dense<IN, OUT>);

impl<const IN: usize, const OUT: usize> ReluDense<IN, OUT> {
    /// A layer with all parameters and gradients zero, usable in a `static` (see
    /// [`Dense::zeros`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::ReluDense;
    /// static mut LAYER: ReluDense<32, 10> = ReluDense::zeros();
    /// ```
    pub const fn zeros() -> Self {
        ReluDense(Dense::zeros())
    }
}

/// [`ReluDense::zeros`]: every byte zero.
impl<const IN: usize, const OUT: usize> Zeroed for ReluDense<IN, OUT> {
    const ZERO: Self = ReluDense::zeros();
}

/// `a ← max(0, x)` for a block of rows, element by element with [`Relu`](super::Relu)'s
/// scalar rule (the bits of its kernel on every path; no copy of `x` into `a` first).
fn relu_rows<const IN: usize>(x: &[[f32; IN]], a: &mut [[f32; IN]]) {
    for (a, &x) in a.as_flattened_mut().iter_mut().zip(x.as_flattened()) {
        *a = Activation::Relu.value(x);
    }
}

impl<const B: usize, const IN: usize, const OUT: usize> Layer<Batch<B, IN>> for ReluDense<IN, OUT> {
    type Output = Batch<B, OUT>;
    type Cache = Batch<B, OUT>;

    /// Per block of rows: `A = max(0, X)` into the stack block, then each row of `Y`
    /// starts from the bias and the product `A·Wᵀ` is added in the canonical order, as
    /// [`Dense`] does for the whole batch (the rows of a product are independent).
    /// Never inlined, so that the blocks of the forward and backward passes never share
    /// a caller's stack frame.
    #[inline(never)]
    fn forward(&self, x: &Batch<B, IN>, y: &mut Batch<B, OUT>, _: &mut Context) {
        let mut block = [[0.0f32; IN]; BLOCK_ROWS];
        for (xs, ys) in x.0.chunks(BLOCK_ROWS).zip(y.0.chunks_mut(BLOCK_ROWS)) {
            let (n, a) = (xs.len(), &mut block[..xs.len()]);
            relu_rows(xs, a);
            ys.fill(self.0.bias.0);
            let done = kernels::matmul_bt(
                MatMut::from_parts(ys.as_flattened_mut(), n, OUT),
                MatRef::from_parts(a.as_flattened(), n, IN),
                self.0.weight.view(),
                Accumulate::Add,
            );
            debug_assert!(done.is_ok(), "shapes are checked by the types");
        }
    }

    fn output(y: &Batch<B, OUT>) -> &Batch<B, OUT> {
        y
    }

    fn output_mut(y: &mut Batch<B, OUT>) -> &mut Batch<B, OUT> {
        y
    }

    /// With [`Input::Overwrite`]: `x ← max(0, x)` in place first (the mask survives:
    /// `max(0, x) ≤ 0 ⇔ x ≤ 0`, and a NaN stays NaN, so [`Relu`](super::Relu)'s
    /// backward rule reads the same mask from either), then `∂J/∂W += dyᵀ·A` in one
    /// product over the batch, `∂J/∂b`, and, per block of rows, `dy·W` into the stack
    /// block and `x ← relu'(x) ⊙ block` over `x` with `Relu`'s in-place kernel. With
    /// [`Input::Keep`] `x` is read only: `∂J/∂W` a block of rows at a time, each block's
    /// product continuing every element's sum over the rows where the previous block
    /// left it (the canonical order adds the rows in increasing order onto the old
    /// value), so the bits are those of one product over the batch. Never inlined (see
    /// `forward`).
    #[inline(never)]
    fn backward_in_place(&mut self, x: Input<'_, Batch<B, IN>>, dy: &mut Batch<B, OUT>) {
        let dense = &mut self.0;
        let x = match x {
            Input::Keep(x) => {
                weight_grad_by_blocks(&mut dense.weight_grad, x, dy);
                add_bias_gradient(dy, &mut dense.bias_grad);
                return;
            }
            Input::Overwrite(x) => x,
        };
        kernels::activation::activate_in_place(Path::DEFAULT, Activation::Relu, x.as_mut_slice());
        dense.weight_grad.set_product_at(dy, x, Accumulate::Add);
        add_bias_gradient(dy, &mut dense.bias_grad);
        let mut block = [[0.0f32; IN]; BLOCK_ROWS];
        for (xs, dys) in x.0.chunks_mut(BLOCK_ROWS).zip(dy.0.chunks(BLOCK_ROWS)) {
            let (n, g) = (xs.len(), &mut block[..xs.len()]);
            let product = kernels::matmul(
                MatMut::from_parts(g.as_flattened_mut(), n, IN),
                MatRef::from_parts(dys.as_flattened(), n, OUT),
                dense.weight.view(),
                Accumulate::Overwrite,
            );
            debug_assert!(product.is_ok(), "shapes are checked by the types");
            let masked = inplace::activation_backward_in_place(
                Activation::Relu,
                xs.as_flattened_mut(),
                g.as_flattened(),
            );
            debug_assert!(masked.is_ok(), "the block has the rows of x");
        }
    }
}

/// `∂J/∂W += dyᵀ·max(0, x)` without writing `x`: `max(0, x)` a block of rows at a time
/// on the stack, each block's product continuing the sums where the last one left them.
fn weight_grad_by_blocks<const B: usize, const IN: usize, const OUT: usize>(
    weight_grad: &mut Matrix<OUT, IN>,
    x: &Batch<B, IN>,
    dy: &Batch<B, OUT>,
) {
    let mut block = [[0.0f32; IN]; BLOCK_ROWS];
    for (xs, dys) in x.0.chunks(BLOCK_ROWS).zip(dy.0.chunks(BLOCK_ROWS)) {
        let (n, a) = (xs.len(), &mut block[..xs.len()]);
        relu_rows(xs, a);
        let done = kernels::matmul_at(
            weight_grad.view_mut(),
            MatRef::from_parts(dys.as_flattened(), n, OUT),
            MatRef::from_parts(a.as_flattened(), n, IN),
            Accumulate::Add,
        );
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }
}

impl<const IN: usize, const OUT: usize> Params for ReluDense<IN, OUT> {
    const COUNT: usize = <Dense<IN, OUT> as Params>::COUNT;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        self.0.visit(f);
    }
}
