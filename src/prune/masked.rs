//! [`Masked`]: any element-wise optimizer, with a pruning mask enforced on its updates.

use super::Mask;
use crate::layers::ParamKind;
use crate::optim::{Optimizer, Pass};
use crate::Error;

/// Elements per piece when a tensor's gradient is copied to mask it: a stack buffer of
/// 256 bytes, a multiple of every SIMD width.
const CHUNK: usize = 64;

/// The optimizer `O` training only the parameters that `mask` keeps: it zeroes the
/// gradient of every pruned parameter before `O` sees it, so `O`'s state (momentum,
/// Adam's moments) never moves for them, and sets pruned parameters to zero after each
/// applied update, so neither weight decay nor a stale state can revive them.
/// (PyTorch's `torch.nn.utils.prune` gets the same effect by computing
/// `weight = weight_orig * weight_mask` in every forward pass.)
///
/// Because `update` cannot write the gradient, a tensor that is partly pruned is
/// handed to `O` in pieces of 64 elements whose masked gradient is copied on the stack;
/// `O` must therefore be element-wise (every optimizer in [`optim`](crate::optim) is),
/// and the result is bit-identical to stepping the whole tensor at once. Fully kept
/// tensors (biases, unpruned layers) go to `O` whole.
///
/// The trainer's gradient clipping runs before the optimizer, so a clipping *norm*
/// still counts the gradients of pruned weights; zero them first with
/// [`Mask::apply_to_gradients`] if that matters.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::optim::{Adam, AdamConfig, Optimizer};
/// use microtrain::prune::{Mask, Masked, Scope};
/// let mut d = Dense::<2, 1>::zeros();
/// d.weight.0 = [[0.1, 1.0]];
/// let mut mask = Mask::<1>::dense::<Dense<2, 1>>();
/// mask.prune(&mut d, 0.5, Scope::Global)?;            // prunes the 0.1
/// let adam = Adam::<3>::new(AdamConfig { weight_decay: 0.1, ..AdamConfig::default() });
/// let mut opt = Masked::new(adam, mask);
/// for _ in 0..10 {
///     d.weight_grad.0 = [[1.0, 1.0]];
///     opt.step(&mut d)?;
/// }
/// assert_eq!(d.weight.0[0][0], 0.0);                  // stays pruned
/// assert!(d.weight.0[0][1] < 1.0);                    // the kept weight trains
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masked<O, const WORDS: usize> {
    /// The optimizer that updates the kept parameters.
    pub inner: O,
    /// Which parameters are kept.
    pub mask: Mask<WORDS>,
}

impl<O: Optimizer, const WORDS: usize> Masked<O, WORDS> {
    /// `inner`, restricted to the parameters `mask` keeps. A fresh optimizer per round
    /// of pruning is Frankle & Carbin's recipe (each round retrains from the rewind
    /// point).
    ///
    /// # Examples
    ///
    /// See [`Masked`].
    ///
    /// A mask sized for other parameters than a stateful `O` does not compile:
    ///
    /// ```compile_fail,E0080
    /// use microtrain::layers::Dense;
    /// use microtrain::optim::{Adam, AdamConfig};
    /// use microtrain::prune::{Mask, Masked};
    /// let mask = Mask::<2>::dense::<Dense<8, 5>>();            // 45 parameters
    /// let _ = Masked::new(Adam::<70>::new(AdamConfig::default()), mask);
    /// ```
    pub const fn new(inner: O, mask: Mask<WORDS>) -> Self {
        const {
            assert!(
                match O::PARAMS {
                    Some(p) => WORDS == super::mask_words(p),
                    None => true,
                },
                "Masked<O, WORDS>: WORDS must equal mask_words(P) of the optimizer's P"
            )
        };
        Masked { inner, mask }
    }
}

impl<O: Optimizer, const WORDS: usize> Optimizer for Masked<O, WORDS> {
    const PARAMS: Option<usize> = O::PARAMS;
    /// The inner optimizer's state and the mask.
    const STATE_BYTES: usize = O::STATE_BYTES + 4 * WORDS;

    fn learning_rate(&self) -> f32 {
        self.inner.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.inner.set_learning_rate(lr);
    }

    fn check(&self) -> Result<(), Error> {
        self.inner.check()
    }

    fn begin_step(&mut self) {
        self.inner.begin_step();
    }

    fn cancel_step(&mut self) {
        self.inner.cancel_step();
    }

    /// As `O::update` with the gradients of pruned parameters taken as zero, and
    /// pruned parameters set to zero once written.
    ///
    /// # Errors
    ///
    /// As `O::update`, and [`Error::Length`] if the tensor reaches past the mask.
    fn update(
        &mut self,
        pass: Pass,
        offset: usize,
        kind: ParamKind,
        value: &mut [f32],
        grad: &[f32],
    ) -> Result<bool, Error> {
        let end = offset.saturating_add(value.len().max(grad.len()));
        if end > 32 * WORDS {
            return Err(Error::Length {
                what: "parameters past the pruning mask",
                expected: 32 * WORDS,
                found: end,
            });
        }
        if value.len() != grad.len() || self.mask.all_kept(offset, value.len()) {
            return self.inner.update(pass, offset, kind, value, grad);
        }
        if pass.writes() {
            // Every error of `O` is found by trying the last piece, which reaches
            // furthest: nothing is written unless every piece will be.
            let last = (value.len() - 1) / CHUNK * CHUNK;
            self.inner.update(
                Pass::Try,
                offset + last,
                kind,
                &mut value[last..],
                &grad[last..],
            )?;
        }
        let mut finite = true;
        let mut masked = [0.0f32; CHUNK];
        for (k, (v, g)) in value.chunks_mut(CHUNK).zip(grad.chunks(CHUNK)).enumerate() {
            let start = offset + k * CHUNK;
            let buffer = &mut masked[..g.len()];
            for (i, (b, &gi)) in buffer.iter_mut().zip(g).enumerate() {
                *b = if self.mask.is_kept(start + i) {
                    gi
                } else {
                    0.0
                };
            }
            finite &= self.inner.update(pass, start, kind, v, buffer)?;
            if pass.writes() {
                super::zero_pruned(&self.mask, start, v);
            }
        }
        Ok(finite)
    }
}
