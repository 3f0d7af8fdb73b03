//! `defmt::Format` for what a firmware logs (feature `defmt`): errors and refusals, risks,
//! evaluations and the training history, with the same words as their `Display`, so a
//! log decoded on the host reads like the host's own output.
//!
//! `defmt` sends format strings as indices into the ELF and values in binary, so logging
//! an [`Error`] costs a few bytes on the wire and no formatting code on the device.

use crate::checkpoint::CheckpointFault;
use crate::error::{kind_name, LASTING};
use crate::loss::Risk;
use crate::optim::Refusal;
use crate::train::{EpochRecord, Evaluation, History};
use crate::Error;
use defmt::{write, Format, Formatter};

impl Format for CheckpointFault {
    fn format(&self, f: Formatter<'_>) {
        match *self {
            CheckpointFault::Truncated { needed, available } => write!(
                f,
                "truncated: needs {=usize} bytes, {=usize} available",
                needed, available
            ),
            CheckpointFault::Magic { found } => {
                write!(f, "bad magic {=[u8]:02x}, expected \"MTCK\"", &found[..])
            }
            CheckpointFault::Crc { stored, computed } => write!(
                f,
                "CRC-32 mismatch: stored {=u32:#010x}, computed {=u32:#010x}",
                stored, computed
            ),
            CheckpointFault::Version { found, supported } => write!(
                f,
                "format version {=u16}, this build reads version {=u16}",
                found, supported
            ),
            CheckpointFault::Fingerprint { expected, found } => write!(
                f,
                "fingerprint {=u32:#010x} is not the state's {=u32:#010x}",
                found, expected
            ),
            CheckpointFault::Length { expected, found } => write!(
                f,
                "payload of {=usize} bytes, the state needs {=usize}",
                found, expected
            ),
            CheckpointFault::Value { what, found } => {
                write!(f, "{=str}: invalid value {=u32}", what, found)
            }
            CheckpointFault::Blank => write!(f, "blank (never written)"),
        }
    }
}

impl Format for Refusal {
    fn format(&self, f: Formatter<'_>) {
        match *self {
            Refusal::Loss => write!(f, "the loss is not finite"),
            Refusal::Gradient { tensor, kind } => write!(
                f,
                "gradient of tensor {=u16} ({=str}) is not finite",
                tensor,
                kind_name(kind)
            ),
            Refusal::Penalty { tensor } => {
                write!(f, "penalty of tensor {=u16} (weight) is not finite", tensor)
            }
            Refusal::Update { tensor, kind, .. } => write!(
                f,
                "update of tensor {=u16} ({=str}) would make it or the optimizer state non-finite",
                tensor,
                kind_name(kind)
            ),
        }
    }
}

impl Format for Error {
    fn format(&self, f: Formatter<'_>) {
        match *self {
            Error::Length {
                what,
                expected,
                found,
            } => write!(
                f,
                "{=str}: expected {=usize} elements, found {=usize}",
                what, expected, found
            ),
            Error::Shape {
                what,
                expected,
                found,
            } => write!(
                f,
                "{=str}: dimension mismatch, expected {=usize}, found {=usize}",
                what, expected, found
            ),
            Error::Empty { what } => write!(f, "{=str}: empty input", what),
            Error::Label {
                sample,
                label,
                classes,
            } => write!(
                f,
                "sample {=usize}: label {=usize} is not below the {=usize} classes",
                sample, label, classes
            ),
            Error::NonFinite { what, index } => write!(
                f,
                "{=str}: value at index {=usize} is NaN or infinite",
                what, index
            ),
            Error::Setting { name, value, rule } => {
                write!(f, "{=str} = {=f32}: must be {=str}", name, value, rule)
            }
            Error::Diverged { step, loss, cause } => {
                if step == 0 {
                    write!(f, "optimizer step refused: {}", cause);
                } else {
                    write!(
                        f,
                        "training step {=u64} refused: {} (loss {=f32})",
                        step, cause, loss
                    );
                }
                if cause.lasting() {
                    write!(f, "; {=str}", LASTING);
                }
            }
            Error::Checkpoint(fault) => write!(f, "checkpoint: {}", fault),
            Error::NoCheckpoint { a, b } => {
                write!(f, "no checkpoint loads: slot A {}; slot B {}", a, b)
            }
            Error::Storage { operation, offset } => write!(
                f,
                "storage: {=str} failed at byte {=usize}",
                operation, offset
            ),
        }
    }
}

impl Format for Risk {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "loss {=f32} (data {=f32} + penalty {=f32})",
            self.total(),
            self.data,
            self.penalty
        )
    }
}

impl Format for Evaluation {
    fn format(&self, f: Formatter<'_>) {
        match self.accuracy {
            Some(a) => write!(f, "loss {=f32}, accuracy {=f32}", self.loss, a),
            None => write!(f, "loss {=f32}", self.loss),
        }
    }
}

impl Format for EpochRecord {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "epoch {=u32}: train loss {=f32}, validation loss {=f32}, train accuracy {}, validation accuracy {}, lr {=f32}",
            self.epoch,
            self.train_loss,
            self.validation_loss,
            self.train_accuracy,
            self.validation_accuracy,
            self.learning_rate
        )
    }
}

impl<const N: usize> Format for History<N> {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "history of {=usize} epochs", self.iter().count());
        for record in self.iter() {
            write!(f, "\n{}", record);
        }
    }
}
