//! Sequential composition: the pair `(A, B)` is the layer `x ↦ B(A(x))`.

use super::{Buffer, Context, Layer, Param, Params, Tensor, Zeroed};

/// The cache of a pair `(A, B)`: each layer's own cache, plus the buffer for the
/// gradient with respect to the intermediate activation `h = A(x)`.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Layer, Relu};
/// use microtrain::Batch;
/// type Cache = <(Dense<2, 3>, Relu) as Layer<Batch<4, 2>>>::Cache;
/// // Dense output 4×3, ReLU output 4×3, gradient of the Dense output 4×3.
/// assert_eq!(core::mem::size_of::<Cache>(), 3 * 4 * 3 * 4);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SeqCache<CA, H, CB> {
    /// The first layer's cache (its output `h` included).
    pub first: CA,
    /// `∂J/∂h`, written by the second layer's backward pass.
    pub grad: H,
    /// The second layer's cache.
    pub second: CB,
}

impl<CA: Zeroed, H: Zeroed, CB: Zeroed> Zeroed for SeqCache<CA, H, CB> {
    const ZERO: Self = SeqCache {
        first: CA::ZERO,
        grad: H::ZERO,
        second: CB::ZERO,
    };
}

impl<X: Tensor, A: Layer<X>, B: Layer<A::Output>> Layer<X> for (A, B) {
    type Output = B::Output;
    type Cache = SeqCache<A::Cache, A::Output, B::Cache>;

    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context) {
        self.0.forward(x, &mut cache.first, ctx);
        self.1
            .forward(A::output(&cache.first), &mut cache.second, ctx);
    }

    fn output(cache: &Self::Cache) -> &Self::Output {
        B::output(&cache.second)
    }

    fn backward(&mut self, x: &X, cache: &mut Self::Cache, dy: &Self::Output, dx: Option<&mut X>) {
        let h = A::output(&cache.first);
        self.1
            .backward(h, &mut cache.second, dy, Some(&mut cache.grad));
        self.0.backward(x, &mut cache.first, &cache.grad, dx);
    }

    fn commit(&mut self, cache: &Self::Cache) {
        self.0.commit(&cache.first);
        self.1.commit(&cache.second);
    }
}

impl<A: Params, B: Params> Params for (A, B) {
    const COUNT: usize = A::COUNT + B::COUNT;

    const BUFFERS: usize = A::BUFFERS + B::BUFFERS;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        self.0.visit(f);
        self.1.visit(f);
    }

    fn visit_buffers(&mut self, f: &mut impl FnMut(Buffer<'_>)) {
        self.0.visit_buffers(f);
        self.1.visit_buffers(f);
    }
}
