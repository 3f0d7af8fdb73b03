//! "Start by overfitting to debug": before a long run, check that the model, the loss
//! and the optimizer can drive the loss on one small batch to (nearly) zero. A network
//! that cannot memorise a handful of samples has a bug (a wrong gradient, a frozen
//! layer, labels that do not match the inputs, a learning rate far off), and no amount
//! of data or epochs will fix it.

use super::{InputBuffer, Trainer};
use crate::layers::{Layer, Params};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::{Batch, Error};

/// What [`Trainer::overfit_batch`] found.
///
/// # Examples
///
/// ```
/// use microtrain::train::OverfitReport;
/// let r = OverfitReport { reached: true, steps: 40, initial_loss: 2.3, final_loss: 0.009 };
/// assert!(r.reached && r.final_loss < r.initial_loss);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverfitReport {
    /// Whether the batch's loss fell to the target loss or below.
    pub reached: bool,
    /// The updates taken: the number it needed when `reached`, otherwise the maximum.
    pub steps: u32,
    /// The batch's loss before the first update.
    pub initial_loss: f32,
    /// The batch's loss with the model as it is left: after `steps` updates.
    pub final_loss: f32,
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X, S>
    Trainer<M, L, O, B, IN, OUT, X, S>
where
    X: Tensor + Copy,
    S: InputBuffer<X>,
    M: Layer<X, Output = Batch<B, OUT>> + Params,
    L: Loss<B, OUT>,
    O: Optimizer,
{
    /// Trains on the one batch `x` with `targets` until its loss is at most
    /// `target_loss` or `max_steps` updates have been taken, and reports which.
    ///
    /// Each round measures the batch's mean loss `J(θ) = (1/B) Σᵢ ℓ(f(xᵢ; θ), yᵢ)` in
    /// training mode (dropout active, batch normalisation on the batch's statistics),
    /// as a [`train_step`](Trainer::train_step) does; if `J ≤ target_loss` it stops,
    /// otherwise it applies that step's update. So the loss reported last is the loss
    /// of the parameters the model is left with, and no update is taken after the
    /// target is reached. The batch is read where it is (no copy).
    ///
    /// This changes the model, its batch-norm running statistics and the optimizer's
    /// state: run it on a throw-away trainer (or re-initialise the model and build a
    /// fresh optimizer afterwards) before the real training. Regularisation (dropout,
    /// weight penalties) makes the target harder to reach; a near-zero target with
    /// heavy dropout may need more steps. There is no PyTorch function for this; it is
    /// the loop `for step in range(max_steps): loss = loss_fn(model(x), y); if
    /// loss <= target: break; loss.backward(); opt.step()`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] named `"overfit target_loss"` if `target_loss` is NaN,
    /// infinite or negative; [`Error::NonFinite`] for a NaN or infinite input; and as
    /// [`Trainer::train_step`] ([`Error::Diverged`] if a step diverges: that step is
    /// not applied). Nothing is changed when an input is refused.
    ///
    /// # Panics
    ///
    /// If a class label in `targets` is not below the number of classes: the loss
    /// indexes the logits with it, as in [`Trainer::train_step`]. Labels of data that
    /// passed [`Trainer::check`] are below it.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::init::{init_params, Init};
    /// use microtrain::layers::{Dense, Relu};
    /// use microtrain::loss::CrossEntropy;
    /// use microtrain::optim::{Adam, AdamConfig};
    /// use microtrain::{seq, train::Trainer, Matrix, Seq};
    /// use rand_core::SeedableRng;
    /// type Net = Seq![Dense<2, 16>, Relu, Dense<16, 2>];
    /// let mut t: Trainer<Net, CrossEntropy, Adam<82>, 4, 2, 2> = Trainer::new(
    ///     seq![Dense::zeros(), Relu, Dense::zeros()],
    ///     CrossEntropy::default(),
    ///     Adam::new(AdamConfig { lr: 0.05, ..AdamConfig::default() }),
    ///     0,
    /// );
    /// init_params(&mut t.model, Init::HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(3));
    /// // XOR: four points no linear model separates, easily memorised by this one.
    /// let x = Matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    /// let y = [0, 1, 1, 0];
    /// let report = t.overfit_batch(&x, &y, 500, 0.01)?;
    /// assert!(report.reached && report.steps < 500);
    /// assert!(report.final_loss <= 0.01 && report.initial_loss > 0.1);
    /// assert!(t.overfit_batch(&x, &y, 10, f32::NAN).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn overfit_batch(
        &mut self,
        x: &X,
        targets: &L::Targets,
        max_steps: u32,
        target_loss: f32,
    ) -> Result<OverfitReport, Error> {
        if !(target_loss.is_finite() && target_loss >= 0.0) {
            return Err(Error::Setting {
                name: "overfit target_loss",
                value: target_loss,
                rule: "finite and not negative",
            });
        }
        if let Some(index) = crate::kernels::first_non_finite(x.as_slice()) {
            return Err(Error::NonFinite {
                what: "batch input",
                index,
            });
        }
        self.targets = *targets;
        let mut initial_loss = f32::NAN;
        let mut steps = 0;
        loop {
            self.model.zero_grad();
            let loss = self.accumulate(x, B, 1.0)?;
            if steps == 0 {
                initial_loss = loss;
            }
            if loss <= target_loss || steps == max_steps {
                return Ok(OverfitReport {
                    reached: loss <= target_loss,
                    steps,
                    initial_loss,
                    final_loss: loss,
                });
            }
            self.update(loss)?;
            self.model.commit(&self.cache);
            steps += 1;
        }
    }
}
