//! Data preparation: index views (selection, k folds) against copied data, the
//! trainer's `drop_last` against a replay of its steps, and the scalers against `f64`
//! references.

use host_tests::check::{assert_length_error, assert_shape_error, f32_ulp};
use host_tests::{assert_close, Rng};
use microtrain::init::{init_params, Init};
use microtrain::layers::{Dense, Params, Tanh};
use microtrain::loss::{CrossEntropy, Mse};
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, MinMax, Permutation, Standardize, Trainer};
use microtrain::{seq, Error, Matrix, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// The unit roundoff of `f32`.
const U: f64 = 1.0 / 16_777_216.0;

/// `n` samples of `features` values and one label each.
fn samples(n: usize, features: usize, seed: &str) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng::for_case(seed, &[n, features]);
    let x = (0..n * features).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let y = (0..n).map(|_| rng.below(3) as u32).collect();
    (x, y)
}

/// A caller-owned random permutation of `0..n`.
fn permutation(n: usize, seed: u64) -> Vec<u32> {
    let p = Permutation::new(n, &mut Pcg32::seed_from_u64(seed));
    (0..n).map(|i| p.get(i) as u32).collect()
}

/// The samples `indices` names, copied out: what a view must look like.
fn copy(x: &[f32], y: &[u32], features: usize, indices: &[u32]) -> (Vec<f32>, Vec<u32>) {
    let mut cx = Vec::new();
    let mut cy = Vec::new();
    for &i in indices {
        let i = i as usize;
        cx.extend_from_slice(&x[i * features..(i + 1) * features]);
        cy.push(y[i]);
    }
    (cx, cy)
}

fn assert_same_samples(view: &Dataset<'_, u32>, copied: &Dataset<'_, u32>) {
    assert_eq!(view.len(), copied.len());
    for i in 0..view.len() {
        assert_eq!(view.input(i), copied.input(i), "input {i}");
        assert_eq!(view.target(i), copied.target(i), "target {i}");
    }
}

// ---------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------

#[test]
fn a_selection_reads_the_samples_it_names_in_order() {
    let (x, y) = samples(23, 3, "select");
    let data = Dataset::new(&x, 3, &y, 1).unwrap();
    let order = permutation(23, 1);
    for range in [0..23, 0..1, 5..17, 22..23] {
        let part = &order[range.clone()];
        let (cx, cy) = copy(&x, &y, 3, part);
        let copied = Dataset::new(&cx, 3, &cy, 1).unwrap();
        assert_same_samples(&data.select(part).unwrap(), &copied);
        // A view of a view names samples of the full data too.
        let twice = data.select(&order[..3]).unwrap().select(part).unwrap();
        assert_same_samples(&twice, &copied);
    }
    // Repeats are allowed (a bootstrap sample).
    let boot = [4u32, 4, 0];
    let (cx, cy) = copy(&x, &y, 3, &boot);
    assert_same_samples(
        &data.select(&boot).unwrap(),
        &Dataset::new(&cx, 3, &cy, 1).unwrap(),
    );
}

#[test]
fn k_folds_partition_the_order_like_sklearn_kfold() {
    let (x, y) = samples(17, 2, "folds");
    let data = Dataset::new(&x, 2, &y, 1).unwrap();
    let order = permutation(17, 2);
    for k in [2, 3, 5, 16, 17] {
        // numpy.array_split: the first n % k parts have one sample more.
        let sizes: Vec<usize> = (0..k).map(|i| 17 / k + usize::from(i < 17 % k)).collect();
        let mut start = 0;
        for (i, &size) in sizes.iter().enumerate() {
            let (train, valid) = data.fold(&order, k, i).unwrap();
            let held: Vec<u32> = order[start..start + size].to_vec();
            let rest: Vec<u32> = order[..start]
                .iter()
                .chain(&order[start + size..])
                .copied()
                .collect();
            let (vx, vy) = copy(&x, &y, 2, &held);
            let (tx, ty) = copy(&x, &y, 2, &rest);
            assert_same_samples(&valid, &Dataset::new(&vx, 2, &vy, 1).unwrap());
            assert_same_samples(&train, &Dataset::new(&tx, 2, &ty, 1).unwrap());
            start += size;
        }
        assert_eq!(start, 17);
    }
}

#[test]
fn bad_selections_are_refused() {
    let (x, y) = samples(5, 2, "bad");
    let data = Dataset::new(&x, 2, &y, 1).unwrap();
    assert_shape_error(data.select(&[0, 7, 9]), 5, 7);
    assert_eq!(
        data.select(&[]).unwrap_err(),
        Error::Empty {
            what: "selected samples"
        }
    );
    let order = [0u32, 1, 2, 3, 4];
    assert_length_error(data.select_except(&order, 2..6), 5, 6);
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 3..1;
    assert_length_error(data.select_except(&order, backwards), 5, 3);
    assert!(data.select_except(&order, 0..5).is_err());
    // An out-of-range index inside the excluded part does no harm.
    assert_eq!(data.select_except(&[0, 99, 1], 1..2).unwrap().len(), 2);
    for (k, i, name) in [(1, 0, "folds"), (6, 0, "folds"), (3, 3, "fold")] {
        match data.fold(&order, k, i) {
            Err(Error::Setting { name: n, .. }) => assert_eq!(n, name),
            other => panic!("fold({k}, {i}): {other:?}"),
        }
    }
    let message = data.select(&[5]).unwrap_err().to_string();
    assert!(message.contains("selected sample index") && message.contains('5'));
}

type Net = Seq![Dense<3, 6>, Tanh, Dense<6, 3>];

fn classifier(seed: u64) -> Trainer<Net, CrossEntropy, Sgd, 4, 3, 3> {
    let mut t = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        CrossEntropy::default(),
        Sgd::new(0.1),
        seed,
    );
    init_params(
        &mut t.model,
        Init::XavierNormal,
        &mut Pcg32::seed_from_u64(seed),
    );
    t
}

fn bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

/// Training and evaluating on a fold's views gives the same bits as on copies.
#[test]
fn the_trainer_sees_a_view_exactly_as_a_copy() {
    let (x, y) = samples(30, 3, "train-view");
    let data = Dataset::new(&x, 3, &y, 1).unwrap();
    let order = permutation(30, 3);
    let (train, valid) = data.fold(&order, 4, 1).unwrap();
    let rest: Vec<u32> = order[..8].iter().chain(&order[16..]).copied().collect();
    let (tx, ty) = copy(&x, &y, 3, &rest);
    let (vx, vy) = copy(&x, &y, 3, &order[8..16]);
    let (ctrain, cvalid) = (
        Dataset::new(&tx, 3, &ty, 1).unwrap(),
        Dataset::new(&vx, 3, &vy, 1).unwrap(),
    );
    let (mut a, mut b) = (classifier(5), classifier(5));
    let (mut ra, mut rb) = (Pcg32::seed_from_u64(6), Pcg32::seed_from_u64(6));
    for _ in 0..5 {
        let la = a.epoch(&train, &mut ra).unwrap();
        let lb = b.epoch(&ctrain, &mut rb).unwrap();
        assert_eq!(la.data.to_bits(), lb.data.to_bits());
    }
    assert_eq!(bits(&mut a.model), bits(&mut b.model));
    assert_eq!(a.evaluate(&valid).unwrap(), b.evaluate(&cvalid).unwrap());
}

// ---------------------------------------------------------------------------------
// drop_last
// ---------------------------------------------------------------------------------

type Reg = Seq![Dense<2, 4>, Tanh, Dense<4, 1>];

fn regressor() -> Trainer<Reg, Mse, Sgd, 3, 2, 1> {
    let mut t = Trainer::new(
        seq![Dense::zeros(), Tanh, Dense::zeros()],
        Mse,
        Sgd::new(0.05),
        0,
    );
    init_params(
        &mut t.model,
        Init::XavierNormal,
        &mut Pcg32::seed_from_u64(9),
    );
    t
}

/// With `drop_last`, an epoch of `n = 3q + r` samples takes exactly `q` full steps in
/// the shuffled order and the last `r` samples contribute nothing: a replay with
/// `train_step` on the same order gives the same bits.
#[test]
fn drop_last_takes_floor_n_over_b_steps_and_ignores_the_rest() {
    for n in [3, 7, 8, 10] {
        let (x, _) = samples(n, 2, "drop-last");
        let y: Vec<f32> = (0..n).map(|i| x[2 * i] - x[2 * i + 1]).collect();
        let data = Dataset::new(&x, 2, &y, 1).unwrap();
        let mut t = regressor();
        t.drop_last = true;
        let mut rng = Pcg32::seed_from_u64(n as u64);
        let risk = t.epoch(&data, &mut rng).unwrap();

        let mut replay = regressor();
        let mut rng = Pcg32::seed_from_u64(n as u64);
        let order = Permutation::new(n, &mut rng);
        let (mut steps, mut losses) = (0, 0.0);
        for start in (0..n / 3 * 3).step_by(3) {
            let rows: [usize; 3] = core::array::from_fn(|r| order.get(start + r));
            let xb = Matrix(rows.map(|i| [x[2 * i], x[2 * i + 1]]));
            let yb = Matrix(rows.map(|i| [y[i]]));
            losses += replay.train_step(&xb, &yb).unwrap().data;
            steps += 1;
        }
        assert_eq!(steps, n / 3);
        assert_eq!(bits(&mut t.model), bits(&mut replay.model), "n = {n}");
        assert_close!(risk.data, f64::from(losses) / steps as f64, 1e-6, "n = {n}");

        // Without drop_last the partial batch changes the weights (when there is one).
        let mut full = regressor();
        full.epoch(&data, &mut Pcg32::seed_from_u64(n as u64))
            .unwrap();
        assert_eq!(
            bits(&mut full.model) == bits(&mut t.model),
            n % 3 == 0,
            "n = {n}"
        );
    }
    let mut t = regressor();
    t.drop_last = true;
    let two = Dataset::new(&[1.0; 4], 2, &[0.0; 2], 1).unwrap();
    assert!(matches!(
        t.epoch(&two, &mut Pcg32::seed_from_u64(0)),
        Err(Error::Empty { .. })
    ));
}

// ---------------------------------------------------------------------------------
// Scalers
// ---------------------------------------------------------------------------------

/// Mean and population standard deviation by Welford's one-pass update in `f64` (not
/// the library's two passes), per group `j mod groups`.
fn welford(values: &[f32], groups: usize) -> Vec<(f64, f64)> {
    (0..groups)
        .map(|g| {
            let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
            for v in values.iter().skip(g).step_by(groups) {
                n += 1.0;
                let d = f64::from(*v) - mean;
                mean += d / n;
                m2 += d * (f64::from(*v) - mean);
            }
            (mean, (m2 / n).sqrt())
        })
        .collect()
}

/// Per feature and per channel, on a view, with a large offset (where a naive `f32`
/// sum of squares would lose every digit): the mean is the `f64` mean rounded to
/// `f32` (half an ulp), the standard deviation within one ulp; `apply` and `invert`
/// within an ulp of their `f64` formulas.
#[test]
fn standardize_fits_the_f64_statistics_of_the_training_view() {
    let mut rng = Rng::for_case("standardize", &[]);
    let n = 400;
    let x: Vec<f32> = (0..n * 6)
        .map(|j| 1000.0 * (j % 3) as f32 + rng.uniform(-1.0, 1.0))
        .collect();
    let y = vec![0u32; n];
    let data = Dataset::new(&x, 6, &y, 1).unwrap();
    let order = permutation(n, 4);
    let train_ids = &order[..300];
    let (tx, _) = copy(&x, &y, 6, train_ids);
    let view = data.select(train_ids).unwrap();

    fn check<const F: usize>(s: &Standardize<F>, reference: &[(f64, f64)]) {
        for (g, &(mean, std)) in reference.iter().enumerate() {
            assert_close!(s.mean()[g], mean, f32_ulp(mean) / 2.0 + 1e-12, "mean {g}");
            assert_close!(s.std()[g], std, f32_ulp(std), "std {g}");
        }
    }
    let per_feature = Standardize::<6>::fit(&view).unwrap();
    check(&per_feature, &welford(&tx, 6));
    // 2 × 1 "images" with 3 channels: one mean per channel over both pixels.
    let per_channel = Standardize::<3>::fit(&view).unwrap();
    check(&per_channel, &welford(&tx, 3));

    let mut scaled = x.clone();
    per_feature.apply(&mut scaled).unwrap();
    for (j, (&s, &v)) in scaled.iter().zip(&x).enumerate() {
        let (m, d) = (per_feature.mean()[j % 6], per_feature.std()[j % 6]);
        let expected = (f64::from(v) - f64::from(m)) / f64::from(d);
        // Two roundings (the difference, the quotient), each within u = 2⁻²⁴.
        assert_close!(s, expected, 2.01 * U * expected.abs(), "apply {j}");
    }
    let mut back = scaled.clone();
    per_feature.invert(&mut back).unwrap();
    for (j, (&b, &s)) in back.iter().zip(&scaled).enumerate() {
        let (m, d) = (per_feature.mean()[j % 6], per_feature.std()[j % 6]);
        let expected = f64::from(s) * f64::from(d) + f64::from(m);
        let product = (f64::from(s) * f64::from(d)).abs();
        assert_close!(
            b,
            expected,
            1.01 * U * (product + expected.abs()),
            "invert {j}"
        );
    }
    // Fitted on the view = fitted on a copy of the training part.
    let copied = Dataset::new(&tx, 6, &y[..300], 1).unwrap();
    assert_eq!(Standardize::<6>::fit(&copied).unwrap(), per_feature);
}

#[test]
fn a_constant_group_gets_unit_std_and_a_printed_scaler_reads_back_exactly() {
    let x = [5.0, 0.1, 5.0, 0.2, 5.0, 0.7];
    let data = Dataset::new(&x, 2, &[0u32; 3], 1).unwrap();
    let s = Standardize::<2>::fit(&data).unwrap();
    assert_eq!(s.std()[0], 1.0);
    let mut v = x;
    s.apply(&mut v).unwrap();
    assert_eq!([v[0], v[2], v[4]], [0.0; 3]);
    // The host prints the numbers with `{:?}`; the device's constant reads them back.
    let printed: Vec<f32> = format!("{:?} {:?}", s.mean(), s.std())
        .split(|c: char| "[], ".contains(c))
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    let rebuilt = Standardize::new([printed[0], printed[1]], [printed[2], printed[3]]).unwrap();
    assert_eq!(rebuilt, s);
}

#[test]
fn minmax_fits_exact_bounds_and_maps_the_training_part_onto_0_1() {
    let (x, y) = samples(50, 4, "minmax");
    let data = Dataset::new(&x, 4, &y, 1).unwrap();
    let order = permutation(50, 8);
    let m = MinMax::<2>::fit(&data.select(&order[..30]).unwrap()).unwrap();
    let (tx, _) = copy(&x, &y, 4, &order[..30]);
    for g in 0..2 {
        let group = tx.iter().skip(g).step_by(2).map(|&v| f64::from(v));
        let (lo, hi) = group.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        assert_eq!((f64::from(m.min()[g]), f64::from(m.max()[g])), (lo, hi));
    }
    let mut scaled = tx.clone();
    m.apply(&mut scaled).unwrap();
    for (j, (&s, &v)) in scaled.iter().zip(&tx).enumerate() {
        let (lo, hi) = (f64::from(m.min()[j % 2]), f64::from(m.max()[j % 2]));
        let expected = (f64::from(v) - lo) / (hi - lo);
        assert!((0.0..=1.0).contains(&s), "{s}");
        // Three roundings: the span, the difference, the quotient.
        assert_close!(s, expected, 3.01 * U * expected.abs(), "apply {j}");
    }
    let mut back = scaled;
    m.invert(&mut back).unwrap();
    // Back within a few roundings of the span (at most 4 here) of the original.
    for (j, (&b, &v)) in back.iter().zip(&tx).enumerate() {
        assert_close!(b, f64::from(v), 6.0 * U * 4.0, "invert {j}");
    }
}

#[test]
fn scalers_refuse_bad_numbers_and_shapes_and_change_nothing_then() {
    let setting = |r: Result<(), Error>| match r {
        Err(Error::Setting { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        setting(Standardize::new([f32::NAN], [1.0]).map(|_| ())),
        "Standardize mean"
    );
    for std in [0.0, -1.0, f32::INFINITY, f32::NAN] {
        assert_eq!(
            setting(Standardize::new([0.0], [std]).map(|_| ())),
            "Standardize std"
        );
    }
    assert_eq!(
        setting(MinMax::new([f32::NEG_INFINITY], [0.0]).map(|_| ())),
        "MinMax min"
    );
    for (min, max) in [(0.0, -1.0), (0.0, f32::NAN), (-f32::MAX, f32::MAX)] {
        assert_eq!(setting(MinMax::new([min], [max]).map(|_| ())), "MinMax max");
    }
    let data = Dataset::new(&[1.0; 6], 3, &[0u32; 2], 1).unwrap();
    assert_shape_error(Standardize::<2>::fit(&data), 2, 3);
    assert_shape_error(MinMax::<2>::fit(&data), 2, 3);
    let s = Standardize::new([1.0, 2.0], [3.0, 4.0]).unwrap();
    let mut v = [1.0, 2.0, 3.0];
    assert_shape_error(s.apply(&mut v), 2, 3);
    assert_shape_error(s.invert(&mut v), 2, 3);
    assert_eq!(v, [1.0, 2.0, 3.0]);
}
