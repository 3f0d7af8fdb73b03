//! Augmentations of 1-D multichannel windows (accelerometer, gyroscope, audio
//! features): a window of `L` time steps with `C` channels is a
//! [`Picture<f32, 1, L, C>`], one sample of a [`Signal<B, L, C>`](crate::Signal) batch.
//!
//! The transforms are those of Um et al. 2017, "Data augmentation of wearable sensor
//! data for Parkinson's disease monitoring using convolutional neural networks":
//! [`Jitter`], [`Scaling`], [`TimeShift`], [`MagnitudeWarp`], [`TimeWarp`],
//! [`ChannelDropout`], and [`MixSameClass`] (mixup between two windows of one class,
//! a batch-level transform since it needs the labels). Values are not clamped: signals
//! have no fixed range. Each transform's draws, in order, are part of its contract, so
//! a seed gives the same windows everywhere.

use super::{probability, Augment, Picture, Range};
use crate::init::{standard_normal, uniform};
use crate::train::Permutation;
use crate::{Error, Image};
use rand_core::Rng;

/// Checks a standard deviation: `Ok(sigma)` if it is finite and not negative.
const fn sigma(name: &'static str, sigma: f32) -> Result<f32, Error> {
    if sigma.is_finite() && sigma >= 0.0 {
        Ok(sigma)
    } else {
        Err(Error::Setting {
            name,
            value: sigma,
            rule: "finite and not negative",
        })
    }
}

/// Adds Gaussian noise to every value: `x ← x + σ·z`, `z ~ N(0, 1)` drawn step by step,
/// channel by channel. `σ = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Jitter};
/// use rand_core::SeedableRng;
/// let mut w = [[[1.0f32, 2.0]; 4]];                            // 4 steps, 2 channels
/// Jitter::new(0.05)?.apply(&mut w, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(w[0].iter().all(|s| (s[0] - 1.0).abs() < 0.5 && (s[1] - 2.0).abs() < 0.5));
/// assert!(Jitter::new(-1.0).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    sigma: f32,
}

impl Jitter {
    /// Noise of standard deviation `sigma`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"Jitter sigma"`) if `sigma` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// See [`Jitter`].
    pub const fn new(sigma_: f32) -> Result<Self, Error> {
        match sigma("Jitter sigma", sigma_) {
            Ok(sigma) => Ok(Jitter { sigma }),
            Err(e) => Err(e),
        }
    }
}

impl<const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>> for Jitter {
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        for v in sample[0].as_flattened_mut() {
            *v += self.sigma * standard_normal(rng);
        }
    }
}

/// Multiplies each channel by its own factor `s_c = 1 + σ·z_c`, `z_c ~ N(0, 1)` drawn
/// channel by channel: `x[t][c] ← s_c·x[t][c]`. `σ = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, Scaling};
/// use rand_core::SeedableRng;
/// let mut w = [[[1.0f32, 2.0], [2.0, 4.0]]];
/// Scaling::new(0.1)?.apply(&mut w, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(w[0][1][0], 2.0 * w[0][0][0]);                   // one factor per channel
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaling {
    sigma: f32,
}

impl Scaling {
    /// Factors of standard deviation `sigma` around 1.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"Scaling sigma"`) if `sigma` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// See [`Scaling`].
    pub const fn new(sigma_: f32) -> Result<Self, Error> {
        match sigma("Scaling sigma", sigma_) {
            Ok(sigma) => Ok(Scaling { sigma }),
            Err(e) => Err(e),
        }
    }
}

impl<const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>> for Scaling {
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        let factors: [f32; C] = core::array::from_fn(|_| 1.0 + self.sigma * standard_normal(rng));
        for step in sample[0].iter_mut() {
            for (v, s) in step.iter_mut().zip(&factors) {
                *v *= s;
            }
        }
    }
}

/// Shifts the window in time by `s` steps, an integer drawn uniformly from
/// `−max_steps..=max_steps` (`next_u64() mod (2·max_steps + 1)`): `y[t] = x[t − s]`.
/// Without `fill` the shift is circular (NumPy's `np.roll`: steps leaving one end
/// enter at the other); with `fill = Some(v)` the steps entering are `v` in every
/// channel. A shift of 0 is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::TimeShift;
/// let mut w = [[[1.0f32], [2.0], [3.0], [4.0]]];
/// TimeShift::new(2, None)?.shift(&mut w, 1);
/// assert_eq!(w, [[[4.0], [1.0], [2.0], [3.0]]]);
/// TimeShift::new(2, Some(0.0))?.shift(&mut w, -2);
/// assert_eq!(w, [[[2.0], [3.0], [0.0], [0.0]]]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeShift {
    max_steps: usize,
    fill: Option<f32>,
}

impl TimeShift {
    /// Shifts of up to `max_steps` either way, circular or with `fill`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"TimeShift fill"`) if `fill` is NaN or infinite.
    ///
    /// # Examples
    ///
    /// See [`TimeShift`].
    pub const fn new(max_steps: usize, fill: Option<f32>) -> Result<Self, Error> {
        if let Some(v) = fill {
            if !v.is_finite() {
                return Err(Error::Setting {
                    name: "TimeShift fill",
                    value: v,
                    rule: "finite",
                });
            }
        }
        Ok(TimeShift { max_steps, fill })
    }

    /// The shift by exactly `steps` (positive: later in time), the transform's
    /// deterministic core.
    ///
    /// # Examples
    ///
    /// See [`TimeShift`].
    pub fn shift<const L: usize, const C: usize>(
        &self,
        sample: &mut Picture<f32, 1, L, C>,
        steps: isize,
    ) {
        let source = *sample;
        for (t, step) in sample[0].iter_mut().enumerate() {
            let from = t as isize - steps;
            *step = match self.fill {
                None => source[0][from.rem_euclid(L as isize) as usize],
                Some(_) if (0..L as isize).contains(&from) => source[0][from as usize],
                Some(v) => [v; C],
            };
        }
    }
}

impl<const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>> for TimeShift {
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        let choices = 2 * self.max_steps as u64 + 1;
        let steps = (rng.next_u64() % choices) as isize - self.max_steps as isize;
        self.shift(sample, steps);
    }
}

/// The smooth curve through `K` knots placed evenly over steps `0..L` (knot `k` at
/// step `k·(L − 1)/(K − 1)`), evaluated at step `t`: a cubic Hermite (Catmull–Rom)
/// spline with tangents `(p_{k+1} − p_{k−1})/2` inside and one-sided differences at the
/// ends. Written as `p_k + h₁₀·m_k + h₁₁·m_{k+1} + h₀₁·(p_{k+1} − p_k)` so that equal
/// knots give exactly their value.
fn curve<const K: usize>(knots: &[f32; K], t: usize, steps: usize) -> f32 {
    const { assert!(K >= 2, "a curve needs at least two knots") };
    if steps < 2 {
        return knots[0];
    }
    let u = (t * (K - 1)) as f32 / (steps - 1) as f32;
    let k = (u as usize).min(K - 2);
    let f = u - k as f32;
    let tangent = |i: usize| match i {
        0 => knots[1] - knots[0],
        i if i == K - 1 => knots[K - 1] - knots[K - 2],
        i => (knots[i + 1] - knots[i - 1]) * 0.5,
    };
    let (f2, f3) = (f * f, f * f * f);
    let h10 = f3 - 2.0 * f2 + f;
    let h11 = f3 - f2;
    let h01 = 3.0 * f2 - 2.0 * f3;
    knots[k] + h10 * tangent(k) + h11 * tangent(k + 1) + h01 * (knots[k + 1] - knots[k])
}

/// Multiplies each channel by a smooth random curve: `K` knots per channel drawn as
/// `1 + σ·z` (knot by knot, channel by channel), joined by the Catmull–Rom spline
/// described at [`MagnitudeWarp::warp`]: `x[t][c] ← curve_c(t)·x[t][c]`. Um et al.
/// draw `K = 6` (four inner knots and the ends) with a natural cubic spline; ours is
/// local and needs no linear solve. `σ = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, MagnitudeWarp};
/// use rand_core::SeedableRng;
/// let mut w = [[[1.0f32]; 16]];
/// MagnitudeWarp::<4>::new(0.2)?.apply(&mut w, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert!(w[0].windows(2).all(|p| (p[1][0] - p[0][0]).abs() < 0.3));  // smooth
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MagnitudeWarp<const K: usize> {
    sigma: f32,
}

impl<const K: usize> MagnitudeWarp<K> {
    /// Knots of standard deviation `sigma` around 1 (`K ≥ 2`, checked at compile
    /// time).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"MagnitudeWarp sigma"`) if `sigma` is negative, NaN or
    /// infinite.
    ///
    /// # Examples
    ///
    /// See [`MagnitudeWarp`].
    pub const fn new(sigma_: f32) -> Result<Self, Error> {
        const { assert!(K >= 2, "a curve needs at least two knots") };
        match sigma("MagnitudeWarp sigma", sigma_) {
            Ok(sigma) => Ok(MagnitudeWarp { sigma }),
            Err(e) => Err(e),
        }
    }

    /// The deterministic core: multiplies channel `c` by the curve through
    /// `knots[0][c], …, knots[K−1][c]`, knot `k` at step `k·(L − 1)/(K − 1)`. Between
    /// knots `k` and `k + 1`, with `f ∈ [0, 1)` the fraction of the way,
    /// `curve = p_k + h₁₀(f)·m_k + h₁₁(f)·m_{k+1} + h₀₁(f)·(p_{k+1} − p_k)`,
    /// `h₁₀ = f³ − 2f² + f`, `h₁₁ = f³ − f²`, `h₀₁ = 3f² − 2f³`, tangents
    /// `m_k = (p_{k+1} − p_{k−1})/2` (one-sided differences at the two ends).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::MagnitudeWarp;
    /// let mut w = [[[1.0f32, 10.0]; 5]];
    /// MagnitudeWarp::<2>::warp(&mut w, &[[1.0, 2.0], [2.0, 2.0]]);
    /// assert_eq!(w[0].map(|s| s[0]), [1.0, 1.25, 1.5, 1.75, 2.0]);  // a straight line
    /// assert!(w[0].iter().all(|s| s[1] == 20.0));
    /// ```
    pub fn warp<const L: usize, const C: usize>(
        sample: &mut Picture<f32, 1, L, C>,
        knots: &[[f32; C]; K],
    ) {
        for c in 0..C {
            let channel: [f32; K] = core::array::from_fn(|k| knots[k][c]);
            for (t, step) in sample[0].iter_mut().enumerate() {
                step[c] *= curve(&channel, t, L);
            }
        }
    }
}

impl<const K: usize, const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>>
    for MagnitudeWarp<K>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        let knots: [[f32; C]; K] = core::array::from_fn(|_| {
            core::array::from_fn(|_| 1.0 + self.sigma * standard_normal(rng))
        });
        Self::warp(sample, &knots);
    }
}

/// Distorts time smoothly: a random speed curve through `K` knots drawn as `1 + σ·z`
/// is integrated into a monotone map `τ` of `[0, L − 1]` onto itself, and the window is
/// resampled there by linear interpolation, the same map for every channel (see
/// [`TimeWarp::warp`]). Um et al. warp each channel separately and invert the map; one
/// shared map keeps the channels of a sensor aligned. `σ = 0` is the identity.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, TimeWarp};
/// use rand_core::SeedableRng;
/// let mut w = [core::array::from_fn::<[f32; 1], 12, _>(|t| [t as f32])];  // a ramp
/// TimeWarp::<4>::new(0.2)?.apply(&mut w, &mut rand_pcg::Pcg32::seed_from_u64(3));
/// assert_eq!((w[0][0][0], w[0][11][0]), (0.0, 11.0));          // the ends stay
/// assert!(w[0].windows(2).all(|p| p[1][0] >= p[0][0]));       // still increasing
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeWarp<const K: usize> {
    sigma: f32,
}

impl<const K: usize> TimeWarp<K> {
    /// Speed knots of standard deviation `sigma` around 1 (`K ≥ 2`, checked at compile
    /// time).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"TimeWarp sigma"`) if `sigma` is negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// See [`TimeWarp`].
    pub const fn new(sigma_: f32) -> Result<Self, Error> {
        const { assert!(K >= 2, "a curve needs at least two knots") };
        match sigma("TimeWarp sigma", sigma_) {
            Ok(sigma) => Ok(TimeWarp { sigma }),
            Err(e) => Err(e),
        }
    }

    /// The deterministic core. The speed at step `t` is `v(t) = max(curve(t), 0)`
    /// with the curve of [`MagnitudeWarp::warp`] through `knots`; the warped time is
    /// its trapezoidal integral, `τ(0) = 0`, `τ(t) = τ(t − 1) + (v(t − 1) + v(t))/2`,
    /// rescaled by `(L − 1)/τ(L − 1)` so that it ends at `L − 1`; then
    /// `y[t] = x[i] + (τ(t) − i)·(x[i + 1] − x[i])` with `i = ⌊τ(t)⌋` (at most `L − 2`).
    /// A window whose speeds are all zero is left unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::augment::TimeWarp;
    /// let mut w = [[[0.0f32], [10.0], [20.0]]];
    /// TimeWarp::<2>::warp(&mut w, &[1.0, 3.0]);   // speeds 1, 2, 3: τ = 0, 0.75, 2
    /// assert_eq!(w[0][1][0], 7.5);
    /// ```
    pub fn warp<const L: usize, const C: usize>(
        sample: &mut Picture<f32, 1, L, C>,
        knots: &[f32; K],
    ) {
        if L < 2 {
            return;
        }
        let speed = |t: usize| curve(knots, t, L).max(0.0);
        let mut total = 0.0;
        for t in 1..L {
            total += (speed(t - 1) + speed(t)) * 0.5;
        }
        // Speeds are at least 0 (`max` maps NaN to 0 too), so `total` is not NaN.
        if total <= 0.0 {
            return;
        }
        let scale = (L - 1) as f32 / total;
        let source = *sample;
        let mut tau = 0.0;
        for (t, step) in sample[0].iter_mut().enumerate() {
            if t > 0 {
                tau += (speed(t - 1) + speed(t)) * 0.5;
            }
            let at = tau * scale;
            let i = (at as usize).min(L - 2);
            let f = (at - i as f32).min(1.0);
            for (c, v) in step.iter_mut().enumerate() {
                let (a, b) = (source[0][i][c], source[0][i + 1][c]);
                *v = a + f * (b - a);
            }
        }
    }
}

impl<const K: usize, const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>>
    for TimeWarp<K>
{
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        let knots: [f32; K] = core::array::from_fn(|_| 1.0 + self.sigma * standard_normal(rng));
        Self::warp(sample, &knots);
    }
}

/// Zeroes each channel, independently, with probability `p` (one uniform draw per
/// channel, in order): a sensor that drops out. `p = 0` is the identity. Unlike
/// PyTorch's `nn.Dropout1d` nothing is rescaled: this changes the data, not a layer.
///
/// # Examples
///
/// ```
/// use microtrain::augment::{Augment, ChannelDropout};
/// use rand_core::SeedableRng;
/// let mut w = [[[1.0f32, 2.0, 3.0]; 4]];
/// ChannelDropout::new(1.0)?.apply(&mut w, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(w, [[[0.0; 3]; 4]]);
/// assert!(ChannelDropout::new(f32::NAN).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelDropout {
    p: f32,
}

impl ChannelDropout {
    /// Channels dropped with probability `p`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"ChannelDropout p"`) if `p` is not in `[0, 1]`.
    ///
    /// # Examples
    ///
    /// See [`ChannelDropout`].
    pub const fn new(p: f32) -> Result<Self, Error> {
        match probability("ChannelDropout p", p) {
            Ok(p) => Ok(ChannelDropout { p }),
            Err(e) => Err(e),
        }
    }
}

impl<const L: usize, const C: usize> Augment<Picture<f32, 1, L, C>> for ChannelDropout {
    fn apply<R: Rng + ?Sized>(&self, sample: &mut Picture<f32, 1, L, C>, rng: &mut R) {
        let dropped: [bool; C] = core::array::from_fn(|_| uniform(rng) < self.p);
        for step in sample[0].iter_mut() {
            for (v, &d) in step.iter_mut().zip(&dropped) {
                if d {
                    *v = 0.0;
                }
            }
        }
    }
}

/// Mixup within a class: pairs samples of the same label in a batch and replaces each
/// pair `(a, b)` by `(λa + (1 − λ)b, λb + (1 − λ)a)`, `λ` drawn from a range within
/// `[0, 1]` for each pair. The labels stay right, since both samples share theirs (Zhang
/// et al.'s mixup, which also mixes labels, is not restricted to one class).
///
/// [`MixSameClass::apply`] works on a whole batch, so it belongs inside the closure of
/// [`Trainer::epoch_augmented`](crate::train::Trainer::epoch_augmented) for a
/// [`CrossEntropy`](crate::loss::CrossEntropy) model, whose targets are the labels.
///
/// # Examples
///
/// ```
/// use microtrain::augment::MixSameClass;
/// use microtrain::Signal;
/// use rand_core::SeedableRng;
/// let mut batch = Signal::<3, 1, 1>::zeros();
/// batch.0[0][0][0] = [0.0];
/// batch.0[1][0][0] = [10.0];
/// batch.0[2][0][0] = [5.0];
/// let mix = MixSameClass::new(0.75, 0.75)?;
/// mix.apply(&mut batch, &[1, 2, 1], 3, &mut rand_pcg::Pcg32::seed_from_u64(0));
/// assert_eq!(batch.0[1][0][0], [10.0]);                      // alone in class 2
/// let (a, b) = (batch.0[0][0][0][0], batch.0[2][0][0][0]);
/// assert_eq!((a, b), (1.25, 3.75));                          // 0.75·0 + 0.25·5, …
/// assert!(MixSameClass::new(0.5, 1.5).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixSameClass {
    lambda: Range,
}

impl MixSameClass {
    /// Mixing weights `λ` drawn uniformly from `[lo, hi]`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] (`"MixSameClass lambda"`) if a bound is NaN, outside
    /// `[0, 1]`, or `hi < lo`.
    ///
    /// # Examples
    ///
    /// See [`MixSameClass`].
    pub const fn new(lo: f32, hi: f32) -> Result<Self, Error> {
        match Range::within("MixSameClass lambda", lo, hi, 0.0, 1.0, "in [0, 1]") {
            Ok(lambda) => Ok(MixSameClass { lambda }),
            Err(e) => Err(e),
        }
    }

    /// Mixes the first `rows` samples of `batch`, whose labels are `labels`. The
    /// pairing walks the rows in a random order ([`Permutation`] of `rows`, drawn
    /// first) and pairs each unpaired row with the next unpaired row of its class in
    /// that order; then `λ` is drawn for the pair. A row left without a partner (alone
    /// in its class, or the odd one out) is unchanged, as are the padding rows.
    ///
    /// # Examples
    ///
    /// See [`MixSameClass`].
    pub fn apply<R, const B: usize, const H: usize, const W: usize, const C: usize>(
        &self,
        batch: &mut Image<B, H, W, C>,
        labels: &[u32; B],
        rows: usize,
        rng: &mut R,
    ) where
        R: Rng + ?Sized,
    {
        let rows = rows.min(B);
        let order = Permutation::new(rows, rng);
        let mut paired = [false; B];
        for i in 0..rows {
            let a = order.get(i);
            if paired[a] {
                continue;
            }
            paired[a] = true;
            let partner = (i + 1..rows)
                .map(|j| order.get(j))
                .find(|&b| !paired[b] && labels[b] == labels[a]);
            if let Some(b) = partner {
                paired[b] = true;
                let lambda = self.lambda.draw(rng);
                mix(batch, a, b, lambda);
            }
        }
    }
}

/// `(a, b) ← (λa + (1 − λ)b, λb + (1 − λ)a)` for samples `a ≠ b` of the batch.
fn mix<const B: usize, const H: usize, const W: usize, const C: usize>(
    batch: &mut Image<B, H, W, C>,
    a: usize,
    b: usize,
    lambda: f32,
) {
    let (first, second) = batch.0.split_at_mut(a.max(b));
    let (x, y) = (&mut first[a.min(b)], &mut second[0]);
    let rest = 1.0 - lambda;
    let pairs = x.as_flattened_mut().as_flattened_mut().iter_mut();
    for (u, v) in pairs.zip(y.as_flattened_mut().as_flattened_mut()) {
        (*u, *v) = (lambda * *u + rest * *v, lambda * *v + rest * *u);
    }
}
