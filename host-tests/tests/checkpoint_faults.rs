//! Divergence: NaN and infinities injected into inputs, targets, the loss, parameter
//! gradients, backpropagated gradients and the update, at random steps, never leave a
//! non-finite parameter or buffer, leave parameters, buffers and optimizer state
//! exactly as before the step, and are counted as refused steps; the roll-back policy
//! restores the last good checkpoint with a lower learning rate. Run with
//! `--nocapture` to see the counts.

use microtrain::checkpoint::{self, Model, Persist};
use microtrain::init::{init_params, Init};
use microtrain::layers::{
    BatchNorm, Context, Dense, Input, Layer, Param, ParamKind, Params, Penalty, Relu,
};
use microtrain::loss::Mse;
use microtrain::optim::{Adam, AdamConfig, Optimizer, Sgd};
use microtrain::train::{Divergence, Guard, Trainer};
use microtrain::{seq, Batch, Error, Seq};
use rand_pcg::rand_core::SeedableRng;
use std::collections::BTreeMap;

/// Where a fault is injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Site {
    Input,
    Target,
    Loss,
    ParamGrad,
    BackpropGrad,
    Update,
}

const SITES: [Site; 6] = [
    Site::Input,
    Site::Target,
    Site::Loss,
    Site::ParamGrad,
    Site::BackpropGrad,
    Site::Update,
];
const BAD: [f32; 3] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];

/// A layer `y = g·x` with one trainable gain `g` that can poison its output, its
/// parameter gradient or the gradient it passes back.
#[derive(Debug)]
struct Inject {
    gain: [f32; 1],
    grad: [f32; 1],
    fault: Option<(Site, f32)>,
}

impl Params for Inject {
    const COUNT: usize = 1;

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        f(Param {
            value: &mut self.gain,
            grad: &mut self.grad,
            kind: ParamKind::Scale,
            fan_in: 1,
            fan_out: 1,
            penalty: Penalty::NONE,
        });
    }
}

impl<const B: usize, const N: usize> Layer<Batch<B, N>> for Inject {
    type Output = Batch<B, N>;
    type Cache = Batch<B, N>;

    fn forward(&self, x: &Batch<B, N>, cache: &mut Batch<B, N>, _: &mut Context) {
        for (y, x) in cache.0.iter_mut().flatten().zip(x.0.iter().flatten()) {
            *y = self.gain[0] * x;
        }
        if let Some((Site::Loss, v)) = self.fault {
            cache.0[0][0] = v;
        }
    }

    fn output(cache: &Batch<B, N>) -> &Batch<B, N> {
        cache
    }

    fn output_mut(cache: &mut Batch<B, N>) -> &mut Batch<B, N> {
        cache
    }

    fn backward_in_place(&mut self, x: Input<'_, Batch<B, N>>, dy: &mut Batch<B, N>) {
        for (d, x) in dy.0.iter().flatten().zip(x.get().0.iter().flatten()) {
            self.grad[0] += d * x;
        }
        if let Some((Site::ParamGrad, v)) = self.fault {
            self.grad[0] = v;
        }
        if let Some(dx) = x.into_grad() {
            for (o, d) in dx.0.iter_mut().flatten().zip(dy.0.iter().flatten()) {
                *o = self.gain[0] * d;
            }
            if let Some((Site::BackpropGrad, v)) = self.fault {
                dx.0[1][3] = v;
            }
        }
    }
}

// The gain sits before the batch normalisation, which mixes every row: a poisoned
// value reaches the loss and every gradient below it (after a ReLU it might be masked).
type Net = Seq![Dense<4, 8>, Inject, BatchNorm<8>, Relu, Dense<8, 2>];
const P: usize = <Net as Params>::COUNT;
type Tr<O> = Trainer<Net, Mse, O, 4, 4, 2>;

fn trainer<O: Optimizer>(opt: O, seed: u64) -> Box<Tr<O>> {
    let inject = Inject {
        gain: [1.0],
        grad: [0.0],
        fault: None,
    };
    let net = seq![
        Dense::zeros(),
        inject,
        BatchNorm::new(),
        Relu,
        Dense::zeros()
    ];
    let mut t = Box::new(Trainer::new(net, Mse, opt, seed));
    init_params(
        &mut t.model,
        Init::HeNormal,
        &mut rand_pcg::Pcg32::seed_from_u64(seed),
    );
    t
}

/// The bytes of the parameters, buffers and optimizer state.
fn snapshot<O: Optimizer + Persist>(t: &mut Tr<O>) -> Vec<u8> {
    let mut buf = vec![0; 1 << 14];
    let n = checkpoint::save(&mut (Model(&mut t.model), &mut t.optimizer), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn all_finite(model: &mut Net) -> bool {
    let mut finite = true;
    model.visit(&mut |p| finite &= p.value.iter().all(|v| v.is_finite()));
    model.visit_buffers(&mut |b| finite &= b.value.iter().all(|v| v.is_finite()));
    finite
}

/// `steps` steps on random batches, a fault at about one step in four; returns the
/// faults injected by site.
fn inject_faults<O: Optimizer + Persist>(
    name: &str,
    opt: O,
    steps: usize,
) -> BTreeMap<Site, usize> {
    let mut t = trainer(opt, 11);
    let mut rng = host_tests::Rng::for_case(name, &[steps]);
    let mut tally = BTreeMap::new();
    // Steps refused for a bad setting (an infinite learning rate) rather than a
    // non-finite value: the trainer does not count them as refused steps.
    let mut settings = 0;
    for step in 0..steps {
        let mut x = Batch::<4, 4>::zeros();
        let mut y = Batch::<4, 2>::zeros();
        for r in 0..4 {
            for c in 0..4 {
                x.0[r][c] = rng.uniform(-1.0, 1.0);
            }
            y.0[r] = [x.0[r][0] - x.0[r][1], x.0[r][2] * 0.5];
        }
        let fault = (rng.below(4) == 0).then(|| {
            let site = SITES[rng.below(SITES.len() as u64) as usize];
            (site, BAD[rng.below(3) as usize])
        });
        let lr = t.optimizer.learning_rate();
        let before = snapshot(&mut t);
        match fault {
            Some((Site::Input, v)) => x.0[rng.below(4) as usize][rng.below(4) as usize] = v,
            Some((Site::Target, v)) => y.0[rng.below(4) as usize][rng.below(2) as usize] = v,
            Some((Site::Update, v)) => t.optimizer.set_learning_rate(v.abs()),
            _ => {}
        }
        t.model.1 .0.fault = fault;
        let outcome = t.train_step(&x, &y);
        t.model.1 .0.fault = None;
        t.optimizer.set_learning_rate(lr);
        assert!(
            all_finite(&mut t.model),
            "{name}: step {step} ({fault:?}) left a non-finite value"
        );
        match fault {
            Some((site, v)) => {
                let err = outcome.expect_err("a poisoned step must be refused");
                assert!(
                    // An infinite or NaN learning rate is a refused setting now.
                    matches!(err, Error::Diverged { .. } | Error::NonFinite { .. })
                        || (site == Site::Update && matches!(err, Error::Setting { .. })),
                    "{name}: step {step}: {err}"
                );
                assert!(
                    snapshot(&mut t) == before,
                    "{name}: step {step}: {site:?} = {v} changed the state"
                );
                settings += usize::from(matches!(err, Error::Setting { .. }));
                *tally.entry(site).or_default() += 1;
            }
            None => {
                outcome.unwrap_or_else(|e| panic!("{name}: clean step {step}: {e}"));
            }
        }
    }
    let injected: usize = tally.values().sum();
    assert_eq!(
        t.refused_steps(),
        (injected - settings) as u64,
        "{name}: refused-step count"
    );
    assert_eq!(
        t.steps(),
        (steps - injected) as u64,
        "{name}: applied-step count"
    );
    tally
}

#[test]
fn injected_nan_and_infinities_never_leave_a_non_finite_weight() {
    let steps = 10_000;
    for (name, tally) in [
        ("SGD", inject_faults("SGD", Sgd::new(0.05), steps)),
        (
            "Adam",
            inject_faults("Adam", Adam::<P>::new(AdamConfig::default()), steps),
        ),
    ] {
        let injected: usize = tally.values().sum();
        assert!(
            SITES
                .iter()
                .all(|s| tally.get(s).copied().unwrap_or(0) > 50),
            "{tally:?}"
        );
        println!(
            "{name}: {steps} steps, {injected} with NaN/±inf injected, all refused, state unchanged, \
             weights finite; by site {tally:?}"
        );
    }
}

fn clean_batch() -> (Batch<4, 4>, Batch<4, 2>) {
    let mut x = Batch::<4, 4>::zeros();
    let mut y = Batch::<4, 2>::zeros();
    for r in 0..4 {
        x.0[r] = [r as f32 * 0.25, 0.5, -0.25, 1.0 - r as f32 * 0.5];
        y.0[r] = [x.0[r][0] - x.0[r][1], 0.5 * x.0[r][2]];
    }
    (x, y)
}

#[test]
fn roll_back_restores_the_last_good_checkpoint_with_a_lower_rate() {
    let mut t = trainer(
        Adam::<P>::new(AdamConfig {
            lr: 0.01,
            ..Default::default()
        }),
        3,
    );
    let (x, y) = clean_batch();
    let mut buf = vec![0; checkpoint::bytes::<Tr<Adam<P>>>()];
    let mut guard = Guard::new(
        Divergence::RollBack {
            factor: 0.5,
            limit: 3,
        },
        &mut buf,
    )
    .unwrap();
    // Nothing committed yet: the error passes through.
    t.model.1 .0.fault = Some((Site::Loss, f32::NAN));
    let err = t.train_step(&x, &y).unwrap_err();
    assert!(matches!(
        guard.recover(&mut t, err),
        Err(Error::Diverged { .. })
    ));
    t.model.1 .0.fault = None;

    for _ in 0..5 {
        t.train_step(&x, &y).unwrap();
    }
    guard.commit(&mut t).unwrap();
    let good = snapshot(&mut t);
    // Steps after the checkpoint, then a divergence: back to the checkpoint.
    for _ in 0..3 {
        t.train_step(&x, &y).unwrap();
    }
    assert!(snapshot(&mut t) != good);
    for (k, lr) in [(1, 0.005), (2, 0.0025), (3, 0.00125)] {
        t.model.1 .0.fault = Some((Site::ParamGrad, f32::INFINITY));
        let err = t.train_step(&x, &y).unwrap_err();
        assert_eq!(guard.recover(&mut t, err).unwrap(), lr, "roll-back {k}");
        assert_eq!(guard.rollbacks(), k);
        assert_eq!(
            t.refused_steps(),
            1 + k as u64,
            "the count survives the roll-back"
        );
        // The checkpoint's state, but the learning rate lowered.
        let lowered = t.optimizer.learning_rate();
        t.optimizer.set_learning_rate(0.01);
        assert!(snapshot(&mut t) == good, "roll-back {k}");
        t.optimizer.set_learning_rate(lowered);
    }
    // A fourth in a row is past the limit: the error passes through.
    let err = t.train_step(&x, &y).unwrap_err();
    assert_eq!(guard.recover(&mut t, err), Err(err)); // a finite loss: comparable
    t.model.1 .0.fault = None;
    // Training goes on at the lowered rate; a commit resets the count in a row.
    t.train_step(&x, &y).unwrap();
    guard.commit(&mut t).unwrap();
    t.model.1 .0.fault = Some((Site::Loss, f32::INFINITY));
    let err = t.train_step(&x, &y).unwrap_err();
    assert_eq!(guard.recover(&mut t, err).unwrap(), 0.00125 * 0.5);
    // Errors other than divergence are never rolled back.
    let bad = Error::NonFinite {
        what: "batch input",
        index: 0,
    };
    assert_eq!(guard.recover(&mut t, bad), Err(bad));
    // Refuse policy: the error passes through.
    let mut refuse = Guard::new(Divergence::Refuse, &mut []).unwrap();
    assert!(matches!(
        refuse.recover(&mut t, err),
        Err(Error::Diverged { .. })
    ));
    println!(
        "roll-back: {} roll-backs, {} refused steps",
        guard.rollbacks(),
        t.refused_steps()
    );
}
