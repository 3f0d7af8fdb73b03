//! Checkpoints: a training state written into a caller's byte buffer, and read back
//! with every byte checked, so that training resumes bit-identically after a reset.
//!
//! A checkpoint is a 24-byte header and a payload:
//!
//! | bytes | field |
//! |-------|-------|
//! | 0..4   | magic `MTCK` |
//! | 4..6   | format version ([`VERSION`]), little-endian |
//! | 6..8   | reserved, zero |
//! | 8..12  | sequence number (which of two [`Slots`] is newer) |
//! | 12..16 | payload length in bytes |
//! | 16..20 | fingerprint: the structure of the state (see [`Writer`]) |
//! | 20..24 | CRC-32 (IEEE, zlib's) of bytes 0..20 and the payload |
//!
//! The payload is what the [`Persist`] parts write, in order, as fixed-size
//! little-endian fields: its layout depends on the types saved, never on the values,
//! so its length is a constant ([`bytes`]) and a buffer can be a `static`.
//!
//! Loading checks, in order: that the bytes hold a header and the payload it states
//! ([`CheckpointFault::Truncated`]), the magic, the CRC (any damage, including a
//! write cut short), the version, the fingerprint against the state being loaded
//! (another model, optimizer or set of parts), and the payload length. Then it reads
//! the payload twice: once to check every field ([`Pass::Try`]), once to store it, so
//! a checkpoint that does not load leaves the state as it was.
//!
//! What a checkpoint holds is the caller's choice: a tuple of parts. The [`Trainer`]
//! (parameters, buffers such as batch normalisation's running statistics, the
//! optimizer's state, step counters and dropout seed), a [`Model`] alone (parameters
//! and buffers), an optimizer, a [`Scheduler`](crate::schedule::Scheduler), a
//! [`ReduceOnPlateau`](crate::schedule::ReduceOnPlateau), an
//! [`EarlyStopper`](crate::train::EarlyStopper), and the data-order generator.
//!
//! # The generator
//!
//! The sample order comes from the caller's generator, so its state belongs in the
//! checkpoint for a bit-identical resume. [`Persist`] is implemented for the PCG
//! generators of `rand_pcg` (`Pcg32`, `Pcg64`, `Pcg64Dxsm`) through their public
//! `state()`, `stream()` and `from_state`: put `&mut rng` among the parts. For another
//! generator, implement [`Persist`] for it (or a wrapper) with its own words; a
//! generator whose state cannot be read can be re-seeded from a seed that is itself
//! saved, for example the epoch number.
//!
//! PyTorch's equivalent is `torch.save({'model': model.state_dict(), 'optimizer':
//! optimizer.state_dict(), …})` with `torch.get_rng_state()`.
//!
//! [`Trainer`]: crate::train::Trainer
//!
//! # Examples
//!
//! ```
//! use microtrain::checkpoint::{self, Model};
//! use microtrain::layers::Dense;
//! let mut net = Dense::<2, 1>::zeros();
//! net.weight.0 = [[1.0, 2.0]];
//! let mut buf = [0u8; checkpoint::bytes::<Model<Dense<2, 1>>>()];
//! checkpoint::save(&mut Model(&mut net), &mut buf)?;
//!
//! let mut other = Dense::<2, 1>::zeros();
//! checkpoint::load(&mut Model(&mut other), &buf)?;
//! assert_eq!(other.weight.0, [[1.0, 2.0]]);
//!
//! buf[30] ^= 4; // one bit flipped
//! assert!(checkpoint::load(&mut Model(&mut other), &buf).is_err());
//! # Ok::<(), microtrain::Error>(())
//! ```

mod codec;
mod crc;
mod parts;
mod storage;

pub use crate::error::CheckpointFault;
pub use codec::{Reader, Writer};
pub use crc::{crc32, Crc32};
pub use parts::Model;
pub use storage::{Slot, Slots, Storage};

use crate::optim::Pass;
use crate::Error;

/// The format version this build writes and reads.
///
/// ```
/// assert_eq!(microtrain::checkpoint::VERSION, 1);
/// ```
pub const VERSION: u16 = 1;

/// Bytes of the header before the payload.
///
/// ```
/// assert_eq!(microtrain::checkpoint::HEADER_BYTES, 24);
/// ```
pub const HEADER_BYTES: usize = 24;

const MAGIC: [u8; 4] = *b"MTCK";

/// Bytes of a checkpoint of `T`: [`HEADER_BYTES`] plus `T::BYTES`.
///
/// # Examples
///
/// ```
/// use microtrain::{checkpoint::{self, Model}, layers::Dense};
/// assert_eq!(checkpoint::bytes::<Model<Dense<3, 2>>>(), 24 + 4 * (6 + 2));
/// ```
pub const fn bytes<T: Persist + ?Sized>() -> usize {
    HEADER_BYTES + T::BYTES
}

/// State that can be written into a checkpoint and read back.
///
/// `save` writes fixed-size fields through a [`Writer`], `load` reads the same fields
/// in the same order through a [`Reader`]; `BYTES` is the number of bytes `save`
/// writes. `save` takes `&mut self` only because models show their tensors through
/// [`Params::visit`](crate::layers::Params::visit), which lends them mutably; it
/// changes nothing. Tuples of parts (up to six) and `&mut` parts are parts.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::{self, Persist, Reader, Writer};
/// use microtrain::Error;
/// struct Counter(u32);
/// impl Persist for Counter {
///     const BYTES: usize = 4;
///     fn save(&mut self, w: &mut Writer<'_>) {
///         w.u32(self.0);
///     }
///     fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
///         r.u32(&mut self.0)
///     }
/// }
/// let mut buf = [0u8; 64];
/// checkpoint::save(&mut (Counter(5), Counter(6)), &mut buf)?;
/// let mut back = (Counter(0), Counter(0));
/// checkpoint::load(&mut back, &buf)?;
/// assert_eq!((back.0 .0, back.1 .0), (5, 6));
/// # Ok::<(), Error>(())
/// ```
pub trait Persist {
    /// Bytes that [`save`](Persist::save) writes.
    const BYTES: usize;

    /// Writes the state.
    fn save(&mut self, w: &mut Writer<'_>);

    /// Reads the state written by [`save`](Persist::save), storing it only if `r`
    /// [writes](Reader::writes).
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if the bytes end early or a field is invalid.
    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error>;
}

impl<T: Persist + ?Sized> Persist for &mut T {
    const BYTES: usize = T::BYTES;

    fn save(&mut self, w: &mut Writer<'_>) {
        (**self).save(w);
    }

    fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
        (**self).load(r)
    }
}

macro_rules! persist_tuple {
    ($($name:ident $index:tt),+) => {
        impl<$($name: Persist),+> Persist for ($($name,)+) {
            const BYTES: usize = 0 $(+ $name::BYTES)+;

            fn save(&mut self, w: &mut Writer<'_>) {
                $(self.$index.save(w);)+
            }

            fn load(&mut self, r: &mut Reader<'_>) -> Result<(), Error> {
                $(self.$index.load(r)?;)+
                Ok(())
            }
        }
    };
}

persist_tuple!(A 0);
persist_tuple!(A 0, B 1);
persist_tuple!(A 0, B 1, C 2);
persist_tuple!(A 0, B 1, C 2, D 3);
persist_tuple!(A 0, B 1, C 2, D 3, E 4);
persist_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A checkpoint's header, as [`inspect`] and [`load`] read it.
///
/// # Examples
///
/// ```
/// use microtrain::{checkpoint::{self, Model}, layers::Dense};
/// let mut buf = [0u8; 64];
/// let n = checkpoint::save(&mut Model(&mut Dense::<1, 1>::zeros()), &mut buf)?;
/// let h = checkpoint::inspect(&buf)?;
/// assert_eq!((h.version, h.sequence, h.payload + checkpoint::HEADER_BYTES), (1, 0, n));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The format version.
    pub version: u16,
    /// The sequence number (0 unless written through [`Slots`]).
    pub sequence: u32,
    /// The payload length in bytes.
    pub payload: usize,
    /// The fingerprint of the saved state's structure.
    pub fingerprint: u32,
    /// The CRC-32 of the header's first 20 bytes and the payload.
    pub crc: u32,
}

fn fault(f: CheckpointFault) -> Error {
    Error::Checkpoint(f)
}

/// The length and fingerprint of `state`'s payload.
fn measure<T: Persist + ?Sized>(state: &mut T) -> (usize, u32) {
    let mut w = Writer::new(&mut []);
    state.save(&mut w);
    (w.len(), w.fingerprint())
}

/// Writes a checkpoint of `state` into the start of `buf` (sequence number 0); returns
/// its length, [`bytes::<T>()`](bytes).
///
/// # Errors
///
/// [`Error::Length`] if `buf` is shorter than the checkpoint; `buf` is untouched then.
///
/// # Examples
///
/// See the [module](self).
pub fn save<T: Persist + ?Sized>(state: &mut T, buf: &mut [u8]) -> Result<usize, Error> {
    save_numbered(state, 0, buf)
}

/// [`save`] with a sequence number in the header.
pub(crate) fn save_numbered<T: Persist + ?Sized>(
    state: &mut T,
    sequence: u32,
    buf: &mut [u8],
) -> Result<usize, Error> {
    let (len, fingerprint) = measure(state);
    let total = HEADER_BYTES.saturating_add(len);
    if buf.len() < total || u32::try_from(len).is_err() {
        return Err(Error::Length {
            what: "checkpoint buffer",
            expected: total,
            found: buf.len(),
        });
    }
    let (head, rest) = buf.split_at_mut(HEADER_BYTES);
    state.save(&mut Writer::new(&mut rest[..len]));
    head[0..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&VERSION.to_le_bytes());
    head[6..8].fill(0);
    head[8..12].copy_from_slice(&sequence.to_le_bytes());
    head[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    head[16..20].copy_from_slice(&fingerprint.to_le_bytes());
    let mut crc = Crc32::new();
    crc.update(&head[..20]);
    crc.update(&rest[..len]);
    head[20..24].copy_from_slice(&crc.value().to_le_bytes());
    Ok(total)
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Checks that `bytes` start with an intact checkpoint (header and payload present,
/// magic, CRC, version) of any state, and returns its header. Bytes after the
/// payload are ignored.
///
/// # Errors
///
/// [`Error::Checkpoint`] with [`CheckpointFault::Truncated`], [`Magic`],
/// [`Crc`] or [`Version`], checked in that order.
///
/// [`Magic`]: CheckpointFault::Magic
/// [`Crc`]: CheckpointFault::Crc
/// [`Version`]: CheckpointFault::Version
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::{self, CheckpointFault};
/// use microtrain::Error;
/// let err = checkpoint::inspect(&[0xFF; 64]).unwrap_err();
/// assert_eq!(err, Error::Checkpoint(CheckpointFault::Blank));
/// let err = checkpoint::inspect(b"MTCK").unwrap_err();
/// assert_eq!(err, Error::Checkpoint(CheckpointFault::Truncated { needed: 24, available: 4 }));
/// ```
pub fn inspect(bytes: &[u8]) -> Result<Header, Error> {
    if bytes.len() < HEADER_BYTES {
        return Err(fault(CheckpointFault::Truncated {
            needed: HEADER_BYTES,
            available: bytes.len(),
        }));
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        let blank = bytes[..HEADER_BYTES].iter().all(|&b| b == 0xFF);
        return Err(fault(if blank {
            CheckpointFault::Blank
        } else {
            CheckpointFault::Magic { found: magic }
        }));
    }
    let payload = word(bytes, 12) as usize;
    let end = HEADER_BYTES.saturating_add(payload);
    if bytes.len() < end {
        return Err(fault(CheckpointFault::Truncated {
            needed: end,
            available: bytes.len(),
        }));
    }
    let stored = word(bytes, 20);
    let mut crc = Crc32::new();
    crc.update(&bytes[..20]);
    crc.update(&bytes[HEADER_BYTES..end]);
    if crc.value() != stored {
        return Err(fault(CheckpointFault::Crc {
            stored,
            computed: crc.value(),
        }));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    let reserved = u16::from_le_bytes([bytes[6], bytes[7]]);
    if version != VERSION || reserved != 0 {
        return Err(fault(CheckpointFault::Version {
            found: version,
            supported: VERSION,
        }));
    }
    Ok(Header {
        version,
        sequence: word(bytes, 8),
        payload,
        fingerprint: word(bytes, 16),
        crc: stored,
    })
}

/// Loads the checkpoint at the start of `bytes` into `state`, all or nothing; returns
/// its header.
///
/// # Errors
///
/// As [`inspect`]; then [`CheckpointFault::Fingerprint`] if the checkpoint is of
/// another structure than `state`, [`CheckpointFault::Length`] if its payload length
/// differs, and what `state`'s [`Persist::load`] finds wrong. `state` is unchanged
/// on every error.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::{self, CheckpointFault, Model};
/// use microtrain::{layers::Dense, Error};
/// let mut buf = [0u8; 128];
/// checkpoint::save(&mut Model(&mut Dense::<2, 3>::zeros()), &mut buf)?;
/// let err = checkpoint::load(&mut Model(&mut Dense::<3, 2>::zeros()), &buf).unwrap_err();
/// assert!(matches!(err, Error::Checkpoint(CheckpointFault::Fingerprint { .. })));
/// # Ok::<(), Error>(())
/// ```
pub fn load<T: Persist + ?Sized>(state: &mut T, bytes: &[u8]) -> Result<Header, Error> {
    let header = inspect(bytes)?;
    let (len, fingerprint) = measure(state);
    if header.fingerprint != fingerprint {
        return Err(fault(CheckpointFault::Fingerprint {
            expected: fingerprint,
            found: header.fingerprint,
        }));
    }
    if header.payload != len {
        return Err(fault(CheckpointFault::Length {
            expected: len,
            found: header.payload,
        }));
    }
    let payload = &bytes[HEADER_BYTES..HEADER_BYTES + len];
    for pass in [Pass::Try, Pass::Apply] {
        let mut r = Reader::new(payload, pass);
        state.load(&mut r)?;
        if r.position() != len {
            return Err(fault(CheckpointFault::Length {
                expected: r.position(),
                found: len,
            }));
        }
    }
    Ok(header)
}
