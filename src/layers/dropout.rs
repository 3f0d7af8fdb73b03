//! Inverted dropout (PyTorch: `nn.Dropout(p)`).

use super::{Context, Input, Layer, Mode, Param, Params, Tensor};
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// Inverted dropout: in training, each element is zeroed with probability `p` and the
/// kept ones are scaled by `1/(1 − p)`, so that evaluation is the identity (the seed's
/// "scale by p at inference" moved to training time, as PyTorch does).
///
/// The mask costs no memory: each forward pass draws a 64-bit seed from the
/// [`Context`], stores it, and the mask is the stream of a `Pcg32` seeded with it
/// (element `i` is kept when the `i`-th draw `uᵢ` satisfies `uᵢ ≥ p·2³²`). Backward
/// regenerates the same stream.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, Dropout, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let x: Batch<1, 4> = Matrix([[1.0; 4]]);
/// let mut cache = Zeroed::ZERO;
/// let d = Dropout::new(0.5);
/// d.forward(&x, &mut cache, &mut Context::new(Mode::Train, 3));
/// let y = <Dropout as Layer<Batch<1, 4>>>::output(&cache);
/// assert!(y.0[0].iter().all(|&v| v == 0.0 || v == 2.0));
/// d.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 3));
/// assert_eq!(<Dropout as Layer<Batch<1, 4>>>::output(&cache), &x);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    threshold: u32,
    keep_scale: f32,
    p: f32,
}

impl Dropout {
    /// Dropout with drop probability `p`, clamped into `[0, 1]` (NaN counts as 0);
    /// [`try_new`](Dropout::try_new) refuses such a `p` instead. `p = 1` zeroes every
    /// element in training, as PyTorch does. `const`, so a model with dropout can be a
    /// `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dropout;
    /// assert_eq!(Dropout::new(0.25).p(), 0.25);
    /// ```
    pub const fn new(p: f32) -> Self {
        let p = if p > 0.0 { p.min(1.0) } else { 0.0 };
        if p == 1.0 {
            // Every draw is below the threshold but u32::MAX, which the zero scale
            // zeroes too.
            return Dropout {
                threshold: u32::MAX,
                keep_scale: 0.0,
                p,
            };
        }
        let threshold = (p as f64 * 4_294_967_296.0) as u32;
        Dropout {
            threshold,
            keep_scale: 1.0 / (1.0 - p),
            p,
        }
    }

    /// [`new`](Dropout::new) after checking that `p` is in `[0, 1]` (PyTorch raises
    /// the same for `nn.Dropout(p)`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`](crate::Error::Setting) naming `"Dropout p"` otherwise (NaN
    /// included).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dropout, Error};
    /// assert_eq!(Dropout::try_new(0.5).map(|d| d.p()), Ok(0.5));
    /// assert_eq!(
    ///     Dropout::try_new(1.5),
    ///     Err(Error::Setting { name: "Dropout p", value: 1.5, rule: "in [0, 1]" })
    /// );
    /// ```
    pub const fn try_new(p: f32) -> Result<Self, crate::Error> {
        match crate::check::probability("Dropout p", p) {
            Ok(p) => Ok(Dropout::new(p)),
            Err(e) => Err(e),
        }
    }

    /// The drop probability.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::Dropout;
    /// assert_eq!(Dropout::new(-1.0).p(), 0.0);
    /// ```
    pub fn p(&self) -> f32 {
        self.p
    }

    /// `v[i] ← v[i]·mask[i]/(1 − p)` for the mask drawn from `seed`.
    fn apply_mask(&self, seed: u64, v: &mut [f32]) {
        let mut rng = Pcg32::seed_from_u64(seed);
        for x in v.iter_mut() {
            *x = if rng.next_u32() >= self.threshold {
                *x * self.keep_scale
            } else {
                0.0
            };
        }
    }
}

/// The cache of a [`Dropout`] layer: its output and the seed of its mask
/// (`0` after an evaluation pass, which applied no mask).
///
/// ```
/// use microtrain::layers::DropoutCache;
/// use microtrain::Batch;
/// // The output plus eight bytes, whatever the size: no memory per unit for the mask.
/// assert_eq!(core::mem::size_of::<DropoutCache<Batch<32, 64>>>(), 32 * 64 * 4 + 8);
/// ```
pub type DropoutCache<X> = (X, u64);

impl<X: Tensor + Copy> Layer<X> for Dropout {
    type Output = X;
    type Cache = DropoutCache<X>;

    fn forward(&self, x: &X, cache: &mut (X, u64), ctx: &mut Context) {
        cache.0 = *x;
        cache.1 = 0;
        if ctx.mode == Mode::Train && self.threshold > 0 {
            // Seed 0 marks "no mask": draw again in the 2⁻⁶⁴ case it comes up.
            let mut seed = ctx.next_seed();
            while seed == 0 {
                seed = ctx.next_seed();
            }
            cache.1 = seed;
            self.apply_mask(seed, cache.0.as_mut_slice());
        }
    }

    fn output(cache: &(X, u64)) -> &X {
        &cache.0
    }

    fn output_mut(cache: &mut (X, u64)) -> &mut X {
        &mut cache.0
    }

    /// `dx = mask ⊙ dy / (1 − p)` over the input: the mask is drawn again from the seed.
    fn backward_in_place(&mut self, x: Input<'_, X>, cache: &mut (X, u64)) {
        if let Some(dx) = x.into_grad() {
            *dx = cache.0;
            if cache.1 != 0 {
                self.apply_mask(cache.1, dx.as_mut_slice());
            }
        }
    }
}

impl Params for Dropout {
    const COUNT: usize = 0;
    fn visit(&mut self, _: &mut impl FnMut(Param<'_>)) {}
}
