//! Every optimizer against PyTorch 2.15 traces (host-tests/reference/golden/optim):
//! seven parameters driven by fixed gradients for 30 steps, the learning rate set
//! from the trace before each step. Our f32 must satisfy
//! `|ours − torch| ≤ 1e-6·max(1, |torch|)` against torch's f64 run; torch's own f32
//! run stays within 2.9e-7 of it (recorded in each file), and ours within 3.9e-7
//! (printed), so 1e-6 leaves room for f32 rounding of the coefficients (β₂ = 0.999 is
//! not an f32) but not for a wrong formula: every trace moves the parameters by far
//! more than 1e-6. (Before the bias corrections `1 − βᵗ` came from
//! `math::pow_complement`, `1 − powf(β, t)` put Adam at 2.2e-6.)
//!
//! The second test checks that the SIMD loop (eight parameters at a time) and the
//! scalar loop (one at a time) of each optimizer give the same bits.

use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, NAdam, NAdamConfig, Optimizer, RAdam,
    RAdamConfig, RmsProp, RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use std::collections::HashMap;
use std::path::PathBuf;

const N: usize = 7;

struct Trace {
    optimizer: String,
    params: HashMap<String, String>,
    init: Vec<f64>,
    steps: Vec<(f64, Vec<f64>, Vec<f64>)>,
}

fn parse(text: &str) -> Trace {
    let mut t = Trace {
        optimizer: String::new(),
        params: HashMap::new(),
        init: vec![],
        steps: vec![],
    };
    let mut lr = HashMap::new();
    let mut grad = HashMap::new();
    let nums =
        |it: std::str::SplitWhitespace| it.map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# optimizer=") {
            t.optimizer = rest.trim().to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        match it.next().unwrap() {
            "params" => {
                for kv in it {
                    let (k, v) = kv.split_once('=').unwrap();
                    t.params.insert(k.to_string(), v.to_string());
                }
            }
            "init" => t.init = nums(it),
            "lr" => {
                let step: usize = it.next().unwrap().parse().unwrap();
                lr.insert(step, nums(it)[0]);
            }
            "grad" => {
                let step: usize = it.next().unwrap().parse().unwrap();
                grad.insert(step, nums(it));
            }
            "param" => {
                let step: usize = it.next().unwrap().parse().unwrap();
                t.steps.push((lr[&step], grad[&step].clone(), nums(it)));
            }
            other => panic!("unknown line kind {other}"),
        }
    }
    t
}

fn get(t: &Trace, key: &str, default: f32) -> f32 {
    t.params.get(key).map_or(default, |v| v.parse().unwrap())
}

fn flag(t: &Trace, key: &str) -> bool {
    t.params.get(key).is_some_and(|v| v == "true")
}

/// One optimizer step at a given learning rate.
type Stepper = Box<dyn FnMut(f32, &mut [f32], &[f32])>;

fn build(t: &Trace) -> Stepper {
    fn boxed<O: Optimizer + 'static>(mut o: O) -> Stepper {
        Box::new(move |lr, p, g| {
            o.set_learning_rate(lr);
            o.step_slice(p, g).unwrap();
        })
    }
    let lr = get(t, "lr", 0.0);
    let betas = (get(t, "beta1", 0.9), get(t, "beta2", 0.999));
    let wd = get(t, "weight_decay", 0.0);
    let eps = get(t, "eps", 1e-8);
    match t.optimizer.as_str() {
        "SGD" if get(t, "momentum", 0.0) == 0.0 => boxed(Sgd {
            lr,
            weight_decay: wd,
            decay_biases: true,
        }),
        "SGD" => boxed(SgdMomentum::<N>::new(SgdMomentumConfig {
            lr,
            momentum: get(t, "momentum", 0.0),
            dampening: get(t, "dampening", 0.0),
            nesterov: flag(t, "nesterov"),
            weight_decay: wd,
            decay_biases: true,
        })),
        "Adagrad" => boxed(Adagrad::<N>::new(AdagradConfig {
            lr,
            lr_decay: get(t, "lr_decay", 0.0),
            weight_decay: wd,
            initial_accumulator_value: get(t, "initial_accumulator_value", 0.0),
            eps: get(t, "eps", 1e-10),
            decay_biases: true,
        })),
        // Each trace runs on the type with exactly the buffers its options need.
        "RMSprop" => {
            let c = RmsPropConfig {
                lr,
                alpha: get(t, "alpha", 0.99),
                eps,
                weight_decay: wd,
                momentum: get(t, "momentum", 0.0),
                centered: flag(t, "centered"),
                decay_biases: true,
            };
            match (c.centered, c.momentum > 0.0) {
                (false, false) => boxed(RmsProp::<N>::new(c)),
                (true, false) => boxed(RmsProp::<N, N, 0>::new(c)),
                (false, true) => boxed(RmsProp::<N, 0, N>::new(c)),
                (true, true) => boxed(RmsProp::<N, N, N>::new(c)),
            }
        }
        "Adam" | "AdamW" => {
            let c = AdamConfig {
                lr,
                betas,
                eps,
                weight_decay: wd,
                amsgrad: flag(t, "amsgrad"),
                decoupled_weight_decay: t.optimizer == "AdamW" || flag(t, "decoupled_weight_decay"),
                decay_biases: true,
            };
            if c.amsgrad {
                boxed(AmsGrad::<N>::new(c))
            } else {
                boxed(Adam::<N>::new(c))
            }
        }
        "RAdam" => boxed(RAdam::<N>::new(RAdamConfig {
            lr,
            betas,
            eps,
            weight_decay: wd,
            decoupled_weight_decay: flag(t, "decoupled_weight_decay"),
            decay_biases: true,
        })),
        "NAdam" => boxed(NAdam::<N>::new(NAdamConfig {
            lr,
            betas,
            eps,
            weight_decay: wd,
            momentum_decay: get(t, "momentum_decay", 4e-3),
            decoupled_weight_decay: flag(t, "decoupled_weight_decay"),
            decay_biases: true,
        })),
        other => panic!("no optimizer for {other}"),
    }
}

#[test]
fn every_optimizer_matches_its_pytorch_trace() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference/golden/optim");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "expected the committed traces in {}",
        dir.display()
    );
    let mut worst: HashMap<String, f64> = HashMap::new();
    for file in &files {
        let t = parse(&std::fs::read_to_string(file).unwrap());
        assert_eq!(t.init.len(), N);
        assert!(t.steps.len() >= 20, "{}", file.display());
        let mut step = build(&t);
        let mut p: Vec<f32> = t.init.iter().map(|&v| v as f32).collect();
        for (k, (lr, g, want)) in t.steps.iter().enumerate() {
            let g: Vec<f32> = g.iter().map(|&v| v as f32).collect();
            step(*lr as f32, &mut p, &g);
            for i in 0..N {
                let err = (p[i] as f64 - want[i]).abs() / want[i].abs().max(1.0);
                let w = worst.entry(t.optimizer.clone()).or_default();
                *w = w.max(err);
                assert!(
                    err <= 1e-6,
                    "{}: step {} element {i}: ours {} torch {} (scaled error {err:.3e})",
                    file.display(),
                    k + 1,
                    p[i],
                    want[i]
                );
            }
        }
    }
    let mut names: Vec<_> = worst.into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, err) in names {
        println!("{name}: largest scaled error {err:.2e}");
    }
}

/// Elements in `same_bits`: two vectors of the widest SIMD update loop (16 lanes with
/// AVX-512, 8 elsewhere) or more, and a scalar tail.
const WIDE: usize = 37;

/// Steps `opt` on all of `p` at once (SIMD for whole vectors, then the scalar tail) and
/// each element with its own single-parameter optimizer (scalar), and demands the same
/// bits.
fn same_bits<O: Optimizer, O1: Optimizer>(mut wide: O, narrow: impl Fn() -> O1) {
    let mut s = 0x1234_5678u32;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s as f32 / u32::MAX as f32 - 0.5) * 4.0
    };
    let mut p: Vec<f32> = (0..WIDE).map(|_| next()).collect();
    let mut singles: Vec<(O1, f32)> = p.iter().map(|&v| (narrow(), v)).collect();
    for _ in 0..12 {
        let g: Vec<f32> = (0..WIDE).map(|_| next()).collect();
        wide.step_slice(&mut p, &g).unwrap();
        for ((o, v), gi) in singles.iter_mut().zip(&g) {
            let mut one = [*v];
            o.step_slice(&mut one, &[*gi]).unwrap();
            *v = one[0];
        }
    }
    for (i, (_, v)) in singles.iter().enumerate() {
        assert_eq!(
            p[i].to_bits(),
            v.to_bits(),
            "element {i}: simd {} scalar {}",
            p[i],
            v
        );
    }
}

#[test]
fn simd_and_scalar_update_loops_agree_bit_for_bit() {
    let sgdm = SgdMomentumConfig {
        lr: 0.1,
        nesterov: true,
        weight_decay: 0.01,
        ..Default::default()
    };
    same_bits(SgdMomentum::<WIDE>::new(sgdm), || {
        SgdMomentum::<1>::new(sgdm)
    });
    same_bits(
        Sgd {
            lr: 0.1,
            weight_decay: 0.1,
            decay_biases: true,
        },
        || Sgd {
            lr: 0.1,
            weight_decay: 0.1,
            decay_biases: true,
        },
    );
    let ada = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.01,
        weight_decay: 0.01,
        ..Default::default()
    };
    same_bits(Adagrad::<WIDE>::new(ada), || Adagrad::<1>::new(ada));
    let rms = RmsPropConfig {
        centered: true,
        momentum: 0.9,
        weight_decay: 0.01,
        ..Default::default()
    };
    same_bits(RmsProp::<WIDE, WIDE, WIDE>::new(rms), || {
        RmsProp::<1, 1, 1>::new(rms)
    });
    let plain = RmsPropConfig {
        centered: false,
        momentum: 0.0,
        ..rms
    };
    same_bits(RmsProp::<WIDE>::new(plain), || RmsProp::<1>::new(plain));
    let adam = AdamConfig {
        amsgrad: true,
        weight_decay: 0.01,
        ..AdamConfig::adamw()
    };
    same_bits(AmsGrad::<WIDE>::new(adam), || AmsGrad::<1>::new(adam));
    let adam = AdamConfig {
        amsgrad: false,
        ..adam
    };
    same_bits(Adam::<WIDE>::new(adam), || Adam::<1>::new(adam));
    let radam = RAdamConfig {
        weight_decay: 0.01,
        ..Default::default()
    };
    same_bits(RAdam::<WIDE>::new(radam), || RAdam::<1>::new(radam));
    let nadam = NAdamConfig {
        weight_decay: 0.01,
        ..Default::default()
    };
    same_bits(NAdam::<WIDE>::new(nadam), || NAdam::<1>::new(nadam));
}
