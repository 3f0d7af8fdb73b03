//! CRC-32 (IEEE 802.3), table-driven.

/// The CRC-32 lookup table of the reflected polynomial `0xEDB88320`, built at compile
/// time (1 KiB of read-only data).
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// A running CRC-32 (IEEE 802.3: reflected polynomial `0x04C11DB7`, initial value and
/// final XOR `0xFFFFFFFF`; the CRC of zlib, PNG and Ethernet, Python's `zlib.crc32`).
///
/// # Examples
///
/// ```
/// use microtrain::checkpoint::Crc32;
/// let mut crc = Crc32::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.value(), 0xCBF4_3926);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32(u32);

impl Crc32 {
    /// The CRC of no bytes so far.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(microtrain::checkpoint::Crc32::new().value(), 0);
    /// ```
    pub const fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }

    /// Feeds `bytes`.
    ///
    /// # Examples
    ///
    /// See [`Crc32`].
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = TABLE[((self.0 ^ u32::from(b)) & 0xFF) as usize] ^ (self.0 >> 8);
        }
    }

    /// The CRC of everything fed so far.
    ///
    /// # Examples
    ///
    /// See [`Crc32`].
    pub const fn value(&self) -> u32 {
        !self.0
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

/// The CRC-32 of `bytes` (zlib's `crc32(0, bytes)`).
///
/// # Examples
///
/// ```
/// assert_eq!(microtrain::checkpoint::crc32(b"123456789"), 0xCBF4_3926);
/// assert_eq!(microtrain::checkpoint::crc32(b""), 0);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.value()
}
