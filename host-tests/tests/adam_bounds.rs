//! Adam's recorded state bounds (issue 12): a proven step records bounds of the `m` and
//! `v` it leaves, and the next step proves from them instead of scanning the state.
//!
//! Checked here: after random steps at every scale (subnormal to near overflow, every
//! setting at its limits), a recorded bound is at least every `|m|` and `v` of the
//! state (the true maxima, computed here, not the crate's scan); and every way of
//! changing the state other than a proven step (checkpoint load, `reset`, `update`,
//! `update_proven`, `step_slice`) drops the record, so that a following step with a
//! gradient that overflows `v` only when the real state is used is refused exactly as
//! by a fresh optimizer holding the same state (result, parameters, state bytes). A
//! stale record would prove that step and write an infinite `v`.

use host_tests::Rng;
use microtrain::checkpoint::{self, Persist};
use microtrain::layers::{Dense, ParamKind, Params, Tanh};
use microtrain::optim::{Adam, AdamConfig, AmsGrad, Configure, Optimizer, Pass};
use microtrain::{seq, Seq};

/// Tensors: weight 4×3, bias 3, weight 3×2, bias 2: 23 parameters.
type Net = Seq![Dense<4, 3>, Tanh, Dense<3, 2>];
const COUNT: usize = <Net as Params>::COUNT;

fn net() -> Net {
    seq![Dense::zeros(), Tanh, Dense::zeros()]
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

fn bits(model: &mut impl Params) -> Vec<u32> {
    let mut out = Vec::new();
    model.visit(&mut |p| out.extend(p.value.iter().map(|v| v.to_bits())));
    out
}

fn bytes_of<T: Persist>(state: &mut T) -> Vec<u8> {
    let mut buf = vec![0u8; checkpoint::bytes::<T>()];
    checkpoint::save(state, &mut buf).unwrap();
    buf
}

/// `±2^e·(1 + u)` with `e` uniform in `[lo, hi]`, or 0 one time in eight.
fn scaled(rng: &mut Rng, lo: i32, hi: i32) -> f32 {
    if rng.below(8) == 0 {
        return 0.0;
    }
    let e = lo + rng.below((hi - lo + 1) as u64) as i32;
    let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
    sign * (2f64.powi(e) * (1.0 + rng.uniform(0.0, 1.0) as f64)) as f32
}

/// After every step (proven or not, refused or not), a record, if there is one, bounds
/// every moment of the state; and ordinary steps do record (the check is not vacuous).
#[test]
fn recorded_bounds_cover_the_state() {
    let mut recorded = 0;
    for case in 0..600usize {
        let mut rng = Rng::for_case("adam bounds cover", &[case]);
        let config = AdamConfig {
            lr: [1e-3, 1.0, 1e10][rng.below(3) as usize],
            betas: (
                [0.0, 0.5, 0.9, 1.0 - f32::EPSILON / 2.0][rng.below(4) as usize],
                [0.0, 0.5, 0.999, 1.0 - f32::EPSILON / 2.0][rng.below(4) as usize],
            ),
            eps: [f32::MIN_POSITIVE, 1e-8, 1.0][rng.below(3) as usize],
            weight_decay: [0.0, 0.01, 1e3][rng.below(3) as usize],
            amsgrad: rng.below(2) == 0,
            decoupled_weight_decay: rng.below(2) == 0,
            decay_biases: rng.below(2) == 0,
        };
        let (lo, hi) = [(-149, -120), (-20, 20), (-149, 40), (20, 60)][rng.below(4) as usize];
        let mut model = net();
        let values: Vec<f32> = (0..COUNT).map(|_| scaled(&mut rng, -10, 5)).collect();
        set(&mut model, &values, &[0.0; COUNT]);
        let mut adam = AmsGrad::<COUNT>::new(config);
        for step in 0..30 {
            let mut current = Vec::new();
            model.visit(&mut |p| current.extend_from_slice(p.value));
            let grads: Vec<f32> = (0..COUNT).map(|_| scaled(&mut rng, lo, hi)).collect();
            set(&mut model, &current, &grads);
            let _ = adam.step(&mut model);
            if let Some((m, v)) = adam.recorded_bounds() {
                recorded += 1;
                let (ms, vs) = adam.moments();
                let max_m = ms.iter().fold(0.0f32, |a, x| a.max(x.abs()));
                assert!(max_m <= m, "case {case} step {step}: |m| {max_m:e} > {m:e}");
                for &x in vs {
                    assert!(
                        (0.0..=v).contains(&x),
                        "case {case} step {step}: v {x:e} not in [0, {v:e}]"
                    );
                }
            }
        }
    }
    assert!(recorded > 5000, "only {recorded} steps recorded bounds");
}

/// The moments every element gets from one step with `β = (0, 0)`, `lr = 0`: `m = g`,
/// `v = g²`, here `v ≈ 3.24e38`, just below `f32::MAX`.
const HOT: f32 = 1.8e19;

/// A trained optimizer whose last step was proven: it holds a record.
fn recording(config: AdamConfig) -> (Adam<COUNT>, Net) {
    let mut rng = Rng::for_case("adam bounds recording", &[]);
    let mut model = net();
    let mut adam = Adam::<COUNT>::new(config);
    for _ in 0..5 {
        let values: Vec<f32> = rng.uniform_vec(COUNT, -1.0, 1.0);
        let grads: Vec<f32> = rng.uniform_vec(COUNT, -1e-3, 1e-3);
        set(&mut model, &values, &grads);
        adam.step(&mut model).unwrap();
    }
    assert!(
        adam.recorded_bounds().is_some(),
        "ordinary steps record bounds"
    );
    (adam, model)
}

/// Steps `adam` and a fresh optimizer loaded with the same state on the same model,
/// with a gradient that overflows `v` (`β₂v + (1 − β₂)g²` for `v` = `HOT²`) although a
/// small bound of `v` would prove it: both must give the same result, parameters and
/// state.
fn same_as_fresh(mut adam: Adam<COUNT>, what: &str) {
    assert_eq!(adam.recorded_bounds(), None, "{what} keeps a stale record");
    let saved = bytes_of(&mut adam);
    let mut fresh = Adam::<COUNT>::new(adam.config);
    checkpoint::load(&mut fresh, &saved).unwrap();
    fresh.config = adam.config;
    let (mut a, mut b) = (net(), net());
    let mut grads = [0.0; COUNT];
    grads[0] = 3e20;
    set(&mut a, &[0.5; COUNT], &grads);
    set(&mut b, &[0.5; COUNT], &grads);
    let (got, want) = (adam.step(&mut a), fresh.step(&mut b));
    assert!(want.is_err(), "{what}: the fresh optimizer must refuse");
    // Debug text: the error's loss is NaN, which `==` never equals.
    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
    assert_eq!(bits(&mut a), bits(&mut b), "{what}");
    assert_eq!(bytes_of(&mut adam), bytes_of(&mut fresh), "{what}");
    assert!(adam.moments().1.iter().all(|v| v.is_finite()), "{what}");
}

/// The settings of the step that makes the state hot: `m = g`, `v = g²`, no move.
fn heating(config: AdamConfig) -> AdamConfig {
    AdamConfig {
        lr: 0.0,
        betas: (0.0, 0.0),
        ..config
    }
}

#[test]
fn every_other_write_drops_the_record() {
    let config = AdamConfig::DEFAULT;
    let hot = [HOT; COUNT];

    // A checkpoint of a hot state, loaded over a recorded one.
    let (mut source, _) = recording(config);
    source.config = heating(config);
    source.step_slice(&mut [0.5; COUNT], &hot).unwrap();
    let saved = bytes_of(&mut source);
    let (mut adam, _) = recording(config);
    checkpoint::load(&mut adam, &saved).unwrap();
    adam.config = config;
    same_as_fresh(adam, "checkpoint load");

    // step_slice, update(Apply), update_proven, each on the recorded optimizer itself.
    let (mut adam, _) = recording(config);
    adam.config = heating(config);
    adam.step_slice(&mut [0.5; COUNT], &hot).unwrap();
    adam.config = config;
    same_as_fresh(adam, "step_slice");

    let (mut adam, _) = recording(config);
    adam.config = heating(config);
    let mut w = [0.5; COUNT];
    assert!(adam
        .update(Pass::Apply, 0, ParamKind::Weight, &mut w, &hot)
        .unwrap());
    adam.config = config;
    same_as_fresh(adam, "update(Apply)");

    let (mut adam, _) = recording(config);
    adam.config = heating(config);
    adam.update_proven(0, ParamKind::Weight, &mut w[..1], &hot[..1])
        .unwrap();
    adam.update_proven(1, ParamKind::Weight, &mut w[1..], &hot[1..])
        .unwrap();
    adam.config = config;
    same_as_fresh(adam, "update_proven");

    // A try writes nothing and keeps the record; reset drops it.
    let (mut adam, _) = recording(config);
    let before = adam.recorded_bounds();
    assert!(adam
        .update(Pass::Try, 0, ParamKind::Weight, &mut w, &hot)
        .unwrap());
    assert_eq!(adam.recorded_bounds(), before);
    adam.reset(config);
    assert_eq!(adam.recorded_bounds(), None);
    assert_eq!(adam, Adam::new(config));
}

/// A refused step changes nothing, the record included; a two-pass step drops it and
/// the step after it scans (and records again).
#[test]
fn refusals_keep_the_record_and_two_pass_steps_drop_it() {
    let (mut adam, mut model) = recording(AdamConfig::DEFAULT);
    let before = (adam, adam.recorded_bounds());
    let mut values = Vec::new();
    model.visit(&mut |p| values.extend_from_slice(p.value));
    let mut grads = [0.0; COUNT];
    grads[3] = f32::NAN;
    set(&mut model, &values, &grads);
    assert!(adam.step(&mut model).is_err());
    assert_eq!((adam, adam.recorded_bounds()), before);
    // ε = 0 never proves: the two-pass step runs and drops the record.
    adam.config.eps = 0.0;
    set(&mut model, &values, &[1e-3; COUNT]);
    adam.step(&mut model).unwrap();
    assert_eq!(adam.recorded_bounds(), None);
    adam.config.eps = 1e-8;
    adam.step(&mut model).unwrap();
    assert!(adam.recorded_bounds().is_some());
}

/// The inequality behind the recorded `M⁺`, on the crate's own moment kernel: for `m`,
/// `g` of every scale (subnormals included) and `β₁` in [0, 1),
/// `|m + (1 − β₁)(g − m)| ≤ fl(fl(max(|m|, |g|)·(1 + 2⁻²⁰)) + 2⁻¹²⁶)`; and rounding
/// does push `|m'|` past `max(|m|, |g|)` for some inputs, so the factor is needed.
#[test]
fn the_moment_update_stays_within_the_recorded_factor() {
    use microtrain::kernels::optim::moments;
    let mut rng = Rng::for_case("adam bounds lemma", &[]);
    let mut past_max = 0;
    for i in 0..2_000_000u32 {
        let (lo, hi) = [(-149, -100), (-30, 30), (60, 126)][(i % 3) as usize];
        let m = scaled(&mut rng, lo, hi);
        let g = if rng.below(4) == 0 {
            m * rng.uniform(-2.0, 2.0)
        } else {
            scaled(&mut rng, lo, hi)
        };
        let beta1 = match rng.below(4) {
            0 => 0.9,
            1 => 1.0 - f32::EPSILON / 2.0,
            2 => 0.0,
            _ => rng.uniform(0.0, 1.0),
        };
        let (new, _) = moments(m, 0.0f32, g, beta1, 0.0);
        let a = m.abs().max(g.abs());
        let bound = a * (1.0 + 1.0 / 1_048_576.0) + f32::MIN_POSITIVE;
        if !bound.is_finite() || !new.is_finite() {
            continue;
        }
        assert!(
            new.abs() <= bound,
            "m {m:e} g {g:e} β₁ {beta1}: {new:e} > {bound:e}"
        );
        past_max += usize::from(new.abs() > a);
    }
    assert!(past_max > 0, "rounding never exceeded max(|m|, |g|)");
}

/// The trainer's steps go through `Adam::step`: ordinary training records bounds after
/// every step, and a checkpoint round trip of the whole trainer drops them.
#[test]
fn trainer_steps_record_and_a_loaded_trainer_scans() {
    use microtrain::checkpoint::Model;
    use microtrain::loss::Mse;
    use microtrain::train::Trainer;
    use microtrain::Matrix;
    let mut t: Trainer<Dense<3, 2>, Mse, Adam<8>, 1, 3, 2> =
        Trainer::new(Dense::zeros(), Mse, Adam::new(AdamConfig::DEFAULT), 0);
    for _ in 0..3 {
        t.train_step(&Matrix([[1.0, 2.0, 3.0]]), &Matrix([[0.0, 1.0]]))
            .unwrap();
        assert!(t.optimizer.recorded_bounds().is_some());
    }
    let mut saved = vec![0u8; checkpoint::bytes::<(Model<Dense<3, 2>>, Adam<8>)>()];
    checkpoint::save(&mut (Model(&mut t.model), &mut t.optimizer), &mut saved).unwrap();
    checkpoint::load(&mut (Model(&mut t.model), &mut t.optimizer), &saved).unwrap();
    assert_eq!(t.optimizer.recorded_bounds(), None);
}
