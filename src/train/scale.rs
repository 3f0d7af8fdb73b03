//! Feature scaling fitted on the training part of a data set and applied to every part:
//! standardisation ([`Standardize`]) and min–max scaling ([`MinMax`]).
//!
//! A scaler is a small `Copy` struct of `F` pairs of numbers. `fit` computes them from
//! a [`Dataset`] or a view of it (the training part only, so nothing about the
//! validation samples leaks into training); `apply` scales a caller's buffer in place
//! (every part: the training and validation views share the buffer, so one call scales
//! both). The struct's `Debug` output prints the numbers exactly (Rust prints the
//! shortest decimal that reads back to the same `f32`), and `new` is a `const fn`, so
//! the device can embed what the host fitted in a `const` and apply exactly that.
//!
//! `F` is the number of groups: per feature when `F` equals the sample's features,
//! per channel for channels-last images and signals when `F` is the channel count `C`
//! (value `j` of a sample belongs to group `j mod F`, and a group's statistics pool all
//! its pixels or time steps).
//!
//! Scalers are not augmentation transforms: evaluation never augments, so a scaler in
//! an augmentation pipeline would train on scaled inputs and evaluate on raw ones.
//! Scale the stored data once instead. The pixel transforms of
//! [`augment`](crate::augment) expect `f32` images in `[0, 1]`; signal transforms
//! accept any scale.

use super::Dataset;
use crate::kernels::math;
use crate::Error;

/// Standardisation per group: `x' = (x − mean) / std` (PyTorch:
/// `torchvision.transforms.Normalize(mean, std)`; scikit-learn: `StandardScaler`).
///
/// [`Standardize::fit`] follows `StandardScaler`: `mean` and the *population* standard
/// deviation `std = √(Σ(x − mean)² / n)` (not the `n − 1` sample estimate), and a group
/// whose values are all equal gets `std = 1` (its values become 0 rather than NaN).
/// The sums run in `f64` in two passes (mean first, then squared deviations), then
/// round to `f32`.
///
/// # Examples
///
/// ```
/// use microtrain::train::{Dataset, Standardize};
/// let mut x = [1.0, 10.0, 3.0, 10.0, 100.0, 0.0];              // 3 samples × 2 features
/// let y = [0u32, 1, 0];
/// let train = [0, 1];                                          // sample 2 is validation
/// let s: Standardize<2> = Standardize::fit(&Dataset::new(&x, 2, &y, 1)?.select(&train)?)?;
/// assert_eq!((s.mean(), s.std()), ([2.0, 10.0], [1.0, 1.0]));   // feature 1 is constant
/// s.apply(&mut x)?;                                            // every part, in place
/// assert_eq!(x, [-1.0, 0.0, 1.0, 0.0, 98.0, -10.0]);
/// // What the host printed, the device embeds:
/// const DEVICE: Standardize<2> = match Standardize::new([2.0, 10.0], [1.0, 1.0]) {
///     Ok(s) => s,
///     Err(_) => panic!("bad scaler"),
/// };
/// assert_eq!(DEVICE, s);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardize<const F: usize> {
    mean: [f32; F],
    std: [f32; F],
}

impl<const F: usize> Standardize<F> {
    /// The scaler with these numbers, as [`Standardize::fit`] found them.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if a mean is not finite (`"Standardize mean"`) or a standard
    /// deviation is not finite and positive (`"Standardize std"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Standardize, Error};
    /// assert_eq!(
    ///     Standardize::new([0.0], [0.0]).unwrap_err(),
    ///     Error::Setting { name: "Standardize std", value: 0.0, rule: "finite and positive" }
    /// );
    /// ```
    pub const fn new(mean: [f32; F], std: [f32; F]) -> Result<Self, Error> {
        const { assert!(F > 0, "a scaler needs at least one group") };
        let mut g = 0;
        while g < F {
            if !mean[g].is_finite() {
                return Err(Error::Setting {
                    name: "Standardize mean",
                    value: mean[g],
                    rule: "finite",
                });
            }
            if !(std[g].is_finite() && std[g] > 0.0) {
                return Err(Error::Setting {
                    name: "Standardize std",
                    value: std[g],
                    rule: "finite and positive",
                });
            }
            g += 1;
        }
        Ok(Standardize { mean, std })
    }

    /// Fits the mean and standard deviation of each group over every sample of `data`
    /// (a view fits its own samples only).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if a sample's features are not a multiple of `F`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{Dataset, Standardize};
    /// // Two 1 × 2 images with 2 channels each (channels-last), per channel:
    /// let x = [0.0, 1.0, 2.0, 1.0, 4.0, 1.0, 6.0, 1.0];
    /// let s = Standardize::<2>::fit(&Dataset::new(&x, 4, &[0u32, 0], 1)?)?;
    /// assert_eq!(s.mean(), [3.0, 1.0]);
    /// assert_eq!(s.std(), [5.0f32.sqrt(), 1.0]);            // population std; 0 ↦ 1
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn fit<T>(data: &Dataset<'_, T>) -> Result<Self, Error> {
        let count = values_per_group::<F, T>(data)?;
        let mut sum = [0.0f64; F];
        for_each_group::<F, T>(data, |g, v| sum[g] += f64::from(v));
        let mean = sum.map(|s| s / count);
        let mut squares = [0.0f64; F];
        for_each_group::<F, T>(data, |g, v| {
            let d = f64::from(v) - mean[g];
            squares[g] += d * d;
        });
        let std = squares.map(|s| {
            let std = math::sqrt((s / count) as f32);
            if std > 0.0 {
                std
            } else {
                1.0
            }
        });
        Ok(Standardize {
            mean: mean.map(|m| m as f32),
            std,
        })
    }

    /// The mean of each group.
    ///
    /// # Examples
    ///
    /// See [`Standardize`].
    pub const fn mean(&self) -> [f32; F] {
        self.mean
    }

    /// The standard deviation of each group (positive).
    ///
    /// # Examples
    ///
    /// See [`Standardize`].
    pub const fn std(&self) -> [f32; F] {
        self.std
    }

    /// `x ← (x − mean) / std` for every value of `values`, value `j` in group `j mod F`
    /// (one sample, or many one after another).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `values.len()` is not a multiple of `F` (nothing is changed).
    ///
    /// # Examples
    ///
    /// See [`Standardize`].
    pub fn apply(&self, values: &mut [f32]) -> Result<(), Error> {
        whole_groups::<F>(values.len())?;
        for group in values.chunks_exact_mut(F) {
            for ((v, m), s) in group.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        Ok(())
    }

    /// The inverse, `x ← x · std + mean`: predictions of a model trained on
    /// standardised targets back in the targets' units.
    ///
    /// # Errors
    ///
    /// As [`Standardize::apply`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Standardize;
    /// let s = Standardize::new([10.0], [2.0])?;
    /// let mut y = [14.0, 6.0];
    /// s.apply(&mut y)?;
    /// assert_eq!(y, [2.0, -2.0]);
    /// s.invert(&mut y)?;
    /// assert_eq!(y, [14.0, 6.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn invert(&self, values: &mut [f32]) -> Result<(), Error> {
        whole_groups::<F>(values.len())?;
        for group in values.chunks_exact_mut(F) {
            for ((v, m), s) in group.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
        Ok(())
    }
}

/// Min–max scaling per group onto `[0, 1]`: `x' = (x − min) / (max − min)` (scikit-learn:
/// `MinMaxScaler()` with its default `feature_range=(0, 1)`).
///
/// As in scikit-learn, a constant group (`max == min`) divides by 1 instead of 0, and
/// values outside the fitted range (of the validation part, say) map outside `[0, 1]`:
/// nothing is clipped. Minimum and maximum are exact (no rounding).
///
/// # Examples
///
/// ```
/// use microtrain::train::{Dataset, MinMax};
/// let mut x = [2.0, 5.0, 4.0, 5.0, 6.0, 5.0];                    // 3 samples × 2 features
/// let y = [0u32, 1, 1];
/// let m: MinMax<2> = MinMax::fit(&Dataset::new(&x, 2, &y, 1)?.select(&[0, 1])?)?;
/// assert_eq!((m.min(), m.max()), ([2.0, 5.0], [4.0, 5.0]));
/// m.apply(&mut x)?;
/// assert_eq!(x, [0.0, 0.0, 1.0, 0.0, 2.0, 0.0]);               // sample 2 lies beyond
/// const DEVICE: MinMax<2> = match MinMax::new([2.0, 5.0], [4.0, 5.0]) {
///     Ok(m) => m,
///     Err(_) => panic!("bad scaler"),
/// };
/// assert_eq!(DEVICE, m);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinMax<const F: usize> {
    min: [f32; F],
    max: [f32; F],
}

impl<const F: usize> MinMax<F> {
    /// The scaler with these numbers, as [`MinMax::fit`] found them.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if a bound is not finite (`"MinMax min"`, `"MinMax max"`), if
    /// `max < min`, or if `max − min` overflows to infinity (`"MinMax max"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::MinMax, Error};
    /// assert_eq!(
    ///     MinMax::new([1.0], [0.0]).unwrap_err(),
    ///     Error::Setting { name: "MinMax max", value: 0.0, rule: "finite, at least min, max − min finite" }
    /// );
    /// ```
    pub const fn new(min: [f32; F], max: [f32; F]) -> Result<Self, Error> {
        const { assert!(F > 0, "a scaler needs at least one group") };
        let mut g = 0;
        while g < F {
            if !min[g].is_finite() {
                return Err(Error::Setting {
                    name: "MinMax min",
                    value: min[g],
                    rule: "finite",
                });
            }
            if !(max[g] >= min[g] && (max[g] - min[g]).is_finite()) {
                return Err(Error::Setting {
                    name: "MinMax max",
                    value: max[g],
                    rule: "finite, at least min, max − min finite",
                });
            }
            g += 1;
        }
        Ok(MinMax { min, max })
    }

    /// Fits the minimum and maximum of each group over every sample of `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if a sample's features are not a multiple of `F`;
    /// [`Error::Setting`] as [`MinMax::new`] if a group's span overflows.
    ///
    /// # Examples
    ///
    /// See [`MinMax`].
    pub fn fit<T>(data: &Dataset<'_, T>) -> Result<Self, Error> {
        values_per_group::<F, T>(data)?;
        let (mut min, mut max) = ([f32::INFINITY; F], [f32::NEG_INFINITY; F]);
        for_each_group::<F, T>(data, |g, v| {
            min[g] = min[g].min(v);
            max[g] = max[g].max(v);
        });
        MinMax::new(min, max)
    }

    /// The minimum of each group.
    ///
    /// # Examples
    ///
    /// See [`MinMax`].
    pub const fn min(&self) -> [f32; F] {
        self.min
    }

    /// The maximum of each group.
    ///
    /// # Examples
    ///
    /// See [`MinMax`].
    pub const fn max(&self) -> [f32; F] {
        self.max
    }

    /// `x ← (x − min) / span` with `span = max − min`, or 1 where that is 0, for every
    /// value of `values`, value `j` in group `j mod F`.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `values.len()` is not a multiple of `F` (nothing is changed).
    ///
    /// # Examples
    ///
    /// See [`MinMax`].
    pub fn apply(&self, values: &mut [f32]) -> Result<(), Error> {
        whole_groups::<F>(values.len())?;
        let span = self.span();
        for group in values.chunks_exact_mut(F) {
            for ((v, lo), s) in group.iter_mut().zip(&self.min).zip(&span) {
                *v = (*v - lo) / s;
            }
        }
        Ok(())
    }

    /// The inverse, `x ← x · span + min`.
    ///
    /// # Errors
    ///
    /// As [`MinMax::apply`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::MinMax;
    /// let m = MinMax::new([-1.0], [3.0])?;
    /// let mut y = [0.5];
    /// m.invert(&mut y)?;
    /// assert_eq!(y, [1.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn invert(&self, values: &mut [f32]) -> Result<(), Error> {
        whole_groups::<F>(values.len())?;
        let span = self.span();
        for group in values.chunks_exact_mut(F) {
            for ((v, lo), s) in group.iter_mut().zip(&self.min).zip(&span) {
                *v = *v * s + lo;
            }
        }
        Ok(())
    }

    fn span(&self) -> [f32; F] {
        core::array::from_fn(|g| {
            let span = self.max[g] - self.min[g];
            if span > 0.0 {
                span
            } else {
                1.0
            }
        })
    }
}

/// `Ok` if `len` is a whole number of groups of `F`.
fn whole_groups<const F: usize>(len: usize) -> Result<(), Error> {
    if len.is_multiple_of(F) {
        Ok(())
    } else {
        Err(Error::Shape {
            what: "values to scale (a multiple of the scaler's groups F)",
            expected: F,
            found: len,
        })
    }
}

/// The number of values of each group in `data`, as `f64`.
fn values_per_group<const F: usize, T>(data: &Dataset<'_, T>) -> Result<f64, Error> {
    if !data.features().is_multiple_of(F) {
        return Err(Error::Shape {
            what: "features per sample (a multiple of the scaler's groups F)",
            expected: F,
            found: data.features(),
        });
    }
    Ok((data.len() * (data.features() / F)) as f64)
}

/// Calls `f(group, value)` for every value of every sample of `data`, in order.
fn for_each_group<const F: usize, T>(data: &Dataset<'_, T>, mut f: impl FnMut(usize, f32)) {
    for i in 0..data.len() {
        for group in data.input(i).chunks_exact(F) {
            for (g, &v) in group.iter().enumerate() {
                f(g, v);
            }
        }
    }
}
