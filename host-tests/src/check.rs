//! Assertions that explain themselves: on failure they print both values, the
//! absolute and relative difference, the distance in `f32` ulps, the bound and where
//! the failure happened.

use std::fmt;

/// Whether `|actual − expected| ≤ bound`; false for a NaN or infinite `actual` unless
/// `expected` is the same infinity.
#[inline]
pub fn within(actual: f32, expected: f64, bound: f64) -> bool {
    let a = f64::from(actual);
    a == expected || (a - expected).abs() <= bound
}

/// The spacing of `f32` numbers at `|x|` (one ulp), as an `f64`.
pub fn f32_ulp(x: f64) -> f64 {
    let x = (x.abs() as f32).min(f32::MAX);
    let next = f32::from_bits(x.to_bits() + 1);
    f64::from(next) - f64::from(x)
}

/// Panics with the full description of a failed [`assert_close!`](crate::assert_close).
#[cold]
#[inline(never)]
#[track_caller]
pub fn close_failure(actual: f32, expected: f64, bound: f64, context: fmt::Arguments<'_>) -> ! {
    let diff = (f64::from(actual) - expected).abs();
    let relative = if expected == 0.0 {
        f64::INFINITY
    } else {
        diff / expected.abs()
    };
    panic!(
        "values differ by more than the error bound at {context}\n\
         \x20 actual   = {actual:e} (bits {bits:#010x})\n\
         \x20 expected = {expected:e}\n\
         \x20 |diff|   = {diff:e}, relative {relative:e}, {ulps:.2} ulp of expected\n\
         \x20 bound    = {bound:e} (|diff| / bound = {ratio:.3})",
        bits = actual.to_bits(),
        ulps = diff / f32_ulp(expected),
        ratio = diff / bound,
    )
}

/// Asserts `|actual − expected| ≤ bound` for an `f32` result and an `f64` reference;
/// the remaining arguments are a `format!` description of where (including the index),
/// evaluated only on failure.
///
/// # Examples
///
/// ```
/// use host_tests::assert_close;
/// let i = 3;
/// assert_close!(0.1f32 + 0.2f32, 0.3, 1e-7, "sum at index {i}");
/// ```
///
/// ```should_panic
/// use host_tests::assert_close;
/// assert_close!(1.0f32, 1.5, 0.1, "index {}", 0);
/// ```
#[macro_export]
macro_rules! assert_close {
    ($actual:expr, $expected:expr, $bound:expr, $($context:tt)+) => {{
        let actual: f32 = $actual;
        let expected: f64 = $expected;
        let bound: f64 = $bound;
        if !$crate::check::within(actual, expected, bound) {
            $crate::check::close_failure(actual, expected, bound, format_args!($($context)+));
        }
    }};
}

/// Asserts element `i` of `actual` is within `bounds[i]` of `expected[i]` for every
/// `i`; on failure reports the first failing index, how many failed, and the worst.
///
/// # Examples
///
/// ```
/// host_tests::check::assert_all_close(&[1.0, 2.0], &[1.0, 2.0], &[0.0, 0.0], "doc");
/// ```
#[track_caller]
pub fn assert_all_close(
    actual: &[f32],
    expected: &[f64],
    bounds: &[f64],
    context: impl fmt::Display,
) {
    assert_eq!(actual.len(), expected.len(), "{context}: length");
    assert_eq!(actual.len(), bounds.len(), "{context}: length");
    let failing = |i: &usize| !within(actual[*i], expected[*i], bounds[*i]);
    let Some(first) = (0..actual.len()).find(failing) else {
        return;
    };
    let count = (0..actual.len()).filter(failing).count();
    let worst = (0..actual.len())
        .filter(failing)
        .max_by(|&i, &j| {
            let r = |k: usize| (f64::from(actual[k]) - expected[k]).abs() / bounds[k];
            r(i).total_cmp(&r(j))
        })
        .unwrap_or(first);
    close_failure(
        actual[first],
        expected[first],
        bounds[first],
        format_args!(
            "{context}, index {first} ({count} of {} elements fail; worst at index {worst}: \
             {:e} vs {:e}, bound {:e})",
            actual.len(),
            actual[worst],
            expected[worst],
            bounds[worst],
        ),
    );
}

/// Asserts two `f32` slices are identical bit for bit (so `+0.0 ≠ −0.0`): a SIMD path
/// against the scalar one, a fused layer against its parts, a resumed run against an
/// unbroken one. On failure reports the first differing index with both values and bit
/// patterns, and how many differ.
///
/// # Examples
///
/// ```
/// host_tests::check::assert_bits_eq(&[1.0, -0.0], &[1.0, -0.0], "doc");
/// ```
///
/// ```should_panic
/// host_tests::check::assert_bits_eq(&[0.0], &[-0.0], "doc");
/// ```
#[track_caller]
pub fn assert_bits_eq(left: &[f32], right: &[f32], context: impl fmt::Display) {
    assert_eq!(left.len(), right.len(), "{context}: length");
    let differs = |i: &usize| left[*i].to_bits() != right[*i].to_bits();
    if let Some(i) = (0..left.len()).find(differs) {
        let count = (0..left.len()).filter(differs).count();
        panic!(
            "bits differ at {context}, index {i} ({count} of {} elements differ)\n\
             \x20 left  = {:e} (bits {:#010x})\n\
             \x20 right = {:e} (bits {:#010x})",
            left.len(),
            left[i],
            left[i].to_bits(),
            right[i],
            right[i].to_bits(),
        );
    }
}

/// [`assert_bits_eq`] where a NaN matches any NaN, whatever its sign and payload; every
/// other value must match bit for bit (`+0` is not `−0`). For results that arithmetic
/// makes NaN (`∞ − ∞`, a sum with a NaN term): Rust leaves the sign and payload of such
/// a NaN unspecified (RFC 3514), and an optimised build may swap an addition's operands,
/// which on x86 decides which of two NaN operands comes out. A NaN that a kernel selects
/// rather than computes (a maximum, a copy) keeps its bits: compare those with
/// [`assert_bits_eq`].
///
/// # Examples
///
/// ```
/// let nan = f32::from_bits(0xffc0_0000);
/// host_tests::check::assert_bits_eq_any_nan(&[f32::NAN, 1.0], &[nan, 1.0], "doc");
/// ```
///
/// ```should_panic
/// host_tests::check::assert_bits_eq_any_nan(&[0.0], &[-0.0], "doc");
/// ```
#[track_caller]
pub fn assert_bits_eq_any_nan(left: &[f32], right: &[f32], context: impl fmt::Display) {
    let canonical = |v: &[f32]| -> Vec<f32> {
        v.iter()
            .map(|&x| if x.is_nan() { f32::NAN } else { x })
            .collect()
    };
    assert_bits_eq(&canonical(left), &canonical(right), context);
}

/// [`assert_bits_eq`] in an unoptimised build, [`assert_bits_eq_any_nan`] in an
/// optimised one. Unoptimised, each NaN is the one the code's operand order selects or
/// makes, which catches swapped operands by a NaN's sign; optimised, Rust leaves the
/// sign and payload of a NaN made by arithmetic unspecified (RFC 3514) and LLVM may
/// commute an addition, so there a NaN need only meet a NaN.
///
/// # Examples
///
/// ```
/// host_tests::check::assert_bits_eq_debug(&[f32::NAN, -0.0], &[f32::NAN, -0.0], "doc");
/// ```
#[track_caller]
pub fn assert_bits_eq_debug(left: &[f32], right: &[f32], context: impl fmt::Display) {
    if cfg!(debug_assertions) {
        assert_bits_eq(left, right, context);
    } else {
        assert_bits_eq_any_nan(left, right, context);
    }
}

/// Asserts that `result` is `Error::Length` naming something and carrying these
/// counts (what the output or first operand demands, and what was found).
#[track_caller]
pub fn assert_length_error<T: fmt::Debug>(
    result: Result<T, microtrain::Error>,
    expected: usize,
    found: usize,
) {
    match result {
        Err(microtrain::Error::Length {
            what,
            expected: e,
            found: f,
        }) => {
            assert!(!what.is_empty());
            assert_eq!((e, f), (expected, found), "{what}");
        }
        other => panic!(
            "expected Error::Length {{ expected: {expected}, found: {found} }}, got {other:?}"
        ),
    }
}

/// Asserts that `result` is an [`Error::Shape`](microtrain::Error::Shape) with the
/// given sizes (what one operand demands, and what was found) and a description.
#[track_caller]
pub fn assert_shape_error<T: fmt::Debug>(
    result: Result<T, microtrain::Error>,
    expected: usize,
    found: usize,
) {
    match result {
        Err(microtrain::Error::Shape {
            what,
            expected: e,
            found: f,
        }) => {
            assert!(!what.is_empty());
            assert_eq!((e, f), (expected, found), "{what}");
        }
        other => panic!(
            "expected Error::Shape {{ expected: {expected}, found: {found} }}, got {other:?}"
        ),
    }
}
