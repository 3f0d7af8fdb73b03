//! [`TorchNames`]: how each microtrain layer appears in a PyTorch `state_dict`.

use crate::walker::Features;
use crate::Walker;
use microtrain::layers::{
    AvgPool1d, AvgPool2d, BatchNorm, Conv, Dense, DepthwiseConv2d, Dropout, Flatten, Gelu,
    GlobalAvgPool, GroupNorm, Layer, LeakyRelu, MaxPool1d, MaxPool2d, ProjectedResidual, Relu,
    Residual, Sigmoid, Tanh,
};
use microtrain::{Batch, Image, Tensor};

/// A layer (or model) on input `X` described as the PyTorch module with the same
/// `state_dict`: its keys, PyTorch shapes and memory layouts, in exactly the order
/// in which `Params::visit` and `Params::visit_buffers` show its tensors.
///
/// The PyTorch module of each layer:
///
/// | microtrain | PyTorch | keys |
/// |---|---|---|
/// | `(A, B)` from `Seq![…]` | `nn.Sequential`, one index per layer, parameterless ones included | `0.…`, `1.…` |
/// | `Seq![…]` as a layer of a `Seq![…]` | a nested `nn.Sequential` at that index | `3.0.…` |
/// | [`Dense<IN, OUT>`](Dense) | `nn.Linear(IN, OUT)` | `weight [OUT, IN]`, `bias [OUT]` |
/// | [`Conv2d`](microtrain::layers::Conv2d), [`Conv`] | `nn.Conv2d(CI, CO, (KH, KW), …)` | `weight [CO, CI, KH, KW]`, `bias [CO]` |
/// | [`Conv1d`](microtrain::layers::Conv1d): a `Conv` with kernel height 1, height stride 1 and no height padding on an input of height 1 (a [`Signal`](microtrain::Signal)) | `nn.Conv1d(CI, CO, K, …)` | `weight [CO, CI, K]`, `bias [CO]` |
/// | [`DepthwiseConv2d<C, …>`](DepthwiseConv2d) | `nn.Conv2d(C, C, K, groups=C, …)` | `weight [C, 1, K, K]`, `bias [C]` |
/// | [`BatchNorm<C>`](BatchNorm) | `nn.BatchNorm1d(C)` / `nn.BatchNorm2d(C)` | `weight`, `bias`, `running_mean`, `running_var [C]`, `num_batches_tracked []` |
/// | [`GroupNorm<G, C>`](GroupNorm), `LayerNorm<N>`, `InstanceNorm<C>` | `nn.GroupNorm(G, C)`, `nn.LayerNorm(N)`, `nn.InstanceNorm2d(C, affine=True)` | `weight`, `bias [C]` |
/// | [`Residual<F>`](Residual) | a module computing `x + self.body(x)` | `body.…` |
/// | [`ProjectedResidual`] | a module computing `self.projection(x) + self.body(x)` | `body.…`, `projection.…` |
/// | activations, [`Dropout`], pooling, [`Flatten`] | `nn.ReLU`, `nn.Tanh`, …, `nn.Dropout`, `nn.MaxPool2d`, …, `nn.Flatten` | none, but one index |
/// | [`GlobalAvgPool`] | `nn.AdaptiveAvgPool2d(1), nn.Flatten()` | none, but two indices |
///
/// Memory layouts: our images are channels-last, PyTorch's channels-first, so
/// convolution weights are transposed on the way (ours `[CO][KH][KW][CI]`, depthwise
/// `[K][K][C]`), and after a [`Flatten`] of an image with several pixels and channels
/// the features are in `[H][W][C]` order where PyTorch's `nn.Flatten` gives
/// `[C][H][W]`: the columns of the next [`Dense`] weight (and the vectors of a
/// [`BatchNorm`] or `LayerNorm` in between) are permuted accordingly. A layer whose
/// state cannot be so permuted (a `GroupNorm` with several groups there, a residual
/// around such features whose body changes their order) is refused with
/// [`InteropError::Unsupported`](crate::InteropError::Unsupported).
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Relu};
/// use microtrain::{Batch, Seq};
/// type Net = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
/// let keys = microtrain_interop::state_dict_keys::<Batch<1, 64>, Net>()?;
/// let names: Vec<_> = keys.iter().map(|(k, _)| k.as_str()).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// # Ok::<(), microtrain_interop::InteropError>(())
/// ```
pub trait TorchNames<X: Tensor>: Layer<X> {
    /// How many indices of an `nn.Sequential` this layer takes: 1, but 2 for
    /// [`GlobalAvgPool`] (PyTorch's `nn.AdaptiveAvgPool2d(1), nn.Flatten()`). A
    /// sequence inside a sequence is one nested `nn.Sequential`, so 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::layers::{Dense, GlobalAvgPool};
    /// use microtrain::{Batch, Image};
    /// use microtrain_interop::TorchNames;
    /// assert_eq!(<Dense<2, 3> as TorchNames<Batch<1, 2>>>::INDICES, 1);
    /// assert_eq!(<GlobalAvgPool as TorchNames<Image<1, 4, 4, 2>>>::INDICES, 2);
    /// ```
    const INDICES: usize = 1;

    /// Describes this layer as one PyTorch module whose keys start at the walker's
    /// current prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::Dense, Batch};
    /// use microtrain_interop::{TorchNames, Walker};
    /// let mut w = Walker::new();
    /// <Dense<3, 2> as TorchNames<Batch<1, 3>>>::describe(&mut w);
    /// assert_eq!(w.keys()?, [("weight".to_string(), vec![2, 3]), ("bias".to_string(), vec![2])]);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    fn describe(w: &mut Walker);

    /// Describes this layer as the entries of an `nn.Sequential` from index `*next`
    /// on, advancing `*next` past them: one entry for a layer, one per layer for the
    /// pair `(A, B)` that continues a sequence.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{layers::{Dense, Relu}, Batch};
    /// use microtrain_interop::{TorchNames, Walker};
    /// let mut w = Walker::new();
    /// let mut next = 5;
    /// <(Relu, Dense<3, 2>) as TorchNames<Batch<1, 3>>>::describe_entries(&mut w, &mut next);
    /// assert_eq!((w.keys()?[0].0.as_str(), next), ("6.weight", 7));
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    fn describe_entries(w: &mut Walker, next: &mut usize) {
        w.scope(&next.to_string(), Self::describe);
        *next += Self::INDICES;
    }
}

impl<X: Tensor, A: TorchNames<X>, B: TorchNames<A::Output>> TorchNames<X> for (A, B) {
    fn describe(w: &mut Walker) {
        Self::describe_entries(w, &mut 0);
    }

    fn describe_entries(w: &mut Walker, next: &mut usize) {
        w.scope(&next.to_string(), A::describe);
        *next += A::INDICES;
        B::describe_entries(w, next);
    }
}

impl<const B: usize, const IN: usize, const OUT: usize> TorchNames<Batch<B, IN>>
    for Dense<IN, OUT>
{
    fn describe(w: &mut Walker) {
        match w.features() {
            Features::Plain => w.param("weight", &[OUT, IN]),
            Features::Chw { c, h, w: wi } => {
                w.param_transposed("weight", &[OUT, IN], &[OUT, c, h, wi], &[0, 2, 3, 1])
            }
        }
        w.param("bias", &[OUT]);
        w.set_features(Features::Plain);
    }
}

impl<
        const B: usize,
        const H: usize,
        const W: usize,
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const HO: usize,
        const WO: usize,
    > TorchNames<Image<B, H, W, CI>> for Conv<CI, CO, KH, KW, SH, SW, PH, PW, HO, WO>
{
    fn describe(w: &mut Walker) {
        if H == 1 && KH == 1 && SH == 1 && PH == 0 {
            // A signal: nn.Conv1d, weight [CO][CI][K]; ours [CO][1][K][CI].
            w.param_transposed("weight", &[CO, CI, KW], &[CO, CI, KW], &[0, 2, 1]);
        } else {
            let shape = [CO, CI, KH, KW];
            w.param_transposed("weight", &shape, &shape, &[0, 2, 3, 1]);
        }
        w.param("bias", &[CO]);
        w.set_features(Features::Plain);
    }
}

impl<
        const B: usize,
        const H: usize,
        const W: usize,
        const C: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const HO: usize,
        const WO: usize,
    > TorchNames<Image<B, H, W, C>> for DepthwiseConv2d<C, K, S, P, HO, WO>
{
    fn describe(w: &mut Walker) {
        // PyTorch [C][1][K][K]; ours [K][K][C], read as [1][K][K][C].
        let shape = [C, 1, K, K];
        w.param_transposed("weight", &shape, &shape, &[1, 2, 3, 0]);
        w.param("bias", &[C]);
        w.set_features(Features::Plain);
    }
}

/// Describes per-channel vectors `names` (parameters, then buffers) of `C` values, in
/// the current feature order.
fn channel_vectors<const C: usize>(w: &mut Walker, params: &[&str], buffers: &[&str]) {
    match w.features() {
        Features::Plain => {
            params.iter().for_each(|n| w.param(n, &[C]));
            buffers.iter().for_each(|n| w.buffer(n, &[C]));
        }
        Features::Chw { c, h, w: wi } => {
            let (dims, axes) = ([c, h, wi], [1, 2, 0]);
            params
                .iter()
                .for_each(|n| w.param_transposed(n, &[C], &dims, &axes));
            buffers
                .iter()
                .for_each(|n| w.buffer_transposed(n, &[C], &dims, &axes));
        }
    }
}

const AFFINE: [&str; 2] = ["weight", "bias"];
const RUNNING: [&str; 2] = ["running_mean", "running_var"];

impl<const B: usize, const C: usize> TorchNames<Batch<B, C>> for BatchNorm<C> {
    fn describe(w: &mut Walker) {
        channel_vectors::<C>(w, &AFFINE, &RUNNING);
        w.batch_counter("num_batches_tracked", 2);
    }
}

impl<const B: usize, const H: usize, const W: usize, const C: usize> TorchNames<Image<B, H, W, C>>
    for BatchNorm<C>
{
    fn describe(w: &mut Walker) {
        w.set_features(Features::Plain);
        channel_vectors::<C>(w, &AFFINE, &RUNNING);
        w.batch_counter("num_batches_tracked", 2);
    }
}

impl<const B: usize, const G: usize, const C: usize> TorchNames<Batch<B, C>> for GroupNorm<G, C> {
    fn describe(w: &mut Walker) {
        if G != 1 && G != C && w.features() != Features::Plain {
            w.unsupported(
                "a GroupNorm with several groups of several features after a Flatten of a \
                 channels-last image groups other features than PyTorch's",
            );
        }
        channel_vectors::<C>(w, &AFFINE, &[]);
    }
}

impl<const B: usize, const H: usize, const W: usize, const G: usize, const C: usize>
    TorchNames<Image<B, H, W, C>> for GroupNorm<G, C>
{
    fn describe(w: &mut Walker) {
        w.set_features(Features::Plain);
        channel_vectors::<C>(w, &AFFINE, &[]);
    }
}

/// Layers without state that keep the order of the features.
macro_rules! stateless {
    ($($layer:ty),*) => {$(
        impl<X: Tensor + Copy> TorchNames<X> for $layer {
            fn describe(_: &mut Walker) {}
        }
    )*};
}
stateless!(Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Dropout);

/// Pooling windows: no state, images in and out.
macro_rules! pooling {
    ($layer:ident<$($g:ident),*>, $h:tt x $w:tt, [$($dims:ident),*]) => {
        impl<const B: usize, const C: usize, $(const $dims: usize,)* $(const $g: usize),*>
            TorchNames<Image<B, $h, $w, C>> for $layer<$($g),*>
        {
            fn describe(w: &mut Walker) {
                w.set_features(Features::Plain);
            }
        }
    };
}
pooling!(MaxPool2d<K, S, HO, WO>, H x W, [H, W]);
pooling!(AvgPool2d<K, S, HO, WO>, H x W, [H, W]);
pooling!(MaxPool1d<K, S, LO>, 1 x W, [W]);
pooling!(AvgPool1d<K, S, LO>, 1 x W, [W]);

impl<const B: usize, const H: usize, const W: usize, const C: usize> TorchNames<Image<B, H, W, C>>
    for GlobalAvgPool
{
    fn describe(w: &mut Walker) {
        w.set_features(Features::Plain);
    }

    /// PyTorch's `nn.AdaptiveAvgPool2d(1), nn.Flatten()`.
    const INDICES: usize = 2;
}

impl<const B: usize, const H: usize, const W: usize, const C: usize, const N: usize>
    TorchNames<Image<B, H, W, C>> for Flatten<N>
{
    fn describe(w: &mut Walker) {
        let order = if H * W > 1 && C > 1 {
            Features::Chw { c: C, h: H, w: W }
        } else {
            Features::Plain
        };
        w.set_features(order);
    }
}

impl<X: Tensor + Copy, F: TorchNames<X, Output = X>> TorchNames<X> for Residual<F> {
    fn describe(w: &mut Walker) {
        let before = w.features();
        w.scope("body", F::describe);
        if w.features() != before {
            w.unsupported("the body changes the order of the features it adds to its input");
        }
    }
}

impl<X, Y, F, P> TorchNames<X> for ProjectedResidual<F, P>
where
    X: Tensor,
    Y: Tensor + Copy,
    F: TorchNames<X, Output = Y>,
    P: TorchNames<X, Output = Y>,
{
    fn describe(w: &mut Walker) {
        let before = w.features();
        w.scope("body", F::describe);
        let body = w.features();
        w.set_features(before);
        w.scope("projection", P::describe);
        if w.features() != body {
            w.unsupported("the body and the projection order their features differently");
        }
    }
}
