//! The UCI handwritten digits, as the host examples read them (`examples/digits.rs`,
//! `examples/depth.rs`): the CSV compiled into the binary, parsed with every value
//! checked, pixels scaled to `[0, 1]`, and a seeded split into train / validation /
//! test sets.
//!
//! The data are the 1797 8×8 digits of the UCI "Optical Recognition of Handwritten
//! Digits" test set (Alpaydin & Kaynak, CC BY 4.0), as shipped with scikit-learn;
//! `examples/data/README.md` says where they come from.

use microtrain::train::{Dataset, Permutation};
use rand_pcg::Pcg32;

/// The data set, one sample per line: 64 pixels (row by row) then the label.
pub const CSV: &str = include_str!("../data/digits.csv");

/// Pixels per image.
pub const FEATURES: usize = 64;
/// Width and height of an image.
pub const SIDE: usize = 8;
/// The largest pixel value (the number of set bits in a 4×4 block).
pub const PIXEL_MAX: u8 = 16;
/// Digits 0 to 9.
pub const CLASSES: usize = 10;

/// Images (scaled to `[0, 1]`, one after another) and their labels.
#[derive(Default)]
pub struct Samples {
    /// The pixels of every image, image after image.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u32>,
}

impl Samples {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * FEATURES..(i + 1) * FEATURES]
    }

    fn push(&mut self, image: &[f32], label: u32) {
        self.pixels.extend_from_slice(image);
        self.labels.push(label);
    }

    /// The library's view of these samples (checked: sizes, finite values).
    pub fn dataset(&self) -> Result<Dataset<'_, u32>, microtrain::Error> {
        Dataset::new(&self.pixels, FEATURES, &self.labels, 1)
    }
}

/// Parses the CSV, checking every value, and scales pixels to `[0, 1]`.
pub fn parse(csv: &str) -> Result<Samples, String> {
    let mut samples = Samples::default();
    let mut image = [0.0f32; FEATURES];
    for (line_index, line) in csv.lines().enumerate() {
        let line_no = line_index + 1;
        let fields: Vec<&str> = line.trim().split(',').collect();
        if fields.len() != FEATURES + 1 {
            return Err(format!(
                "line {line_no}: {} fields, expected {} (64 pixels and a label)",
                fields.len(),
                FEATURES + 1
            ));
        }
        for (pixel, field) in image.iter_mut().zip(&fields) {
            let value: u8 = field
                .parse()
                .map_err(|_| format!("line {line_no}: pixel {field:?} is not an integer"))?;
            if value > PIXEL_MAX {
                return Err(format!("line {line_no}: pixel {value} exceeds {PIXEL_MAX}"));
            }
            *pixel = f32::from(value) / f32::from(PIXEL_MAX);
        }
        let label: u32 = fields[FEATURES].parse().map_err(|_| {
            format!(
                "line {line_no}: label {:?} is not an integer",
                fields[FEATURES]
            )
        })?;
        if label as usize >= CLASSES {
            return Err(format!("line {line_no}: label {label} is not a digit"));
        }
        samples.push(&image, label);
    }
    Ok(samples)
}

/// The indices of a seeded random split of `n` samples into (train, validation, test):
/// the first `test_len` samples of a [`Permutation`] drawn from `rng` are the test set,
/// the next `validation_len` the validation set, the rest the training set.
pub fn split_indices(
    n: usize,
    validation_len: usize,
    test_len: usize,
    rng: &mut Pcg32,
) -> [Vec<usize>; 3] {
    let order = Permutation::new(n, rng);
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..n {
        let part = if k < test_len {
            &mut test
        } else if k < test_len + validation_len {
            &mut validation
        } else {
            &mut train
        };
        part.push(order.get(k));
    }
    [train, validation, test]
}

/// The samples of `all` at `indices`, in that order.
pub fn gather(all: &Samples, indices: &[usize]) -> Samples {
    let mut part = Samples::default();
    for &i in indices {
        part.push(all.image(i), all.labels[i]);
    }
    part
}

/// Splits `all` as [`split_indices`] does into (train, validation, test) samples.
pub fn split(
    all: &Samples,
    validation_len: usize,
    test_len: usize,
    rng: &mut Pcg32,
) -> (Samples, Samples, Samples) {
    let [train, validation, test] = split_indices(all.len(), validation_len, test_len, rng);
    (
        gather(all, &train),
        gather(all, &validation),
        gather(all, &test),
    )
}
