//! Datasets as caller-owned slices, checked once before they are used, and views that
//! select some of their samples through a caller-owned index slice (a train/validation
//! split, the folds of k-fold cross-validation, a shuffled subset) without copying.

use crate::kernels::vector::same_len;
use crate::Error;
use core::ops::Range;

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
///
/// A view ([`Dataset::select`], [`Dataset::fold`]) is a `Dataset` too: the trainer,
/// [`Trainer::evaluate`](crate::train::Trainer::evaluate) and
/// [`Trainer::check`](crate::train::Trainer::check) see only its samples, in its order.
#[derive(Clone, Copy, Debug)]
pub struct Dataset<'a, T> {
    inputs: &'a [f32],
    targets: &'a [T],
    features: usize,
    per_sample: usize,
    /// Samples in `inputs` and `targets`.
    samples: usize,
    view: Option<View<'a>>,
}

/// Positions `0..len` of a view map to `indices` without the positions `hole`, so that a
/// fold's training part (an index slice minus one stretch of it) needs no copy.
#[derive(Clone, Copy, Debug)]
struct View<'a> {
    indices: &'a [u32],
    /// The first position left out.
    hole_start: usize,
    /// How many positions are left out.
    hole_len: usize,
}

impl View<'_> {
    fn len(&self) -> usize {
        self.indices.len() - self.hole_len
    }

    fn get(&self, i: usize) -> usize {
        let p = if i < self.hole_start {
            i
        } else {
            i + self.hole_len
        };
        self.indices[p] as usize
    }
}

impl<'a, T> Dataset<'a, T> {
    /// Checks the slices and wraps them.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if there are no samples (or `features` is zero);
    /// [`Error::Length`] if `inputs` does not divide into samples of `features` values
    /// or `targets` does not hold `targets_per_sample` values for each of them;
    /// [`Error::Setting`] naming `"Dataset targets_per_sample"` if the number of
    /// targets, samples · `targets_per_sample`, overflows `usize`;
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
        let Some(target_count) = len.checked_mul(targets_per_sample) else {
            return Err(Error::Setting {
                name: "Dataset targets_per_sample",
                value: targets_per_sample as f32,
                rule: "at most usize::MAX / samples (the target count overflows)",
            });
        };
        same_len("targets", target_count, targets.len())?;
        if let Some(index) = crate::kernels::first_non_finite(inputs) {
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
            samples: len,
            view: None,
        })
    }

    /// A view of the samples `indices` names, in that order: position `i` of the view is
    /// sample `indices[i]` of the full data (the slices given to [`Dataset::new`]; also
    /// when called on a view, whose selection the new one replaces). Nothing is copied
    /// and the inputs are not checked again. An index may repeat (a bootstrap sample).
    ///
    /// With a caller-owned permutation `order` of `0..n`, `select(&order[..m])` and
    /// `select(&order[m..])` are a shuffled train/validation split and
    /// `select(&order[..k])` a random subset of `k` samples; see [`Dataset::fold`] for
    /// cross-validation.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] if `indices` is empty; [`Error::Shape`] (expected: the number of
    /// samples, found: the index) for the first index that is not below the number of
    /// samples of the full data.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::{Dataset, Permutation};
    /// use microtrain::Error;
    /// use rand_core::SeedableRng;
    /// let x = [0.0, 10.0, 20.0, 30.0, 40.0];
    /// let y = [0u32, 1, 0, 1, 0];
    /// let data = Dataset::new(&x, 1, &y, 1)?;
    /// // A shuffled 3 + 2 split from a permutation the caller owns.
    /// let p = Permutation::new(data.len(), &mut rand_pcg::Pcg32::seed_from_u64(7));
    /// let mut order = [0u32; 5];
    /// for (i, o) in order.iter_mut().enumerate() {
    ///     *o = p.get(i) as u32;
    /// }
    /// let (train, valid) = (data.select(&order[..3])?, data.select(&order[3..])?);
    /// assert_eq!((train.len(), valid.len()), (3, 2));
    /// assert_eq!(train.input(0), data.input(order[0] as usize));
    /// assert_eq!(
    ///     data.select(&[4, 5]).unwrap_err(),
    ///     Error::Shape { what: "selected sample index (below the number of samples)", expected: 5, found: 5 }
    /// );
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn select(&self, indices: &'a [u32]) -> Result<Self, Error> {
        self.select_except(indices, 0..0)
    }

    /// A view of `indices` without the positions `skip`: `indices[..skip.start]`
    /// followed by `indices[skip.end..]`, with the rules of [`Dataset::select`].
    ///
    /// # Errors
    ///
    /// As [`Dataset::select`] (for the indices kept), and [`Error::Length`] if `skip`
    /// does not lie within `0..=indices.len()` (expected: `indices.len()`, found: the
    /// offending bound).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// let data = Dataset::new(&[0.0, 1.0, 2.0, 3.0], 1, &[0u32; 4], 1)?;
    /// let order = [3, 1, 0, 2];
    /// let rest = data.select_except(&order, 1..3)?;        // order[0], then order[3]
    /// assert_eq!((rest.len(), rest.input(0), rest.input(1)), (2, &[3.0][..], &[2.0][..]));
    /// assert!(data.select_except(&order, 0..4).is_err());  // nothing left
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn select_except(&self, indices: &'a [u32], skip: Range<usize>) -> Result<Self, Error> {
        if skip.start > skip.end || skip.end > indices.len() {
            return Err(Error::Length {
                what: "excluded positions (a range within the index slice)",
                expected: indices.len(),
                found: skip.start.max(skip.end),
            });
        }
        let view = View {
            indices,
            hole_start: skip.start,
            hole_len: skip.len(),
        };
        if view.len() == 0 {
            return Err(Error::Empty {
                what: "selected samples",
            });
        }
        let mut kept = indices[..skip.start].iter().chain(&indices[skip.end..]);
        if let Some(&found) = kept.find(|&&i| i as usize >= self.samples) {
            return Err(Error::Shape {
                what: "selected sample index (below the number of samples)",
                expected: self.samples,
                found: found as usize,
            });
        }
        Ok(Dataset {
            view: Some(view),
            ..*self
        })
    }

    /// The training and validation views of fold `i` of `k`-fold cross-validation over
    /// the caller's sample order `order` (a permutation of the samples, or any index
    /// list): the validation part is the `i`-th of `k` consecutive stretches of
    /// `order`, the training part is everything else. The first `len % k` folds have
    /// one sample more than the others, as scikit-learn's `KFold` (with a shuffled
    /// `order`: `KFold(k, shuffle=True)`). Nothing is copied.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] if `k` is below 2 or above `order.len()` (`"folds"`), or if
    /// `i >= k` (`"fold"`); as [`Dataset::select`] for a bad index.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    /// let data = Dataset::new(&x, 1, &[0u32; 5], 1)?;
    /// let order = [4, 2, 0, 1, 3];
    /// let sizes: Vec<_> = (0..3)
    ///     .map(|i| data.fold(&order, 3, i).map(|(t, v)| (t.len(), v.len())))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(sizes, [(3, 2), (3, 2), (4, 1)]);
    /// let (train, valid) = data.fold(&order, 3, 1)?;      // validation: order[2..4]
    /// assert_eq!((valid.input(0), valid.input(1)), (&[0.0][..], &[1.0][..]));
    /// assert_eq!(train.input(2), &[3.0]);                   // order[0], order[1], order[4]
    /// assert!(data.fold(&order, 6, 0).is_err());
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn fold(&self, order: &'a [u32], k: usize, i: usize) -> Result<(Self, Self), Error> {
        if k < 2 || k > order.len() {
            return Err(Error::Setting {
                name: "folds",
                value: k as f32,
                rule: "at least 2 and at most the number of samples",
            });
        }
        if i >= k {
            return Err(Error::Setting {
                name: "fold",
                value: i as f32,
                rule: "below the number of folds",
            });
        }
        let (size, larger) = (order.len() / k, order.len() % k);
        let start = i * size + i.min(larger);
        let end = start + size + usize::from(i < larger);
        let validation = self.select(&order[start..end])?;
        let training = self.select_except(order, start..end)?;
        Ok((training, validation))
    }

    /// The position in the slices of sample `i` of this dataset or view; panics if
    /// `i >= len`.
    fn sample_checked(&self, i: usize) -> usize {
        match &self.view {
            None => {
                assert!(i < self.samples, "sample {i} of {}", self.samples);
                i
            }
            Some(view) => {
                assert!(i < view.len(), "sample {i} of a view of {}", view.len());
                view.get(i)
            }
        }
    }

    /// Number of samples (of the view, for a view).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.len(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        match &self.view {
            None => self.samples,
            Some(view) => view.len(),
        }
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
        self.len() == 0
    }

    /// The input features of sample `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.input(1), &[2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn input(&self, i: usize) -> &'a [f32] {
        let s = self.sample_checked(i);
        &self.inputs[s * self.features..(s + 1) * self.features]
    }

    /// The targets of sample `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::train::Dataset;
    /// assert_eq!(Dataset::new(&[1.0, 2.0], 1, &[0u32, 1], 1)?.target(1), &[1]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn target(&self, i: usize) -> &'a [T] {
        let s = self.sample_checked(i);
        &self.targets[s * self.per_sample..(s + 1) * self.per_sample]
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
