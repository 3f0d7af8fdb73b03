//! The crate's error type: every runtime input that can be wrong names what was wrong.

use crate::layers::ParamKind;
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
    /// A training step was refused because something became NaN or infinite: the loss, a
    /// gradient, a penalty, or the update (a new parameter or optimizer state value).
    /// The update was not applied: parameters, optimizer state and normalisation
    /// statistics are those from before the step. `cause` says what was not finite and
    /// whether it can go away by itself ([`Refusal::lasting`]).
    ///
    /// ```
    /// use microtrain::{layers::ParamKind, optim::Refusal, Error};
    /// let e = Error::Diverged { step: 17, loss: 0.199, cause: Refusal::Gradient { tensor: 2, kind: ParamKind::Bias } };
    /// assert_eq!(e.to_string(), "training step 17 refused: gradient of tensor 2 (bias) is not finite (loss 0.199)");
    /// ```
    Diverged {
        /// The trainer's number of the refused update, [`Trainer::steps`] + 1 (a refused
        /// step is not counted, so the retry has the same number); 0 when an optimizer
        /// was stepped directly, outside a trainer.
        ///
        /// [`Trainer::steps`]: crate::train::Trainer::steps
        step: u64,
        /// The data loss of the refused step (may itself be NaN or infinite); NaN when
        /// an optimizer was stepped directly (it does not know the loss).
        loss: f32,
        /// What was not finite.
        cause: Refusal,
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

/// What made a training step refused ([`Error::Diverged`]): which value was NaN or
/// infinite, and in which parameter tensor. Tensors are numbered from 0 in the
/// canonical order of [`Params::visit`](crate::layers::Params::visit).
///
/// # Examples
///
/// ```
/// use microtrain::{layers::ParamKind, optim::Refusal};
/// let r = Refusal::Update { tensor: 1, kind: ParamKind::Weight, lasting: true };
/// assert!(r.lasting() && !Refusal::Loss.lasting());
/// assert_eq!(r.tensor(), Some(1));
/// assert_eq!(
///     r.to_string(),
///     "update of tensor 1 (weight) would make it or the optimizer state non-finite"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The data loss of the batch was NaN or infinite.
    Loss,
    /// The gradient of a parameter tensor (after the penalty gradient was added) held a
    /// NaN or an infinity; the trainer checks this before clipping.
    Gradient {
        /// The tensor's index in [`Params::visit`](crate::layers::Params::visit) order.
        tensor: u16,
        /// Weight, bias or scale.
        kind: ParamKind,
    },
    /// The penalty `λΩ(w)` of a weight tensor (or the sum of the penalties up to it)
    /// overflowed. It depends on the weights alone, which a refused step leaves as they
    /// are, so it is [`lasting`](Refusal::lasting).
    Penalty {
        /// The tensor's index in [`Params::visit`](crate::layers::Params::visit) order.
        tensor: u16,
    },
    /// The gradient was finite, but the optimizer's update would have made a parameter
    /// of this tensor, or a value of its optimizer state, NaN or infinite.
    Update {
        /// The tensor's index in [`Params::visit`](crate::layers::Params::visit) order.
        tensor: u16,
        /// Weight, bias or scale.
        kind: ParamKind,
        /// Whether the update would be refused with a zero gradient too: then the
        /// parameters, the optimizer state or its settings alone overflow, not the
        /// batch, and every later step would be refused as well.
        lasting: bool,
    },
}

/// What the display of a lasting [`Refusal`] adds.
pub(crate) const LASTING: &str = "this will not change by itself: stop or change the settings";

impl Refusal {
    /// Whether the cause cannot go away by itself: a refused step changes nothing, so
    /// the next step, whatever its batch, would be refused again (a [`Penalty`]
    /// overflow, or an [`Update`] refused even with a zero gradient). Training should
    /// stop, or its settings change; [`Guard`](crate::train::Guard) does not roll back
    /// for it. A non-finite loss or gradient may come from one bad batch, and is not
    /// lasting.
    ///
    /// [`Penalty`]: Refusal::Penalty
    /// [`Update`]: Refusal::Update
    ///
    /// # Examples
    ///
    /// See [`Refusal`].
    pub const fn lasting(self) -> bool {
        match self {
            Refusal::Loss | Refusal::Gradient { .. } => false,
            Refusal::Penalty { .. } => true,
            Refusal::Update { lasting, .. } => lasting,
        }
    }

    /// The index of the tensor at fault, in [`Params::visit`](crate::layers::Params::visit)
    /// order; `None` for the loss.
    ///
    /// # Examples
    ///
    /// See [`Refusal`].
    pub const fn tensor(self) -> Option<u16> {
        match self {
            Refusal::Loss => None,
            Refusal::Gradient { tensor, .. }
            | Refusal::Penalty { tensor }
            | Refusal::Update { tensor, .. } => Some(tensor),
        }
    }
}

/// The name a refusal prints for a parameter kind.
pub(crate) fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Weight => "weight",
        ParamKind::Bias => "bias",
        ParamKind::Scale => "scale",
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::Loss => write!(f, "the loss is not finite"),
            Refusal::Gradient { tensor, kind } => write!(
                f,
                "gradient of tensor {tensor} ({}) is not finite",
                kind_name(kind)
            ),
            Refusal::Penalty { tensor } => {
                write!(f, "penalty of tensor {tensor} (weight) is not finite")
            }
            Refusal::Update { tensor, kind, .. } => write!(
                f,
                "update of tensor {tensor} ({}) would make it or the optimizer state non-finite",
                kind_name(kind)
            ),
        }
    }
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
            Error::Diverged { step, loss, cause } => {
                if step == 0 {
                    write!(f, "optimizer step refused: {cause}")?;
                } else {
                    write!(f, "training step {step} refused: {cause} (loss {loss})")?;
                }
                if cause.lasting() {
                    write!(f, "; {LASTING}")?;
                }
                Ok(())
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
