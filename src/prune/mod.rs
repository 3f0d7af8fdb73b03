//! Magnitude pruning and lottery tickets (Frankle & Carbin, "The Lottery Ticket
//! Hypothesis", ICLR 2019).
//!
//! The recipe, iterative magnitude pruning with rewinding:
//!
//! ```text
//! θ₀ = init();  m = 1                       save θ₀ (or θ_k after k early steps)
//! for round in 1..=R:
//!     train θ with m enforced               θ ⊙ m, and updates of pruned entries are 0
//!     m ← m ⊙ [|θ| above the p-quantile of the kept |θ|]       prune p of what remains
//!     θ ← θ₀ ⊙ m                            rewind the kept weights
//! ```
//!
//! The pieces, each usable alone:
//!
//! - [`Mask`]: one bit per parameter (set = kept), in the flat order of
//!   [`Params::visit`], `WORDS = mask_words(COUNT)` words of 32 bits. Only
//!   [`ParamKind::Weight`] tensors are ever pruned: biases and normalisation scales
//!   stay, as in Frankle & Carbin (and PyTorch's `prune` applied to `'weight'`).
//! - [`Mask::prune`]: removes the fraction `p` of the *remaining* weights of smallest
//!   magnitude, per tensor ([`Scope::PerLayer`]) or with one threshold for all weights
//!   ([`Scope::Global`]), and zeroes them in the model.
//! - [`RewindPoint`]: a copy of the parameters (at initialisation or at an early step)
//!   that [`RewindPoint::rewind`] writes back to the kept parameters.
//! - [`Masked`]: an optimizer wrapper that enforces the mask on gradients, optimizer
//!   state and weights, so the [`Trainer`](crate::train::Trainer) trains a sparse
//!   network unchanged.
//! - [`Mask::sparsity`]: what remains of each tensor.
//!
//! # Examples
//!
//! One round of pruning and rewinding on a small network:
//!
//! ```
//! use microtrain::init::{init_params, Init};
//! use microtrain::layers::{Dense, Params, Relu};
//! use microtrain::prune::{mask_words, Mask, RewindPoint, Scope};
//! use microtrain::{seq, Seq};
//! use rand_core::SeedableRng;
//!
//! type Net = Seq![Dense<4, 8>, Relu, Dense<8, 2>];
//! const P: usize = <Net as Params>::COUNT;
//! const W: usize = mask_words(P);
//! let mut net: Net = seq![Dense::zeros(), Relu, Dense::zeros()];
//! init_params(&mut net, Init::HeNormal, &mut rand_pcg::Pcg32::seed_from_u64(0));
//! let start = RewindPoint::<P>::capture(&mut net);
//! // ... train ...
//! let mut mask = Mask::<W>::dense::<Net>();
//! let pruned = mask.prune(&mut net, 0.5, Scope::Global)?;
//! assert_eq!(pruned, 24);                         // half of the 32 + 16 weights
//! start.rewind(&mut net, &mask);                  // kept weights back to θ₀
//! assert_eq!(mask.kept(), P - 24);                // biases are never pruned
//! # Ok::<(), microtrain::Error>(())
//! ```

mod masked;
mod rewind;
mod select;

pub use masked::Masked;
pub use rewind::RewindPoint;

use crate::layers::{Param, ParamKind, Params};
use crate::Error;

/// The number of 32-bit words a [`Mask`] needs for `count` parameters:
/// `⌈count / 32⌉`. Stable Rust cannot compute an array length from a generic
/// parameter, so the mask's type spells it: `Mask<{ mask_words(<Net as Params>::COUNT) }>`.
///
/// # Examples
///
/// ```
/// use microtrain::prune::mask_words;
/// assert_eq!((mask_words(0), mask_words(1), mask_words(32), mask_words(33)), (0, 1, 1, 2));
/// ```
pub const fn mask_words(count: usize) -> usize {
    count.div_ceil(32)
}

/// Which weights compete for pruning.
///
/// # Examples
///
/// ```
/// use microtrain::prune::Scope;
/// assert_ne!(Scope::PerLayer, Scope::Global);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Each weight tensor loses the fraction `p` of its own remaining weights
    /// (PyTorch: `prune.l1_unstructured(module, 'weight', amount=p)` per layer).
    PerLayer,
    /// One magnitude threshold for all weight tensors together: the fraction `p` of all
    /// remaining weights goes, wherever they are (PyTorch:
    /// `prune.global_unstructured(params, prune.L1Unstructured, amount=p)`).
    Global,
}

/// One bit per parameter of a model, in the flat order of [`Params::visit`]: set for a
/// kept parameter, clear for a pruned one. `WORDS` must be
/// [`mask_words`]`(Params::COUNT)`, checked at compile time by every method that takes
/// the model; the bits past `COUNT` are always clear.
///
/// A mask takes `4·WORDS` bytes, about a thirty-second of the parameters themselves
/// (PyTorch's `weight_mask` buffers hold one float per weight).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::prune::{mask_words, Mask, Scope};
/// let mut d = Dense::<2, 2>::zeros();
/// d.weight.0 = [[0.5, -0.1], [2.0, 0.3]];
/// let mut mask = Mask::<{ mask_words(6) }>::dense::<Dense<2, 2>>();
/// mask.prune(&mut d, 0.5, Scope::PerLayer)?;
/// assert_eq!(d.weight.0, [[0.5, 0.0], [2.0, 0.0]]);
/// assert_eq!((mask.is_kept(0), mask.is_kept(1), mask.is_kept(4)), (true, false, true));
/// # Ok::<(), microtrain::Error>(())
/// ```
///
/// A mask sized for another model does not compile:
///
/// ```compile_fail,E0080
/// use microtrain::layers::Dense;
/// use microtrain::prune::Mask;
/// let mask = Mask::<2>::dense::<Dense<2, 2>>(); // 6 parameters need 1 word
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask<const WORDS: usize> {
    bits: [u32; WORDS],
}

/// How much of one parameter tensor a [`Mask`] keeps, as [`Mask::sparsity`] reports it.
///
/// # Examples
///
/// ```
/// use microtrain::layers::ParamKind;
/// use microtrain::prune::TensorSparsity;
/// let s = TensorSparsity { tensor: 0, offset: 0, kind: ParamKind::Weight, len: 8, kept: 2 };
/// assert_eq!((s.remaining(), s.sparsity()), (0.25, 0.75));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorSparsity {
    /// The tensor's index in [`Params::visit`] order (counted from 0).
    pub tensor: usize,
    /// Its first parameter's index in the flat order.
    pub offset: usize,
    /// Weight, bias or scale (only weights are ever pruned).
    pub kind: ParamKind,
    /// Its number of parameters.
    pub len: usize,
    /// How many of them are kept.
    pub kept: usize,
}

impl TensorSparsity {
    /// `kept / len` (1 for an empty tensor).
    ///
    /// # Examples
    ///
    /// See [`TensorSparsity`].
    pub fn remaining(&self) -> f32 {
        if self.len == 0 {
            1.0
        } else {
            self.kept as f32 / self.len as f32
        }
    }

    /// `1 − kept / len`: the fraction pruned.
    ///
    /// # Examples
    ///
    /// See [`TensorSparsity`].
    pub fn sparsity(&self) -> f32 {
        1.0 - self.remaining()
    }
}

impl<const WORDS: usize> Mask<WORDS> {
    /// The mask that keeps every parameter of `M`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Dense, Params};
    /// use microtrain::prune::{mask_words, Mask};
    /// const W: usize = mask_words(<Dense<5, 7> as Params>::COUNT);
    /// assert_eq!(Mask::<W>::dense::<Dense<5, 7>>().kept(), 42);
    /// ```
    pub const fn dense<M: Params>() -> Self {
        const {
            assert!(
                WORDS == mask_words(M::COUNT),
                "Mask<WORDS>: WORDS must equal mask_words(Params::COUNT)"
            )
        };
        let mut bits = [u32::MAX; WORDS];
        let tail = M::COUNT % 32;
        if tail != 0 {
            bits[WORDS - 1] = (1 << tail) - 1;
        }
        Mask { bits }
    }

    /// Whether parameter `i` (in [`Params::visit`] order) is kept.
    ///
    /// # Panics
    ///
    /// If `i ≥ 32·WORDS`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::Mask};
    /// let m = Mask::<1>::dense::<Dense<1, 1>>();
    /// assert!(m.is_kept(1) && !m.is_kept(2)); // a weight and a bias
    /// ```
    pub const fn is_kept(&self, i: usize) -> bool {
        self.bits[i / 32] >> (i % 32) & 1 == 1
    }

    /// The bits, parameter `i` at bit `i % 32` of word `i / 32`: what to store to keep a
    /// ticket (a checkpoint, flash).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::Mask};
    /// assert_eq!(Mask::<1>::dense::<Dense<2, 2>>().words(), &[0b11_1111]);
    /// ```
    pub const fn words(&self) -> &[u32; WORDS] {
        &self.bits
    }

    /// The number of kept parameters, biases included.
    ///
    /// # Examples
    ///
    /// See [`Mask::dense`].
    pub fn kept(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn clear(&mut self, i: usize) {
        self.bits[i / 32] &= !(1 << (i % 32));
    }

    /// Whether the bits `offset..offset + len` are all set (all kept).
    fn all_kept(&self, offset: usize, len: usize) -> bool {
        (offset..offset + len).all(|i| self.is_kept(i))
    }

    /// Sets every pruned parameter of `model` to zero (PyTorch: `module.weight = weight_orig * weight_mask`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::{Mask, Scope}};
    /// let mut d = Dense::<3, 1>::zeros();
    /// d.weight.0 = [[1.0, 2.0, 3.0]];
    /// let mut mask = Mask::<1>::dense::<Dense<3, 1>>();
    /// mask.prune(&mut d, 1.0 / 3.0, Scope::Global)?;
    /// d.weight.0 = [[9.0, 9.0, 9.0]];
    /// mask.apply(&mut d);
    /// assert_eq!(d.weight.0, [[0.0, 9.0, 9.0]]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn apply<M: Params>(&self, model: &mut M) {
        self.for_each_tensor(model, &mut |p, offset| {
            zero_pruned(self, offset, p.value);
        });
    }

    /// Sets the gradients of every pruned parameter of `model` to zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::{Mask, Scope}};
    /// let mut d = Dense::<2, 1>::zeros();
    /// d.weight.0 = [[1.0, 2.0]];
    /// let mut mask = Mask::<1>::dense::<Dense<2, 1>>();
    /// mask.prune(&mut d, 0.5, Scope::PerLayer)?;
    /// d.weight_grad.0 = [[5.0, 5.0]];
    /// d.bias_grad.0 = [5.0];
    /// mask.apply_to_gradients(&mut d);
    /// assert_eq!((d.weight_grad.0, d.bias_grad.0), ([[0.0, 5.0]], [5.0]));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn apply_to_gradients<M: Params>(&self, model: &mut M) {
        self.for_each_tensor(model, &mut |p, offset| {
            zero_pruned(self, offset, p.grad);
        });
    }

    /// Prunes the fraction `fraction` of the remaining weights of `model` with the
    /// smallest magnitudes, within each weight tensor or over all of them (`scope`),
    /// clears their bits and sets them to zero in `model`. Returns how many were pruned.
    ///
    /// Of `n` remaining weights in a scope, `k = ⌊p·n + ½⌋` go (computed in `f64`): the
    /// `k` smallest `|w|`, ties broken by position (the earlier parameter goes first),
    /// so exactly `k` go even when many weights are equal. Pruned weights, biases and
    /// scales take no part. The threshold is found without allocation by bisection on the
    /// bit patterns of `|w|` (ordered like the values for non-negative floats): 31
    /// counting passes over the scope.
    ///
    /// Repeated calls prune iteratively: `R` rounds at rate `p` leave `(1 − p)^R` of the
    /// weights (up to the rounding of each round).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if `fraction` is NaN or outside `[0, 1]`;
    /// [`Error::NonFinite`] if a remaining weight is NaN or infinite (its flat index).
    /// Mask and model are unchanged then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::{Mask, Scope}, Error};
    /// let mut d = Dense::<4, 1>::zeros();
    /// d.weight.0 = [[0.3, -0.1, 0.1, 0.2]];
    /// let mut mask = Mask::<1>::dense::<Dense<4, 1>>();
    /// assert_eq!(mask.prune(&mut d, 0.5, Scope::Global)?, 2);  // the two 0.1s
    /// assert_eq!(d.weight.0, [[0.3, 0.0, 0.0, 0.2]]);
    /// assert_eq!(mask.prune(&mut d, 0.5, Scope::Global)?, 1);  // half of the 2 left
    /// assert_eq!(d.weight.0, [[0.3, 0.0, 0.0, 0.0]]);
    /// assert!(matches!(mask.prune(&mut d, 1.5, Scope::Global), Err(Error::Setting { .. })));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn prune<M: Params>(
        &mut self,
        model: &mut M,
        fraction: f32,
        scope: Scope,
    ) -> Result<usize, Error> {
        const {
            assert!(
                WORDS == mask_words(M::COUNT),
                "Mask<WORDS>: WORDS must equal mask_words(Params::COUNT)"
            )
        };
        crate::augment::probability("pruning fraction", fraction)?;
        self.check_finite(model)?;
        Ok(match scope {
            Scope::PerLayer => select::prune_per_tensor(self, model, fraction),
            Scope::Global => select::prune_global(self, model, fraction),
        })
    }

    /// Calls `f` with the sparsity of every parameter tensor of `model`, in
    /// [`Params::visit`] order, biases and scales included (always fully kept).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Dense, ParamKind, Relu};
    /// use microtrain::prune::{mask_words, Mask, Scope};
    /// use microtrain::{seq, Seq};
    /// type Net = Seq![Dense<2, 4>, Relu, Dense<4, 1>];
    /// let mut net: Net = seq![Dense::zeros(), Relu, Dense::zeros()];
    /// let mut mask = Mask::<{ mask_words(17) }>::dense::<Net>();
    /// mask.prune(&mut net, 0.25, Scope::PerLayer)?;
    /// let mut kept = Vec::new();
    /// mask.sparsity(&mut net, |s| kept.push((s.kind, s.kept, s.len)));
    /// assert_eq!(kept, [(ParamKind::Weight, 6, 8), (ParamKind::Bias, 4, 4),
    ///                   (ParamKind::Weight, 3, 4), (ParamKind::Bias, 1, 1)]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn sparsity<M: Params>(&self, model: &mut M, mut f: impl FnMut(TensorSparsity)) {
        let mut tensor = 0;
        self.for_each_tensor(model, &mut |p, offset| {
            let len = p.value.len();
            let kept = (offset..offset + len).filter(|&i| self.is_kept(i)).count();
            f(TensorSparsity {
                tensor,
                offset,
                kind: p.kind,
                len,
                kept,
            });
            tensor += 1;
        });
    }

    /// `(kept, total)` over the weights of `model` only: the numbers in which lottery
    /// tickets are reported ("3.6 % of the weights remain").
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::{Mask, Scope}};
    /// let mut d = Dense::<10, 1>::zeros();
    /// let mut mask = Mask::<1>::dense::<Dense<10, 1>>();
    /// mask.prune(&mut d, 0.2, Scope::Global)?;
    /// assert_eq!(mask.weights_kept(&mut d), (8, 10));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn weights_kept<M: Params>(&self, model: &mut M) -> (usize, usize) {
        let (mut kept, mut total) = (0, 0);
        self.sparsity(model, |s| {
            if s.kind == ParamKind::Weight {
                kept += s.kept;
                total += s.len;
            }
        });
        (kept, total)
    }

    /// Calls `f` on every parameter tensor with its flat offset, after checking at
    /// compile time that the mask fits the model.
    fn for_each_tensor<M: Params>(&self, model: &mut M, f: &mut impl FnMut(Param<'_>, usize)) {
        const {
            assert!(
                WORDS == mask_words(M::COUNT),
                "Mask<WORDS>: WORDS must equal mask_words(Params::COUNT)"
            )
        };
        let mut offset = 0;
        model.visit(&mut |p: Param<'_>| {
            let len = p.value.len();
            f(p, offset);
            offset += len;
        });
    }

    /// [`Error::NonFinite`] for the first kept weight that is NaN or infinite.
    fn check_finite<M: Params>(&self, model: &mut M) -> Result<(), Error> {
        let mut bad = None;
        self.for_each_tensor(model, &mut |p, offset| {
            if bad.is_none() && p.kind == ParamKind::Weight {
                bad = p
                    .value
                    .iter()
                    .enumerate()
                    .position(|(i, v)| self.is_kept(offset + i) && !v.is_finite())
                    .map(|i| offset + i);
            }
        });
        match bad {
            Some(index) => Err(Error::NonFinite {
                what: "weights to prune",
                index,
            }),
            None => Ok(()),
        }
    }
}

/// Zeroes the entries of `values` (the tensor at flat `offset`) whose bits are clear.
fn zero_pruned<const WORDS: usize>(mask: &Mask<WORDS>, offset: usize, values: &mut [f32]) {
    for (i, v) in values.iter_mut().enumerate() {
        if !mask.is_kept(offset + i) {
            *v = 0.0;
        }
    }
}
