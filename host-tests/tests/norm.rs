//! Batch, group, layer and instance normalisation, and residual blocks with a
//! projection: gradients against finite differences of `f64` references written from
//! the definitions (PyTorch's `BatchNorm`, `GroupNorm`, `LayerNorm`), running
//! statistics, evaluation mode, and the trainer's handling of non-trainable state.

use host_tests::layer_check::{assert_close_rel, gradcheck_layer, to_f64};
use microtrain::layers::{
    BatchNorm, Dense, GroupNorm, InstanceNorm, Layer, LayerNorm, Mode, Params, ProjectedResidual,
    Relu,
};
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Image, Seq, Tensor, Zeroed};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg32;

const EPS: f64 = 1e-5;

fn fill<T: Tensor>(t: &mut T, rng: &mut Pcg32, lo: f32, hi: f32) {
    for v in t.as_mut_slice() {
        *v = lo + (hi - lo) * ((rng.next_u32() >> 8) as f32 / 16_777_216.0);
    }
}

fn random<T: Tensor>(seed: u64, lo: f32, hi: f32) -> T {
    let mut t = T::ZERO;
    fill(&mut t, &mut Pcg32::seed_from_u64(seed), lo, hi);
    t
}

/// `f64` reference of normalisation over sets: `set(r, c)` names each element's set,
/// `theta = [γ; β]` per channel; rows ≥ `real` are normalised with the statistics of
/// the real rows (the layer's choice for padding rows, which carry no gradient).
fn ref_norm(
    theta: &[f64],
    x: &[f64],
    channels: usize,
    real: usize,
    sets: usize,
    set: impl Fn(usize, usize) -> usize,
) -> Vec<f64> {
    let (gamma, beta) = theta.split_at(channels);
    let (mut sum, mut n) = (vec![0.0; sets], vec![0.0; sets]);
    for (i, v) in x.iter().enumerate().take(real * channels) {
        let k = set(i / channels, i % channels);
        sum[k] += v;
        n[k] += 1.0;
    }
    let mean: Vec<f64> = sum.iter().zip(&n).map(|(s, n)| s / n).collect();
    let mut sq = vec![0.0; sets];
    for (i, v) in x.iter().enumerate().take(real * channels) {
        let k = set(i / channels, i % channels);
        sq[k] += (v - mean[k]) * (v - mean[k]);
    }
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let (r, c) = (i / channels, i % channels);
            let k = set(r, c);
            let var = sq[k] / n[k];
            gamma[c] * (v - mean[k]) / (var + EPS).sqrt() + beta[c]
        })
        .collect()
}

fn random_affine<P: Params>(layer: &mut P, seed: u64) {
    let mut rng = Pcg32::seed_from_u64(seed);
    layer.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = 0.5 + (rng.next_u32() >> 8) as f32 / 16_777_216.0;
        }
    });
}

#[test]
fn batch_norm_on_features_matches_finite_differences() {
    let mut bn = BatchNorm::<5>::new();
    random_affine(&mut bn, 1);
    let x: Batch<8, 5> = random(2, -2.0, 2.0);
    let c: Batch<8, 5> = random(3, -1.0, 1.0);
    gradcheck_layer(
        "BatchNorm<5> on Batch<8, 5>",
        &mut bn,
        &x,
        &c,
        Mode::Train,
        |t, x| ref_norm(t, x, 5, 8, 5, |_, c| c),
    );
}

#[test]
fn batch_norm_on_images_matches_finite_differences() {
    let mut bn = BatchNorm::<3>::new();
    random_affine(&mut bn, 4);
    let x: Image<2, 3, 4, 3> = random(5, -2.0, 2.0);
    let c: Image<2, 3, 4, 3> = random(6, -1.0, 1.0);
    gradcheck_layer(
        "BatchNorm<3> on Image<2, 3, 4, 3>",
        &mut bn,
        &x,
        &c,
        Mode::Train,
        |t, x| ref_norm(t, x, 3, 24, 3, |_, c| c),
    );
}

#[test]
fn group_norm_variants_match_finite_differences() {
    let x: Image<2, 3, 3, 4> = random(7, -2.0, 2.0);
    let c: Image<2, 3, 3, 4> = random(8, -1.0, 1.0);
    let mut gn = GroupNorm::<2, 4>::new();
    random_affine(&mut gn, 9);
    gradcheck_layer("GroupNorm<2, 4>", &mut gn, &x, &c, Mode::Train, |t, x| {
        ref_norm(t, x, 4, 18, 4, |r, c| r / 9 * 2 + c / 2)
    });
    let mut inorm = InstanceNorm::<4>::new();
    random_affine(&mut inorm, 10);
    gradcheck_layer("InstanceNorm<4>", &mut inorm, &x, &c, Mode::Eval, |t, x| {
        ref_norm(t, x, 4, 18, 8, |r, c| r / 9 * 4 + c)
    });
    let xf: Batch<4, 6> = random(11, -2.0, 2.0);
    let cf: Batch<4, 6> = random(12, -1.0, 1.0);
    let mut ln = LayerNorm::<6>::new();
    random_affine(&mut ln, 13);
    gradcheck_layer("LayerNorm<6>", &mut ln, &xf, &cf, Mode::Train, |t, x| {
        ref_norm(t, x, 6, 4, 4, |r, _| r)
    });
}

#[test]
fn batch_norm_eval_uses_running_statistics() {
    let mut bn = BatchNorm::<4>::new();
    random_affine(&mut bn, 14);
    bn.running_mean.0 = [0.5, -0.25, 1.0, 0.0];
    bn.running_var.0 = [2.0, 0.5, 1.0, 4.0];
    let x: Batch<3, 4> = random(15, -2.0, 2.0);
    let c: Batch<3, 4> = random(16, -1.0, 1.0);
    let (rm, rv) = (to_f64(&bn.running_mean.0), to_f64(&bn.running_var.0));
    gradcheck_layer("BatchNorm<4> eval", &mut bn, &x, &c, Mode::Eval, |t, x| {
        let (gamma, beta) = t.split_at(4);
        x.iter()
            .enumerate()
            .map(|(i, v)| {
                let c = i % 4;
                gamma[c] * (v - rm[c]) / (rv[c] + EPS).sqrt() + beta[c]
            })
            .collect()
    });
}

#[test]
fn batch_norm_running_statistics_follow_pytorch_update() {
    // running ← 0.1·batch + 0.9·running, with the unbiased variance, after each commit.
    let mut bn = BatchNorm::<2>::new();
    let mut rm = [0.0f64; 2];
    let mut rv = [1.0f64; 2];
    for step in 0..3 {
        let x: Image<2, 2, 2, 2> = random(20 + step, -3.0, 3.0);
        let mut cache = Zeroed::ZERO;
        bn.forward(
            &x,
            &mut cache,
            &mut microtrain::layers::Context::new(Mode::Train, 0),
        );
        <BatchNorm<2> as Layer<Image<2, 2, 2, 2>>>::commit(&mut bn, &cache);
        let xs = to_f64(x.as_slice());
        for c in 0..2 {
            let vals: Vec<f64> = xs.iter().skip(c).step_by(2).copied().collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let unbiased = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            rm[c] = 0.1 * mean + 0.9 * rm[c];
            rv[c] = 0.1 * unbiased + 0.9 * rv[c];
        }
        assert_close_rel("running_mean", &bn.running_mean.0, &rm, 1e-6, 1e-7);
        assert_close_rel("running_var", &bn.running_var.0, &rv, 1e-6, 1e-7);
    }
    // An evaluation pass commits nothing.
    let before = bn;
    let mut cache = Zeroed::ZERO;
    let x: Image<2, 2, 2, 2> = random(30, -3.0, 3.0);
    bn.forward(
        &x,
        &mut cache,
        &mut microtrain::layers::Context::new(Mode::Eval, 0),
    );
    <BatchNorm<2> as Layer<Image<2, 2, 2, 2>>>::commit(&mut bn, &cache);
    assert_eq!(bn, before);
}

#[test]
fn batch_norm_uses_only_real_rows_of_a_partial_batch() {
    // 5 samples in batches of 4: the second batch has 1 real row and 3 padding rows.
    // With B = 1 per channel value, n = 1 and the running statistics must not move.
    type Net = Seq![Dense<2, 3>, BatchNorm<3>, Dense<3, 1>];
    let mut t: Trainer<Net, Mse, Sgd, 4, 2, 1> = Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Dense::zeros()],
        Mse,
        Sgd::new(0.0),
        0,
    );
    microtrain::init::init_params(
        &mut t.model,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(1),
    );
    let xs = [0.5, -1.0, 1.5, 2.0, -0.5, 0.25, 1.0, 1.0, -2.0, 0.75];
    let ys = [1.0, 0.0, 1.0, 0.0, 1.0];
    let data = Dataset::new(&xs, 2, &ys, 1).unwrap();
    // Batch statistics of the four real rows of the first batch, by hand.
    let first: Vec<usize> = {
        let mut rng = Pcg32::seed_from_u64(5);
        let order = microtrain::train::Permutation::new(5, &mut rng);
        (0..4).map(|i| order.get(i)).collect()
    };
    let w = t.model.0.weight;
    let b = t.model.0.bias;
    let h: Vec<[f64; 3]> = first
        .iter()
        .map(|&i| {
            core::array::from_fn(|o| {
                f64::from(b.0[o])
                    + (0..2)
                        .map(|k| f64::from(w.0[o][k]) * f64::from(xs[2 * i + k]))
                        .sum::<f64>()
            })
        })
        .collect();
    let mut rng = Pcg32::seed_from_u64(5);
    t.epoch(&data, &mut rng).unwrap();
    let bn = &t.model.1 .0;
    for c in 0..3 {
        let mean = h.iter().map(|r| r[c]).sum::<f64>() / 4.0;
        let var = h.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / 3.0;
        // Only the first batch moved the statistics: the last has a single row.
        assert!(
            (f64::from(bn.running_mean.0[c]) - 0.1 * mean).abs() < 1e-5,
            "mean {c}"
        );
        assert!(
            (f64::from(bn.running_var.0[c]) - (0.1 * var + 0.9)).abs() < 1e-5,
            "var {c}"
        );
    }
}

#[test]
fn a_refused_step_leaves_running_statistics_untouched() {
    type Net = Seq![Dense<2, 3>, BatchNorm<3>, Dense<3, 1>];
    let mut t: Trainer<Net, Mse, Sgd, 4, 2, 1> = Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Dense::zeros()],
        Mse,
        Sgd::new(1e38),
        0,
    );
    microtrain::init::init_params(
        &mut t.model,
        microtrain::init::Init::XavierUniform,
        &mut Pcg32::seed_from_u64(2),
    );
    let x: Batch<4, 2> = random(40, -1.0, 1.0);
    let y: Batch<4, 1> = random(41, 1e3, 2e3);
    let before = t.model;
    // A learning rate of 1e38 makes the update overflow: the step is refused.
    assert!(t.train_step(&x, &y).is_err());
    assert_eq!(t.model.1 .0.running_mean, before.1 .0.running_mean);
    assert_eq!(t.model.1 .0.running_var, before.1 .0.running_var);
    // An accepted step moves them.
    t.optimizer = Sgd::new(0.0);
    t.train_step(&x, &y).unwrap();
    assert_ne!(t.model.1 .0.running_mean, before.1 .0.running_mean);
}

#[test]
fn buffers_are_visited_in_order_and_counted() {
    type Net = Seq![Dense<2, 3>, BatchNorm<3>, Relu, Dense<3, 4>, BatchNorm<4>];
    let mut net: Net = seq![
        Dense::zeros(),
        BatchNorm::new(),
        Relu,
        Dense::zeros(),
        BatchNorm::new()
    ];
    assert_eq!(Net::BUFFERS, 2 * 3 + 2 * 4);
    assert_eq!(Net::COUNT, (2 * 3 + 3) + 2 * 3 + (3 * 4 + 4) + 2 * 4);
    let mut seen = Vec::new();
    net.visit_buffers(&mut |b| seen.push((b.name, b.value.len(), b.value[0])));
    assert_eq!(
        seen,
        [
            ("running_mean", 3, 0.0),
            ("running_var", 3, 1.0),
            ("running_mean", 4, 0.0),
            ("running_var", 4, 1.0)
        ]
    );
    // Initialisation sets the scales γ to one and leaves the buffers alone.
    net.1 .0.gamma.0 = [5.0; 3];
    microtrain::init::init_params(
        &mut net,
        microtrain::init::Init::HeNormal,
        &mut Pcg32::seed_from_u64(3),
    );
    assert_eq!(net.1 .0.gamma.0, [1.0; 3]);
    assert_eq!(net.1 .0.beta.0, [0.0; 3]);
}

#[test]
fn projected_residual_matches_finite_differences() {
    // y = P(x) + F(x) with F = Dense–ReLU–Dense and P = Dense: ∂J/∂x sums both paths.
    type Block = ProjectedResidual<Seq![Dense<3, 4>, Relu, Dense<4, 5>], Dense<3, 5>>;
    let mut block: Block = ProjectedResidual {
        body: seq![Dense::zeros(), Relu, Dense::zeros()],
        projection: Dense::zeros(),
    };
    let mut rng = Pcg32::seed_from_u64(50);
    block.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = (rng.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0;
        }
    });
    let x: Batch<3, 3> = random(51, -1.0, 1.0);
    let c: Batch<3, 5> = random(52, -1.0, 1.0);
    let dense = |t: &[f64], x: &[f64], i: usize, o: usize| -> Vec<f64> {
        let (w, b) = (&t[..i * o], &t[i * o..i * o + o]);
        x.chunks(i)
            .flat_map(|r| {
                (0..o).map(move |j| b[j] + (0..i).map(|k| w[j * i + k] * r[k]).sum::<f64>())
            })
            .collect()
    };
    gradcheck_layer(
        "ProjectedResidual",
        &mut block,
        &x,
        &c,
        Mode::Train,
        |t, x| {
            let h: Vec<f64> = dense(&t[..16], x, 3, 4)
                .iter()
                .map(|v| v.max(0.0))
                .collect();
            let f = dense(&t[16..41], &h, 4, 5);
            let p = dense(&t[41..], x, 3, 5);
            f.iter().zip(&p).map(|(a, b)| a + b).collect()
        },
    );
}

#[test]
fn batch_norm_on_a_partial_batch_ignores_the_padding_rows() {
    // Batch<4, 3> with 2 real rows must give, to the bit, what Batch<2, 3> gives on
    // those rows, whatever the padding rows hold; padding rows get a zero gradient.
    use microtrain::layers::Context;
    let mut padded_bn = BatchNorm::<3>::new();
    random_affine(&mut padded_bn, 60);
    let mut real_bn = padded_bn;
    let x: Batch<4, 3> = random(61, -2.0, 2.0);
    let dy: Batch<4, 3> = random(62, -1.0, 1.0);
    let mut x2 = Batch::<2, 3>::zeros();
    let mut dy2 = Batch::<2, 3>::zeros();
    x2.0.copy_from_slice(&x.0[..2]);
    dy2.0.copy_from_slice(&dy.0[..2]);

    let mut ctx = Context::new(Mode::Train, 0);
    ctx.rows = 2;
    let mut padded = Zeroed::ZERO;
    padded_bn.forward(&x, &mut padded, &mut ctx);
    let mut dx = Batch::<4, 3>::zeros();
    dx.as_mut_slice().fill(f32::NAN);
    padded_bn.backward(&x, &mut padded, &dy, Some(&mut dx));
    <BatchNorm<3> as Layer<Batch<4, 3>>>::commit(&mut padded_bn, &padded);

    let mut real = Zeroed::ZERO;
    real_bn.forward(&x2, &mut real, &mut Context::new(Mode::Train, 0));
    let mut dx2 = Batch::<2, 3>::zeros();
    real_bn.backward(&x2, &mut real, &dy2, Some(&mut dx2));
    <BatchNorm<3> as Layer<Batch<2, 3>>>::commit(&mut real_bn, &real);

    let y = <BatchNorm<3> as Layer<Batch<4, 3>>>::output(&padded);
    let y2 = <BatchNorm<3> as Layer<Batch<2, 3>>>::output(&real);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(y.0[..2].as_flattened()), bits(y2.as_slice()));
    assert_eq!(bits(dx.0[..2].as_flattened()), bits(dx2.as_slice()));
    assert_eq!(dx.0[2..].as_flattened(), &[0.0; 6]);
    assert_eq!(padded_bn, real_bn, "gradients and running statistics");
}
