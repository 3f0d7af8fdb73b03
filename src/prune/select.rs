//! Choosing the weights to prune: the `k` smallest magnitudes among the kept weights of
//! a scope, without allocation.
//!
//! For non-negative floats the IEEE 754 bit pattern, read as an unsigned integer, is
//! ordered like the value, so the threshold is the smallest pattern `t` with
//! `#{|w| ≤ t} ≥ k`, found by bisection over `0 ..= f32::MAX.to_bits()` (31 counting
//! passes). Everything below `t` goes, and of the weights equal to `t`, the first
//! `k − #{|w| < t}` in flat order: exactly `k` in all.

use super::Mask;
use crate::layers::{Param, ParamKind, Params};

/// The bit pattern of `|v|`, ordered like `|v|` (`−0` and `+0` are both 0).
fn magnitude(v: f32) -> u32 {
    v.to_bits() & 0x7FFF_FFFF
}

/// `⌊p·n + ½⌋`, the number of `n` weights that a fraction `p ∈ [0, 1]` prunes.
fn how_many(fraction: f32, n: usize) -> usize {
    // `as` truncates towards zero, which is the floor of a non-negative value.
    ((f64::from(fraction) * n as f64 + 0.5) as usize).min(n)
}

/// The smallest bit pattern `t` with `at_most(t) ≥ k`, for `1 ≤ k ≤ at_most(f32::MAX)`
/// and a non-decreasing `at_most`.
fn threshold(k: usize, mut at_most: impl FnMut(u32) -> usize) -> u32 {
    let (mut lo, mut hi) = (0, f32::MAX.to_bits());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if at_most(mid) >= k {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The number of kept entries of `values` (the tensor at flat `offset`) whose
/// magnitude pattern is at most `t`.
fn count_at_most<const W: usize>(mask: &Mask<W>, offset: usize, values: &[f32], t: u32) -> usize {
    values
        .iter()
        .enumerate()
        .filter(|&(i, &v)| mask.is_kept(offset + i) && magnitude(v) <= t)
        .count()
}

/// Prunes the kept entries of `values` below `t`, and those equal to `t` while `ties`
/// lasts (counting it down); returns how many went.
fn cut<const W: usize>(
    mask: &mut Mask<W>,
    offset: usize,
    values: &mut [f32],
    t: u32,
    ties: &mut usize,
) -> usize {
    let mut pruned = 0;
    for (i, v) in values.iter_mut().enumerate() {
        if !mask.is_kept(offset + i) {
            continue;
        }
        let m = magnitude(*v);
        let tie = m == t && *ties > 0;
        if m < t || tie {
            if tie {
                *ties -= 1;
            }
            mask.clear(offset + i);
            *v = 0.0;
            pruned += 1;
        }
    }
    pruned
}

/// The number below `t` (for the tie count): `at_most(t − 1)`, or 0 for `t = 0`.
fn below(t: u32, mut at_most: impl FnMut(u32) -> usize) -> usize {
    t.checked_sub(1).map_or(0, &mut at_most)
}

/// [`Scope::PerLayer`](super::Scope::PerLayer): each weight tensor separately.
pub(super) fn prune_per_tensor<const W: usize, M: Params>(
    mask: &mut Mask<W>,
    model: &mut M,
    fraction: f32,
) -> usize {
    let (mut pruned, mut offset) = (0, 0);
    model.visit(&mut |p: Param<'_>| {
        let len = p.value.len();
        if p.kind == ParamKind::Weight {
            let n = (offset..offset + len).filter(|&i| mask.is_kept(i)).count();
            let k = how_many(fraction, n);
            if k > 0 {
                let at_most = |t| count_at_most(mask, offset, p.value, t);
                let t = threshold(k, at_most);
                let mut ties = k - below(t, at_most);
                pruned += cut(mask, offset, p.value, t, &mut ties);
            }
        }
        offset += len;
    });
    pruned
}

/// [`Scope::Global`](super::Scope::Global): one threshold over every weight tensor.
pub(super) fn prune_global<const W: usize, M: Params>(
    mask: &mut Mask<W>,
    model: &mut M,
    fraction: f32,
) -> usize {
    let mut at_most = |mask: &Mask<W>, t: u32| {
        let (mut count, mut offset) = (0, 0);
        model.visit(&mut |p: Param<'_>| {
            if p.kind == ParamKind::Weight {
                count += count_at_most(mask, offset, p.value, t);
            }
            offset += p.value.len();
        });
        count
    };
    let n = at_most(mask, u32::MAX);
    let k = how_many(fraction, n);
    if k == 0 {
        return 0;
    }
    let t = threshold(k, |t| at_most(mask, t));
    let mut ties = k - below(t, |t| at_most(mask, t));
    let (mut pruned, mut offset) = (0, 0);
    model.visit(&mut |p: Param<'_>| {
        let len = p.value.len();
        if p.kind == ParamKind::Weight {
            pruned += cut(mask, offset, p.value, t, &mut ties);
        }
        offset += len;
    });
    pruned
}
