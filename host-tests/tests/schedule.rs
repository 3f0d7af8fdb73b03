//! Learning-rate schedules and reduce-on-plateau against PyTorch.
//!
//! The golden traces in `reference/golden/sched/` and `reference/golden/plateau/` were
//! written by `reference/make_golden.py` (torch float64, chainable `scheduler.step()`
//! once per epoch; see `reference/README.md`). Every schedule is built from the
//! trace's own `params` line, so the test follows the file if the generator changes.
//!
//! Tolerance: the project-wide `|ours − torch| ≤ 1e-5·max(1, |torch|)` (our `f32`
//! against torch's `f64`), and, because every rate here is ≤ 0.1 where that bound is
//! loose, also the relative `|ours − torch| ≤ 1e-5·|torch| + ε_f32·peak`, where `peak`
//! is the largest rate of the trace. The floor (1.2·10⁻⁸ for peak 0.1) is the `f32`
//! rounding of a formula whose terms are as large as the peak: it covers the exact 0s
//! of `PolynomialLR` and the end of `OneCycleLR`, where `1 + cos(x)` near `x = π`
//! cancels (t = 58: |d| = 1.5·10⁻⁹ on 1.4·10⁻⁴, 1.07·10⁻⁵ relative). The printed
//! report gives both measures per trace. The plateau traces must in addition reduce
//! at exactly the same epochs.

use microtrain::schedule::{
    Anneal, Constant, Cosine, CosineWarmRestarts, Exponential, Goal, InverseSqrt, InverseTime,
    Lambda, Linear, MultiStep, NaturalExpDecay, OneCycle, PlateauConfig, Polynomial,
    ReduceOnPlateau, Schedule, Scheduler, Sequential, StepDecay, Threshold,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------
// The golden files
// ---------------------------------------------------------------------------------

/// One golden trace: its `params` line and its data lines, by keyword.
struct Trace {
    name: String,
    params: BTreeMap<String, String>,
    /// Keyword (`lr`, `metric`, `momentum`) → the values in file order, with `t`.
    data: BTreeMap<String, Vec<(u32, f64)>>,
}

impl Trace {
    fn read(path: &Path) -> Trace {
        let text = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut params = BTreeMap::new();
        let mut data: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
        let mut params_lines = 0;
        for (n, line) in text.lines().enumerate() {
            let mut words = line.split(' ');
            let Some(key) = words.next() else { continue };
            let at = || format!("{}:{}: {line:?}", path.display(), n + 1);
            match key {
                "" => {}
                k if k.starts_with('#') => {}
                "params" => {
                    params_lines += 1;
                    for kv in words {
                        let (k, v) = kv
                            .split_once('=')
                            .unwrap_or_else(|| panic!("bad parameter in {}", at()));
                        params.insert(k.to_string(), v.to_string());
                    }
                }
                _ => {
                    let t = words.next().and_then(|w| w.parse::<u32>().ok());
                    let v = words.next().and_then(|w| w.parse::<f64>().ok());
                    let (Some(t), Some(v), None) = (t, v, words.next()) else {
                        panic!("bad data line {}", at());
                    };
                    assert!(v.is_finite(), "non-finite value in {}", at());
                    data.entry(key.to_string()).or_default().push((t, v));
                }
            }
        }
        assert_eq!(
            params_lines,
            1,
            "{}: expected one params line",
            path.display()
        );
        for (key, rows) in &data {
            let first = rows[0].0;
            for (i, &(t, _)) in rows.iter().enumerate() {
                assert_eq!(t, first + i as u32, "{name}: {key} lines out of order");
            }
        }
        Trace { name, params, data }
    }

    fn text(&self, key: &str) -> &str {
        self.params
            .get(key)
            .unwrap_or_else(|| panic!("{}: no parameter {key}", self.name))
    }

    fn float(&self, key: &str) -> f32 {
        let v: f64 = self.text(key).parse().unwrap_or_else(|e| {
            panic!("{}: parameter {key}: {e}", self.name);
        });
        v as f32
    }

    fn int(&self, key: &str) -> u32 {
        self.text(key).parse().unwrap_or_else(|e| {
            panic!("{}: parameter {key}: {e}", self.name);
        })
    }

    fn flag(&self, key: &str) -> bool {
        match self.text(key) {
            "true" => true,
            "false" => false,
            other => panic!("{}: parameter {key}={other} is not a boolean", self.name),
        }
    }

    fn rows(&self, key: &str) -> &[(u32, f64)] {
        self.data
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("{}: no {key} lines", self.name))
    }
}

fn golden(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference/golden")
        .join(kind)
}

/// Every `*.txt` trace of one kind, sorted by name.
fn traces(kind: &str) -> Vec<Trace> {
    let dir = golden(kind);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no traces in {}", dir.display());
    paths.iter().map(|p| Trace::read(p)).collect()
}

// ---------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------

/// The largest deviations of one series from torch's.
#[derive(Default)]
struct Deviation {
    /// max |ours − torch| / max(1, |torch|): the project-wide measure.
    normalised: f64,
    /// max |ours − torch| / |torch| over the non-zero torch values.
    relative: f64,
    count: usize,
}

/// Compares `ours(t)` with every `(t, torch)` row, panicking with the whole picture on
/// the first value outside either tolerance.
fn compare(what: &str, rows: &[(u32, f64)], ours: impl Fn(u32) -> f32) -> Deviation {
    let mut dev = Deviation::default();
    let peak = rows.iter().fold(0.0f64, |m, &(_, v)| m.max(v.abs()));
    let floor = f64::from(f32::EPSILON) * peak;
    for &(t, torch) in rows {
        let got = f64::from(ours(t));
        let diff = (got - torch).abs();
        let normalised = diff / torch.abs().max(1.0);
        let ok = normalised <= 1e-5 && diff <= 1e-5 * torch.abs() + floor;
        assert!(
            ok,
            "{what}, t = {t}: ours {got:e} vs torch {torch:e}: |diff| = {diff:e} \
             ({:e} relative)",
            diff / torch.abs()
        );
        dev.normalised = dev.normalised.max(normalised);
        if torch != 0.0 {
            dev.relative = dev.relative.max(diff / torch.abs());
        }
        dev.count += 1;
    }
    dev
}

fn report(what: &str, dev: &Deviation) {
    println!(
        "{what:45} {:3} values  max rel {:9.3e}  max |d|/max(1,|torch|) {:9.3e}",
        dev.count, dev.relative, dev.normalised
    );
}

// ---------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------

/// The schedule a golden trace describes, built from its `params` line.
fn schedule_for(trace: &Trace) -> Box<dyn Schedule> {
    let base = trace.float("base_lr");
    match trace.name.as_str() {
        "steplr" => Box::new(StepDecay {
            gamma: trace.float("gamma"),
            ..StepDecay::new(base, trace.int("step_size"))
        }),
        "multisteplr" => {
            let list: Vec<u32> = trace
                .text("milestones")
                .split(',')
                .map(|m| m.parse().unwrap())
                .collect();
            let milestones: [u32; 3] = list.try_into().expect("three milestones");
            Box::new(MultiStep {
                gamma: trace.float("gamma"),
                ..MultiStep::new(base, milestones)
            })
        }
        "exponentiallr" => Box::new(Exponential::new(base, trace.float("gamma"))),
        "polynomiallr_p1" | "polynomiallr_p2" => Box::new(Polynomial {
            total_iters: trace.int("total_iters"),
            power: trace.float("power"),
            ..Polynomial::new(base)
        }),
        "linearlr_warmup" => Box::new(Linear {
            base_lr: base,
            start_factor: trace.float("start_factor"),
            end_factor: trace.float("end_factor"),
            total_iters: trace.int("total_iters"),
        }),
        "cosineannealinglr" => Box::new(Cosine {
            eta_min: trace.float("eta_min"),
            ..Cosine::new(base, trace.int("T_max"))
        }),
        "cosinewarmrestarts" => Box::new(CosineWarmRestarts {
            base_lr: base,
            t_0: trace.int("T_0"),
            t_mult: trace.int("T_mult"),
            eta_min: trace.float("eta_min"),
        }),
        "onecyclelr" | "onecyclelr_three_phase" => Box::new(one_cycle_for(trace)),
        "sequentiallr_warmup_cosine" => {
            assert_eq!(trace.text("warmup"), "LinearLR");
            assert_eq!(trace.text("then"), "CosineAnnealingLR");
            Box::new(Sequential {
                first: Linear {
                    base_lr: base,
                    start_factor: trace.float("warmup_start_factor"),
                    end_factor: trace.float("warmup_end_factor"),
                    total_iters: trace.int("warmup_total_iters"),
                },
                milestone: trace.int("milestones"),
                then: Cosine {
                    eta_min: trace.float("eta_min"),
                    ..Cosine::new(base, trace.int("T_max"))
                },
            })
        }
        "lambdalr_inv_sqrt_warmup" => {
            assert_eq!(trace.text("lambda"), "inv_sqrt_warmup");
            Box::new(InverseSqrt::new(base, trace.int("W")))
        }
        "lambdalr_inv_time" => {
            assert_eq!(trace.text("lambda"), "inv_time_decay");
            Box::new(InverseTime::new(base, trace.float("k")))
        }
        other => panic!("golden trace sched/{other}.txt has no schedule in this test"),
    }
}

fn one_cycle_for(trace: &Trace) -> OneCycle {
    let anneal = match trace.text("anneal_strategy") {
        "cos" => Anneal::Cos,
        "linear" => Anneal::Linear,
        other => panic!("anneal_strategy {other}"),
    };
    OneCycle {
        max_lr: trace.float("max_lr"),
        total_steps: trace.int("total_steps"),
        pct_start: trace.float("pct_start"),
        anneal,
        div_factor: trace.float("div_factor"),
        final_div_factor: trace.float("final_div_factor"),
        three_phase: trace.flag("three_phase"),
        base_momentum: trace.float("base_momentum"),
        max_momentum: trace.float("max_momentum"),
    }
}

/// The schedules whose traces we expect: a missing file is a failure, not a skip.
const SCHEDULE_TRACES: [&str; 13] = [
    "cosineannealinglr",
    "cosinewarmrestarts",
    "exponentiallr",
    "lambdalr_inv_sqrt_warmup",
    "lambdalr_inv_time",
    "linearlr_warmup",
    "multisteplr",
    "onecyclelr",
    "onecyclelr_three_phase",
    "polynomiallr_p1",
    "polynomiallr_p2",
    "sequentiallr_warmup_cosine",
    "steplr",
];

#[test]
fn schedules_match_pytorch() {
    let traces = traces("sched");
    for name in SCHEDULE_TRACES {
        assert!(
            traces.iter().any(|t| t.name == name),
            "golden trace sched/{name}.txt is missing"
        );
    }
    for trace in &traces {
        let schedule = schedule_for(trace);
        let rows = trace.rows("lr");
        assert_eq!(rows[0].0, 0, "{}: the lr lines start at t = 0", trace.name);
        let dev = compare(&trace.name, rows, |t| schedule.learning_rate(t));
        report(&trace.name, &dev);
        // The same values through the stateful helper, as a training loop sees them.
        let mut optimizer = microtrain::optim::Sgd::new(-1.0);
        let mut scheduler = Scheduler::start(&*schedule, &mut optimizer);
        let mut through_optimizer = vec![microtrain::optim::Optimizer::learning_rate(&optimizer)];
        for _ in 1..rows.len() {
            scheduler.step(&mut optimizer);
            through_optimizer.push(microtrain::optim::Optimizer::learning_rate(&optimizer));
        }
        for (&(t, _), &lr) in rows.iter().zip(&through_optimizer) {
            assert_eq!(
                lr,
                schedule.learning_rate(t),
                "{}: Scheduler at {t}",
                trace.name
            );
        }
    }
}

#[test]
fn one_cycle_momentum_matches_pytorch() {
    for name in ["onecyclelr", "onecyclelr_three_phase"] {
        let trace = Trace::read(&golden("sched").join(format!("{name}.txt")));
        let one_cycle = one_cycle_for(&trace);
        let dev = compare(&format!("{name} momentum"), trace.rows("momentum"), |t| {
            one_cycle.momentum(t)
        });
        report(&format!("{name} (momentum)"), &dev);
    }
}

/// The seed's forms of the same schedules, checked against the PyTorch traces of
/// their PyTorch spellings.
#[test]
fn equivalent_forms_match_pytorch() {
    let read = |name: &str| Trace::read(&golden("sched").join(format!("{name}.txt")));

    // α₀·e^(−kt) with k = −ln γ is ExponentialLR(γ).
    let exp = read("exponentiallr");
    let k = -(exp.float("gamma") as f64).ln() as f32;
    let decay = NaturalExpDecay::new(exp.float("base_lr"), k);
    let dev = compare("exponentiallr as e^(-kt)", exp.rows("lr"), |t| {
        decay.learning_rate(t)
    });
    report("exponentiallr as NaturalExpDecay", &dev);

    // α₀(1 − t/T) is PolynomialLR(power=1).
    let p1 = read("polynomiallr_p1");
    let linear = Linear::decay(p1.float("base_lr"), p1.int("total_iters"));
    let dev = compare("polynomiallr_p1 as Linear::decay", p1.rows("lr"), |t| {
        linear.learning_rate(t)
    });
    report("polynomiallr_p1 as Linear::decay", &dev);

    // 1/t decay as a LambdaLR closure.
    let inv = read("lambdalr_inv_time");
    let lambda = Lambda {
        base_lr: inv.float("base_lr"),
        f: |t: u32| 1.0 / (1.0 + 0.1 * t as f32),
    };
    assert_eq!(inv.float("k"), 0.1);
    let dev = compare("lambdalr_inv_time as Lambda", inv.rows("lr"), |t| {
        lambda.learning_rate(t)
    });
    report("lambdalr_inv_time as Lambda", &dev);

    // Sequential::warmup builds the SequentialLR([LinearLR, CosineAnnealingLR]) recipe.
    let seq = read("sequentiallr_warmup_cosine");
    assert_eq!(seq.float("warmup_end_factor"), 1.0);
    let cosine = Cosine {
        eta_min: seq.float("eta_min"),
        ..Cosine::new(seq.float("base_lr"), seq.int("T_max"))
    };
    let warm = Sequential::warmup(
        seq.float("warmup_start_factor"),
        seq.int("warmup_total_iters"),
        cosine,
    );
    assert_eq!(warm.milestone, seq.int("milestones"));
    let dev = compare("sequentiallr as Sequential::warmup", seq.rows("lr"), |t| {
        warm.learning_rate(t)
    });
    report("sequentiallr_warmup_cosine as ::warmup", &dev);
}

// ---------------------------------------------------------------------------------
// Reduce on plateau
// ---------------------------------------------------------------------------------

fn plateau_config(trace: &Trace) -> PlateauConfig {
    PlateauConfig {
        goal: match trace.text("mode") {
            "min" => Goal::Min,
            "max" => Goal::Max,
            other => panic!("mode {other}"),
        },
        factor: trace.float("factor"),
        patience: trace.int("patience"),
        threshold: trace.float("threshold"),
        threshold_mode: match trace.text("threshold_mode") {
            "rel" => Threshold::Relative,
            "abs" => Threshold::Absolute,
            other => panic!("threshold_mode {other}"),
        },
        cooldown: trace.int("cooldown"),
        min_lr: trace.float("min_lr"),
        eps: trace.float("eps"),
    }
}

const PLATEAU_TRACES: [&str; 10] = [
    "plateau_abs_threshold",
    "plateau_cooldown",
    "plateau_eps",
    "plateau_eps_min_lr",
    "plateau_factor",
    "plateau_max",
    "plateau_min_default",
    "plateau_min_lr",
    "plateau_min_p3",
    "plateau_patience0",
];

#[test]
fn reduce_on_plateau_matches_pytorch() {
    let traces = traces("plateau");
    for name in PLATEAU_TRACES {
        assert!(
            traces.iter().any(|t| t.name == name),
            "golden trace plateau/{name}.txt is missing"
        );
    }
    for trace in &traces {
        let config = plateau_config(trace);
        let base = trace.float("base_lr");
        let metrics = trace.rows("metric");
        let torch = trace.rows("lr");
        assert_eq!(torch.len(), metrics.len() + 1, "{}", trace.name);
        assert_eq!(
            (torch[0].0, torch[0].1 as f32),
            (0, base),
            "{}: lr 0",
            trace.name
        );

        let mut plateau = ReduceOnPlateau::new(config, base);
        let mut ours = vec![plateau.learning_rate()];
        for &(_, m) in metrics {
            let m32 = m as f32;
            assert_eq!(
                f64::from(m32),
                m,
                "{}: metric {m} is not f32-exact",
                trace.name
            );
            ours.push(plateau.step(m32));
        }
        let dev = compare(&trace.name, torch, |t| ours[t as usize]);
        report(&trace.name, &dev);

        // The reductions happen at exactly torch's epochs.
        let changes = |lrs: &[f64]| -> Vec<usize> {
            (1..lrs.len()).filter(|&t| lrs[t] != lrs[t - 1]).collect()
        };
        let torch_lrs: Vec<f64> = torch.iter().map(|&(_, v)| v).collect();
        let our_lrs: Vec<f64> = ours.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(
            changes(&our_lrs),
            changes(&torch_lrs),
            "{}: reduction epochs",
            trace.name
        );
        assert_eq!(plateau.reductions() as usize, changes(&torch_lrs).len());

        // And the same through an optimizer.
        let mut sgd = microtrain::optim::Sgd::new(base);
        let mut plateau = ReduceOnPlateau::new(config, -1.0);
        for (&(_, m), &want) in metrics.iter().zip(&ours[1..]) {
            assert_eq!(plateau.step_optimizer(m as f32, &mut sgd), want);
            assert_eq!(sgd.lr, want);
        }
    }
}

// ---------------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------------

#[test]
fn every_schedule_starts_at_its_base_rate() {
    let base = 0.1;
    let schedules: [(&str, Box<dyn Schedule>); 12] = [
        ("constant", Box::new(Constant { lr: base })),
        ("step", Box::new(StepDecay::new(base, 3))),
        ("multistep", Box::new(MultiStep::new(base, [1, 2]))),
        ("exp decay", Box::new(NaturalExpDecay::new(base, 0.3))),
        ("exponential", Box::new(Exponential::new(base, 0.9))),
        ("1/t", Box::new(InverseTime::new(base, 2.0))),
        ("linear decay", Box::new(Linear::decay(base, 4))),
        ("polynomial", Box::new(Polynomial::new(base))),
        ("cosine", Box::new(Cosine::new(base, 7))),
        ("restarts", Box::new(CosineWarmRestarts::new(base, 3))),
        ("inv sqrt, no warm-up", Box::new(InverseSqrt::new(base, 1))),
        (
            "lambda",
            Box::new(Lambda {
                base_lr: base,
                f: |_| 1.0,
            }),
        ),
    ];
    for (name, s) in &schedules {
        assert_eq!(s.learning_rate(0), base, "{name}");
    }
}

#[test]
fn schedules_beyond_their_horizon() {
    let far = [100, 10_000, 1 << 24, u32::MAX];
    for t in far {
        assert_eq!(Linear::decay(0.1, 50).learning_rate(t), 0.0);
        assert_eq!(
            Polynomial {
                total_iters: 50,
                power: 2.0,
                ..Polynomial::new(0.1)
            }
            .learning_rate(t),
            0.0
        );
        let warm = Linear {
            start_factor: 0.1,
            total_iters: 10,
            ..Linear::new(0.1)
        };
        assert_eq!(warm.learning_rate(t), 0.1);
        assert_eq!(
            OneCycle::new(0.1, 60).learning_rate(t),
            OneCycle::new(0.1, 60).learning_rate(59)
        );
        assert_eq!(OneCycle::new(0.1, 60).momentum(t), 0.95);
        assert!(StepDecay::new(0.1, 1).learning_rate(t) >= 0.0);
        for s in [
            &Cosine::new(0.1, 20) as &dyn Schedule,
            &CosineWarmRestarts {
                t_mult: 2,
                ..CosineWarmRestarts::new(0.1, 10)
            },
            &CosineWarmRestarts::new(0.1, 1),
            &InverseSqrt::new(0.1, 8),
            &InverseTime::new(0.1, 0.1),
            &NaturalExpDecay::new(0.1, 0.1),
        ] {
            let lr = s.learning_rate(t);
            assert!((0.0..=0.1).contains(&lr), "t = {t}: {lr}");
        }
    }
    // The closed-form cosine is periodic with period 2·T_max (as torch's chainable form).
    let c = Cosine {
        eta_min: 0.001,
        ..Cosine::new(0.1, 20)
    };
    for t in 0..40 {
        assert_eq!(c.learning_rate(t), c.learning_rate(t + 40));
        assert_eq!(c.learning_rate(t), c.learning_rate(t + 4_000_000));
    }
    // With T_mult = 1 the restarts are periodic too, even for t near u32::MAX.
    let r = CosineWarmRestarts::new(0.1, 7);
    assert_eq!(r.cycle(u32::MAX), (u64::from(u32::MAX) % 7, 7));
    assert_eq!(r.learning_rate(7 * 1_000_000), 0.1);
}

#[test]
fn warm_restart_cycles() {
    let s = CosineWarmRestarts {
        t_mult: 2,
        ..CosineWarmRestarts::new(0.1, 10)
    };
    assert_eq!(s.cycle(0), (0, 10));
    assert_eq!(s.cycle(9), (9, 10));
    assert_eq!(s.cycle(10), (0, 20));
    assert_eq!(s.cycle(29), (19, 20));
    assert_eq!(s.cycle(30), (0, 40));
    assert_eq!(s.cycle(70), (0, 80));
    let (_, t_i) = s.cycle(u32::MAX);
    assert!(t_i > 1 << 31);
}

#[test]
fn milestones_count_like_pytorch() {
    // Empty: never decays.
    let none: MultiStep<0> = MultiStep::new(0.1, []);
    assert_eq!(none.learning_rate(u32::MAX), 0.1);
    // Unsorted and repeated milestones: γ once per listed milestone ≤ t.
    let s = MultiStep {
        gamma: 0.5,
        ..MultiStep::new(1.0, [20, 10, 10])
    };
    assert_eq!(s.learning_rate(9), 1.0);
    assert_eq!(s.learning_rate(10), 0.25);
    assert_eq!(s.learning_rate(19), 0.25);
    assert_eq!(s.learning_rate(20), 0.125);
    // A milestone at 0 applies from the start.
    assert_eq!(
        MultiStep {
            gamma: 0.5,
            ..MultiStep::new(1.0, [0])
        }
        .learning_rate(0),
        0.5
    );
}

#[test]
fn degenerate_sizes_do_not_panic() {
    // PyTorch divides by zero or rejects these; we give documented values.
    assert_eq!(
        StepDecay {
            gamma: 0.5,
            ..StepDecay::new(1.0, 0)
        }
        .learning_rate(2),
        0.25
    );
    assert_eq!(
        Linear {
            total_iters: 0,
            ..Linear::new(0.3)
        }
        .learning_rate(7),
        0.3 * (1.0 / 3.0)
    );
    assert_eq!(
        Polynomial {
            total_iters: 0,
            ..Polynomial::new(0.1)
        }
        .learning_rate(7),
        0.1
    );
    let c0 = Cosine::new(0.1, 0);
    assert_eq!(c0.learning_rate(1), Cosine::new(0.1, 1).learning_rate(1));
    let r0 = CosineWarmRestarts {
        t_mult: 0,
        ..CosineWarmRestarts::new(0.1, 0)
    };
    assert_eq!(r0.cycle(5), (0, 1));
    assert_eq!(InverseSqrt::new(0.1, 0).learning_rate(3), 0.05);
    for total in 0..5 {
        for pct in [0.0, 0.3, 0.5, 1.0] {
            for three_phase in [false, true] {
                let s = OneCycle {
                    pct_start: pct,
                    three_phase,
                    ..OneCycle::new(0.1, total)
                };
                for t in 0..6 {
                    let (lr, m) = (s.learning_rate(t), s.momentum(t));
                    assert!(lr.is_finite() && m.is_finite(), "{s:?} t = {t}: {lr} {m}");
                }
            }
        }
    }
    let mut scheduler = Scheduler::new(Constant { lr: 0.1 });
    let mut sgd = microtrain::optim::Sgd::new(1.0);
    for _ in 0..3 {
        scheduler.step(&mut sgd);
    }
    assert_eq!(scheduler.epoch(), 3);
}

#[test]
fn one_cycle_shape() {
    let s = OneCycle::new(0.1, 100);
    let peak = (0.3f32 * 100.0 - 1.0) as u32;
    assert!((s.learning_rate(0) - 0.004).abs() < 1e-9);
    assert!((s.learning_rate(peak) - 0.1).abs() < 1e-8);
    assert!((s.momentum(peak) - 0.85).abs() < 1e-7);
    for t in 1..=peak {
        assert!(s.learning_rate(t) > s.learning_rate(t - 1));
        assert!(s.momentum(t) < s.momentum(t - 1));
    }
    for t in peak + 1..100 {
        assert!(s.learning_rate(t) < s.learning_rate(t - 1));
    }
    assert!((s.learning_rate(99) - 4e-7).abs() < 1e-12);
    let lin = OneCycle {
        anneal: Anneal::Linear,
        ..s
    };
    assert!(
        (lin.learning_rate(peak / 2) - (0.004 + 0.096 * (peak / 2) as f32 / peak as f32)).abs()
            < 1e-7
    );
    // Three phases: back to the initial rate at 2·pct_start·N − 2, then down to min_lr.
    let three = OneCycle {
        three_phase: true,
        ..s
    };
    assert!((three.learning_rate(58) - 0.004).abs() < 1e-8);
    assert!((three.momentum(58) - 0.95).abs() < 1e-7);
    assert!((three.learning_rate(99) - 4e-7).abs() < 1e-12);
}

#[test]
fn sequential_nests() {
    let s = Sequential {
        first: Constant { lr: 1.0 },
        milestone: 2,
        then: Sequential {
            first: Constant { lr: 2.0 },
            milestone: 3,
            then: Linear::decay(3.0, 3),
        },
    };
    let got: Vec<f32> = (0..9).map(|t| s.learning_rate(t)).collect();
    let want = [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 2.0, 1.0, 0.0];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?}");
    }
    // Warm-up into a step decay: 5 warm-up steps, then the decay counts from 0.
    let w = Sequential::warmup(0.5, 4, StepDecay::new(0.2, 2));
    let got: Vec<f32> = (0..8).map(|t| w.learning_rate(t)).collect();
    let want = [0.1, 0.125, 0.15, 0.175, 0.2, 0.2, 0.02, 0.02];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-8, "{got:?}");
    }
}

// --- reduce on plateau -----------------------------------------------------------

fn run(config: PlateauConfig, metrics: &[f32]) -> Vec<f32> {
    let mut p = ReduceOnPlateau::new(config, 1.0);
    metrics.iter().map(|&m| p.step(m)).collect()
}

#[test]
fn plateau_defaults_are_pytorchs() {
    let c = PlateauConfig::default();
    assert_eq!(c, PlateauConfig::new());
    assert_eq!(c.goal, Goal::Min);
    assert_eq!(c.factor, 0.1);
    assert_eq!(c.patience, 10);
    assert_eq!(c.threshold, 1e-4);
    assert_eq!(c.threshold_mode, Threshold::Relative);
    assert_eq!(c.cooldown, 0);
    assert_eq!(c.min_lr, 0.0);
    assert_eq!(c.eps, 1e-8);
    // Patience 10: the 11th bad epoch in a row divides by 10.
    let mut metrics = vec![1.0];
    metrics.extend([1.0; 11]);
    let lrs = run(c, &metrics);
    assert_eq!(lrs[10], 1.0);
    assert_eq!(lrs[11], 0.1);
}

#[test]
fn plateau_factor_and_floor() {
    let c = PlateauConfig {
        patience: 0,
        factor: 0.5,
        min_lr: 0.2,
        ..PlateauConfig::new()
    };
    let lrs = run(c, &[1.0, 2.0, 2.0, 2.0, 2.0]);
    assert_eq!(lrs, [1.0, 0.5, 0.25, 0.2, 0.2]);
    // factor ≥ 1 (rejected by torch) never changes the rate.
    let c = PlateauConfig {
        patience: 0,
        factor: 1.5,
        ..PlateauConfig::new()
    };
    assert_eq!(run(c, &[1.0, 2.0, 2.0]), [1.0, 1.0, 1.0]);
    // A reduction of at most eps is skipped, but still resets the count and cools down.
    let c = PlateauConfig {
        patience: 1,
        factor: 0.9,
        eps: 0.2,
        cooldown: 1,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 1.0);
    p.step(1.0);
    p.step(1.0);
    assert_eq!(p.step(1.0), 1.0);
    assert_eq!(p.reductions(), 0);
    assert_eq!(p.bad_epochs(), 0);
    assert!(p.in_cooldown());
}

#[test]
fn plateau_thresholds() {
    // Relative 1e-4 (min): 0.99995 is not better than 1.0, 0.9998 is.
    let mut p = ReduceOnPlateau::new(PlateauConfig::new(), 0.1);
    p.step(1.0);
    p.step(0.99995);
    assert_eq!((p.best(), p.bad_epochs()), (1.0, 1));
    p.step(0.9998);
    assert_eq!((p.best(), p.bad_epochs()), (0.9998, 0));
    // Absolute 0.1 (max).
    let c = PlateauConfig {
        goal: Goal::Max,
        threshold_mode: Threshold::Absolute,
        threshold: 0.1,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 0.1);
    assert_eq!(p.best(), f32::NEG_INFINITY);
    p.step(0.5);
    p.step(0.55);
    assert_eq!((p.best(), p.bad_epochs()), (0.5, 1));
    p.step(0.65);
    assert_eq!((p.best(), p.bad_epochs()), (0.65, 0));
    // torch's relative threshold on a negative best (min): best·(1 − 1e-4) lies above
    // best, so a slightly *worse* value counts as better.
    let mut p = ReduceOnPlateau::new(PlateauConfig::new(), 0.1);
    p.step(-1.0);
    p.step(-0.99995);
    assert_eq!(p.best(), -0.99995);
}

#[test]
fn plateau_cooldown_ignores_bad_epochs_but_tracks_best() {
    let c = PlateauConfig {
        patience: 0,
        cooldown: 2,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 1.0);
    p.step(1.0);
    assert_eq!(p.step(2.0), 0.1); // reduce, cooldown 2
    assert_eq!(p.step(3.0), 0.1); // cooldown 1 left
    assert_eq!(p.step(0.5), 0.1); // better: best updated during the cooldown
    assert_eq!(p.best(), 0.5);
    assert!(!p.in_cooldown());
    assert!((p.step(0.6) - 0.01).abs() < 1e-9); // bad, patience 0: reduce again
}

#[test]
fn plateau_nan_metric_is_a_bad_epoch() {
    let c = PlateauConfig {
        patience: 2,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 0.1);
    p.step(0.5);
    assert_eq!(p.step(f32::NAN), 0.1);
    assert_eq!(p.step(f32::NAN), 0.1);
    assert_eq!(p.best(), 0.5);
    assert_eq!(p.bad_epochs(), 2);
    let lr = p.step(f32::NAN);
    assert!(
        (lr - 0.01).abs() < 1e-9,
        "third NaN exceeds patience 2: {lr}"
    );
    assert!(p.learning_rate().is_finite());
    // A NaN first metric leaves best at +∞, so the next finite value is better.
    let mut p = ReduceOnPlateau::new(PlateauConfig::new(), 0.1);
    p.step(f32::NAN);
    assert_eq!(p.best(), f32::INFINITY);
    p.step(3.0);
    assert_eq!((p.best(), p.bad_epochs()), (3.0, 0));
    // Infinite metrics are never better than +∞ (min) either.
    let mut p = ReduceOnPlateau::new(PlateauConfig::new(), 0.1);
    p.step(f32::INFINITY);
    assert_eq!(p.bad_epochs(), 1);
}

#[test]
fn plateau_reset_keeps_the_rate() {
    let c = PlateauConfig {
        patience: 0,
        ..PlateauConfig::new()
    };
    let mut p = ReduceOnPlateau::new(c, 1.0);
    p.step(1.0);
    p.step(1.0);
    p.reset();
    assert_eq!(p.best(), f32::INFINITY);
    assert_eq!(p.bad_epochs(), 0);
    assert!((p.learning_rate() - 0.1).abs() < 1e-8);
    assert_eq!(p.reductions(), 1);
}
