//! [`RewindPoint`]: the parameters a lottery ticket is rewound to.

use super::{mask_words, Mask};
use crate::layers::{Param, Params};

/// A copy of a model's `P` parameters in [`Params::visit`] order, taken at
/// initialisation (Frankle & Carbin 2019) or after `k` early steps ("late rewinding",
/// Frankle et al. 2020, which finds tickets in deeper networks), to rewind the kept
/// parameters to after each round of pruning:
///
/// ```text
/// θ ← θ_k ⊙ m        kept parameters back to their saved values, pruned ones 0
/// ```
///
/// Biases and scales are rewound too (they are always kept). Buffers (batch
/// normalisation's running statistics) are not part of it. `P` must equal the model's
/// [`Params::COUNT`] (checked at compile time); `4·P` bytes.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Params};
/// use microtrain::prune::{Mask, RewindPoint, Scope};
/// let mut d = Dense::<2, 1>::zeros();
/// d.weight.0 = [[0.5, -0.25]];
/// d.bias.0 = [0.125];
/// let start = RewindPoint::<3>::capture(&mut d);
/// d.weight.0 = [[3.0, 0.1]];                            // "training"
/// d.bias.0 = [1.0];
/// let mut mask = Mask::<1>::dense::<Dense<2, 1>>();
/// mask.prune(&mut d, 0.5, Scope::Global)?;               // prunes the 0.1
/// start.rewind(&mut d, &mask);
/// assert_eq!((d.weight.0, d.bias.0), ([[0.5, 0.0]], [0.125]));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RewindPoint<const P: usize> {
    params: [f32; P],
}

impl<const P: usize> RewindPoint<P> {
    /// All zeros, to be filled in place by [`save`](RewindPoint::save) (`const`, so it
    /// can be a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::prune::RewindPoint;
    /// static mut START: RewindPoint<4> = RewindPoint::zeros();
    /// assert_eq!(RewindPoint::<2>::zeros().params(), &[0.0, 0.0]);
    /// ```
    pub const fn zeros() -> Self {
        RewindPoint { params: [0.0; P] }
    }

    /// A copy of the parameters of `model`.
    ///
    /// # Examples
    ///
    /// See [`RewindPoint`].
    pub fn capture<M: Params>(model: &mut M) -> Self {
        let mut point = Self::zeros();
        point.save(model);
        point
    }

    /// Overwrites the copy with the parameters of `model` now.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, prune::RewindPoint};
    /// let mut d = Dense::<1, 1>::zeros();
    /// let mut point = RewindPoint::<2>::zeros();
    /// d.bias.0 = [4.0];
    /// point.save(&mut d);
    /// assert_eq!(point.params(), &[0.0, 4.0]);
    /// ```
    pub fn save<M: Params>(&mut self, model: &mut M) {
        const {
            assert!(
                P == M::COUNT,
                "RewindPoint<P>: P must equal the model's Params::COUNT"
            )
        };
        let mut offset = 0;
        model.visit(&mut |p: Param<'_>| {
            let n = p.value.len();
            if let Some(saved) = self.params.get_mut(offset..offset + n) {
                saved.copy_from_slice(p.value);
            }
            offset += n;
        });
    }

    /// Writes the saved value of every parameter that `mask` keeps into `model`, and
    /// zero into every pruned one. The saved values come back bit for bit.
    ///
    /// # Examples
    ///
    /// See [`RewindPoint`].
    pub fn rewind<M: Params, const WORDS: usize>(&self, model: &mut M, mask: &Mask<WORDS>) {
        const {
            assert!(
                P == M::COUNT && WORDS == mask_words(P),
                "RewindPoint<P> and Mask<WORDS>: P must equal Params::COUNT, WORDS mask_words(P)"
            )
        };
        let mut offset = 0;
        model.visit(&mut |p: Param<'_>| {
            for (i, v) in p.value.iter_mut().enumerate() {
                let j = offset + i;
                *v = if mask.is_kept(j) { self.params[j] } else { 0.0 };
            }
            offset += p.value.len();
        });
    }

    /// The saved parameters, in [`Params::visit`] order.
    ///
    /// # Examples
    ///
    /// See [`RewindPoint::save`].
    pub const fn params(&self) -> &[f32; P] {
        &self.params
    }
}
