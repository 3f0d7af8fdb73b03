//! Every spatial and normalisation layer against PyTorch 2.15 on fixed inputs
//! (`reference/make_layers.py`, float64): forward output, input and parameter
//! gradients of `J = Σ dy ⊙ y` in training mode, and for batch normalisation the
//! running statistics after three training passes and the evaluation-mode output.
//! Tolerance: `10⁻⁴·max(1, max|torch|)` per tensor (the 10⁻⁴ relative error,
//! taken relative to the tensor's scale; the `f32` rounding measured by the generator
//! is at most 5·10⁻⁶ of it).

use host_tests::golden::{assert_matches, Case};
use microtrain::layers::{
    BatchNorm, Context, GroupNorm, InstanceNorm, Layer, LayerNorm, Mode, Params,
};
use microtrain::{Batch, Image, Tensor, Zeroed};

const REL: f64 = 1e-4;

/// Copies `values` into a tensor.
fn tensor<T: Tensor>(values: &[f32]) -> T {
    let mut t = T::ZERO;
    t.as_mut_slice().copy_from_slice(values);
    t
}

/// Sets the parameters of `layer`, in canonical order, from the named tensors.
fn set_params(layer: &mut impl Params, case: &Case, names: &[&str]) {
    let mut i = 0;
    layer.visit(&mut |p| {
        p.value.copy_from_slice(&case.f32(names[i]));
        i += 1;
    });
    assert_eq!(i, names.len(), "{}: parameter tensors", case.name);
}

/// Forward in training mode on `x`, backward of `dy`; compares `y`, `x.grad` and the
/// gradient of every parameter named in `names`.
fn check_train<X: Tensor + Copy, L: Layer<X>>(
    case: &Case,
    layer: &mut L,
    names: &[&str],
) -> L::Cache {
    set_params(layer, case, names);
    layer.zero_grad();
    let x: X = tensor(&case.f32("x"));
    let dy: L::Output = tensor(&case.f32("dy"));
    let mut cache = L::Cache::ZERO;
    layer.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
    assert_matches(
        &format!("{} y", case.name),
        L::output(&cache).as_slice(),
        &case.channels_last("y"),
        REL,
    );
    let mut dx = X::ZERO;
    layer.backward(&x, &mut cache, &dy, Some(&mut dx));
    assert_matches(
        &format!("{} x.grad", case.name),
        dx.as_slice(),
        &case.channels_last("x.grad"),
        REL,
    );
    let mut i = 0;
    layer.visit(&mut |p| {
        let key = format!("{}.grad", names[i]);
        assert_matches(
            &format!("{} {key}", case.name),
            p.grad,
            &case.channels_last(&key),
            REL,
        );
        i += 1;
    });
    cache
}

/// After [`check_train`]: commits that pass, trains on `x2` and `x3` (forward and
/// commit), compares the running statistics, then the evaluation output on `x4`.
fn check_running<X: Tensor + Copy, L: Layer<X>>(
    case: &Case,
    layer: &mut L,
    cache: L::Cache,
    buffers: &[&str],
) {
    let mut cache = cache;
    layer.commit(&cache);
    for key in ["x2", "x3"] {
        let x: X = tensor(&case.f32(key));
        layer.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
        layer.commit(&cache);
    }
    let mut i = 0;
    layer.visit_buffers(&mut |b| {
        assert_matches(
            &format!("{} {}", case.name, buffers[i]),
            b.value,
            &case.channels_last(buffers[i]),
            REL,
        );
        i += 1;
    });
    assert_eq!(i, buffers.len());
    let x: X = tensor(&case.f32("x4"));
    layer.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
    assert_matches(
        &format!("{} y_eval", case.name),
        L::output(&cache).as_slice(),
        &case.channels_last("y_eval"),
        REL,
    );
}

#[test]
fn batch_norm_matches_pytorch() {
    let case = Case::load("batchnorm1d");
    let mut bn = BatchNorm::<5>::new();
    let cache = check_train::<Batch<8, 5>, _>(&case, &mut bn, &["weight", "bias"]);
    check_running::<Batch<8, 5>, _>(&case, &mut bn, cache, &["running_mean", "running_var"]);

    let case = Case::load("batchnorm2d");
    let mut bn = BatchNorm::<3>::new();
    let cache = check_train::<Image<4, 4, 4, 3>, _>(&case, &mut bn, &["weight", "bias"]);
    check_running::<Image<4, 4, 4, 3>, _>(&case, &mut bn, cache, &["running_mean", "running_var"]);
}

#[test]
fn group_layer_and_instance_norm_match_pytorch() {
    check_train::<Batch<4, 6>, _>(
        &Case::load("layernorm"),
        &mut LayerNorm::<6>::new(),
        &["weight", "bias"],
    );
    check_train::<Image<2, 3, 3, 4>, _>(
        &Case::load("groupnorm2d_g2"),
        &mut GroupNorm::<2, 4>::new(),
        &["weight", "bias"],
    );
    check_train::<Batch<4, 6>, _>(
        &Case::load("groupnorm1d_g3"),
        &mut GroupNorm::<3, 6>::new(),
        &["weight", "bias"],
    );
    check_train::<Image<2, 4, 4, 3>, _>(
        &Case::load("instancenorm2d"),
        &mut InstanceNorm::<3>::new(),
        &["weight", "bias"],
    );
}
