//! Convolution and pooling layers against central finite differences of the `f64`
//! references in `host_tests::reference` (written from PyTorch's definitions, the same
//! ones the kernel tests use), through `host_tests::layer_check::gradcheck_layer`.

use host_tests::layer_check::gradcheck_layer;
use host_tests::reference;
use microtrain::kernels::ConvShape;
use microtrain::layers::{
    AvgPool2d, Conv1d, Conv2d, DepthwiseConv2d, Flatten, GlobalAvgPool, MaxPool1d, MaxPool2d, Mode,
    Params,
};
use microtrain::{Batch, Image, Signal, Tensor};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg32;

fn random<T: Tensor>(seed: u64) -> T {
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut t = T::ZERO;
    for v in t.as_mut_slice() {
        *v = (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0;
    }
    t
}

fn randomize(layer: &mut impl Params, seed: u64) {
    let mut rng = Pcg32::seed_from_u64(seed);
    layer.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0;
        }
    });
}

/// A shape for the references: input `b × h × w × ci`, output `ho × wo × co`, window
/// `kh × kw`, strides `s`, padding `p`.
#[allow(clippy::too_many_arguments)]
fn shape(
    b: usize,
    (h, w, ci): (usize, usize, usize),
    (ho, wo, co): (usize, usize, usize),
    (kh, kw): (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
) -> ConvShape {
    ConvShape {
        batch: b,
        h,
        w,
        c_in: ci,
        ho,
        wo,
        c_out: co,
        kh,
        kw,
        sh: s.0,
        sw: s.1,
        ph: p.0,
        pw: p.1,
    }
}

/// `θ = [weight; bias]` split for the references.
fn split(theta: &[f64], bias: usize) -> (&[f64], &[f64]) {
    theta.split_at(theta.len() - bias)
}

#[test]
fn convolutions_match_finite_differences() {
    let g = shape(2, (7, 5, 3), (4, 3, 4), (3, 3), (2, 2), (1, 1));
    let mut conv = Conv2d::<3, 4, 3, 2, 1, 4, 3>::zeros();
    randomize(&mut conv, 1);
    let x: Image<2, 7, 5, 3> = random(2);
    let c: Image<2, 4, 3, 4> = random(3);
    gradcheck_layer(
        "Conv2d 3→4 k3 s2 p1",
        &mut conv,
        &x,
        &c,
        Mode::Train,
        |t, x| {
            let (w, b) = split(t, 4);
            reference::conv2d(&g, x, w, b)
        },
    );

    let g = shape(2, (5, 6, 3), (5, 6, 3), (3, 3), (1, 1), (1, 1));
    let mut dw = DepthwiseConv2d::<3, 3, 1, 1, 5, 6>::zeros();
    randomize(&mut dw, 4);
    let x: Image<2, 5, 6, 3> = random(5);
    let c: Image<2, 5, 6, 3> = random(6);
    gradcheck_layer(
        "DepthwiseConv2d 3 k3 p1",
        &mut dw,
        &x,
        &c,
        Mode::Train,
        |t, x| {
            let (w, b) = split(t, 3);
            reference::depthwise(&g, x, w, b)
        },
    );

    let g = shape(2, (1, 11, 2), (1, 6, 3), (1, 3), (1, 2), (0, 1));
    let mut c1 = Conv1d::<2, 3, 3, 2, 1, 6>::zeros();
    randomize(&mut c1, 7);
    let x: Signal<2, 11, 2> = random(8);
    let c: Signal<2, 6, 3> = random(9);
    gradcheck_layer(
        "Conv1d 2→3 k3 s2 p1",
        &mut c1,
        &x,
        &c,
        Mode::Train,
        |t, x| {
            let (w, b) = split(t, 3);
            reference::conv2d(&g, x, w, b)
        },
    );
}

#[test]
fn pooling_matches_finite_differences() {
    // Overlapping windows (3×3, stride 2); random inputs have no ties, so the maximum
    // is differentiable at the test point.
    let g = shape(2, (7, 7, 2), (3, 3, 2), (3, 3), (2, 2), (0, 0));
    let x: Image<2, 7, 7, 2> = random(10);
    let c: Image<2, 3, 3, 2> = random(11);
    let max = |g: ConvShape| move |_: &[f64], x: &[f64]| reference::max_pool(&g, x);
    gradcheck_layer(
        "MaxPool2d k3 s2",
        &mut MaxPool2d::<3, 2, 3, 3>,
        &x,
        &c,
        Mode::Train,
        max(g),
    );
    gradcheck_layer(
        "AvgPool2d k3 s2",
        &mut AvgPool2d::<3, 2, 3, 3>,
        &x,
        &c,
        Mode::Train,
        |_, x| reference::avg_pool(&g, x),
    );

    let g = shape(2, (1, 10, 3), (1, 5, 3), (1, 2), (1, 2), (0, 0));
    let x: Signal<2, 10, 3> = random(12);
    let c: Signal<2, 5, 3> = random(13);
    gradcheck_layer(
        "MaxPool1d k2",
        &mut MaxPool1d::<2, 2, 5>,
        &x,
        &c,
        Mode::Train,
        max(g),
    );

    let x: Image<2, 3, 4, 5> = random(14);
    let c: Batch<2, 5> = random(15);
    gradcheck_layer(
        "GlobalAvgPool",
        &mut GlobalAvgPool,
        &x,
        &c,
        Mode::Train,
        |_, x| reference::global_avg_pool(2, 12, 5, x),
    );
    let c: Batch<2, 60> = random(16);
    gradcheck_layer(
        "Flatten",
        &mut Flatten::<60>,
        &x,
        &c,
        Mode::Train,
        |_, x| x.to_vec(),
    );
}
