//! Every spatial and normalisation layer against PyTorch 2.15 on fixed inputs
//! (`reference/make_layers.py`, float64): forward output, input and parameter
//! gradients of `J = Σ dy ⊙ y` in training mode, and for batch normalisation the
//! running statistics after three training passes and the evaluation-mode output.
//! Tolerance: `10⁻⁵·max(1, max|torch|)` per tensor, ten times tighter than the issue's
//! 10⁻⁴. The floor of 1 is the scale of the terms (inputs, weights and `dy` are O(1)):
//! a gradient that is a small difference of O(1) terms, such as group norm's over
//! groups of two values (max 2.9·10⁻³), carries their rounding. Measured: the largest
//! deviation is 2.9·10⁻⁶, on the zero gradient of a convolution bias that batch norm
//! cancels in the identity block (sums of ~50 terms up to ~50); every other tensor is
//! within 2·10⁻⁷ of its own largest element, except that group-norm gradient (1.3·10⁻⁴
//! of its own scale, 3.8·10⁻⁷ absolute).

use host_tests::golden::{assert_matches, Case};
use microtrain::layers::{
    basic_block, down_block, AvgPool1d, AvgPool2d, BasicBlock, BatchNorm, Context, Conv1d, Conv2d,
    DepthwiseConv2d, DownBlock, GlobalAvgPool, GroupNorm, InstanceNorm, Layer, LayerNorm,
    MaxPool1d, MaxPool2d, Mode, Params,
};
use microtrain::{Batch, Image, Signal, Tensor, Zeroed};

const REL: f64 = 1e-5;

/// Copies `values` into a tensor.
fn tensor<T: Tensor>(values: &[f32]) -> T {
    let mut t = T::ZERO;
    t.as_mut_slice().copy_from_slice(values);
    t
}

/// A parameter tensor of a case in microtrain's layout: `""` names a bias that
/// PyTorch's module does not have (zero, with a zero gradient), `dw:` a depthwise
/// weight (`[C][1][K][K]` → `[K][K][C]`); otherwise [`Case::channels_last`].
fn param(case: &Case, name: &str, len: usize) -> Vec<f64> {
    if name.is_empty() {
        return vec![0.0; len];
    }
    if let Some(key) = name.strip_prefix("dw:") {
        let (dims, v) = case.raw(key);
        let (c, taps) = (dims[0], dims[2] * dims[3]);
        return (0..taps * c).map(|i| v[(i % c) * taps + i / c]).collect();
    }
    case.channels_last(name)
}

fn grad_name(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("{name}.grad")
    }
}

/// Sets the parameters of `layer`, in canonical order, from the named tensors.
fn set_params(layer: &mut impl Params, case: &Case, names: &[&str]) {
    let mut i = 0;
    layer.visit(&mut |p| {
        let v = param(case, names[i], p.value.len());
        p.value.iter_mut().zip(&v).for_each(|(d, &s)| *d = s as f32);
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
        let (name, len) = (names[i], p.grad.len());
        let want = match name.strip_prefix("dw:") {
            Some(key) => param(case, &format!("dw:{}", grad_name(key)), len),
            None => param(case, &grad_name(name), len),
        };
        assert_matches(&format!("{} {name} grad", case.name), p.grad, &want, REL);
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

#[test]
fn convolutions_match_pytorch() {
    let wb = ["weight", "bias"];
    check_train::<Image<2, 6, 6, 1>, _>(
        &Case::load("conv2d_k3_s1_p1"),
        &mut Conv2d::<1, 4, 3, 1, 1, 6, 6>::zeros(),
        &wb,
    );
    check_train::<Image<2, 7, 5, 3>, _>(
        &Case::load("conv2d_k3_s2_p1"),
        &mut Conv2d::<3, 5, 3, 2, 1, 4, 3>::zeros(),
        &wb,
    );
    check_train::<Image<2, 4, 4, 4>, _>(
        &Case::load("conv2d_k1"),
        &mut Conv2d::<4, 6, 1, 1, 0, 4, 4>::zeros(),
        &wb,
    );
    check_train::<Image<3, 6, 5, 2>, _>(
        &Case::load("conv2d_k3_valid"),
        &mut Conv2d::<2, 3, 3, 1, 0, 4, 3>::zeros(),
        &wb,
    );
    let dw = ["dw:weight", "bias"];
    check_train::<Image<2, 5, 5, 4>, _>(
        &Case::load("depthwise_k3_s1_p1"),
        &mut DepthwiseConv2d::<4, 3, 1, 1, 5, 5>::zeros(),
        &dw,
    );
    check_train::<Image<2, 7, 7, 3>, _>(
        &Case::load("depthwise_k3_s2_p1"),
        &mut DepthwiseConv2d::<3, 3, 2, 1, 4, 4>::zeros(),
        &dw,
    );
    check_train::<Signal<2, 16, 3>, _>(
        &Case::load("conv1d_k5_p2"),
        &mut Conv1d::<3, 4, 5, 1, 2, 16>::zeros(),
        &wb,
    );
    check_train::<Signal<2, 11, 2>, _>(
        &Case::load("conv1d_k3_s2"),
        &mut Conv1d::<2, 3, 3, 2, 0, 5>::zeros(),
        &wb,
    );
}

#[test]
fn pooling_matches_pytorch() {
    check_train::<Image<2, 6, 6, 3>, _>(
        &Case::load("maxpool2d_k2"),
        &mut MaxPool2d::<2, 2, 3, 3>,
        &[],
    );
    check_train::<Image<2, 7, 7, 2>, _>(
        &Case::load("maxpool2d_k3_s2"),
        &mut MaxPool2d::<3, 2, 3, 3>,
        &[],
    );
    check_train::<Image<1, 4, 4, 2>, _>(
        &Case::load("maxpool2d_ties"),
        &mut MaxPool2d::<2, 2, 2, 2>,
        &[],
    );
    check_train::<Image<2, 6, 6, 3>, _>(
        &Case::load("avgpool2d_k2"),
        &mut AvgPool2d::<2, 2, 3, 3>,
        &[],
    );
    check_train::<Image<2, 7, 7, 2>, _>(
        &Case::load("avgpool2d_k3_s2"),
        &mut AvgPool2d::<3, 2, 3, 3>,
        &[],
    );
    check_train::<Signal<2, 10, 3>, _>(&Case::load("maxpool1d_k2"), &mut MaxPool1d::<2, 2, 5>, &[]);
    check_train::<Signal<2, 11, 3>, _>(
        &Case::load("avgpool1d_k3_s2"),
        &mut AvgPool1d::<3, 2, 5>,
        &[],
    );
    check_train::<Image<2, 5, 4, 3>, _>(&Case::load("global_avgpool"), &mut GlobalAvgPool, &[]);
}

#[test]
fn resnet_basic_blocks_match_pytorch() {
    // Our convolutions carry a bias that PyTorch's block leaves out (`bias=False`):
    // set to zero, its gradient must come out zero too, since batch norm removes any
    // constant shift.
    let case = Case::load("basicblock_identity");
    let mut block: BasicBlock<4, 5, 5> = basic_block();
    let names = [
        "conv1.weight",
        "",
        "bn1.weight",
        "bn1.bias",
        "conv2.weight",
        "",
        "bn2.weight",
        "bn2.bias",
    ];
    let cache = check_train::<Image<2, 5, 5, 4>, _>(&case, &mut block, &names);
    let stats = [
        "bn1.running_mean",
        "bn1.running_var",
        "bn2.running_mean",
        "bn2.running_var",
    ];
    check_running::<Image<2, 5, 5, 4>, _>(&case, &mut block, cache, &stats);

    let case = Case::load("basicblock_projection");
    let mut block: DownBlock<3, 6, 3, 3> = down_block();
    let names = [
        "conv1.weight",
        "",
        "bn1.weight",
        "bn1.bias",
        "conv2.weight",
        "",
        "bn2.weight",
        "bn2.bias",
        "shortcut.0.weight",
        "",
        "shortcut.1.weight",
        "shortcut.1.bias",
    ];
    let cache = check_train::<Image<2, 6, 6, 3>, _>(&case, &mut block, &names);
    let stats = [
        "bn1.running_mean",
        "bn1.running_var",
        "bn2.running_mean",
        "bn2.running_var",
        "shortcut.1.running_mean",
        "shortcut.1.running_var",
    ];
    check_running::<Image<2, 6, 6, 3>, _>(&case, &mut block, cache, &stats);
}
