//! Reads the layer golden files that `reference/make_layers.py` writes with PyTorch
//! (`reference/golden/layers/<case>.txt`) and converts PyTorch's channels-first layouts
//! to microtrain's channels-last ones.

use std::collections::HashMap;

/// One golden case: its tensors by name, each with PyTorch's dimensions.
pub struct Case {
    /// The case name.
    pub name: String,
    tensors: HashMap<String, (Vec<usize>, Vec<f64>)>,
}

impl Case {
    /// Loads `reference/golden/layers/<name>.txt`, panicking with the path on any
    /// malformed line.
    pub fn load(name: &str) -> Case {
        Case::load_from("layers", name)
    }

    /// Loads `reference/golden/<dir>/<name>.txt` (a file in the same format, such as
    /// `make_averaging.py`'s), panicking with the path on any malformed line.
    pub fn load_from(dir: &str, name: &str) -> Case {
        let path = format!(
            "{}/reference/golden/{dir}/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut tensors = HashMap::new();
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        while let Some(head) = lines.next() {
            let mut words = head.split_whitespace();
            assert_eq!(
                words.next(),
                Some("tensor"),
                "{path}: expected a tensor line, got {head:?}"
            );
            let key = words.next().expect("a tensor name").to_string();
            let dims: Vec<usize> = words.map(|d| d.parse().expect("a dimension")).collect();
            let values: Vec<f64> = lines
                .next()
                .expect("a line of values")
                .split_whitespace()
                .map(|v| v.parse().expect("a number"))
                .collect();
            assert_eq!(
                values.len(),
                dims.iter().product::<usize>(),
                "{path}: {key} has the wrong count"
            );
            tensors.insert(key, (dims, values));
        }
        Case {
            name: name.to_string(),
            tensors,
        }
    }

    /// A tensor as PyTorch laid it out, with its dimensions.
    pub fn raw(&self, key: &str) -> (&[usize], &[f64]) {
        let (d, v) = self
            .tensors
            .get(key)
            .unwrap_or_else(|| panic!("{}: no tensor {key}", self.name));
        (d, v)
    }

    /// A tensor moved to channels-last: `(N, C, H, W)` → `(N, H, W, C)`, `(N, C, L)` →
    /// `(N, L, C)`, and a convolution weight `(O, I, kH, kW)` → `(O, kH, kW, I)`,
    /// `(O, I, k)` → `(O, k, I)`; vectors and `(N, F)` matrices are unchanged.
    pub fn channels_last(&self, key: &str) -> Vec<f64> {
        let (dims, v) = self.raw(key);
        match *dims {
            [n, c, h, w] => permute(v, n, c, h * w),
            [n, c, l] => permute(v, n, c, l),
            _ => v.to_vec(),
        }
    }

    /// [`Case::channels_last`] in `f32` (the inputs are exactly representable).
    pub fn f32(&self, key: &str) -> Vec<f32> {
        self.channels_last(key).iter().map(|&v| v as f32).collect()
    }
}

/// `[n][c][p]` → `[n][p][c]`.
fn permute(v: &[f64], n: usize, c: usize, p: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for b in 0..n {
        for ch in 0..c {
            for q in 0..p {
                out[(b * p + q) * c + ch] = v[(b * c + ch) * p + q];
            }
        }
    }
    out
}

/// Asserts `|ours − torch| ≤ rel·max(1, max|torch|)` for every element: the tolerance
/// the generator's header recommends, relative to the tensor's scale, because its
/// small elements inherit the rounding of its large ones.
pub fn assert_matches(what: &str, ours: &[f32], torch: &[f64], rel: f64) {
    assert_eq!(ours.len(), torch.len(), "{what}: lengths");
    let scale = torch.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (&a, &e)) in ours.iter().zip(torch).enumerate() {
        let diff = (f64::from(a) - e).abs();
        assert!(
            diff <= rel * scale,
            "{what}[{i}]: ours {a:e}, PyTorch {e:e}, |diff| {diff:e} > {rel:e}·{scale:e}"
        );
    }
}
