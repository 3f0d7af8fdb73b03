//! Optional optimizer buffers are part of the type (issue 12, item 4): `Adam<P>` keeps
//! no AMSGrad buffer, `AmsGrad<P> = Adam<P, P>` does; `RmsProp<P, C, M>` keeps the
//! centred buffer only if `C = P` and the momentum buffer only if `M = P`.
//!
//! Checked here: an option without its buffer is refused with [`Error::Setting`] by every
//! entry point (constructor, `check`, `step`, `step_slice`, `update`, the trainer) and
//! changes nothing, state and checkpoint bytes compared; a type with a buffer and its
//! option off steps bit for bit as the type without it (while the option on does
//! differ, so the comparison can fail); each absent buffer saves exactly `4·P` bytes of
//! `size_of`, `STATE_BYTES` and checkpoint; every variant survives a checkpoint round
//! trip and resumes bit-exactly, and variants never load each other's checkpoints.
//! (The hand count of every optimizer's state is in `optim_state.rs`.)

use host_tests::Rng;
use microtrain::checkpoint::{self, CheckpointFault, Model, Persist, Reader, Writer};
use microtrain::layers::{Dense, ParamKind, Params, Relu};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::{Adam, AdamConfig, AmsGrad, Optimizer, Pass, RmsProp, RmsPropConfig};
use microtrain::train::Trainer;
use microtrain::{Error, Matrix, Seq};
use std::fmt::Debug;
use std::mem::size_of;

/// `Dense<3, 2>`: 6 weights and 2 biases.
const P: usize = 8;

fn bytes_of<T: Persist>(state: &mut T) -> Vec<u8> {
    let mut buf = vec![0u8; checkpoint::bytes::<T>()];
    let n = checkpoint::save(state, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn model_bits(d: &mut Dense<3, 2>) -> Vec<u32> {
    let mut out = Vec::new();
    d.visit(&mut |p| out.extend(bits(p.value)));
    out
}

/// A model with random parameters and gradients drawn from `rng`.
fn model(rng: &mut Rng) -> Dense<3, 2> {
    let mut d = Dense::<3, 2>::zeros();
    d.visit(&mut |p| {
        p.value
            .copy_from_slice(&rng.uniform_vec(p.value.len(), -1.0, 1.0));
        p.grad
            .copy_from_slice(&rng.uniform_vec(p.grad.len(), -2.0, 2.0));
    });
    d
}

/// Sets the gradients of `d`, in canonical order, to `g`.
fn set_grads(d: &mut Dense<3, 2>, g: &[f32]) {
    let mut at = 0;
    d.visit(&mut |p| {
        let n = p.grad.len();
        p.grad.copy_from_slice(&g[at..at + n]);
        at += n;
    });
}

fn new_grads(d: &mut Dense<3, 2>, rng: &mut Rng) {
    set_grads(d, &rng.uniform_vec(P, -2.0, 2.0));
}

/// `opt`, after three ordinary steps, is given `refused` (an option without its
/// buffer): every entry point returns `expected` and nothing changes, neither the
/// optimizer (compared whole and as checkpoint bytes) nor the parameters.
fn refused_everywhere<O, C>(mut opt: O, set: impl Fn(&mut O, C), refused: C, expected: Error)
where
    O: Optimizer + Persist + Copy + PartialEq + Debug,
{
    let mut rng = Rng::new(11);
    let mut d = model(&mut rng);
    for _ in 0..3 {
        opt.step(&mut d).unwrap();
        new_grads(&mut d, &mut rng);
    }
    set(&mut opt, refused);
    let (before, before_bytes, before_params) = (opt, bytes_of(&mut opt), model_bits(&mut d));
    assert_eq!(opt.check(), Err(expected));
    assert_eq!(opt.step(&mut d), Err(expected));
    let mut w = [0.5; P];
    assert_eq!(opt.step_slice(&mut w, &[1.0; P]), Err(expected));
    assert_eq!(w, [0.5; P]);
    for pass in [Pass::Try, Pass::Apply] {
        let got = opt.update(pass, 0, ParamKind::Weight, &mut w, &[1.0; P]);
        assert_eq!(got, Err(expected), "{pass:?}");
    }
    assert_eq!(
        opt.update_proven(0, ParamKind::Weight, &mut w, &[1.0; P]),
        Err(expected)
    );
    assert_eq!(w, [0.5; P]);
    assert_eq!(opt, before);
    assert_eq!(bytes_of(&mut opt), before_bytes);
    assert_eq!(model_bits(&mut d), before_params);
    // The trainer refuses it before its forward pass, too.
    let mut t: Trainer<Dense<3, 2>, Mse, O, 1, 3, 2> = Trainer::new(d, Mse, opt, 0);
    let got = t.train_step(&Matrix([[1.0, 2.0, 3.0]]), &Matrix([[0.0, 1.0]]));
    assert_eq!(got.map(|_| ()), Err(expected));
    assert_eq!(t.optimizer, before);
    assert_eq!(model_bits(&mut t.model), before_params);
}

#[test]
fn options_without_their_buffer_are_refused_and_change_nothing() {
    let amsgrad = AdamConfig {
        amsgrad: true,
        ..AdamConfig::DEFAULT
    };
    let refusal = Error::Setting {
        name: "Adam amsgrad",
        value: 1.0,
        rule: "off without the v_max buffer; AMSGrad needs Adam<P, P> (AmsGrad<P>)",
    };
    assert_eq!(Adam::<P>::try_new(amsgrad), Err(refusal));
    assert_eq!(
        refusal.to_string(),
        "Adam amsgrad = 1: must be off without the v_max buffer; AMSGrad needs Adam<P, P> (AmsGrad<P>)"
    );
    assert!(AmsGrad::<P>::try_new(amsgrad).is_ok());
    // A bad setting of the configuration itself is still named first.
    let both = AdamConfig {
        lr: -1.0,
        ..amsgrad
    };
    assert!(matches!(
        Adam::<P>::try_new(both),
        Err(Error::Setting {
            name: "Adam lr",
            ..
        })
    ));
    refused_everywhere(
        Adam::<P>::new(AdamConfig::DEFAULT),
        |o, on| o.config.amsgrad = on,
        true,
        refusal,
    );

    let centred = Error::Setting {
        name: "RmsProp centered",
        value: 1.0,
        rule: "off without the mean-gradient buffer; centred RMSprop needs RmsProp<P, P, M>",
    };
    let momentum = |value| Error::Setting {
        name: "RmsProp momentum",
        value,
        rule: "0 without the momentum buffer; momentum needs RmsProp<P, C, P>",
    };
    let on = |centered, momentum| RmsPropConfig {
        centered,
        momentum,
        ..RmsPropConfig::DEFAULT
    };
    assert_eq!(RmsProp::<P>::try_new(on(true, 0.0)), Err(centred));
    assert_eq!(RmsProp::<P, 0, P>::try_new(on(true, 0.5)), Err(centred));
    assert_eq!(RmsProp::<P>::try_new(on(false, 0.5)), Err(momentum(0.5)));
    assert_eq!(
        RmsProp::<P, P, 0>::try_new(on(true, 0.25)),
        Err(momentum(0.25))
    );
    assert!(RmsProp::<P, P, 0>::try_new(on(true, 0.0)).is_ok());
    assert!(RmsProp::<P, 0, P>::try_new(on(false, 0.5)).is_ok());
    assert!(RmsProp::<P, P, P>::try_new(on(true, 0.5)).is_ok());
    let set = |o: &mut RmsProp<P, 0, P>, c| o.config = c;
    refused_everywhere(
        RmsProp::<P, 0, P>::new(on(false, 0.5)),
        set,
        on(true, 0.5),
        centred,
    );
    let set = |o: &mut RmsProp<P, P, 0>, c| o.config = c;
    refused_everywhere(
        RmsProp::<P, P, 0>::new(on(true, 0.0)),
        set,
        on(true, 0.9),
        momentum(0.9),
    );
    let set = |o: &mut RmsProp<P>, c| o.config = c;
    refused_everywhere(
        RmsProp::<P>::new(on(false, 0.0)),
        set,
        on(false, 0.1),
        momentum(0.1),
    );
}

/// Steps `a` and `b` side by side, `steps` times through `step` (Adam's proven one-pass
/// path) and `steps` times through `step_slice` (the two-pass path), with the same
/// random gradients; returns whether the parameters stayed bit-identical throughout.
fn same_steps<A: Optimizer, B: Optimizer>(mut a: A, mut b: B, steps: usize, seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    let mut da = model(&mut rng);
    let mut db = da;
    let mut same = true;
    for _ in 0..steps {
        a.step(&mut da).unwrap();
        b.step(&mut db).unwrap();
        same &= model_bits(&mut da) == model_bits(&mut db);
        let g = rng.uniform_vec(P, -2.0, 2.0);
        set_grads(&mut da, &g);
        set_grads(&mut db, &g);
    }
    let (mut wa, mut wb) = ([0.25; P], [0.25; P]);
    for _ in 0..steps {
        let g = rng.uniform_vec(P, -3.0, 3.0);
        a.step_slice(&mut wa, &g).unwrap();
        b.step_slice(&mut wb, &g).unwrap();
        same &= bits(&wa) == bits(&wb);
    }
    same
}

#[test]
fn buffers_with_their_option_off_step_exactly_as_the_lean_types() {
    let weight_decay = AdamConfig {
        weight_decay: 0.1,
        decay_biases: false,
        ..AdamConfig::DEFAULT.with_lr(0.02)
    };
    for (i, config) in [
        AdamConfig::DEFAULT.with_lr(0.05),
        AdamConfig::adamw().with_lr(0.05),
        weight_decay,
        AdamConfig {
            eps: 0.0,
            ..AdamConfig::DEFAULT
        },
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 100 + i as u64;
        assert!(
            same_steps(Adam::<P>::new(config), AmsGrad::<P>::new(config), 40, seed),
            "{config:?}"
        );
        // The comparison can fail: AMSGrad on changes the bits.
        let on = AdamConfig {
            amsgrad: true,
            ..config
        };
        assert!(
            !same_steps(Adam::<P>::new(config), AmsGrad::<P>::new(on), 40, seed),
            "{config:?}"
        );
        // AmsGrad<P> with AMSGrad off: m and v as Adam<P>'s, v_max never written.
        let (mut lean, mut full) = (Adam::<P>::new(config), AmsGrad::<P>::new(config));
        let mut w = [0.0; P];
        lean.step_slice(&mut w, &[1.0; P]).unwrap();
        full.step_slice(&mut [0.0; P], &[1.0; P]).unwrap();
        assert_eq!(lean.moments(), full.moments());
        let bytes = bytes_of(&mut full);
        assert!(
            bytes[bytes.len() - 4 * P..].iter().all(|&b| b == 0),
            "v_max"
        );
    }

    let rms = |centered, momentum| RmsPropConfig {
        centered,
        momentum,
        weight_decay: 0.01,
        ..RmsPropConfig::DEFAULT.with_lr(0.01)
    };
    for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.9), (true, 0.9)] {
        let c = rms(centered, momentum);
        let full = || RmsProp::<P, P, P>::new(c);
        let lean = match (centered, momentum > 0.0) {
            (false, false) => same_steps(RmsProp::<P>::new(c), full(), 40, 7),
            (true, false) => same_steps(RmsProp::<P, P, 0>::new(c), full(), 40, 7),
            (false, true) => same_steps(RmsProp::<P, 0, P>::new(c), full(), 40, 7),
            (true, true) => true,
        };
        assert!(lean, "centered {centered} momentum {momentum}");
        assert_eq!(
            same_steps(RmsProp::<P>::new(rms(false, 0.0)), full(), 40, 7),
            !centered && momentum == 0.0,
            "centered {centered} momentum {momentum}: the comparison can fail"
        );
    }
}

/// `size_of`, `STATE_BYTES` and checkpoint bytes of `Full` exceed those of `Lean` by
/// exactly `4·p` (one buffer).
fn one_buffer_more<Lean: Optimizer + Persist, Full: Optimizer + Persist>(p: usize) {
    let name = std::any::type_name::<Full>();
    assert_eq!(size_of::<Full>() - size_of::<Lean>(), 4 * p, "{name}");
    assert_eq!(Full::STATE_BYTES - Lean::STATE_BYTES, 4 * p, "{name}");
    assert_eq!(Full::BYTES - Lean::BYTES, 4 * p, "{name}");
}

macro_rules! sizes {
    ($($p:literal),*) => {$(
        one_buffer_more::<Adam<$p>, AmsGrad<$p>>($p);
        one_buffer_more::<RmsProp<$p>, RmsProp<$p, $p, 0>>($p);
        one_buffer_more::<RmsProp<$p>, RmsProp<$p, 0, $p>>($p);
        one_buffer_more::<RmsProp<$p, $p, 0>, RmsProp<$p, $p, $p>>($p);
        one_buffer_more::<RmsProp<$p, 0, $p>, RmsProp<$p, $p, $p>>($p);
    )*};
}

/// The firmware bench's network (`examples/common/mlp_bench_task.rs`).
type Bench = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
const BENCH_P: usize = <Bench as Params>::COUNT;

#[test]
fn each_absent_buffer_saves_four_bytes_per_parameter() {
    sizes!(1, 7, 33, 1000);
    // The 64-32-10 bench: AMSGrad's buffer was 9,640 bytes of its trainer.
    type Lean = Trainer<Bench, CrossEntropy, Adam<BENCH_P>, 32, 64, 10>;
    type Full = Trainer<Bench, CrossEntropy, AmsGrad<BENCH_P>, 32, 64, 10>;
    assert_eq!(BENCH_P, 2410);
    assert_eq!(Full::BYTES - Lean::BYTES, 9640);
    assert_eq!(Lean::BYTES, size_of::<Lean>());
    assert_eq!(Full::OPTIMIZER_BYTES - Lean::OPTIMIZER_BYTES, 9640);
}

/// Steps `opt` a few times, saves it in a checkpoint with the model, loads both into
/// fresh copies (`fresh`), and steps both pairs on: the same bits. The checkpoint has
/// `bytes` bytes beyond the model's.
fn round_trip<O>(mut opt: O, fresh: O, bytes: usize)
where
    O: Optimizer + Persist + Copy + PartialEq + Debug,
{
    let mut rng = Rng::new(29);
    let mut d = model(&mut rng);
    for _ in 0..5 {
        opt.step(&mut d).unwrap();
        new_grads(&mut d, &mut rng);
    }
    let saved = bytes_of(&mut (Model(&mut d), &mut opt));
    assert_eq!(
        saved.len(),
        checkpoint::bytes::<Model<Dense<3, 2>>>() + bytes
    );
    let (mut d2, mut opt2) = (Dense::<3, 2>::zeros(), fresh);
    checkpoint::load(&mut (Model(&mut d2), &mut opt2), &saved).unwrap();
    assert_eq!(opt2, opt);
    assert_eq!(model_bits(&mut d2), model_bits(&mut d));
    for _ in 0..5 {
        let g = rng.uniform_vec(P, -2.0, 2.0);
        set_grads(&mut d, &g);
        set_grads(&mut d2, &g);
        opt.step(&mut d).unwrap();
        opt2.step(&mut d2).unwrap();
        assert_eq!(model_bits(&mut d2), model_bits(&mut d));
    }
    assert_eq!(opt2, opt);
}

/// Loading a checkpoint of `A` into `B` is refused for its fingerprint.
fn never_loads<A: Persist, B: Persist>(mut a: A, mut b: B) {
    let saved = bytes_of(&mut a);
    let err = checkpoint::load(&mut b, &saved).unwrap_err();
    assert!(
        matches!(err, Error::Checkpoint(CheckpointFault::Fingerprint { .. })),
        "{err:?}"
    );
}

#[test]
fn every_variant_survives_a_checkpoint_round_trip() {
    let adam = AdamConfig::DEFAULT.with_lr(0.01);
    let ams = AdamConfig {
        amsgrad: true,
        ..adam
    };
    // lr, step count, m, v (and v_max).
    round_trip(Adam::<P>::new(adam), Adam::new(adam), 8 + 2 * 4 * P);
    round_trip(AmsGrad::<P>::new(ams), AmsGrad::new(ams), 8 + 3 * 4 * P);
    round_trip(AmsGrad::<P>::new(adam), AmsGrad::new(adam), 8 + 3 * 4 * P);
    let rms = |centered, momentum| RmsPropConfig {
        centered,
        momentum,
        ..RmsPropConfig::DEFAULT.with_lr(0.01)
    };
    // lr, s (and ḡ, b).
    let c = rms(false, 0.0);
    round_trip(RmsProp::<P>::new(c), RmsProp::new(c), 4 + 4 * P);
    let c = rms(true, 0.0);
    round_trip(RmsProp::<P, P, 0>::new(c), RmsProp::new(c), 4 + 2 * 4 * P);
    let c = rms(false, 0.5);
    round_trip(RmsProp::<P, 0, P>::new(c), RmsProp::new(c), 4 + 2 * 4 * P);
    let c = rms(true, 0.5);
    round_trip(RmsProp::<P, P, P>::new(c), RmsProp::new(c), 4 + 3 * 4 * P);

    // No variant loads another's checkpoint, not even one of the same length.
    never_loads(Adam::<P>::new(adam), AmsGrad::<P>::new(adam));
    never_loads(AmsGrad::<P>::new(adam), Adam::<P>::new(adam));
    let c = rms(false, 0.0);
    never_loads(RmsProp::<P, P, 0>::new(c), RmsProp::<P, 0, P>::new(c));
    never_loads(RmsProp::<P, 0, P>::new(c), RmsProp::<P, P, 0>::new(c));
    never_loads(RmsProp::<P>::new(c), RmsProp::<P, P, P>::new(c));
}

/// Loads `bytes` into `opt` as `checkpoint::load` does: a pass that checks every field,
/// then one that stores them.
fn load_two_pass<O: Persist>(opt: &mut O, bytes: &[u8]) -> Result<(), Error> {
    opt.load(&mut Reader::new(bytes, Pass::Try))?;
    opt.load(&mut Reader::new(bytes, Pass::Apply))
}

/// Saves `opt` after a few steps, spoils its last saved value with each of `bad` (must
/// be refused, the state unchanged) and `fine` (must load), through the two passes.
fn check_last_state_value<O: Optimizer + Persist + Clone + PartialEq + core::fmt::Debug>(
    name: &str,
    mut opt: O,
    bad: &[f32],
    fine: &[f32],
) {
    let mut w = [1.0f32, -2.0, 0.5, 3.0];
    for g in [[0.5, -1.0, 2.0, 0.25], [-0.5, 1.5, 0.0, 1.0]] {
        opt.step_slice(&mut w, &g).unwrap();
    }
    let mut bytes = vec![0u8; O::BYTES];
    opt.save(&mut Writer::new(&mut bytes));
    let at = bytes.len() - 4;
    for &v in bad {
        let mut spoiled = bytes.clone();
        spoiled[at..].copy_from_slice(&v.to_bits().to_le_bytes());
        let mut back = opt.clone();
        let err = load_two_pass(&mut back, &spoiled).unwrap_err();
        assert!(matches!(err, Error::Checkpoint(_)), "{name} {v}: {err}");
        assert_eq!(back, opt, "{name} {v}: state changed by a refused load");
    }
    for &v in fine {
        let mut spoiled = bytes.clone();
        spoiled[at..].copy_from_slice(&v.to_bits().to_le_bytes());
        load_two_pass(&mut opt.clone(), &spoiled).unwrap_or_else(|e| panic!("{name} {v}: {e}"));
    }
}

#[test]
fn a_checkpoint_with_state_no_step_produces_is_refused_on_loading() {
    use microtrain::optim::{
        Adagrad, AdagradConfig, NAdam, NAdamConfig, RAdam, RAdamConfig, SgdMomentum,
        SgdMomentumConfig,
    };
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    // The last saved array: v (≥ 0) for the Adam family, the sum of squares for
    // Adagrad, the momentum buffer (any sign) for RMSprop with momentum and SGD.
    check_last_state_value(
        "Adam",
        Adam::<4>::new(AdamConfig::default()),
        &[nan, inf, -1.0],
        &[0.0, 2.0],
    );
    check_last_state_value(
        "AmsGrad",
        AmsGrad::<4>::new(AdamConfig {
            amsgrad: true,
            ..Default::default()
        }),
        &[nan, -inf, -1.0],
        &[3.0],
    );
    check_last_state_value(
        "NAdam",
        NAdam::<4>::new(NAdamConfig::default()),
        &[nan, -0.5],
        &[0.5],
    );
    check_last_state_value(
        "RAdam",
        RAdam::<4>::new(RAdamConfig::default()),
        &[inf, -0.5],
        &[0.5],
    );
    check_last_state_value(
        "Adagrad",
        Adagrad::<4>::new(AdagradConfig::default()),
        &[nan, -1.0],
        &[1.0],
    );
    check_last_state_value(
        "RmsProp momentum",
        RmsProp::<4, 0, 4>::new(RmsPropConfig {
            momentum: 0.9,
            ..Default::default()
        }),
        &[nan, inf],
        &[-5.0, 5.0],
    );
    check_last_state_value(
        "SGD momentum",
        SgdMomentum::<4>::new(SgdMomentumConfig::default()),
        &[nan, -inf],
        &[-5.0],
    );
}
