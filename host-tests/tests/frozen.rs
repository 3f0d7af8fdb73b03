//! Frozen layers and bias-only fine-tuning (`layers::{FrozenDense, BiasOnly,
//! extract_features}`): the same arithmetic as `Dense` bit for bit, no gradient or
//! optimizer state for what is frozen (trainer sizes against byte counts written by
//! hand), bias-only SGD against an f64 re-implementation, the feature-extractor idiom
//! against a frozen prefix inside the trainer, and fine-tuning that helps on shifted data.

use core::mem::size_of;
use host_tests::check::assert_bits_eq;
use host_tests::layer_check::{flat_grads, flat_params};
use host_tests::Rng;
use microtrain::layers::{
    extract_features, BiasOnly, Context, Dense, Dropout, FrozenDense, Layer, Mode, ParamKind,
    Params, Relu, Zeroed,
};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig, Sgd};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Batch, Error, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

const F32: usize = 4;

fn random_dense<const IN: usize, const OUT: usize>(rng: &mut Rng) -> Dense<IN, OUT> {
    let mut d = Dense::zeros();
    d.weight
        .as_mut_slice()
        .copy_from_slice(&rng.uniform_vec(IN * OUT, -1.0, 1.0));
    d.bias.0.copy_from_slice(&rng.uniform_vec(OUT, -1.0, 1.0));
    d
}

fn random_batch<const B: usize, const N: usize>(rng: &mut Rng) -> Batch<B, N> {
    let mut x = Batch::zeros();
    x.as_mut_slice()
        .copy_from_slice(&rng.uniform_vec(B * N, -2.0, 2.0));
    x
}

/// Forward, `∂J/∂x` (and for `BiasOnly` the bias gradient) of the frozen layers equal
/// `Dense`'s bit for bit, at odd sizes that exercise the SIMD tails.
#[test]
fn frozen_layers_compute_what_dense_computes_bit_for_bit() {
    const B: usize = 3;
    const IN: usize = 11;
    const OUT: usize = 9;
    let mut rng = Rng::for_case("frozen bits", &[B, IN, OUT]);
    let mut dense: Dense<IN, OUT> = random_dense(&mut rng);
    let x: Batch<B, IN> = random_batch(&mut rng);
    let dy: Batch<B, OUT> = random_batch(&mut rng);
    let mut ctx = Context::new(Mode::Train, 0);

    let mut y_dense = Batch::<B, OUT>::ZERO;
    dense.forward(&x, &mut y_dense, &mut ctx);
    let mut dx_dense = Batch::<B, IN>::ZERO;
    // The backward pass writes dy over the cached output: keep the output.
    let mut cache = y_dense;
    dense.backward(&x, &mut cache, &dy, Some(&mut dx_dense));

    let mut frozen = FrozenDense::from(&dense);
    let mut y = Batch::<B, OUT>::ZERO;
    frozen.forward(&x, &mut y, &mut ctx);
    assert_bits_eq(y.as_slice(), y_dense.as_slice(), "FrozenDense forward");
    let mut dx = Batch::<B, IN>::ZERO;
    frozen.backward(&x, &mut y, &dy, Some(&mut dx));
    assert_bits_eq(dx.as_slice(), dx_dense.as_slice(), "FrozenDense dx");
    frozen.backward(&x, &mut y, &dy, None);
    assert_eq!(
        frozen,
        FrozenDense::from(&dense),
        "backward changes nothing"
    );

    let mut borrowed = &frozen;
    let mut y = Batch::<B, OUT>::ZERO;
    borrowed.forward(&x, &mut y, &mut ctx);
    assert_bits_eq(y.as_slice(), y_dense.as_slice(), "&FrozenDense forward");
    let mut dx = Batch::<B, IN>::ZERO;
    borrowed.backward(&x, &mut y, &dy, Some(&mut dx));
    assert_bits_eq(dx.as_slice(), dx_dense.as_slice(), "&FrozenDense dx");

    let weight = dense.weight;
    let mut tuned = BiasOnly::new(&weight, dense.bias);
    let mut y = Batch::<B, OUT>::ZERO;
    tuned.forward(&x, &mut y, &mut ctx);
    assert_bits_eq(y.as_slice(), y_dense.as_slice(), "BiasOnly forward");
    let mut dx = Batch::<B, IN>::ZERO;
    tuned.backward(&x, &mut y, &dy, Some(&mut dx));
    assert_bits_eq(dx.as_slice(), dx_dense.as_slice(), "BiasOnly dx");
    assert_bits_eq(
        &tuned.bias_grad.0,
        &dense.bias_grad.0,
        "BiasOnly bias gradient",
    );

    let thawed = frozen.thaw();
    assert_eq!((thawed.weight, thawed.bias), (dense.weight, dense.bias));
    assert_eq!(flat_grads(&mut frozen.thaw()), vec![0.0; IN * OUT + OUT]);
}

/// What the optimizer sees: nothing of a frozen layer, the biases alone of a
/// `BiasOnly`.
#[test]
fn frozen_layers_show_no_weights_to_optimizers() {
    assert_eq!(<FrozenDense<64, 32> as Params>::COUNT, 0);
    assert_eq!(<&FrozenDense<64, 32> as Params>::COUNT, 0);
    assert_eq!(<BiasOnly<'_, 64, 32> as Params>::COUNT, 32);
    type Net<'w> = Seq![&'w FrozenDense<64, 32>, Relu, BiasOnly<'w, 32, 10>];
    assert_eq!(<Net<'_> as Params>::COUNT, 10);

    let mut frozen = FrozenDense::<3, 2>::from(&Dense::zeros());
    let mut seen = 0;
    frozen.visit(&mut |_| seen += 1);
    assert_eq!(seen, 0);

    let weight = Matrix([[1.0; 3]; 2]);
    let mut tuned = BiasOnly::new(&weight, microtrain::Vector([1.0, 2.0]));
    tuned.bias_grad.0 = [5.0, 6.0];
    let mut kinds = Vec::new();
    tuned.visit(&mut |p| kinds.push((p.kind, p.value.to_vec(), p.grad.to_vec())));
    assert_eq!(kinds, [(ParamKind::Bias, vec![1.0, 2.0], vec![5.0, 6.0])]);
    tuned.zero_grad();
    assert_eq!(tuned.bias_grad.0, [0.0, 0.0]);
    assert_eq!(flat_params(&mut tuned), [1.0, 2.0]);
}

// ---------------------------------------------------------------------------------
// Trainer sizes, 16-8-4 network, B = 4, cross-entropy, Adam: counted by hand
// ---------------------------------------------------------------------------------

type FullNet = Seq![Dense<16, 8>, Relu, Dense<8, 4>];
type FrozenFirst = Seq![&'static FrozenDense<16, 8>, Relu, Dense<8, 4>];
type BiasNet = Seq![BiasOnly<'static, 16, 8>, Relu, BiasOnly<'static, 8, 4>];
type Full = Trainer<FullNet, CrossEntropy, Adam<{ 16 * 8 + 8 + 8 * 4 + 4 }>, 4, 16, 4>;
type FrozenFirstT = Trainer<FrozenFirst, CrossEntropy, Adam<{ 8 * 4 + 4 }>, 4, 16, 4>;
type HeadOnly = Trainer<Dense<8, 4>, CrossEntropy, Adam<{ 8 * 4 + 4 }>, 4, 8, 4>;
type BiasOnlyT = Trainer<BiasNet, CrossEntropy, Adam<{ 8 + 4 }>, 4, 16, 4>;

const PTR: usize = size_of::<usize>();

/// `Dense<IN, OUT>`: weight, bias and both gradients in `f32`, and its 8-byte penalty.
const fn dense_bytes(inputs: usize, outputs: usize) -> usize {
    2 * (inputs * outputs + outputs) * F32 + 8
}

/// Adam keeps two moments per trainable scalar (first, second; `Adam<P>` has no
/// AMSGrad buffer).
const fn adam_state(params: usize) -> usize {
    2 * params * F32
}

/// Freezing the first layer in place (borrowed from flash) removes its weights, bias,
/// gradients and penalty (a pointer remains) and Adam's state for its 136 scalars.
#[test]
fn freezing_the_first_layer_removes_its_gradients_and_optimizer_state() {
    let removed = dense_bytes(16, 8) - PTR + adam_state(16 * 8 + 8);
    assert_eq!(removed, 1096 - PTR + 1088);
    assert_eq!(Full::BYTES - FrozenFirstT::BYTES, removed);
    assert_eq!(Full::PARAM_BYTES - FrozenFirstT::PARAM_BYTES, 2 * 136 * F32);
    assert_eq!(Full::ACTIVATION_BYTES, FrozenFirstT::ACTIVATION_BYTES);
}

/// Running the frozen layer outside the trainer (the feature-extractor idiom) also
/// removes every activation before the head: the first layer's output `h₁` and the
/// ReLU output `h₂` (4×8 floats each; their gradients are written over them), and the
/// input batch shrinks from 4×16 to 4×8 features.
#[test]
fn a_head_trainer_keeps_no_activation_of_the_frozen_front() {
    let activations = (2 * 4 * 8 + (4 * 16 - 4 * 8)) * F32;
    assert_eq!(activations, 384);
    assert_eq!(
        FrozenFirstT::ACTIVATION_BYTES - HeadOnly::ACTIVATION_BYTES,
        activations
    );
    assert_eq!(FrozenFirstT::BYTES - HeadOnly::BYTES, activations + PTR);
}

/// Bias-only: both layers keep only their biases and bias gradients (and a pointer to
/// their weights), Adam only 12 scalars' moments; activations as in full training.
#[test]
fn bias_only_trainer_keeps_biases_alone() {
    let full_layers = dense_bytes(16, 8) + dense_bytes(8, 4);
    let bias_layers = (PTR + 2 * 8 * F32) + (PTR + 2 * 4 * F32);
    let removed = full_layers - bias_layers + adam_state(172) - adam_state(12);
    assert_eq!(Full::BYTES - BiasOnlyT::BYTES, removed);
    assert_eq!(BiasOnlyT::PARAM_BYTES, 2 * 12 * F32);
    // The step count (4 bytes) and the recorded bounds of m and v (two floats).
    assert_eq!(BiasOnlyT::OPTIMIZER_BYTES, adam_state(12) + 4 + 2 * F32);
    assert_eq!(Full::ACTIVATION_BYTES, BiasOnlyT::ACTIVATION_BYTES);
}

// ---------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------

/// `n` samples of `D` values in four Gaussian-ish clusters (sums of uniforms), label =
/// cluster; `offset` is added to every input (the "shifted sensor").
fn clusters<const D: usize>(n: usize, offset: f32, rng: &mut Rng) -> (Vec<f32>, Vec<u32>) {
    let mut centres = Rng::new(99);
    let centres: Vec<f32> = (0..4 * D).map(|_| centres.uniform(-1.0, 1.0)).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % 4;
        for d in 0..D {
            let noise = (0..3).map(|_| rng.uniform(-0.35, 0.35)).sum::<f32>();
            x.push(centres[class * D + d] + noise + offset);
        }
        y.push(class as u32);
    }
    (x, y)
}

/// A bias-only trainer under plain SGD gives the biases an f64 re-implementation
/// (forward `z = W x + b`, softmax, `∂J/∂b = mean(p − onehot)`) computes, to a
/// tolerance tight for 20 steps, and leaves the weights alone.
#[test]
fn bias_only_sgd_matches_an_f64_reference() {
    const B: usize = 5;
    const IN: usize = 6;
    const OUT: usize = 3;
    let mut rng = Rng::for_case("bias-only f64", &[B, IN, OUT]);
    let dense: Dense<IN, OUT> = random_dense(&mut rng);
    let lr = 0.3;
    let mut t: Trainer<BiasOnly<'_, IN, OUT>, CrossEntropy, Sgd, B, IN, OUT> = Trainer::new(
        BiasOnly::from(&dense),
        CrossEntropy::default(),
        Sgd::new(lr),
        0,
    );

    let w: Vec<f64> = dense
        .weight
        .as_slice()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let mut b: Vec<f64> = dense.bias.0.iter().map(|&v| f64::from(v)).collect();
    for step in 0..20 {
        let x: Batch<B, IN> = random_batch(&mut rng);
        let labels: Vec<u32> = (0..B).map(|_| rng.below(OUT as u64) as u32).collect();
        let mut targets = [0u32; B];
        targets.copy_from_slice(&labels);
        t.train_step(&x, &targets)
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        let mut grad = [0.0f64; OUT];
        for (row, &label) in x.0.iter().zip(&labels) {
            let z: Vec<f64> = (0..OUT)
                .map(|o| {
                    b[o] + (0..IN)
                        .map(|i| w[o * IN + i] * f64::from(row[i]))
                        .sum::<f64>()
                })
                .collect();
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            for (o, (g, e)) in grad.iter_mut().zip(&e).enumerate() {
                let onehot = if o == label as usize { 1.0 } else { 0.0 };
                *g += (e / s - onehot) / B as f64;
            }
        }
        for (b, g) in b.iter_mut().zip(grad) {
            *b -= f64::from(lr) * g;
        }
    }
    for (o, (&got, &want)) in t.model.bias.0.iter().zip(&b).enumerate() {
        let got = f64::from(got);
        assert!(
            (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "bias {o}: {got} vs f64 {want}"
        );
    }
    assert_eq!(
        *t.model.weight, dense.weight,
        "the frozen weight is untouched"
    );
}

/// Bias-only training is full training with the weights' step size zero: a `Dense`
/// trained by the same SGD steps, its weights put back after each, ends with the same
/// biases bit for bit.
#[test]
fn bias_only_equals_dense_with_weights_held_still() {
    const B: usize = 4;
    let mut rng = Rng::for_case("bias-only vs dense", &[B]);
    let pretrained: Seq![Dense<7, 5>, Relu, Dense<5, 3>] =
        seq![random_dense(&mut rng), Relu, random_dense(&mut rng)];
    let mut full: Trainer<Seq![Dense<7, 5>, Relu, Dense<5, 3>], CrossEntropy, Sgd, B, 7, 3> =
        Trainer::new(pretrained, CrossEntropy::default(), Sgd::new(0.2), 0);
    let mut tuned: Trainer<
        Seq![BiasOnly<'_, 7, 5>, Relu, BiasOnly<'_, 5, 3>],
        CrossEntropy,
        Sgd,
        B,
        7,
        3,
    > = Trainer::new(
        seq![
            BiasOnly::from(&pretrained.0),
            Relu,
            BiasOnly::from(&pretrained.1 .1)
        ],
        CrossEntropy::default(),
        Sgd::new(0.2),
        0,
    );
    for _ in 0..15 {
        let x: Batch<B, 7> = random_batch(&mut rng);
        let mut y = [0u32; B];
        y.iter_mut().for_each(|l| *l = rng.below(3) as u32);
        let a = full.train_step(&x, &y).expect("finite");
        let b = tuned.train_step(&x, &y).expect("finite");
        assert_eq!(a.data.to_bits(), b.data.to_bits());
        full.model.0.weight = pretrained.0.weight;
        full.model.1 .1.weight = pretrained.1 .1.weight;
    }
    assert_bits_eq(&tuned.model.0.bias.0, &full.model.0.bias.0, "first biases");
    assert_bits_eq(
        &tuned.model.1 .1.bias.0,
        &full.model.1 .1.bias.0,
        "last biases",
    );
}

/// The feature-extractor idiom trains the head exactly as a trainer with the frozen
/// layer inside it does: same batches, same features, same head, bit for bit.
#[test]
fn training_on_extracted_features_equals_a_frozen_prefix_in_the_trainer() {
    const N: usize = 23; // not a multiple of B: a partial batch in each epoch
    const B: usize = 4;
    let mut rng = Rng::for_case("features vs prefix", &[N, B]);
    let body_dense: Dense<6, 5> = random_dense(&mut rng);
    let head: Dense<5, 4> = random_dense(&mut rng);
    let body = FrozenDense::from(&body_dense);
    let (x, y) = clusters::<6>(N, 0.0, &mut rng);

    let mut inside: Trainer<
        Seq![&FrozenDense<6, 5>, Relu, Dense<5, 4>],
        CrossEntropy,
        Adam<24>,
        B,
        6,
        4,
    > = Trainer::new(
        seq![&body, Relu, head],
        CrossEntropy::default(),
        Adam::new(AdamConfig::DEFAULT.with_lr(0.05)),
        0,
    );
    let mut outside: Trainer<Dense<5, 4>, CrossEntropy, Adam<24>, B, 5, 4> = Trainer::new(
        head,
        CrossEntropy::default(),
        Adam::new(AdamConfig::DEFAULT.with_lr(0.05)),
        0,
    );

    let mut features = vec![0.0; N * 5];
    let (mut xb, mut cache) = (Batch::<3, 6>::ZERO, Zeroed::ZERO); // another batch size on purpose
    let n = extract_features(&(&body, Relu), &x, &mut features, &mut xb, &mut cache).expect("ok");
    assert_eq!(n, N);
    let raw = Dataset::new(&x, 6, &y, 1).expect("ok");
    let feat = Dataset::new(&features, 5, &y, 1).expect("ok");
    let (mut r1, mut r2) = (Pcg32::seed_from_u64(4), Pcg32::seed_from_u64(4));
    for epoch in 0..5 {
        let a = inside.epoch(&raw, &mut r1).expect("finite");
        let b = outside.epoch(&feat, &mut r2).expect("finite");
        assert_eq!(a.data.to_bits(), b.data.to_bits(), "epoch {epoch} loss");
    }
    assert_bits_eq(
        &flat_params(&mut inside.model.1 .1),
        &flat_params(&mut outside.model),
        "head parameters",
    );
}

/// Each sample's features equal a one-sample forward of the body, the last partial
/// batch included; in evaluation mode dropout passes inputs through.
#[test]
fn extract_features_is_a_per_sample_eval_forward() {
    let mut rng = Rng::for_case("extract per sample", &[]);
    let body = FrozenDense::from(&random_dense::<5, 3>(&mut rng));
    let x = rng.uniform_vec(7 * 5, -1.0, 1.0);
    let mut features = vec![0.0; 7 * 3];
    let (mut xb, mut cache) = (Batch::<4, 5>::ZERO, Zeroed::ZERO);
    extract_features(&body, &x, &mut features, &mut xb, &mut cache).expect("ok");
    for s in 0..7 {
        let mut one = Batch::<1, 5>::ZERO;
        one.0[0].copy_from_slice(&x[s * 5..s * 5 + 5]);
        let mut y = Batch::<1, 3>::ZERO;
        body.forward(&one, &mut y, &mut Context::new(Mode::Eval, 0));
        assert_bits_eq(&features[s * 3..s * 3 + 3], &y.0[0], format!("sample {s}"));
    }

    let dropout = Dropout::new(0.5);
    let mut out = vec![0.0; 7 * 5];
    let (mut xb, mut cache) = (Batch::<2, 5>::ZERO, Zeroed::ZERO);
    extract_features(&dropout, &x, &mut out, &mut xb, &mut cache).expect("ok");
    assert_bits_eq(&out, &x, "dropout in eval mode");
}

#[test]
fn extract_features_refuses_bad_slices_and_leaves_features_alone() {
    let body = FrozenDense::<2, 1>::from(&Dense::zeros());
    let (mut xb, mut cache) = (Batch::<2, 2>::ZERO, Zeroed::ZERO);
    let mut features = [7.0; 3];
    let mut run = |x: &[f32], f: &mut [f32]| extract_features(&body, x, f, &mut xb, &mut cache);
    assert_eq!(
        run(&[], &mut features),
        Err(Error::Empty { what: "inputs" })
    );
    assert_eq!(
        run(&[1.0; 5], &mut features),
        Err(Error::Length {
            what: "inputs (a whole number of samples)",
            expected: 4,
            found: 5
        })
    );
    assert_eq!(
        run(&[1.0; 4], &mut features),
        Err(Error::Length {
            what: "features (F per sample)",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        run(&[1.0, 2.0, f32::NAN, 0.0, 1.0, 1.0], &mut features),
        Err(Error::NonFinite {
            what: "inputs",
            index: 2
        })
    );
    assert_eq!(features, [7.0; 3]);
}

/// Pretrain on clusters, shift every input by a constant, and fine-tune on the shifted
/// data: the last layer on frozen features, or the biases alone, both recover the
/// accuracy the shift cost.
#[test]
fn fine_tuning_recovers_accuracy_on_shifted_data() {
    const B: usize = 8;
    let mut rng = Rng::for_case("fine-tune shifted", &[]);
    let (x, y) = clusters::<8>(400, 0.0, &mut rng);
    let data = Dataset::new(&x, 8, &y, 1).expect("ok");
    let mut pre: Trainer<Seq![Dense<8, 16>, Relu, Dense<16, 4>], CrossEntropy, Adam<212>, B, 8, 4> =
        Trainer::new(
            seq![Dense::zeros(), Relu, Dense::zeros()],
            CrossEntropy::default(),
            Adam::new(AdamConfig::DEFAULT.with_lr(0.01)),
            0,
        );
    let mut prng = Pcg32::seed_from_u64(1);
    microtrain::init::init_params(&mut pre.model, microtrain::init::Init::HeNormal, &mut prng);
    for _ in 0..30 {
        pre.epoch(&data, &mut prng).expect("finite");
    }
    assert!(pre.evaluate(&data).expect("ok").accuracy.unwrap() > 0.95);

    let (sx, sy) = clusters::<8>(200, 0.8, &mut rng);
    let (tx, ty) = clusters::<8>(200, 0.8, &mut rng);
    let shifted = Dataset::new(&sx, 8, &sy, 1).expect("ok");
    let test = Dataset::new(&tx, 8, &ty, 1).expect("ok");
    let before = pre.evaluate(&test).expect("ok").accuracy.unwrap();

    let body = FrozenDense::from(&pre.model.0);
    let mut bias: Trainer<
        Seq![BiasOnly<'_, 8, 16>, Relu, BiasOnly<'_, 16, 4>],
        CrossEntropy,
        Adam<20>,
        B,
        8,
        4,
    > = Trainer::new(
        seq![
            BiasOnly::from(&pre.model.0),
            Relu,
            BiasOnly::from(&pre.model.1 .1)
        ],
        CrossEntropy::default(),
        Adam::new(AdamConfig::DEFAULT.with_lr(0.01)),
        0,
    );
    let mut head: Trainer<Dense<16, 4>, CrossEntropy, Adam<68>, B, 16, 4> = Trainer::new(
        pre.model.1 .1,
        CrossEntropy::default(),
        Adam::new(AdamConfig::DEFAULT.with_lr(0.01)),
        0,
    );
    let mut f_train = vec![0.0; 200 * 16];
    let mut f_test = vec![0.0; 200 * 16];
    let (mut xb, mut cache) = (Batch::<B, 8>::ZERO, Zeroed::ZERO);
    extract_features(&(&body, Relu), &sx, &mut f_train, &mut xb, &mut cache).expect("ok");
    extract_features(&(&body, Relu), &tx, &mut f_test, &mut xb, &mut cache).expect("ok");
    let f_shifted = Dataset::new(&f_train, 16, &sy, 1).expect("ok");
    let f_test = Dataset::new(&f_test, 16, &ty, 1).expect("ok");
    assert_eq!(
        head.evaluate(&f_test).expect("ok").accuracy.unwrap(),
        before
    );
    for _ in 0..20 {
        bias.epoch(&shifted, &mut prng).expect("finite");
        head.epoch(&f_shifted, &mut prng).expect("finite");
    }
    let bias_after = bias.evaluate(&test).expect("ok").accuracy.unwrap();
    let head_after = head.evaluate(&f_test).expect("ok").accuracy.unwrap();
    assert!(before < 0.8, "the shift must hurt: {before}");
    assert!(bias_after > 0.95, "bias-only: {before} -> {bias_after}");
    assert!(head_after > 0.95, "last layer: {before} -> {head_after}");
}
