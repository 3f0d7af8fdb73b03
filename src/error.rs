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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        }
    }
}

impl core::error::Error for Error {}
