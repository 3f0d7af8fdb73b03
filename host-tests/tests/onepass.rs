//! The one-pass step (issues 11 and 12): when `Optimizer::proven` shows from bounds
//! that an update is finite, `Optimizer::step` applies it without trying it first. It
//! must give the same bits as the two-pass step, and every input the proof cannot
//! cover must take the two-pass step and be refused exactly as before.
//!
//! The reference is the same optimizer behind `TwoPass`, a wrapper that forwards
//! everything but `proven` (so it keeps the default `false`): the two-pass step of
//! the same code, not a copy of our output.

use host_tests::Rng;
use microtrain::layers::{Dense, ParamKind, Params, Tanh};
use microtrain::loss::Mse;
use microtrain::optim::{
    Adam, AdamConfig, AmsGrad, Bounds, Optimizer, Pass, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Error, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;
use std::fmt::Debug;

/// An optimizer that never proves anything: every step tries first.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TwoPass<O>(O);

impl<O: Optimizer> Optimizer for TwoPass<O> {
    const PARAMS: Option<usize> = O::PARAMS;
    const STATE_BYTES: usize = O::STATE_BYTES;

    fn learning_rate(&self) -> f32 {
        self.0.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.0.set_learning_rate(lr);
    }
    fn check(&self) -> Result<(), Error> {
        self.0.check()
    }
    fn begin_step(&mut self) {
        self.0.begin_step();
    }
    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        self.0.update(pass, offset, kind, value, grad)
    }
}

/// Tensors: weight 4×3, bias 3, weight 3×2, bias 2: 23 parameters.
type Net = Seq![Dense<4, 3>, Tanh, Dense<3, 2>];
const COUNT: usize = <Net as Params>::COUNT;

fn net() -> Net {
    seq![Dense::zeros(), Tanh, Dense::zeros()]
}

fn bits(model: &mut impl Params) -> Vec<u32> {
    let mut out = Vec::new();
    model.visit(&mut |p| out.extend(p.value.iter().map(|v| v.to_bits())));
    out
}

/// Two equal networks holding `values`, with zero gradients: one for the proven step,
/// one for the two-pass step.
fn twins(values: &[f32]) -> (Net, Net) {
    let (mut fast, mut slow) = (net(), net());
    set(&mut fast, values, &[0.0; COUNT]);
    set(&mut slow, values, &[0.0; COUNT]);
    (fast, slow)
}

fn set(model: &mut impl Params, values: &[f32], grads: &[f32]) {
    let mut i = 0;
    model.visit(&mut |p| {
        let n = p.value.len();
        p.value.copy_from_slice(&values[i..i + n]);
        p.grad.copy_from_slice(&grads[i..i + n]);
        i += n;
    });
}

/// A value `±2^e·(1 + u)` with `e` uniform in `[lo, hi]`: every scale from tiny to
/// near overflow.
fn scaled(rng: &mut Rng, lo: i32, hi: i32) -> f32 {
    if hi >= 128 && rng.below(8) == 0 {
        return if rng.below(2) == 0 {
            f32::MAX
        } else {
            -f32::MAX
        };
    }
    let e = lo + rng.below((hi - lo + 1) as u64) as i32;
    let x =
        (1.0 + rng.uniform(0.0, 1.0)) * 2f32.powi(e.clamp(-126, 127) - if e > 126 { 1 } else { 0 });
    if rng.below(2) == 0 {
        x
    } else {
        -x
    }
}

fn configs() -> Vec<AdamConfig> {
    let mut out = vec![
        AdamConfig::DEFAULT.with_lr(0.05),
        AdamConfig::adamw().with_lr(0.05),
        AdamConfig {
            amsgrad: true,
            ..AdamConfig::DEFAULT.with_lr(0.02)
        },
        AdamConfig {
            weight_decay: 0.1,
            decay_biases: false,
            ..AdamConfig::DEFAULT.with_lr(0.03)
        },
        AdamConfig {
            amsgrad: true,
            weight_decay: 0.5,
            decoupled_weight_decay: true,
            decay_biases: false,
            ..AdamConfig::DEFAULT
        },
    ];
    out.push(AdamConfig {
        betas: (0.0, 0.0),
        eps: 1.0,
        ..AdamConfig::DEFAULT.with_lr(1.0)
    });
    out
}

/// Ordinary training data: every step is proven, and the bits equal the two-pass
/// step's, parameters and state, for every Adam variant.
#[test]
fn proven_steps_give_the_two_pass_bits() {
    for (c, config) in configs().into_iter().enumerate() {
        let mut rng = Rng::for_case("onepass ordinary", &[c]);
        let (mut fast, mut slow) = twins(&rng.uniform_vec(COUNT, -1.0, 1.0));
        let mut a = AmsGrad::<COUNT>::new(config);
        let mut b = TwoPass(AmsGrad::<COUNT>::new(config));
        for step in 0..200 {
            let scale = 2f32.powi(rng.below(40) as i32 - 20);
            let grads: Vec<f32> = rng.uniform_vec(COUNT, -scale, scale);
            let (va, vb) = (bits(&mut fast), bits(&mut slow));
            assert_eq!(va, vb, "config {c} step {step}");
            set(&mut fast, &f32s(&va), &grads);
            set(&mut slow, &f32s(&vb), &grads);
            let bounds = Bounds::of(&mut fast, Some(COUNT)).unwrap();
            assert!(
                a.proven(bounds),
                "config {c} step {step}: {bounds:?} not proven"
            );
            a.step(&mut fast).unwrap();
            b.step(&mut slow).unwrap();
            assert_eq!(a, b.0, "config {c} step {step}: optimizer state");
        }
        assert_eq!(bits(&mut fast), bits(&mut slow), "config {c}");
    }
}

/// Late steps: from t = 17,424 on, `√(1 − 0.999ᵗ)` is exactly 1 in `f32` and the
/// proven step leaves out its division by it (`x/1 = x`); the bits must still be the
/// two-pass step's (which divides), parameters and state, before and after.
#[test]
fn late_steps_give_the_two_pass_bits() {
    for (c, config) in configs().into_iter().enumerate().take(5) {
        let mut rng = Rng::for_case("onepass late", &[c]);
        let (mut fast, mut slow) = twins(&rng.uniform_vec(COUNT, -1.0, 1.0));
        let mut a = AmsGrad::<COUNT>::new(config);
        let mut b = TwoPass(AmsGrad::<COUNT>::new(config));
        // Sixteen gradients and their negatives: the parameters stay near their start,
        // where every bit of an update counts.
        let mut grads: Vec<Vec<f32>> = (0..16).map(|_| rng.uniform_vec(COUNT, -1.0, 1.0)).collect();
        grads.extend(
            grads
                .clone()
                .into_iter()
                .map(|g| g.iter().map(|x| -x).collect()),
        );
        let set_grads = |model: &mut Net, grads: &[f32]| {
            let mut i = 0;
            model.visit(&mut |p| {
                p.grad.copy_from_slice(&grads[i..i + p.grad.len()]);
                i += p.grad.len();
            });
        };
        for step in 0..17_500 {
            set_grads(&mut fast, &grads[step % 32]);
            set_grads(&mut slow, &grads[step % 32]);
            a.step(&mut fast).unwrap();
            b.step(&mut slow).unwrap();
            if step % 997 == 0 || step >= 17_400 {
                assert_eq!(bits(&mut fast), bits(&mut slow), "config {c} step {step}");
                assert_eq!(a, b.0, "config {c} step {step}: optimizer state");
            }
        }
    }
}

fn f32s(bits: &[u32]) -> Vec<f32> {
    bits.iter().map(|&b| f32::from_bits(b)).collect()
}

/// Values and gradients of every scale up to `f32::MAX`, and settings at their limits
/// (`ε = 0`, huge learning rates and decays): whatever the proof decides, the step
/// (or its refusal) is the two-pass one, and a proven step is never one the try
/// pass would refuse.
#[test]
fn adversarial_steps_match_the_two_pass_step() {
    let (mut proven, mut refused, mut taken) = (0, 0, 0);
    for case in 0..3000usize {
        let mut rng = Rng::for_case("onepass adversarial", &[case]);
        let lr = [0.0, 1e-3, 1.0, 1e10, 1e30, 3e31, 1e33, f32::MAX][rng.below(8) as usize];
        let config = AdamConfig {
            lr,
            betas: (
                [0.0, 0.5, 0.9, 1.0 - f32::EPSILON / 2.0][rng.below(4) as usize],
                [0.0, 0.5, 0.999, 1.0 - f32::EPSILON / 2.0][rng.below(4) as usize],
            ),
            eps: [0.0, f32::MIN_POSITIVE, 1e-30, 1e-8, 1.0][rng.below(5) as usize],
            weight_decay: [0.0, 0.01, 1e20, f32::MAX][rng.below(4) as usize],
            amsgrad: rng.below(2) == 0,
            decoupled_weight_decay: rng.below(2) == 0,
            decay_biases: rng.below(2) == 0,
        };
        let (lo, hi) = [
            (-20, 20),
            (-140, 40),
            (20, 70),
            (60, 128),
            (-140, 128),
            (-10, 128),
        ][rng.below(6) as usize];
        let (mut fast, mut slow) = (net(), net());
        let mut a = AmsGrad::<COUNT>::new(config);
        let mut b = TwoPass(a);
        let values: Vec<f32> = (0..COUNT).map(|_| scaled(&mut rng, lo, hi)).collect();
        set(&mut fast, &values, &[0.0; COUNT]);
        set(&mut slow, &values, &[0.0; COUNT]);
        for step in 0..4 {
            let grads: Vec<f32> = (0..COUNT).map(|_| scaled(&mut rng, lo, hi)).collect();
            let current = f32s(&bits(&mut fast));
            set(&mut fast, &current, &grads);
            set(&mut slow, &current, &grads);
            let is_proven = a.proven(Bounds::of(&mut fast, Some(COUNT)).unwrap());
            let (ra, rb) = (a.step(&mut fast), b.step(&mut slow));
            // Debug, not ==: a refusal's loss is NaN.
            assert_eq!(
                format!("{ra:?}"),
                format!("{rb:?}"),
                "case {case} step {step} {config:?}"
            );
            if is_proven {
                assert!(
                    rb.is_ok(),
                    "case {case} step {step}: proven but refused: {rb:?}"
                );
                proven += 1;
            }
            if rb.is_err() {
                refused += 1;
            } else {
                taken += 1;
            }
            assert_eq!(bits(&mut fast), bits(&mut slow), "case {case} step {step}");
            assert_eq!(
                format!("{a:?}"),
                format!("{:?}", b.0),
                "case {case} step {step}"
            );
        }
    }
    // The sweep reaches both sides of the proof, and steps the proof cannot cover.
    assert!(
        proven > 500 && refused > 1000 && taken > proven,
        "{proven} {refused} {taken}"
    );
}

/// The inputs the issue names take the two-pass step: parameters near `f32::MAX`, a
/// gradient whose square overflows, `ε = 0` (where `m/√v` has no floor but the
/// smallest normal), a non-finite gradient.
#[test]
fn inputs_near_the_limits_are_not_proven() {
    let adam = Adam::<COUNT>::new(AdamConfig::DEFAULT);
    assert!(adam.proven(Bounds {
        value: 1e6,
        grad: 1e6
    }));
    // |θ| = f32::MAX itself is proven when the update is small: `MAX + 10⁵` rounds
    // to MAX, so no parameter can overflow; a large learning rate is not proven.
    assert!(adam.proven(Bounds {
        value: f32::MAX,
        grad: 1.0
    }));
    let fast = Adam::<COUNT>::new(AdamConfig::DEFAULT.with_lr(1e25));
    assert!(!fast.proven(Bounds {
        value: f32::MAX,
        grad: 1.0
    }));
    assert!(fast.proven(Bounds {
        value: 1.0,
        grad: 1.0
    }));
    assert!(adam.proven(Bounds {
        value: 1.0,
        grad: 1e20
    })); // (1 − β₂)g² = 1e37
    assert!(!adam.proven(Bounds {
        value: 1.0,
        grad: 1e22
    })); // (1 − β₂)g² overflows
    assert!(!adam.proven(Bounds {
        value: 1.0,
        grad: f32::NAN
    }));
    assert!(!adam.proven(Bounds {
        value: f32::INFINITY,
        grad: 1.0
    }));
    // ε = 0: m/d is bounded only by m/2⁻¹²⁶; (η/(1 − β₁))·1/2⁻¹²⁶ overflows.
    let eps0 = Adam::<COUNT>::new(AdamConfig {
        eps: 0.0,
        ..AdamConfig::DEFAULT.with_lr(1.0)
    });
    assert!(!eps0.proven(Bounds {
        value: 1.0,
        grad: 10.0
    }));
    let eps = Adam::<COUNT>::new(AdamConfig::DEFAULT.with_lr(1.0));
    assert!(eps.proven(Bounds {
        value: 1.0,
        grad: 10.0
    }));

    // Every parameter at f32::MAX, stepped up by 3e31 > 2¹⁰³ (half an ulp there): the
    // update alone is proven finite, the parameters are not; the step is refused.
    let mut grad = || vec![-0.002; COUNT];
    let adam = Adam::<COUNT>::new(AdamConfig::DEFAULT.with_lr(3e31));
    assert_eq!(
        compare(adam, &[f32::MAX; COUNT], 1, &mut grad, "near MAX"),
        (0, 1, 0)
    );
    assert_eq!(
        compare(adam, &[1.0; COUNT], 1, &mut grad, "near 1"),
        (1, 0, 1)
    );

    // A parameter at f32::MAX stepped up by Adam: refused, nothing changed.
    let mut d = net();
    let mut values = vec![0.5; COUNT];
    values[5] = f32::MAX;
    let mut grads = vec![0.25; COUNT];
    grads[5] = -1.0;
    set(&mut d, &values, &grads);
    let mut adam = Adam::<COUNT>::new(AdamConfig::DEFAULT.with_lr(f32::MAX / 2.0));
    let before = adam;
    let err = adam.step(&mut d).unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err:?}");
    assert_eq!((adam, f32s(&bits(&mut d))), (before, values));
}

/// A whole training run through the trainer: the same weights, bit for bit, with and
/// without the one-pass step.
#[test]
fn training_runs_are_bit_identical() {
    let xs = [
        0.0, 0.0, 1.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5, 0.5,
    ];
    let ys = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let data = Dataset::new(&xs, 4, &ys, 2).unwrap();
    for config in configs() {
        let run = |opt| {
            let mut t: Trainer<Net, Mse, _, 2, 4, 2> = Trainer::new(net(), Mse, opt, 0);
            let mut rng = Pcg32::seed_from_u64(5);
            microtrain::init::init_params(
                &mut t.model,
                microtrain::init::Init::XavierNormal,
                &mut rng,
            );
            for _ in 0..30 {
                t.epoch(&data, &mut rng).unwrap();
            }
            bits(&mut t.model)
        };
        let fast = run(AmsGrad::<COUNT>::new(config));
        let twice = {
            let mut t: Trainer<Net, Mse, _, 2, 4, 2> =
                Trainer::new(net(), Mse, TwoPass(AmsGrad::<COUNT>::new(config)), 0);
            let mut rng = Pcg32::seed_from_u64(5);
            microtrain::init::init_params(
                &mut t.model,
                microtrain::init::Init::XavierNormal,
                &mut rng,
            );
            for _ in 0..30 {
                t.epoch(&data, &mut rng).unwrap();
            }
            bits(&mut t.model)
        };
        assert_eq!(fast, twice, "{config:?}");
    }
}

/// Runs `steps` steps of `opt` and of its two-pass twin from `values` with gradients
/// from `grad`; asserts the same results, bits and state after each; returns how many
/// steps were proven, refused and taken.
fn compare<O: Optimizer + Copy + Debug>(
    opt: O,
    values: &[f32],
    steps: usize,
    mut grad: impl FnMut() -> Vec<f32>,
    label: &str,
) -> (usize, usize, usize) {
    let (mut fast, mut slow) = twins(values);
    let (mut a, mut b) = (opt, TwoPass(opt));
    let (mut proven, mut refused, mut taken) = (0, 0, 0);
    for step in 0..steps {
        let grads = grad();
        let current = f32s(&bits(&mut fast));
        set(&mut fast, &current, &grads);
        set(&mut slow, &current, &grads);
        // `step` asks `proven` only about settings that `check` accepts.
        let is_proven = a.check().is_ok() && a.proven(Bounds::of(&mut fast, O::PARAMS).unwrap());
        let (ra, rb) = (a.step(&mut fast), b.step(&mut slow));
        assert_eq!(format!("{ra:?}"), format!("{rb:?}"), "{label} step {step}");
        assert!(
            !is_proven || rb.is_ok(),
            "{label} step {step}: proven, refused: {rb:?}"
        );
        proven += usize::from(is_proven);
        refused += usize::from(rb.is_err());
        taken += usize::from(rb.is_ok());
        assert_eq!(bits(&mut fast), bits(&mut slow), "{label} step {step}");
        assert_eq!(
            format!("{a:?}"),
            format!("{:?}", b.0),
            "{label} step {step}"
        );
    }
    (proven, refused, taken)
}

/// SGD and SGD with momentum: ordinary steps are proven and give the two-pass bits;
/// steps at every scale up to `f32::MAX` give the two-pass results and refusals.
#[test]
fn sgd_steps_match_the_two_pass_step() {
    let mut totals = (0, 0, 0);
    for case in 0..2000usize {
        let mut rng = Rng::for_case("onepass sgd", &[case]);
        let ordinary = case < 100;
        let pick = |rng: &mut Rng, xs: &[f32]| xs[rng.below(xs.len() as u64) as usize];
        let lr = if ordinary {
            0.1
        } else {
            pick(&mut rng, &[0.0, 0.1, 1e10, 1e30, f32::MAX])
        };
        let wd = if ordinary {
            0.01
        } else {
            pick(&mut rng, &[0.0, 0.01, 1e20, f32::MAX])
        };
        let (lo, hi) = if ordinary {
            (-10, 2)
        } else {
            [(-140, 40), (20, 70), (60, 128)][rng.below(3) as usize]
        };
        let values: Vec<f32> = (0..COUNT).map(|_| scaled(&mut rng, lo, hi)).collect();
        let mut g = rng.clone();
        let grad = move || {
            (0..COUNT)
                .map(|_| scaled(&mut g, lo, hi))
                .collect::<Vec<f32>>()
        };
        let counts = if case % 2 == 0 {
            let sgd = Sgd {
                lr,
                weight_decay: wd,
                decay_biases: rng.below(2) == 0,
            };
            compare(sgd, &values, 4, grad, &format!("sgd case {case}"))
        } else {
            let nesterov = rng.below(2) == 0;
            let config = SgdMomentumConfig {
                lr,
                momentum: if ordinary {
                    0.9
                } else {
                    pick(&mut rng, &[0.0, 0.9, 1.0, 3.0])
                },
                dampening: if nesterov {
                    0.0
                } else {
                    pick(&mut rng, &[0.0, 0.5, -2.0])
                },
                nesterov,
                weight_decay: wd,
                decay_biases: rng.below(2) == 0,
            };
            compare(
                SgdMomentum::<COUNT>::new(config),
                &values,
                4,
                grad,
                &format!("momentum case {case}"),
            )
        };
        if ordinary {
            assert_eq!(counts.0, 4, "case {case}: ordinary steps are proven");
        }
        totals = (
            totals.0 + counts.0,
            totals.1 + counts.1,
            totals.2 + counts.2,
        );
    }
    assert!(
        totals.0 > 1000 && totals.1 > 500 && totals.2 > totals.0,
        "{totals:?}"
    );
}
