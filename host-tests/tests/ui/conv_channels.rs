// A convolution's input channels are part of its type: a 1-channel filter bank does
// not accept a 3-channel image.
use microtrain::layers::{Conv2d, Layer};
use microtrain::Image;

fn layer<L: Layer<Image<1, 8, 8, 3>>>() {}

fn main() {
    layer::<Conv2d<1, 4, 3, 1, 1, 8, 8>>();
}
