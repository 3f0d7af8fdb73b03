//! A simulated NOR flash for the checkpoint tests: erasing sets bytes to `0xFF`,
//! programming can only clear bits (`byte &= data`), and every byte erased or
//! programmed spends one unit of an optional power budget. When the budget runs out the
//! operation stops at that byte and fails: a power cut at that byte offset.

use microtrain::checkpoint::Storage;
use microtrain::Error;

/// Flash memory with a power budget.
///
/// # Examples
///
/// ```
/// use host_tests::flash::Flash;
/// use microtrain::checkpoint::Storage;
/// let mut f = Flash::new(4);
/// f.cut_after(Some(3));
/// assert!(f.erase(0, 4).is_err());      // the power fails after three bytes
/// assert_eq!(f.bytes, [0xFF, 0xFF, 0xFF, 0x00]);
/// ```
#[derive(Clone, Debug)]
pub struct Flash {
    /// The memory.
    pub bytes: Vec<u8>,
    budget: Option<usize>,
    /// Bytes erased or programmed so far.
    pub spent: usize,
}

impl Flash {
    /// `len` bytes of zeros (neither erased nor written: what a new part may hold).
    pub fn new(len: usize) -> Self {
        Flash {
            bytes: vec![0; len],
            budget: None,
            spent: 0,
        }
    }

    /// Cuts the power after `budget` more bytes are erased or programmed (`None`: never).
    pub fn cut_after(&mut self, budget: Option<usize>) {
        self.budget = budget;
        self.spent = 0;
    }

    /// Spends one byte of budget; `false` once the power is gone.
    fn spend(&mut self) -> bool {
        if self.budget.is_some_and(|b| self.spent >= b) {
            return false;
        }
        self.spent += 1;
        true
    }

    fn check(&self, offset: usize, len: usize, operation: &'static str) -> Result<(), Error> {
        if offset
            .checked_add(len)
            .is_some_and(|end| end <= self.bytes.len())
        {
            Ok(())
        } else {
            Err(Error::Storage { operation, offset })
        }
    }
}

impl Storage for Flash {
    fn capacity(&self) -> usize {
        self.bytes.len()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.check(offset, buf.len(), "read")?;
        buf.copy_from_slice(&self.bytes[offset..offset + buf.len()]);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        self.check(offset, data.len(), "write")?;
        for (i, &d) in data.iter().enumerate() {
            if !self.spend() {
                return Err(Error::Storage {
                    operation: "write",
                    offset: offset + i,
                });
            }
            self.bytes[offset + i] &= d;
        }
        Ok(())
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        self.check(offset, len, "erase")?;
        for i in offset..offset + len {
            if !self.spend() {
                return Err(Error::Storage {
                    operation: "erase",
                    offset: i,
                });
            }
            self.bytes[i] = 0xFF;
        }
        Ok(())
    }
}
