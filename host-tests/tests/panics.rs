//! Panics that safe public API used to reach (issue 13, part 3), each now an `Err` or a
//! result without a panic; and the normalisation layers' settings, checked as PyTorch
//! does. Every test here panicked (or did not compile) before its fix.

use microtrain::kernels::norm::{moments, Sets};
use microtrain::layers::{BatchNorm, Dense, GroupNorm, LayerNorm, Params};
use microtrain::loss::{BceWithLogits, CrossEntropy, Loss, Mse, Risk};
use microtrain::optim::Sgd;
use microtrain::train::{Dataset, EpochRecord, Evaluation, History, Trainer};
use microtrain::{Batch, Error, MatRef, Matrix};

fn param_bits(model: &mut impl Params) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    bits
}

#[test]
fn train_step_refuses_a_label_out_of_range_and_changes_nothing() {
    let mut t: Trainer<Dense<2, 3>, CrossEntropy, Sgd, 2, 2, 3> =
        Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.5), 0);
    t.model.weight.0 = [[0.5, -0.25], [0.125, 1.0], [-1.0, 0.75]];
    let before = param_bits(&mut t.model);
    let x = Matrix([[1.0, 2.0], [-1.0, 0.5]]);
    for label in [3, 4, u32::MAX] {
        assert_eq!(
            t.train_step(&x, &[0, label]),
            Err(Error::Label {
                sample: 1,
                label: label as usize,
                classes: 3
            })
        );
    }
    assert_eq!(param_bits(&mut t.model), before);
    assert_eq!(t.steps(), 0);
    // The labels of every row count: a batch of B has no padding in `train_step`.
    assert!(matches!(
        t.train_step(&x, &[7, 0]),
        Err(Error::Label { sample: 0, .. })
    ));
    assert!(t.train_step(&x, &[2, 0]).is_ok());
}

#[test]
fn cross_entropy_loss_with_a_label_out_of_range_is_nan_not_a_panic() {
    let ce = CrossEntropy::default();
    let out: Batch<2, 3> = Matrix([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]);
    let mut grad = Matrix([[9.0; 3]; 2]);
    let l = ce.loss(&out, &[1, 3], 2, &mut grad);
    assert!(l.is_nan(), "{l}");
    assert!(grad.0[1].iter().all(|g| g.is_nan()));
    assert!(grad.0[0].iter().all(|g| g.is_finite()));
    // Row 1 beyond `rows` is not read: the loss of row 0 alone.
    let l = ce.loss(&out, &[1, u32::MAX], 1, &mut grad);
    assert!(l.is_finite() && grad.0[1] == [0.0; 3]);
    assert_eq!(ce.correct(&out, &[1, u32::MAX], 2), Some((0, 2)));
    assert_eq!(
        Loss::<2, 3>::check_targets(&ce, &[1, u32::MAX], 2),
        Err(Error::Label {
            sample: 1,
            label: u32::MAX as usize,
            classes: 3
        })
    );
    assert_eq!(Loss::<2, 3>::check_targets(&ce, &[1, 2], 2), Ok(()));
    // Float targets have nothing to check there.
    assert_eq!(
        Loss::<2, 3>::check_targets(&Mse, &Matrix([[f32::NAN; 3]; 2]), 2),
        Ok(())
    );
}

#[test]
fn set_target_refuses_a_row_past_the_batch_and_stores_nothing() {
    let past = |found| Error::Shape {
        what: "target row (below the batch size B)",
        expected: 2,
        found,
    };
    let mut t: Batch<2, 2> = Matrix([[1.0; 2]; 2]);
    for row in [2, 3, usize::MAX] {
        assert_eq!(
            Loss::<2, 2>::set_target(&Mse, &mut t, row, 0, &[0.0, 0.0]),
            Err(past(row))
        );
        assert_eq!(
            Loss::<2, 2>::set_target(&BceWithLogits, &mut t, row, usize::MAX, &[0.0, 1.0]),
            Err(past(row))
        );
    }
    assert_eq!(t.0, [[1.0; 2]; 2]);
    let mut labels = [1u32; 2];
    assert_eq!(
        Loss::<2, 2>::set_target(&CrossEntropy::default(), &mut labels, 2, 0, &[0]),
        Err(past(2))
    );
    assert_eq!(labels, [1, 1]);
    // A huge sample number in a NaN target's report saturates instead of overflowing.
    assert_eq!(
        Loss::<2, 2>::set_target(&Mse, &mut t, 0, usize::MAX, &[0.0, f32::NAN]),
        Err(Error::NonFinite {
            what: "targets",
            index: usize::MAX
        })
    );
}

#[test]
fn dataset_whose_target_count_overflows_is_refused() {
    // 2 samples · 2⁶³ targets wraps to 0 = the length of the empty target slice.
    let per_sample = usize::MAX / 2 + 1;
    let err = Dataset::new(&[0.0, 0.0], 1, &[] as &[f32], per_sample).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Setting {
                name: "Dataset targets_per_sample",
                ..
            }
        ),
        "{err}"
    );
    assert!(Dataset::new(&[0.0; 3], 1, &[0u32; 3], usize::MAX).is_err());
    // Zero-sized targets may be as many as usize::MAX.
    let units = [(); usize::MAX];
    let data = Dataset::new(&[0.0], 1, &units, usize::MAX).expect("1 · usize::MAX fits");
    assert_eq!(data.target(0).len(), usize::MAX);
}

#[test]
fn history_formats_huge_and_non_finite_accuracies() {
    let mut h = History::<8>::new();
    for (i, accuracy) in [1e27, f32::MAX, -1e30, f32::NAN, f32::INFINITY, 0.5]
        .into_iter()
        .enumerate()
    {
        let record = EpochRecord::new(
            i as u32,
            Risk {
                data: f32::MAX,
                penalty: -f32::MAX,
            },
            Evaluation {
                loss: f32::MIN_POSITIVE / 8.0,
                accuracy: Some(accuracy),
            },
            f32::NEG_INFINITY,
        )
        .with_train_accuracy(Some(-accuracy));
        h.push(record);
    }
    let text = h.to_string();
    assert!(text.contains(" 1.000e29%"), "{text}"); // 100 · 1e27
    assert!(
        text.contains("-1.000e29%") && text.contains("-1.000e32%"),
        "{text}"
    );
    assert!(text.contains("inf%"), "{text}"); // 100 · f32::MAX overflows
    assert!(text.contains("NaN") && text.contains("50.0%"), "{text}");
    let first = EpochRecord::new(
        0,
        Risk::default(),
        Evaluation {
            loss: 0.0,
            accuracy: Some(1e27),
        },
        0.1,
    );
    let mut h = History::<1>::new();
    h.push(first);
    assert!(h.table().to_string().contains("1.000e29%"));
}

#[test]
fn batch_norm_settings_are_checked_as_pytorch_does() {
    const BN: Result<BatchNorm<3>, Error> = BatchNorm::try_new(0.0, 1e-3);
    assert_eq!(BN.map(|b| (b.momentum, b.eps)), Ok((0.0, 1e-3)));
    assert!(BatchNorm::<3>::try_new(1.0, f32::MIN_POSITIVE).is_ok());
    for m in [-0.01, 1.01, f32::NAN, f32::INFINITY] {
        let e = BatchNorm::<3>::try_new(m, 1e-5).unwrap_err();
        assert!(
            matches!(e, Error::Setting { name: "BatchNorm momentum", value, .. } if value.to_bits() == m.to_bits()),
            "{e}"
        );
    }
    for eps in [0.0, -0.0, -1e-5, f32::NAN, f32::INFINITY] {
        let e = BatchNorm::<3>::try_new(0.1, eps).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Setting {
                    name: "BatchNorm eps",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("BatchNorm eps = "), "{e}");
        let e = GroupNorm::<1, 2>::try_new(eps).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Setting {
                    name: "GroupNorm eps",
                    ..
                }
            ),
            "{e}"
        );
    }
    assert_eq!(BatchNorm::<3>::new().check(), Ok(()));
    assert_eq!(LayerNorm::<3>::new().check(), Ok(()));
    assert_eq!(LayerNorm::<3>::try_new(1e-12).map(|l| l.eps), Ok(1e-12));
}

#[test]
fn batch_norm_refuses_a_batch_whose_variance_overflows() {
    // Found by the probe: inputs near 10²⁰ give a batch variance of +∞; the output
    // was then β (finite), the step was accepted and committed an infinite running
    // variance, after which every evaluation was wrong.
    type Net = (Dense<1, 2>, BatchNorm<2>);
    let mut t: Trainer<Net, Mse, Sgd, 2, 1, 2> =
        Trainer::new((Dense::zeros(), BatchNorm::new()), Mse, Sgd::new(0.1), 0);
    t.model.0.weight.0 = [[1.0], [0.5]];
    let before = param_bits(&mut t.model);
    let x = Matrix([[3e19], [-3e19]]);
    let y = Matrix([[0.0, 1.0], [1.0, 0.0]]);
    assert!(matches!(t.train_step(&x, &y), Err(Error::Diverged { .. })));
    assert_eq!(param_bits(&mut t.model), before);
    assert_eq!(t.model.1.running_var.0, [1.0; 2]);
    assert_eq!(t.model.1.running_mean.0, [0.0; 2]);
    // An ordinary batch still trains and moves the running estimates.
    assert!(t.train_step(&Matrix([[3.0], [-1.0]]), &y).is_ok());
    assert!(t
        .model
        .1
        .running_var
        .0
        .iter()
        .all(|v| v.is_finite() && *v != 1.0));
}

#[test]
fn normalisation_sets_with_huge_sizes_do_not_overflow() {
    // Found by the `slices` fuzz target: zero rows admit any `positions`, zero
    // channels any `groups`, and the products overflowed.
    let empty = MatRef::new(&[], 0, 3).unwrap();
    let huge = Sets::Groups {
        positions: usize::MAX,
        groups: 1,
    };
    assert_eq!(moments(huge, empty, 0, &mut [], &mut []), Ok(()));
    let groups = Sets::Groups {
        positions: 1,
        groups: usize::MAX,
    };
    assert_eq!(groups.count(0, 2), None);
    let zero_channels = MatRef::new(&[], 2, 0).unwrap();
    assert!(matches!(
        moments(groups, zero_channels, 2, &mut [], &mut []),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn normalisation_of_many_empty_rows_returns_at_once() {
    // Found by the `slices` fuzz target: 2⁶³ rows of zero channels are a valid view,
    // and the moments visited them one by one (a hang).
    let rows = usize::MAX / 2 + 1;
    let empty = MatRef::new(&[], rows, 0).unwrap();
    let start = std::time::Instant::now();
    assert_eq!(
        moments(Sets::Channels, empty, rows, &mut [], &mut []),
        Ok(())
    );
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn batch_norm_never_commits_an_infinite_running_estimate() {
    // Found by the probe: a ReLU after the normalisation turns its NaN output into 0,
    // the loss is finite, and a caller (here by hand, in the trainer an epoch with
    // micro-batches) commits the batch.
    use microtrain::layers::{Context, Layer, Mode, Zeroed};
    let bn = BatchNorm::<1>::new();
    let x: Batch<2, 1> = Matrix([[3e19], [-3e19]]);
    let mut cache = Zeroed::ZERO;
    bn.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
    let y = <BatchNorm<1> as Layer<Batch<2, 1>>>::output(&cache);
    assert!(y.0[0][0].is_nan() && y.0[1][0].is_nan());
    let mut bn = bn;
    <BatchNorm<1> as Layer<Batch<2, 1>>>::commit(&mut bn, &cache);
    assert_eq!((bn.running_mean.0, bn.running_var.0), ([0.0], [1.0]));
}
