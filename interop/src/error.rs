//! What can go wrong moving weights in and out.

use std::fmt;

/// Why an export or import failed. Every variant that concerns one tensor names it by
/// its PyTorch `state_dict` key. A failed [`load`](crate::load) leaves the model
/// exactly as it was.
///
/// # Examples
///
/// ```
/// use microtrain_interop::InteropError;
/// let e = InteropError::Shape { name: "0.weight".into(), found: vec![32, 63], expected: vec![32, 64] };
/// assert_eq!(e.to_string(), r#"tensor "0.weight" has shape [32, 63], expected [32, 64]"#);
/// ```
#[derive(Debug)]
pub enum InteropError {
    /// The file lacks a tensor the model needs.
    Missing {
        /// The `state_dict` key.
        name: String,
    },
    /// The file holds a tensor the model has no place for.
    Unexpected {
        /// The `state_dict` key.
        name: String,
    },
    /// A tensor's shape differs from the model's (PyTorch's shape of that tensor).
    Shape {
        /// The `state_dict` key.
        name: String,
        /// The shape in the file.
        found: Vec<usize>,
        /// The shape the model needs.
        expected: Vec<usize>,
    },
    /// A tensor's element type differs from the model's (`F32`, or `I64` for
    /// `num_batches_tracked`).
    Dtype {
        /// The `state_dict` key.
        name: String,
        /// The element type in the file, as safetensors spells it (`F64`, `BF16`, …).
        found: String,
        /// The element type the model needs.
        expected: &'static str,
    },
    /// A tensor holds a NaN or an infinity.
    NonFinite {
        /// The `state_dict` key.
        name: String,
        /// The flat index of the first such value, in the file's (PyTorch's) order.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The bytes are not a safetensors file (truncated, bad header, …).
    Format(safetensors::SafeTensorError),
    /// Reading or writing the file failed.
    Io(std::io::Error),
    /// The model has a layer combination without a PyTorch equivalent here (for
    /// example a [`GroupNorm`](microtrain::layers::GroupNorm) with several groups
    /// right after a [`Flatten`](microtrain::layers::Flatten) of a multi-pixel image).
    Unsupported {
        /// The `state_dict` key prefix of the layer.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A [`TorchNames`](crate::TorchNames) description does not match the tensors
    /// that the layer's `Params::visit` shows (a bug in that description).
    Description {
        /// The `state_dict` key that the description gives.
        name: String,
        /// Values the description gives.
        described: usize,
        /// Values the layer shows.
        actual: usize,
    },
}

impl fmt::Display for InteropError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InteropError::Missing { name } => write!(f, "missing tensor {name:?}"),
            InteropError::Unexpected { name } => write!(f, "unexpected tensor {name:?}"),
            InteropError::Shape {
                name,
                found,
                expected,
            } => write!(
                f,
                "tensor {name:?} has shape {found:?}, expected {expected:?}"
            ),
            InteropError::Dtype {
                name,
                found,
                expected,
            } => write!(f, "tensor {name:?} has dtype {found}, expected {expected}"),
            InteropError::NonFinite { name, index, value } => write!(
                f,
                "tensor {name:?} holds the non-finite value {value} at index {index}"
            ),
            InteropError::Format(e) => write!(f, "not a valid safetensors file: {e}"),
            InteropError::Io(e) => write!(f, "file error: {e}"),
            InteropError::Unsupported { name, reason } => {
                write!(f, "layer {name:?} has no PyTorch equivalent here: {reason}")
            }
            InteropError::Description {
                name,
                described,
                actual,
            } => write!(
                f,
                "tensor {name:?} is described with {described} values but the layer has {actual}"
            ),
        }
    }
}

impl std::error::Error for InteropError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InteropError::Format(e) => Some(e),
            InteropError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<safetensors::SafeTensorError> for InteropError {
    fn from(e: safetensors::SafeTensorError) -> Self {
        InteropError::Format(e)
    }
}

impl From<std::io::Error> for InteropError {
    fn from(e: std::io::Error) -> Self {
        InteropError::Io(e)
    }
}
