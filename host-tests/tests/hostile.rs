//! Hostile settings: every configuration that used to be accepted and then trained
//! uphill, stuck, or silently corrupted the model is now refused with an
//! `Error::Setting` naming the setting and the value (or, where PyTorch allows the
//! setting, handled without NaN). Each test checks that nothing was modified.
//!
//! The tests under "old API" use only what existed before settings were checked, so
//! they show the behaviour change; the others check the new checked constructors.

use microtrain::init::{init_params, try_init_params, Init};
use microtrain::layers::{Context, Dense, Dropout, Layer, Mode, Params, Penalty, Zeroed};
use microtrain::loss::Mse;
use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::schedule::{
    Exponential, InverseTime, OneCycle, PlateauConfig, Polynomial, ReduceOnPlateau, Schedule,
    Scheduler,
};
use microtrain::train::{Clip, EarlyStopper, EarlyStopping, Trainer};
use microtrain::{Batch, Error, Matrix};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

fn param_bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

fn is_setting(e: Error, expected: &str) -> bool {
    matches!(e, Error::Setting { name, .. } if name == expected)
}

type Net = Dense<2, 1>;

fn trainer<O: Optimizer>(opt: O) -> Trainer<Net, Mse, O, 1, 2, 1> {
    let mut t = Trainer::new(Dense::zeros(), Mse, opt, 0);
    t.model.weight.0 = [[0.5, -0.25]];
    t
}

fn one_step<O: Optimizer>(t: &mut Trainer<Net, Mse, O, 1, 2, 1>) -> Result<(), Error> {
    t.train_step(&Matrix([[1.0, 2.0]]), &Matrix([[3.0]]))
        .map(|_| ())
}

// ---------------------------------------------------------------------------------
// Old API: behaviour that changed
// ---------------------------------------------------------------------------------

#[test]
fn negative_learning_rate_is_refused_before_touching_anything() {
    let mut w = [1.0, -1.0];
    let e = Sgd::new(-0.1).step_slice(&mut w, &[1.0, 1.0]).unwrap_err();
    assert!(is_setting(e, "SGD lr"), "{e}");
    assert_eq!(w, [1.0, -1.0]);

    let mut t = trainer(Sgd::new(-0.1));
    let before = param_bits(&mut t.model);
    assert!(is_setting(one_step(&mut t).unwrap_err(), "SGD lr"));
    assert_eq!(param_bits(&mut t.model), before);
    assert_eq!(t.steps(), 0);
}

#[test]
fn negative_weight_decay_is_refused() {
    let mut adam = Adam::<2>::new(AdamConfig {
        weight_decay: -0.1,
        ..Default::default()
    });
    let mut w = [1.0, 2.0];
    let e = adam.step_slice(&mut w, &[0.5, 0.5]).unwrap_err();
    assert!(is_setting(e, "Adam weight_decay"), "{e}");
    assert_eq!((w, adam.steps()), ([1.0, 2.0], 0));
    let mut sgd = SgdMomentum::<2>::new(SgdMomentumConfig {
        weight_decay: -1.0,
        ..Default::default()
    });
    assert!(is_setting(
        sgd.step_slice(&mut w, &[0.5, 0.5]).unwrap_err(),
        "SGD weight_decay"
    ));
}

#[test]
fn negative_penalty_is_refused_by_the_trainer() {
    let mut t = trainer(Sgd::new(0.1));
    t.model.penalty = Penalty { l2: -0.01, l1: 0.0 };
    let before = param_bits(&mut t.model);
    assert!(is_setting(one_step(&mut t).unwrap_err(), "Penalty l2"));
    assert_eq!(param_bits(&mut t.model), before);
    t.model.penalty = Penalty {
        l2: 0.0,
        l1: f32::NAN,
    };
    assert!(is_setting(one_step(&mut t).unwrap_err(), "Penalty l1"));
    assert_eq!(param_bits(&mut t.model), before);
}

#[test]
fn bad_clip_bounds_are_refused_by_the_trainer() {
    for clip in [Clip::Norm(-1.0), Clip::Value(-1.0), Clip::Norm(f32::NAN)] {
        let mut t = trainer(Sgd::new(0.1));
        t.clip = Some(clip);
        let before = param_bits(&mut t.model);
        let e = one_step(&mut t).unwrap_err();
        assert!(matches!(e, Error::Setting { .. }), "{clip:?}: {e}");
        assert_eq!(param_bits(&mut t.model), before, "{clip:?}");
    }
}

#[test]
fn bad_clip_bounds_leave_gradients_alone() {
    for clip in [Clip::Norm(-1.0), Clip::Value(-1.0), Clip::Value(f32::NAN)] {
        let mut d = Dense::<1, 1>::zeros();
        d.weight_grad.0 = [[3.0]];
        d.bias_grad.0 = [-4.0];
        assert_eq!(clip.apply(&mut d), 5.0);
        assert_eq!(
            (d.weight_grad.0, d.bias_grad.0),
            ([[3.0]], [-4.0]),
            "{clip:?}"
        );
    }
}

/// `Σg²` overflows `f32` although every gradient is finite: the clipped gradients
/// are `c·g/‖g‖`, computed here in `f64`.
#[test]
fn norm_clipping_survives_an_overflowing_sum_of_squares() {
    let mut d = Dense::<2, 1>::zeros();
    d.weight_grad.0 = [[3e38, -2e38]];
    d.bias_grad.0 = [1e38];
    let g = [3e38f64, -2e38, 1e38];
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    Clip::Norm(2.0).apply(&mut d);
    let got = [
        d.weight_grad.0[0][0],
        d.weight_grad.0[0][1],
        d.bias_grad.0[0],
    ];
    for (got, g) in got.iter().zip(g) {
        let want = 2.0 * g / norm;
        assert!(
            ((*got as f64) - want).abs() <= 1e-6 * want.abs(),
            "{got} vs {want}"
        );
    }
}

#[test]
fn dropout_of_one_outputs_zeros() {
    let d = Dropout::new(1.0);
    let x: Batch<1, 1024> = Matrix([[1.0; 1024]]);
    let mut cache = Zeroed::ZERO;
    let mut ctx = Context::new(Mode::Train, 11);
    // 8·2²⁰ draws: the old threshold kept each unit with probability ≈ 10⁻⁶, scaled
    // by ≈ 10⁶; the chance that none is kept is e⁻⁸.
    for _ in 0..8192 {
        d.forward(&x, &mut cache, &mut ctx);
        let y = <Dropout as Layer<Batch<1, 1024>>>::output(&cache);
        assert!(y.0[0].iter().all(|&v| v == 0.0));
    }
    assert_eq!(d.p(), 1.0);
}

#[test]
fn nan_normal_std_leaves_weights_untouched() {
    let mut net = Dense::<3, 2>::zeros();
    net.weight.0 = [[0.5; 3]; 2];
    let before = param_bits(&mut net);
    for std in [f32::NAN, -0.1, f32::INFINITY] {
        init_params(&mut net, Init::Normal { std }, &mut Pcg32::seed_from_u64(1));
        assert_eq!(param_bits(&mut net), before, "std {std}");
    }
}

/// Centred RMSprop with PyTorch's defaults and a constant gradient 1.75: rounding
/// makes `s − ḡ²` negative at step 1,240 (after 1,239 good ones), whose root was NaN, and every step after
/// was refused. With the clamp at 0 every step is taken. An `f64` run of the same
/// recurrence gives the reference for the first 500 steps, while `s − ḡ²` is still
/// well above its rounding error.
#[test]
fn centred_rmsprop_with_a_constant_gradient_never_sticks() {
    let c = RmsPropConfig {
        centered: true,
        ..Default::default()
    };
    let mut opt = RmsProp::<1, 1>::new(c);
    let mut w = [0.0f32];
    let (mut s, mut gbar, mut w64) = (0.0f64, 0.0f64, 0.0f64);
    let (alpha, lr, eps, g) = (c.alpha as f64, c.lr as f64, c.eps as f64, 1.75f64);
    for step in 1..=2000 {
        opt.step_slice(&mut w, &[1.75])
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert!(w[0].is_finite(), "step {step}");
        if step <= 500 {
            s = alpha * s + (1.0 - alpha) * g * g;
            gbar += (1.0 - alpha) * (g - gbar);
            w64 -= lr * g / ((s - gbar * gbar).sqrt() + eps);
            let tol = 1e-3 * w64.abs();
            assert!(
                (w[0] as f64 - w64).abs() <= tol,
                "step {step}: {} vs {w64}",
                w[0]
            );
        }
    }
}

/// Adam with `ε = 0` (allowed, as in PyTorch) and a gradient element that is exactly
/// 0: `m = v = 0` there, and the update is 0 instead of `0/0`. The other element
/// moves by `η` on the first step (`m̂/√v̂ = sign(g)`).
#[test]
fn adam_with_zero_eps_and_a_zero_gradient_steps() {
    let mut adam = Adam::<2>::new(AdamConfig {
        lr: 0.1,
        eps: 0.0,
        ..Default::default()
    });
    let mut w = [1.0f32, 1.0];
    for step in 1..=3 {
        adam.step_slice(&mut w, &[0.0, 1.0])
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert_eq!(w[0], 1.0);
        assert!((w[1] as f64 - (1.0 - 0.1 * step as f64)).abs() < 1e-6);
    }
}

#[test]
fn adagrad_negative_lr_decay_is_refused() {
    let mut opt = Adagrad::<1>::new(AdagradConfig {
        lr_decay: -1.0,
        ..Default::default()
    });
    let mut w = [1.0];
    let e = opt.step_slice(&mut w, &[1.0]).unwrap_err();
    assert_eq!(
        e,
        Error::Setting {
            name: "Adagrad lr_decay",
            value: -1.0,
            rule: "finite and at least 0"
        }
    );
    assert_eq!(w, [1.0]);
}

/// A negative momentum decay made `μₜ` huge, so that `Πμ` overflowed on a step that
/// was taken, after which every step was refused.
#[test]
fn nadam_schedule_settings_are_refused() {
    let mut opt = NAdam::<1>::new(NAdamConfig {
        momentum_decay: -1000.0,
        ..Default::default()
    });
    let mut w = [1.0];
    let e = opt.step_slice(&mut w, &[1.0]).unwrap_err();
    assert!(is_setting(e, "NAdam momentum_decay"), "{e}");
    let mut opt = NAdam::<1>::new(NAdamConfig {
        betas: (2.0, 0.999),
        ..Default::default()
    });
    assert!(is_setting(
        opt.step_slice(&mut w, &[1.0]).unwrap_err(),
        "NAdam betas.0"
    ));
    assert_eq!(w, [1.0]);
}

/// Schedules whose settings make the rate infinite, NaN or negative never write it.
#[test]
fn schedules_never_write_a_bad_rate() {
    fn run<S: Schedule>(schedule: S, epochs: u32) {
        let mut sgd = Sgd::new(0.1);
        let mut s = Scheduler::start(schedule, &mut sgd);
        for _ in 0..epochs {
            s.step(&mut sgd);
            let lr = sgd.learning_rate();
            assert!(lr.is_finite() && lr >= 0.0, "rate {lr}");
        }
    }
    run(Exponential::new(0.1, -2.0), 3); // negative on odd epochs
    run(Exponential::new(0.1, 1e10), 5); // overflows
    run(InverseTime::new(0.1, -1.0), 3); // 0.1/(1 − 1) at t = 1
    run(
        Polynomial {
            total_iters: 2,
            power: -1.0,
            ..Polynomial::new(0.1)
        },
        3,
    ); // 0^-1 at t = 2
    run(
        OneCycle {
            div_factor: 0.0,
            ..OneCycle::new(0.1, 10)
        },
        3,
    ); // max_lr/0
    run(
        OneCycle {
            final_div_factor: f32::NAN,
            ..OneCycle::new(0.1, 10)
        },
        12,
    );
}

/// A NaN threshold made no metric an improvement, so the rate was cut while the
/// metric improved.
#[test]
fn plateau_with_nan_threshold_does_not_cut_an_improving_rate() {
    let c = PlateauConfig {
        threshold: f32::NAN,
        patience: 0,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 0.1);
    for metric in [1.0, 0.5, 0.25, 0.125] {
        assert_eq!(p.step(metric), 0.1);
    }
    let mut sgd = Sgd::new(0.1);
    p.step_optimizer(0.1, &mut sgd);
    assert_eq!(sgd.learning_rate(), 0.1);
}

// ---------------------------------------------------------------------------------
// Checked constructors
// ---------------------------------------------------------------------------------

#[test]
fn setting_errors_name_the_setting_and_the_value() {
    let e = Adam::<1>::try_new(AdamConfig {
        betas: (1.0, 0.999),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "Adam betas.0 = 1: must be in [0, 1)");
    let e = Dropout::try_new(1.5).unwrap_err();
    assert_eq!(e.to_string(), "Dropout p = 1.5: must be in [0, 1]");
    let e = Clip::Norm(-1.0).check().unwrap_err();
    assert_eq!(
        e.to_string(),
        "Clip::Norm = -1: must be at least 0 (not NaN)"
    );
}

/// Checked constructors are `const`, so checked statics still compile.
#[test]
fn checked_constructors_work_in_statics() {
    static ADAM: Result<Adam<4>, Error> = Adam::try_new(AdamConfig {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        amsgrad: false,
        decoupled_weight_decay: false,
        decay_biases: true,
    });
    static DROP: Result<Dropout, Error> = Dropout::try_new(0.2);
    static CLIP: Result<Clip, Error> = Clip::Norm(1.0).check();
    static SGD: Result<Sgd, Error> = Sgd::try_new(-1.0);
    assert!(ADAM.is_ok() && DROP.is_ok() && CLIP.is_ok());
    assert!(is_setting(SGD.unwrap_err(), "SGD lr"));
}

#[test]
fn every_optimizer_refuses_its_bad_settings() {
    let cases: [(Result<(), Error>, &str); 10] = [
        (
            SgdMomentum::<1>::try_new(SgdMomentumConfig {
                momentum: f32::NAN,
                ..Default::default()
            })
            .map(|_| ()),
            "SGD momentum",
        ),
        (
            SgdMomentum::<1>::try_new(SgdMomentumConfig {
                nesterov: true,
                momentum: 0.0,
                ..Default::default()
            })
            .map(|_| ()),
            "SGD momentum",
        ),
        (
            Adam::<1>::try_new(AdamConfig {
                betas: (0.9, -0.1),
                ..Default::default()
            })
            .map(|_| ()),
            "Adam betas.1",
        ),
        (
            Adam::<1>::try_new(AdamConfig {
                eps: -1e-8,
                ..Default::default()
            })
            .map(|_| ()),
            "Adam eps",
        ),
        (
            RmsProp::<1>::try_new(RmsPropConfig {
                alpha: 1.5,
                ..Default::default()
            })
            .map(|_| ()),
            "RmsProp alpha",
        ),
        (
            RmsProp::<1>::try_new(RmsPropConfig {
                momentum: -0.5,
                ..Default::default()
            })
            .map(|_| ()),
            "RmsProp momentum",
        ),
        (
            Adagrad::<1>::try_new(AdagradConfig {
                initial_accumulator_value: -1.0,
                ..Default::default()
            })
            .map(|_| ()),
            "Adagrad initial_accumulator_value",
        ),
        (
            NAdam::<1>::try_new(NAdamConfig {
                lr: f32::INFINITY,
                ..Default::default()
            })
            .map(|_| ()),
            "NAdam lr",
        ),
        (
            microtrain::optim::RAdam::<1>::try_new(microtrain::optim::RAdamConfig {
                weight_decay: -1.0,
                ..Default::default()
            })
            .map(|_| ()),
            "RAdam weight_decay",
        ),
        (Sgd::try_new(f32::NAN).map(|_| ()), "SGD lr"),
    ];
    for (result, name) in cases {
        assert!(is_setting(result.unwrap_err(), name), "{name}");
    }
    // PyTorch's defaults all pass.
    assert!(SgdMomentumConfig::default().check().is_ok());
    assert!(RmsPropConfig::default().check().is_ok());
    assert!(AdagradConfig::default().check().is_ok());
    assert!(NAdamConfig::default().check().is_ok());
    assert!(AdamConfig::adamw().check().is_ok());
}

#[test]
fn layer_schedule_and_stopping_constructors_refuse_bad_settings() {
    assert!(Dropout::try_new(f32::NAN).is_err());
    assert!(Dropout::try_new(-0.1).is_err());
    assert_eq!(Dropout::try_new(1.0).map(|d| d.p()), Ok(1.0));
    assert!(Clip::Value(f32::NAN).check().is_err());
    assert!(Clip::Norm(f32::INFINITY).check().is_ok());
    assert!(is_setting(
        Penalty {
            l2: f32::INFINITY,
            l1: 0.0
        }
        .check()
        .unwrap_err(),
        "Penalty l2"
    ));
    let c = PlateauConfig {
        threshold: f32::NAN,
        ..PlateauConfig::new()
    };
    assert!(is_setting(
        ReduceOnPlateau::try_new(c, 0.1).unwrap_err(),
        "ReduceOnPlateau threshold"
    ));
    assert!(is_setting(
        ReduceOnPlateau::try_new(PlateauConfig::new(), -0.1).unwrap_err(),
        "ReduceOnPlateau lr"
    ));
    assert!(ReduceOnPlateau::new(c, 0.1).try_step(1.0).is_err());
    assert!(is_setting(
        EarlyStopper::<1>::try_new(EarlyStopping::new().min_delta(f32::NAN)).unwrap_err(),
        "EarlyStopping min_delta"
    ));
    let mut sgd = Sgd::new(0.1);
    let e = Scheduler::new(Exponential::new(0.1, f32::NAN))
        .try_apply(&mut sgd)
        .unwrap_err();
    assert!(is_setting(e, "Exponential gamma"), "{e}");
    assert_eq!(sgd.learning_rate(), 0.1);
    let mut d = Dense::<2, 2>::zeros();
    let e = try_init_params(
        &mut d,
        Init::Normal { std: f32::NAN },
        &mut Pcg32::seed_from_u64(0),
    )
    .unwrap_err();
    assert!(is_setting(e, "Init::Normal std"));
}

/// A normal initialisation whose σ·z would overflow is refused before drawing: the
/// sampler's |z| reaches √(−2 ln 2⁻²⁴) ≈ 5.77, so σ = 10³⁸ would write ±inf weights.
#[test]
fn normal_init_std_that_overflows_is_refused() {
    let mut d = Dense::<4, 4>::zeros();
    let mut rng = Pcg32::seed_from_u64(1);
    let err = try_init_params(&mut d, Init::Normal { std: 1e38 }, &mut rng).unwrap_err();
    assert!(is_setting(err, "Init::Normal std"), "{err}");
    assert!(d.weight.as_slice().iter().all(|&w| w == 0.0));
    // The largest accepted σ keeps every weight finite over many draws.
    let mut big = Dense::<64, 64>::zeros();
    for seed in 0..50 {
        let mut rng = Pcg32::seed_from_u64(seed);
        try_init_params(&mut big, Init::Normal { std: 5e37 }, &mut rng).unwrap();
        assert!(big.weight.as_slice().iter().all(|w| w.is_finite()));
    }
}

/// A batch or group norm whose `momentum` or `ε` was set to a bad value between steps,
/// anywhere in the model (inside a residual body here), is refused by `train_step`,
/// `evaluate` and `predict` with the setting's name, before anything moves.
#[test]
fn layer_settings_changed_between_steps_are_refused_before_anything_moves() {
    use microtrain::layers::{BatchNorm, LayerNorm, Relu, Residual};
    use microtrain::train::Dataset;
    type Net = (
        Dense<2, 3>,
        (Residual<(BatchNorm<3>, Relu)>, (LayerNorm<3>, Dense<3, 1>)),
    );
    type T = Trainer<Net, Mse, Sgd, 2, 2, 1>;
    type Spoil = (&'static str, fn(&mut T));
    let fresh = || -> T {
        let mut t = Trainer::new(
            (
                Dense::zeros(),
                (
                    Residual((BatchNorm::new(), Relu)),
                    (LayerNorm::new(), Dense::zeros()),
                ),
            ),
            Mse,
            Sgd::new(0.1),
            0,
        );
        t.model.0.weight.0 = [[0.5, -0.25], [0.1, 0.2], [-0.3, 0.4]];
        t.model.1 .1 .1.weight.0 = [[1.0, -1.0, 0.5]];
        t
    };
    let x = Matrix([[1.0, 2.0], [-1.0, 0.5]]);
    let y = Matrix([[1.0], [0.0]]);
    let inputs = [1.0, 2.0, -1.0, 0.5];
    let targets = [1.0, 0.0];
    let data = Dataset::new(&inputs, 2, &targets, 1).unwrap();
    let cases: [Spoil; 4] = [
        ("BatchNorm eps", |t| t.model.1 .0 .0 .0.eps = 0.0),
        ("BatchNorm momentum", |t| {
            t.model.1 .0 .0 .0.momentum = f32::NAN
        }),
        ("BatchNorm momentum", |t| t.model.1 .0 .0 .0.momentum = 1.5),
        ("GroupNorm eps", |t| t.model.1 .1 .0.eps = -1e-5),
    ];
    for (name, spoil) in cases {
        let mut t = fresh();
        t.train_step(&x, &y).unwrap();
        spoil(&mut t);
        let before = param_bits(&mut t.model);
        let err = t.train_step(&x, &y).unwrap_err();
        assert!(is_setting(err, name), "{name}: {err}");
        assert_eq!(param_bits(&mut t.model), before, "{name}: parameters moved");
        assert_eq!((t.steps(), t.refused_steps()), (1, 0), "{name}: counted");
        assert!(
            is_setting(t.evaluate(&data).unwrap_err(), name),
            "{name}: evaluate"
        );
        assert!(
            is_setting(t.predict(&x).unwrap_err(), name),
            "{name}: predict"
        );
    }
}
