//! The in-place backward pass (`Layer::backward_in_place`): every gradient is written
//! over the buffer of the value it is the gradient of, and gives the same bits as the
//! computation with separate `dy`/`dx` buffers that it replaced.
//!
//! For each layer type the in-place pass is compared, bit for bit, with
//! - the two-buffer kernels the layers called before the change
//!   (`activation_backward`, `conv2d_backward`, `depthwise_backward`, `max_pool_backward`,
//!   `avg_pool_backward`, `normalize_backward`, the matrix products), called here with
//!   their own `dx` buffer;
//! - the layer's `backward` with a `dx` buffer;
//! - the same pass with `Input::Keep`, which must compute the same parameter gradients
//!   and leave `x` untouched.
//!
//! Compositions (a pair, a residual, a projected residual, a CNN block) are compared with
//! the old composition: each layer's backward with a separate `∂J/∂h` buffer per pair,
//! as `SeqCache.grad` held it. The losses are compared with their two-buffer formulas,
//! and the trainer's size with the buffers it must hold and nothing more.

use core::mem::size_of;
use host_tests::check::assert_bits_eq;
use host_tests::Rng;
use microtrain::kernels::norm::{normalize_backward, Affine, Sets};
use microtrain::kernels::{self, Accumulate, Activation, ConvShape};
use microtrain::layers::{
    AvgPool1d, AvgPool2d, BatchNorm, BiasOnly, Context, Conv1d, Conv2d, Dense, DepthwiseConv2d,
    Dropout, Flatten, FrozenDense, Gelu, GlobalAvgPool, GroupNorm, Input, InstanceNorm, Layer,
    LayerNorm, LeakyRelu, MaxPool1d, MaxPool2d, Mode, Params, ProjectedResidual, Relu, Residual,
    SeqCache, Sigmoid, Tanh,
};
use microtrain::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
use microtrain::optim::{Adam, Sgd};
use microtrain::train::Trainer;
use microtrain::{Batch, Image, MatMut, MatRef, Matrix, Seq, Tensor, Vector, Zeroed};

/// Values on a grid of quarters in `[-2, 2)`: exact zeros for the ReLU masks and ties
/// for the max-pooling windows.
fn fill<T: Tensor>(t: &mut T, rng: &mut Rng) {
    for v in t.as_mut_slice() {
        *v = (rng.below(16) as f32 - 8.0) * 0.25;
    }
}

/// Random parameters, and positive running variances.
fn randomize<L: Params>(layer: &mut L, rng: &mut Rng) {
    layer.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = rng.uniform(-1.0, 1.0);
        }
    });
    layer.visit_buffers(&mut |b| {
        for v in b.value.iter_mut() {
            *v = if b.name == "running_var" {
                rng.uniform(0.5, 2.0)
            } else {
                rng.uniform(-1.0, 1.0)
            };
        }
    });
}

fn grads<L: Params>(layer: &mut L) -> Vec<f32> {
    let mut g = Vec::new();
    layer.visit(&mut |p| g.extend_from_slice(p.grad));
    g
}

/// What one backward pass produced: the parameter gradients and `dx`.
struct Pass {
    grads: Vec<f32>,
    dx: Vec<f32>,
}

/// Runs `layer` forward on `x` in `mode`, then backward from `dy` three ways: in place
/// over a copy of `x` (`Input::Overwrite`), in place with `Input::Keep(x)`, and with
/// the two-buffer `backward`. Asserts that all three agree bit for bit and that `Keep`
/// left `x` unchanged; returns the in-place pass and the cache of the forward pass.
fn three_ways<X, L>(what: &str, layer: &L, x: &X, dy: &L::Output, mode: Mode) -> (Pass, L::Cache)
where
    X: Tensor + Copy,
    L: Layer<X> + Clone,
    L::Cache: Clone,
    L::Output: Copy,
{
    let forward = |l: &mut L| {
        l.zero_grad();
        let mut cache = L::Cache::ZERO;
        l.forward(x, &mut cache, &mut Context::new(mode, 7));
        cache
    };

    let mut over = layer.clone();
    let mut cache = forward(&mut over);
    let forward_cache = cache.clone();
    *L::output_mut(&mut cache) = *dy;
    let mut buf = *x;
    over.backward_in_place(Input::Overwrite(&mut buf), &mut cache);
    let pass = Pass {
        grads: grads(&mut over),
        dx: buf.as_slice().to_vec(),
    };

    let mut keep = layer.clone();
    let mut cache = forward(&mut keep);
    *L::output_mut(&mut cache) = *dy;
    let kept = *x;
    keep.backward_in_place(Input::Keep(&kept), &mut cache);
    assert_bits_eq(
        kept.as_slice(),
        x.as_slice(),
        format!("{what}: Keep wrote x"),
    );
    assert_bits_eq(
        &grads(&mut keep),
        &pass.grads,
        format!("{what}: Keep vs Overwrite ∂J/∂θ"),
    );

    let mut two = layer.clone();
    let mut cache = forward(&mut two);
    let mut dx = X::ZERO;
    dx.as_mut_slice().fill(f32::NAN);
    two.backward(x, &mut cache, dy, Some(&mut dx));
    assert_bits_eq(
        &grads(&mut two),
        &pass.grads,
        format!("{what}: backward vs in place ∂J/∂θ"),
    );
    assert_bits_eq(
        dx.as_slice(),
        &pass.dx,
        format!("{what}: backward vs in place ∂J/∂x"),
    );
    (pass, forward_cache)
}

fn data<X: Tensor + Copy, Y: Tensor + Copy>(what: &str) -> (X, Y, Rng) {
    let mut rng = Rng::for_case(what, &[X::LEN, Y::LEN]);
    let (mut x, mut dy) = (X::ZERO, Y::ZERO);
    fill(&mut x, &mut rng);
    fill(&mut dy, &mut rng);
    (x, dy, rng)
}

// ---------------------------------------------------------------------------------
// Single layers against the two-buffer kernels
// ---------------------------------------------------------------------------------

/// `∂J/∂W = dyᵀ·x`, `∂J/∂b = Σ_rows dy`, `dx = dy·W`, with the kernels Dense called.
fn dense_reference<const B: usize, const I: usize, const O: usize>(
    w: &Matrix<O, I>,
    x: &Batch<B, I>,
    dy: &Batch<B, O>,
) -> Pass {
    let mut gw = vec![0.0; O * I];
    let mut gb = vec![0.0; O];
    kernels::matmul_at(
        MatMut::new(&mut gw, O, I).unwrap(),
        MatRef::new(dy.as_slice(), B, O).unwrap(),
        MatRef::new(x.as_slice(), B, I).unwrap(),
        Accumulate::Add,
    )
    .unwrap();
    for row in &dy.0 {
        kernels::add(row, &mut gb).unwrap();
    }
    let mut dx = vec![f32::NAN; B * I];
    kernels::matmul(
        MatMut::new(&mut dx, B, I).unwrap(),
        MatRef::new(dy.as_slice(), B, O).unwrap(),
        MatRef::new(w.as_slice(), O, I).unwrap(),
        Accumulate::Overwrite,
    )
    .unwrap();
    gw.extend(gb);
    Pass { grads: gw, dx }
}

#[test]
fn dense_and_frozen_layers_match_the_matrix_products() {
    let (x, dy, mut rng) = data::<Batch<5, 7>, Batch<5, 3>>("dense");
    let mut d = Dense::<7, 3>::zeros();
    randomize(&mut d, &mut rng);
    let (pass, _) = three_ways("Dense", &d, &x, &dy, Mode::Train);
    let want = dense_reference(&d.weight, &x, &dy);
    assert_bits_eq(&pass.grads, &want.grads, "Dense ∂J/∂θ");
    assert_bits_eq(&pass.dx, &want.dx, "Dense ∂J/∂x");

    let frozen = FrozenDense::from_parts(d.weight, d.bias);
    let (pass, _) = three_ways("FrozenDense", &frozen, &x, &dy, Mode::Train);
    assert!(pass.grads.is_empty());
    assert_bits_eq(&pass.dx, &want.dx, "FrozenDense ∂J/∂x");
    let (pass, _) = three_ways("&FrozenDense", &&frozen, &x, &dy, Mode::Train);
    assert_bits_eq(&pass.dx, &want.dx, "&FrozenDense ∂J/∂x");

    let bias_only = BiasOnly::from(&d);
    let (pass, _) = three_ways("BiasOnly", &bias_only, &x, &dy, Mode::Train);
    assert_bits_eq(&pass.grads, &want.grads[7 * 3..], "BiasOnly ∂J/∂b");
    assert_bits_eq(&pass.dx, &want.dx, "BiasOnly ∂J/∂x");
}

#[test]
fn activations_match_activation_backward() {
    fn check<L: Layer<Batch<4, 9>, Output = Batch<4, 9>> + Clone>(
        what: &str,
        layer: L,
        act: Activation,
    ) where
        L::Cache: Clone,
    {
        let (x, dy, _) = data::<Batch<4, 9>, Batch<4, 9>>(what);
        let (pass, cache) = three_ways(what, &layer, &x, &dy, Mode::Train);
        let y = L::output(&cache);
        let mut dx = vec![f32::NAN; 36];
        kernels::activation_backward(act, x.as_slice(), y.as_slice(), dy.as_slice(), &mut dx)
            .unwrap();
        assert_bits_eq(&pass.dx, &dx, format!("{what} ∂J/∂x"));
    }
    check("Relu", Relu, Activation::Relu);
    let leaky = LeakyRelu { slope: 0.1 };
    check("LeakyRelu", leaky, Activation::LeakyRelu { slope: 0.1 });
    check("Tanh", Tanh, Activation::Tanh);
    check("Sigmoid", Sigmoid, Activation::Sigmoid);
    check("Gelu", Gelu, Activation::Gelu);
}

#[test]
fn dropout_masks_the_gradient_as_the_output() {
    let (x, dy, _) = data::<Batch<4, 16>, Batch<4, 16>>("dropout");
    let drop = Dropout::new(0.5);
    let (pass, cache) = three_ways("Dropout", &drop, &x, &dy, Mode::Train);
    // The mask of the forward pass: y = x·scale where kept, 0 where dropped.
    let y = <Dropout as Layer<Batch<4, 16>>>::output(&cache);
    let mut dropped = 0;
    for ((&g, &d), (&yi, &xi)) in pass
        .dx
        .iter()
        .zip(dy.as_slice())
        .zip(y.as_slice().iter().zip(x.as_slice()))
    {
        if xi != 0.0 && yi == 0.0 {
            dropped += 1;
            assert_eq!(g.to_bits(), 0.0f32.to_bits());
        } else if xi != 0.0 {
            assert_eq!(g.to_bits(), (d * 2.0).to_bits());
        }
    }
    assert!(dropped > 0, "the mask drops something");
    three_ways("Dropout eval", &drop, &x, &dy, Mode::Eval);
}

fn shape(
    b: usize,
    (h, w, c): (usize, usize, usize),
    (ho, wo, co): (usize, usize, usize),
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
) -> ConvShape {
    ConvShape {
        batch: b,
        h,
        w,
        c_in: c,
        ho,
        wo,
        c_out: co,
        kh: k.0,
        kw: k.1,
        sh: s.0,
        sw: s.1,
        ph: p.0,
        pw: p.1,
    }
}

#[test]
fn convolutions_match_their_backward_kernels() {
    // Conv2d 3→5, 3×3, stride 2, padding 1, on 7×7.
    let (x, dy, mut rng) = data::<Image<2, 7, 7, 3>, Image<2, 4, 4, 5>>("conv2d");
    let mut conv = Conv2d::<3, 5, 3, 2, 1, 4, 4>::zeros();
    randomize(&mut conv, &mut rng);
    let (pass, _) = three_ways("Conv2d", &conv, &x, &dy, Mode::Train);
    let s = shape(2, (7, 7, 3), (4, 4, 5), (3, 3), (2, 2), (1, 1));
    let mut w = Vec::new();
    conv.clone().visit(&mut |p| w.push(p.value.to_vec()));
    let (mut gw, mut gb, mut dx) = (
        vec![0.0; w[0].len()],
        vec![0.0; 5],
        vec![f32::NAN; x.as_slice().len()],
    );
    let mut scratch = vec![0.0; s.scratch_len()];
    kernels::conv2d_backward(
        &s,
        x.as_slice(),
        &w[0],
        dy.as_slice(),
        &mut gw,
        &mut gb,
        Some(&mut dx),
        &mut scratch,
    )
    .unwrap();
    gw.extend(gb);
    assert_bits_eq(&pass.grads, &gw, "Conv2d ∂J/∂θ");
    assert_bits_eq(&pass.dx, &dx, "Conv2d ∂J/∂x");

    // Conv1d 4→6, kernel 5, stride 1, padding 2, 40 steps (wide enough for packing).
    let (x, dy, mut rng) = data::<Image<3, 1, 40, 4>, Image<3, 1, 40, 6>>("conv1d");
    let mut conv = Conv1d::<4, 6, 5, 1, 2, 40>::zeros();
    randomize(&mut conv, &mut rng);
    let (pass, _) = three_ways("Conv1d", &conv, &x, &dy, Mode::Train);
    let s = shape(3, (1, 40, 4), (1, 40, 6), (1, 5), (1, 1), (0, 2));
    let mut w = Vec::new();
    conv.clone().visit(&mut |p| w.push(p.value.to_vec()));
    let (mut gw, mut gb, mut dx) = (
        vec![0.0; w[0].len()],
        vec![0.0; 6],
        vec![f32::NAN; x.as_slice().len()],
    );
    let mut scratch = vec![0.0; s.scratch_len()];
    kernels::conv2d_backward(
        &s,
        x.as_slice(),
        &w[0],
        dy.as_slice(),
        &mut gw,
        &mut gb,
        Some(&mut dx),
        &mut scratch,
    )
    .unwrap();
    gw.extend(gb);
    assert_bits_eq(&pass.grads, &gw, "Conv1d ∂J/∂θ");
    assert_bits_eq(&pass.dx, &dx, "Conv1d ∂J/∂x");

    // Depthwise 3×3, stride 1, padding 1, 10 channels.
    let (x, dy, mut rng) = data::<Image<2, 5, 5, 10>, Image<2, 5, 5, 10>>("depthwise");
    let mut dw = DepthwiseConv2d::<10, 3, 1, 1, 5, 5>::zeros();
    randomize(&mut dw, &mut rng);
    let (pass, _) = three_ways("DepthwiseConv2d", &dw, &x, &dy, Mode::Train);
    let s = shape(2, (5, 5, 10), (5, 5, 10), (3, 3), (1, 1), (1, 1));
    let mut w = Vec::new();
    dw.clone().visit(&mut |p| w.push(p.value.to_vec()));
    let (mut gw, mut gb, mut dx) = (
        vec![0.0; w[0].len()],
        vec![0.0; 10],
        vec![f32::NAN; x.as_slice().len()],
    );
    kernels::depthwise_backward(
        &s,
        x.as_slice(),
        &w[0],
        dy.as_slice(),
        &mut gw,
        &mut gb,
        Some(&mut dx),
    )
    .unwrap();
    gw.extend(gb);
    assert_bits_eq(&pass.grads, &gw, "DepthwiseConv2d ∂J/∂θ");
    assert_bits_eq(&pass.dx, &dx, "DepthwiseConv2d ∂J/∂x");
}

#[test]
fn pooling_matches_its_backward_kernels() {
    // Max 2×2 stride 2 on 5×5 (an uncovered last row and column), 11 channels (a SIMD
    // chunk and a tail), quarter values (ties).
    let (x, dy, _) = data::<Image<2, 5, 5, 11>, Image<2, 2, 2, 11>>("maxpool2d");
    let (pass, _) = three_ways("MaxPool2d", &MaxPool2d::<2, 2, 2, 2>, &x, &dy, Mode::Train);
    let s = shape(2, (5, 5, 11), (2, 2, 11), (2, 2), (2, 2), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool2d ∂J/∂x");

    // Stride longer than the window: gaps between windows.
    let (x, dy, _) = data::<Image<1, 1, 11, 3>, Image<1, 1, 3, 3>>("maxpool1d");
    let (pass, _) = three_ways("MaxPool1d", &MaxPool1d::<2, 4, 3>, &x, &dy, Mode::Train);
    let s = shape(1, (1, 11, 3), (1, 3, 3), (1, 2), (1, 4), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool1d ∂J/∂x");

    // Overlapping windows (PyTorch's MaxPool2d(3, stride=2)): a winner shared by two
    // windows gathers both gradients, in the two-buffer kernel's order; 8×8 leaves the
    // last row and column uncovered. 3×3 stride 1 overlaps by two rows.
    let (x, dy, _) = data::<Image<2, 8, 8, 5>, Image<2, 3, 3, 5>>("maxpool overlap");
    let (pass, _) = three_ways(
        "MaxPool2d 3/2",
        &MaxPool2d::<3, 2, 3, 3>,
        &x,
        &dy,
        Mode::Train,
    );
    let s = shape(2, (8, 8, 5), (3, 3, 5), (3, 3), (2, 2), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool2d 3/2 ∂J/∂x");
    assert!(
        dx.iter().filter(|v| **v != 0.0).count() < x.as_slice().len() / 2,
        "most inputs win no window"
    );
    let (mut x, dy, _) = data::<Image<1, 5, 6, 3>, Image<1, 3, 4, 3>>("maxpool stride 1");
    x.0[0][2][2][1] = f32::NAN;
    let (pass, _) = three_ways(
        "MaxPool2d 3/1",
        &MaxPool2d::<3, 1, 3, 4>,
        &x,
        &dy,
        Mode::Train,
    );
    let s = shape(1, (5, 6, 3), (3, 4, 3), (3, 3), (1, 1), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool2d 3/1 ∂J/∂x");
    let (x, dy, _) = data::<Image<2, 1, 12, 4>, Image<2, 1, 5, 4>>("maxpool1d overlap");
    let (pass, _) = three_ways("MaxPool1d 4/2", &MaxPool1d::<4, 2, 5>, &x, &dy, Mode::Train);
    let s = shape(2, (1, 12, 4), (1, 5, 4), (1, 4), (1, 2), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool1d 4/2 ∂J/∂x");

    // A NaN in a window takes the gradient, as in the forward pass.
    let (mut x, dy, _) = data::<Image<1, 2, 2, 1>, Image<1, 1, 1, 1>>("maxpool nan");
    x.0[0][1][0][0] = f32::NAN;
    let (pass, _) = three_ways(
        "MaxPool2d NaN",
        &MaxPool2d::<2, 2, 1, 1>,
        &x,
        &dy,
        Mode::Train,
    );
    let s = shape(1, (2, 2, 1), (1, 1, 1), (2, 2), (2, 2), (0, 0));
    let mut dx = vec![f32::NAN; 4];
    kernels::max_pool_backward(&s, x.as_slice(), dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "MaxPool2d NaN ∂J/∂x");

    let (x, dy, _) = data::<Image<2, 6, 6, 3>, Image<2, 2, 2, 3>>("avgpool2d");
    let (pass, _) = three_ways("AvgPool2d", &AvgPool2d::<3, 3, 2, 2>, &x, &dy, Mode::Train);
    let s = shape(2, (6, 6, 3), (2, 2, 3), (3, 3), (3, 3), (0, 0));
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::avg_pool_backward(&s, dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "AvgPool2d ∂J/∂x");

    let (x, dy, _) = data::<Image<2, 1, 8, 3>, Image<2, 1, 4, 3>>("avgpool1d");
    three_ways("AvgPool1d", &AvgPool1d::<2, 2, 4>, &x, &dy, Mode::Train);

    let (x, dy, _) = data::<Image<2, 3, 3, 9>, Batch<2, 9>>("gap");
    let (pass, _) = three_ways("GlobalAvgPool", &GlobalAvgPool, &x, &dy, Mode::Train);
    let mut dx = vec![f32::NAN; x.as_slice().len()];
    kernels::global_avg_pool_backward(2, 9, 9, dy.as_slice(), &mut dx).unwrap();
    assert_bits_eq(&pass.dx, &dx, "GlobalAvgPool ∂J/∂x");

    let (x, dy, _) = data::<Image<2, 2, 3, 2>, Batch<2, 12>>("flatten");
    let (pass, _) = three_ways("Flatten", &Flatten::<12>, &x, &dy, Mode::Train);
    assert_bits_eq(&pass.dx, dy.as_slice(), "Flatten ∂J/∂x");
}

/// `normalize_backward` with its own `dx` buffer, as the norm layers called it.
fn norm_reference(
    a: &Affine<'_>,
    x: &[f32],
    dy: &[f32],
    c: usize,
    rows: usize,
    batch: bool,
    sums: usize,
) -> Pass {
    let r = x.len() / c;
    let (mut gg, mut gb, mut dx) = (vec![0.0; c], vec![0.0; c], vec![f32::NAN; x.len()]);
    let mut scratch = vec![0.0; sums];
    normalize_backward(
        a,
        MatRef::new(x, r, c).unwrap(),
        MatRef::new(dy, r, c).unwrap(),
        rows,
        batch,
        &mut gg,
        &mut gb,
        Some(MatMut::new(&mut dx, r, c).unwrap()),
        &mut scratch,
    )
    .unwrap();
    gg.extend(gb);
    Pass { grads: gg, dx }
}

#[test]
fn normalisation_matches_normalize_backward() {
    let (x, dy, mut rng) = data::<Image<3, 2, 2, 6>, Image<3, 2, 2, 6>>("batchnorm");
    let mut bn = BatchNorm::<6>::new();
    randomize(&mut bn, &mut rng);
    for (mode, rows) in [(Mode::Train, 3), (Mode::Eval, 3)] {
        let (pass, cache) = three_ways("BatchNorm", &bn, &x, &dy, mode);
        let s = &cache.1;
        let a = Affine {
            sets: Sets::Channels,
            mean: &s.mean.0,
            inv_std: &s.inv_std.0,
            gamma: &bn.gamma.0,
            beta: &bn.beta.0,
        };
        let used = if s.train { s.count } else { 12 };
        let want = norm_reference(&a, x.as_slice(), dy.as_slice(), 6, used, s.train, 12);
        assert_bits_eq(
            &pass.grads,
            &want.grads,
            format!("BatchNorm {mode:?} ∂J/∂θ ({rows} samples)"),
        );
        assert_bits_eq(&pass.dx, &want.dx, format!("BatchNorm {mode:?} ∂J/∂x"));
    }

    // A partial batch: padding rows get a zero gradient.
    let (x, dy, mut rng) = data::<Batch<4, 5>, Batch<4, 5>>("batchnorm partial");
    let mut bn = BatchNorm::<5>::new();
    randomize(&mut bn, &mut rng);
    let mut layer = bn;
    layer.zero_grad();
    let mut cache = <BatchNorm<5> as Layer<Batch<4, 5>>>::Cache::ZERO;
    let mut ctx = Context::new(Mode::Train, 0);
    ctx.rows = 3;
    layer.forward(&x, &mut cache, &mut ctx);
    let s = cache.1;
    let a = Affine {
        sets: Sets::Channels,
        mean: &s.mean.0,
        inv_std: &s.inv_std.0,
        gamma: &bn.gamma.0,
        beta: &bn.beta.0,
    };
    let want = norm_reference(&a, x.as_slice(), dy.as_slice(), 5, s.count, true, 10);
    cache.0 = dy;
    let mut buf = x;
    layer.backward_in_place(Input::Overwrite(&mut buf), &mut cache);
    assert_eq!(s.count, 3);
    assert_bits_eq(&grads(&mut layer), &want.grads, "BatchNorm partial ∂J/∂θ");
    assert_bits_eq(buf.as_slice(), &want.dx, "BatchNorm partial ∂J/∂x");

    fn group<const G: usize, const C: usize>(what: &str) {
        let (x, dy, mut rng) = data::<Image<2, 3, 1, C>, Image<2, 3, 1, C>>(what);
        let mut gn = GroupNorm::<G, C>::new();
        randomize(&mut gn, &mut rng);
        let (pass, cache) = three_ways(what, &gn, &x, &dy, Mode::Train);
        let s = &cache.1;
        let a = Affine {
            sets: Sets::Groups {
                positions: 3,
                groups: G,
            },
            mean: s.mean.as_slice(),
            inv_std: s.inv_std.as_slice(),
            gamma: &gn.gamma.0,
            beta: &gn.beta.0,
        };
        let want = norm_reference(&a, x.as_slice(), dy.as_slice(), C, 6, true, 2 * 2 * G);
        assert_bits_eq(&pass.grads, &want.grads, format!("{what} ∂J/∂θ"));
        assert_bits_eq(&pass.dx, &want.dx, format!("{what} ∂J/∂x"));
    }
    group::<2, 6>("GroupNorm");
    group::<1, 4>("LayerNorm");
    group::<3, 3>("InstanceNorm");
    let _: Option<(LayerNorm<4>, InstanceNorm<3>)> = None;
}

// ---------------------------------------------------------------------------------
// Compositions against the old composition with gradient buffers
// ---------------------------------------------------------------------------------

/// The pair's backward as it was: the second layer's `dx` into a separate `∂J/∂h`
/// buffer, then the first layer's backward from it.
fn old_pair<X, A, B>(
    pair: &mut (A, B),
    x: &X,
    cache: &mut SeqCache<A::Cache, B::Cache>,
    dy: &B::Output,
    dx: Option<&mut X>,
    second: impl FnOnce(&mut B, &A::Output, &mut B::Cache, &B::Output, &mut A::Output),
) where
    X: Tensor + Copy,
    A: Layer<X>,
    A::Output: Copy,
    B: Layer<A::Output>,
{
    let h = *A::output(&cache.first);
    let mut grad = A::Output::ZERO;
    second(&mut pair.1, &h, &mut cache.second, dy, &mut grad);
    pair.0.backward(x, &mut cache.first, &grad, dx);
}

/// Forward, then the in-place backward of the whole and the old composition's, on two
/// copies; asserts equal bits and that `Keep` leaves `x` alone.
fn composition<X, L>(
    what: &str,
    model: &L,
    x: &X,
    dy: &L::Output,
    old: impl Fn(&mut L, &X, &mut L::Cache, &L::Output, &mut X),
) where
    X: Tensor + Copy,
    L: Layer<X> + Clone,
    L::Cache: Clone,
    L::Output: Copy,
{
    let (pass, cache) = three_ways(what, model, x, dy, Mode::Train);
    let mut m = model.clone();
    m.zero_grad();
    let mut c = cache.clone();
    // The forward caches are equal, but run it again for the model's own state.
    m.forward(x, &mut c, &mut Context::new(Mode::Train, 7));
    let mut dx = X::ZERO;
    old(&mut m, x, &mut c, dy, &mut dx);
    assert_bits_eq(
        &grads(&mut m),
        &pass.grads,
        format!("{what}: old composition ∂J/∂θ"),
    );
    assert_bits_eq(
        dx.as_slice(),
        &pass.dx,
        format!("{what}: old composition ∂J/∂x"),
    );
}

#[test]
fn a_pair_matches_the_pair_with_a_gradient_buffer() {
    type Net = Seq![Dense<6, 8>, Tanh, Dense<8, 3>];
    let (x, dy, mut rng) = data::<Batch<4, 6>, Batch<4, 3>>("pair");
    let mut net: Net = (Dense::zeros(), (Tanh, Dense::zeros()));
    randomize(&mut net, &mut rng);
    composition("Dense, Tanh, Dense", &net, &x, &dy, |m, x, c, dy, dx| {
        old_pair(m, x, c, dy, Some(dx), |rest, h, c2, dy, dh| {
            old_pair(rest, h, c2, dy, Some(dh), |last, h2, c3, dy, dh2| {
                last.backward(h2, c3, dy, Some(dh2));
            });
        });
    });
}

#[test]
fn residuals_match_their_old_backward() {
    type Body = Seq![Dense<5, 5>, Relu, Dense<5, 5>];
    let (x, dy, mut rng) = data::<Batch<3, 5>, Batch<3, 5>>("residual");
    let mut res = Residual::<Body>((Dense::zeros(), (Relu, Dense::zeros())));
    randomize(&mut res, &mut rng);
    composition("Residual", &res, &x, &dy, |m, x, c, dy, dx| {
        // dx = (∂F/∂x)ᵀ dy, then + dy.
        m.0.backward(x, &mut c.0, dy, Some(dx));
        kernels::add(dy.as_slice(), dx.as_mut_slice()).unwrap();
    });

    type Proj = ProjectedResidual<Seq![Dense<5, 4>, Tanh], Dense<5, 4>>;
    let (x, dy, mut rng) = data::<Batch<3, 5>, Batch<3, 4>>("projected residual");
    let mut proj: Proj = ProjectedResidual {
        body: (Dense::zeros(), Tanh),
        projection: Dense::zeros(),
    };
    randomize(&mut proj, &mut rng);
    composition("ProjectedResidual", &proj, &x, &dy, |m, x, c, dy, dx| {
        m.body.backward(x, &mut c.body, dy, Some(dx));
        let mut grad = Batch::<3, 5>::ZERO;
        m.projection
            .backward(x, &mut c.projection, dy, Some(&mut grad));
        kernels::add(grad.as_slice(), dx.as_mut_slice()).unwrap();
    });
}

#[test]
fn a_cnn_block_matches_the_chain_of_layers() {
    type Block = Seq![Conv2d<2, 4, 3, 1, 1, 6, 6>, BatchNorm<4>, Relu, MaxPool2d<2, 2, 3, 3>];
    let (x, dy, mut rng) = data::<Image<2, 6, 6, 2>, Image<2, 3, 3, 4>>("cnn block");
    let mut block: Block = (Conv2d::zeros(), (BatchNorm::new(), (Relu, MaxPool2d)));
    randomize(&mut block, &mut rng);
    composition(
        "Conv2d, BatchNorm, Relu, MaxPool2d",
        &block,
        &x,
        &dy,
        |m, x, c, dy, dx| {
            old_pair(m, x, c, dy, Some(dx), |rest, h, c2, dy, dh| {
                old_pair(rest, h, c2, dy, Some(dh), |rest2, h2, c3, dy, dh2| {
                    old_pair(rest2, h2, c3, dy, Some(dh2), |pool, h3, c4, dy, dh3| {
                        pool.backward(h3, c4, dy, Some(dh3));
                    });
                });
            });
        },
    );
}

// ---------------------------------------------------------------------------------
// Losses and the trainer
// ---------------------------------------------------------------------------------

#[test]
fn losses_in_place_match_their_two_buffer_formulas() {
    const B: usize = 5;
    const N: usize = 7;
    let mut rng = Rng::for_case("losses", &[B, N]);
    let mut out = Batch::<B, N>::ZERO;
    for v in out.as_mut_slice() {
        *v = rng.uniform(-4.0, 4.0);
    }
    let mut t = Batch::<B, N>::ZERO;
    for v in t.as_mut_slice() {
        *v = rng.uniform(0.0, 1.0);
    }
    for rows in [B, 3] {
        // BCE as it was: per-element losses into the gradient buffer, their sum in the
        // kernels' canonical order, then the gradient.
        let count = (rows * N) as f32;
        let mut terms = vec![0.0f32; B * N];
        let mut want = vec![0.0f32; B * N];
        for (i, (&z, &y)) in out.as_slice().iter().zip(t.as_slice()).enumerate() {
            if i < rows * N {
                terms[i] = z.max(0.0) - z * y
                    + microtrain::kernels::math::ln_1p(microtrain::kernels::math::exp(-z.abs()));
                want[i] = (Activation::Sigmoid.value(z) - y) / count;
            }
        }
        let want_loss = kernels::sum(&terms) / count;
        let mut g = out;
        let loss = BceWithLogits.loss_in_place(&mut g, &t, rows);
        assert_eq!(loss.to_bits(), want_loss.to_bits(), "BCE loss, {rows} rows");
        assert_bits_eq(g.as_slice(), &want, format!("BCE gradient, {rows} rows"));

        // MSE: squared norm of the differences, then the scaled differences.
        let mut d: Vec<f32> = out
            .as_slice()
            .iter()
            .zip(t.as_slice())
            .enumerate()
            .map(|(i, (&p, &y))| if i < rows * N { p - y } else { 0.0 })
            .collect();
        let want_loss = kernels::squared_norm(&d) / count;
        kernels::scale(2.0 / count, &mut d);
        let mut g = out;
        assert_eq!(
            Mse.loss_in_place(&mut g, &t, rows).to_bits(),
            want_loss.to_bits()
        );
        assert_bits_eq(g.as_slice(), &d, format!("MSE gradient, {rows} rows"));

        // Cross-entropy with label smoothing: the provided two-buffer `loss` leaves the
        // logits alone and gives the same bits as in place.
        let ce = CrossEntropy {
            label_smoothing: 0.1,
        };
        let labels: [u32; B] = core::array::from_fn(|r| (r * 3 % N) as u32);
        let mut grad = Batch::<B, N>::ZERO;
        let kept = out;
        let two = ce.loss(&kept, &labels, rows, &mut grad);
        assert_bits_eq(kept.as_slice(), out.as_slice(), "CE loss wrote its input");
        let mut g = out;
        assert_eq!(
            ce.loss_in_place(&mut g, &labels, rows).to_bits(),
            two.to_bits()
        );
        assert_bits_eq(
            g.as_slice(),
            grad.as_slice(),
            format!("CE gradient, {rows} rows"),
        );
        // Its gradient row sums to zero and matches softmax − q.
        let row = &g.0[0];
        let m = out.0[0].iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let e: Vec<f64> = out.0[0].iter().map(|&z| f64::from(z - m).exp()).collect();
        let s: f64 = e.iter().sum();
        for (i, &gi) in row.iter().enumerate() {
            let q = if i == labels[0] as usize {
                0.9 + 0.1 / N as f64
            } else {
                0.1 / N as f64
            };
            let want = (e[i] / s - q) / rows as f64;
            assert!((f64::from(gi) - want).abs() < 1e-6, "CE ∂J/∂z[{i}]");
        }
    }
}

/// The bench network of the firmware: its trainer holds the parameters and their
/// gradients, Adam's state, the model cache (each layer's output and nothing else), the
/// labels, an epoch's input batch, and a few dozen bytes of settings: no buffer for the
/// loss gradient (it is written over the logits) and none for `∂J/∂h`.
#[test]
fn the_trainer_keeps_no_gradient_buffers() {
    type Net = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
    const P: usize = <Net as Params>::COUNT;
    type T = Trainer<Net, CrossEntropy, Adam<P>, 32, 64, 10>;
    assert_eq!(P, 64 * 32 + 32 + 32 * 10 + 10);
    // Dense output 32×32, ReLU output 32×32, logits 32×10: nothing else.
    let cache = (32 * 32 + 32 * 32 + 32 * 10) * 4;
    assert_eq!(size_of::<<Net as Layer<Batch<32, 64>>>::Cache>(), cache);
    let input = 32 * 64 * 4;
    let labels = 32 * 4;
    assert_eq!(T::ACTIVATION_BYTES, cache + input + labels);
    let counted = 2 * 4 * P + T::OPTIMIZER_BYTES + cache + input + labels;
    let rest = T::BYTES - counted;
    // The settings: loss, Adam's configuration, clip, two penalties, context, counters.
    // A loss-gradient buffer (32×10 floats = 1 280 bytes) would not fit in it.
    assert!(
        rest < 256,
        "{rest} bytes beyond the parameters, state and activations"
    );

    // Plain SGD, MSE on a two-layer net: the same count, exactly.
    type Small = Seq![Dense<3, 4>, Tanh, Dense<4, 2>];
    type S = Trainer<Small, Mse, Sgd, 2, 3, 2>;
    assert_eq!(
        S::ACTIVATION_BYTES,
        (2 * 4 + 2 * 4 + 2 * 2) * 4 + 2 * 3 * 4 + 2 * 2 * 4
    );
}

#[test]
fn train_step_reads_the_callers_batch_and_does_not_write_it() {
    type Net = Seq![Dense<3, 4>, Relu, Dense<4, 2>];
    let mut rng = Rng::for_case("train_step keep", &[3]);
    let mut t: Trainer<Net, CrossEntropy, Sgd, 4, 3, 2> = Trainer::new(
        (Dense::zeros(), (Relu, Dense::zeros())),
        CrossEntropy::default(),
        Sgd::new(0.1),
        1,
    );
    randomize(&mut t.model, &mut rng);
    let mut x = Batch::<4, 3>::ZERO;
    fill(&mut x, &mut rng);
    let before = x;
    t.train_step(&x, &[0, 1, 1, 0]).unwrap();
    assert_bits_eq(
        x.as_slice(),
        before.as_slice(),
        "train_step wrote its input",
    );
    let _ = Vector::<1>::zeros();
}

#[test]
fn a_trainer_takes_overlapping_max_pooling() {
    // PyTorch's ResNet stem pools 3×3 with stride 2; a model with it trains in place,
    // and its step equals the two-buffer backward's gradient applied by plain SGD.
    type Net =
        Seq![Conv2d<1, 2, 3, 1, 1, 7, 7>, Relu, MaxPool2d<3, 2, 3, 3>, Flatten<18>, Dense<18, 2>];
    let mut rng = Rng::for_case("overlapping pool trainer", &[7]);
    let mut t: Trainer<Net, CrossEntropy, Sgd, 2, 49, 2, Image<2, 7, 7, 1>> = Trainer::new(
        (
            Conv2d::zeros(),
            (Relu, (MaxPool2d, (Flatten, Dense::zeros()))),
        ),
        CrossEntropy::default(),
        Sgd::new(0.5),
        1,
    );
    randomize(&mut t.model, &mut rng);
    let mut x = Image::<2, 7, 7, 1>::ZERO;
    fill(&mut x, &mut rng);
    let labels = [0, 1];

    // The reference: forward, the loss gradient, the two-buffer backward, θ − 0.5·g.
    let mut model = t.model;
    let mut cache = <Net as Layer<Image<2, 7, 7, 1>>>::Cache::ZERO;
    model.forward(&x, &mut cache, &mut Context::new(Mode::Train, 1));
    let mut dy = Batch::<2, 2>::ZERO;
    let loss = CrossEntropy::default().loss(
        <Net as Layer<Image<2, 7, 7, 1>>>::output(&cache),
        &labels,
        2,
        &mut dy,
    );
    model.zero_grad();
    model.backward(&x, &mut cache, &dy, None);
    let mut expected = Vec::new();
    model.visit(&mut |p| {
        expected.extend(p.value.iter().zip(p.grad.iter()).map(|(v, g)| v - 0.5 * g));
    });

    let risk = t.train_step(&x, &labels).unwrap();
    assert_eq!(risk.data.to_bits(), loss.to_bits());
    let mut got = Vec::new();
    t.model.visit(&mut |p| got.extend_from_slice(p.value));
    assert_bits_eq(&got, &expected, "overlapping max pooling step");
}
