//! `ReluDense`: a ReLU and a fully connected layer in one, keeping only the
//! pre-activation `h` where `(Relu, Dense)` keeps `h` and `a = max(0, h)`.
//!
//! - Layer by layer, against `(Relu, Dense)` with the same parameters: forward output,
//!   parameter gradients and `∂J/∂h` bit for bit, for batch sizes around the 4-row
//!   block (1, 3, 4, 5, 9, 32, 33), with `h` holding exact zeros, negative zeros, NaN
//!   and infinities; the in-place and two-buffer passes and `Input::Keep` agree.
//! - Trainers: `Seq![Dense<64, 32>, ReluDense<32, 10>]` and the firmware bench's
//!   `Seq![Dense<64, 32>, Relu, Dense<32, 10>]` end several Adam and SGD steps with the
//!   same parameters, bit for bit, on data with exact zeros in `h`.
//! - A gradient check against an `f64` reference and finite differences.
//! - The memory: the cache and `Trainer::ACTIVATION_BYTES` shrink by exactly `B·HIDDEN`
//!   floats.
//! - Compositions: a pre-activation residual block `Residual<ReluDense<N, N>>`, a
//!   `FrozenDense` front, a deeper MLP, `ReluDense` first (no `∂J/∂x`) and last (the
//!   loss gradient written over its output by the trainer).

use core::mem::size_of;
use host_tests::layer_check::{flat_grads, flat_params, gradcheck_layer};
use host_tests::Rng;
use microtrain::layers::{
    Context, Dense, FrozenDense, Input, Layer, Mode, Params, Relu, ReluDense, Residual,
};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd};
use microtrain::train::Trainer;
use microtrain::{seq, Batch, Matrix, Seq, Tensor, Zeroed};

/// Asserts that two slices hold the same bits, naming the first difference.
#[track_caller]
fn same_bits(ours: &[f32], old: &[f32], what: &str) {
    assert_eq!(ours.len(), old.len(), "{what}: length");
    for (i, (a, b)) in ours.iter().zip(old).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{what}: element {i} differs: ReluDense {a:e}, (Relu, Dense) {b:e}"
        );
    }
}

/// Random parameters on a grid of eighths in `[-1, 1)`: sums of products of grid
/// values are often exactly zero.
fn grid_params(model: &mut impl Params, rng: &mut Rng) {
    model.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = (rng.below(16) as f32 - 8.0) * 0.125;
        }
    });
}

/// Copies the parameters of `from` into `to` (same count, canonical order).
fn copy_params(from: &mut impl Params, to: &mut impl Params) {
    let values = flat_params(from);
    let mut at = 0;
    to.visit(&mut |p| {
        p.value.copy_from_slice(&values[at..at + p.value.len()]);
        at += p.value.len();
    });
    assert_eq!(at, values.len(), "parameter counts differ");
}

/// `h` on a grid of quarters in `[-2, 2)` (exact zeros), with `+0.0`, `-0.0`, NaN, `±∞`
/// and values just around zero planted when `special`.
fn fill_h<T: Tensor>(h: &mut T, rng: &mut Rng, special: bool) {
    for v in h.as_mut_slice() {
        *v = (rng.below(16) as f32 - 8.0) * 0.25;
    }
    if special {
        let plants = [
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
        ];
        let n = h.as_slice().len();
        for (k, &p) in plants.iter().enumerate() {
            h.as_mut_slice()[(k * 7 + 3) % n] = p;
        }
    }
}

/// One layer-level comparison: `ReluDense` against `(Relu, Dense)` with the same
/// parameters on input `h` and output gradient `dy`, in place (`Overwrite` and `Keep`)
/// and with the two-buffer `backward`.
fn compare_layer<const B: usize, const IN: usize, const OUT: usize>(seed: usize, special: bool) {
    let what = format!("B={B} IN={IN} OUT={OUT} seed {seed} special {special}");
    let mut rng = Rng::for_case("relu_dense layer", &[B, IN, OUT, seed]);
    let mut fused = ReluDense::<IN, OUT>::zeros();
    grid_params(&mut fused, &mut rng);
    // Nonzero old gradients: backward adds to them.
    fused.visit(&mut |p| p.grad.iter_mut().for_each(|g| *g = 0.375));
    let mut pair = (Relu, fused.0);
    let mut h = Batch::<B, IN>::ZERO;
    fill_h(&mut h, &mut rng, special);
    let mut dy = Batch::<B, OUT>::ZERO;
    for v in dy.as_mut_slice() {
        *v = rng.uniform(-1.0, 1.0);
    }
    let ctx = &mut Context::new(Mode::Train, 0);

    let mut fused_cache = Zeroed::ZERO;
    fused.forward(&h, &mut fused_cache, ctx);
    let mut pair_cache = Zeroed::ZERO;
    pair.forward(&h, &mut pair_cache, ctx);
    same_bits(
        fused_cache.as_slice(),
        <(Relu, Dense<IN, OUT>) as Layer<Batch<B, IN>>>::output(&pair_cache).as_slice(),
        &format!("{what}: output"),
    );

    let (mut fused_keep, mut fused_two) = (fused, fused);
    let mut two_cache = fused_cache;

    // In place, Overwrite.
    fused_cache = dy;
    let mut dh_fused = h;
    fused.backward_in_place(Input::Overwrite(&mut dh_fused), &mut fused_cache);
    let mut dh_pair = h;
    pair.backward(&h, &mut pair_cache, &dy, Some(&mut dh_pair));
    same_bits(
        &flat_grads(&mut fused),
        &flat_grads(&mut pair),
        &format!("{what}: parameter gradients"),
    );
    same_bits(
        dh_fused.as_slice(),
        dh_pair.as_slice(),
        &format!("{what}: ∂J/∂h"),
    );

    // Keep: same parameter gradients, h untouched.
    let mut keep_cache = dy;
    let h_before = h;
    fused_keep.backward_in_place(Input::Keep(&h), &mut keep_cache);
    same_bits(
        &flat_grads(&mut fused_keep),
        &flat_grads(&mut pair),
        &format!("{what}: Keep parameter gradients"),
    );
    same_bits(
        h.as_slice(),
        h_before.as_slice(),
        &format!("{what}: Keep wrote h"),
    );

    // Two buffers.
    let mut dh_two = Batch::<B, IN>::ZERO;
    fused_two.backward(&h, &mut two_cache, &dy, Some(&mut dh_two));
    same_bits(
        dh_two.as_slice(),
        dh_pair.as_slice(),
        &format!("{what}: two-buffer ∂J/∂h"),
    );
}

#[test]
fn layer_is_bit_identical_to_relu_then_dense() {
    for seed in 0..3 {
        for special in [false, true] {
            compare_layer::<1, 32, 10>(seed, special);
            compare_layer::<3, 7, 5>(seed, special);
            compare_layer::<4, 32, 10>(seed, special);
            compare_layer::<5, 16, 3>(seed, special);
            compare_layer::<9, 40, 17>(seed, special);
            compare_layer::<32, 32, 10>(seed, special);
            compare_layer::<33, 64, 32>(seed, special);
            compare_layer::<2, 1, 1>(seed, special);
        }
    }
}

/// The ReLU rule at the edges, written out by hand: `∂J/∂h` is `+0.0` where `h ≤ 0`
/// (`-0.0` included), `dy·W` where `h > 0` or `h` is NaN; the forward output of a NaN
/// `h` is NaN.
#[test]
fn mask_at_zero_negative_zero_and_nan() {
    let mut d = Dense::<4, 1>::zeros();
    d.weight = Matrix([[1.0, 2.0, -3.0, 4.0]]);
    let mut layer = ReluDense(d);
    let h: Batch<1, 4> = Matrix([[0.0, -0.0, f32::NAN, 0.5]]);
    let mut cache = Zeroed::ZERO;
    layer.forward(&h, &mut cache, &mut Context::new(Mode::Train, 0));
    assert!(cache.0[0][0].is_nan(), "relu(NaN) feeds NaN forward");
    cache = Matrix([[-2.0]]);
    let mut dh = h;
    layer.backward_in_place(Input::Overwrite(&mut dh), &mut cache);
    let bits: Vec<u32> = dh.as_slice().iter().map(|v| v.to_bits()).collect();
    assert_eq!(
        bits,
        [0.0f32, 0.0, 6.0, -8.0].map(f32::to_bits),
        "∂J/∂h: {:?}",
        dh.0
    );
}

/// Builds two trainers (fused and not) with the same initial parameters, runs `steps`
/// steps of the same batches on both and compares every parameter bit for bit.
macro_rules! train_both {
    ($opt:expr, $opt_ty:ty, $steps:expr, $label:expr) => {{
    type Old = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
    type New = Seq![Dense<64, 32>, ReluDense<32, 10>];
        let mut rng = Rng::for_case($label, &[]);
        let loss = CrossEntropy {
            label_smoothing: 0.0,
        };
        let mut old: Trainer<Old, CrossEntropy, $opt_ty, 32, 64, 10> =
            Trainer::new(seq![Dense::zeros(), Relu, Dense::zeros()], loss, $opt, 3);
        let mut new: Trainer<New, CrossEntropy, $opt_ty, 32, 64, 10> =
            Trainer::new(seq![Dense::zeros(), ReluDense::zeros()], loss, $opt, 3);
        grid_params(&mut old.model, &mut rng);
        copy_params(&mut old.model, &mut new.model);
        let mut zeros = 0;
        for step in 0..$steps {
            let mut x = Batch::<32, 64>::ZERO;
            for v in x.as_mut_slice() {
                // Quarters with many exact zeros (and negative zeros).
                *v = match rng.below(8) {
                    0 => 0.0,
                    1 => -0.0,
                    k => (k as f32 - 4.5) * 0.25,
                };
            }
            let labels: [u32; 32] = core::array::from_fn(|_| rng.below(10) as u32);
            // Count the exact zeros of h the step will see.
            let mut cache = <Old as Layer<Batch<32, 64>>>::Cache::ZERO;
            old.model
                .forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
            zeros += cache.first.as_slice().iter().filter(|v| **v == 0.0).count();
            let a = old.train_step(&x, &labels).unwrap();
            let b = new.train_step(&x, &labels).unwrap();
            assert_eq!(
                a.data.to_bits(),
                b.data.to_bits(),
                "{}: step {step} loss",
                $label
            );
            same_bits(
                &flat_params(&mut new.model),
                &flat_params(&mut old.model),
                &format!("{}: parameters after step {step}", $label),
            );
        }
        assert!(zeros > 0, "{}: no exact zero in h", $label);
    }};
}

#[test]
fn trainer_adam_is_bit_identical() {
    train_both!(
        Adam::new(AdamConfig::DEFAULT.with_lr(1e-2)),
        Adam<{ 64 * 32 + 32 + 32 * 10 + 10 }>,
        8,
        "adam"
    );
}

#[test]
fn trainer_sgd_is_bit_identical() {
    train_both!(Sgd::new(0.1), Sgd, 8, "sgd");
}

#[test]
fn gradients_match_finite_differences() {
    const B: usize = 5;
    const IN: usize = 6;
    const OUT: usize = 3;
    let mut rng = Rng::for_case("relu_dense gradcheck", &[]);
    let mut layer = ReluDense::<IN, OUT>::zeros();
    layer.visit(&mut |p| p.value.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0)));
    // Away from the kink: |h| ≥ 0.1, both signs.
    let mut x = Batch::<B, IN>::ZERO;
    for v in x.as_mut_slice() {
        let m = rng.uniform(0.1, 1.5);
        *v = if rng.below(2) == 0 { m } else { -m };
    }
    let mut c = Batch::<B, OUT>::ZERO;
    for v in c.as_mut_slice() {
        *v = rng.uniform(-1.0, 1.0);
    }
    let reference = |theta: &[f64], x: &[f64]| -> Vec<f64> {
        let (w, b) = theta.split_at(OUT * IN);
        let mut y = Vec::with_capacity(B * OUT);
        for r in 0..B {
            for o in 0..OUT {
                let dot: f64 = (0..IN)
                    .map(|i| w[o * IN + i] * x[r * IN + i].max(0.0))
                    .sum();
                y.push(b[o] + dot);
            }
        }
        y
    };
    gradcheck_layer("ReluDense", &mut layer, &x, &c, Mode::Train, reference);
}

#[test]
fn the_cache_keeps_one_hidden_buffer() {
    type Old = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
    type New = Seq![Dense<64, 32>, ReluDense<32, 10>];
    type Optim = Adam<{ 64 * 32 + 32 + 32 * 10 + 10 }>;
    let old = size_of::<<Old as Layer<Batch<32, 64>>>::Cache>();
    let new = size_of::<<New as Layer<Batch<32, 64>>>::Cache>();
    // h (32×32) and the logits (32×10): nothing else.
    assert_eq!(new, 4 * (32 * 32 + 32 * 10));
    assert_eq!(old - new, 4 * 32 * 32);
    assert_eq!(size_of::<ReluDense<32, 10>>(), size_of::<Dense<32, 10>>());
    assert_eq!(<New as Params>::COUNT, <Old as Params>::COUNT);
    type TOld = Trainer<Old, CrossEntropy, Optim, 32, 64, 10>;
    type TNew = Trainer<New, CrossEntropy, Optim, 32, 64, 10>;
    assert_eq!(TOld::ACTIVATION_BYTES - TNew::ACTIVATION_BYTES, 4 * 32 * 32);
    assert_eq!(TOld::BYTES - TNew::BYTES, 4 * 32 * 32);
    assert_eq!(TOld::PARAM_BYTES, TNew::PARAM_BYTES);
    assert_eq!(TOld::OPTIMIZER_BYTES, TNew::OPTIMIZER_BYTES);
}

/// Runs `a` and `b` (the same function, fused and not) forward and backward in place
/// with `Input::Overwrite` on `x` and `dy`; compares outputs, parameter gradients and
/// `∂J/∂x` bit for bit.
fn compare_models<X, A, C>(what: &str, a: &mut A, b: &mut C, x: &X, dy: &A::Output)
where
    X: Tensor + Copy,
    A: Layer<X>,
    C: Layer<X, Output = A::Output>,
{
    let ctx = &mut Context::new(Mode::Train, 0);
    let (mut ca, mut cb) = (A::Cache::ZERO, C::Cache::ZERO);
    a.forward(x, &mut ca, ctx);
    b.forward(x, &mut cb, ctx);
    same_bits(
        A::output(&ca).as_slice(),
        C::output(&cb).as_slice(),
        &format!("{what}: output"),
    );
    A::output_mut(&mut ca)
        .as_mut_slice()
        .copy_from_slice(dy.as_slice());
    C::output_mut(&mut cb)
        .as_mut_slice()
        .copy_from_slice(dy.as_slice());
    let (mut dxa, mut dxb) = (*x, *x);
    a.backward_in_place(Input::Overwrite(&mut dxa), &mut ca);
    b.backward_in_place(Input::Overwrite(&mut dxb), &mut cb);
    same_bits(
        &flat_grads(a),
        &flat_grads(b),
        &format!("{what}: gradients"),
    );
    same_bits(dxa.as_slice(), dxb.as_slice(), &format!("{what}: ∂J/∂x"));
}

fn random<T: Tensor + Zeroed>(rng: &mut Rng) -> T {
    let mut t = T::ZERO;
    fill_h(&mut t, rng, false);
    t
}

#[test]
fn compositions_are_bit_identical() {
    let mut rng = Rng::for_case("relu_dense compositions", &[]);

    // A pre-activation residual block: y = x + W·max(0, x) + b.
    let mut fused = Residual(ReluDense::<8, 8>::zeros());
    grid_params(&mut fused, &mut rng);
    let mut old = Residual((Relu, fused.0 .0));
    let x: Batch<6, 8> = random(&mut rng);
    let dy: Batch<6, 8> = random(&mut rng);
    compare_models("Residual", &mut fused, &mut old, &x, &dy);

    // A deeper MLP: every hidden layer keeps one buffer.
    type Deep = Seq![Dense<12, 9>, ReluDense<9, 7>, ReluDense<7, 5>, Residual<ReluDense<5, 5>>];
    type DeepOld = Seq![
        Dense<12, 9>,
        Relu,
        Dense<9, 7>,
        Relu,
        Dense<7, 5>,
        Residual<(Relu, Dense<5, 5>)>
    ];
    let mut fused: Deep = seq![
        Dense::zeros(),
        ReluDense::zeros(),
        ReluDense::zeros(),
        Residual(ReluDense::zeros())
    ];
    grid_params(&mut fused, &mut rng);
    let mut old: DeepOld = seq![
        Dense::zeros(),
        Relu,
        Dense::zeros(),
        Relu,
        Dense::zeros(),
        Residual((Relu, Dense::zeros()))
    ];
    copy_params(&mut fused, &mut old);
    let x: Batch<7, 12> = random(&mut rng);
    let dy: Batch<7, 5> = random(&mut rng);
    compare_models("deep MLP", &mut fused, &mut old, &x, &dy);
    let cache = size_of::<<DeepOld as Layer<Batch<7, 12>>>::Cache>()
        - size_of::<<Deep as Layer<Batch<7, 12>>>::Cache>();
    assert_eq!(cache, 4 * 7 * (9 + 7 + 5));

    // A frozen front: only the head trains.
    let mut front = Dense::<10, 6>::zeros();
    grid_params(&mut front, &mut rng);
    let mut head = ReluDense::<6, 4>::zeros();
    grid_params(&mut head, &mut rng);
    let mut fused = (FrozenDense::from(&front), head);
    let mut old = (FrozenDense::from(&front), (Relu, head.0));
    let x: Batch<5, 10> = random(&mut rng);
    let dy: Batch<5, 4> = random(&mut rng);
    compare_models("FrozenDense front", &mut fused, &mut old, &x, &dy);
}

/// `ReluDense` as a model's last layer (a non-negative regression's ReLU before the
/// output layer reads the trainer's loss gradient like any layer) and as its first (a
/// ReLU on the raw input, `Input::Keep`).
#[test]
fn first_and_last_in_a_trainer() {
    let mut rng = Rng::for_case("relu_dense first and last", &[]);
    let mut old: Trainer<Seq![Relu, Dense<6, 3>], Mse, Sgd, 4, 6, 3> =
        Trainer::new(seq![Relu, Dense::zeros()], Mse, Sgd::new(0.05), 1);
    let mut new: Trainer<ReluDense<6, 3>, Mse, Sgd, 4, 6, 3> =
        Trainer::new(ReluDense::zeros(), Mse, Sgd::new(0.05), 1);
    grid_params(&mut old.model, &mut rng);
    copy_params(&mut old.model, &mut new.model);
    for step in 0..5 {
        let x: Batch<4, 6> = random(&mut rng);
        let t: Batch<4, 3> = random(&mut rng);
        old.train_step(&x, &t).unwrap();
        new.train_step(&x, &t).unwrap();
        same_bits(
            &flat_params(&mut new.model),
            &flat_params(&mut old.model),
            &format!("first layer, step {step}"),
        );
    }
    // Optimizer state sized for the model works the same.
    let mut o = Adam::<{ 6 * 3 + 3 }>::new(AdamConfig::DEFAULT);
    assert!(o.step(&mut new.model).is_ok());
}
