//! `Trainer::ZERO` in a `static`: every byte zero, so the linker puts it in `.bss` (no
//! flash for its image on a microcontroller); `Trainer::configure` then makes it the
//! trainer that `Trainer::new` builds, bit for bit.
//!
//! The placement test asks the linker itself: a `static` initialised with
//! `Trainer::ZERO` must lie between `__bss_start` and `_end`, and one initialised with
//! `Trainer::new` (non-zero settings) must not, which shows that the test can fail.

use microtrain::init::{init_params, HeNormal, XavierNormal};
use microtrain::layers::{
    Conv2d, Dense, Flatten, Gelu, MaxPool2d, Params, Relu, Residual, Sigmoid, Tanh,
};
use microtrain::loss::{BceWithLogits, CrossEntropy, Mse};
use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, Configure, NAdam, NAdamConfig, RAdam,
    RAdamConfig, RmsProp, RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::train::{Clip, Dataset, Trainer};
use microtrain::{Error, Image, Matrix, Seq, Zeroed};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

type Mlp = Seq![Dense<8, 16>, Relu, Dense<16, 3>];
const MLP_P: usize = <Mlp as Params>::COUNT;
type MlpAdam = Trainer<Mlp, CrossEntropy, Adam<MLP_P>, 4, 8, 3>;

type Cnn = Seq![
    Conv2d<1, 4, 3, 1, 1, 6, 6>,
    Relu,
    MaxPool2d<2, 2, 3, 3>,
    Flatten<36>,
    Dense<36, 2>
];
const CNN_P: usize = <Cnn as Params>::COUNT;
type CnnMomentum = Trainer<Cnn, CrossEntropy, SgdMomentum<CNN_P>, 4, 36, 2, Image<4, 6, 6, 1>>;

type Res = Seq![Dense<4, 4>, Residual<Seq![Dense<4, 4>, Tanh]>, Dense<4, 1>];
const RES_P: usize = <Res as Params>::COUNT;
type ResNAdam = Trainer<Res, Mse, NAdam<RES_P>, 4, 4, 1>;

type Logistic = Seq![Dense<4, 6>, Sigmoid, Dense<6, 2>];
const LOG_P: usize = <Logistic as Params>::COUNT;
type LogisticAdagrad = Trainer<Logistic, BceWithLogits, Adagrad<LOG_P>, 3, 4, 2>;

type Smooth = Seq![Dense<3, 5>, Gelu, Dense<5, 1>];
const SMOOTH_P: usize = <Smooth as Params>::COUNT;
type SmoothRmsProp = Trainer<Smooth, Mse, RmsProp<SMOOTH_P>, 2, 3, 1>;
type SmoothRAdam = Trainer<Smooth, Mse, RAdam<SMOOTH_P>, 2, 3, 1>;
type PlainSgd = Trainer<Dense<2, 1>, Mse, Sgd, 1, 2, 1>;

static mut MLP: MlpAdam = Trainer::ZERO;
static mut CNN: CnnMomentum = Trainer::ZERO;
static mut RES: ResNAdam = Trainer::ZERO;
static mut LOGISTIC: LogisticAdagrad = Trainer::ZERO;
static mut SMOOTH: SmoothRmsProp = Trainer::ZERO;
static mut SMOOTH_RADAM: SmoothRAdam = Trainer::ZERO;
static mut SGD: PlainSgd = Trainer::ZERO;
static mut NO_CLIP: Option<Clip> = None;
/// The control: `Trainer::new` with PyTorch's Adam settings is not all zero bytes.
static mut BUILT: MlpAdam = Trainer::new(
    Trainer::<Mlp, CrossEntropy, Adam<MLP_P>, 4, 8, 3>::ZERO.model,
    CrossEntropy {
        label_smoothing: 0.0,
    },
    Adam::new(AdamConfig::DEFAULT),
    7,
);

#[cfg(target_os = "linux")]
mod placement {
    extern "C" {
        /// Start of `.bss`, defined by the linker (GNU ld and lld).
        static __bss_start: u8;
        /// End of `.bss`, the end of the program's data.
        static _end: u8;
    }

    /// Whether the `size` bytes at `addr` lie inside `.bss`.
    pub fn in_bss(addr: *const u8, size: usize) -> bool {
        let (start, end) = (&raw const __bss_start as usize, &raw const _end as usize);
        let addr = std::hint::black_box(addr) as usize;
        start <= addr && addr + size <= end
    }
}

/// A `static`'s address and size.
macro_rules! place {
    ($s:ident) => {
        (&raw const $s as *const u8, size_of_val_raw(&raw const $s))
    };
}

fn size_of_val_raw<T>(_: *const T) -> usize {
    size_of::<T>()
}

#[cfg(target_os = "linux")]
#[test]
fn zero_trainers_are_placed_in_bss() {
    let zero = [
        ("MLP Adam", place!(MLP)),
        ("CNN SGD momentum", place!(CNN)),
        ("residual NAdam", place!(RES)),
        ("logistic Adagrad", place!(LOGISTIC)),
        ("GELU RMSprop", place!(SMOOTH)),
        ("GELU RAdam", place!(SMOOTH_RADAM)),
        ("plain SGD", place!(SGD)),
        ("Option<Clip>::None", place!(NO_CLIP)),
    ];
    for (name, (addr, size)) in zero {
        assert!(
            placement::in_bss(addr, size),
            "{name}: {size} bytes at {addr:?} not in .bss"
        );
    }
    let (addr, size) = place!(BUILT);
    assert!(
        !placement::in_bss(addr, size),
        "the control (Trainer::new) is in .bss"
    );
}

#[test]
fn a_zero_trainer_refuses_to_train_until_configured() {
    let mut t = Box::new(MlpAdam::ZERO);
    let x = Matrix([[1.0; 8]; 4]);
    let y = [0, 1, 2, 0];
    let e = t.train_step(&x, &y).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Setting {
                name: "Trainer::ZERO",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Trainer::ZERO = 0: must be configured before training: call \
         Trainer::configure(loss, optimizer config, seed)"
    );
    let data = Dataset::new(&[0.5; 16], 8, &[1u32, 2], 1).unwrap();
    let mut rng = Pcg32::seed_from_u64(1);
    init_params(&mut t.model, HeNormal, &mut rng);
    let before = bits(&mut t.model);
    assert!(matches!(
        t.epoch(&data, &mut rng),
        Err(Error::Setting {
            name: "Trainer::ZERO",
            ..
        })
    ));
    assert_eq!(bits(&mut t.model), before);
    assert_eq!((t.steps(), t.refused_steps()), (0, 0));
    assert!(
        t.evaluate(&data).is_ok(),
        "evaluation needs no configuration"
    );
    t.configure(CrossEntropy::default(), AdamConfig::DEFAULT, 1);
    t.train_step(&x, &y).unwrap();
    assert_ne!(bits(&mut t.model), before);
}

#[test]
fn configure_resets_every_optimizer_in_place_to_new() {
    fn check<O: Configure + PartialEq + core::fmt::Debug>(new: O, config: O::Config) {
        let mut o = O::ZERO;
        o.reset(config);
        assert_eq!(o, new, "from zero");
        // A used optimizer (moments, step counts) is made fresh too.
        let mut w = vec![0.5; O::PARAMS.unwrap_or(3)];
        let g: Vec<f32> = (0..w.len()).map(|i| i as f32 - 1.5).collect();
        for _ in 0..3 {
            o.step_slice(&mut w, &g).unwrap();
        }
        if O::PARAMS.is_some() {
            assert_ne!(o, new, "the steps changed the state");
        }
        o.reset(config);
        assert_eq!(o, new, "after steps");
    }
    let adam = AdamConfig {
        amsgrad: true,
        ..AdamConfig::adamw()
    };
    check(AmsGrad::<5>::new(adam), adam);
    let nadam = NAdamConfig::DEFAULT.with_lr(0.01);
    check(NAdam::<5>::new(nadam), nadam);
    let radam = RAdamConfig::DEFAULT;
    check(RAdam::<5>::new(radam), radam);
    let rms = RmsPropConfig {
        centered: true,
        momentum: 0.5,
        ..RmsPropConfig::DEFAULT
    };
    check(RmsProp::<5, 5, 5>::new(rms), rms);
    let adagrad = AdagradConfig {
        initial_accumulator_value: 0.25,
        ..AdagradConfig::DEFAULT
    };
    check(Adagrad::<5>::new(adagrad), adagrad);
    let momentum = SgdMomentumConfig {
        nesterov: true,
        ..SgdMomentumConfig::DEFAULT
    };
    check(SgdMomentum::<5>::new(momentum), momentum);
    check(Sgd::new(0.1), Sgd::new(0.1));
}

fn bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

/// Trains `$zero` (a `Trainer::ZERO`, configured with `$loss`, `$config`, seed 11) and
/// `Trainer::new(ZERO model, $loss, $new, 11)` side by side from the same initial
/// weights and sample order, and checks that every epoch's risk, the parameters, the
/// optimizer and the evaluation agree bit for bit.
macro_rules! same_training {
    ($zero:expr, $ty:ty, $loss:expr, $new:expr, $config:expr, $data:expr, $init:expr) => {{
        let zero: &mut $ty = $zero;
        zero.configure($loss, $config, 11);
        let mut built: Box<$ty> = Box::new(Trainer::new(Zeroed::ZERO, $loss, $new, 11));
        assert!(
            zero.optimizer == built.optimizer,
            "{}: optimizer after configure",
            stringify!($ty)
        );
        let mut rng = Pcg32::seed_from_u64(5);
        init_params(&mut zero.model, $init, &mut rng);
        let mut rng = Pcg32::seed_from_u64(5);
        init_params(&mut built.model, $init, &mut rng);
        let (mut r1, mut r2) = (Pcg32::seed_from_u64(9), Pcg32::seed_from_u64(9));
        let first = zero.evaluate($data).unwrap().loss;
        for epoch in 0..6 {
            let a = zero.epoch($data, &mut r1).unwrap();
            let b = built.epoch($data, &mut r2).unwrap();
            assert_eq!(
                (a.data.to_bits(), a.penalty.to_bits()),
                (b.data.to_bits(), b.penalty.to_bits()),
                "{} epoch {epoch}",
                stringify!($ty)
            );
        }
        assert_eq!(
            bits(&mut zero.model),
            bits(&mut built.model),
            "{}",
            stringify!($ty)
        );
        assert!(
            zero.optimizer == built.optimizer,
            "{}: optimizer state",
            stringify!($ty)
        );
        assert_eq!(zero.steps(), built.steps());
        let (a, b) = (
            zero.evaluate($data).unwrap(),
            built.evaluate($data).unwrap(),
        );
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
        assert!(
            a.loss < first,
            "{}: it trained ({first} -> {})",
            stringify!($ty),
            a.loss
        );
    }};
}

/// Samples of `n` values in `classes` classes: a class pattern plus noise.
fn samples(count: usize, n: usize, classes: usize) -> (Vec<f32>, Vec<u32>) {
    let mut rng = host_tests::Rng::new(3);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for s in 0..count {
        let c = s % classes;
        y.push(c as u32);
        x.extend(
            (0..n).map(|i| if (i + c).is_multiple_of(classes) { 1.0 } else { 0.0 } + rng.uniform(0.0, 0.3)),
        );
    }
    (x, y)
}

#[test]
fn configure_then_train_equals_new_then_train_bit_for_bit() {
    let (x, y) = samples(10, 8, 3);
    let data = Dataset::new(&x, 8, &y, 1).unwrap();
    let mut mlp = Box::new(MlpAdam::ZERO);
    let adam = AdamConfig::DEFAULT.with_lr(0.01);
    same_training!(
        &mut mlp,
        MlpAdam,
        CrossEntropy::default(),
        Adam::new(adam),
        adam,
        &data,
        HeNormal
    );

    let (x, y) = samples(8, 36, 2);
    let data = Dataset::new(&x, 36, &y, 1).unwrap();
    let mut cnn = Box::new(CnnMomentum::ZERO);
    let momentum = SgdMomentumConfig::DEFAULT.with_lr(0.05);
    let loss = CrossEntropy {
        label_smoothing: 0.1,
    };
    same_training!(
        &mut cnn,
        CnnMomentum,
        loss,
        SgdMomentum::new(momentum),
        momentum,
        &data,
        HeNormal
    );

    let (x, _) = samples(9, 4, 3);
    let targets: Vec<f32> = x.chunks(4).map(|s| s[0] - 0.5 * s[3]).collect();
    let data = Dataset::new(&x, 4, &targets, 1).unwrap();
    let mut res = Box::new(ResNAdam::ZERO);
    let nadam = NAdamConfig::DEFAULT.with_lr(0.01);
    same_training!(
        &mut res,
        ResNAdam,
        Mse,
        NAdam::new(nadam),
        nadam,
        &data,
        XavierNormal
    );

    let bce: Vec<f32> = x
        .chunks(4)
        .flat_map(|s| [f32::from(s[0] > 0.5), f32::from(s[1] > 0.5)])
        .collect();
    let data = Dataset::new(&x, 4, &bce, 2).unwrap();
    let mut logistic = Box::new(LogisticAdagrad::ZERO);
    let adagrad = AdagradConfig {
        initial_accumulator_value: 0.1,
        ..AdagradConfig::DEFAULT.with_lr(0.1)
    };
    same_training!(
        &mut logistic,
        LogisticAdagrad,
        BceWithLogits,
        Adagrad::new(adagrad),
        adagrad,
        &data,
        XavierNormal
    );

    let (x, _) = samples(7, 3, 2);
    let targets: Vec<f32> = x.chunks(3).map(|s| s[0] * s[1] - s[2]).collect();
    let data = Dataset::new(&x, 3, &targets, 1).unwrap();
    let mut smooth = Box::new(SmoothRmsProp::ZERO);
    let rms = RmsPropConfig::DEFAULT.with_lr(0.01);
    same_training!(
        &mut smooth,
        SmoothRmsProp,
        Mse,
        RmsProp::new(rms),
        rms,
        &data,
        XavierNormal
    );
    let mut smooth = Box::new(SmoothRAdam::ZERO);
    let radam = RAdamConfig::DEFAULT.with_lr(0.01);
    same_training!(
        &mut smooth,
        SmoothRAdam,
        Mse,
        RAdam::new(radam),
        radam,
        &data,
        XavierNormal
    );

    let data = Dataset::new(&[1.0, 2.0, -1.0, 0.5], 2, &[1.0, -2.0], 1).unwrap();
    let mut sgd = Box::new(PlainSgd::ZERO);
    same_training!(
        &mut sgd,
        PlainSgd,
        Mse,
        Sgd::new(0.05),
        Sgd::new(0.05),
        &data,
        XavierNormal
    );
}
