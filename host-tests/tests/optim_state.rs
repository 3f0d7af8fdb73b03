//! Each optimizer states its state size as a constant: the bytes beyond its `Copy`
//! configuration, counted by hand from the update rule below, and equal to what the
//! compiler lays out.

use microtrain::optim::*;
use std::mem::size_of;

/// `size_of::<O>()` is the configuration plus `STATE_BYTES`, and `STATE_BYTES` is the
/// hand count `floats · 4 · P + scalars`.
fn check<O: Optimizer, C>(p: usize, floats_per_param: usize, scalar_bytes: usize) {
    let name = std::any::type_name::<O>();
    assert_eq!(
        O::STATE_BYTES,
        floats_per_param * 4 * p + scalar_bytes,
        "{name}: hand count"
    );
    assert_eq!(
        size_of::<O>(),
        size_of::<C>() + O::STATE_BYTES,
        "{name}: layout"
    );
    assert_eq!(
        O::PARAMS,
        if floats_per_param == 0 { None } else { Some(p) },
        "{name}"
    );
}

macro_rules! sizes {
    ($($p:literal),*) => {$(
        // momentum buffer + step count
        check::<SgdMomentum<$p>, SgdMomentumConfig>($p, 1, 4);
        // sum of squared gradients + step count
        check::<Adagrad<$p>, AdagradConfig>($p, 1, 4);
        // mean square; + mean gradient (centred); + momentum buffer; + both
        check::<RmsProp<$p>, RmsPropConfig>($p, 1, 0);
        check::<RmsProp<$p, $p, 0>, RmsPropConfig>($p, 2, 0);
        check::<RmsProp<$p, 0, $p>, RmsPropConfig>($p, 2, 0);
        check::<RmsProp<$p, $p, $p>, RmsPropConfig>($p, 3, 0);
        // first and second moments + step count + the bounds of m and v recorded by
        // the last proven step; + running maximum (AMSGrad)
        check::<Adam<$p>, AdamConfig>($p, 2, 12);
        check::<AmsGrad<$p>, AdamConfig>($p, 3, 12);
        // first and second moments + step count
        check::<RAdam<$p>, RAdamConfig>($p, 2, 4);
        // first and second moments + μ product, its previous value, step count
        check::<NAdam<$p>, NAdamConfig>($p, 2, 12);
    )*};
}

#[test]
fn state_sizes_are_constants_that_match_the_layout() {
    sizes!(1, 7, 33, 1000);
    // Plain SGD keeps nothing: its size is its configuration.
    assert_eq!(Sgd::STATE_BYTES, 0);
    assert_eq!(Sgd::PARAMS, None);
}
