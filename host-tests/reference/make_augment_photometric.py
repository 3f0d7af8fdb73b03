#!/usr/bin/env python3
"""Golden outputs of the photometric augmentations from SciPy and PyTorch.

These check the conventions that an f64 re-implementation cannot check by itself:
the edge handling of the 3x3 filters and of the Gaussian blur (SciPy's
mode="mirror", i.e. OpenCV's BORDER_REFLECT_101 and PyTorch's "reflect" padding),
the normalised Gaussian taps (scipy.ndimage.gaussian_filter with radius=K), the
nearest-neighbour upsampling of the coarse masks (torch.nn.functional.interpolate,
mode="nearest") and the bilinear value noise of fog and clouds
(interpolate(mode="bilinear", align_corners=True)).

Generated with SciPy 1.17.1, NumPy 2.4.6 and PyTorch 2.15.0 (CPU), in float64.
Run from the repository root:

    /work/torchenv/bin/pip install scipy        # torch is already there
    /work/torchenv/bin/python host-tests/reference/make_augment_photometric.py

It rewrites host-tests/reference/golden/augment/photometric.txt in the format of
golden/layers/ ("tensor NAME DIMS..." then one line of values). Every input is
exactly representable in f32: pictures are k/64 (f32 pictures) or integers (u8
pictures), parameters are short binary fractions. Outputs are not clamped; the Rust
test clamps them to the pixel range and rounds u8 ones.
"""

import os

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

from golden_common import tensor_lines

OUT = os.path.join(os.path.dirname(__file__), "golden", "augment", "photometric.txt")

rng = np.random.default_rng(20261130)
H, W, C = 5, 7, 3
pictures = {
    "f32": rng.integers(0, 65, size=(H, W, C)) / 64.0,
    "u8": rng.integers(0, 256, size=(H, W, C)).astype(np.float64),
}
row = rng.integers(0, 65, size=(1, 4, 1)) / 64.0  # one row: the blur folds twice

lines = [
    "# make_augment_photometric.py: scipy %s, numpy %s, torch %s"
    % (scipy.__version__, np.__version__, torch.__version__),
]


def put(name, array):
    array = np.asarray(array, dtype=np.float64)
    lines.extend(tensor_lines(name, array.shape, array.ravel()))


def correlate(img, kernel):
    """Correlation (not convolution) of every channel, edges mirrored."""
    return np.stack(
        [ndi.correlate(img[:, :, c], kernel, mode="mirror") for c in range(img.shape[2])],
        axis=-1,
    )


def blended(alpha, effect):
    """imgaug's (1 - alpha) * identity + alpha * effect."""
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    return (1 - alpha) * identity + alpha * np.array(effect)


def sharpen_kernel(alpha, lightness):
    return blended(alpha, [[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]])


def emboss_kernel(alpha, s):
    return blended(alpha, [[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]])


def blur(img, sigma, radius):
    return ndi.gaussian_filter(img, sigma=sigma, axes=(0, 1), mode="mirror", radius=radius)


SHARPEN = (0.75, 1.25)
EMBOSS = (0.625, 0.75)
BLURS = [(1.25, 2), (0.75, 4)]
put("params_sharpen", SHARPEN)
put("params_emboss", EMBOSS)
put("params_blur", [v for b in BLURS for v in b])
for kind, img in pictures.items():
    put("%s_input" % kind, img)
    put("%s_sharpen" % kind, correlate(img, sharpen_kernel(*SHARPEN)))
    put("%s_emboss" % kind, correlate(img, emboss_kernel(*EMBOSS)))
    for i, (sigma, radius) in enumerate(BLURS):
        put("%s_blur%d" % (kind, i), blur(img, sigma, radius))
put("row_input", row)
put("row_blur", blur(row, 1.0, 4))

# Coarse masks upsampled by nearest neighbour.
for rows, cols in [(2, 3), (3, 5)]:
    mask = rng.integers(0, 2, size=(rows, cols)).astype(np.float64)
    up = F.interpolate(torch.tensor(mask)[None, None], size=(H, W), mode="nearest")[0, 0]
    put("mask_%dx%d" % (rows, cols), mask)
    put("mask_%dx%d_up" % (rows, cols), up.numpy())

# Fog: blend toward brightness * MAX with opacity density * n, n the bilinear field.
G = 3
grid = rng.integers(0, 17, size=(G, G)) / 16.0
field = F.interpolate(
    torch.tensor(grid)[None, None], size=(H, W), mode="bilinear", align_corners=True
)[0, 0].numpy()
FOG = (0.75, 0.875)
put("fog_grid", grid)
put("params_fog", FOG)
for kind, img in pictures.items():
    top = 255.0 if kind == "u8" else 1.0
    alpha = FOG[0] * field[:, :, None]
    put("%s_fog" % kind, (1 - alpha) * img + alpha * FOG[1] * top)

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote", OUT, "(%d tensors)" % sum(l.startswith("tensor") for l in lines))
