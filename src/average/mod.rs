//! Weight averaging: a copy of a model's weights kept beside it, and the averages the
//! seed recommends for evaluation.
//!
//! - [`Weights`]: a model's parameters and buffers as two flat arrays whose sizes are
//!   the model's [`Params::COUNT`] and [`Params::BUFFERS`], copied from and to a model,
//!   or swapped with it in place.
//! - [`Averaged`]: Polyak–Ruppert averaging (the running mean of the weights from a
//!   chosen step on, PyTorch's SWA) and the exponential moving average (EMA), with
//!   PyTorch's `torch.optim.swa_utils.AveragedModel` semantics.
//! - [`update_bn`]: batch normalisation's running statistics recomputed for averaged
//!   weights by one pass over the data (PyTorch: `torch.optim.swa_utils.update_bn`).
//!
//! Ensembles of whole models are in [`ensemble`](crate::ensemble).
//!
//! # Examples
//!
//! SWA from the third epoch on, then evaluation with the averaged weights swapped into
//! the trained model and swapped back out:
//!
//! ```
//! use microtrain::average::Averaged;
//! use microtrain::layers::{Dense, Params, Tanh};
//! use microtrain::loss::Mse;
//! use microtrain::optim::Sgd;
//! use microtrain::train::{Dataset, Trainer};
//! use microtrain::{seq, Seq};
//! use rand_core::SeedableRng;
//!
//! type Net = Seq![Dense<1, 4>, Tanh, Dense<4, 1>];
//! let mut t: Trainer<Net, Mse, Sgd, 2, 1, 1> =
//!     Trainer::new(seq![Dense::zeros(), Tanh, Dense::zeros()], Mse, Sgd::new(0.1), 0);
//! microtrain::init::init_params(&mut t.model, microtrain::init::Init::XavierNormal,
//!     &mut rand_pcg::Pcg32::seed_from_u64(1));
//! let data = Dataset::new(&[0.0, 0.5, 1.0, 1.5], 1, &[0.0, 0.25, 0.5, 0.75], 1)?;
//! let mut rng = rand_pcg::Pcg32::seed_from_u64(2);
//! let mut swa = Averaged::<{ Net::COUNT }, { Net::BUFFERS }>::swa(2);
//! for _epoch in 0..10 {
//!     t.epoch(&data, &mut rng)?;
//!     swa.update(&mut t.model)?;
//! }
//! assert_eq!(swa.count(), 8); // epochs 2..=9
//! swa.swap(&mut t.model);     // the model now holds the average
//! let averaged = t.evaluate(&data)?;
//! swa.swap(&mut t.model);     // and its own weights again
//! assert!(averaged.loss.is_finite());
//! # Ok::<(), microtrain::Error>(())
//! ```

mod bn;
mod swa;

pub use bn::update_bn;
pub use swa::{Average, Averaged};

use crate::layers::{Buffer, Param, Params};
use core::mem::size_of;

/// A model's parameters (in [`Params::visit`] order) and buffers (in
/// [`Params::visit_buffers`] order) as flat arrays: what PyTorch's `state_dict()`
/// holds, without the gradients. `P` must equal the model's [`Params::COUNT`] and `NB`
/// its [`Params::BUFFERS`]; a mismatch does not compile.
///
/// # Examples
///
/// ```
/// use microtrain::average::Weights;
/// use microtrain::layers::{BatchNorm, Dense, Params};
/// type Net = (Dense<2, 3>, BatchNorm<3>);
/// let mut net: Net = (Dense::zeros(), BatchNorm::new());
/// let mut w = Weights::<{ Net::COUNT }, { Net::BUFFERS }>::zeros();
/// w.copy_from(&mut net);
/// assert_eq!(w.params[9..12], [1.0; 3]);  // γ after the weights and biases
/// assert_eq!(w.buffers[3..], [1.0; 3]);   // the running variance
/// w.params[0] = 5.0;
/// w.swap(&mut net);
/// assert_eq!((net.0.weight.0[0][0], w.params[0]), (5.0, 0.0));
/// ```
///
/// ```compile_fail
/// use microtrain::{average::Weights, layers::Dense};
/// let mut w = Weights::<5, 0>::zeros();
/// w.copy_from(&mut Dense::<2, 1>::zeros()); // 3 parameters, not 5
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights<const P: usize, const NB: usize> {
    /// The trainable parameters, in [`Params::visit`] order.
    pub params: [f32; P],
    /// The buffers (batch normalisation's running statistics), in
    /// [`Params::visit_buffers`] order.
    pub buffers: [f32; NB],
}

impl<const P: usize, const NB: usize> Weights<P, NB> {
    /// Bytes of the two arrays: `4·(P + NB)`.
    ///
    /// ```
    /// assert_eq!(microtrain::average::Weights::<10, 4>::BYTES, 56);
    /// ```
    pub const BYTES: usize = size_of::<Self>();

    /// All zeros. `const`, so a copy can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::average::Weights;
    /// static W: Weights<4, 0> = Weights::zeros();
    /// assert_eq!(W.params, [0.0; 4]);
    /// ```
    pub const fn zeros() -> Self {
        Weights {
            params: [0.0; P],
            buffers: [0.0; NB],
        }
    }

    /// Copies `model`'s parameters and buffers in (PyTorch: `copy.deepcopy(model)`).
    ///
    /// # Examples
    ///
    /// See [`Weights`].
    pub fn copy_from<M: Params>(&mut self, model: &mut M) {
        Self::walk(model, |part, at, theirs| {
            self.part_mut(part)[at..at + theirs.len()].copy_from_slice(theirs);
        });
    }

    /// Writes the parameters and buffers into `model` (PyTorch:
    /// `model.load_state_dict(…)`); its gradients are left as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{average::Weights, layers::Dense};
    /// let w = Weights::<3, 0> { params: [1.0, 2.0, 3.0], buffers: [] };
    /// let mut d = Dense::<2, 1>::zeros();
    /// w.copy_to(&mut d);
    /// assert_eq!((d.weight.0, d.bias.0), ([[1.0, 2.0]], [3.0]));
    /// ```
    pub fn copy_to<M: Params>(&self, model: &mut M) {
        Self::walk(model, |part, at, theirs| {
            let mine = match part {
                Part::Params => &self.params[..],
                Part::Buffers => &self.buffers[..],
            };
            theirs.copy_from_slice(&mine[at..at + theirs.len()]);
        });
    }

    /// Exchanges the parameters and buffers with `model`'s, in place: evaluating with
    /// these weights then needs no second model, and swapping again restores both
    /// exactly.
    ///
    /// # Examples
    ///
    /// See [`Weights`].
    pub fn swap<M: Params>(&mut self, model: &mut M) {
        Self::walk(model, |part, at, theirs| {
            self.part_mut(part)[at..at + theirs.len()].swap_with_slice(theirs);
        });
    }

    /// The parameters or the buffers.
    pub(crate) fn part_mut(&mut self, part: Part) -> &mut [f32] {
        match part {
            Part::Params => &mut self.params,
            Part::Buffers => &mut self.buffers,
        }
    }

    /// Calls `f(part, offset, values)` on each of `model`'s parameter tensors, then on
    /// each buffer, with the offset of `values` in the flat array of its part.
    pub(crate) fn walk<M: Params>(model: &mut M, mut f: impl FnMut(Part, usize, &mut [f32])) {
        const {
            assert!(
                P == M::COUNT && NB == M::BUFFERS,
                "Weights<P, NB>: P must equal the model's Params::COUNT and NB its Params::BUFFERS"
            )
        };
        let mut offset = 0;
        model.visit(&mut |p: Param<'_>| {
            f(Part::Params, offset, p.value);
            offset += p.value.len();
        });
        debug_assert_eq!(offset, P, "Params::visit shows Params::COUNT scalars");
        offset = 0;
        model.visit_buffers(&mut |b: Buffer<'_>| {
            f(Part::Buffers, offset, b.value);
            offset += b.value.len();
        });
        debug_assert_eq!(
            offset, NB,
            "Params::visit_buffers shows Params::BUFFERS scalars"
        );
    }
}

/// Which of the two arrays of a [`Weights`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Params,
    Buffers,
}

impl<const P: usize, const NB: usize> Default for Weights<P, NB> {
    fn default() -> Self {
        Self::zeros()
    }
}
