//! The crate's error type: every runtime input that can be wrong names what was wrong.

use core::fmt;

/// What went wrong with a runtime input.
///
/// Statically shaped paths cannot produce these; they come from inputs whose size or
/// content is only known at run time (slices, views, datasets, checkpoints).
///
/// # Examples
///
/// ```
/// use microtrain::{Error, MatRef};
/// let data = [0.0f32; 5];
/// let err = MatRef::new(&data, 2, 3).unwrap_err();
/// assert_eq!(err, Error::Length { what: "matrix view", expected: 6, found: 5 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A slice had the wrong number of elements.
    Length {
        /// Which input.
        what: &'static str,
        /// The number of elements it must have.
        expected: usize,
        /// The number it had.
        found: usize,
    },
    /// Two operands of a product or element-wise kernel disagree in a dimension.
    Shape {
        /// Which dimension (for example `"A·B inner"`).
        what: &'static str,
        /// The size one operand demands.
        expected: usize,
        /// The size the other operand has.
        found: usize,
    },
    /// An input held no elements where at least one is needed.
    Empty {
        /// Which input.
        what: &'static str,
    },
    /// A class label was not below the number of classes.
    Label {
        /// The sample whose label is wrong.
        sample: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// An input value was NaN or infinite.
    NonFinite {
        /// Which input.
        what: &'static str,
        /// The index of the first non-finite value in it.
        index: usize,
    },
    /// Training diverged: the loss or a gradient became NaN or infinite, or the update
    /// would have made a parameter or optimizer state so. The update was not applied:
    /// parameters and optimizer state are those from before the step.
    Diverged {
        /// The loss of the step that diverged (may itself be NaN or infinite).
        loss: f32,
    },
    /// A setting was outside the range it must lie in (or NaN).
    OutOfRange {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: f32,
        /// The smallest value allowed.
        min: f32,
        /// The largest value allowed.
        max: f32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Length {
                what,
                expected,
                found,
            } => {
                write!(f, "{what}: expected {expected} elements, found {found}")
            }
            Error::Shape {
                what,
                expected,
                found,
            } => {
                write!(
                    f,
                    "{what}: dimension mismatch, expected {expected}, found {found}"
                )
            }
            Error::Empty { what } => write!(f, "{what}: empty input"),
            Error::Label {
                sample,
                label,
                classes,
            } => {
                write!(
                    f,
                    "sample {sample}: label {label} is not below the {classes} classes"
                )
            }
            Error::NonFinite { what, index } => {
                write!(f, "{what}: value at index {index} is NaN or infinite")
            }
            Error::Diverged { loss } => {
                write!(
                    f,
                    "training diverged (loss {loss}); the step was not applied"
                )
            }
            Error::OutOfRange {
                what,
                value,
                min,
                max,
            } => {
                write!(f, "{what}: {value} is outside [{min}, {max}]")
            }
        }
    }
}

impl core::error::Error for Error {}
