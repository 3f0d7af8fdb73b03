//! Borrowed row-major matrices whose shape is known at run time: what the kernels take,
//! so that one kernel body serves every shape instead of being compiled again for each.

use crate::Error;

/// A borrowed row-major matrix whose shape is known at run time.
///
/// # Examples
///
/// ```
/// use microtrain::MatRef;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = MatRef::new(&data, 2, 3)?;
/// assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as `rows × cols` for a caller whose types guarantee the length.
    pub(crate) const fn from_parts(data: &'a [f32], rows: usize, cols: usize) -> Self {
        debug_assert!(data.len() == rows * cols);
        MatRef { data, rows, cols }
    }

    /// Views `data` as `rows × cols`; `data.len()` must equal `rows · cols`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert!(MatRef::new(&[0.0; 6], 3, 2).is_ok());
    /// assert!(MatRef::new(&[0.0; 6], 4, 2).is_err());
    /// ```
    #[inline]
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self, Error> {
        check_len("matrix view", data.len(), rows, cols)?;
        Ok(MatRef { data, rows, cols })
    }

    /// Number of rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[0.0; 6], 3, 2)?.rows(), 3);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[0.0; 6], 3, 2)?.cols(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn cols(&self) -> usize {
        self.cols
    }

    /// All elements, row after row.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[1.0, 2.0], 1, 2)?.as_slice(), &[1.0, 2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `r`. Panics if `r >= rows`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[1.0, 2.0], 2, 1)?.row(1), &[2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    #[inline]
    pub fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// A mutable borrowed row-major matrix whose shape is known at run time.
///
/// # Examples
///
/// ```
/// use microtrain::MatMut;
/// let mut data = [0.0; 4];
/// let mut m = MatMut::new(&mut data, 2, 2)?;
/// m.as_mut_slice()[3] = 1.0;
/// assert_eq!(data, [0.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatMut<'a> {
    /// Views `data` as `rows × cols` for a caller whose types guarantee the length.
    pub(crate) const fn from_parts(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        debug_assert!(data.len() == rows * cols);
        MatMut { data, rows, cols }
    }

    /// Views `data` as `rows × cols`; `data.len()` must equal `rows · cols`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert!(MatMut::new(&mut [0.0; 6], 2, 3).is_ok());
    /// assert!(MatMut::new(&mut [0.0; 6], 2, 4).is_err());
    /// ```
    #[inline]
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self, Error> {
        check_len("matrix view", data.len(), rows, cols)?;
        Ok(MatMut { data, rows, cols })
    }

    /// Number of rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert_eq!(MatMut::new(&mut [0.0; 6], 3, 2)?.rows(), 3);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert_eq!(MatMut::new(&mut [0.0; 6], 3, 2)?.cols(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn cols(&self) -> usize {
        self.cols
    }

    /// All elements, row after row, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// let mut d = [0.0; 2];
    /// MatMut::new(&mut d, 1, 2)?.as_mut_slice()[0] = 3.0;
    /// assert_eq!(d, [3.0, 0.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data
    }

    /// A read-only view of the same elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// let mut d = [1.0; 2];
    /// let m = MatMut::new(&mut d, 2, 1)?;
    /// assert_eq!(m.as_ref().rows(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    #[inline]
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
        }
    }
}

#[inline]
fn check_len(what: &'static str, len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    let expected = rows.checked_mul(cols).ok_or(Error::Length {
        what,
        expected: usize::MAX,
        found: len,
    })?;
    if len != expected {
        return Err(Error::Length {
            what,
            expected,
            found: len,
        });
    }
    Ok(())
}
