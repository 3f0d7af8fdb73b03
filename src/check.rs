//! Const-friendly checks of settings, shared by every configuration (optimizers,
//! schedules, clipping, dropout, penalties, initialisation): each returns the value or
//! [`Error::Setting`] naming the setting, the value and the rule, so a constructor can
//! run them in a `const` or `static` initialiser.

use crate::Error;

/// `?` for `const fn`: the `Ok` value, or returns the error.
macro_rules! ok {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return Err(e),
        }
    };
}
pub(crate) use ok;

/// `Err(Error::Setting { name, value, rule })`.
pub(crate) const fn refuse<T>(
    name: &'static str,
    value: f32,
    rule: &'static str,
) -> Result<T, Error> {
    Err(Error::Setting { name, value, rule })
}

/// `value` if it is finite and at least 0 (a rate, a decay, a penalty).
pub(crate) const fn non_negative(name: &'static str, value: f32) -> Result<f32, Error> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        refuse(name, value, "finite and at least 0")
    }
}

/// `value` if it is finite and above 0 (a divisor, a scale).
pub(crate) const fn positive(name: &'static str, value: f32) -> Result<f32, Error> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        refuse(name, value, "finite and above 0")
    }
}

/// `value` if it lies in `[0, 1)` (a decay rate β, a momentum).
pub(crate) const fn fraction(name: &'static str, value: f32) -> Result<f32, Error> {
    if value >= 0.0 && value < 1.0 {
        Ok(value)
    } else {
        refuse(name, value, "in [0, 1)")
    }
}

/// `value` if it lies in `(0, 1]` (a multiplicative factor that must not grow).
pub(crate) const fn factor(name: &'static str, value: f32) -> Result<f32, Error> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        refuse(name, value, "in (0, 1]")
    }
}

/// Checks that `p` is a probability: `Ok(p)` if it is in `[0, 1]`.
///
/// # Errors
///
/// [`Error::Setting`] naming `name` otherwise (NaN included).
///
/// # Examples
///
/// ```
/// use microtrain::augment::probability;
/// assert_eq!(probability("p", 0.25), Ok(0.25));
/// assert!(probability("p", f32::NAN).is_err());
/// ```
pub const fn probability(name: &'static str, p: f32) -> Result<f32, Error> {
    if p >= 0.0 && p <= 1.0 {
        Ok(p)
    } else {
        refuse(name, p, "in [0, 1]")
    }
}
