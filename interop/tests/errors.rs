//! Every import error names its tensor and leaves the model unchanged; the keys follow
//! nn.Sequential's numbering.

use microtrain::layers::{
    down_block, BatchNorm, Conv2d, Dense, DownBlock, Flatten, GlobalAvgPool, GroupNorm, Params,
    Relu,
};
use microtrain::layers::{Context, Input, Layer};
use microtrain::{seq, Batch, Image, Seq};
use microtrain_interop::{load, state_dict_keys, to_bytes, InteropError, TorchNames, Walker};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::BTreeMap;

type Net = Seq![Dense<4, 3>, BatchNorm<3>, Relu, Dense<3, 2>];
type X = Batch<1, 4>;

fn net() -> Net {
    seq![Dense::zeros(), BatchNorm::new(), Relu, Dense::zeros()]
}

/// A state_dict of `Net` with every value distinct and non-zero.
fn source() -> Vec<u8> {
    let mut model = net();
    let mut k = 0.0;
    model.visit(&mut |p| {
        p.value.iter_mut().for_each(|v| {
            k += 1.0;
            *v = k / 8.0
        })
    });
    model.visit_buffers(&mut |b| {
        b.value.iter_mut().for_each(|v| {
            k += 1.0;
            *v = k / 8.0
        })
    });
    to_bytes::<X, _>(&mut model).unwrap()
}

type Tensors = BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>;

fn tensors(bytes: &[u8]) -> Tensors {
    SafeTensors::deserialize(bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(k, t)| (k, (t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect()
}

fn bytes(t: &Tensors) -> Vec<u8> {
    let views = t
        .iter()
        .map(|(k, (d, s, b))| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

/// Loads `file` into a fresh model, expecting an error; checks the model is unchanged.
fn refuse(file: &[u8]) -> InteropError {
    let mut model = net();
    let err = load::<X, _>(&mut model, file).unwrap_err();
    assert_eq!(model, net(), "a refused load changed the model ({err})");
    err
}

fn edited(f: impl FnOnce(&mut Tensors)) -> Vec<u8> {
    let mut t = tensors(&source());
    f(&mut t);
    bytes(&t)
}

#[test]
fn the_source_loads_and_round_trips() {
    let mut model = net();
    load::<X, _>(&mut model, &source()).unwrap();
    assert_ne!(model, net());
    // 12 + 3 + 3 + 3 + 6 + 2 parameters, then 3 running means.
    assert_eq!(
        model.1 .0.running_var.0,
        [33.0 / 8.0, 34.0 / 8.0, 35.0 / 8.0]
    );
    assert_eq!(
        tensors(&to_bytes::<X, _>(&mut model).unwrap()),
        tensors(&source())
    );
}

#[test]
fn missing_tensor() {
    let err = refuse(&edited(|t| {
        t.remove("3.bias");
    }));
    assert_eq!(err.to_string(), r#"missing tensor "3.bias""#);
}

#[test]
fn unexpected_tensor() {
    let err = refuse(&edited(|t| {
        t.insert(
            "4.weight".into(),
            (Dtype::F32, vec![1], 1f32.to_le_bytes().to_vec()),
        );
    }));
    assert_eq!(err.to_string(), r#"unexpected tensor "4.weight""#);
}

#[test]
fn mis_shaped_tensor() {
    // Transposed: the same number of values, in the wrong shape.
    let err = refuse(&edited(|t| t.get_mut("0.weight").unwrap().1 = vec![4, 3]));
    assert_eq!(
        err.to_string(),
        r#"tensor "0.weight" has shape [4, 3], expected [3, 4]"#
    );
    let err = refuse(&edited(|t| {
        let w = t.get_mut("3.weight").unwrap();
        w.1 = vec![2, 2];
        w.2.truncate(16);
    }));
    assert_eq!(
        err.to_string(),
        r#"tensor "3.weight" has shape [2, 2], expected [2, 3]"#
    );
}

#[test]
fn wrong_dtype() {
    let err = refuse(&edited(|t| {
        let w = t.get_mut("0.weight").unwrap();
        w.0 = Dtype::F64;
        w.2 =
            w.2.chunks(4)
                .flat_map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())).to_le_bytes())
                .collect();
    }));
    assert_eq!(
        err.to_string(),
        r#"tensor "0.weight" has dtype F64, expected F32"#
    );
}

#[test]
fn non_finite_values() {
    // The last tensor checked: everything before it was fine, nothing may be written.
    for (bad, shown) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let err = refuse(&edited(|t| {
            t.get_mut("1.running_var").unwrap().2[8..12].copy_from_slice(&bad.to_le_bytes())
        }));
        assert_eq!(
            err.to_string(),
            format!(r#"tensor "1.running_var" holds the non-finite value {shown} at index 2"#)
        );
    }
}

#[test]
fn truncated_and_garbled_files() {
    let file = source();
    for cut in [0, 4, 8, 20, file.len() / 2, file.len() - 1] {
        let err = refuse(&file[..cut]);
        assert!(
            matches!(err, InteropError::Format(_)),
            "cut at {cut}: {err}"
        );
        assert!(err.to_string().starts_with("not a valid safetensors file"));
    }
    let mut garbled = file.clone();
    garbled[9] = b'!';
    assert!(matches!(refuse(&garbled), InteropError::Format(_)));
}

#[test]
fn num_batches_tracked_is_optional_and_checked() {
    let mut model = net();
    load::<X, _>(
        &mut model,
        &edited(|t| {
            t.remove("1.num_batches_tracked");
        }),
    )
    .unwrap();
    let mut with_count = net();
    load::<X, _>(
        &mut with_count,
        &edited(|t| {
            t.get_mut("1.num_batches_tracked").unwrap().2 = 1234i64.to_le_bytes().to_vec();
        }),
    )
    .unwrap();
    assert_eq!(model, with_count, "the count is ignored");

    let err = refuse(&edited(|t| {
        t.insert(
            "1.num_batches_tracked".into(),
            (Dtype::F32, vec![], 5f32.to_le_bytes().to_vec()),
        );
    }));
    assert_eq!(
        err.to_string(),
        r#"tensor "1.num_batches_tracked" has dtype F32, expected I64"#
    );
    let err = refuse(&edited(|t| {
        t.get_mut("1.num_batches_tracked").unwrap().1 = vec![1]
    }));
    assert_eq!(
        err.to_string(),
        r#"tensor "1.num_batches_tracked" has shape [1], expected []"#
    );
}

#[test]
fn exported_count_is_the_cumulative_count() {
    let mut model = net();
    model.1 .0.cumulative = Some(7);
    let t = tensors(&to_bytes::<X, _>(&mut model).unwrap());
    assert_eq!(
        t["1.num_batches_tracked"],
        (Dtype::I64, vec![], 7i64.to_le_bytes().to_vec())
    );
    let mut model = net();
    let t = tensors(&to_bytes::<X, _>(&mut model).unwrap());
    assert_eq!(t["1.num_batches_tracked"].2, 0i64.to_le_bytes());
}

#[test]
fn sequential_indices_count_parameterless_layers() {
    type Mlp = Seq![Dense<64, 32>, Relu, Dense<32, 10>];
    let keys = state_dict_keys::<Batch<1, 64>, Mlp>().unwrap();
    assert_eq!(
        keys,
        [
            ("0.weight".to_string(), vec![32, 64]),
            ("0.bias".to_string(), vec![32]),
            ("2.weight".to_string(), vec![10, 32]),
            ("2.bias".to_string(), vec![10]),
        ]
    );
}

#[test]
fn global_average_pooling_takes_two_indices() {
    // PyTorch: Conv2d, ReLU, AdaptiveAvgPool2d(1), Flatten(), Linear.
    type Net = Seq![Conv2d<1, 2, 3, 1, 1, 4, 4>, Relu, GlobalAvgPool, Dense<2, 3>];
    let keys = state_dict_keys::<Image<1, 4, 4, 1>, Net>().unwrap();
    assert_eq!(keys[2], ("4.weight".to_string(), vec![3, 2]));
}

#[test]
fn projected_residual_keys() {
    type Block = DownBlock<2, 4, 2, 2>;
    let _ = down_block::<2, 4, 2, 2>;
    let keys = state_dict_keys::<Image<1, 4, 4, 2>, Block>().unwrap();
    let names: Vec<_> = keys.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names[..6],
        [
            "0.body.0.weight",
            "0.body.0.bias",
            "0.body.1.weight",
            "0.body.1.bias",
            "0.body.3.weight",
            "0.body.3.bias"
        ]
    );
    assert!(keys.contains(&("0.projection.0.weight".to_string(), vec![4, 2, 1, 1])));
    assert!(names.contains(&"0.projection.1.num_batches_tracked"));
    assert_eq!(names.len(), 12 + 6 + 3); // 6 weights and biases, 3 × 2 running stats, 3 counters
}

#[test]
fn group_norm_after_flatten_is_unsupported() {
    type Bad = Seq![Flatten<4>, GroupNorm<2, 4>];
    let err = state_dict_keys::<Image<1, 1, 2, 2>, Bad>().unwrap_err();
    assert!(
        matches!(&err, InteropError::Unsupported { name, .. } if name == "1"),
        "{err}"
    );
    // One pixel, or one channel: the orders agree, and it is fine.
    assert!(state_dict_keys::<Image<1, 1, 1, 4>, Bad>().is_ok());
    assert!(state_dict_keys::<Image<1, 2, 2, 1>, Bad>().is_ok());
}

/// A layer of our own whose description forgets its bias.
#[derive(Clone, Copy, Debug, PartialEq)]
struct NoBias(Dense<2, 2>);

impl Params for NoBias {
    const COUNT: usize = 6;
    fn visit(&mut self, f: &mut impl FnMut(microtrain::layers::Param<'_>)) {
        self.0.visit(f)
    }
}

impl Layer<Batch<1, 2>> for NoBias {
    type Output = Batch<1, 2>;
    type Cache = Batch<1, 2>;
    fn forward(&self, x: &Batch<1, 2>, c: &mut Batch<1, 2>, ctx: &mut Context) {
        self.0.forward(x, c, ctx)
    }
    fn output(c: &Batch<1, 2>) -> &Batch<1, 2> {
        c
    }
    fn output_mut(c: &mut Batch<1, 2>) -> &mut Batch<1, 2> {
        c
    }
    fn backward_in_place(&mut self, x: Input<'_, Batch<1, 2>>, c: &mut Batch<1, 2>) {
        self.0.backward_in_place(x, c)
    }
}

impl TorchNames<Batch<1, 2>> for NoBias {
    fn describe(w: &mut Walker) {
        w.param("weight", &[2, 2]);
    }
}

#[test]
fn a_wrong_description_is_an_error_not_a_panic() {
    let mut layer = NoBias(Dense::zeros());
    let err = to_bytes::<Batch<1, 2>, _>(&mut layer).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"tensor "parameter 1, not described" is described with 0 values but the layer has 2"#
    );
    let mut good = Dense::<2, 2>::zeros();
    good.bias.0 = [1.0, 2.0];
    let file = to_bytes::<Batch<1, 2>, _>(&mut good).unwrap();
    assert!(matches!(
        load::<Batch<1, 2>, _>(&mut layer, &file),
        Err(InteropError::Description { .. })
    ));
    assert_eq!(layer, NoBias(Dense::zeros()));
}
