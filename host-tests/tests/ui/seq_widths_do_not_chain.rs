// Dense<2, 8> feeds 8 values to a layer that takes 7.
use microtrain::layers::{Dense, Layer};
use microtrain::{Batch, Seq};

fn layer<L: Layer<Batch<4, 2>>>() {}

fn main() {
    layer::<Seq![Dense<2, 8>, Dense<7, 1>]>();
}
