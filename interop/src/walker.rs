//! The description of a model's tensors as PyTorch names them: the [`Walker`] that
//! layers describe themselves to, and the memory-layout conversions.

use crate::InteropError;

/// How the features of a feature batch are ordered compared to PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Features {
    /// The same order.
    Plain,
    /// A flattened channels-last image: ours `[H][W][C]`, PyTorch's `[C][H][W]`.
    Chw { c: usize, h: usize, w: usize },
}

/// One tensor of the `state_dict`.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// The `state_dict` key.
    pub name: String,
    /// PyTorch's shape.
    pub shape: Vec<usize>,
    /// `map[i]`: where our `i`-th value sits in PyTorch's flat order (`None`: same order).
    pub map: Option<Vec<usize>>,
}

impl Spec {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Our flat order → PyTorch's.
    pub fn torch_from_ours(&self, ours: &[f32]) -> Vec<f32> {
        match &self.map {
            None => ours.to_vec(),
            Some(map) => {
                let mut out = vec![0.0; ours.len()];
                for (&v, &t) in ours.iter().zip(map) {
                    out[t] = v;
                }
                out
            }
        }
    }

    /// PyTorch's flat order → ours.
    pub fn ours_from_torch(&self, torch: &[f32]) -> Vec<f32> {
        match &self.map {
            None => torch.to_vec(),
            Some(map) => map.iter().map(|&t| torch[t]).collect(),
        }
    }
}

/// A batch-norm step counter (`num_batches_tracked`), belonging to the buffer at
/// `buffer` (the layer's `running_mean`).
#[derive(Clone, Debug)]
pub(crate) struct Counter {
    pub name: String,
    pub buffer: usize,
}

/// Collects a model's `state_dict` keys, PyTorch shapes and layout conversions, in the
/// order of [`Params::visit`](microtrain::layers::Params::visit) (parameters) and
/// [`Params::visit_buffers`](microtrain::layers::Params::visit_buffers) (buffers).
/// Layers describe themselves to it through [`TorchNames`](crate::TorchNames); you
/// need it only to describe a layer type of your own.
///
/// # Examples
///
/// ```
/// use microtrain_interop::Walker;
/// let mut w = Walker::new();
/// w.scope("0", |w| {
///     w.param("weight", &[2, 3]);
///     w.param("bias", &[2]);
/// });
/// assert_eq!(w.keys()?, [("0.weight".to_string(), vec![2, 3]), ("0.bias".to_string(), vec![2])]);
/// # Ok::<(), microtrain_interop::InteropError>(())
/// ```
#[derive(Debug, Default)]
pub struct Walker {
    prefix: String,
    pub(crate) params: Vec<Spec>,
    pub(crate) buffers: Vec<Spec>,
    pub(crate) counters: Vec<Counter>,
    pub(crate) features: Option<Features>,
    /// The first layer marked unsupported: its key prefix, and why.
    unsupported: Option<(String, &'static str)>,
}

impl Walker {
    /// An empty description, at the top of the `state_dict` (no key prefix).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(microtrain_interop::Walker::new().keys()?.is_empty());
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn new() -> Self {
        Walker::default()
    }

    /// Describes the sub-module `name` (PyTorch: an attribute of the module, or an
    /// index of an `nn.Sequential`): the keys `f` gives are prefixed by `name.`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.scope("4", |w| w.scope("body", |w| w.param("bias", &[8])));
    /// assert_eq!(w.keys()?[0].0, "4.body.bias");
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn scope(&mut self, name: &str, f: impl FnOnce(&mut Walker)) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        self.prefix.push('.');
        f(self);
        self.prefix.truncate(len);
    }

    /// The next parameter (in `Params::visit` order): key `name` under the current
    /// prefix, PyTorch shape `shape`, stored in PyTorch's order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.param("weight", &[10, 32]);
    /// assert_eq!(w.keys()?, [("weight".to_string(), vec![10, 32])]);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn param(&mut self, name: &str, shape: &[usize]) {
        let spec = self.spec(name, shape, None);
        self.params.push(spec);
    }

    /// The next parameter, stored in another order than PyTorch's: PyTorch's tensor,
    /// viewed with the dimensions `dims` (same number of values as `shape`), is ours
    /// with its axes in the order `axes` (our axis `k` is PyTorch's axis `axes[k]`).
    /// A convolution weight, PyTorch's `[CO][CI][KH][KW]` and our `[CO][KH][KW][CI]`,
    /// is `dims = [CO, CI, KH, KW]`, `axes = [0, 2, 3, 1]`.
    ///
    /// # Panics
    ///
    /// If `axes` is not a permutation of `0..dims.len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.param_transposed("weight", &[4, 1, 3, 3], &[4, 1, 3, 3], &[0, 2, 3, 1]);
    /// assert_eq!(w.keys()?[0].1, [4, 1, 3, 3]);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn param_transposed(
        &mut self,
        name: &str,
        shape: &[usize],
        dims: &[usize],
        axes: &[usize],
    ) {
        let spec = self.spec(name, shape, Some(transposition(dims, axes)));
        self.params.push(spec);
    }

    /// The next buffer (in `Params::visit_buffers` order), stored in PyTorch's order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.buffer("running_mean", &[8]);
    /// assert_eq!(w.keys()?, [("running_mean".to_string(), vec![8])]);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn buffer(&mut self, name: &str, shape: &[usize]) {
        let spec = self.spec(name, shape, None);
        self.buffers.push(spec);
    }

    /// The next buffer, stored in another order than PyTorch's (see
    /// [`param_transposed`](Walker::param_transposed)).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.buffer_transposed("running_mean", &[12], &[3, 2, 2], &[1, 2, 0]);
    /// assert_eq!(w.keys()?[0].1, [12]);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn buffer_transposed(
        &mut self,
        name: &str,
        shape: &[usize],
        dims: &[usize],
        axes: &[usize],
    ) {
        let spec = self.spec(name, shape, Some(transposition(dims, axes)));
        self.buffers.push(spec);
    }

    /// PyTorch's `num_batches_tracked` (an `int64` scalar) of the batch-norm layer
    /// whose `running_mean` was the last buffer described. It is not one of our
    /// tensors: exported as the layer's cumulative count (`BatchNorm::cumulative`)
    /// or 0, optional on import, and ignored there.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.buffer("running_mean", &[8]);
    /// w.buffer("running_var", &[8]);
    /// w.batch_counter("num_batches_tracked", 2);
    /// assert_eq!(w.keys()?[2], ("num_batches_tracked".to_string(), vec![]));
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn batch_counter(&mut self, name: &str, buffers_back: usize) {
        let buffer = self.buffers.len().saturating_sub(buffers_back);
        self.counters.push(Counter {
            name: format!("{}{name}", self.prefix),
            buffer,
        });
    }

    /// Marks the layer being described as having no PyTorch equivalent; the export or
    /// import then fails with [`InteropError::Unsupported`] naming the current prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::{InteropError, Walker};
    /// let mut w = Walker::new();
    /// w.scope("3", |w| w.unsupported("no such module"));
    /// assert!(matches!(w.keys(), Err(InteropError::Unsupported { name, .. }) if name == "3"));
    /// ```
    pub fn unsupported(&mut self, reason: &'static str) {
        if self.unsupported.is_none() {
            let name = self.prefix.trim_end_matches('.').to_string();
            self.unsupported = Some((name, reason));
        }
    }

    /// The keys and PyTorch shapes described so far: parameters, then buffers, then
    /// batch-norm counters (the content of PyTorch's `state_dict()`; its order is
    /// module by module, and a safetensors file sorts its keys anyway).
    ///
    /// # Errors
    ///
    /// [`InteropError::Unsupported`] if a layer was marked so.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain_interop::Walker;
    /// let mut w = Walker::new();
    /// w.param("weight", &[3]);
    /// w.buffer("running_mean", &[3]);
    /// assert_eq!(w.keys()?.len(), 2);
    /// # Ok::<(), microtrain_interop::InteropError>(())
    /// ```
    pub fn keys(&self) -> Result<Vec<(String, Vec<usize>)>, InteropError> {
        self.check()?;
        let mut out: Vec<_> = self
            .params
            .iter()
            .map(|s| (s.name.clone(), s.shape.clone()))
            .collect();
        out.extend(
            self.buffers
                .iter()
                .map(|s| (s.name.clone(), s.shape.clone())),
        );
        out.extend(self.counters.iter().map(|c| (c.name.clone(), Vec::new())));
        Ok(out)
    }

    /// The current order of a feature batch's features, for layers that take one.
    pub(crate) fn features(&self) -> Features {
        self.features.unwrap_or(Features::Plain)
    }

    pub(crate) fn set_features(&mut self, f: Features) {
        self.features = Some(f);
    }

    /// [`InteropError::Unsupported`] for the first layer marked so.
    pub(crate) fn check(&self) -> Result<(), InteropError> {
        match &self.unsupported {
            Some((name, reason)) => Err(InteropError::Unsupported {
                name: name.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    fn spec(&self, name: &str, shape: &[usize], map: Option<Vec<usize>>) -> Spec {
        Spec {
            name: format!("{}{name}", self.prefix),
            shape: shape.to_vec(),
            map,
        }
    }
}

/// `map[i]` = PyTorch's flat index of our `i`-th value, where our tensor is PyTorch's
/// (dimensions `dims`) with its axes in the order `axes`.
pub(crate) fn transposition(dims: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    assert!(
        sorted.iter().copied().eq(0..dims.len()),
        "axes {axes:?} must be a permutation of the {} dimensions",
        dims.len()
    );
    let mut strides = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * dims[k + 1];
    }
    let ours: Vec<usize> = axes.iter().map(|&a| dims[a]).collect();
    let n: usize = dims.iter().product();
    let mut index = vec![0; ours.len()];
    let mut map = Vec::with_capacity(n);
    for _ in 0..n {
        map.push(index.iter().zip(axes).map(|(&i, &a)| i * strides[a]).sum());
        for k in (0..ours.len()).rev() {
            index[k] += 1;
            if index[k] < ours[k] {
                break;
            }
            index[k] = 0;
        }
    }
    map
}
