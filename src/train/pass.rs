//! One pass over one batch, and the loops of an epoch and of an evaluation over
//! batches, shared by every way of training: [`Trainer::train_step`] on the caller's
//! batch, [`Trainer::epoch`] on the batch it gathers from a [`Dataset`](super::Dataset),
//! [`Trainer::epoch_in_place`] on the caller's [`Batches`](super::Batches).
//!
//! [`Trainer::split`] borrows the trainer as the parts a pass writes ([`Pass`]) beside
//! its input buffer, so that the same pass reads a gathered batch or the caller's.

use super::{Evaluation, InputBuffer, Trainer};
use crate::kernels;
use crate::layers::{Context, Input, Layer, Mode};
use crate::loss::{Loss, Risk};
use crate::optim::{Optimizer, Refusal};
use crate::tensor::Tensor;
use crate::{Batch, Error};

/// A trainer's parts that one pass over a batch uses, borrowed apart from its input
/// buffer ([`Trainer::split`]).
pub(super) struct Pass<'t, M, L, X, const B: usize, const OUT: usize>
where
    X: Tensor,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
{
    model: &'t mut M,
    loss: &'t L,
    cache: &'t mut M::Cache,
    ctx: &'t mut Context,
    targets: &'t L::Targets,
}

/// One batch's evaluation: its mean loss and, for classification, (correct, judged).
pub(super) struct Score {
    loss: f32,
    correct: Option<(usize, usize)>,
}

impl<'t, M, L, X, const B: usize, const OUT: usize> Pass<'t, M, L, X, B, OUT>
where
    X: Tensor,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
{
    /// The model's output for `x`, of which `rows` are samples, in `mode`.
    pub(super) fn forward(self, x: &X, mode: Mode, rows: usize) -> &'t mut Batch<B, OUT> {
        self.ctx.mode = mode;
        self.ctx.rows = rows;
        self.model.forward(x, &mut *self.cache, self.ctx);
        M::output_mut(self.cache)
    }

    /// Forward, loss and backward on `x`, adding `weight ×` its gradient to the
    /// parameter gradients; returns the batch's mean loss. A loss that is not finite
    /// is returned before the backward pass: nothing is added then.
    pub(super) fn accumulate(self, x: &X, rows: usize, weight: f32) -> f32 {
        self.ctx.mode = Mode::Train;
        self.ctx.rows = rows;
        self.model.forward(x, &mut *self.cache, self.ctx);
        // The loss gradient goes over the output, where the model's backward pass finds
        // its `dy`; every gradient after it goes over the activation it belongs to.
        let out = M::output_mut(&mut *self.cache);
        let loss = self.loss.loss_in_place(out, self.targets, rows);
        if loss.is_finite() {
            if weight != 1.0 {
                kernels::scale(weight, out.as_mut_slice());
            }
            self.model.backward_in_place(Input::Keep(x), self.cache);
        }
        loss
    }

    /// The evaluation of `x`, of which `rows` are samples, with dropout off.
    pub(super) fn score(self, x: &X, rows: usize) -> Score {
        let (loss, targets) = (self.loss, self.targets);
        let out = self.forward(x, Mode::Eval, rows);
        // The accuracy first: the loss overwrites the output with its gradient.
        let correct = loss.correct(out, targets, rows);
        Score {
            loss: loss.loss_in_place(out, targets, rows),
            correct,
        }
    }
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
    S: InputBuffer<X>,
{
    /// The samples an epoch over `len` trains on: all, or the full batches with
    /// [`drop_last`](Trainer::drop_last).
    pub(super) fn samples_used(&self, len: usize) -> Result<usize, Error> {
        let used = if self.drop_last { len - len % B } else { len };
        if used == 0 {
            return Err(Error::Empty {
                what: "epoch (drop_last with fewer samples than one batch)",
            });
        }
        Ok(used)
    }

    /// The trainer borrowed as the parts a pass uses, with its input buffer beside
    /// them, so that a pass can read the batch gathered there.
    pub(super) fn split(&mut self) -> (Pass<'_, M, L, X, B, OUT>, &mut S) {
        let pass = Pass {
            model: &mut self.model,
            loss: &self.loss,
            cache: &mut self.cache,
            ctx: &mut self.ctx,
            targets: &self.targets,
        };
        (pass, &mut self.input)
    }

    /// Forward, loss and backward on `x` with the targets set, adding `weight ×` its
    /// gradient to the parameter gradients; returns the batch's mean loss.
    pub(super) fn accumulate(&mut self, x: &X, rows: usize, weight: f32) -> Result<f32, Error> {
        let loss = self.split().0.accumulate(x, rows, weight);
        self.accepted(loss)
    }

    /// `loss` if it is finite; a step refused for it otherwise.
    pub(super) fn accepted(&mut self, loss: f32) -> Result<f32, Error> {
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(self.refuse(loss, Refusal::Loss))
        }
    }

    /// The loop of an epoch over `used` samples, in updates of `micro_batches · B`
    /// samples (`0` counts as 1): `micro(self, start, rows, weight)` runs one batch of
    /// `rows` samples from position `start` through [`Pass::accumulate`] (with
    /// `weight`, its share of the update's samples) and returns its mean loss. The
    /// settings were checked and `used` is not 0.
    pub(super) fn train_groups(
        &mut self,
        used: usize,
        micro_batches: usize,
        mut micro: impl FnMut(&mut Self, usize, usize, f32) -> Result<f32, Error>,
    ) -> Result<Risk, Error> {
        let group = B.saturating_mul(micro_batches.max(1));
        let (mut total, mut penalty, mut updates) = (0.0, 0.0, 0);
        let mut start = 0;
        while start < used {
            let end = used.min(start.saturating_add(group));
            let share = 1.0 / (end - start) as f32;
            self.model.zero_grad();
            let mut group_loss = 0.0;
            while start < end {
                let rows = B.min(end - start);
                let weight = rows as f32 * share;
                group_loss += micro(self, start, rows, weight)? * weight;
                start += rows;
                if start < end {
                    self.model.commit(&self.cache);
                }
            }
            penalty += self.update(group_loss)?;
            self.model.commit(&self.cache);
            total += group_loss / share;
            updates += 1;
        }
        let n = used as f32;
        Ok(Risk {
            data: total / n,
            penalty: penalty / updates as f32,
        })
    }

    /// The loop of an evaluation over `len > 0` samples in batches of `B`:
    /// `score(self, start, rows)` scores one batch through [`Pass::score`].
    pub(super) fn score_batches(
        &mut self,
        len: usize,
        mut score: impl FnMut(&mut Self, usize, usize) -> Result<Score, Error>,
    ) -> Result<Evaluation, Error> {
        let (mut total, mut hits, mut judged) = (0.0, 0, 0);
        let mut start = 0;
        while start < len {
            let rows = B.min(len - start);
            let batch = score(self, start, rows)?;
            if let Some((h, j)) = batch.correct {
                hits += h;
                judged += j;
            }
            total += batch.loss * rows as f32;
            start += rows;
        }
        let accuracy = (judged > 0).then(|| hits as f32 / judged as f32);
        Ok(Evaluation {
            loss: total / len as f32,
            accuracy,
        })
    }
}
