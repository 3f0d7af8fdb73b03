//! Sequential composition: the pair `(A, B)` is the layer `x ↦ B(A(x))`.

use super::{Buffer, Context, Input, Layer, Param, Params, Tensor, Zeroed};

/// The cache of a pair `(A, B)`: each layer's own cache. The intermediate activation
/// `h = A(x)` lives in `A`'s cache only; backward writes `∂J/∂h` over it, so the pair
/// keeps no gradient buffer of its own.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Layer, Relu};
/// use microtrain::Batch;
/// type Cache = <(Dense<2, 3>, Relu) as Layer<Batch<4, 2>>>::Cache;
/// // Dense output 4×3 and ReLU output 4×3: nothing else.
/// assert_eq!(core::mem::size_of::<Cache>(), 2 * 4 * 3 * 4);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SeqCache<CA, CB> {
    /// The first layer's cache (its output `h` included).
    pub first: CA,
    /// The second layer's cache.
    pub second: CB,
}

impl<CA: Zeroed, CB: Zeroed> Zeroed for SeqCache<CA, CB> {
    const ZERO: Self = SeqCache {
        first: CA::ZERO,
        second: CB::ZERO,
    };
}

impl<X: Tensor, A: Layer<X>, B: Layer<A::Output>> Layer<X> for (A, B) {
    type Output = B::Output;
    type Cache = SeqCache<A::Cache, B::Cache>;

    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context) {
        self.0.forward(x, &mut cache.first, ctx);
        self.1
            .forward(A::output(&cache.first), &mut cache.second, ctx);
    }

    fn output(cache: &Self::Cache) -> &Self::Output {
        B::output(&cache.second)
    }

    fn output_mut(cache: &mut Self::Cache) -> &mut Self::Output {
        B::output_mut(&mut cache.second)
    }

    /// `B` turns `h` (in `A`'s output slot) into `∂J/∂h`, which `A` then finds as its
    /// `dy`.
    fn backward_in_place(&mut self, x: Input<'_, X>, cache: &mut Self::Cache) {
        let h = A::output_mut(&mut cache.first);
        self.1
            .backward_in_place(Input::Overwrite(h), &mut cache.second);
        self.0.backward_in_place(x, &mut cache.first);
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

    fn check_settings(&self) -> Result<(), crate::Error> {
        self.0.check_settings()?;
        self.1.check_settings()
    }
}
