//! `math::pow_complement` (Adam's, RAdam's and NAdam's bias corrections `1 − βᵗ`)
//! gives the same bits as its first implementation, kept below as the reference: the
//! double-`f32` loop over every bit of `n` with Dekker's products and no shortcut.
//! The current one starts after the top bit, stops once the result cannot change, and
//! takes the products' rounding errors from a fused multiply-add where the CPU has one;
//! each must change no bit. Every dispatch level runs (`Baseline`: Dekker's products
//! on any CPU; above it, FMA's where the CPU has it).

use microtrain::kernels::dispatch::{set_limit, Level};
use microtrain::kernels::math::{pow_complement, pow_complements};
use std::sync::Mutex;

/// Held by each test while it sets the dispatch level (a setting of the whole process).
static LEVEL: Mutex<()> = Mutex::new(());

/// The first implementation, verbatim but for names.
mod reference {
    pub fn pow_complement(x: f32, n: u32) -> (f32, f32) {
        let (mut power, mut sum) = (Pair::ONE, Pair::ZERO);
        for bit in (0..u32::BITS - n.leading_zeros()).rev() {
            sum = sum.mul(power.add_one());
            power = power.mul(power);
            if (n >> bit) & 1 == 1 {
                sum = sum.scale(x).add_one();
                power = power.scale(x);
            }
        }
        (power.value(), (1.0 - x) * sum.value())
    }

    #[derive(Clone, Copy)]
    struct Pair {
        hi: f32,
        lo: f32,
    }

    impl Pair {
        const ZERO: Pair = Pair { hi: 0.0, lo: 0.0 };
        const ONE: Pair = Pair { hi: 1.0, lo: 0.0 };

        fn quick_sum(a: f32, b: f32) -> Pair {
            let hi = a + b;
            Pair {
                hi,
                lo: b - (hi - a),
            }
        }

        fn product(a: f32, b: f32) -> Pair {
            let split = |v: f32| {
                let c = 4097.0 * v;
                let high = c - (c - v);
                (high, v - high)
            };
            let ((ah, al), (bh, bl)) = (split(a), split(b));
            let hi = a * b;
            Pair {
                hi,
                lo: ((ah * bh - hi) + ah * bl + al * bh) + al * bl,
            }
        }

        fn mul(self, other: Pair) -> Pair {
            let p = Pair::product(self.hi, other.hi);
            Pair::quick_sum(p.hi, p.lo + (self.hi * other.lo + self.lo * other.hi))
        }

        fn scale(self, x: f32) -> Pair {
            let p = Pair::product(self.hi, x);
            Pair::quick_sum(p.hi, p.lo + self.lo * x)
        }

        fn add_one(self) -> Pair {
            let s = 1.0 + self.hi;
            let b = s - 1.0;
            let e = (1.0 - (s - b)) + (self.hi - b);
            Pair::quick_sum(s, e + self.lo)
        }

        fn value(self) -> f32 {
            self.hi + self.lo
        }
    }
}

/// Compares both halves of `got` (by default, [`pow_complement`]'s) with the
/// reference's, bit for bit (NaN included), at `x`, `n`.
fn check(x: f32, n: u32, got: (f32, f32), level: Level) {
    let (p, c) = got;
    let (rp, rc) = reference::pow_complement(x, n);
    assert!(
        p.to_bits() == rp.to_bits() && c.to_bits() == rc.to_bits(),
        "pow_complement({x:e} = {:#010x}, {n}) at {level:?}: ({p:e}, {c:e}), reference ({rp:e}, {rc:e})",
        x.to_bits()
    );
}

/// [`check`] of [`pow_complement`] alone, and of [`pow_complements`] with `x` in either
/// place beside another rate.
fn check_all(x: f32, n: u32, level: Level) {
    check(x, n, pow_complement(x, n), level);
    let [a, _] = pow_complements([x, 0.999], n);
    check(x, n, a, level);
    let [_, b, _] = pow_complements([f32::NAN, x, 0.5], n);
    check(x, n, b, level);
}

/// SplitMix64: the inputs of the sampled cases.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A step count: small, around a power of two, or anywhere up to `u32::MAX`.
fn sampled_n(state: &mut u64) -> u32 {
    let r = next(state);
    match r % 4 {
        0 => (r >> 32) as u32,
        1 => (r >> 40) as u32 % 5_000_000,
        2 => {
            let bit = (r >> 8) % 32;
            (1u32 << bit)
                .wrapping_add(((r >> 16) % 5) as u32)
                .wrapping_sub(2)
        }
        _ => u32::MAX - (r >> 40) as u32 % 1000,
    }
}

/// Every step count up to 10⁶ for PyTorch's and the usual decay rates, in pairs (as
/// Adam asks for its two corrections), with Dekker's products and with the widest
/// level's (FMA's where the CPU has it), one pair per thread.
#[test]
fn every_step_up_to_a_million_for_the_usual_betas() {
    let _level = LEVEL.lock().unwrap_or_else(|e| e.into_inner());
    for level in [Level::Baseline, Level::Avx512] {
        set_limit(level);
        std::thread::scope(|s| {
            for [x, y] in [[0.9f32, 0.999], [0.5, 0.9999], [0.95, 0.99]] {
                s.spawn(move || {
                    for n in 0..=1_000_000 {
                        let [a, b] = pow_complements([x, y], n);
                        check(x, n, a, level);
                        check(y, n, b, level);
                    }
                });
            }
        });
    }
    set_limit(Level::Avx512);
}

/// Random rates in `[0.5, 1)` and step counts up to `u32::MAX`, then inputs far from
/// any optimizer's: rates outside `[0, 1)`, zeros of both signs, tiny, huge and
/// subnormal values, infinities and NaN, random bit patterns.
#[test]
fn sampled_betas_and_steps_and_unusual_inputs() {
    let _level = LEVEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = 0x5eed_u64;
    let odd = [
        0.0f32,
        -0.0,
        1.0,
        2.0,
        -0.5,
        -1.0,
        1.5,
        0.25,
        1e-3,
        1e-20,
        1e-30,
        1e30,
        3e38,
        f32::MIN_POSITIVE,
        1e-40,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0 - f32::EPSILON / 2.0,
        1.0 + f32::EPSILON,
    ];
    for level in [Level::Baseline, Level::Avx2, Level::Avx512] {
        set_limit(level);
        for _ in 0..300 {
            let x = 0.5 + (next(&mut state) >> 40) as f32 / (1u64 << 25) as f32;
            for n in 0..300 {
                check_all(x, n, level);
            }
            for _ in 0..300 {
                check_all(x, sampled_n(&mut state), level);
            }
        }
        for x in odd {
            for n in (0..300).chain([u32::MAX, u32::MAX - 1, 1 << 31, 1_000_003]) {
                check_all(x, n, level);
            }
        }
        for _ in 0..20_000 {
            let x = f32::from_bits(next(&mut state) as u32);
            check_all(x, sampled_n(&mut state), level);
            check_all(x, (next(&mut state) % 64) as u32, level);
        }
    }
    set_limit(Level::Avx512);
}
