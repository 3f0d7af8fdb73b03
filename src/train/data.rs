//! Datasets as caller-owned slices, checked once before they are used.

use crate::kernels::vector::same_len;
use crate::Error;

/// `n` samples: `inputs` holds `n · features` values (sample after sample), `targets`
/// holds `n · targets_per_sample` values of type `T` (`f32` targets or `u32` labels).
///
/// # Examples
///
/// ```
/// use microtrain::train::Dataset;
/// let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// let y = [0u32, 1, 1, 0];
/// let data = Dataset::new(&x, 2, &y, 1)?;
/// assert_eq!(data.len(), 4);
/// assert_eq!(data.input(3), &[1.0, 1.0]);
/// assert!(Dataset::new(&x[..7], 2, &y, 1).is_err());
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dataset<'a, T> {
    inputs: &'a [f32],
    targets: &'a [T],
    features: usize,
    per_sample: usize,
    len: usize,
}

impl<'a, T> Dataset<'a, T> {
    /// Checks the slices and wraps them.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if there are no samples (or `features` is zero);
    /// [`Error::Length`] if `inputs` does not divide into samples of `features` values
    /// or `targets` does not hold `targets_per_sample` values for each of them;
    /// [`Error::NonFinite`] if an input is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{train::Dataset, Error};
    /// let err = Dataset::new(&[1.0, f32::NAN], 1, &[0.0, 0.0], 1).unwrap_err();
    /// assert_eq!(err, Error::NonFinite { what: "inputs", index: 1 });
    /// ```
    pub fn new(
        inputs: &'a [f32],
        features: usize,
        targets: &'a [T],
        targets_per_sample: usize,
    ) -> Result<Self, Error> {
        if inputs.is_empty() || features == 0 {
            return Err(Error::Empty { what: "inputs" });
        }
        let len = inputs.len() / features;
        same_len(
            "inputs (a whole number of samples)",
            len * features,
            inputs.len(),
        )?;
        same_len("targets", len * targets_per_sample, targets.len())?;
        if let Some(index) = inputs.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "inputs",
                index,
            });
        }
        Ok(Dataset {
            inputs,
            targets,
            features,
            per_sample: targets_per_sample,
            len,
        })
    }

    /// Number of samples.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.len(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a dataset has at least one sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert!(!Dataset::new(&[1.0], 1, &[0u32], 1)?.is_empty());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The input features of sample `i` (panics if `i >= len`, like slice indexing).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.input(1), &[2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn input(&self, i: usize) -> &'a [f32] {
        &self.inputs[i * self.features..(i + 1) * self.features]
    }

    /// The targets of sample `i` (panics if `i >= len`, like slice indexing).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.target(1), &[1]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn target(&self, i: usize) -> &'a [T] {
        &self.targets[i * self.per_sample..(i + 1) * self.per_sample]
    }

    /// Features per sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 2, &[0u32], 1)?.features(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn features(&self) -> usize {
        self.features
    }

    /// Target values per sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 2, &[0.0f32, 1.0], 2)?.targets_per_sample(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn targets_per_sample(&self) -> usize {
        self.per_sample
    }
}
