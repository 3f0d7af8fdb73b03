//! The training history: the most recent `N` epochs' losses, accuracies, learning rate
//! and penalty in a fixed-size ring buffer, and a plain-text rendering for a serial
//! console.
//!
//! [`EpochRecord`], the ring buffer [`History`] (whose documentation describes it and its
//! rendering) and the rendering adapters [`Table`] and [`Sparklines`].

use crate::loss::Risk;
use crate::train::Evaluation;
use core::fmt::{self, Display, Formatter, Write};
use core::mem::size_of;
use heapless::Deque;

/// One epoch: the training risk, the validation evaluation and the learning rate.
///
/// `train_loss` is the data term `1/N Σ ℓ` (comparable with `validation_loss`); the
/// penalty `λΩ(θ)` is kept apart. Missing accuracies (regression) are `None`.
///
/// # Examples
///
/// ```
/// use microtrain::loss::Risk;
/// use microtrain::train::{EpochRecord, Evaluation};
/// let r = EpochRecord::new(
///     4,
///     Risk { data: 0.3, penalty: 0.01 },
///     Evaluation { loss: 0.4, accuracy: Some(0.9) },
///     1e-3,
/// );
/// assert_eq!((r.train_loss, r.penalty, r.validation_accuracy), (0.3, 0.01, Some(0.9)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochRecord {
    /// The epoch number (as the caller counts).
    pub epoch: u32,
    /// Mean training loss over the epoch, the data term `1/N Σ ℓ`.
    pub train_loss: f32,
    /// Mean loss over the validation set.
    pub validation_loss: f32,
    /// Fraction of correct training predictions, if measured.
    pub train_accuracy: Option<f32>,
    /// Fraction of correct validation predictions, if measured.
    pub validation_accuracy: Option<f32>,
    /// The learning rate used in the epoch.
    pub learning_rate: f32,
    /// The regularisation penalty `λΩ(θ)`.
    pub penalty: f32,
}

impl EpochRecord {
    /// A record from what [`Trainer::epoch`](crate::train::Trainer::epoch) and
    /// [`Trainer::evaluate`](crate::train::Trainer::evaluate) return: `train` gives the
    /// training loss and the penalty, `validation` the validation loss and accuracy.
    /// The training accuracy is `None` (set it with
    /// [`with_train_accuracy`](EpochRecord::with_train_accuracy)).
    ///
    /// # Examples
    ///
    /// See [`EpochRecord`].
    pub const fn new(epoch: u32, train: Risk, validation: Evaluation, learning_rate: f32) -> Self {
        EpochRecord {
            epoch,
            train_loss: train.data,
            validation_loss: validation.loss,
            train_accuracy: None,
            validation_accuracy: validation.accuracy,
            learning_rate,
            penalty: train.penalty,
        }
    }

    /// With the training accuracy set.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::EpochRecord;
    /// let r = EpochRecord::default().with_train_accuracy(Some(0.75));
    /// assert_eq!(r.train_accuracy, Some(0.75));
    /// ```
    pub const fn with_train_accuracy(self, train_accuracy: Option<f32>) -> Self {
        EpochRecord {
            train_accuracy,
            ..self
        }
    }
}

/// The most recent `N` epoch records, oldest first, in a ring buffer of fixed size.
///
/// The seed: "always plot your losses"; monitor the loss on the training set and on
/// the validation set. Training loss that falls while validation loss rises is
/// overfitting ([`History::is_overfitting`]); both staying high is underfitting.
///
/// [`History`] keeps the **most recent** `N` records: when it is full, [`History::push`]
/// drops the oldest and returns it, and [`History::dropped`] counts how many were
/// dropped; [`History::try_push`] refuses instead. The rendering ([`History`]'s
/// `Display`, [`History::table`], [`History::sparklines`]) writes into any
/// [`core::fmt::Write`] with no allocation, ASCII only by default, one character per
/// record in the sparklines (so choose `N` no wider than the console). Lines end with
/// `\n`; a console that needs `\r\n` can translate in its `write_str`.
///
/// # Examples
///
/// Recording, the best epoch, overfitting and the rendering:
///
/// ```
/// use microtrain::train::{EpochRecord, History};
/// let mut history = History::<8>::new();
/// for (epoch, (train, validation)) in [(0.9, 1.0), (0.5, 0.6), (0.2, 0.7)].into_iter().enumerate() {
///     history.push(EpochRecord {
///         epoch: epoch as u32,
///         train_loss: train,
///         validation_loss: validation,
///         ..EpochRecord::default()
///     });
/// }
/// assert_eq!(history.best_epoch(), Some(1));
/// assert!(history.is_overfitting(2)); // train 0.5 → 0.2 while validation 0.6 → 0.7
///
/// let mut text = heapless::String::<512>::new(); // any core::fmt::Write: a UART, …
/// use core::fmt::Write;
/// write!(text, "{history}").unwrap();
/// assert_eq!(
///     text.as_str(),
///     "epoch  train loss    val loss        lr   penalty\n\
///      \x20   0      0.9000      1.0000         0         0\n\
///      \x20   1      0.5000      0.6000         0         0\n\
///      \x20   2      0.2000      0.7000         0         0\n\
///      train |%-_| 0.2000\n\
///      valid |@+*| 0.7000\n\
///      scale _ 0.2000 .. @ 1.0000\n"
/// );
/// ```
///
/// Capacity: a full history drops its oldest record on [`push`](History::push);
/// `N` must be at least 1 (checked at compile time).
///
/// ```
/// use microtrain::train::{EpochRecord, History};
/// static mut HISTORY: History<64> = History::new();
/// let mut h = History::<2>::new();
/// let rec = |epoch| EpochRecord { epoch, ..EpochRecord::default() };
/// assert_eq!(h.push(rec(0)), None);
/// assert_eq!(h.push(rec(1)), None);
/// assert_eq!(h.push(rec(2)), Some(rec(0))); // full: the oldest goes
/// assert_eq!(h.iter().map(|r| r.epoch).collect::<heapless::Vec<_, 2>>(), [1, 2]);
/// assert_eq!(h.dropped(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct History<const N: usize> {
    records: Deque<EpochRecord, N>,
    dropped: usize,
}

impl<const N: usize> History<N> {
    /// Bytes of the history: `size_of::<Self>()`, which is `36·N` for the records plus
    /// the ring's indices (`heapless::Deque`) and the dropped count.
    ///
    /// ```
    /// use microtrain::train::History;
    /// assert!(History::<50>::BYTES >= 36 * 50);
    /// ```
    pub const BYTES: usize = size_of::<Self>();

    /// An empty history. `const`, so it can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = microtrain::train::History::<16>::new();
    /// assert!(h.is_empty());
    /// assert_eq!(h.capacity(), 16);
    /// ```
    pub const fn new() -> Self {
        const { assert!(N > 0, "History<N>: N must be at least 1") };
        History {
            records: Deque::new(),
            dropped: 0,
        }
    }

    /// Appends `record`. If the history is full, the oldest record is dropped and
    /// returned (and [`dropped`](History::dropped) grows by one); otherwise `None`.
    ///
    /// # Examples
    ///
    /// See [`History`].
    pub fn push(&mut self, record: EpochRecord) -> Option<EpochRecord> {
        let oldest = if self.records.is_full() {
            self.dropped = self.dropped.saturating_add(1);
            self.records.pop_front()
        } else {
            None
        };
        // Room was made above (N ≥ 1), so this cannot give the record back.
        let _ = self.records.push_back(record);
        oldest
    }

    /// Appends `record` if there is room; if the history is full, gives it back as
    /// `Err(record)` and changes nothing (to keep the first `N` epochs instead of the
    /// last).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<1>::new();
    /// assert_eq!(h.try_push(EpochRecord::default()), Ok(()));
    /// let late = EpochRecord { epoch: 1, ..EpochRecord::default() };
    /// assert_eq!(h.try_push(late), Err(late));
    /// assert_eq!(h.dropped(), 0);
    /// ```
    pub fn try_push(&mut self, record: EpochRecord) -> Result<(), EpochRecord> {
        self.records.push_back(record)
    }

    /// Records kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<4>::new();
    /// h.push(EpochRecord::default());
    /// assert_eq!(h.len(), 1);
    /// ```
    pub const fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(microtrain::train::History::<4>::new().is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.records.len() == 0
    }

    /// Whether `N` records are kept (the next [`push`](History::push) drops one).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<1>::new();
    /// h.push(EpochRecord::default());
    /// assert!(h.is_full());
    /// ```
    pub const fn is_full(&self) -> bool {
        self.records.len() == N
    }

    /// `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::train::History::<5>::new().capacity(), 5);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }

    /// How many records [`push`](History::push) has dropped to make room.
    ///
    /// # Examples
    ///
    /// See [`History`].
    pub const fn dropped(&self) -> usize {
        self.dropped
    }

    /// Forgets every record (and the dropped count).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<2>::new();
    /// h.push(EpochRecord::default());
    /// h.clear();
    /// assert!(h.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.records.clear();
        self.dropped = 0;
    }

    /// The kept records, oldest first, as two slices (the second continues the first;
    /// it is empty unless the ring has wrapped).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<2>::new();
    /// for epoch in 0..3 {
    ///     h.push(EpochRecord { epoch, ..EpochRecord::default() });
    /// }
    /// let (a, b) = h.as_slices();
    /// assert_eq!((a[0].epoch, b[0].epoch), (1, 2));
    /// ```
    pub fn as_slices(&self) -> (&[EpochRecord], &[EpochRecord]) {
        self.records.as_slices()
    }

    /// The kept records, oldest first.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<3>::new();
    /// h.push(EpochRecord { train_loss: 2.0, ..EpochRecord::default() });
    /// h.push(EpochRecord { train_loss: 1.0, ..EpochRecord::default() });
    /// assert_eq!(h.iter().map(|r| r.train_loss).sum::<f32>(), 3.0);
    /// ```
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &EpochRecord> + Clone + '_ {
        let (a, b) = self.as_slices();
        a.iter().chain(b)
    }

    /// The `i`-th kept record, oldest first.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<3>::new();
    /// h.push(EpochRecord { epoch: 9, ..EpochRecord::default() });
    /// assert_eq!(h.get(0).map(|r| r.epoch), Some(9));
    /// assert_eq!(h.get(1), None);
    /// ```
    pub fn get(&self, i: usize) -> Option<&EpochRecord> {
        self.records.get(i)
    }

    /// The newest record.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<3>::new();
    /// assert_eq!(h.last(), None);
    /// h.push(EpochRecord { epoch: 1, ..EpochRecord::default() });
    /// assert_eq!(h.last().map(|r| r.epoch), Some(1));
    /// ```
    pub fn last(&self) -> Option<&EpochRecord> {
        self.records.back()
    }

    /// The kept record with the lowest validation loss (the earliest of equals; NaN
    /// losses are skipped), or `None` if there is none.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<4>::new();
    /// for (epoch, v) in [(0, f32::NAN), (1, 0.5), (2, 0.4), (3, 0.4)] {
    ///     h.push(EpochRecord { epoch, validation_loss: v, ..EpochRecord::default() });
    /// }
    /// assert_eq!(h.best().map(|r| r.epoch), Some(2));
    /// ```
    pub fn best(&self) -> Option<&EpochRecord> {
        self.iter().filter(|r| !r.validation_loss.is_nan()).fold(
            None,
            |best: Option<&EpochRecord>, r| match best {
                Some(b) if b.validation_loss <= r.validation_loss => Some(b),
                _ => Some(r),
            },
        )
    }

    /// The epoch number of [`best`](History::best).
    ///
    /// # Examples
    ///
    /// See [`History`].
    pub fn best_epoch(&self) -> Option<u32> {
        self.best().map(|r| r.epoch)
    }

    /// Whether the last `window` records (all of them if fewer) show overfitting: the
    /// least-squares slope of the training loss is negative while that of the
    /// validation loss is positive. The slope's sign is that of
    /// `Σᵢ (i − ī)(yᵢ − ȳ)` over the window. `false` with fewer than two records or if
    /// a loss in the window is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<8>::new();
    /// for (t, v) in [(1.0, 1.0), (0.8, 0.9), (0.6, 0.95), (0.4, 1.1)] {
    ///     h.push(EpochRecord { train_loss: t, validation_loss: v, ..EpochRecord::default() });
    /// }
    /// assert!(h.is_overfitting(3));
    /// assert!(!h.is_overfitting(1));
    /// ```
    pub fn is_overfitting(&self, window: usize) -> bool {
        let n = window.min(self.len());
        if n < 2 {
            return false;
        }
        let recent = || self.iter().skip(self.len() - n);
        if recent().any(|r| !r.train_loss.is_finite() || !r.validation_loss.is_finite()) {
            return false;
        }
        let count = n as f32;
        let mean_i = (count - 1.0) / 2.0;
        let (mut mean_t, mut mean_v) = (0.0, 0.0);
        for r in recent() {
            mean_t += r.train_loss / count;
            mean_v += r.validation_loss / count;
        }
        let (mut slope_t, mut slope_v) = (0.0, 0.0);
        for (i, r) in recent().enumerate() {
            let di = i as f32 - mean_i;
            slope_t += di * (r.train_loss - mean_t);
            slope_v += di * (r.validation_loss - mean_v);
        }
        slope_t < 0.0 && slope_v > 0.0
    }

    /// A table with one line per kept record: epoch, training and validation loss,
    /// training and validation accuracy (only if some record has one), learning rate
    /// and penalty. Preceded by a note when older records were dropped.
    ///
    /// Numbers are written `0`, with four decimals when `10⁻³ ≤ |x| < 10⁵`, and in
    /// scientific notation with three otherwise; accuracies as percentages with one
    /// decimal (in scientific notation from 10⁵ %, which only a wrong accuracy reaches);
    /// `NaN`, `inf`, `-inf` as such; a missing accuracy as `-`. Lines end with
    /// `\n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{EpochRecord, History};
    /// let mut h = History::<2>::new();
    /// h.push(EpochRecord {
    ///     epoch: 3,
    ///     train_loss: 0.25,
    ///     validation_loss: f32::NAN,
    ///     validation_accuracy: Some(0.5),
    ///     learning_rate: 1e-4,
    ///     penalty: 0.0,
    ///     ..EpochRecord::default()
    /// });
    /// let mut s = heapless::String::<256>::new();
    /// core::fmt::write(&mut s, format_args!("{}", h.table())).unwrap();
    /// assert_eq!(
    ///     s.as_str(),
    ///     "epoch  train loss    val loss  train acc  val acc        lr   penalty\n\
    ///      \x20   3      0.2500         NaN          -    50.0%  1.000e-4         0\n"
    /// );
    /// ```
    pub fn table(&self) -> Table<'_, N> {
        Table(self)
    }

    /// Two sparklines, training loss then validation loss, one character per kept
    /// record, on one common linear scale from the lowest to the highest finite loss of
    /// both, each followed by its newest value; then a line giving the scale. A NaN or
    /// infinite loss is drawn as `?` (and left out of the scale); if all losses are
    /// equal every character is the lowest level.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{Charset, EpochRecord, History};
    /// let mut h = History::<4>::new();
    /// for (t, v) in [(1.0, 1.0), (0.5, 0.75), (0.0, f32::NAN)] {
    ///     h.push(EpochRecord { train_loss: t, validation_loss: v, ..EpochRecord::default() });
    /// }
    /// let mut s = heapless::String::<256>::new();
    /// core::fmt::write(&mut s, format_args!("{}", h.sparklines(Charset::Unicode))).unwrap();
    /// assert_eq!(
    ///     s.as_str(),
    ///     "train |█▅▁| 0\nvalid |█▆?| NaN\nscale ▁ 0 .. █ 1.0000\n"
    /// );
    /// ```
    pub fn sparklines(&self, charset: Charset) -> Sparklines<'_, N> {
        Sparklines {
            history: self,
            charset,
        }
    }
}

impl<const N: usize> PartialEq for History<N> {
    /// Equal when the kept records (oldest first) and the dropped counts are equal,
    /// wherever the ring happens to start.
    fn eq(&self, other: &Self) -> bool {
        self.dropped == other.dropped && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<const N: usize> Default for History<N> {
    /// [`History::new`].
    fn default() -> Self {
        History::new()
    }
}

impl<const N: usize> Display for History<N> {
    /// The [`table`](History::table) followed by the ASCII
    /// [`sparklines`](History::sparklines); `no epochs recorded` when empty.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no epochs recorded\n");
        }
        write!(f, "{}{}", self.table(), self.sparklines(Charset::Ascii))
    }
}

/// The characters of a sparkline, lowest level first.
///
/// # Examples
///
/// ```
/// use microtrain::train::Charset;
/// assert_eq!(Charset::Ascii.levels().len(), 10);
/// assert_eq!(Charset::Unicode.levels()[7], '█');
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charset {
    /// `_.:-=+*#%@`: ten levels, for any serial console.
    #[default]
    Ascii,
    /// `▁▂▃▄▅▆▇█`: eight levels, for a console that shows UTF-8.
    Unicode,
}

impl Charset {
    /// Drawn for a NaN or infinite value, in both sets.
    ///
    /// ```
    /// assert_eq!(microtrain::train::Charset::NON_FINITE, '?');
    /// ```
    pub const NON_FINITE: char = '?';

    /// The levels, lowest first.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::train::Charset::Ascii.levels()[0], '_');
    /// ```
    pub const fn levels(self) -> &'static [char] {
        match self {
            Charset::Ascii => &['_', '.', ':', '-', '=', '+', '*', '#', '%', '@'],
            Charset::Unicode => &['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
        }
    }
}

/// [`History::table`]'s `Display` adapter.
///
/// # Examples
///
/// See [`History::table`].
#[derive(Clone, Copy, Debug)]
pub struct Table<'a, const N: usize>(&'a History<N>);

impl<const N: usize> Display for Table<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let h = self.0;
        match h.dropped {
            0 => {}
            1 => f.write_str("(1 earlier epoch not kept)\n")?,
            n => writeln!(f, "({n} earlier epochs not kept)")?,
        }
        let accuracy = h
            .iter()
            .any(|r| r.train_accuracy.is_some() || r.validation_accuracy.is_some());
        write!(
            f,
            "{:>5}  {:>10}  {:>10}",
            "epoch", "train loss", "val loss"
        )?;
        if accuracy {
            write!(f, "  {:>9}  {:>7}", "train acc", "val acc")?;
        }
        writeln!(f, "  {:>8}  {:>8}", "lr", "penalty")?;
        for r in h.iter() {
            write!(
                f,
                "{:>5}  {:>10}  {:>10}",
                r.epoch,
                Num(r.train_loss),
                Num(r.validation_loss)
            )?;
            if accuracy {
                write!(
                    f,
                    "  {:>9}  {:>7}",
                    Percent(r.train_accuracy),
                    Percent(r.validation_accuracy)
                )?;
            }
            writeln!(f, "  {:>8}  {:>8}", Num(r.learning_rate), Num(r.penalty))?;
        }
        Ok(())
    }
}

/// [`History::sparklines`]' `Display` adapter.
///
/// # Examples
///
/// See [`History::sparklines`].
#[derive(Clone, Copy, Debug)]
pub struct Sparklines<'a, const N: usize> {
    history: &'a History<N>,
    charset: Charset,
}

impl<const N: usize> Sparklines<'_, N> {
    /// The lowest and highest finite loss, training and validation together.
    fn range(&self) -> Option<(f32, f32)> {
        self.history
            .iter()
            .flat_map(|r| [r.train_loss, r.validation_loss])
            .filter(|x| x.is_finite())
            .fold(None, |range, x| match range {
                None => Some((x, x)),
                Some((lo, hi)) => Some((if x < lo { x } else { lo }, if x > hi { x } else { hi })),
            })
    }

    fn line(
        &self,
        f: &mut Formatter<'_>,
        name: &str,
        range: Option<(f32, f32)>,
        loss: fn(&EpochRecord) -> f32,
    ) -> fmt::Result {
        let levels = self.charset.levels();
        let top = (levels.len() - 1) as f32;
        write!(f, "{name} |")?;
        for r in self.history.iter() {
            let x = loss(r);
            let c = match range {
                Some((lo, hi)) if x.is_finite() => {
                    let level = if hi > lo {
                        // Rounds to the nearest level; `as` saturates (NaN → 0).
                        ((x - lo) / (hi - lo) * top + 0.5) as usize
                    } else {
                        0
                    };
                    levels[level.min(levels.len() - 1)]
                }
                _ => Charset::NON_FINITE,
            };
            f.write_char(c)?;
        }
        f.write_char('|')?;
        if let Some(r) = self.history.last() {
            write!(f, " {}", Num(loss(r)))?;
        }
        f.write_char('\n')
    }
}

impl<const N: usize> Display for Sparklines<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let range = self.range();
        self.line(f, "train", range, |r| r.train_loss)?;
        self.line(f, "valid", range, |r| r.validation_loss)?;
        let levels = self.charset.levels();
        match range {
            Some((lo, hi)) => writeln!(
                f,
                "scale {} {} .. {} {}",
                levels[0],
                Num(lo),
                levels[levels.len() - 1],
                Num(hi)
            ),
            None => f.write_str("scale (no finite loss)\n"),
        }
    }
}

/// Formats into a small stack buffer so that the result can be padded as a whole.
fn pad_with(f: &mut Formatter<'_>, args: fmt::Arguments<'_>) -> fmt::Result {
    let mut buf = heapless::String::<32>::new();
    buf.write_fmt(args)?;
    f.pad(&buf)
}

/// A number as the table shows it: `0`; four decimals for `10⁻³ ≤ |x| < 10⁵`;
/// otherwise scientific with three decimals; `NaN`, `inf`, `-inf`.
struct Num(f32);

impl Display for Num {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let x = self.0;
        let magnitude = x.abs();
        if x.is_nan() {
            f.pad("NaN")
        } else if x.is_infinite() {
            f.pad(if x > 0.0 { "inf" } else { "-inf" })
        } else if x == 0.0 {
            f.pad("0")
        } else if (1e-3..1e5).contains(&magnitude) {
            pad_with(f, format_args!("{x:.4}"))
        } else {
            pad_with(f, format_args!("{x:.3e}"))
        }
    }
}

/// An optional fraction as a percentage with one decimal, `-` when missing; a
/// percentage of 10⁵ or more in the table's scientific form (`1.000e29%`), so that
/// any value fits the formatting buffer.
struct Percent(Option<f32>);

impl Display for Percent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.pad("-"),
            // One decimal while it fits the column; a huge (or overflowing) fraction
            // in the table's scientific form, so that the text always fits the buffer.
            Some(a) if (a * 100.0).abs() < 1e5 => pad_with(f, format_args!("{:.1}%", a * 100.0)),
            Some(a) if a.is_finite() => pad_with(f, format_args!("{}%", Num(a * 100.0))),
            Some(a) => Num(a).fmt(f),
        }
    }
}
