//! A writer and a reader of fixed-size little-endian fields over a caller's buffer.

use super::Crc32;
use crate::error::CheckpointFault;
use crate::optim::Pass;
use crate::Error;

/// What kind of field a [`Writer`] call wrote, as it enters the fingerprint.
#[derive(Clone, Copy)]
enum Field {
    U8 = 1,
    U32 = 2,
    U64 = 3,
    F32 = 4,
    F32s = 5,
    Shape = 6,
}

/// Writes a checkpoint's payload into a caller's buffer: fixed-size little-endian
/// fields (`f32` as its IEEE bits), so that the layout depends only on the types saved,
/// never on the values.
///
/// Besides the bytes it keeps the *fingerprint*: the CRC-32 of the sequence of field
/// kinds and lengths written, and of every [`shape`](Writer::shape) mark (a tensor's
/// kind, an optimizer's identity). Two states have equal fingerprints when they
/// have the same structure. A writer over a buffer too small keeps counting, so that
/// [`len`](Writer::len) says how many bytes were needed.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::Writer;
/// let mut buf = [0u8; 8];
/// let mut w = Writer::new(&mut buf);
/// w.u32(7);
/// w.f32(1.0);
/// assert_eq!(w.len(), 8);
/// assert!(w.fits());
/// assert_eq!(buf, [7, 0, 0, 0, 0, 0, 0x80, 0x3F]);
/// ```
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    shape: Crc32,
}

impl<'a> Writer<'a> {
    /// A writer that fills `buf` from its start.
    ///
    /// # Examples
    ///
    /// See [`Writer`].
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            len: 0,
            shape: Crc32::new(),
        }
    }

    /// Bytes written so far (or that would have been, past the end of the buffer).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::checkpoint::Writer;
    /// let mut w = Writer::new(&mut []);
    /// w.u64(1);
    /// assert_eq!(w.len(), 8);
    /// assert!(!w.fits());
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(microtrain::checkpoint::Writer::new(&mut []).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether everything written so far fitted into the buffer.
    ///
    /// # Examples
    ///
    /// See [`Writer::len`].
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }

    /// The fingerprint of the fields written so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::checkpoint::Writer;
    /// let (mut a, mut b) = (Writer::new(&mut []), Writer::new(&mut []));
    /// a.f32(1.0);
    /// b.f32(2.0);
    /// assert_eq!(a.fingerprint(), b.fingerprint()); // values do not count
    /// b.shape(3);
    /// assert_ne!(a.fingerprint(), b.fingerprint());
    /// ```
    pub fn fingerprint(&self) -> u32 {
        self.shape.value()
    }

    fn mark(&mut self, field: Field, n: u32) {
        self.shape.update(&[field as u8]);
        self.shape.update(&n.to_le_bytes());
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Marks the structure with `mark` (a tensor's kind, a type's identity, a size)
    /// without writing any byte: the fingerprint covers it.
    ///
    /// # Examples
    ///
    /// See [`Writer::fingerprint`].
    pub fn shape(&mut self, mark: u32) {
        self.mark(Field::Shape, mark);
    }

    /// Writes one byte.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = [0u8; 1];
    /// microtrain::checkpoint::Writer::new(&mut buf).u8(9);
    /// assert_eq!(buf, [9]);
    /// ```
    pub fn u8(&mut self, v: u8) {
        self.mark(Field::U8, 1);
        self.put(&[v]);
    }

    /// Writes a `u32`, little-endian.
    ///
    /// # Examples
    ///
    /// See [`Writer`].
    pub fn u32(&mut self, v: u32) {
        self.mark(Field::U32, 1);
        self.put(&v.to_le_bytes());
    }

    /// Writes a `u64`, little-endian.
    ///
    /// # Examples
    ///
    /// See [`Writer::len`].
    pub fn u64(&mut self, v: u64) {
        self.mark(Field::U64, 1);
        self.put(&v.to_le_bytes());
    }

    /// Writes an `f32` as its IEEE 754 bits, little-endian (NaN payloads and the sign
    /// of zero survive).
    ///
    /// # Examples
    ///
    /// See [`Writer`].
    pub fn f32(&mut self, v: f32) {
        self.mark(Field::F32, 1);
        self.put(&v.to_bits().to_le_bytes());
    }

    /// Writes a tensor of `f32` (its length enters the fingerprint, not the bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::checkpoint::Writer;
    /// let mut w = Writer::new(&mut []);
    /// w.f32s(&[1.0, 2.0, 3.0]);
    /// assert_eq!(w.len(), 12);
    /// ```
    pub fn f32s(&mut self, values: &[f32]) {
        self.mark(Field::F32s, values.len() as u32);
        for v in values {
            self.put(&v.to_bits().to_le_bytes());
        }
    }

    /// Writes a `bool` as one byte, 0 or 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = [7u8; 1];
    /// microtrain::checkpoint::Writer::new(&mut buf).bool(true);
    /// assert_eq!(buf, [1]);
    /// ```
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// Writes an `Option<u32>` in a fixed five bytes: a `bool`, then the value (0 for
    /// `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::checkpoint::Writer;
    /// let mut w = Writer::new(&mut []);
    /// w.option_u32(None);
    /// assert_eq!(w.len(), 5);
    /// ```
    pub fn option_u32(&mut self, v: Option<u32>) {
        self.bool(v.is_some());
        self.u32(v.unwrap_or(0));
    }
}

/// Reads what a [`Writer`] wrote, field by field, into the caller's variables.
///
/// A reader either only checks ([`Pass::Try`]: every field is read and validated,
/// nothing is written) or also stores ([`Pass::Apply`]). Loading a checkpoint runs
/// both, so a checkpoint that fails half way leaves the state as it was, the
/// all-or-nothing rule of the optimizers.
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::Reader;
/// use microtrain::optim::Pass;
/// let bytes = [7, 0, 0, 0, 1];
/// let (mut n, mut flag) = (0u32, false);
/// let mut r = Reader::new(&bytes, Pass::Try);
/// r.u32(&mut n)?;
/// r.bool(&mut flag)?;
/// assert_eq!((n, flag), (0, false)); // checked, not stored
/// let mut r = Reader::new(&bytes, Pass::Apply);
/// r.u32(&mut n)?;
/// r.bool(&mut flag)?;
/// assert_eq!((n, flag), (7, true));
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    pass: Pass,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes` from their start.
    ///
    /// # Examples
    ///
    /// See [`Reader`].
    pub fn new(bytes: &'a [u8], pass: Pass) -> Self {
        Reader {
            bytes,
            pos: 0,
            pass,
        }
    }

    /// Whether this reader stores what it reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::Reader, optim::Pass};
    /// assert!(!Reader::new(&[], Pass::Try).writes());
    /// ```
    pub fn writes(&self) -> bool {
        self.pass.writes()
    }

    /// Bytes read so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::Reader, optim::Pass};
    /// let mut r = Reader::new(&[1, 2], Pass::Apply);
    /// let mut b = 0;
    /// r.u8(&mut b)?;
    /// assert_eq!((b, r.position()), (1, 1));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn position(&self) -> usize {
        self.pos
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let end = self.pos.saturating_add(N);
        let mut out = [0u8; N];
        match self.bytes.get(self.pos..end) {
            Some(src) => {
                out.copy_from_slice(src);
                self.pos = end;
                Ok(out)
            }
            None => Err(Error::Checkpoint(CheckpointFault::Truncated {
                needed: end,
                available: self.bytes.len(),
            })),
        }
    }

    fn store<T>(&self, dst: &mut T, v: T) {
        if self.writes() {
            *dst = v;
        }
    }

    /// Reads one byte.
    ///
    /// # Errors
    ///
    /// [`CheckpointFault::Truncated`] past the end of the bytes.
    ///
    /// # Examples
    ///
    /// See [`Reader::position`].
    pub fn u8(&mut self, dst: &mut u8) -> Result<(), Error> {
        let [b] = self.take::<1>()?;
        self.store(dst, b);
        Ok(())
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`].
    ///
    /// # Examples
    ///
    /// See [`Reader`].
    pub fn u32(&mut self, dst: &mut u32) -> Result<(), Error> {
        let v = u32::from_le_bytes(self.take()?);
        self.store(dst, v);
        Ok(())
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::Reader, optim::Pass};
    /// let mut v = 0u64;
    /// Reader::new(&[1, 0, 0, 0, 0, 0, 0, 1], Pass::Apply).u64(&mut v)?;
    /// assert_eq!(v, 1 | 1 << 56);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn u64(&mut self, dst: &mut u64) -> Result<(), Error> {
        let v = u64::from_le_bytes(self.take()?);
        self.store(dst, v);
        Ok(())
    }

    /// Reads an `f32` from its bits.
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::Reader, optim::Pass};
    /// let mut v = 0.0f32;
    /// Reader::new(&1.5f32.to_bits().to_le_bytes(), Pass::Apply).f32(&mut v)?;
    /// assert_eq!(v, 1.5);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn f32(&mut self, dst: &mut f32) -> Result<(), Error> {
        let v = f32::from_bits(u32::from_le_bytes(self.take()?));
        self.store(dst, v);
        Ok(())
    }

    /// Reads `dst.len()` values of `f32` into `dst`.
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`]; `dst` is untouched then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::{Reader, Writer}, optim::Pass};
    /// let mut buf = [0u8; 8];
    /// Writer::new(&mut buf).f32s(&[1.0, -2.0]);
    /// let mut v = [0.0; 2];
    /// Reader::new(&buf, Pass::Apply).f32s(&mut v)?;
    /// assert_eq!(v, [1.0, -2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn f32s(&mut self, dst: &mut [f32]) -> Result<(), Error> {
        let n = dst.len().saturating_mul(4);
        let end = self.pos.saturating_add(n);
        let Some(src) = self.bytes.get(self.pos..end) else {
            return Err(Error::Checkpoint(CheckpointFault::Truncated {
                needed: end,
                available: self.bytes.len(),
            }));
        };
        if self.writes() {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = f32::from_bits(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            }
        }
        self.pos = end;
        Ok(())
    }

    /// Reads `dst.len()` values of `f32` into `dst` if every one passes `valid`: for
    /// state whose writer never produces other values (an optimizer's moments are
    /// finite, its second moments are also at least 0), so that a crafted or stale
    /// checkpoint is refused on loading instead of on every later step.
    ///
    /// # Errors
    ///
    /// As [`Reader::f32s`]; [`CheckpointFault::Value`] naming `what` and the bits of the
    /// first value that fails `valid`. `dst` is untouched and nothing is consumed then.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::{Reader, Writer}, optim::Pass, Error};
    /// let mut buf = [0u8; 8];
    /// Writer::new(&mut buf).f32s(&[1.0, f32::NAN]);
    /// let mut v = [0.0; 2];
    /// let err = Reader::new(&buf, Pass::Apply).f32s_where(&mut v, "moment", f32::is_finite);
    /// assert!(matches!(err, Err(Error::Checkpoint(_))));
    /// assert_eq!(v, [0.0, 0.0]);
    /// ```
    pub fn f32s_where(
        &mut self,
        dst: &mut [f32],
        what: &'static str,
        valid: impl Fn(f32) -> bool,
    ) -> Result<(), Error> {
        let end = self.pos.saturating_add(dst.len().saturating_mul(4));
        if let Some(src) = self.bytes.get(self.pos..end) {
            for s in src.chunks_exact(4) {
                let bits = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                if !valid(f32::from_bits(bits)) {
                    return Err(Error::Checkpoint(CheckpointFault::Value {
                        what,
                        found: bits,
                    }));
                }
            }
        }
        self.f32s(dst)
    }

    /// Reads a `bool` written by [`Writer::bool`].
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`]; [`CheckpointFault::Value`] for a byte other than 0 or 1.
    ///
    /// # Examples
    ///
    /// See [`Reader`].
    pub fn bool(&mut self, dst: &mut bool) -> Result<(), Error> {
        let mut b = 0;
        self.tag(&mut b, "bool", |t| (t <= 1).then_some(t))?;
        self.store(dst, b == 1);
        Ok(())
    }

    /// Reads an `Option<u32>` written by [`Writer::option_u32`].
    ///
    /// # Errors
    ///
    /// As [`Reader::bool`]; [`CheckpointFault::Value`] for `None` with a value other
    /// than 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::{Reader, Writer}, optim::Pass};
    /// let mut buf = [0u8; 5];
    /// Writer::new(&mut buf).option_u32(Some(3));
    /// let mut v = None;
    /// Reader::new(&buf, Pass::Apply).option_u32(&mut v)?;
    /// assert_eq!(v, Some(3));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn option_u32(&mut self, dst: &mut Option<u32>) -> Result<(), Error> {
        let some = self.value(Reader::bool)?;
        let v = self.value(Reader::u32)?;
        if !some && v != 0 {
            // Not what a writer produces: `None` is written with a zero value.
            self.pos -= 4;
            return Err(Error::Checkpoint(CheckpointFault::Value {
                what: "empty option",
                found: v,
            }));
        }
        self.store(dst, some.then_some(v));
        Ok(())
    }

    /// Reads a field with `read` into a fresh variable and returns it, in either pass:
    /// for fields that must be checked before anything is stored.
    ///
    /// # Errors
    ///
    /// What `read` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::Reader, optim::Pass};
    /// let mut r = Reader::new(&[5, 0, 0, 0], Pass::Try);
    /// assert_eq!(r.value(Reader::u32)?, 5);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn value<T: Default>(
        &mut self,
        read: impl FnOnce(&mut Self, &mut T) -> Result<(), Error>,
    ) -> Result<T, Error> {
        let (pass, mut v) = (self.pass, T::default());
        self.pass = Pass::Apply;
        let outcome = read(self, &mut v);
        self.pass = pass;
        outcome.map(|()| v)
    }

    /// Reads one byte and decodes it with `decode` into `dst`.
    ///
    /// # Errors
    ///
    /// As [`Reader::u8`]; [`CheckpointFault::Value`] naming `what` if `decode` gives
    /// `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{checkpoint::{CheckpointFault, Reader}, optim::Pass, Error};
    /// let mut v = 'a';
    /// let decode = |b| match b { 0 => Some('x'), 1 => Some('y'), _ => None };
    /// Reader::new(&[1], Pass::Apply).tag(&mut v, "letter", decode)?;
    /// assert_eq!(v, 'y');
    /// let err = Reader::new(&[5], Pass::Apply).tag(&mut v, "letter", decode).unwrap_err();
    /// assert_eq!(err, Error::Checkpoint(CheckpointFault::Value { what: "letter", found: 5 }));
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn tag<T>(
        &mut self,
        dst: &mut T,
        what: &'static str,
        decode: impl FnOnce(u8) -> Option<T>,
    ) -> Result<(), Error> {
        let [b] = self.take::<1>()?;
        let Some(v) = decode(b) else {
            self.pos -= 1;
            return Err(Error::Checkpoint(CheckpointFault::Value {
                what,
                found: u32::from(b),
            }));
        };
        self.store(dst, v);
        Ok(())
    }
}
