//! `Trainer::overfit_batch`, "start by overfitting to debug": a model that can memorise
//! one batch gets there and says in how many steps; one that cannot (a linear model on
//! XOR) says it did not; the loss it reports is, checked in `f64`, the loss of the
//! weights it leaves; bad settings and inputs are refused with nothing changed.

use host_tests::Rng;
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::Trainer;
use microtrain::{seq, Batch, Error, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

const B: usize = 8;
type Mlp = Seq![Dense<4, 16>, Relu, Dense<16, 3>];
type MlpTrainer = Trainer<Mlp, CrossEntropy, Adam<{ <Mlp as Params>::COUNT }>, B, 4, 3>;
type Linear = Dense<2, 2>;
type LinearTrainer = Trainer<Linear, CrossEntropy, Adam<6>, 4, 2, 2>;

fn adam(lr: f32) -> AdamConfig {
    AdamConfig {
        lr,
        ..AdamConfig::default()
    }
}

fn mlp(seed: u64) -> MlpTrainer {
    let mut t = Trainer::new(
        seq![Dense::zeros(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Adam::new(adam(0.02)),
        seed,
    );
    init_params(
        &mut t.model,
        Init::HeNormal,
        &mut Pcg32::seed_from_u64(seed),
    );
    t
}

/// Eight random points in `[-1, 1)⁴` with random labels out of three: memorisable, not
/// learnable by a rule.
fn random_batch() -> (Batch<B, 4>, [u32; B]) {
    let mut rng = Rng::for_case("overfit", &[B, 4]);
    let mut x = Batch::<B, 4>::zeros();
    for v in x.0.iter_mut().flatten() {
        *v = rng.uniform(-1.0, 1.0);
    }
    let y = core::array::from_fn(|_| rng.below(3) as u32);
    (x, y)
}

/// Mean cross-entropy `log Σ e^z − z_y` of rows of logits, in `f64`.
fn cross_entropy(logits: &[Vec<f64>], labels: &[u32]) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(labels)
        .map(|(z, &y)| {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - m).exp()).sum();
            m + sum.ln() - z[y as usize]
        })
        .sum();
    total / labels.len() as f64
}

/// `W·x + b` for each row, in `f64`.
fn dense<const I: usize, const O: usize>(d: &Dense<I, O>, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            (0..O)
                .map(|o| {
                    f64::from(d.bias.0[o])
                        + (0..I)
                            .map(|i| f64::from(d.weight.0[o][i]) * row[i])
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

fn rows<const R: usize, const C: usize>(x: &Batch<R, C>) -> Vec<Vec<f64>> {
    x.0.iter()
        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

/// The MLP's loss on the batch, in `f64`, from its weights.
fn mlp_loss(net: &Mlp, x: &Batch<B, 4>, y: &[u32]) -> f64 {
    let (first, (_, last)) = net;
    let hidden: Vec<Vec<f64>> = dense(first, &rows(x))
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.max(0.0)).collect())
        .collect();
    cross_entropy(&dense(last, &hidden), y)
}

fn bits(model: &mut impl Params) -> Vec<u32> {
    let mut out = Vec::new();
    model.visit(&mut |p| out.extend(p.value.iter().map(|v| v.to_bits())));
    out
}

fn assert_close(what: &str, ours: f32, reference: f64) {
    let tol = 1e-5 * reference.abs().max(1.0);
    assert!(
        (f64::from(ours) - reference).abs() <= tol,
        "{what}: ours {ours}, f64 reference {reference}, difference {}",
        (f64::from(ours) - reference).abs()
    );
}

#[test]
fn a_model_that_can_memorise_the_batch_gets_there() {
    let (x, y) = random_batch();
    let mut t = mlp(5);
    let before = mlp_loss(&t.model, &x, &y);
    let report = t.overfit_batch(&x, &y, 2000, 0.01).unwrap();
    assert!(report.reached, "{report:?}");
    assert!(report.steps > 10 && report.steps < 2000, "{report:?}");
    assert_close("initial loss", report.initial_loss, before);
    // The loss reported is that of the weights left behind, and it is below the target.
    let after = mlp_loss(&t.model, &x, &y);
    assert_close("final loss", report.final_loss, after);
    assert!(after <= 0.01 + 1e-6, "{after}");
    // One step fewer did not get there: rerun from the same start with that budget.
    let mut again = mlp(5);
    let short = again.overfit_batch(&x, &y, report.steps - 1, 0.01).unwrap();
    assert!(
        !short.reached && short.steps == report.steps - 1,
        "{short:?}"
    );
    assert!(short.final_loss > 0.01);
}

#[test]
fn a_model_that_cannot_fit_says_so() {
    // XOR: for a linear model the best cross-entropy is ln 2 (all logits equal).
    let x = Matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let y = [0, 1, 1, 0];
    let mut t: LinearTrainer = Trainer::new(
        Dense::zeros(),
        CrossEntropy::default(),
        Adam::new(adam(0.05)),
        0,
    );
    init_params(&mut t.model, Init::HeNormal, &mut Pcg32::seed_from_u64(1));
    let report = t.overfit_batch(&x, &y, 300, 0.05).unwrap();
    assert!(!report.reached, "{report:?}");
    assert_eq!(report.steps, 300);
    let after = cross_entropy(&dense(&t.model, &rows(&x)), &y);
    assert_close("final loss", report.final_loss, after);
    assert!(after >= 2f64.ln() - 1e-6, "{after}");
}

#[test]
fn a_batch_already_below_the_target_takes_no_step() {
    let (x, y) = random_batch();
    let mut t = mlp(2);
    let start = bits(&mut t.model);
    let report = t.overfit_batch(&x, &y, 100, 50.0).unwrap();
    assert_eq!((report.reached, report.steps), (true, 0));
    assert_eq!(report.initial_loss, report.final_loss);
    assert_eq!(bits(&mut t.model), start);
    // No step allowed: the loss is measured and nothing else happens.
    let zero = t.overfit_batch(&x, &y, 0, 0.0).unwrap();
    assert_eq!((zero.reached, zero.steps), (false, 0));
    assert_eq!(bits(&mut t.model), start);
}

#[test]
fn bad_settings_and_inputs_are_refused_and_change_nothing() {
    let (mut x, y) = random_batch();
    let mut t = mlp(3);
    let start = bits(&mut t.model);
    for bad in [f32::NAN, f32::INFINITY, -0.5] {
        let err = t.overfit_batch(&x, &y, 10, bad).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Setting {
                    name: "overfit target_loss",
                    ..
                }
            ),
            "{err:?}"
        );
        if bad.is_finite() {
            assert_eq!(
                err.to_string(),
                "overfit target_loss = -0.5: must be finite and not negative"
            );
        }
    }
    x.0[2][1] = f32::NAN;
    assert_eq!(
        t.overfit_batch(&x, &y, 10, 0.1),
        Err(Error::NonFinite {
            what: "batch input",
            index: 9
        })
    );
    assert_eq!(bits(&mut t.model), start);
}
