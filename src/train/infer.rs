//! Inference through a trainer: one sample at a time, and class probabilities.
//!
//! [`Trainer::predict`] runs a full batch of `B` samples; the methods here take one
//! sample as its `IN` values in the input's storage order (a dataset row: for an
//! [`Image`](crate::Image) input, `H·W·C` values channels-last), or turn the outputs
//! into class probabilities by a softmax. Every one refuses a NaN or infinite input
//! with [`Error::NonFinite`] before the model runs, as training does.

use super::{InputBuffer, Trainer};
use crate::kernels;
use crate::layers::{Layer, Mode};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::{Batch, Error};

/// Refuses a NaN or infinite input value, naming its index.
pub(super) fn check_input(x: &[f32]) -> Result<(), Error> {
    match crate::kernels::first_non_finite(x) {
        Some(index) => Err(Error::NonFinite {
            what: "prediction input",
            index,
        }),
        None => Ok(()),
    }
}

/// `softmax(row)` in place, through [`kernels::softmax_row`].
fn softmax_in_place<const N: usize>(row: &mut [f32; N]) {
    let logits = *row;
    let done = kernels::softmax_row(&logits, row);
    debug_assert!(done.is_ok(), "one row of N values each side");
}

impl<M, L, O, const B: usize, const IN: usize, const OUT: usize, X> Trainer<M, L, O, B, IN, OUT, X>
where
    X: Tensor + Copy,
    M: Layer<X, Output = Batch<B, OUT>>,
    L: Loss<B, OUT>,
    O: Optimizer,
{
    /// The model's output for one sample `x` (its `IN` values in the input's storage
    /// order, as in a [`Dataset`](super::Dataset) row), in evaluation mode: row 0 of
    /// [`predict`](Trainer::predict) on a batch holding `x` and zero padding (PyTorch:
    /// `model(x.unsqueeze(0))[0]` in `eval()` mode).
    ///
    /// The forward pass still runs over the trainer's `B` rows, so a trainer with a
    /// large `B` pays for `B` samples: firmware that predicts one sample at a time
    /// keeps a second `Trainer` with `B = 1` over a copy of the trained model (or
    /// trains with `B = 1`).
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] naming `"prediction input"` and the index of the first NaN
    /// or infinite value; the model does not run then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::Mse, optim::Sgd, train::Trainer};
    /// let mut t: Trainer<Dense<2, 1>, Mse, Sgd, 4, 2, 1> = Trainer::new(Dense::zeros(), Mse, Sgd::new(0.1), 0);
    /// t.model.weight.0 = [[1.0, 10.0]];
    /// assert_eq!(t.predict_one(&[2.0, 3.0])?, [32.0]);
    /// assert!(t.predict_one(&[2.0, f32::INFINITY]).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    ///
    /// A convolutional model takes one image as its `H·W·C` values, channels-last:
    ///
    /// ```
    /// use microtrain::layers::{Dense, Flatten};
    /// use microtrain::{loss::CrossEntropy, optim::Sgd, seq, train::Trainer, Image, Seq};
    /// // Batches of 8 images of 1 × 2 pixels, 1 channel: IN = 2.
    /// let mut t: Trainer<Seq![Flatten<2>, Dense<2, 2>], CrossEntropy, Sgd, 8, 2, 2, Image<8, 1, 2, 1>> =
    ///     Trainer::new(seq![Flatten, Dense::zeros()], CrossEntropy::default(), Sgd::new(0.1), 0);
    /// t.model.1.weight.0 = [[1.0, 0.0], [0.0, 1.0]];
    /// assert_eq!(t.predict_one(&[5.0, 7.0])?, [5.0, 7.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn predict_one(&mut self, x: &[f32; IN]) -> Result<[f32; OUT], Error> {
        check_input(x)?;
        let (first, padding) = self.input.as_mut_slice().split_at_mut(IN);
        first.copy_from_slice(x);
        padding.fill(0.0);
        let (pass, input) = self.split();
        Ok(pass.forward(input, Mode::Eval, 1).0[0])
    }

    /// Class probabilities for one sample: the softmax of
    /// [`predict_one`](Trainer::predict_one)'s output (PyTorch:
    /// `torch.softmax(model(x.unsqueeze(0))[0], dim=0)`), as
    /// [`predict_proba`](Trainer::predict_proba) computes each row.
    ///
    /// # Errors
    ///
    /// As [`predict_one`](Trainer::predict_one).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{kernels::argmax, layers::Dense, loss::CrossEntropy, optim::Sgd, train::Trainer};
    /// let mut t: Trainer<Dense<1, 3>, CrossEntropy, Sgd, 4, 1, 3> =
    ///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    /// t.model.bias.0 = [0.0, 2.0, 0.0];
    /// let p = t.predict_proba_one(&[1.0])?;
    /// assert_eq!(argmax(&p), Some(1));
    /// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    /// assert!(t.predict_proba_one(&[f32::NAN]).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn predict_proba_one(&mut self, x: &[f32; IN]) -> Result<[f32; OUT], Error> {
        let mut p = self.predict_one(x)?;
        softmax_in_place(&mut p);
        Ok(p)
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
    /// Class probabilities for a batch: the softmax of each row of
    /// [`predict`](Trainer::predict)'s outputs, `pᵢ = e^(zᵢ − m)/Σⱼ e^(zⱼ − m)` with
    /// `m = maxⱼ zⱼ` (PyTorch: `torch.softmax(model(x), dim=1)`;
    /// [`kernels::softmax_row`] computes each row). Meaningful for a model that outputs
    /// logits for [`CrossEntropy`](crate::loss::CrossEntropy); the class is the
    /// [`kernels::argmax`] of a row either way.
    ///
    /// The probabilities are written over the model output in the trainer's cache (no
    /// extra memory), valid until the next step or evaluation.
    ///
    /// # Errors
    ///
    /// As [`predict`](Trainer::predict).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, loss::CrossEntropy, optim::Sgd, train::Trainer, Matrix};
    /// let mut t: Trainer<Dense<1, 2>, CrossEntropy, Sgd, 2, 1, 2> =
    ///     Trainer::new(Dense::zeros(), CrossEntropy::default(), Sgd::new(0.1), 0);
    /// t.model.weight.0 = [[1.0], [-1.0]];
    /// let p = t.predict_proba(&Matrix([[0.0], [1.0]]))?;
    /// assert_eq!(p.0[0], [0.5, 0.5]);
    /// assert!((p.0[1][0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn predict_proba(&mut self, x: &X) -> Result<&Batch<B, OUT>, Error> {
        self.predict(x)?;
        let out = M::output_mut(&mut self.cache);
        for row in out.0.iter_mut() {
            softmax_in_place(row);
        }
        Ok(out)
    }
}
