"""PyTorch side of microtrain-interop's golden files (interop/tests/golden/).

Run from the repository root with the project's PyTorch virtualenv:

    MICROTRAIN_INTEROP_REGEN=1 cargo test -p microtrain-interop --test torch_roundtrip  # writes rust_*.safetensors
    /work/torchenv/bin/python interop/reference/torch_interop.py

For each model (an MLP, a CNN with batch norm, depthwise convolution, a residual block
and a flattened image, a 1-D convolution on signals) it

1. trains the PyTorch model a few steps (so batch-norm running statistics and
   num_batches_tracked are not their initial values) and writes its state_dict as
   torch_<model>.safetensors, a batch of inputs and the eval-mode predictions as
   torch_<model>_io.safetensors ("input", "output");
2. loads rust_<model>.safetensors (microtrain's export of the same architecture with
   other weights) with load_state_dict(strict=True), which checks every key, shape and
   dtype, and writes its eval-mode predictions on the same inputs as
   rust_<model>_io.safetensors ("output").

The Rust tests then check both directions without Python.
"""

import os

import torch
from safetensors.torch import load_file, save_file
from torch import nn

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "tests", "golden")


class Residual(nn.Module):
    """microtrain's Residual<F>: x + body(x)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def mlp():
    # Seq![Dense<6, 16>, Relu, Dropout, Dense<16, 8>, LayerNorm<8>, Tanh, Dense<8, 3>]
    return nn.Sequential(
        nn.Linear(6, 16),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(16, 8),
        nn.LayerNorm(8),
        nn.Tanh(),
        nn.Linear(8, 3),
    )


def cnn():
    # Seq![Conv2d<2, 4, 3, 1, 1, 8, 8>, BatchNorm<4>, Relu, DepthwiseConv2d<4, 3, 1, 1, 8, 8>,
    #      MaxPool2d<2, 2, 4, 4>, BasicBlock<4, 4, 4>, Flatten<64>, BatchNorm<64>, Dense<64, 5>]
    def conv_bn(c):
        return [nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)]

    block = nn.Sequential(
        Residual(nn.Sequential(*conv_bn(4), nn.ReLU(), *conv_bn(4))),
        nn.ReLU(),
    )
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, groups=4),
        nn.MaxPool2d(2),
        block,
        nn.Flatten(),
        nn.BatchNorm1d(64),
        nn.Linear(64, 5),
    )


def signal():
    # Seq![Conv1d<2, 3, 3, 1, 1, 6>, Relu, Flatten<18>, Dense<18, 2>]
    return nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(18, 2),
    )


MODELS = {
    "mlp": (mlp, (4, 6), 3),
    "cnn": (cnn, (4, 2, 8, 8), 5),
    "signal": (signal, (4, 2, 6), 2),
}


def main():
    for name, (make, shape, classes) in MODELS.items():
        torch.manual_seed(0)
        model = make()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model.train()
        for _ in range(5):
            x = torch.randn(8, *shape[1:])
            y = torch.randint(0, classes, (8,))
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        model.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            out = model(x)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(GOLDEN, f"torch_{name}.safetensors"), {"format": "pt"})
        save_file({"input": x, "output": out}, os.path.join(GOLDEN, f"torch_{name}_io.safetensors"))
        print(f"torch_{name}: {len(state)} tensors")

        path = os.path.join(GOLDEN, f"rust_{name}.safetensors")
        if not os.path.exists(path):
            print(f"{path} missing: run the Rust test with MICROTRAIN_INTEROP_REGEN=1 first")
            continue
        theirs = make()
        theirs.load_state_dict(load_file(path), strict=True)
        theirs.eval()
        with torch.no_grad():
            out = theirs(x)
        save_file({"output": out}, os.path.join(GOLDEN, f"rust_{name}_io.safetensors"))
        print(f"rust_{name}: loaded strictly, predictions written")


if __name__ == "__main__":
    main()
