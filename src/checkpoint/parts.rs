//! [`Persist`] for what has no file of its own here: a model's tensors, and the PCG
//! generators of `rand_pcg`. The optimizers, schedules, early stopping and the trainer
//! implement it beside their fields.

use super::{CheckpointFault, Persist, Reader, Writer};
use crate::layers::{ParamKind, Params};
use crate::Error;

/// A model's parameters and buffers as a checkpoint part (PyTorch:
/// `model.state_dict()`): every parameter tensor in [`Params::visit`] order, then every
/// buffer in [`Params::visit_buffers`] order. Each tensor's kind and length enter the
/// fingerprint. Gradients are not saved: every step starts by zeroing them.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::{self, Model};
/// use microtrain::layers::{BatchNorm, Dense, Params};
/// type Net = (Dense<2, 3>, BatchNorm<3>);
/// assert_eq!(checkpoint::bytes::<Model<Net>>(), 24 + 4 * (Net::COUNT + Net::BUFFERS));
/// ```
#[derive(Debug)]
pub struct Model<'a, M: ?Sized>(pub &'a mut M);

/// The fingerprint mark of a parameter tensor's kind.
fn kind_mark(kind: ParamKind) -> u32 {
    match kind {
        ParamKind::Weight => 1,
        ParamKind::Bias => 2,
        ParamKind::Scale => 3,
    }
}

impl<M: Params + ?Sized> Persist for Model<'_, M> {
    const BYTES: usize = 4 * (M::COUNT + M::BUFFERS);

    fn save(&mut self, w: &mut Writer<'_>) {
        self.0.visit(&mut |p| {
            w.shape(kind_mark(p.kind));
            w.f32s(p.value);
        });
        self.0.visit_buffers(&mut |b| w.f32s(b.value));
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        let mut outcome = Ok(());
        self.0.visit(&mut |p| {
            if outcome.is_ok() {
                outcome = r.f32s(p.value);
            }
        });
        self.0.visit_buffers(&mut |b| {
            if outcome.is_ok() {
                outcome = r.f32s(b.value);
            }
        });
        outcome
    }
}

/// `Persist` for a PCG generator with public `state()`, `stream()` and
/// `from_state(state, stream)`: the two words, and a mark naming the generator.
macro_rules! persist_pcg {
    ($ty:ty, $word:ty, $mark:expr) => {
        impl Persist for $ty {
            const BYTES: usize = 2 * core::mem::size_of::<$word>();

            fn save(&mut self, w: &mut Writer<'_>) {
                w.shape($mark);
                for word in [self.state(), self.stream()] {
                    let word = word as u128;
                    for half in 0..core::mem::size_of::<$word>() / 8 {
                        w.u64((word >> (64 * half)) as u64);
                    }
                }
            }

            fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
                let mut words = [0 as $word; 2];
                for word in &mut words {
                    let mut wide = 0u128;
                    for half in 0..core::mem::size_of::<$word>() / 8 {
                        let part = r.value(Reader::u64)?;
                        wide |= u128::from(part) << (64 * half);
                    }
                    *word = wide as $word;
                }
                // `from_state` drops the stream's top bit, which `stream()` never sets.
                if words[1] > <$word>::MAX >> 1 {
                    return Err(Error::Checkpoint(CheckpointFault::Value {
                        what: "PCG stream (top bit set)",
                        found: 1,
                    }));
                }
                if r.writes() {
                    *self = <$ty>::from_state(words[0], words[1]);
                }
                Ok(())
            }
        }
    };
}

persist_pcg!(rand_pcg::Pcg32, u64, u32::from_le_bytes(*b"PC32"));
persist_pcg!(rand_pcg::Pcg64, u128, u32::from_le_bytes(*b"PC64"));
persist_pcg!(rand_pcg::Pcg64Dxsm, u128, u32::from_le_bytes(*b"PCDX"));
