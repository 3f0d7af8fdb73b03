//! The training history: ring-buffer capacity (the oldest record is dropped, or
//! `try_push` refuses), golden renderings of fixed histories (table, ASCII and Unicode
//! sparklines), NaN and infinite values in the rendering, the best epoch, the
//! overfitting test, and records made from a real trainer.

use microtrain::layers::Dense;
use microtrain::loss::{CrossEntropy, Risk};
use microtrain::optim::Sgd;
use microtrain::train::{Charset, Dataset, EpochRecord, Evaluation, History, Trainer};
use microtrain::Matrix;
use std::fmt::{self, Write};

fn rec(epoch: u32, train_loss: f32, validation_loss: f32) -> EpochRecord {
    EpochRecord {
        epoch,
        train_loss,
        validation_loss,
        ..EpochRecord::default()
    }
}

fn epochs<const N: usize>(h: &History<N>) -> Vec<u32> {
    h.iter().map(|r| r.epoch).collect()
}

#[test]
fn a_full_history_drops_its_oldest_record() {
    let mut h = History::<3>::new();
    assert!(h.is_empty());
    assert_eq!((h.len(), h.capacity(), h.dropped()), (0, 3, 0));
    assert_eq!(h.last(), None);
    assert_eq!(h.best_epoch(), None);
    for e in 0..3 {
        assert_eq!(h.push(rec(e, 1.0, 1.0)), None, "room for epoch {e}");
    }
    assert!(h.is_full());
    assert_eq!(epochs(&h), [0, 1, 2]);
    // Each further push returns the record it drops: the oldest.
    for e in 3..10 {
        let dropped = h.push(rec(e, 1.0, 1.0)).expect("full");
        assert_eq!(dropped.epoch, e - 3);
        assert_eq!(epochs(&h), [e - 2, e - 1, e]);
        assert_eq!(h.len(), 3);
        assert_eq!(h.dropped(), (e - 2) as usize);
    }
    // Oldest first, through every accessor.
    assert_eq!(h.get(0).unwrap().epoch, 7);
    assert_eq!(h.get(2).unwrap().epoch, 9);
    assert_eq!(h.get(3), None);
    assert_eq!(h.last().unwrap().epoch, 9);
    assert_eq!(
        h.iter().rev().map(|r| r.epoch).collect::<Vec<_>>(),
        [9, 8, 7]
    );
    let (a, b) = h.as_slices();
    let joined: Vec<u32> = a.iter().chain(b).map(|r| r.epoch).collect();
    assert_eq!(joined, [7, 8, 9]);
    assert_eq!((a.len(), b.len()), (2, 1), "the ring has wrapped");

    h.clear();
    assert!(h.is_empty());
    assert_eq!(h.dropped(), 0);
    assert_eq!(h.push(rec(0, 1.0, 1.0)), None);
    assert_eq!(epochs(&h), [0]);
}

#[test]
fn equality_compares_the_kept_records_not_stale_slots() {
    let mut a = History::<3>::new();
    a.push(rec(0, 1.0, 1.0));
    a.push(rec(1, 2.0, 2.0));
    a.clear();
    a.push(rec(5, 0.5, 0.5));
    let mut b = History::<3>::new();
    b.push(rec(5, 0.5, 0.5));
    assert_eq!(a, b);
    b.push(rec(6, 0.5, 0.5));
    assert_ne!(a, b);
}

#[test]
fn try_push_keeps_the_first_records() {
    let mut h = History::<2>::new();
    assert_eq!(h.try_push(rec(0, 1.0, 1.0)), Ok(()));
    assert_eq!(h.try_push(rec(1, 1.0, 1.0)), Ok(()));
    let late = rec(2, 0.5, 0.5);
    assert_eq!(h.try_push(late), Err(late));
    assert_eq!(epochs(&h), [0, 1]);
    assert_eq!(h.dropped(), 0);
}

#[test]
fn capacity_one_and_the_size_constant() {
    let mut h = History::<1>::new();
    h.push(rec(0, 1.0, 1.0));
    assert_eq!(h.push(rec(1, 1.0, 1.0)).map(|r| r.epoch), Some(0));
    assert_eq!(epochs(&h), [1]);
    assert_eq!(std::mem::size_of::<EpochRecord>(), 36);
    assert_eq!(History::<64>::BYTES, std::mem::size_of::<History<64>>());
    // The records, heapless::Deque's two indices and full flag (padded to a word),
    // and the dropped count.
    assert_eq!(
        History::<64>::BYTES,
        64 * 36 + 4 * std::mem::size_of::<usize>()
    );
}

/// A classification run of five epochs kept in a history of four.
fn classification() -> History<4> {
    let mut h = History::<4>::new();
    let rows = [
        (1, 1.2, 1.3, 0.40, 0.375, 0.1, 0.01),
        (2, 0.8, 0.9, 0.60, 0.5, 0.1, 0.012),
        (3, 0.5, 0.7, 0.75, 0.625, 0.05, 0.0125),
        (4, 0.3, 0.75, 0.875, 0.625, 0.05, 0.013),
        (5, 0.2, 0.85, 0.95, 0.5, 0.025, 0.0135),
    ];
    for (epoch, t, v, ta, va, lr, penalty) in rows {
        h.push(EpochRecord {
            epoch,
            train_loss: t,
            validation_loss: v,
            train_accuracy: Some(ta),
            validation_accuracy: Some(va),
            learning_rate: lr,
            penalty,
        });
    }
    h
}

#[test]
fn golden_rendering_of_a_classification_run() {
    let h = classification();
    // Sparkline levels on the common scale 0.2 ..= 0.9 (10 ASCII levels, 0..=9):
    // train 0.8 → 7.7 → 8 '%', 0.5 → 3.9 → 4 '=', 0.3 → 1.3 → 1 '.', 0.2 → 0 '_';
    // valid 0.9 → 9 '@', 0.7 → 6.4 → 6 '*', 0.75 → 7.1 → 7 '#', 0.85 → 8.4 → 8 '%'.
    let expected = "\
(1 earlier epoch not kept)
epoch  train loss    val loss  train acc  val acc        lr   penalty
    2      0.8000      0.9000      60.0%    50.0%    0.1000    0.0120
    3      0.5000      0.7000      75.0%    62.5%    0.0500    0.0125
    4      0.3000      0.7500      87.5%    62.5%    0.0500    0.0130
    5      0.2000      0.8500      95.0%    50.0%    0.0250    0.0135
train |%=._| 0.2000
valid |@*#%| 0.8500
scale _ 0.2000 .. @ 0.9000
";
    assert_eq!(h.to_string(), expected, "\n{h}");
    // Display is the table followed by the ASCII sparklines.
    assert_eq!(
        h.to_string(),
        format!("{}{}", h.table(), h.sparklines(Charset::Ascii))
    );
    // Every line fits an 80-column console, and the text is ASCII.
    assert!(expected.lines().all(|l| l.len() <= 80));
    assert!(expected.is_ascii());

    assert_eq!(h.best_epoch(), Some(3));
    assert!(h.is_overfitting(3)); // epochs 3..=5: train falls, validation rises
                                  // Over all four, validation 0.9, 0.7, 0.75, 0.85 still slopes down:
                                  // Σ (i − 1.5)(v − 0.8) = −0.15 + 0.05 − 0.025 + 0.075 = −0.05.
    assert!(!h.is_overfitting(4));
}

#[test]
fn golden_unicode_sparklines() {
    let h = classification();
    // Eight levels 0..=7 on 0.2 ..= 0.9: train 0.8 → 6 '▇', 0.5 → 3 '▄', 0.3 → 1 '▂',
    // 0.2 → 0 '▁'; valid 0.9 → 7 '█', 0.7 → 5 '▆', 0.75 → 5.5 → 6 '▇', 0.85 → 6.5 → 7 '█'.
    assert_eq!(
        h.sparklines(Charset::Unicode).to_string(),
        "train |▇▄▂▁| 0.2000\nvalid |█▆▇█| 0.8500\nscale ▁ 0.2000 .. █ 0.9000\n"
    );
}

#[test]
fn golden_rendering_with_nan_infinity_and_extreme_values() {
    let mut h = History::<8>::new();
    h.push(EpochRecord {
        learning_rate: 1e-3,
        ..rec(0, 1.0, 1.0)
    });
    h.push(EpochRecord {
        learning_rate: 1e-4,
        penalty: -0.5,
        ..rec(1, f32::NAN, 0.5)
    });
    h.push(rec(2, 0.0, f32::INFINITY));
    h.push(EpochRecord {
        validation_accuracy: Some(f32::NAN),
        ..rec(3, 2e-5, 2.0)
    });
    h.push(rec(4, f32::NEG_INFINITY, 123_456.0));
    // NaN and ±∞ are drawn '?' and left out of the scale 0 ..= 123456, on which every
    // other value rounds to the lowest level.
    let expected = "\
epoch  train loss    val loss  train acc  val acc        lr   penalty
    0      1.0000      1.0000          -        -    0.0010         0
    1         NaN      0.5000          -        -  1.000e-4   -0.5000
    2           0         inf          -        -         0         0
    3    2.000e-5      2.0000          -      NaN         0         0
    4        -inf     1.235e5          -        -         0         0
train |_?__?| -inf
valid |__?_@| 1.235e5
scale _ 0 .. @ 1.235e5
";
    let found = h.to_string();
    assert_eq!(found, expected, "\n{found}");

    // The best epoch skips NaN; infinity is a valid (bad) loss.
    assert_eq!(h.best_epoch(), Some(1));
    // A non-finite loss in the window: no verdict.
    assert!(!h.is_overfitting(8));
}

#[test]
fn rendering_without_any_finite_loss() {
    let mut h = History::<4>::new();
    h.push(rec(0, f32::NAN, f32::NAN));
    h.push(rec(1, f32::INFINITY, f32::NAN));
    assert_eq!(
        h.sparklines(Charset::Ascii).to_string(),
        "train |??| inf\nvalid |??| NaN\nscale (no finite loss)\n"
    );
    assert_eq!(h.best_epoch(), None);
    assert!(!h.is_overfitting(2));
}

#[test]
fn rendering_of_empty_and_flat_histories() {
    let mut h = History::<4>::new();
    assert_eq!(h.to_string(), "no epochs recorded\n");
    assert_eq!(
        h.table().to_string(),
        "epoch  train loss    val loss        lr   penalty\n"
    );
    assert_eq!(
        h.sparklines(Charset::Ascii).to_string(),
        "train ||\nvalid ||\nscale (no finite loss)\n"
    );
    // All losses equal: every character is the lowest level.
    h.push(rec(0, 0.5, 0.5));
    h.push(rec(1, 0.5, 0.5));
    assert_eq!(
        h.sparklines(Charset::Ascii).to_string(),
        "train |__| 0.5000\nvalid |__| 0.5000\nscale _ 0.5000 .. @ 0.5000\n"
    );
}

/// A `fmt::Write` that holds at most `room` bytes, like a small UART buffer.
struct Small {
    text: String,
    room: usize,
}

impl Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.text.len() + s.len() > self.room {
            return Err(fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

#[test]
fn a_writer_that_runs_out_of_room_gets_an_error_not_a_panic() {
    let h = classification();
    let full = h.to_string();
    for room in [0, 1, 10, 100, full.len() - 1] {
        let mut w = Small {
            text: String::new(),
            room,
        };
        assert!(write!(w, "{h}").is_err(), "room {room}");
        assert!(full.starts_with(&w.text));
    }
    let mut w = Small {
        text: String::new(),
        room: full.len(),
    };
    write!(w, "{h}").unwrap();
    assert_eq!(w.text, full);
}

#[test]
fn best_epoch_is_the_least_validation_loss_earliest_of_equals() {
    let mut h = History::<8>::new();
    for (e, v) in [(10, 0.9), (11, 0.4), (12, 0.6), (13, 0.4), (14, 0.45)] {
        h.push(rec(e, 1.0, v));
    }
    assert_eq!(h.best_epoch(), Some(11));
    assert_eq!(h.best().unwrap().validation_loss, 0.4);
    // Only kept records count: once epoch 11 is dropped, 13 is best.
    let mut small = History::<3>::new();
    for r in h.iter() {
        small.push(*r);
    }
    assert_eq!(epochs(&small), [12, 13, 14]);
    assert_eq!(small.best_epoch(), Some(13));
}

#[test]
fn overfitting_is_train_loss_falling_while_validation_loss_rises() {
    let mut h = History::<16>::new();
    // Both fall (still learning), then validation turns up while train keeps falling.
    let curve = [
        (1.00, 1.10),
        (0.80, 0.90),
        (0.60, 0.70),
        (0.45, 0.60),
        (0.35, 0.62),
        (0.28, 0.66),
        (0.22, 0.72),
    ];
    for (e, &(t, v)) in curve.iter().enumerate() {
        h.push(rec(e as u32, t, v));
        // Over the whole run so far the validation slope is still negative.
        assert!(!h.is_overfitting(usize::MAX), "epoch {e}");
    }
    assert!(h.is_overfitting(4)); // epochs 3..=6: 0.60 → 0.72
    assert!(h.is_overfitting(2));
    assert!(!h.is_overfitting(1), "one record has no slope");
    assert!(!h.is_overfitting(0));
    // Underfitting (both flat or both falling) is not overfitting.
    let mut flat = History::<4>::new();
    for e in 0..4 {
        flat.push(rec(e, 0.9, 0.9));
    }
    assert!(!flat.is_overfitting(4));
    // Train rising with validation rising: diverging, not overfitting.
    let mut diverging = History::<4>::new();
    for e in 0..4 {
        diverging.push(rec(e, 1.0 + e as f32, 1.0 + e as f32));
    }
    assert!(!diverging.is_overfitting(4));
}

#[test]
fn records_from_a_real_trainer() {
    // Two classes on a line: label 1 for positive inputs.
    let x = [-2.0, -1.0, 1.0, 2.0];
    let y = [0u32, 0, 1, 1];
    let data = Dataset::new(&x, 1, &y, 1).unwrap();
    let mut t: Trainer<Dense<1, 2>, CrossEntropy, Sgd, 4, 1, 2> =
        Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.5), 0);
    let mut h = History::<8>::new();
    let batch = Matrix([[-2.0], [-1.0], [1.0], [2.0]]);
    let labels = [0u32, 0, 1, 1];
    for epoch in 0..5 {
        let lr = t.optimizer.lr;
        let risk: Risk = t.train_step(&batch, &labels).unwrap();
        let train: Evaluation = t.evaluate(&data).unwrap();
        let validation = t.evaluate(&data).unwrap();
        h.push(EpochRecord::new(epoch, risk, validation, lr).with_train_accuracy(train.accuracy));
    }
    let first = h.get(0).unwrap();
    assert_eq!(first.train_loss, 2.0f32.ln()); // zero weights: ln 2 for two classes
    assert_eq!(first.penalty, 0.0);
    assert_eq!(first.learning_rate, 0.5);
    let last = h.last().unwrap();
    assert!(last.validation_loss < first.validation_loss);
    assert_eq!(last.validation_accuracy, Some(1.0));
    assert_eq!(last.train_accuracy, Some(1.0));
    assert_eq!(h.best_epoch(), Some(4));
    let text = h.to_string();
    assert!(
        text.contains("train acc") && text.contains("100.0%"),
        "{text}"
    );
}
