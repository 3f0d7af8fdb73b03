//! Where checkpoints live: the [`Storage`] a flash driver implements, and two
//! [`Slots`] written in turn so that a power cut during a write never loses the last
//! good checkpoint.

use super::{inspect, load, save_numbered, CheckpointFault, Header, Persist, HEADER_BYTES};
use crate::Error;

/// Byte-addressed non-volatile memory: what a flash (or EEPROM, FRAM, file) driver
/// implements for [`Slots`]. Offsets count from the start of the region the driver
/// gives to checkpoints.
///
/// Flash must be erased before it is written: [`erase`](Storage::erase) is called
/// on a whole slot (half the capacity, so make each half a whole number of erase
/// sectors) before it is written. Erased bytes read `0xFF` on most parts; [`Slots`]
/// reports an erased slot as [`CheckpointFault::Blank`]. A plain `[u8]` is a
/// storage (RAM, or a test), whose erase fills with `0xFF`.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::Storage;
/// let mut ram = [0u8; 8];
/// ram.write(2, &[1, 2])?;
/// ram.erase(0, 2)?;
/// let mut back = [0u8; 4];
/// ram.read(0, &mut back)?;
/// assert_eq!(back, [0xFF, 0xFF, 1, 2]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub trait Storage {
    /// Bytes available.
    fn capacity(&self) -> usize;

    /// Reads `buf.len()` bytes from `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the driver fails or the range is out of bounds.
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error>;

    /// Writes `data` at `offset` (into erased memory, for flash).
    ///
    /// # Errors
    ///
    /// As [`read`](Storage::read).
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error>;

    /// Erases `len` bytes from `offset`.
    ///
    /// # Errors
    ///
    /// As [`read`](Storage::read).
    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error>;
}

fn range(
    offset: usize,
    len: usize,
    capacity: usize,
    operation: &'static str,
) -> Result<core::ops::Range<usize>, Error> {
    match offset.checked_add(len) {
        Some(end) if end <= capacity => Ok(offset..end),
        _ => Err(Error::Storage { operation, offset }),
    }
}

impl Storage for [u8] {
    fn capacity(&self) -> usize {
        self.len()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let r = range(offset, buf.len(), self.len(), "read")?;
        buf.copy_from_slice(&self[r]);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        let r = range(offset, data.len(), self.len(), "write")?;
        self[r].copy_from_slice(data);
        Ok(())
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        let r = range(offset, len, self.len(), "erase")?;
        self[r].fill(0xFF);
        Ok(())
    }
}

impl<const N: usize> Storage for [u8; N] {
    fn capacity(&self) -> usize {
        N
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.as_mut_slice().read(offset, buf)
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        self.as_mut_slice().write(offset, data)
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        self.as_mut_slice().erase(offset, len)
    }
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn capacity(&self) -> usize {
        (**self).capacity()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        (**self).read(offset, buf)
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        (**self).write(offset, data)
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        (**self).erase(offset, len)
    }
}

/// One of the two halves of a [`Slots`] storage.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::Slot;
/// assert_eq!(Slot::A.other(), Slot::B);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The first half.
    A,
    /// The second half.
    B,
}

impl Slot {
    /// The other slot.
    ///
    /// # Examples
    ///
    /// See [`Slot`].
    pub const fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

/// Two checkpoint slots, the halves of a [`Storage`], written in turn (A/B, or
/// "ping-pong", writing).
///
/// [`save`](Slots::save) numbers each checkpoint one above the newest intact one and
/// writes it over the *other* slot, so the newest intact checkpoint is never erased:
/// a power cut during the erase or the write leaves a slot that fails its CRC (or is
/// blank), and [`load`](Slots::load) takes the newest slot that loads. Sequence
/// numbers compare by serial-number arithmetic, so they may wrap.
///
/// Both methods need a scratch buffer of [`bytes::<T>()`](super::bytes) bytes, the
/// size of one checkpoint.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::{self, Model, Slot, Slots};
/// use microtrain::layers::Dense;
/// type Net = Dense<2, 1>;
/// let mut flash = [0xFFu8; 2 * 64];
/// let mut scratch = [0u8; checkpoint::bytes::<Model<Net>>()];
/// let mut net = Net::zeros();
/// let mut slots = Slots::new(&mut flash);
/// net.bias.0 = [1.0];
/// assert_eq!(slots.save(&mut Model(&mut net), &mut scratch)?, Slot::A);
/// net.bias.0 = [2.0];
/// assert_eq!(slots.save(&mut Model(&mut net), &mut scratch)?, Slot::B);
///
/// let mut back = Net::zeros();
/// let (slot, header) = Slots::new(&mut flash).load(&mut Model(&mut back), &mut scratch)?;
/// assert_eq!((slot, header.sequence, back.bias.0), (Slot::B, 2, [2.0]));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct Slots<S> {
    storage: S,
    /// The newest intact checkpoint found or written by this value, once known.
    newest: Option<Option<(Slot, u32)>>,
}

/// Whether sequence number `a` comes after `b` (RFC 1982 serial arithmetic).
fn newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl<S: Storage> Slots<S> {
    /// Two slots over `storage`: A is its first half, B its second.
    ///
    /// # Examples
    ///
    /// See [`Slots`].
    pub fn new(storage: S) -> Self {
        Slots {
            storage,
            newest: None,
        }
    }

    /// The storage back.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::checkpoint::Slots;
    /// let flash = Slots::new([0u8; 4]).into_inner();
    /// assert_eq!(flash, [0; 4]);
    /// ```
    pub fn into_inner(self) -> S {
        self.storage
    }

    /// Bytes of one slot: half the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::checkpoint::Slots::new([0u8; 100]).slot_bytes(), 50);
    /// ```
    pub fn slot_bytes(&self) -> usize {
        self.storage.capacity() / 2
    }

    fn offset(&self, slot: Slot) -> usize {
        match slot {
            Slot::A => 0,
            Slot::B => self.slot_bytes(),
        }
    }

    /// Reads `slot` into `scratch` and checks it with [`inspect`]; returns the length
    /// read and the outcome.
    fn read(
        &mut self,
        slot: Slot,
        scratch: &mut [u8],
    ) -> Result<(usize, Result<Header, CheckpointFault>), Error> {
        let offset = self.offset(slot);
        let room = self.slot_bytes().min(scratch.len());
        let head = HEADER_BYTES.min(room);
        self.storage.read(offset, &mut scratch[..head])?;
        let len = if head == HEADER_BYTES {
            let payload = u32::from_le_bytes([scratch[12], scratch[13], scratch[14], scratch[15]]);
            HEADER_BYTES.saturating_add(payload as usize).min(room)
        } else {
            head
        };
        self.storage.read(offset + head, &mut scratch[head..len])?;
        let outcome = inspect(&scratch[..len]).map_err(|e| match e {
            Error::Checkpoint(f) => f,
            _ => CheckpointFault::Blank,
        });
        Ok((len, outcome))
    }

    /// The newest intact checkpoint, if any.
    fn scan(&mut self, scratch: &mut [u8]) -> Result<Option<(Slot, u32)>, Error> {
        if let Some(known) = self.newest {
            return Ok(known);
        }
        let mut newest: Option<(Slot, u32)> = None;
        for slot in [Slot::A, Slot::B] {
            if let (_, Ok(h)) = self.read(slot, scratch)? {
                if newest.is_none_or(|(_, s)| newer(h.sequence, s)) {
                    newest = Some((slot, h.sequence));
                }
            }
        }
        self.newest = Some(newest);
        Ok(newest)
    }

    /// Writes a checkpoint of `state` into the slot that does not hold the newest
    /// intact checkpoint, numbered one above it; returns the slot written.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] if the checkpoint does not fit in `scratch` or a slot;
    /// [`Error::Storage`] if the driver fails (the other slot is intact then).
    ///
    /// # Examples
    ///
    /// See [`Slots`].
    pub fn save<T: Persist + ?Sized>(
        &mut self,
        state: &mut T,
        scratch: &mut [u8],
    ) -> Result<Slot, Error> {
        let needed = super::bytes::<T>();
        if needed > self.slot_bytes() {
            return Err(Error::Length {
                what: "checkpoint slot (half the storage)",
                expected: needed,
                found: self.slot_bytes(),
            });
        }
        let newest = self.scan(scratch)?;
        let (slot, sequence) = match newest {
            Some((s, n)) => (s.other(), n.wrapping_add(1)),
            None => (Slot::A, 1),
        };
        let len = save_numbered(state, sequence, scratch)?;
        let offset = self.offset(slot);
        // From here until the write ends, `slot` holds no intact checkpoint.
        self.newest = None;
        self.storage.erase(offset, self.slot_bytes())?;
        self.storage.write(offset, &scratch[..len])?;
        self.newest = Some(Some((slot, sequence)));
        Ok(slot)
    }

    /// Loads the newest checkpoint that loads into `state` (trying the older slot if
    /// the newer one does not); returns its slot and header.
    ///
    /// # Errors
    ///
    /// [`Error::NoCheckpoint`] naming what is wrong with each slot if neither loads;
    /// [`Error::Storage`] if the driver fails. `state` is unchanged on error.
    ///
    /// # Examples
    ///
    /// See [`Slots`].
    pub fn load<T: Persist + ?Sized>(
        &mut self,
        state: &mut T,
        scratch: &mut [u8],
    ) -> Result<(Slot, Header), Error> {
        let mut faults = [CheckpointFault::Blank; 2];
        let mut order = [Slot::A, Slot::B];
        let (_, a) = self.read(Slot::A, scratch)?;
        let (_, b) = self.read(Slot::B, scratch)?;
        if let (Ok(ha), Ok(hb)) = (a, b) {
            if newer(ha.sequence, hb.sequence) {
                order = [Slot::A, Slot::B];
            } else {
                order = [Slot::B, Slot::A];
            }
        } else if b.is_ok() {
            order = [Slot::B, Slot::A];
        }
        for slot in order {
            let (len, _) = self.read(slot, scratch)?;
            match load(state, &scratch[..len]) {
                Ok(header) => {
                    self.newest = None;
                    return Ok((slot, header));
                }
                Err(Error::Checkpoint(f)) => faults[slot as usize] = f,
                Err(e) => return Err(e),
            }
        }
        Err(Error::NoCheckpoint {
            a: faults[0],
            b: faults[1],
        })
    }
}
