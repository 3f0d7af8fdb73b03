//! The trainer: learning (XOR, a small regression) with full-batch, stochastic and
//! mini-batch gradient descent; the partial last batch of an epoch; evaluation over
//! every sample; the epoch shuffle; bit-for-bit determinism; dropout in both modes.

use microtrain::init::{init_params, Init};
use microtrain::layers::{Context, Dense, Dropout, Layer, Mode, Params, Relu, Tanh, Zeroed};
use microtrain::loss::{CrossEntropy, Loss, Mse};
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, Permutation, Trainer};
use microtrain::{seq, Batch, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

const U: f64 = 1.0 / 16_777_216.0;

const XOR_X: [f32; 8] = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
const XOR_Y: [f32; 4] = [0.0, 1.0, 1.0, 0.0];
const XOR_LABELS: [u32; 4] = [0, 1, 1, 0];

/// Every parameter's bits, in canonical order.
fn param_bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

// ---------------------------------------------------------------------------------
// Learning
// ---------------------------------------------------------------------------------

type XorNet = Seq![Dense<2, 8>, Tanh, Dense<8, 1>];
type XorClassifier = Seq![Dense<2, 8>, Tanh, Dense<8, 2>];

/// Full-batch gradient descent (`B = N = 4`) learns XOR with MSE: loss below 0.01 (a
/// constant predictor cannot beat 0.25), every output within 0.2 of its target. (At
/// lr 0.5 this network oscillates and diverges: that is the step size, not a bug.)
#[test]
fn xor_learns_with_mse_full_batch() {
    let mut rng = Pcg32::seed_from_u64(1);
    let mut t: Trainer<XorNet, Mse, Sgd, 4, 2, 1> = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(0.2),
        1,
    );
    init_params(&mut t.model, Init::XavierNormal, &mut rng);
    let data = Dataset::new(&XOR_X, 2, &XOR_Y, 1).unwrap();
    let before = t.evaluate(&data).unwrap().loss;
    for _ in 0..1500 {
        t.epoch(&data, &mut rng).unwrap();
    }
    let after = t.evaluate(&data).unwrap();
    assert!(after.loss < 0.01, "loss {before} → {}", after.loss);
    assert_eq!(after.accuracy, None);
    let out = *t
        .predict(&Matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]))
        .unwrap();
    for (r, y) in XOR_Y.iter().enumerate() {
        assert!((out.0[r][0] - y).abs() < 0.2, "XOR row {r}: {:?}", out.0[r]);
    }
}

/// XOR as two-class classification with cross-entropy: 100 % accuracy, loss < 0.05
/// (chance level is ln 2 ≈ 0.69).
#[test]
fn xor_learns_with_cross_entropy_full_batch() {
    let mut rng = Pcg32::seed_from_u64(2);
    let mut t: Trainer<XorClassifier, CrossEntropy, Sgd, 4, 2, 2> = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.5),
        2,
    );
    init_params(&mut t.model, Init::XavierNormal, &mut rng);
    let data = Dataset::new(&XOR_X, 2, &XOR_LABELS, 1).unwrap();
    let before = t.evaluate(&data).unwrap();
    for _ in 0..1500 {
        t.epoch(&data, &mut rng).unwrap();
    }
    let after = t.evaluate(&data).unwrap();
    assert_eq!(
        after.accuracy,
        Some(1.0),
        "before {before:?}, after {after:?}"
    );
    assert!(after.loss < 0.05, "before {before:?}, after {after:?}");
}

/// Ten points of `sin(πx)` on `x ∈ [−1, 1]` (inputs normalised: on `[−π, π]` the same
/// fit is so sharp that even full-batch descent at lr 0.1 oscillates).
fn sine_data() -> ([f32; 10], [f32; 10]) {
    let mut x = [0.0; 10];
    let mut y = [0.0; 10];
    for i in 0..10 {
        let v = -1.0 + i as f32 * (2.0 / 9.0);
        x[i] = v;
        y[i] = (std::f32::consts::PI * v).sin();
    }
    (x, y)
}

type SineNet = Seq![Dense<1, 16>, Tanh, Dense<16, 1>];

fn sine_fit<const B: usize>(lr: f32, epochs: usize) -> (f32, f32) {
    let (x, y) = sine_data();
    let data = Dataset::new(&x, 1, &y, 1).unwrap();
    let mut rng = Pcg32::seed_from_u64(3);
    let mut t: Trainer<SineNet, Mse, Sgd, B, 1, 1> = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(lr),
        3,
    );
    init_params(&mut t.model, Init::XavierNormal, &mut rng);
    let before = t.evaluate(&data).unwrap().loss;
    let mut last = f32::INFINITY;
    for _ in 0..epochs {
        last = t.epoch(&data, &mut rng).unwrap().data;
        assert!(last.is_finite());
    }
    let after = t.evaluate(&data).unwrap().loss;
    // The epoch's mean training loss is of the same order as the final evaluation.
    assert!(
        last < 10.0 * after + 0.05,
        "training {last}, evaluation {after}"
    );
    (before, after)
}

/// Stochastic gradient descent (`B = 1`) reduces the loss of a sine regression at
/// least tenfold, below 0.03 (the targets' variance is ≈ 0.44; seeds 3, 5, 6, 7 all
/// reach ≈ 0.008).
#[test]
fn sgd_batch_one_fits_a_sine() {
    let (before, after) = sine_fit::<1>(0.05, 500);
    assert!(after < before / 10.0 && after < 0.03, "{before} → {after}");
}

/// Mini-batch (`B = 3` on 10 samples: batches of 3, 3, 3 and a partial 1), same
/// demand (seeds 3, 5, 6, 7 all reach ≈ 0.011).
#[test]
fn minibatch_with_partial_last_batch_fits_a_sine() {
    let (before, after) = sine_fit::<3>(0.05, 800);
    assert!(after < before / 10.0 && after < 0.03, "{before} → {after}");
}

// ---------------------------------------------------------------------------------
// The partial last batch
// ---------------------------------------------------------------------------------

/// Copies the samples `order[range]` of (x, per-sample targets) into a batch.
fn gather<const B: usize, const N: usize, T: Copy>(
    data: &Dataset<'_, T>,
    order: &Permutation,
    start: usize,
) -> Batch<B, N> {
    let mut m = Batch::<B, N>::zeros();
    for r in 0..B {
        m.0[r].copy_from_slice(data.input(order.get(start + r)));
    }
    m
}

/// One epoch with `B = 3` on 4 samples is a step on the first three (shuffled) samples
/// and then a step on the fourth alone: the three padding rows of the last batch carry
/// exactly zero gradient. We redo it by hand — a `B = 3` trainer's `train_step` on
/// samples `order[0..3]`, then a `B = 1` trainer's on `order[3]` — and demand the
/// same weights bit for bit (padding adds exact zeros to every sum; each row's forward
/// pass does not depend on the others), and the same epoch loss `(3ℓ₁ + ℓ₂)/4`.
#[test]
fn partial_last_batch_equals_a_step_on_the_remaining_sample() {
    type Net = Seq![Dense<2, 5>, Tanh, Dense<5, 1>];
    let x = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, 1.0];
    let y = [1.0, -2.0, 0.5, 3.0];
    let data = Dataset::new(&x, 2, &y, 1).unwrap();

    let mut init_rng = Pcg32::seed_from_u64(4);
    let mut net: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    init_params(&mut net, Init::XavierUniform, &mut init_rng);

    let mut epoch_rng = Pcg32::seed_from_u64(40);
    let order = Permutation::new(4, &mut epoch_rng.clone()); // the epoch's own draw
    let mut t3: Trainer<Net, Mse, Sgd, 3, 2, 1> = Trainer::new(net, Mse, Sgd::new(0.3), 0);
    let risk = t3.epoch(&data, &mut epoch_rng).unwrap();

    let mut a: Trainer<Net, Mse, Sgd, 3, 2, 1> = Trainer::new(net, Mse, Sgd::new(0.3), 0);
    let xa: Batch<3, 2> = gather(&data, &order, 0);
    let mut ta = <Mse as Loss<3, 1>>::Targets::ZERO;
    for r in 0..3 {
        Loss::<3, 1>::set_target(&Mse, &mut ta, r, r, data.target(order.get(r))).unwrap();
    }
    let l1 = a.train_step(&xa, &ta).unwrap().data;

    let mut b: Trainer<Net, Mse, Sgd, 1, 2, 1> = Trainer::new(a.model, Mse, Sgd::new(0.3), 0);
    let xb: Batch<1, 2> = gather(&data, &order, 3);
    let tb = Matrix([[data.target(order.get(3))[0]]]);
    let l2 = b.train_step(&xb, &tb).unwrap().data;

    assert_eq!(param_bits(&mut t3.model), param_bits(&mut b.model));
    assert_ne!(
        param_bits(&mut t3.model),
        param_bits(&mut net),
        "it trained"
    );
    assert_eq!(risk.data, (l1 * 3.0 + l2) / 4.0);
}

/// The same with cross-entropy, whose batch targets keep stale labels in the padding
/// rows (from the previous batch): they must not count.
#[test]
fn partial_last_batch_with_cross_entropy() {
    type Net = Seq![Dense<3, 4>, Relu, Dense<4, 3>];
    let x = [
        0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, 1.0, -0.5, 2.0, 0.0, -1.0, 0.1, 0.2, 0.3,
    ];
    let labels = [2u32, 0, 1, 1, 0];
    let data = Dataset::new(&x, 3, &labels, 1).unwrap();
    let ce = CrossEntropy {
        label_smoothing: 0.05,
    };

    let mut net: Net = seq![Dense::zeros(), Relu, Dense::zeros()];
    init_params(&mut net, Init::HeUniform, &mut Pcg32::seed_from_u64(5));

    // 5 samples with B = 4: a full batch, then one sample and three padding rows.
    let mut epoch_rng = Pcg32::seed_from_u64(50);
    let order = Permutation::new(5, &mut epoch_rng.clone());
    let mut t4: Trainer<Net, CrossEntropy, Sgd, 4, 3, 3> = Trainer::new(net, ce, Sgd::new(0.2), 0);
    let risk = t4.epoch(&data, &mut epoch_rng).unwrap();

    let mut a: Trainer<Net, CrossEntropy, Sgd, 4, 3, 3> = Trainer::new(net, ce, Sgd::new(0.2), 0);
    let xa: Batch<4, 3> = gather(&data, &order, 0);
    let mut ta = [0u32; 4];
    for r in 0..4 {
        Loss::<4, 3>::set_target(&ce, &mut ta, r, r, data.target(order.get(r))).unwrap();
    }
    let l1 = a.train_step(&xa, &ta).unwrap().data;
    let mut b: Trainer<Net, CrossEntropy, Sgd, 1, 3, 3> =
        Trainer::new(a.model, ce, Sgd::new(0.2), 0);
    let xb: Batch<1, 3> = gather(&data, &order, 4);
    let l2 = b.train_step(&xb, &[labels[order.get(4)]]).unwrap().data;

    assert_eq!(param_bits(&mut t4.model), param_bits(&mut b.model));
    assert_eq!(risk.data, (l1 * 4.0 + l2) / 5.0);
}

// ---------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------

/// `evaluate` with `B = 3` on 7 samples (batches 3, 3, 1) is the mean of the seven
/// per-sample losses, each computed alone with a `B = 1` trainer. The per-row losses
/// are the same `f32` values in both; only the summation differs: ≤ 3 roundings inside
/// a batch mean, ×rows, 3 batch totals added, ÷7, all of positive terms: within
/// `8u·mean`; we allow `16u·mean`. Accuracy counts are integers: exactly equal.
#[test]
fn evaluate_covers_every_sample_including_the_partial_batch() {
    type Net = Seq![Dense<2, 6>, Tanh, Dense<6, 3>];
    let x: Vec<f32> = (0..14).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let labels = [0u32, 2, 1, 1, 0, 2, 2];
    let data = Dataset::new(&x, 2, &labels, 1).unwrap();
    let mut net: Net = seq![Dense::zeros(), Tanh, Dense::zeros()];
    init_params(&mut net, Init::XavierNormal, &mut Pcg32::seed_from_u64(6));
    let ce = CrossEntropy {
        label_smoothing: 0.1,
    };

    let mut t3: Trainer<Net, CrossEntropy, Sgd, 3, 2, 3> = Trainer::new(net, ce, Sgd::new(0.1), 0);
    let before = param_bits(&mut t3.model);
    let eval = t3.evaluate(&data).unwrap();
    assert_eq!(param_bits(&mut t3.model), before, "evaluate must not train");

    let mut t1: Trainer<Net, CrossEntropy, Sgd, 1, 2, 3> = Trainer::new(net, ce, Sgd::new(0.1), 0);
    let (mut sum, mut hits) = (0.0f64, 0.0f32);
    for i in 0..7 {
        let one = Dataset::new(data.input(i), 2, data.target(i), 1).unwrap();
        let e = t1.evaluate(&one).unwrap();
        sum += f64::from(e.loss);
        hits += e.accuracy.unwrap();
    }
    let mean = sum / 7.0;
    assert!(
        (f64::from(eval.loss) - mean).abs() <= 16.0 * U * mean,
        "B=3: {}, per sample: {mean}",
        eval.loss
    );
    assert_eq!(eval.accuracy, Some(hits / 7.0));

    // Leaving out the last (partial-batch) sample changes the result: it is counted.
    let six = Dataset::new(&x[..12], 2, &labels[..6], 1).unwrap();
    assert_ne!(t3.evaluate(&six).unwrap().loss, eval.loss);
}

/// Evaluation turns dropout off: a model with dropout evaluates exactly as the same
/// model without it, every time.
#[test]
fn evaluate_is_deterministic_with_dropout() {
    let x = [0.1, 0.2, 0.3, -0.4, 0.5, 0.6, 0.7, -0.8, 0.9, 1.0];
    let y = [1.0, 0.0, -1.0, 0.5, 2.0];
    let data = Dataset::new(&x, 2, &y, 1).unwrap();
    type Plain = Seq![Dense<2, 8>, Tanh, Dense<8, 1>];
    type WithDropout = Seq![Dense<2, 8>, Tanh, Dropout, Dense<8, 1>];
    let mut plain: Plain = seq![Dense::zeros(), Tanh, Dense::zeros()];
    init_params(&mut plain, Init::XavierNormal, &mut Pcg32::seed_from_u64(7));
    let with_dropout = seq![plain.0, plain.1 .0, Dropout::new(0.5), plain.1 .1];
    let mut a: Trainer<Plain, Mse, Sgd, 2, 2, 1> = Trainer::new(plain, Mse, Sgd::new(0.1), 0);
    let mut b: Trainer<WithDropout, Mse, Sgd, 2, 2, 1> =
        Trainer::new(with_dropout, Mse, Sgd::new(0.1), 0);
    let ea = a.evaluate(&data).unwrap();
    assert_eq!(b.evaluate(&data).unwrap(), ea);
    assert_eq!(b.evaluate(&data).unwrap(), ea);
}

// ---------------------------------------------------------------------------------
// The epoch shuffle
// ---------------------------------------------------------------------------------

fn order(p: &Permutation, n: usize) -> Vec<usize> {
    (0..n).map(|i| p.get(i)).collect()
}

/// For every `n` in 1..=300 and several seeds, `i ↦ p.get(i)` hits every index of
/// `0..n` exactly once.
#[test]
fn permutation_is_a_bijection() {
    for seed in [0u64, 1, 2, 3, 42, u64::MAX] {
        let mut rng = Pcg32::seed_from_u64(seed);
        for n in 1..=300 {
            let p = Permutation::new(n, &mut rng);
            let mut seen = vec![false; n];
            for i in 0..n {
                let j = p.get(i);
                assert!(j < n, "n={n} seed={seed}: {i} ↦ {j}");
                assert!(!seen[j], "n={n} seed={seed}: {j} hit twice");
                seen[j] = true;
            }
        }
    }
    for n in [0, 1, 5, 300] {
        assert_eq!(
            order(&Permutation::identity(n), n),
            (0..n).collect::<Vec<_>>()
        );
    }
}

/// Twenty seeds give twenty different orders of 100 elements (two random orders
/// coincide with probability 1/100!), none of them the identity.
#[test]
fn different_seeds_give_different_orders() {
    let orders: Vec<Vec<usize>> = (0..20)
        .map(|s| order(&Permutation::new(100, &mut Pcg32::seed_from_u64(s)), 100))
        .collect();
    for i in 0..orders.len() {
        assert_ne!(orders[i], (0..100).collect::<Vec<_>>(), "seed {i}");
        for j in 0..i {
            assert_ne!(orders[i], orders[j], "seeds {i} and {j}");
        }
    }
    // The same seed gives the same order.
    let again = order(&Permutation::new(100, &mut Pcg32::seed_from_u64(7)), 100);
    assert_eq!(again, orders[7]);
}

/// The shuffle should be close to uniform. For each `n`, over `T = 20 000`
/// permutations the table `count[i][j] = #{p(i) = j}` has both margins fixed at `T`,
/// so for a uniform shuffle Pearson's `χ² = Σ (count − T/n)² / (T/n)` follows χ² with
/// `(n − 1)²` degrees of freedom: mean `df`, σ = √(2·df). We allow `df + 6√(2·df)`.
///
/// It fails: a four-round Feistel network on 1- and 2-bit halves is far from a random
/// permutation. For `n = 5`, χ² ≈ 670 on 16 degrees of freedom; some orders come up
/// three times as often as others, and sample 4 stays in place 27 % of the time
/// instead of 20 %. The bias fades by `n ≈ 100`. With 8 rounds (same code otherwise)
/// χ² is 3, 21, 38, 83, 101 for `n` = 3, 5, 6, 8, 10, within the bound.
#[test]
fn permutation_positions_are_uniform() {
    const T: u32 = 20_000;
    let mut rng = Pcg32::seed_from_u64(8);
    for n in [3usize, 5, 6, 8, 10, 17] {
        let mut counts = vec![vec![0u32; n]; n];
        for _ in 0..T {
            let p = Permutation::new(n, &mut rng);
            for (i, row) in counts.iter_mut().enumerate() {
                row[p.get(i)] += 1;
            }
        }
        let e = f64::from(T) / n as f64;
        let chi2: f64 = counts
            .iter()
            .flatten()
            .map(|&c| (f64::from(c) - e).powi(2) / e)
            .sum();
        let df = ((n - 1) * (n - 1)) as f64;
        let bound = df + 6.0 * (2.0 * df).sqrt();
        assert!(
            chi2 <= bound,
            "n = {n}: χ² = {chi2:.0} > {bound:.0} (df {df}); {counts:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------

type DropNet = Seq![Dense<2, 16>, Relu, Dropout, Dense<16, 1>];

fn train_dropnet(init_seed: u64, ctx_seed: u64, shuffle_seed: u64) -> (Vec<u32>, Vec<u32>) {
    let (x, y) = (
        [
            0.0, 0.5, 1.0, -1.0, 0.3, 0.3, -0.7, 0.2, 0.9, -0.9, 0.1, 0.0, -0.2, 0.8,
        ],
        [1.0, 0.0, 0.6, -0.5, 0.0, 0.1, 0.7],
    );
    let data = Dataset::new(&x, 2, &y, 1).unwrap();
    let mut t: Trainer<DropNet, Mse, Sgd, 3, 2, 1> = Trainer::new(
        seq![Dense::zeros(), Relu, Dropout::new(0.25), Dense::zeros()],
        Mse,
        Sgd::new(0.05),
        ctx_seed,
    );
    init_params(
        &mut t.model,
        Init::HeNormal,
        &mut Pcg32::seed_from_u64(init_seed),
    );
    let mut rng = Pcg32::seed_from_u64(shuffle_seed);
    let mut losses = Vec::new();
    for _ in 0..40 {
        losses.push(t.epoch(&data, &mut rng).unwrap().data.to_bits());
    }
    (param_bits(&mut t.model), losses)
}

/// Two trainers with the same seeds (initialisation, dropout, shuffle) train
/// bit-identical weights through identical losses; changing any one seed changes the
/// weights (so the comparison is not vacuous).
#[test]
fn same_seeds_train_bit_identical_weights() {
    let a = train_dropnet(1, 2, 3);
    let b = train_dropnet(1, 2, 3);
    assert_eq!(a, b);
    assert_ne!(a.0, train_dropnet(9, 2, 3).0, "initialisation seed");
    assert_ne!(a.0, train_dropnet(1, 9, 3).0, "dropout seed");
    assert_ne!(a.0, train_dropnet(1, 2, 9).0, "shuffle seed");
}

// ---------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------

const DB: usize = 50;
const DN: usize = 200;

fn dropout_pass(p: f32, ctx: &mut Context, x: &Batch<DB, DN>) -> Batch<DB, DN> {
    let mut cache = <Dropout as Layer<Batch<DB, DN>>>::Cache::ZERO;
    Dropout::new(p).forward(x, &mut cache, ctx);
    *<Dropout as Layer<Batch<DB, DN>>>::output(&cache)
}

fn dropout_input() -> Batch<DB, DN> {
    let mut x = Batch::<DB, DN>::zeros();
    for (i, v) in x.as_mut_slice().iter_mut().enumerate() {
        *v = 0.5 + (i % 17) as f32 / 8.0; // never zero
    }
    x
}

/// Evaluation mode is the identity, bit for bit, for any p.
#[test]
fn dropout_eval_is_identity() {
    let x = dropout_input();
    for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
        let y = dropout_pass(p, &mut Context::new(Mode::Eval, 1), &x);
        assert_eq!(y.as_slice(), x.as_slice(), "p = {p}");
    }
    // p = 0 is the identity in training too.
    let y = dropout_pass(0.0, &mut Context::new(Mode::Train, 1), &x);
    assert_eq!(y.as_slice(), x.as_slice());
}

/// In training, the number `K` of zeroed units among `n = 10 000` is
/// Binomial(n, p): mean `np`, σ = √(np(1−p)) (45.8 at p = 0.3). We demand
/// `|K − np| ≤ 6σ` (chance failure < 2·10⁻⁹ per pass; the seeds are fixed anyway), which
/// a wrong threshold — e.g. keeping with probability p instead of 1 − p — misses by
/// ≥ 80σ. Kept units equal `x/(1−p)`: `x·fl(1/(1−p))` is within 2 roundings, `2u`
/// relative. Two passes from one context draw different masks.
#[test]
fn dropout_train_drops_about_p_and_scales_the_rest() {
    let x = dropout_input();
    let n = (DB * DN) as f64;
    for (p, seed) in [(0.1f32, 1u64), (0.3, 2), (0.5, 3), (0.9, 4)] {
        let mut ctx = Context::new(Mode::Train, seed);
        let mut previous: Option<Vec<bool>> = None;
        for pass in 0..3 {
            let y = dropout_pass(p, &mut ctx, &x);
            let pf = f64::from(p);
            let mut mask = Vec::with_capacity(DB * DN);
            for (&xi, &yi) in x.as_slice().iter().zip(y.as_slice()) {
                if yi == 0.0 {
                    mask.push(false);
                } else {
                    mask.push(true);
                    let expected = f64::from(xi) / (1.0 - pf);
                    assert!(
                        (f64::from(yi) - expected).abs() <= 2.0 * U * expected,
                        "p = {p}: kept {xi} became {yi}, expected {expected}"
                    );
                }
            }
            let dropped = mask.iter().filter(|&&k| !k).count() as f64;
            let sigma = (n * pf * (1.0 - pf)).sqrt();
            assert!(
                (dropped - n * pf).abs() <= 6.0 * sigma,
                "p = {p}, pass {pass}: dropped {dropped} of {n}, expected {} ± {}",
                n * pf,
                6.0 * sigma
            );
            if let Some(prev) = &previous {
                assert_ne!(prev, &mask, "p = {p}: pass {pass} reused the mask");
            }
            previous = Some(mask);
        }
    }
}

/// `Dropout::new` clamps p into [0, 1]: NaN and negatives are 0, 1 and above are 1,
/// which zeroes every element in training as PyTorch's `nn.Dropout(1.0)` does
/// (`Dropout::try_new` refuses them instead: see `hostile.rs`).
#[test]
fn dropout_probability_is_clamped() {
    assert_eq!(Dropout::new(f32::NAN).p(), 0.0);
    assert_eq!(Dropout::new(-0.5).p(), 0.0);
    assert_eq!(Dropout::new(0.25).p(), 0.25);
    for p in [1.0, 2.0, f32::INFINITY] {
        assert_eq!(Dropout::new(p).p(), 1.0, "{p}");
    }
    let x = dropout_input();
    let y = dropout_pass(1.0, &mut Context::new(Mode::Train, 5), &x);
    assert!(y.as_slice().iter().all(|&v| v == 0.0));
}
