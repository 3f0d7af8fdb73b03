//! Magnitude pruning, masks, rewinding and the masked optimizer, against a sort-based
//! reference written from the definition: of the `n` kept weights of a scope, the
//! `⌊p·n + ½⌋` smallest `|w|` go, ties by position.

use host_tests::Rng;
use microtrain::layers::{Dense, ParamKind, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig, Optimizer, Pass, Sgd, SgdMomentum, SgdMomentumConfig};
use microtrain::prune::{mask_words, Mask, Masked, RewindPoint, Scope};
use microtrain::train::{Dataset, Trainer};
use microtrain::{seq, Error, Seq};
use rand_pcg::rand_core::SeedableRng;

/// Tensors of 91, 13, 143, 11, 33 and 3 parameters: offsets off the 32-bit words, and a
/// tensor longer than the masked optimizer's 64-element pieces.
type Net = Seq![Dense<7, 13>, Relu, Dense<13, 11>, Relu, Dense<11, 3>];
const P: usize = <Net as Params>::COUNT;
const W: usize = mask_words(P);

fn net() -> Net {
    seq![Dense::zeros(), Relu, Dense::zeros(), Relu, Dense::zeros()]
}

/// The parameters in visit order, with each one's kind and tensor index.
fn flat(model: &mut Net) -> (Vec<f32>, Vec<(ParamKind, usize)>) {
    let (mut values, mut kinds, mut tensor) = (Vec::new(), Vec::new(), 0);
    model.visit(&mut |p| {
        values.extend_from_slice(p.value);
        kinds.extend(std::iter::repeat_n((p.kind, tensor), p.value.len()));
        tensor += 1;
    });
    (values, kinds)
}

fn set_flat(model: &mut Net, values: &[f32]) {
    let mut offset = 0;
    model.visit(&mut |p| {
        let n = p.value.len();
        p.value.copy_from_slice(&values[offset..offset + n]);
        offset += n;
    });
}

fn bits(mask: &Mask<W>) -> Vec<bool> {
    (0..P).map(|i| mask.is_kept(i)).collect()
}

/// The reference: prunes `kept` in place; returns how many went.
fn reference_prune(
    values: &[f32],
    kinds: &[(ParamKind, usize)],
    kept: &mut [bool],
    p: f32,
    scope: Scope,
) -> usize {
    let tensors = kinds.iter().map(|k| k.1).max().unwrap() + 1;
    let groups: Vec<Vec<usize>> = match scope {
        Scope::Global => vec![(0..values.len())
            .filter(|&i| kinds[i].0 == ParamKind::Weight)
            .collect()],
        Scope::PerLayer => (0..tensors)
            .map(|t| {
                (0..values.len())
                    .filter(|&i| kinds[i] == (ParamKind::Weight, t))
                    .collect()
            })
            .collect(),
    };
    let mut pruned = 0;
    for group in groups {
        let mut alive: Vec<usize> = group.into_iter().filter(|&i| kept[i]).collect();
        let k = (f64::from(p) * alive.len() as f64 + 0.5).floor() as usize;
        alive.sort_by(|&a, &b| {
            f64::from(values[a].abs())
                .partial_cmp(&f64::from(values[b].abs()))
                .unwrap()
                .then(a.cmp(&b))
        });
        for &i in &alive[..k] {
            kept[i] = false;
        }
        pruned += k;
    }
    pruned
}

/// Random weights of the given `levels` (0: continuous), with random signs.
fn random_model(rng: &mut Rng, levels: u64) -> Net {
    let mut model = net();
    let (values, _) = flat(&mut model);
    let v: Vec<f32> = (0..values.len())
        .map(|_| {
            let sign = if rng.below(2) == 0 { -1.0 } else { 1.0 };
            let m = if levels == 0 {
                rng.uniform(0.0, 2.0)
            } else {
                rng.below(levels) as f32 * 0.25
            };
            sign * m
        })
        .collect();
    set_flat(&mut model, &v);
    model
}

/// Several rounds at several rates, both scopes, continuous and heavily tied weights:
/// the mask, the pruned count and the model equal the reference's exactly.
#[test]
fn pruning_matches_the_sorted_reference() {
    for levels in [0, 3, 1] {
        for scope in [Scope::PerLayer, Scope::Global] {
            for p in [0.0, 0.1, 0.2, 1.0 / 3.0, 0.5, 0.77, 1.0] {
                let label = format!("levels {levels}, {scope:?}, p {p}");
                let mut rng = Rng::for_case(&label, &[]);
                let mut model = random_model(&mut rng, levels);
                let mut mask = Mask::<W>::dense::<Net>();
                let (values, kinds) = flat(&mut model);
                let mut kept = vec![true; P];
                for round in 0..4 {
                    let (current, _) = flat(&mut model);
                    let expected = reference_prune(&current, &kinds, &mut kept, p, scope);
                    let got = mask.prune(&mut model, p, scope).unwrap();
                    assert_eq!(got, expected, "{label}, round {round}: count");
                    assert_eq!(bits(&mask), kept, "{label}, round {round}: mask");
                    let (now, _) = flat(&mut model);
                    for i in 0..P {
                        let want = if kept[i] { values[i] } else { 0.0 };
                        assert_eq!(
                            now[i].to_bits(),
                            want.to_bits(),
                            "{label}, round {round}: value {i}"
                        );
                    }
                }
                assert_eq!(mask.kept(), kept.iter().filter(|&&k| k).count(), "{label}");
            }
        }
    }
}

/// Ties: eight equal magnitudes of both signs (and ±0) in one tensor; pruning three of
/// them takes the first three in flat order.
#[test]
fn ties_go_in_flat_order() {
    let mut d = Dense::<8, 1>::zeros();
    d.weight.0 = [[0.5, -0.5, 0.5, 0.0, -0.0, 0.5, -0.5, 2.0]];
    let mut mask = Mask::<1>::dense::<Dense<8, 1>>();
    // 8 weights, p = 0.5: 4 go: the two zeros, then the first two 0.5s (indices 0, 1).
    assert_eq!(mask.prune(&mut d, 0.5, Scope::PerLayer).unwrap(), 4);
    let kept: Vec<bool> = (0..9).map(|i| mask.is_kept(i)).collect();
    assert_eq!(
        kept,
        [false, false, true, false, false, true, true, true, true]
    );
    assert_eq!(d.weight.0, [[0.0, 0.0, 0.5, 0.0, -0.0, 0.5, -0.5, 2.0]]);
}

/// Global pruning takes the small layer first; per layer takes the same share of each.
#[test]
fn global_and_per_layer_differ_as_they_should() {
    let mut rng = Rng::new(5);
    let mut model = random_model(&mut rng, 0);
    // The middle layer's weights are below 0.002 in magnitude, all others above 1.
    let outer = |w: &mut f32| *w = w.signum() * (1.0 + w.abs());
    model.0.weight.0.iter_mut().flatten().for_each(outer);
    model
        .1
         .1
         .1
         .1
        .weight
        .0
        .iter_mut()
        .flatten()
        .for_each(outer);
    model
        .1
         .1
         .0
        .weight
        .0
        .iter_mut()
        .flatten()
        .for_each(|w| *w *= 0.001);
    let (mut global, mut layer) = (Mask::<W>::dense::<Net>(), Mask::<W>::dense::<Net>());
    let mut other = model;
    // 267 weights, 143 of them in the middle layer: 40 % = 107 all come from it.
    assert_eq!(global.prune(&mut model, 0.4, Scope::Global).unwrap(), 107);
    assert_eq!(
        layer.prune(&mut other, 0.4, Scope::PerLayer).unwrap(),
        36 + 57 + 13
    );
    let mut per_tensor = Vec::new();
    global.sparsity(&mut model, |s| per_tensor.push((s.kind, s.len, s.kept)));
    use ParamKind::{Bias, Weight};
    assert_eq!(
        per_tensor,
        [
            (Weight, 91, 91),
            (Bias, 13, 13),
            (Weight, 143, 36),
            (Bias, 11, 11),
            (Weight, 33, 33),
            (Bias, 3, 3)
        ]
    );
    per_tensor.clear();
    layer.sparsity(&mut other, |s| per_tensor.push((s.kind, s.len, s.kept)));
    assert_eq!(
        per_tensor,
        [
            (Weight, 91, 55),
            (Bias, 13, 13),
            (Weight, 143, 86),
            (Bias, 11, 11),
            (Weight, 33, 20),
            (Bias, 3, 3)
        ]
    );
    assert_eq!(layer.weights_kept(&mut other), (55 + 86 + 20, 267));
}

/// Twenty rounds at 20 % leave 267·0.8²⁰ ≈ 3 weights, each round rounding as specified,
/// and pruning everything leaves the biases.
#[test]
fn iterative_rounds_and_extremes() {
    let mut rng = Rng::new(9);
    let mut model = random_model(&mut rng, 0);
    let mut mask = Mask::<W>::dense::<Net>();
    let mut n = 267usize;
    for _ in 0..20 {
        let k = (0.2f64 * n as f64 + 0.5).floor() as usize;
        assert_eq!(mask.prune(&mut model, 0.2, Scope::Global).unwrap(), k);
        n -= k;
        assert_eq!(mask.weights_kept(&mut model), (n, 267));
    }
    assert!(n <= 5, "{n}");
    assert_eq!(mask.prune(&mut model, 1.0, Scope::PerLayer).unwrap(), n);
    assert_eq!(mask.kept(), 27);
    assert_eq!(mask.prune(&mut model, 1.0, Scope::Global).unwrap(), 0);
}

/// NaN, negative, above-one and infinite fractions, and a NaN weight, give a clear
/// error and leave mask and model unchanged.
#[test]
fn bad_inputs_are_refused() {
    let mut rng = Rng::new(3);
    let mut model = random_model(&mut rng, 0);
    let mut mask = Mask::<W>::dense::<Net>();
    mask.prune(&mut model, 0.3, Scope::Global).unwrap();
    let (before, _) = flat(&mut model);
    let saved = mask;
    for p in [f32::NAN, -0.01, 1.01, f32::INFINITY, f32::NEG_INFINITY] {
        for scope in [Scope::PerLayer, Scope::Global] {
            match mask.prune(&mut model, p, scope) {
                Err(e @ Error::Setting { name, value, rule }) => {
                    assert_eq!((name, rule), ("pruning fraction", "in [0, 1]"));
                    assert!(value.to_bits() == p.to_bits());
                    let message = e.to_string();
                    assert!(
                        message.contains("pruning fraction") && message.contains("[0, 1]"),
                        "{message}"
                    );
                }
                other => panic!("p = {p}: expected Setting, got {other:?}"),
            }
        }
    }
    // A NaN in a kept weight: named by its flat index (tensor 2 starts at 104).
    let mut values = before.clone();
    let index = (104..247).find(|&i| mask.is_kept(i)).unwrap();
    values[index] = f32::NAN;
    set_flat(&mut model, &values);
    assert_eq!(
        mask.prune(&mut model, 0.5, Scope::PerLayer),
        Err(Error::NonFinite {
            what: "weights to prune",
            index
        })
    );
    assert_eq!(mask, saved);
    let (after, _) = flat(&mut model);
    assert_eq!(after[index].to_bits(), f32::NAN.to_bits());
    // A NaN in a pruned weight or a bias is not the pruner's business.
    values[index] = before[index];
    let pruned = (0..91).find(|&i| !mask.is_kept(i)).unwrap();
    values[pruned] = f32::NAN;
    values[91] = f32::NAN;
    set_flat(&mut model, &values);
    assert!(mask.prune(&mut model, 0.5, Scope::Global).is_ok());
}

/// A rewind writes back the saved bits of every kept parameter and +0 for pruned ones,
/// from a point saved at initialisation or later.
#[test]
fn rewinding_restores_bits_exactly() {
    let mut rng = Rng::new(11);
    let mut model = random_model(&mut rng, 0);
    let (initial, _) = flat(&mut model);
    let start = RewindPoint::<P>::capture(&mut model);
    let trained = random_model(&mut rng, 0);
    model = trained;
    let mut mask = Mask::<W>::dense::<Net>();
    mask.prune(&mut model, 0.6, Scope::Global).unwrap();
    start.rewind(&mut model, &mask);
    let (now, _) = flat(&mut model);
    for i in 0..P {
        let want = if mask.is_kept(i) { initial[i] } else { 0.0 };
        assert_eq!(now[i].to_bits(), want.to_bits(), "parameter {i}");
    }
    assert_eq!(start.params().as_slice(), initial.as_slice());
    let mut later = RewindPoint::<P>::zeros();
    later.save(&mut model);
    assert_eq!(later.params().as_slice(), now.as_slice());
}

/// Training with `Masked<Adam>` (weight decay on, AdamW and Adam, biases decayed) keeps
/// every pruned weight at +0 and its moments at 0 through many steps, trains the kept
/// ones, and equals bit for bit zeroing the pruned gradients by hand before a plain
/// Adam step.
#[test]
fn masks_hold_through_many_adam_steps() {
    for decoupled in [false, true] {
        let config = AdamConfig {
            lr: 0.01,
            weight_decay: 0.05,
            decoupled_weight_decay: decoupled,
            ..AdamConfig::default()
        };
        let mut rng = Rng::new(17);
        let mut model = random_model(&mut rng, 0);
        let mut mask = Mask::<W>::dense::<Net>();
        mask.prune(&mut model, 0.5, Scope::PerLayer).unwrap();
        mask.prune(&mut model, 0.3, Scope::Global).unwrap();
        let mut by_hand = model;
        let mut masked = Masked::new(Adam::<P>::new(config), mask);
        let mut plain = Adam::<P>::new(config);
        let (start, _) = flat(&mut model);
        for step in 0..200 {
            let grads = rng.uniform_vec(P, -1.0, 1.0);
            for m in [&mut model, &mut by_hand] {
                let mut offset = 0;
                m.visit(&mut |p| {
                    let n = p.grad.len();
                    p.grad.copy_from_slice(&grads[offset..offset + n]);
                    offset += n;
                });
            }
            masked.step(&mut model).unwrap();
            mask.apply_to_gradients(&mut by_hand);
            plain.step(&mut by_hand).unwrap();
            let ((a, _), (b, _)) = (flat(&mut model), flat(&mut by_hand));
            for i in 0..P {
                assert_eq!(
                    a[i].to_bits(),
                    b[i].to_bits(),
                    "decoupled {decoupled}, step {step}, parameter {i}"
                );
                if !mask.is_kept(i) {
                    assert_eq!(a[i].to_bits(), 0, "step {step}: pruned parameter {i} moved");
                }
            }
        }
        let (first, second) = masked.inner.moments();
        let (now, _) = flat(&mut model);
        for i in 0..P {
            if mask.is_kept(i) {
                assert_ne!(now[i], start[i], "kept parameter {i} never trained");
            } else {
                assert_eq!((first[i], second[i]), (0.0, 0.0), "moments of pruned {i}");
            }
        }
    }
}

/// Through the trainer, with SGD and momentum, on real batches: pruned weights stay 0.
#[test]
fn the_trainer_trains_a_masked_network() {
    let mut rng = Rng::new(23);
    let mut model = random_model(&mut rng, 0);
    let mut mask = Mask::<W>::dense::<Net>();
    mask.prune(&mut model, 0.8, Scope::Global).unwrap();
    let opt = Masked::new(
        SgdMomentum::<P>::new(SgdMomentumConfig {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 1e-3,
            ..SgdMomentumConfig::default()
        }),
        mask,
    );
    let mut t: Trainer<Net, CrossEntropy, _, 8, 7, 3> =
        Trainer::new(model, CrossEntropy::default(), opt, 1);
    let x = rng.uniform_vec(7 * 40, -1.0, 1.0);
    let y: Vec<u32> = (0..40)
        .map(|i| u32::from(x[7 * i] > 0.0) + u32::from(x[7 * i + 1] > 0.5))
        .collect();
    let data = Dataset::new(&x, 7, &y, 1).unwrap();
    let before = t.evaluate(&data).unwrap().loss;
    let mut pcg = rand_pcg::Pcg32::seed_from_u64(0);
    for _ in 0..50 {
        t.epoch(&data, &mut pcg).unwrap();
    }
    assert!(t.evaluate(&data).unwrap().loss < before * 0.8);
    let (now, _) = flat(&mut t.model);
    for (i, v) in now.iter().enumerate() {
        if !mask.is_kept(i) {
            assert_eq!(v.to_bits(), 0, "pruned parameter {i}");
        }
    }
}

/// The masked optimizer's own errors: a tensor past the mask, or past the inner
/// optimizer's state, changes nothing.
#[test]
fn masked_update_checks_its_bounds() {
    let mut d = Dense::<40, 1>::zeros();
    let mut mask = Mask::<2>::dense::<Dense<40, 1>>();
    for (i, w) in d.weight.0[0].iter_mut().enumerate() {
        *w = i as f32;
    }
    mask.prune(&mut d, 0.5, Scope::PerLayer).unwrap();
    let mut stateless = Masked::new(Sgd::new(0.1), mask);
    let mut v = [1.0f32; 40];
    let g = [1.0f32; 40];
    assert!(matches!(
        stateless.update(Pass::Apply, 30, ParamKind::Weight, &mut v, &g),
        Err(Error::Length {
            what: "parameters past the pruning mask",
            expected: 64,
            found: 70
        })
    ));
    assert_eq!(v, [1.0; 40]);
    let mut short = Masked::new(Adam::<41>::new(AdamConfig::default()), mask);
    let mut long = [1.0f32; 41];
    assert!(matches!(
        short.update(Pass::Apply, 1, ParamKind::Weight, &mut long, &[1.0; 41]),
        Err(Error::Length { .. })
    ));
    assert_eq!(long, [1.0; 41]);
    assert_eq!(short.inner.moments().0, &[0.0; 41]);
    // Within bounds: the pruned first half keeps zero, the kept half moves by lr.
    stateless
        .update(Pass::Apply, 0, ParamKind::Weight, &mut v, &g)
        .unwrap();
    assert_eq!(&v[..20], &[0.0; 20]);
    assert_eq!(&v[20..], &[0.9; 20]);
}

/// The masked optimizer's stated state is the inner state plus the mask, as laid out.
#[test]
fn masked_state_bytes_are_what_it_occupies() {
    type O = Masked<Adam<P>, W>;
    assert_eq!(O::STATE_BYTES, Adam::<P>::STATE_BYTES + 4 * W);
    assert_eq!(
        std::mem::size_of::<O>(),
        std::mem::size_of::<AdamConfig>() + O::STATE_BYTES
    );
    assert_eq!(O::PARAMS, Some(P));
    assert_eq!(<Masked<Sgd, W> as Optimizer>::PARAMS, None);
}
