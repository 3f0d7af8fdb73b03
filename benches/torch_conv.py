#!/usr/bin/env python3
"""PyTorch's time for the convolutions that `benches/conv.rs` measures in microtrain.

Run it alone, or let the Rust bench run it (it reads the interpreter from the
environment variable `MICROTRAIN_TORCH_PYTHON`):

    /path/to/python benches/torch_conv.py [--reps 300] [--warmup 30] [--budget 1.0]

Importing torch can take several seconds on a cold disk; that is not timed.

Every measurement is float32 on the CPU with `torch.set_num_threads(1)` (our code is
single-threaded), for `nn.Conv2d(CI, CO, 3, stride=1, padding=1)` on a batch of 32, in
two memory formats: `channels_first` (PyTorch's default NCHW) and `channels_last`
(`torch.channels_last`, the NHWC layout microtrain stores). The parameters and the
input require gradients, as in training, so backward computes the weight, bias and
input gradients, like microtrain's `Conv2d::backward` with `Some(dx)`.

What each line times (one call per repetition, `time.perf_counter_ns`, the median of
`--reps` repetitions, or of as many as fit in `--budget` seconds but at least 21, after
`--warmup` untimed calls):

- `forward`: `y = conv(x)` with autograd recording (the training forward).
- `backward`: `torch.autograd.grad(y, (x, weight, bias), dy, retain_graph=True)` on an
  output `y` computed once beforehand, so only the backward pass is timed (not the
  difference `(fwd+bwd) - fwd`). `autograd.grad` returns fresh gradients, so nothing
  accumulates into `.grad` between repetitions.
- `forward_backward`: a forward then the same backward, timed together (a cross-check:
  it should be close to forward + backward).

Output: one line per measurement, fields separated by single spaces:

    torch conv <CI>x<H>x<W>-><CO> b<B> <format> <pass> median_us=<float> reps=<int>

e.g. `torch conv 1x28x28->8 b32 channels_first forward median_us=123.456 reps=300`.
A first line `torch version=<v> threads=<n>` says what was measured.
"""

import argparse
import time
import warnings

# The venv may lack NumPy; torch warns about it on import and does not need it here.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch_timing import median_us  # noqa: E402
from torch import nn  # noqa: E402

# (batch, in channels, height, width, out channels), kernel 3, stride 1, padding 1:
# the shapes of `benches/conv.rs`.

SHAPES = [
    (32, 1, 28, 28, 8),
    (32, 8, 14, 14, 16),
]


def measure(shape, channels_last, reps, warmup, budget_s):
    batch, ci, h, w, co = shape
    gen = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(ci, co, 3, stride=1, padding=1)
    x = torch.rand(batch, ci, h, w, generator=gen) * 2 - 1
    dy = torch.rand(batch, co, h, w, generator=gen) * 2 - 1
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        dy = dy.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    inputs = (x, conv.weight, conv.bias)

    def forward():
        return conv(x)

    y = conv(x)

    def backward():
        return torch.autograd.grad(y, inputs, dy, retain_graph=True)

    def forward_backward():
        return torch.autograd.grad(conv(x), inputs, dy)

    fmt = "channels_last" if channels_last else "channels_first"
    name = f"{ci}x{h}x{w}->{co} b{batch} {fmt}"
    for label, fn in [
        ("forward", forward),
        ("backward", backward),
        ("forward_backward", forward_backward),
    ]:
        us, n = median_us(fn, reps, warmup, budget_s)
        print(f"torch conv {name} {label} median_us={us:.3f} reps={n}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=300, help="timed repetitions")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls first")
    parser.add_argument(
        "--budget", type=float, default=1.0, help="seconds of timed calls per measurement"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch version={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    for shape in SHAPES:
        for channels_last in (False, True):
            measure(shape, channels_last, args.reps, args.warmup, args.budget)


if __name__ == "__main__":
    main()
