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
    /// A setting outside its valid range, such as a probability of 1.5 or a NaN bound:
    /// `"{name} = {value}: must be {rule}"`.
    Setting {
        /// The setting, as its constructor names it (`"Rotate degrees.lo"`).
        name: &'static str,
        /// The value given.
        value: f32,
        /// What the value must be (`"in [0, 1]"`).
        rule: &'static str,
    },
    /// Training diverged: the loss or a gradient became NaN or infinite, or the update
    /// would have made a parameter or optimizer state so. The update was not applied:
    /// parameters and optimizer state are those from before the step.
    Diverged {
        /// The loss of the step that diverged (may itself be NaN or infinite).
        loss: f32,
    },
    /// A checkpoint's bytes are not a checkpoint of the state they were loaded into;
    /// the state is unchanged.
    Checkpoint(CheckpointFault),
    /// Neither slot of an A/B pair holds a checkpoint that loads; what is wrong with
    /// each.
    NoCheckpoint {
        /// Why slot A does not load.
        a: CheckpointFault,
        /// Why slot B does not load.
        b: CheckpointFault,
    },
    /// A [`Storage`](crate::checkpoint::Storage) driver failed.
    Storage {
        /// `"read"`, `"write"` or `"erase"`.
        operation: &'static str,
        /// The byte offset where it failed.
        offset: usize,
    },
}

/// What is wrong with a checkpoint's bytes, in the order the loader checks it.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::CheckpointFault;
/// let f = CheckpointFault::Crc { stored: 1, computed: 2 };
/// assert_eq!(f.to_string(), "CRC-32 mismatch: stored 0x00000001, computed 0x00000002");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointFault {
    /// Fewer bytes than the header or the length it states.
    Truncated {
        /// Bytes the checkpoint needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The first four bytes are not the checkpoint magic `MTCK`.
    Magic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// The CRC-32 over header and payload differs from the one stored: the bytes were
    /// damaged (or the write was cut short).
    Crc {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// A format version this build does not read.
    Version {
        /// The version in the header.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// The checkpoint is of another structure: other layer shapes, parameter kinds,
    /// optimizer, or other parts saved.
    Fingerprint {
        /// The fingerprint of the state being loaded.
        expected: u32,
        /// The fingerprint in the checkpoint.
        found: u32,
    },
    /// The payload length differs from what the state being loaded needs.
    Length {
        /// Bytes the state needs.
        expected: usize,
        /// Bytes the checkpoint holds.
        found: usize,
    },
    /// A field holds a value that no writer produces.
    Value {
        /// Which field.
        what: &'static str,
        /// The value found.
        found: u32,
    },
    /// The slot has never been written (it is erased).
    Blank,
}

impl fmt::Display for CheckpointFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CheckpointFault::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} available")
            }
            CheckpointFault::Magic { found } => {
                write!(f, "bad magic {found:02x?}, expected \"MTCK\"")
            }
            CheckpointFault::Crc { stored, computed } => write!(
                f,
                "CRC-32 mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            CheckpointFault::Version { found, supported } => write!(
                f,
                "format version {found}, this build reads version {supported}"
            ),
            CheckpointFault::Fingerprint { expected, found } => write!(
                f,
                "fingerprint {found:#010x} is not the state's {expected:#010x} \
                 (other layer shapes, optimizer or parts)"
            ),
            CheckpointFault::Length { expected, found } => {
                write!(f, "payload of {found} bytes, the state needs {expected}")
            }
            CheckpointFault::Value { what, found } => {
                write!(f, "{what}: invalid value {found}")
            }
            CheckpointFault::Blank => write!(f, "blank (never written)"),
        }
    }
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
            Error::Setting { name, value, rule } => {
                write!(f, "{name} = {value}: must be {rule}")
            }
            Error::Diverged { loss } => {
                write!(
                    f,
                    "training diverged (loss {loss}); the step was not applied"
                )
            }
            Error::Checkpoint(fault) => write!(f, "checkpoint: {fault}"),
            Error::NoCheckpoint { a, b } => {
                write!(f, "no checkpoint loads: slot A {a}; slot B {b}")
            }
            Error::Storage { operation, offset } => {
                write!(f, "storage: {operation} failed at byte {offset}")
            }
        }
    }
}

impl core::error::Error for Error {}
