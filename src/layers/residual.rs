//! Residual (skip) connection `y = x + F(x)` (He et al. 2016).

use super::{Context, Layer, Param, Params, Tensor};
use crate::kernels;

/// `y = x + F(x)`: the inner layers fit the residual `F(x) = y − x` instead of `y`.
/// Backward: `∂J/∂x = ∂J/∂y + (∂F/∂x)ᵀ ∂J/∂y`. `F` must map its input type to itself.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dense, Layer, Mode, Residual, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut inner = Dense::<2, 2>::zeros();
/// inner.bias.0 = [1.0, 2.0];
/// let res = Residual(inner);
/// let x: Batch<1, 2> = Matrix([[10.0, 20.0]]);
/// let mut cache = Zeroed::ZERO;
/// res.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// assert_eq!(<Residual<Dense<2, 2>> as Layer<Batch<1, 2>>>::output(&cache).0, [[11.0, 22.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Residual<F>(pub F);

impl<X: Tensor + Copy, F: Layer<X, Output = X>> Layer<X> for Residual<F> {
    type Output = X;
    /// The inner cache, then the output `x + F(x)`.
    type Cache = (F::Cache, X);

    fn forward(&self, x: &X, cache: &mut Self::Cache, ctx: &mut Context) {
        self.0.forward(x, &mut cache.0, ctx);
        cache.1 = *F::output(&cache.0);
        let done = kernels::add(x.as_slice(), cache.1.as_mut_slice());
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    fn output(cache: &Self::Cache) -> &X {
        &cache.1
    }

    fn backward(&mut self, x: &X, cache: &mut Self::Cache, dy: &X, dx: Option<&mut X>) {
        match dx {
            Some(dx) => {
                self.0.backward(x, &mut cache.0, dy, Some(&mut *dx));
                let done = kernels::add(dy.as_slice(), dx.as_mut_slice());
                debug_assert!(done.is_ok(), "shapes are checked by the types");
            }
            None => self.0.backward(x, &mut cache.0, dy, None),
        }
    }
}

impl<F: Params> Params for Residual<F> {
    const COUNT: usize = F::COUNT;
    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        self.0.visit(f);
    }
}
