//! Normalisation layers: batch normalisation (statistics of the batch in training,
//! running statistics in evaluation), and group normalisation with its two special
//! cases, layer and instance normalisation (statistics of each sample, in both modes).
//! The formulas are in [`kernels::norm`](crate::kernels::norm).

use super::{
    Buffer, Context, Input, Layer, Mode, Param, ParamKind, Params, Penalty, Tensor, Zeroed,
};
use crate::check::{ok, positive, probability};
use crate::kernels::norm::{self, Affine, Sets};
use crate::kernels::{inplace, MatMut, MatRef};
use crate::{Batch, Error, Image, Matrix, Vector};

/// PyTorch's default `ε` of every normalisation layer.
const EPS: f32 = 1e-5;

/// Batch normalisation (Ioffe & Szegedy 2015; PyTorch: `nn.BatchNorm1d(C)` on a
/// [`Batch<B, C>`](crate::Batch), `nn.BatchNorm2d(C)` on an [`Image`]).
///
/// In training each channel is normalised by the mean and the biased variance of its
/// values across the batch (and the pixels), `x̂ = (x − μ)/√(σ² + ε)`, then scaled and
/// shifted, `y = γ·x̂ + β`; only the real rows of a partial batch count. Once the step
/// is accepted ([`Layer::commit`]) the running estimates move towards the batch's:
///
/// ```text
/// running_mean ← momentum·μ + (1 − momentum)·running_mean
/// running_var  ← momentum·σ²·n/(n − 1) + (1 − momentum)·running_var   (unbiased, n values)
/// ```
///
/// In evaluation the running estimates take the place of `μ` and `σ²`: the layer
/// "behaves differently at training and test time", as the seed says. A batch with a
/// single value per channel (`n = 1`, which PyTorch refuses in training) leaves the
/// running estimates unchanged. A batch whose statistics overflow `f32`, or would make
/// a running estimate overflow, gives a NaN output in training (so the trainer refuses
/// the step) and is never folded into the running estimates.
///
/// With [`cumulative`](BatchNorm::cumulative) set to `Some(k)` the running estimates
/// are instead the plain mean of the batch statistics folded in since it was set to
/// `Some(0)`: the `n`-th batch is folded in with momentum `1/n`. This is PyTorch's
/// `momentum=None`, which `torch.optim.swa_utils.update_bn` uses to recompute the
/// statistics of averaged weights ([`update_bn`](crate::average::update_bn)).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{BatchNorm, Context, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let mut bn = BatchNorm::<1>::new();
/// let x: Batch<2, 1> = Matrix([[1.0], [3.0]]);
/// let mut cache = Zeroed::ZERO;
/// bn.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
/// let y = <BatchNorm<1> as Layer<Batch<2, 1>>>::output(&cache);
/// assert!((y.0[0][0] + 1.0).abs() < 1e-5 && (y.0[1][0] - 1.0).abs() < 1e-5);
/// <BatchNorm<1> as Layer<Batch<2, 1>>>::commit(&mut bn, &cache);
/// assert_eq!(bn.running_mean.0, [0.2]);                  // 0.1 · 2
/// assert!((bn.running_var.0[0] - 1.1).abs() < 1e-6);    // 0.1 · 2 + 0.9 · 1
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<const C: usize> {
    /// `γ`, the scale of each channel (PyTorch: `weight`).
    pub gamma: Vector<C>,
    /// `β`, the shift of each channel (PyTorch: `bias`).
    pub beta: Vector<C>,
    /// `∂J/∂γ`.
    pub gamma_grad: Vector<C>,
    /// `∂J/∂β`.
    pub beta_grad: Vector<C>,
    /// The running mean, used in evaluation (PyTorch: `running_mean`).
    pub running_mean: Vector<C>,
    /// The running unbiased variance, used in evaluation (PyTorch: `running_var`).
    pub running_var: Vector<C>,
    /// The weight of each new batch in the running estimates (PyTorch's default 0.1),
    /// in `[0, 1]` ([`BatchNorm::check`]).
    pub momentum: f32,
    /// `ε` (PyTorch's default 10⁻⁵), finite and above 0 ([`BatchNorm::check`]).
    pub eps: f32,
    /// `None` (the default): the running estimates are exponential averages with
    /// [`momentum`](BatchNorm::momentum). `Some(k)`: they are the plain mean of the `k`
    /// batches folded in since this was set to `Some(0)`, and the next batch is folded
    /// in with momentum `1/(k + 1)` (PyTorch: `momentum=None`, counting in
    /// `num_batches_tracked`).
    pub cumulative: Option<u32>,
}

impl<const C: usize> BatchNorm<C> {
    /// PyTorch's initial state: `γ = 1`, `β = 0`, running mean 0, running variance 1,
    /// momentum 0.1, `ε = 10⁻⁵`. `const`, so a model can be a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::BatchNorm;
    /// static BN: BatchNorm<8> = BatchNorm::new();
    /// assert_eq!((BN.gamma.0[0], BN.running_var.0[7], BN.momentum), (1.0, 1.0, 0.1));
    /// ```
    pub const fn new() -> Self {
        BatchNorm {
            gamma: Vector([1.0; C]),
            beta: Vector::zeros(),
            gamma_grad: Vector::zeros(),
            beta_grad: Vector::zeros(),
            running_mean: Vector::zeros(),
            running_var: Vector([1.0; C]),
            momentum: 0.1,
            eps: EPS,
            cumulative: None,
        }
    }

    /// [`new`](BatchNorm::new) with the given `momentum` and `ε`, checked as
    /// [`BatchNorm::check`] does (PyTorch: `nn.BatchNorm1d(C, eps, momentum)`).
    /// `const`, so a checked model can still be a `static`.
    ///
    /// # Errors
    ///
    /// As [`BatchNorm::check`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::BatchNorm, Error};
    /// let bn = BatchNorm::<4>::try_new(0.01, 1e-3)?;
    /// assert_eq!((bn.momentum, bn.eps), (0.01, 1e-3));
    /// assert_eq!(
    ///     BatchNorm::<4>::try_new(1.5, 1e-5),
    ///     Err(Error::Setting { name: "BatchNorm momentum", value: 1.5, rule: "in [0, 1]" })
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn try_new(momentum: f32, eps: f32) -> Result<Self, Error> {
        let mut bn = Self::new();
        bn.momentum = momentum;
        bn.eps = eps;
        match bn.check() {
            Ok(()) => Ok(bn),
            Err(e) => Err(e),
        }
    }

    /// Checks the settings: `momentum ∈ [0, 1]` (the weight of a new batch, a
    /// probability-like fraction) and `ε` finite and above 0 (so that `√(σ² + ε)` is
    /// never 0 or NaN for a constant channel).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"BatchNorm momentum"` or `"BatchNorm eps"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::BatchNorm, Error};
    /// let mut bn = BatchNorm::<2>::new();
    /// assert_eq!(bn.check(), Ok(()));
    /// bn.eps = 0.0;
    /// assert_eq!(
    ///     bn.check(),
    ///     Err(Error::Setting { name: "BatchNorm eps", value: 0.0, rule: "finite and above 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        ok!(probability("BatchNorm momentum", self.momentum));
        ok!(positive("BatchNorm eps", self.eps));
        Ok(())
    }

    fn forward_rows(
        &self,
        x: MatRef<'_>,
        y: MatMut<'_>,
        rows: usize,
        mode: Mode,
        s: &mut BatchStats<C>,
    ) {
        s.train = false;
        s.count = 0;
        if mode == Mode::Train {
            let done = norm::moments(Sets::Channels, x, rows, &mut s.mean.0, &mut s.var.0);
            debug_assert!(done.is_ok(), "shapes are checked by the types");
            s.train = true;
            s.count = rows;
        } else {
            s.mean = self.running_mean;
            s.var = self.running_var;
        }
        s.inv_std = s.var;
        norm::inverse_std(&mut s.inv_std.0, self.eps);
        if s.train {
            // A batch whose variance overflows f32 (values beyond about 10¹⁹) cannot be
            // normalised, and its statistics would make the running estimates infinite
            // when the step is committed: the output is NaN instead, so that the
            // trainer refuses the step and nothing is committed. The running estimates
            // the commit would write are checked too (the unbiased variance of a
            // finite σ² near f32::MAX overflows).
            let m = self.commit_momentum();
            for c in 0..C {
                let (mean, var) = self.running_after(s, m, c);
                let batch = [s.mean.0[c], s.var.0[c]];
                if !batch.into_iter().chain([mean, var]).all(f32::is_finite) {
                    s.inv_std.0[c] = f32::NAN;
                }
            }
        }
        let affine = affine(
            Sets::Channels,
            (&s.mean.0, &s.inv_std.0),
            (&self.gamma.0, &self.beta.0),
        );
        let done = norm::normalize(&affine, x, y);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    fn backward_rows(&mut self, x: MatRef<'_>, dy: MatRef<'_>, s: &mut BatchStats<C>) {
        let rows = if s.train { s.count } else { x.rows() };
        let affine = affine(
            Sets::Channels,
            (&s.mean.0, &s.inv_std.0),
            (&self.gamma.0, &self.beta.0),
        );
        let done = norm::normalize_backward(
            &affine,
            x,
            dy,
            rows,
            s.train,
            &mut self.gamma_grad.0,
            &mut self.beta_grad.0,
            None,
            s.sums.as_mut_slice(),
        );
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    /// `∂J/∂x` over `x`, from the sums that [`backward_rows`](Self::backward_rows) left.
    fn input_grad_rows(&self, x: MatMut<'_>, dy: MatRef<'_>, s: &BatchStats<C>) {
        let rows = if s.train { s.count } else { x.rows() };
        let affine = affine(
            Sets::Channels,
            (&s.mean.0, &s.inv_std.0),
            (&self.gamma.0, &self.beta.0),
        );
        let done = inplace::normalize_input_grad_in_place(
            &affine,
            x,
            dy,
            rows,
            s.train,
            s.sums.as_slice(),
        );
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    /// The weight of the next batch in the running estimates.
    fn commit_momentum(&self) -> f32 {
        match self.cumulative {
            None => self.momentum,
            Some(k) => 1.0 / k.saturating_add(1) as f32,
        }
    }

    /// Channel `c`'s running mean and variance once the batch of `s` is folded in with
    /// weight `m` (unchanged for a batch of fewer than 2 values per channel).
    fn running_after(&self, s: &BatchStats<C>, m: f32, c: usize) -> (f32, f32) {
        let (mean, var) = (self.running_mean.0[c], self.running_var.0[c]);
        if s.count < 2 {
            return (mean, var);
        }
        let unbias = s.count as f32 / (s.count - 1) as f32;
        (
            m * s.mean.0[c] + (1.0 - m) * mean,
            m * (s.var.0[c] * unbias) + (1.0 - m) * var,
        )
    }

    fn commit_stats(&mut self, s: &BatchStats<C>) {
        if !s.train || s.count < 2 {
            return;
        }
        let m = self.commit_momentum();
        if let Some(k) = self.cumulative.as_mut() {
            *k = k.saturating_add(1);
        }
        for c in 0..C {
            // The forward pass made such a channel's output NaN, so a trainer refuses
            // the step; a caller that commits anyway (or an activation such as ReLU
            // that turns the NaN into 0 before the loss) still gets finite estimates.
            let (mean, var) = self.running_after(s, m, c);
            if mean.is_finite() && var.is_finite() {
                (self.running_mean.0[c], self.running_var.0[c]) = (mean, var);
            }
        }
    }
}

impl<const C: usize> Default for BatchNorm<C> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`BatchNorm`] keeps between forward and backward, besides its output: the
/// statistics it normalised with and the values they were measured over.
///
/// # Examples
///
/// ```
/// use microtrain::layers::BatchStats;
/// // Mean, variance, 1/std and two sums per channel, the count and the flag.
/// assert_eq!(core::mem::size_of::<BatchStats<8>>(), 5 * 8 * 4 + 2 * core::mem::size_of::<usize>());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BatchStats<const C: usize> {
    /// `μ` per channel (the running mean in evaluation).
    pub mean: Vector<C>,
    /// `σ²` per channel, biased (the running variance in evaluation).
    pub var: Vector<C>,
    /// `1/√(σ² + ε)` per channel.
    pub inv_std: Vector<C>,
    /// Backward's scratch: `Σ g` and `Σ g·x̂` per channel.
    pub sums: Matrix<2, C>,
    /// Values per channel that the batch statistics were measured over.
    pub count: usize,
    /// Whether the last forward used batch statistics.
    pub train: bool,
}

impl<const C: usize> Zeroed for BatchStats<C> {
    const ZERO: Self = BatchStats {
        mean: Vector::zeros(),
        var: Vector::zeros(),
        inv_std: Vector::zeros(),
        sums: Matrix::zeros(),
        count: 0,
        train: false,
    };
}

/// Group normalisation (Wu & He 2018; PyTorch: `nn.GroupNorm(G, C)`): the `C`
/// channels of each sample are split into `G` groups of `C/G` consecutive channels,
/// each group normalised by the mean and biased variance of its values over the
/// sample's pixels, then `y = γ_c·x̂ + β_c` per channel. The statistics are the
/// sample's own, in training and evaluation alike, so it needs no running state and
/// works at batch size 1.
///
/// `G` must divide `C`; otherwise the model does not compile:
///
/// ```compile_fail,E0080
/// use microtrain::layers::GroupNorm;
/// let _ = GroupNorm::<3, 4>::new(); // 3 groups cannot split 4 channels
/// ```
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Context, GroupNorm, Layer, Mode, Zeroed};
/// use microtrain::{Batch, Matrix};
/// let gn = GroupNorm::<2, 4>::new();
/// let x: Batch<1, 4> = Matrix([[1.0, 3.0, 10.0, 30.0]]);
/// let mut cache = Zeroed::ZERO;
/// gn.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
/// let y = <GroupNorm<2, 4> as Layer<Batch<1, 4>>>::output(&cache);
/// for (got, want) in y.0[0].iter().zip([-1.0, 1.0, -1.0, 1.0]) {
///     assert!((got - want).abs() < 1e-4);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupNorm<const G: usize, const C: usize> {
    /// `γ`, the scale of each channel (PyTorch: `weight`).
    pub gamma: Vector<C>,
    /// `β`, the shift of each channel (PyTorch: `bias`).
    pub beta: Vector<C>,
    /// `∂J/∂γ`.
    pub gamma_grad: Vector<C>,
    /// `∂J/∂β`.
    pub beta_grad: Vector<C>,
    /// `ε` (PyTorch's default 10⁻⁵), finite and above 0 ([`GroupNorm::check`]).
    pub eps: f32,
}

/// Layer normalisation (Ba et al. 2016) of feature vectors (PyTorch: `nn.LayerNorm(N)`
/// on a `(B, N)` input): each sample normalised over its `N` features, with a scale and
/// shift per feature. It is [`GroupNorm`] with one group; on images,
/// `GroupNorm<1, C>` normalises each sample over all its pixels and channels (PyTorch:
/// `nn.GroupNorm(1, C)`, whose affine map is per channel where `nn.LayerNorm([C, H,
/// W])`'s is per element).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{GroupNorm, LayerNorm};
/// let _: GroupNorm<1, 6> = LayerNorm::<6>::new();
/// ```
pub type LayerNorm<const N: usize> = GroupNorm<1, N>;

/// Instance normalisation (Ulyanov et al. 2016): each channel of each sample
/// normalised over its pixels. It is [`GroupNorm`] with one group per channel (PyTorch:
/// `nn.InstanceNorm2d(C, affine=True)`, equal to `nn.GroupNorm(C, C)`).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{GroupNorm, InstanceNorm};
/// let _: GroupNorm<3, 3> = InstanceNorm::<3>::new();
/// ```
pub type InstanceNorm<const C: usize> = GroupNorm<C, C>;

impl<const G: usize, const C: usize> GroupNorm<G, C> {
    /// `γ = 1`, `β = 0`, `ε = 10⁻⁵` (PyTorch's initial state). Does not compile unless
    /// `G` divides `C`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::GroupNorm;
    /// static GN: GroupNorm<2, 8> = GroupNorm::new();
    /// assert_eq!(GN.gamma.0, [1.0; 8]);
    /// ```
    pub const fn new() -> Self {
        const {
            assert!(
                G > 0 && C.is_multiple_of(G),
                "GroupNorm: the group count G must divide the channels C"
            )
        };
        GroupNorm {
            gamma: Vector([1.0; C]),
            beta: Vector::zeros(),
            gamma_grad: Vector::zeros(),
            beta_grad: Vector::zeros(),
            eps: EPS,
        }
    }

    /// [`new`](GroupNorm::new) with the given `ε`, checked as [`GroupNorm::check`]
    /// does (PyTorch: `nn.GroupNorm(G, C, eps)`, `nn.LayerNorm(N, eps)`). `const`, so
    /// a checked model can still be a `static`.
    ///
    /// # Errors
    ///
    /// As [`GroupNorm::check`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::{GroupNorm, LayerNorm}, Error};
    /// assert_eq!(LayerNorm::<4>::try_new(1e-6)?.eps, 1e-6);
    /// assert!(GroupNorm::<2, 4>::try_new(f32::NAN).is_err());
    /// # Ok::<(), Error>(())
    /// ```
    pub const fn try_new(eps: f32) -> Result<Self, Error> {
        let mut gn = Self::new();
        gn.eps = eps;
        match gn.check() {
            Ok(()) => Ok(gn),
            Err(e) => Err(e),
        }
    }

    /// Checks the setting: `ε` finite and above 0 (so that `√(σ² + ε)` is never 0 or
    /// NaN for a constant group).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming `"GroupNorm eps"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::LayerNorm, Error};
    /// let mut ln = LayerNorm::<3>::new();
    /// ln.eps = -1e-5;
    /// assert_eq!(
    ///     ln.check(),
    ///     Err(Error::Setting { name: "GroupNorm eps", value: -1e-5, rule: "finite and above 0" })
    /// );
    /// ```
    pub const fn check(&self) -> Result<(), Error> {
        ok!(positive("GroupNorm eps", self.eps));
        Ok(())
    }

    fn sets(positions: usize) -> Sets {
        Sets::Groups {
            positions,
            groups: G,
        }
    }

    fn forward_rows<const B: usize>(&self, x: MatRef<'_>, y: MatMut<'_>, s: &mut GroupStats<B, G>) {
        const {
            assert!(
                G > 0 && C.is_multiple_of(G),
                "GroupNorm: the group count G must divide the channels C"
            )
        };
        let sets = Self::sets(x.rows() / B);
        // The variances are computed into `inv_std` and turned into 1/std there.
        let (mean, inv) = (s.mean.as_mut_slice(), s.inv_std.as_mut_slice());
        let done = norm::moments(sets, x, x.rows(), mean, inv);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
        norm::inverse_std(inv, self.eps);
        let affine = affine(
            sets,
            (s.mean.as_slice(), s.inv_std.as_slice()),
            (&self.gamma.0, &self.beta.0),
        );
        let done = norm::normalize(&affine, x, y);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    fn backward_rows<const B: usize>(
        &mut self,
        x: MatRef<'_>,
        dy: MatRef<'_>,
        s: &mut GroupStats<B, G>,
    ) {
        let affine = affine(
            Self::sets(x.rows() / B),
            (s.mean.as_slice(), s.inv_std.as_slice()),
            (&self.gamma.0, &self.beta.0),
        );
        let done = norm::normalize_backward(
            &affine,
            x,
            dy,
            x.rows(),
            true,
            &mut self.gamma_grad.0,
            &mut self.beta_grad.0,
            None,
            s.sums.as_flattened_mut().as_flattened_mut(),
        );
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    /// `∂J/∂x` over `x`, from the sums that [`backward_rows`](Self::backward_rows) left.
    fn input_grad_rows<const B: usize>(&self, x: MatMut<'_>, dy: MatRef<'_>, s: &GroupStats<B, G>) {
        let rows = x.rows();
        let affine = affine(
            Self::sets(rows / B),
            (s.mean.as_slice(), s.inv_std.as_slice()),
            (&self.gamma.0, &self.beta.0),
        );
        let done = inplace::normalize_input_grad_in_place(
            &affine,
            x,
            dy,
            rows,
            true,
            s.sums.as_flattened().as_flattened(),
        );
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }
}

impl<const G: usize, const C: usize> Default for GroupNorm<G, C> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`GroupNorm`] keeps between forward and backward, besides its output: the
/// statistics of each sample's groups.
///
/// # Examples
///
/// ```
/// use microtrain::layers::GroupStats;
/// // Mean, 1/std and two sums for each of 4 samples × 2 groups.
/// assert_eq!(core::mem::size_of::<GroupStats<4, 2>>(), 4 * 4 * 2 * 4);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GroupStats<const B: usize, const G: usize> {
    /// `μ` per sample and group.
    pub mean: Matrix<B, G>,
    /// `1/√(σ² + ε)` per sample and group (`σ²` biased).
    pub inv_std: Matrix<B, G>,
    /// Backward's scratch: `Σ g` and `Σ g·x̂` per sample and group.
    pub sums: [[[f32; G]; B]; 2],
}

impl<const B: usize, const G: usize> Zeroed for GroupStats<B, G> {
    const ZERO: Self = GroupStats {
        mean: Matrix::zeros(),
        inv_std: Matrix::zeros(),
        sums: [[[0.0; G]; B]; 2],
    };
}

/// Layer impls on feature batches and on images: the layer sees a channels-last
/// `rows × C` matrix either way.
macro_rules! norm_layer {
    ($layer:ty, $stats:ty, [$($g:tt)*], $input:ty, [$($dims:tt)*]) => {
        impl<$($g)*, $($dims)*> Layer<$input> for $layer {
            type Output = $input;
            type Cache = ($input, $stats);

            fn forward(&self, x: &$input, cache: &mut Self::Cache, ctx: &mut Context) {
                let rows = real_rows::<$input>(ctx.rows, C);
                self.forward_rows(x.view(), cache.0.view_mut(), rows, ctx.mode, &mut cache.1);
            }

            fn output(cache: &Self::Cache) -> &$input {
                &cache.0
            }

            fn output_mut(cache: &mut Self::Cache) -> &mut $input {
                &mut cache.0
            }

            /// `∂J/∂γ`, `∂J/∂β` and the sums from `x` and `dy` first, then `dx` over
            /// `x` from `x`, `dy` and the saved statistics.
            fn backward_in_place(&mut self, x: Input<'_, $input>, cache: &mut Self::Cache) {
                self.backward_rows(x.get().view(), cache.0.view(), &mut cache.1);
                if let Some(dx) = x.into_grad() {
                    self.input_grad_rows(dx.view_mut(), cache.0.view(), &cache.1);
                }
            }

            fn commit(&mut self, cache: &Self::Cache) {
                self.commit_stats(&cache.1);
            }
        }
    };
}

/// The rows of a channels-last view of `X` that hold real samples.
fn real_rows<X: Tensor>(samples: usize, channels: usize) -> usize {
    let rows = X::LEN / channels.max(1);
    rows / X::SAMPLES.max(1) * samples.min(X::SAMPLES)
}

norm_layer!(BatchNorm<C>, BatchStats<C>, [const C: usize], Batch<B, C>, [const B: usize]);
norm_layer!(BatchNorm<C>, BatchStats<C>, [const C: usize], Image<B, H, W, C>, [const B: usize, const H: usize, const W: usize]);

/// Group normalisation layers: the same as [`norm_layer`] without running statistics.
macro_rules! group_norm_layer {
    ($input:ty, [$($dims:tt)*]) => {
        impl<const G: usize, const C: usize, $($dims)*> Layer<$input> for GroupNorm<G, C> {
            type Output = $input;
            type Cache = ($input, GroupStats<B, G>);

            fn forward(&self, x: &$input, cache: &mut Self::Cache, _: &mut Context) {
                self.forward_rows(x.view(), cache.0.view_mut(), &mut cache.1);
            }

            fn output(cache: &Self::Cache) -> &$input {
                &cache.0
            }

            fn output_mut(cache: &mut Self::Cache) -> &mut $input {
                &mut cache.0
            }

            /// `∂J/∂γ`, `∂J/∂β` and the sums from `x` and `dy` first, then `dx` over
            /// `x` from `x`, `dy` and the saved statistics.
            fn backward_in_place(&mut self, x: Input<'_, $input>, cache: &mut Self::Cache) {
                self.backward_rows(x.get().view(), cache.0.view(), &mut cache.1);
                if let Some(dx) = x.into_grad() {
                    self.input_grad_rows(dx.view_mut(), cache.0.view(), &cache.1);
                }
            }
        }
    };
}

group_norm_layer!(Batch<B, C>, [const B: usize]);
group_norm_layer!(Image<B, H, W, C>, [const B: usize, const H: usize, const W: usize]);

/// Visits `γ` (a [`ParamKind::Scale`]) then `β` (a [`ParamKind::Bias`]).
fn visit_affine<const C: usize>(
    f: &mut impl FnMut(Param<'_>),
    gamma: &mut Vector<C>,
    gamma_grad: &mut Vector<C>,
    beta: &mut Vector<C>,
    beta_grad: &mut Vector<C>,
) {
    for (value, grad, kind) in [
        (gamma, gamma_grad, ParamKind::Scale),
        (beta, beta_grad, ParamKind::Bias),
    ] {
        f(Param {
            value: &mut value.0,
            grad: &mut grad.0,
            kind,
            fan_in: C,
            fan_out: C,
            penalty: Penalty::NONE,
        });
    }
}

impl<const C: usize> Params for BatchNorm<C> {
    const COUNT: usize = 2 * C;
    const BUFFERS: usize = 2 * C;

    fn check_settings(&self) -> Result<(), Error> {
        self.check()
    }

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        visit_affine(
            f,
            &mut self.gamma,
            &mut self.gamma_grad,
            &mut self.beta,
            &mut self.beta_grad,
        );
    }

    fn visit_buffers(&mut self, f: &mut impl FnMut(Buffer<'_>)) {
        f(Buffer {
            value: &mut self.running_mean.0,
            name: "running_mean",
            cumulative: Some(&mut self.cumulative),
        });
        f(Buffer {
            value: &mut self.running_var.0,
            name: "running_var",
            cumulative: Some(&mut self.cumulative),
        });
    }
}

impl<const G: usize, const C: usize> Params for GroupNorm<G, C> {
    const COUNT: usize = 2 * C;

    fn check_settings(&self) -> Result<(), Error> {
        self.check()
    }

    fn visit(&mut self, f: &mut impl FnMut(Param<'_>)) {
        visit_affine(
            f,
            &mut self.gamma,
            &mut self.gamma_grad,
            &mut self.beta,
            &mut self.beta_grad,
        );
    }
}

/// The normalisation and affine map of one forward pass: the statistics `(mean, 1/σ)` and
/// the parameters `(γ, β)` over `sets`.
fn affine<'a>(
    sets: Sets,
    (mean, inv_std): (&'a [f32], &'a [f32]),
    (gamma, beta): (&'a [f32], &'a [f32]),
) -> Affine<'a> {
    Affine {
        sets,
        mean,
        inv_std,
        gamma,
        beta,
    }
}
