//! An allocation-free random permutation of `0..n`, fresh for each epoch.

use rand_core::Rng;

/// A keyed bijection of `0..n` that needs no memory proportional to `n`.
///
/// It is an eight-round balanced Feistel network on the smallest even number of bits
/// `2h` with `2^(2h) ≥ n`, made a permutation of `0..n` by cycle walking: an index is
/// encrypted again until it falls below `n` (fewer than four rounds of walking on
/// average, since `2^(2h) < 4n`). Each epoch draws eight new round keys. Four rounds
/// were measurably non-uniform for small `n` (χ² = 670 over 16 degrees of freedom for
/// the positions of 5 items in 20 000 shuffles); eight pass the same test.
///
/// # Examples
///
/// ```
/// use microtrain::train::Permutation;
/// use rand_core::SeedableRng;
/// let p = Permutation::new(10, &mut rand_pcg::Pcg32::seed_from_u64(5));
/// let mut seen = [false; 10];
/// for i in 0..10 {
///     seen[p.get(i)] = true;
/// }
/// assert!(seen.iter().all(|&s| s));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 8],
}

impl Permutation {
    /// A random permutation of `0..n` keyed from `rng`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Permutation;
    /// use rand_core::SeedableRng;
    /// let p = Permutation::new(1, &mut rand_pcg::Pcg32::seed_from_u64(0));
    /// assert_eq!(p.get(0), 0);
    /// ```
    pub fn new<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Self {
        let n = n as u64;
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let keys = core::array::from_fn(|_| rng.next_u64());
        Permutation { n, half_bits, keys }
    }

    /// The identity permutation (no shuffling), for evaluation order.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Permutation;
    /// assert_eq!(Permutation::identity(5).get(3), 3);
    /// ```
    pub fn identity(n: usize) -> Self {
        Permutation {
            n: n as u64,
            half_bits: 0,
            keys: [0; 8],
        }
    }

    /// The image of `i`; `i` must be below `n` (larger `i` are returned unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Permutation;
    /// use rand_core::SeedableRng;
    /// let p = Permutation::new(1000, &mut rand_pcg::Pcg32::seed_from_u64(9));
    /// assert!(p.get(999) < 1000);
    /// ```
    pub fn get(&self, i: usize) -> usize {
        let i = i as u64;
        if self.half_bits == 0 || i >= self.n {
            return i as usize;
        }
        let mut x = self.encrypt(i);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x as usize
    }

    fn encrypt(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let f = mix(right ^ key) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixing function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
