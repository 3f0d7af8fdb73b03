//! Deterministic test data: SplitMix64 (Steele, Lea, Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014), seeded from a test label and the
//! case's sizes, so every failing case can be rerun on its own and gives the same data
//! on every machine.

/// A SplitMix64 generator.
///
/// # Examples
///
/// ```
/// use host_tests::Rng;
/// let mut a = Rng::for_case("doc", &[3, 4]);
/// let mut b = Rng::for_case("doc", &[3, 4]);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator for one test case: the seed is the FNV-1a hash of `label` mixed with
    /// every entry of `dims`, so that different cases get unrelated data.
    pub fn for_case(label: &str, dims: &[usize]) -> Self {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for byte in label.bytes() {
            h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
        }
        let mut rng = Rng::new(h);
        for &d in dims {
            rng.state ^= d as u64;
            rng.next_u64();
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A uniform `f32` in `[lo, hi)`, on a grid of `2⁻²⁴·(hi − lo)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32);
        lo + (hi - lo) * unit
    }

    /// `n` uniform values in `[lo, hi)`.
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// A finite value from a mix of classes that stress a kernel's arithmetic: signed
    /// zeros, subnormals, tiny normals, ordinary values in `[-1, 1)`, values from
    /// `2⁻²⁰` to `2²⁰`, large values up to `2⁵¹`, and small integers (which make exact
    /// ties and cancellations likely). Every class comes with either sign.
    ///
    /// Magnitudes stop at `2⁵¹` so that a product of two such values and a sum of a few
    /// hundred of those products stay far below `f32::MAX` (`≈ 2¹²⁸`): the kernels see
    /// the full exponent range of their inputs without the outputs overflowing.
    pub fn wild(&mut self) -> f32 {
        let r = self.next_u64();
        let sign = ((r >> 63) as u32) << 31;
        let mantissa = (r >> 8) as u32 & 0x007F_FFFF;
        let class = (r >> 40) % 7;
        let pick = (r >> 48) as u32;
        let with_exponent = |e: i32| f32::from_bits(sign | (((e + 127) as u32) << 23) | mantissa);
        match class {
            0 => f32::from_bits(sign),
            1 => f32::from_bits(sign | mantissa.max(1)),
            2 => with_exponent(-126 + (pick % 26) as i32),
            3 => f32::from_bits(sign | self.uniform(0.0, 1.0).to_bits()),
            4 => with_exponent(-20 + (pick % 41) as i32),
            5 => with_exponent(20 + (pick % 31) as i32),
            _ => (pick % 9) as f32 - 4.0,
        }
    }

    /// `n` values from [`Rng::wild`].
    pub fn wild_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.wild()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wild_values_are_finite_and_cover_every_class() {
        let mut rng = Rng::new(1);
        let xs = rng.wild_vec(10_000);
        assert!(xs.iter().all(|x| x.is_finite()));
        assert!(xs.iter().all(|x| x.abs() < 2f32.powi(52)));
        assert!(xs.iter().any(|x| x.is_subnormal()));
        assert!(xs.iter().any(|x| *x == 0.0 && x.is_sign_negative()));
        assert!(xs.iter().any(|x| x.abs() > 2f32.powi(40)));
        assert!(xs.iter().any(|x| *x < 0.0) && xs.iter().any(|x| *x > 0.0));
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = Rng::new(2);
        for _ in 0..10_000 {
            let x = rng.uniform(-3.0, 5.0);
            assert!((-3.0..5.0).contains(&x), "{x}");
        }
    }
}
