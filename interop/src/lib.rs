//! # microtrain-interop
//!
//! Host-only: a microtrain model's weights to and from a PyTorch `state_dict` saved as
//! [safetensors](https://github.com/huggingface/safetensors), with PyTorch's keys,
//! shapes and memory layouts.
//!
//! - [`to_bytes`] / [`save`] / [`write()`] export every parameter and buffer (batch normalisation's
//!   `running_mean`, `running_var`, plus PyTorch's `num_batches_tracked`), `F32`
//!   little-endian, with the metadata `{"format": "pt"}` that
//!   `safetensors.torch.save_file` writes; PyTorch reads the file with
//!   `model.load_state_dict(safetensors.torch.load_file(path))`.
//! - [`load`] / [`load_file`] import a file written by
//!   `safetensors.torch.save_file(model.state_dict(), path)` into the statically shaped
//!   model. Every tensor is checked first (present, `F32`, PyTorch's shape, finite) and
//!   nothing else may be in the file; on any error, named by the tensor's key, the
//!   model is left unchanged.
//!
//! `num_batches_tracked` (PyTorch's `int64` step count of a batch-norm layer) has no
//! counterpart in microtrain: the export writes the layer's cumulative count
//! `BatchNorm::cumulative` (set while weight averaging recomputes statistics) or 0;
//! the import accepts the key with or without it, requires it to be an `I64` scalar
//! (shape `[]`) when present, and ignores its value. Hyperparameters (`eps`,
//! `momentum`, dropout rates) are not in a `state_dict`, here as in PyTorch.
//!
//! The model's input type `X` is a type parameter because the keys and layouts may
//! depend on it (a `Flatten` of an image, a convolution on a signal); its batch size
//! does not matter. [`TorchNames`] lists the PyTorch module of each layer.
//!
//! # Examples
//!
//! ```
//! use microtrain::layers::{BatchNorm, Dense, Relu};
//! use microtrain::{Batch, Seq};
//! type Net = Seq![Dense<4, 8>, BatchNorm<8>, Relu, Dense<8, 2>];
//! type X = Batch<1, 4>;
//! let mut net: Net = (Dense::zeros(), (BatchNorm::new(), (Relu, Dense::zeros())));
//! net.0.weight.0[1][2] = 0.5;
//! net.1 .0.running_var.0[3] = 2.0;
//!
//! let bytes = microtrain_interop::to_bytes::<X, _>(&mut net)?;
//! let mut copy: Net = (Dense::zeros(), (BatchNorm::new(), (Relu, Dense::zeros())));
//! microtrain_interop::load::<X, _>(&mut copy, &bytes)?;
//! assert_eq!(copy, net);
//!
//! // A file for another model names the problem and changes nothing.
//! let mut other: Seq![Dense<4, 8>, Relu, Dense<8, 2>] = (Dense::zeros(), (Relu, Dense::zeros()));
//! let err = microtrain_interop::load::<X, _>(&mut other, &bytes).unwrap_err();
//! assert_eq!(err.to_string(), r#"missing tensor "2.weight""#);
//! assert_eq!(other.0.weight.0[1][2], 0.0);
//! # Ok::<(), microtrain_interop::InteropError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod names;
mod walker;

pub use error::InteropError;
pub use names::TorchNames;
pub use walker::Walker;

use microtrain::Tensor;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The keys and PyTorch shapes of the `state_dict` of the model `M` on input `X`:
/// parameters, then buffers, then `num_batches_tracked` counters (shape `[]`).
///
/// # Errors
///
/// [`InteropError::Unsupported`] if a layer has no PyTorch equivalent here.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{BatchNorm, Conv2d, Flatten, Relu, Dense};
/// use microtrain::{Image, Seq};
/// type Net = Seq![Conv2d<1, 4, 3, 1, 1, 5, 5>, BatchNorm<4>, Relu, Flatten<100>, Dense<100, 3>];
/// let keys = microtrain_interop::state_dict_keys::<Image<1, 5, 5, 1>, Net>()?;
/// assert_eq!(keys[0], ("0.weight".to_string(), vec![4, 1, 3, 3]));
/// assert_eq!(keys[4], ("4.weight".to_string(), vec![3, 100]));
/// assert_eq!(keys[8], ("1.num_batches_tracked".to_string(), vec![]));
/// # Ok::<(), microtrain_interop::InteropError>(())
/// ```
pub fn state_dict_keys<X: Tensor, M: TorchNames<X>>(
) -> Result<Vec<(String, Vec<usize>)>, InteropError> {
    let mut w = Walker::new();
    M::describe(&mut w);
    w.keys()
}

/// The description of `M`, checked against the tensors the model shows.
fn describe<X: Tensor, M: TorchNames<X>>(model: &mut M) -> Result<Walker, InteropError> {
    let mut w = Walker::new();
    M::describe(&mut w);
    w.check()?;
    let mut params = Vec::new();
    model.visit(&mut |p| params.push(p.value.len()));
    let mut buffers = Vec::new();
    model.visit_buffers(&mut |b| buffers.push(b.value.len()));
    for (kind, specs, lens) in [
        ("parameter", &w.params, params),
        ("buffer", &w.buffers, buffers),
    ] {
        for i in 0..specs.len().max(lens.len()) {
            let described = specs.get(i).map_or(0, |s| s.len());
            let actual = lens.get(i).copied().unwrap_or(0);
            if described != actual || i >= specs.len() || i >= lens.len() {
                let name = specs
                    .get(i)
                    .map_or_else(|| format!("{kind} {i}, not described"), |s| s.name.clone());
                return Err(InteropError::Description {
                    name,
                    described,
                    actual,
                });
            }
        }
    }
    Ok(w)
}

/// The model's `state_dict` as safetensors bytes (keys as [`TorchNames`] lists them,
/// `F32` tensors in PyTorch's shapes and layouts, `num_batches_tracked` as `I64`
/// scalars, metadata `{"format": "pt"}`). Values are written as they are, NaN included.
///
/// # Errors
///
/// [`InteropError::Unsupported`] if a layer has no PyTorch equivalent here,
/// [`InteropError::Description`] if a layer's description is wrong.
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Relu};
/// use microtrain::{Batch, Seq};
/// let mut net: Seq![Dense<3, 2>, Relu, Dense<2, 1>] = (Dense::zeros(), (Relu, Dense::zeros()));
/// net.1 .1.bias.0 = [0.25];
/// let bytes = microtrain_interop::to_bytes::<Batch<1, 3>, _>(&mut net)?;
/// let file = safetensors::SafeTensors::deserialize(&bytes)?;
/// assert_eq!(file.tensor("2.bias")?.data(), 0.25f32.to_le_bytes());
/// assert_eq!(file.tensor("0.weight")?.shape(), [2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_bytes<X: Tensor, M: TorchNames<X>>(model: &mut M) -> Result<Vec<u8>, InteropError> {
    let w = describe::<X, M>(model)?;
    let mut values = Vec::new();
    model.visit(&mut |p| values.push(p.value.to_vec()));
    let mut counts = Vec::new();
    model.visit_buffers(&mut |b| {
        values.push(b.value.to_vec());
        counts.push(b.cumulative.and_then(|c| *c).unwrap_or(0));
    });
    let mut data: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    for (spec, ours) in w.params.iter().chain(&w.buffers).zip(&values) {
        let bytes = spec
            .torch_from_ours(ours)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        data.push((spec.name.clone(), spec.shape.clone(), Dtype::F32, bytes));
    }
    for c in &w.counters {
        let n = i64::from(counts.get(c.buffer).copied().unwrap_or(0));
        data.push((
            c.name.clone(),
            Vec::new(),
            Dtype::I64,
            n.to_le_bytes().to_vec(),
        ));
    }
    let views = data
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(*dtype, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    Ok(safetensors::serialize(views, Some(meta))?)
}

/// Writes [`to_bytes`] to the file `path`.
///
/// # Errors
///
/// Those of [`to_bytes`], and [`InteropError::Io`].
///
/// # Examples
///
/// ```
/// use microtrain::{layers::Dense, Batch};
/// let path = std::env::temp_dir().join("microtrain_interop_save_doc.safetensors");
/// let mut layer = Dense::<2, 2>::zeros();
/// microtrain_interop::save::<Batch<1, 2>, _>(&mut layer, &path)?;
/// let mut back = Dense::<2, 2>::zeros();
/// microtrain_interop::load_file::<Batch<1, 2>, _>(&mut back, &path)?;
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<X: Tensor, M: TorchNames<X>>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<(), InteropError> {
    let bytes = to_bytes::<X, M>(model)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Writes [`to_bytes`] to `writer`.
///
/// # Errors
///
/// Those of [`to_bytes`], and [`InteropError::Io`].
///
/// # Examples
///
/// ```
/// use microtrain::{layers::Dense, Batch};
/// let mut layer = Dense::<2, 3>::zeros();
/// let mut out = Vec::new();
/// microtrain_interop::write::<Batch<1, 2>, _>(&mut layer, &mut out)?;
/// assert_eq!(out, microtrain_interop::to_bytes::<Batch<1, 2>, _>(&mut layer)?);
/// # Ok::<(), microtrain_interop::InteropError>(())
/// ```
pub fn write<X: Tensor, M: TorchNames<X>>(
    model: &mut M,
    mut writer: impl std::io::Write,
) -> Result<(), InteropError> {
    writer.write_all(&to_bytes::<X, M>(model)?)?;
    Ok(())
}

/// Reads the file `path` and [`load`]s it into `model`.
///
/// # Errors
///
/// Those of [`load`], and [`InteropError::Io`].
///
/// # Examples
///
/// ```
/// use microtrain::{layers::Dense, Batch};
/// let mut layer = Dense::<2, 2>::zeros();
/// let err = microtrain_interop::load_file::<Batch<1, 2>, _>(&mut layer, "/no/such/file");
/// assert!(matches!(err, Err(microtrain_interop::InteropError::Io(_))));
/// ```
pub fn load_file<X: Tensor, M: TorchNames<X>>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<(), InteropError> {
    let bytes = std::fs::read(path)?;
    load::<X, M>(model, &bytes)
}

/// Loads a `state_dict` saved as safetensors into `model`, all or nothing: every
/// tensor the model needs must be present, `F32`, in PyTorch's shape and finite;
/// `num_batches_tracked` keys may be present (as `I64` scalars, value ignored); any
/// other key is an error. Only when all of that holds are the values written.
///
/// # Errors
///
/// The first problem found, checking the model's tensors in canonical order and then
/// the file's other keys in sorted order: [`InteropError::Missing`],
/// [`InteropError::Dtype`], [`InteropError::Shape`], [`InteropError::NonFinite`],
/// [`InteropError::Unexpected`]; [`InteropError::Format`] for bytes that are not
/// safetensors; [`InteropError::Unsupported`] or [`InteropError::Description`] as
/// for [`to_bytes`].
///
/// # Examples
///
/// ```
/// use microtrain::layers::{Dense, Relu};
/// use microtrain::{Batch, Seq};
/// type Net = Seq![Dense<3, 2>, Relu, Dense<2, 1>];
/// let mut a: Net = (Dense::zeros(), (Relu, Dense::zeros()));
/// a.0.bias.0 = [1.0, 2.0];
/// let bytes = microtrain_interop::to_bytes::<Batch<1, 3>, _>(&mut a)?;
///
/// let mut b: Net = (Dense::zeros(), (Relu, Dense::zeros()));
/// microtrain_interop::load::<Batch<1, 3>, _>(&mut b, &bytes)?;
/// assert_eq!(b.0.bias.0, [1.0, 2.0]);
///
/// let mut wider: Seq![Dense<3, 2>, Relu, Dense<2, 2>] = (Dense::zeros(), (Relu, Dense::zeros()));
/// let err = microtrain_interop::load::<Batch<1, 3>, _>(&mut wider, &bytes).unwrap_err();
/// assert_eq!(err.to_string(), r#"tensor "2.weight" has shape [1, 2], expected [2, 2]"#);
/// # Ok::<(), microtrain_interop::InteropError>(())
/// ```
pub fn load<X: Tensor, M: TorchNames<X>>(model: &mut M, bytes: &[u8]) -> Result<(), InteropError> {
    let w = describe::<X, M>(model)?;
    let file = safetensors::SafeTensors::deserialize(bytes)?;
    let mut values = Vec::new();
    for spec in w.params.iter().chain(&w.buffers) {
        let t = tensor(&file, &spec.name, Dtype::F32, &spec.shape)?.ok_or_else(|| {
            InteropError::Missing {
                name: spec.name.clone(),
            }
        })?;
        let torch: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some((index, &value)) = torch.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(InteropError::NonFinite {
                name: spec.name.clone(),
                index,
                value,
            });
        }
        values.push(spec.ours_from_torch(&torch));
    }
    for c in &w.counters {
        tensor(&file, &c.name, Dtype::I64, &[])?;
    }
    let known: BTreeSet<&str> = w
        .params
        .iter()
        .chain(&w.buffers)
        .map(|s| s.name.as_str())
        .chain(w.counters.iter().map(|c| c.name.as_str()))
        .collect();
    let extra: BTreeSet<&str> = file
        .names()
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect();
    if let Some(name) = extra.first() {
        return Err(InteropError::Unexpected {
            name: name.to_string(),
        });
    }
    let mut next = values.iter();
    model.visit(&mut |p| {
        p.value
            .copy_from_slice(next.next().expect("checked by describe"))
    });
    model.visit_buffers(&mut |b| {
        b.value
            .copy_from_slice(next.next().expect("checked by describe"))
    });
    Ok(())
}

/// The tensor `name` of `file` if present, checked for `dtype` and `shape`.
fn tensor<'a>(
    file: &safetensors::SafeTensors<'a>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<Option<TensorView<'a>>, InteropError> {
    let Ok(t) = file.tensor(name) else {
        return Ok(None);
    };
    if t.dtype() != dtype {
        return Err(InteropError::Dtype {
            name: name.to_string(),
            found: format!("{:?}", t.dtype()),
            expected: if dtype == Dtype::F32 { "F32" } else { "I64" },
        });
    }
    if t.shape() != shape {
        return Err(InteropError::Shape {
            name: name.to_string(),
            found: t.shape().to_vec(),
            expected: shape.to_vec(),
        });
    }
    Ok(Some(t))
}
