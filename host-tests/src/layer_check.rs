//! A gradient check for any layer on any tensor type: the layer's forward output and
//! its parameter and input gradients against an `f64` reference forward function and
//! central finite differences of `J = Σ c ⊙ f(θ, x)`.
//!
//! Tolerances follow `tests/gradcheck.rs`: the finite differences in `f64` are exact
//! to ~10⁻¹⁰, so the error is the `f32` arithmetic's, at most a few hundred roundings
//! (`u = 2⁻²⁴`) of the terms' magnitudes for the layers checked here; [`REL_GRAD`] and
//! [`REL_FWD`] are relative to `|ref| + max|ref|` of the tensor.

use microtrain::layers::{Context, Layer, Mode, Params};
use microtrain::{Tensor, Zeroed};

/// Relative tolerance of gradients (`≥ 5×` the rounding bound of the layers checked,
/// `≥ 10³×` below the effect of a wrong term).
pub const REL_GRAD: f64 = 1e-4;
/// Relative tolerance of forward outputs.
pub const REL_FWD: f64 = 2e-5;

/// The flat parameters of `model` in canonical order.
pub fn flat_params(model: &mut impl Params) -> Vec<f32> {
    let mut values = Vec::new();
    model.visit(&mut |p| values.extend_from_slice(p.value));
    values
}

/// The flat parameter gradients of `model` in canonical order.
pub fn flat_grads(model: &mut impl Params) -> Vec<f32> {
    let mut grads = Vec::new();
    model.visit(&mut |p| grads.extend_from_slice(p.grad));
    grads
}

/// Central differences of `f` at `at`, in `f64`, step `10⁻⁵·max(1, |θₖ|)`.
pub fn finite_diff(f: impl Fn(&[f64]) -> f64, at: &[f64]) -> Vec<f64> {
    let mut p = at.to_vec();
    (0..at.len())
        .map(|k| {
            let h = 1e-5 * at[k].abs().max(1.0);
            p[k] = at[k] + h;
            let plus = f(&p);
            p[k] = at[k] - h;
            let minus = f(&p);
            p[k] = at[k];
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Asserts `|actual − expected| ≤ rel·(|expected| + max|expected|) + abs` for every
/// component, printing the failing one.
pub fn assert_close_rel(what: &str, actual: &[f32], expected: &[f64], rel: f64, abs: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let tol = rel * (e.abs() + scale) + abs;
        let diff = (f64::from(a) - e).abs();
        assert!(
            diff <= tol,
            "{what}[{i}]: analytic {a:e} vs reference {e:e}: |diff| {diff:e} > tolerance {tol:e} \
             (rel {rel:e}, abs {abs:e}, tensor scale {scale:e})"
        );
    }
}

/// Widens to `f64`.
pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// The full check of `layer` on input `x` with upstream gradient `c`, in `mode`:
///
/// 1. forward output against `reference(θ, x)`;
/// 2. parameter and input gradients of `J = Σ c ⊙ y` against finite differences of
///    the reference (backward must overwrite every element of `dx`, pre-filled NaN);
/// 3. a second forward and backward without zeroing doubles the parameter gradients
///    (up to the rounding of the sums it adds to; backward consumes the cache, whose
///    activations it overwrites with gradients).
///
/// Returns the cache of the forward pass, for checks of what it kept.
pub fn gradcheck_layer<X, L>(
    what: &str,
    layer: &mut L,
    x: &X,
    c: &L::Output,
    mode: Mode,
    reference: impl Fn(&[f64], &[f64]) -> Vec<f64>,
) -> L::Cache
where
    X: Tensor + Copy,
    L: Layer<X>,
{
    layer.zero_grad();
    let mut cache = L::Cache::ZERO;
    layer.forward(x, &mut cache, &mut Context::new(mode, 1));
    let out = L::output(&cache).as_slice().to_vec();
    let mut dx = X::ZERO;
    dx.as_mut_slice().fill(f32::NAN);
    layer.backward(x, &mut cache, c, Some(&mut dx));
    let theta = to_f64(&flat_params(layer));
    let grads = flat_grads(layer);
    let xs = to_f64(x.as_slice());
    let cs = to_f64(c.as_slice());
    let j = |theta: &[f64], x: &[f64]| -> f64 {
        reference(theta, x)
            .iter()
            .zip(&cs)
            .map(|(y, c)| y * c)
            .sum()
    };

    assert_close_rel(
        &format!("{what}: output"),
        &out,
        &reference(&theta, &xs),
        REL_FWD,
        1e-6,
    );
    let d_theta = finite_diff(|t| j(t, &xs), &theta);
    assert_close_rel(&format!("{what}: ∂J/∂θ"), &grads, &d_theta, REL_GRAD, 1e-6);
    let d_x = finite_diff(|x| j(&theta, x), &xs);
    assert_close_rel(
        &format!("{what}: ∂J/∂x"),
        dx.as_slice(),
        &d_x,
        REL_GRAD,
        1e-6,
    );

    // The backward pass wrote gradients over the activations it used: run forward again.
    layer.forward(x, &mut cache, &mut Context::new(mode, 1));
    layer.backward(x, &mut cache, c, None);
    let doubled: Vec<f64> = grads.iter().map(|&g| 2.0 * f64::from(g)).collect();
    assert_close_rel(
        &format!("{what}: accumulated ∂J/∂θ"),
        &flat_grads(layer),
        &doubled,
        1e-5,
        0.0,
    );
    cache
}
