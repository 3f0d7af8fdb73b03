// Group normalisation splits the channels into equal groups: 3 groups of 4 channels
// do not compile. (The check runs when the layer is built; here in a static, which
// the compiler evaluates while checking. A convolution's output size is checked
// where the layer is used, at code generation: the compile_fail doctest on
// `microtrain::layers::Conv2d`'s module shows it, as trybuild only runs `cargo check`.)
use microtrain::layers::GroupNorm;

static GN: GroupNorm<3, 4> = GroupNorm::new();

fn main() {
    let _ = GN;
}
