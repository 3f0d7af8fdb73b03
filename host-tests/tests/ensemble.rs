//! Ensembles against f64 re-implementations: the members' logits computed in f64 from
//! their weights, softmax and mean in f64, the majority vote and its tie-break written
//! from the documented rule; snapshot timing against the cycle boundaries of SGDR
//! counted in integers.

use host_tests::check::assert_all_close;
use host_tests::Rng;
use microtrain::ensemble::{snapshot_due, Ensemble, EnsembleEvaluation, Prediction};
use microtrain::layers::{Dense, Params, Tanh};
use microtrain::loss::CrossEntropy;
use microtrain::optim::Sgd;
use microtrain::schedule::{CosineWarmRestarts, Lambda, Schedule};
use microtrain::train::{CallerBatchTrainer, Dataset, Trainer};
use microtrain::{seq, Batch, Error, Seq};

const IN: usize = 5;
const HIDDEN: usize = 7;
const OUT: usize = 4;
const B: usize = 6;
const K: usize = 5;
type Net = Seq![Dense<IN, HIDDEN>, Tanh, Dense<HIDDEN, OUT>];
type T = Trainer<Net, CrossEntropy, Sgd, B, IN, OUT>;

fn trainer() -> T {
    Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        0,
    )
}

/// Random weights, large enough that the members disagree.
fn randomize(model: &mut Net, rng: &mut Rng) {
    model.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = rng.uniform(-1.5, 1.5);
        }
    });
}

/// The logits of `model` for one sample, in f64 from its f32 weights.
fn logits_f64(model: &Net, x: &[f32]) -> [f64; OUT] {
    let (d1, (_, d2)) = model;
    let h: Vec<f64> = (0..HIDDEN)
        .map(|j| {
            let s: f64 = (0..IN)
                .map(|i| f64::from(d1.weight.0[j][i]) * f64::from(x[i]))
                .sum();
            (s + f64::from(d1.bias.0[j])).tanh()
        })
        .collect();
    core::array::from_fn(|c| {
        let s: f64 = (0..HIDDEN)
            .map(|j| f64::from(d2.weight.0[c][j]) * h[j])
            .sum();
        s + f64::from(d2.bias.0[c])
    })
}

fn softmax_f64(z: &[f64; OUT]) -> [f64; OUT] {
    let m = z.iter().copied().fold(f64::MIN, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    core::array::from_fn(|c| e[c] / s)
}

/// The reference prediction of one sample: mean probabilities, votes, the class of
/// the mean, the vote's class; and the smallest margin that decides any of them.
struct Reference {
    mean: [f64; OUT],
    votes: [u16; OUT],
    average_class: usize,
    vote_class: usize,
    margin: f64,
}

fn reference(members: &[Net], x: &[f32]) -> Reference {
    let mut mean = [0.0; OUT];
    let mut votes = [0u16; OUT];
    let mut margin = f64::INFINITY;
    for m in members {
        let z = logits_f64(m, x);
        let p = softmax_f64(&z);
        for c in 0..OUT {
            mean[c] += p[c] / members.len() as f64;
        }
        let mut order: Vec<usize> = (0..OUT).collect();
        order.sort_by(|&a, &b| z[b].total_cmp(&z[a]));
        votes[order[0]] += 1;
        margin = margin.min(z[order[0]] - z[order[1]]);
    }
    let mut by_mean: Vec<usize> = (0..OUT).collect();
    by_mean.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]));
    margin = margin.min(mean[by_mean[0]] - mean[by_mean[1]]);
    let top = *votes.iter().max().unwrap();
    let tied: Vec<usize> = (0..OUT).filter(|&c| votes[c] == top).collect();
    let vote_class = *tied
        .iter()
        .max_by(|&&a, &&b| mean[a].total_cmp(&mean[b]).then(b.cmp(&a)))
        .unwrap();
    for &a in &tied {
        for &b in &tied {
            if a != b {
                margin = margin.min((mean[a] - mean[b]).abs());
            }
        }
    }
    Reference {
        mean,
        votes,
        average_class: by_mean[0],
        vote_class,
        margin,
    }
}

fn members(seed: &str) -> Vec<Net> {
    let mut rng = Rng::for_case(seed, &[K]);
    (0..K)
        .map(|_| {
            let mut m = trainer().model;
            randomize(&mut m, &mut rng);
            m
        })
        .collect()
}

#[test]
fn average_probabilities_and_votes_match_f64() {
    let members = members("ensemble probabilities");
    let mut t = trainer();
    let mut ensemble = Ensemble::<{ Net::COUNT }, { Net::BUFFERS }, K>::new();
    for m in &members {
        let mut m = *m;
        ensemble.push(&mut m);
    }
    let mut rng = Rng::for_case("ensemble inputs", &[B]);
    let mut own = members[0];
    randomize(&mut own, &mut rng);
    t.model = own;
    let mut checked = 0;
    for _ in 0..20 {
        let mut x = Batch::<B, IN>::zeros();
        for v in x.as_mut_slice() {
            *v = rng.uniform(-2.0, 2.0);
        }
        let mut out = Prediction::new();
        ensemble.predict(&mut t, &x, &mut out).unwrap();
        assert_eq!(t.model, own, "the trainer's model is swapped back");
        for r in 0..B {
            let want = reference(&members, &x.0[r]);
            // Probabilities ≤ 1: f32 forward, softmax and mean stay within a few 1e-7.
            assert_all_close(
                &out.probabilities.0[r],
                &want.mean,
                &[2e-6; OUT],
                "mean probability",
            );
            if want.margin < 1e-4 {
                continue; // a near tie that f32 rounding may decide either way
            }
            checked += 1;
            assert_eq!(out.votes[r], want.votes, "votes");
            assert_eq!(
                out.average_class(r),
                want.average_class,
                "class of the mean"
            );
            assert_eq!(out.vote_class(r), want.vote_class, "class of the vote");
        }
    }
    assert!(checked > 100, "only {checked} rows away from ties");
}

#[test]
fn vote_ties_break_by_mean_probability_then_lower_class() {
    // Four one-layer members: two vote for class 1, two for class 2.
    type Lin = Dense<1, 3>;
    let mut t: Trainer<Lin, CrossEntropy, Sgd, 1, 1, 3> =
        Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    let mut e = Ensemble::<6, 0, 4>::new();
    let push = |e: &mut Ensemble<6, 0, 4>, bias: [f32; 3]| {
        let mut m = Lin::zeros();
        m.bias.0 = bias;
        e.push(&mut m);
    };
    let x = microtrain::Matrix([[0.0]]);
    let mut out = Prediction::new();
    // Symmetric members: equal mean probabilities of classes 1 and 2 → the lower, 1.
    for bias in [
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
    ] {
        push(&mut e, bias);
    }
    e.predict(&mut t, &x, &mut out).unwrap();
    assert_eq!(out.votes[0], [0, 2, 2]);
    assert_eq!(out.probabilities.0[0][1], out.probabilities.0[0][2]);
    assert_eq!(out.vote_class(0), 1);
    // A more confident vote for class 2 → 2, though 1 comes first.
    e.clear();
    for bias in [
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 3.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
    ] {
        push(&mut e, bias);
    }
    e.predict(&mut t, &x, &mut out).unwrap();
    assert_eq!(out.votes[0], [0, 2, 2]);
    assert_eq!(out.vote_class(0), 2);
    // Equal logits within a member: its vote goes to the first (PyTorch's argmax).
    e.clear();
    push(&mut e, [1.0, 1.0, 0.0]);
    e.predict(&mut t, &x, &mut out).unwrap();
    assert_eq!(out.votes[0], [1, 0, 0]);
    assert_eq!(out.average_class(0), 0);
}

#[test]
fn evaluation_matches_f64_over_partial_batches() {
    let members = members("ensemble evaluation");
    let mut t = trainer();
    let mut ensemble = Ensemble::<{ Net::COUNT }, { Net::BUFFERS }, K>::new();
    for m in &members {
        ensemble.push(&mut { *m });
    }
    let n = 4 * B + 3; // a partial last batch
    let mut rng = Rng::for_case("ensemble evaluation data", &[n]);
    let x = rng.uniform_vec(n * IN, -2.0, 2.0);
    let y: Vec<u32> = (0..n).map(|_| rng.below(OUT as u64) as u32).collect();
    let data = Dataset::new(&x, IN, &y, 1).unwrap();
    let got: EnsembleEvaluation = ensemble.evaluate(&mut t, &data).unwrap();
    let (mut loss, mut avg_hits, mut vote_hits) = (0.0, 0, 0);
    for i in 0..n {
        let want = reference(&members, &x[i * IN..(i + 1) * IN]);
        assert!(
            want.margin > 1e-4,
            "sample {i} is a near tie; change the seed"
        );
        loss -= want.mean[y[i] as usize].ln() / n as f64;
        avg_hits += usize::from(want.average_class == y[i] as usize);
        vote_hits += usize::from(want.vote_class == y[i] as usize);
    }
    assert!(
        (f64::from(got.loss) - loss).abs() < 1e-5 * loss.max(1.0),
        "{got:?} vs {loss}"
    );
    assert_eq!(got.average_accuracy, avg_hits as f32 / n as f32);
    assert_eq!(got.vote_accuracy, vote_hits as f32 / n as f32);
}

/// An ensemble runs through a trainer without a batch buffer of its own
/// (`CallerBatchTrainer`) as through a gathering one: the same predictions and the
/// same evaluation, bit for bit.
#[test]
fn a_caller_batch_trainer_serves_an_ensemble_bit_for_bit() {
    let members = members("ensemble caller batches");
    let mut gathering = trainer();
    let mut caller: CallerBatchTrainer<Net, CrossEntropy, Sgd, B, IN, OUT> = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        0,
    );
    let mut ensemble = Ensemble::<{ Net::COUNT }, { Net::BUFFERS }, K>::new();
    for m in &members {
        ensemble.push(&mut { *m });
    }
    let n = 2 * B + 1;
    let mut rng = Rng::for_case("ensemble caller batches data", &[n]);
    let x = rng.uniform_vec(n * IN, -2.0, 2.0);
    let y: Vec<u32> = (0..n).map(|_| rng.below(OUT as u64) as u32).collect();
    let data = Dataset::new(&x, IN, &y, 1).unwrap();
    let want = ensemble.evaluate(&mut gathering, &data).unwrap();
    let got = ensemble.evaluate(&mut caller, &data).unwrap();
    assert_eq!(got.loss.to_bits(), want.loss.to_bits());
    assert_eq!(got.average_accuracy, want.average_accuracy);
    assert_eq!(got.vote_accuracy, want.vote_accuracy);
    let mut batch = Batch::<B, IN>::zeros();
    batch.as_mut_slice().copy_from_slice(&x[..B * IN]);
    let (mut a, mut b) = (Prediction::new(), Prediction::new());
    ensemble.predict(&mut gathering, &batch, &mut a).unwrap();
    ensemble.predict(&mut caller, &batch, &mut b).unwrap();
    host_tests::check::assert_bits_eq(
        a.probabilities.as_slice(),
        b.probabilities.as_slice(),
        "ensemble probabilities",
    );
    assert_eq!(a.votes, b.votes);
}

#[test]
fn full_ensemble_replaces_its_oldest_member() {
    let mut e = Ensemble::<3, 0, 3>::new();
    let mut d = Dense::<2, 1>::zeros();
    for k in 0..7 {
        d.bias.0 = [k as f32];
        let slot = e.push(&mut d);
        assert_eq!(slot, k % 3);
    }
    let kept: Vec<f32> = (0..3).map(|i| e.member(i).unwrap().params[2]).collect();
    assert_eq!(kept, [6.0, 4.0, 5.0]); // the last three pushed
    assert_eq!(e.len(), 3);
    assert!(e.member(3).is_none());
    assert_eq!(
        Ensemble::<10, 4, 3>::BYTES,
        4 * 3 * (10 + 4) + 2 * size_of::<usize>()
    );
}

#[test]
fn bad_input_is_refused_before_any_member_runs() {
    let mut t = trainer();
    let mut e = Ensemble::<{ Net::COUNT }, { Net::BUFFERS }, K>::new();
    let x = vec![0.5; 3 * IN];
    let data = Dataset::new(&x, IN, &[0u32, 1, 2], 1).unwrap();
    assert_eq!(
        e.evaluate(&mut t, &data),
        Err(Error::Empty { what: "ensemble" })
    );
    let mut out = Prediction::new();
    assert_eq!(
        e.predict(&mut t, &Batch::zeros(), &mut out),
        Err(Error::Empty { what: "ensemble" })
    );
    let mut rng = Rng::for_case("bad input", &[]);
    let mut member = t.model;
    randomize(&mut member, &mut rng);
    e.push(&mut member);
    let before = t.model;
    let bad = Dataset::new(&x, IN, &[0u32, 4, 2], 1).unwrap();
    assert_eq!(
        e.evaluate(&mut t, &bad),
        Err(Error::Label {
            sample: 1,
            label: 4,
            classes: OUT
        })
    );
    let narrow = Dataset::new(&x, 3, &[0u32; 5], 1).unwrap();
    assert_eq!(
        e.evaluate(&mut t, &narrow),
        Err(Error::Shape {
            what: "features per sample",
            expected: IN,
            found: 3
        })
    );
    assert_eq!(t.model, before);
}

/// The last step of every SGDR cycle of at least two steps, counted in integers:
/// cycle `i` lasts `T_0·T_mult^i` steps.
fn cycle_ends(t_0: u64, t_mult: u64, horizon: u64) -> Vec<u32> {
    let (mut start, mut len, mut ends) = (0u64, t_0, Vec::new());
    while start < horizon {
        if len >= 2 && start + len - 1 < horizon {
            ends.push((start + len - 1) as u32);
        }
        start += len;
        len *= t_mult;
    }
    ends
}

#[test]
fn snapshots_fall_on_the_last_step_of_each_sgdr_cycle() {
    const HORIZON: u32 = 400;
    for t_0 in 1..=6u32 {
        for t_mult in 1..=3u32 {
            for eta_min in [0.0, 0.01] {
                let s = CosineWarmRestarts {
                    t_mult,
                    eta_min,
                    ..CosineWarmRestarts::new(0.1, t_0)
                };
                let due: Vec<u32> = (0..HORIZON).filter(|&t| snapshot_due(&s, t)).collect();
                let want = cycle_ends(u64::from(t_0), u64::from(t_mult), u64::from(HORIZON));
                assert_eq!(due, want, "T_0 {t_0}, T_mult {t_mult}, eta_min {eta_min}");
                // Each is the lowest rate of its cycle, by the f64 formula.
                let mut start = 0u32;
                for &end in &want {
                    let len = f64::from(end + 1 - start);
                    let lr = |t: u32| {
                        let cur = f64::from(t - start);
                        eta_min as f64
                            + (0.1 - eta_min as f64)
                                * (1.0 + (std::f64::consts::PI * cur / len).cos())
                                / 2.0
                    };
                    assert!((start..end).all(|t| lr(t) > lr(end)));
                    start = end + 1;
                }
            }
        }
    }
}

#[test]
fn snapshots_of_a_triangular_cycle_fall_on_its_bottoms_only() {
    // Triangular cyclic rate (Smith 2017): up for 4 steps, down for 4, from 0.1·0.1.
    let tri = Lambda {
        base_lr: 0.1,
        f: |t: u32| {
            let phase = t % 8;
            let up = if phase <= 4 { phase } else { 8 - phase };
            0.1 + 0.9 * up as f32 / 4.0
        },
    };
    let due: Vec<u32> = (0..40).filter(|&t| snapshot_due(&tri, t)).collect();
    assert_eq!(due, [8, 16, 24, 32]);
    assert!(due
        .iter()
        .all(|&t| tri.learning_rate(t) == tri.learning_rate(0)));
}
