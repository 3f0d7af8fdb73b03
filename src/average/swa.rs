//! Polyak–Ruppert averaging (SWA) and the exponential moving average of a model's
//! weights, as PyTorch's `torch.optim.swa_utils.AveragedModel` keeps them.

use super::{Part, Weights};
use crate::kernels::optim::{self, Lane, Rule};
use crate::layers::Params;
use crate::Error;
use core::mem::size_of;

/// How [`Averaged`] folds a model's weights `θ` into its average `θ̄`. The first
/// weights averaged are copied: `θ̄ ← θ`.
///
/// # Examples
///
/// ```
/// use microtrain::average::Average;
/// assert_eq!(Average::Swa.weight(3), 0.25);           // the 4th weights: 1/4
/// assert_eq!(Average::Ema { decay: 0.75 }.weight(3), 0.25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Average {
    /// Polyak–Ruppert averaging, the equal-weight running mean of every weights folded
    /// in: `θ̄ ← θ̄ + (θ − θ̄)/(n + 1)` after `n` (PyTorch: `AveragedModel(model)`, whose
    /// default is `get_swa_multi_avg_fn()`; Izmailov et al. 2018 call it SWA).
    Swa,
    /// The exponential moving average `θ̄ ← decay·θ̄ + (1 − decay)·θ` (PyTorch:
    /// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`). `decay` must
    /// lie in `[0, 1]`; PyTorch's default is 0.999.
    Ema {
        /// The weight of the old average.
        decay: f32,
    },
}

impl Average {
    /// The weight `w` of the new weights when `n` have been folded in already: `θ̄ ←
    /// θ̄ + w·(θ − θ̄)`, with `w = 1/(n + 1)` for SWA and `1 − decay` for EMA, both
    /// rounded to `f32` as PyTorch's `torch._foreach_lerp_` receives them.
    ///
    /// # Examples
    ///
    /// See [`Average`].
    pub fn weight(self, n: u32) -> f32 {
        match self {
            Average::Swa => 1.0 / (n as f32 + 1.0),
            Average::Ema { decay } => 1.0 - decay,
        }
    }
}

/// A running average of a model's weights, kept beside the model (PyTorch:
/// `torch.optim.swa_utils.AveragedModel`), for evaluation with averaged weights.
///
/// Call [`update`](Averaged::update) after every step or epoch. The calls before
/// [`start`](Averaged::start) and those off its [`every`](Averaged::every) rhythm are
/// counted but not folded in; the first one folded in is copied, and each later one is
/// folded in by [`Average`]'s rule, element by element, as PyTorch's `torch.lerp`
/// computes it:
///
/// ```text
/// θ̄ ← θ̄ + w·(θ − θ̄)        where w < ½
/// θ̄ ← θ − (θ − θ̄)·(1 − w)  otherwise
/// ```
///
/// The buffers (batch normalisation's running statistics) are copied from the model at
/// each update, as PyTorch does with `use_buffers=False`; after
/// [`average_buffers`](Averaged::average_buffers) they are averaged like the
/// parameters (`use_buffers=True`, the usual choice for EMA). Averaged weights need
/// their own batch statistics: after [`swap`](Averaged::swap)ping them into the model,
/// recompute them with [`update_bn`](super::update_bn).
///
/// `P` must equal the model's [`Params::COUNT`] and `NB` its [`Params::BUFFERS`]; a
/// mismatch does not compile. The state is `4·(P + NB)` bytes and a few counters
/// ([`BYTES`](Averaged::BYTES)), and can be a `static`.
///
/// # Examples
///
/// ```
/// use microtrain::average::{Average, Averaged};
/// use microtrain::layers::Dense;
/// let mut model = Dense::<1, 1>::zeros();
/// let mut swa = Averaged::<2, 0>::swa(1);           // from the second call on
/// for w in [9.0, 1.0, 2.0, 6.0] {
///     model.weight.0 = [[w]];
///     swa.update(&mut model)?;
/// }
/// assert_eq!(swa.weights().params, [3.0, 0.0]);    // (1 + 2 + 6)/3
///
/// let mut ema = Averaged::<2, 0>::ema(0.5)?;
/// for w in [4.0, 2.0, 8.0] {
///     model.weight.0 = [[w]];
///     ema.update(&mut model)?;
/// }
/// assert_eq!(ema.weights().params[0], 5.5);         // ½·(½·4 + ½·2) + ½·8
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Averaged<const P: usize, const NB: usize> {
    rule: Average,
    start: u32,
    every: u32,
    average_buffers: bool,
    calls: u32,
    count: u32,
    weights: Weights<P, NB>,
}

impl<const P: usize, const NB: usize> Averaged<P, NB> {
    /// Bytes of the state: the average, `4·(P + NB)` bytes, and the settings and
    /// counters.
    ///
    /// ```
    /// use microtrain::average::Averaged;
    /// assert!(Averaged::<100, 8>::BYTES <= 4 * 108 + 28);
    /// ```
    pub const BYTES: usize = size_of::<Self>();

    /// Polyak–Ruppert averaging (SWA) of the weights of every call of
    /// [`update`](Averaged::update) from call `start` on (calls count from 0). PyTorch
    /// has no argument for it; its recipe calls `update_parameters` only once
    /// `epoch >= swa_start`. `const`, so the state can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::average::Averaged;
    /// static mut SWA: Averaged<10, 0> = Averaged::swa(75);
    /// assert_eq!(Averaged::<10, 0>::swa(75).start(), 75);
    /// ```
    pub const fn swa(start: u32) -> Self {
        Averaged {
            rule: Average::Swa,
            start,
            every: 1,
            average_buffers: false,
            calls: 0,
            count: 0,
            weights: Weights::zeros(),
        }
    }

    /// The exponential moving average with `decay` (PyTorch:
    /// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`), from the
    /// first call on. `const`, so the state can be a `static`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] unless `0 ≤ decay ≤ 1` (PyTorch raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Averaged, Error};
    /// static mut EMA: Averaged<3, 0> = match Averaged::ema(0.999) {
    ///     Ok(ema) => ema.average_buffers(true),
    ///     Err(_) => panic!("decay outside [0, 1]"),
    /// };
    /// assert_eq!(
    ///     Averaged::<3, 0>::ema(1.5).unwrap_err(),
    ///     Error::Setting { name: "EMA decay", value: 1.5, rule: "in [0, 1]" }
    /// );
    /// ```
    pub const fn ema(decay: f32) -> Result<Self, Error> {
        if let Err(e) = crate::augment::probability("EMA decay", decay) {
            return Err(e);
        }
        let mut ema = Self::swa(0);
        ema.rule = Average::Ema { decay };
        Ok(ema)
    }

    /// The same average, folding in only the calls `start`, `start + every`,
    /// `start + 2·every`, … (SWA's "cycle length": with a cyclic learning rate, fold in
    /// the weights at the end of each cycle). `every = 0` counts as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Averaged, layers::Dense};
    /// let mut swa = Averaged::<2, 0>::swa(1).every(2);
    /// let mut model = Dense::<1, 1>::zeros();
    /// let folded: Vec<bool> = (0..6).map(|_| swa.update(&mut model).unwrap()).collect();
    /// assert_eq!(folded, [false, true, false, true, false, true]);
    /// ```
    pub const fn every(self, every: u32) -> Self {
        Averaged {
            every: if every == 0 { 1 } else { every },
            ..self
        }
    }

    /// The same average, averaging the buffers too instead of copying them (PyTorch:
    /// `use_buffers=True`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Averaged, layers::{BatchNorm, Params}};
    /// let mut bn = BatchNorm::<1>::new();
    /// let mut avg = Averaged::<2, 2>::swa(0).average_buffers(true);
    /// for m in [1.0, 3.0] {
    ///     bn.running_mean.0 = [m];
    ///     avg.update(&mut bn)?;
    /// }
    /// assert_eq!(avg.weights().buffers[0], 2.0);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn average_buffers(self, average_buffers: bool) -> Self {
        Averaged {
            average_buffers,
            ..self
        }
    }

    /// Folds `model`'s weights into the average if this call is due; returns whether
    /// it was. Calls count from 0, whether they fold or not.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] if a parameter (`what: "model parameters"`) or a buffer
    /// that would be folded in (`"model buffers"`) is NaN or infinite, with its index
    /// in [`Params::visit`] (or [`Params::visit_buffers`]) order. The average and the
    /// call count are then unchanged.
    ///
    /// # Examples
    ///
    /// See [`Averaged`].
    pub fn update<M: Params>(&mut self, model: &mut M) -> Result<bool, Error> {
        let due = self.calls >= self.start && (self.calls - self.start).is_multiple_of(self.every);
        if due {
            check_finite(model, self.count > 0 && self.average_buffers)?;
            if self.count == 0 {
                self.weights.copy_from(model);
            } else {
                let lerp = Lerp(self.rule.weight(self.count));
                let average_buffers = self.average_buffers;
                let weights = &mut self.weights;
                Weights::<P, NB>::walk(model, |part, at, theirs| {
                    let mine = &mut weights.part_mut(part)[at..at + theirs.len()];
                    if part == Part::Params || average_buffers {
                        let done = optim::run(true, &lerp, mine, theirs, []);
                        debug_assert!(done.is_ok(), "the slices have equal lengths");
                    } else {
                        mine.copy_from_slice(theirs);
                    }
                });
            }
            self.count = self.count.saturating_add(1);
        }
        self.calls = self.calls.saturating_add(1);
        Ok(due)
    }

    /// The number of weights folded in (PyTorch: `n_averaged`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::average::Averaged::<1, 0>::swa(0).count(), 0);
    /// ```
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The number of calls of [`update`](Averaged::update) so far.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::average::Averaged::<1, 0>::swa(0).calls(), 0);
    /// ```
    pub const fn calls(&self) -> u32 {
        self.calls
    }

    /// The first call that is folded in.
    ///
    /// # Examples
    ///
    /// See [`Averaged::swa`].
    pub const fn start(&self) -> u32 {
        self.start
    }

    /// The averaging rule.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::average::{Average, Averaged};
    /// assert_eq!(Averaged::<1, 0>::swa(0).rule(), Average::Swa);
    /// ```
    pub const fn rule(&self) -> Average {
        self.rule
    }

    /// The averaged parameters and buffers (zeros before the first fold).
    ///
    /// # Examples
    ///
    /// See [`Averaged`].
    pub const fn weights(&self) -> &Weights<P, NB> {
        &self.weights
    }

    /// Writes the averaged weights into `model` (PyTorch: evaluating the
    /// `AveragedModel`'s copy).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Averaged, layers::Dense};
    /// let mut a = Dense::<1, 1>::zeros();
    /// a.bias.0 = [2.0];
    /// let mut swa = Averaged::<2, 0>::swa(0);
    /// swa.update(&mut a)?;
    /// let mut b = Dense::<1, 1>::zeros();
    /// swa.copy_to(&mut b);
    /// assert_eq!(b.bias.0, [2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn copy_to<M: Params>(&self, model: &mut M) {
        self.weights.copy_to(model);
    }

    /// Exchanges the averaged weights with `model`'s in place (see [`Weights::swap`]):
    /// swap, evaluate, swap back. Do not call [`update`](Averaged::update) while the
    /// average is swapped in.
    ///
    /// # Examples
    ///
    /// See the [module documentation](super).
    pub fn swap<M: Params>(&mut self, model: &mut M) {
        self.weights.swap(model);
    }

    /// Forgets everything folded in and every call (the settings stay).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Averaged, layers::Dense};
    /// let mut swa = Averaged::<2, 0>::swa(0);
    /// swa.update(&mut Dense::<1, 1>::zeros())?;
    /// swa.reset();
    /// assert_eq!((swa.count(), swa.calls()), (0, 0));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.calls = 0;
        self.count = 0;
        self.weights = Weights::zeros();
    }
}

/// Checks that every parameter, and with `buffers` every buffer, is finite.
fn check_finite<M: Params>(model: &mut M, buffers: bool) -> Result<(), Error> {
    let mut found: Option<Error> = None;
    let mut offset = 0;
    model.visit(&mut |p| {
        if found.is_none() {
            if let Some(i) = p.value.iter().position(|v| !v.is_finite()) {
                found = Some(Error::NonFinite {
                    what: "model parameters",
                    index: offset + i,
                });
            }
        }
        offset += p.value.len();
    });
    if buffers {
        offset = 0;
        model.visit_buffers(&mut |b| {
            if found.is_none() {
                if let Some(i) = b.value.iter().position(|v| !v.is_finite()) {
                    found = Some(Error::NonFinite {
                        what: "model buffers",
                        index: offset + i,
                    });
                }
            }
            offset += b.value.len();
        });
    }
    found.map_or(Ok(()), Err)
}

/// `θ̄ ← lerp(θ̄, θ, w)` in PyTorch's two-sided form, with the model's weights in the
/// gradient lane.
struct Lerp(f32);

impl Rule<0> for Lerp {
    fn apply<L: Lane>(&self, mean: L, model: L, s: [L; 0]) -> (L, [L; 0]) {
        let w = self.0;
        if w < 0.5 {
            (mean + L::splat(w) * (model - mean), s)
        } else {
            (model - (model - mean) * L::splat(1.0 - w), s)
        }
    }
}
