#!/usr/bin/env python3
"""Reference outputs for microtrain's geometric augmentations, computed with SciPy.

Run (from the repository root, in a venv with numpy and scipy; the torch venv of
make_golden.py works after `pip install scipy`):

    /work/torchenv/bin/python host-tests/reference/make_augment_geometric.py

It deletes and rewrites host-tests/reference/golden/augment/geometric/ (and nothing
else), prints one line per case, and exits non-zero if a self-check fails.  Made
with numpy 2.4.6 and scipy 1.17.1 (recorded in every file); output is deterministic.

Conventions (those of microtrain::augment::warp)
------------------------------------------------
* Pixel (x, y) = (column, row) has its centre at the point (x, y); the image centre is
  ((W - 1)/2, (H - 1)/2).  Array axes are (row, column, channel).
* Every transform is an inverse map: output pixel q shows the source at s(q), read by
  bilinear interpolation in which pixels outside the image take the fill value:
  scipy.ndimage.map_coordinates(order=1, mode="grid-constant", cval=fill,
  prefilter=False), channel by channel.
* The fill is a brightness in [0, 1]; the pixel value is fill for f32 pictures and
  round(fill * 255) for u8 ones.

The coordinate maps are computed here in float64 by other routes than the Rust code:
* rotate:      scipy.ndimage.rotate(reshape=False) itself, after checking on a test
               pattern that its positive angle is counter-clockwise on screen
               (np.rot90) like torchvision's;
* shear:       the forward matrix [[1, -tx], [-ty, 1 + tx ty]] about the centre
               (torchvision's R(a) SHy(sy) SHx(sx) at a = 0, tx = tan(sx),
               ty = tan(sy), in pixel coordinates with y down), inverted with
               numpy.linalg.inv;
* translate:   s(q) = q - (dx, dy);
* crop_resize: scipy.ndimage.zoom(grid_mode=True, mode="nearest") of the window
               (pixel-edge alignment = align_corners=False, edge pixels repeated);
* perspective: the homography from the 8 x 8 linear system of the four point pairs
               (numpy.linalg.solve), mapping the `to` points to the `from` points;
* elastic:     the G x G displacement grid upsampled with map_coordinates(order=1)
               at grid coordinates y (G-1)/(H-1), x (G-1)/(W-1), then s(q) = q + d(q).

File format: `#` header lines, one `params k=v ...` line, then `tensor NAME dims...`
lines each followed by a line of values (Python repr of float64): `x` (the input,
exact in f32 / u8), `y` (the float64 output before any rounding to the pixel type),
and for elastic `grid` (G, G, 2: dx, dy per node, exact in f32).
"""

import os
import sys

import numpy as np
import scipy
import scipy.ndimage as ndi

from golden_common import SplitMix64, fnv1a64, fresh_dir, tensor_lines

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "augment", "geometric")


def picture(name, dtype, h, w, c):
    """u8: integers 0..255; f32: multiples of 1/256 in [0, 1]."""
    rng = SplitMix64(fnv1a64(name))
    v = [rng.below(256) for _ in range(h * w * c)]
    x = np.array(v, dtype=np.float64).reshape(h, w, c)
    return x if dtype == "u8" else x / 256.0


def fill_value(dtype, fill):
    return float(np.floor(fill * 255.0 + 0.5)) if dtype == "u8" else fill


def sample(x, rows, cols, cval):
    """Bilinear read of x (H, W, C) at the coordinate arrays rows, cols (H, W)."""
    return np.stack(
        [
            ndi.map_coordinates(x[:, :, c], [rows, cols], order=1, mode="grid-constant", cval=cval, prefilter=False)
            for c in range(x.shape[2])
        ],
        axis=2,
    )


def grid_of(h, w):
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return rows, cols


def check_rotate_direction():
    """scipy's positive angle turns the array as np.rot90 does: counter-clockwise."""
    a = np.arange(25, dtype=np.float64).reshape(5, 5)
    r = ndi.rotate(a, 90.0, axes=(1, 0), reshape=False, order=1, mode="grid-constant", cval=0.0, prefilter=False)
    assert np.allclose(r, np.rot90(a), atol=1e-9), "scipy rotate direction"


def ref_rotate(x, cval, degrees):
    return np.stack(
        [
            ndi.rotate(x[:, :, c], degrees, axes=(1, 0), reshape=False, order=1, mode="grid-constant", cval=cval, prefilter=False)
            for c in range(x.shape[2])
        ],
        axis=2,
    )


def ref_shear(x, cval, xdeg, ydeg):
    h, w, _ = x.shape
    tx, ty = np.tan(np.radians(xdeg)), np.tan(np.radians(ydeg))
    inv = np.linalg.inv(np.array([[1.0, -tx], [-ty, 1.0 + tx * ty]]))
    cx, cy = (w - 1) / 2, (h - 1) / 2
    rows, cols = grid_of(h, w)
    sx = cx + inv[0, 0] * (cols - cx) + inv[0, 1] * (rows - cy)
    sy = cy + inv[1, 0] * (cols - cx) + inv[1, 1] * (rows - cy)
    return sample(x, sy, sx, cval)


def ref_translate(x, cval, dx, dy):
    rows, cols = grid_of(*x.shape[:2])
    return sample(x, rows - dy, cols - dx, cval)


def ref_crop_resize(x, top, left, height, width):
    h, w, _ = x.shape
    window = x[top : top + height, left : left + width, :]
    y = ndi.zoom(window, (h / height, w / width, 1.0), order=1, mode="nearest", grid_mode=True, prefilter=False)
    assert y.shape == x.shape
    return y


def homography(src, dst):
    """The 3 x 3 matrix (h22 = 1) sending each src point to the dst point."""
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.append(v)
    m = np.linalg.solve(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64))
    return np.append(m, 1.0).reshape(3, 3)


def ref_perspective(x, cval, frm, to):
    h, w, _ = x.shape
    m = homography(to, frm)  # output pixel -> source
    rows, cols = grid_of(h, w)
    den = m[2, 0] * cols + m[2, 1] * rows + m[2, 2]
    sx = (m[0, 0] * cols + m[0, 1] * rows + m[0, 2]) / den
    sy = (m[1, 0] * cols + m[1, 1] * rows + m[1, 2]) / den
    return sample(x, sy, sx, cval)


def ref_elastic(x, cval, grid):
    h, w, _ = x.shape
    g = grid.shape[0]
    rows, cols = grid_of(h, w)
    gr, gc = rows * (g - 1) / (h - 1), cols * (g - 1) / (w - 1)
    d = [ndi.map_coordinates(grid[:, :, k], [gr, gc], order=1, mode="nearest", prefilter=False) for k in range(2)]
    return sample(x, rows + d[1], cols + d[0], cval)


# name, dtype, (H, W, C), fill, kind, parameters
CASES = [
    ("rotate_f32_30", "f32", (7, 9, 3), 0.25, "rotate", {"degrees": 30.0}),
    ("rotate_u8_neg17", "u8", (8, 8, 1), 1.0, "rotate", {"degrees": -17.5}),
    ("rotate_f32_200", "f32", (6, 5, 2), 0.0, "rotate", {"degrees": 200.0}),
    ("rotate_u8_75_rgb", "u8", (9, 6, 3), 0.2, "rotate", {"degrees": 75.0}),
    ("shear_f32_x20", "f32", (7, 8, 2), 0.5, "shear", {"x_degrees": 20.0, "y_degrees": 0.0}),
    ("shear_u8_y_neg35", "u8", (8, 6, 3), 0.0, "shear", {"x_degrees": 0.0, "y_degrees": -35.0}),
    ("shear_f32_both", "f32", (9, 9, 1), 1.0, "shear", {"x_degrees": 15.0, "y_degrees": 10.0}),
    ("translate_f32", "f32", (6, 7, 3), 0.75, "translate", {"dx": 1.25, "dy": -2.75}),
    ("translate_u8", "u8", (7, 5, 2), 0.2, "translate", {"dx": -0.375, "dy": 0.625}),
    ("crop_resize_f32", "f32", (7, 9, 3), 0.0, "crop_resize", {"top": 1, "left": 2, "height": 4, "width": 5}),
    ("crop_resize_u8", "u8", (8, 8, 1), 0.0, "crop_resize", {"top": 3, "left": 0, "height": 5, "width": 3}),
    (
        "perspective_f32",
        "f32",
        (8, 10, 3),
        0.5,
        "perspective",
        {"from": [[0, 0], [9, 0], [9, 7], [0, 7]], "to": [[1.5, 0.5], [8.0, 1.25], [9.0, 6.0], [0.25, 7.0]]},
    ),
    (
        "perspective_u8",
        "u8",
        (7, 7, 2),
        0.2,
        "perspective",
        {"from": [[1, 1], [5, 0], [6, 6], [0, 5]], "to": [[0, 0], [6, 0], [6, 6], [0, 6]]},
    ),
    ("elastic_f32_g3", "f32", (8, 8, 3), 0.25, "elastic", {"g": 3}),
    ("elastic_u8_g4", "u8", (9, 7, 1), 1.0, "elastic", {"g": 4}),
]


def tensor(name, v):
    """The two lines of array v in the golden format (values as float64)."""
    v = np.asarray(v, dtype=np.float64)
    return tensor_lines(name, v.shape, v.ravel())


def main():
    check_rotate_direction()
    fresh_dir(OUT)
    for name, dtype, (h, w, c), fill, kind, p in CASES:
        x = picture(name, dtype, h, w, c)
        cval = fill_value(dtype, fill)
        extra = []
        if kind == "rotate":
            y = ref_rotate(x, cval, p["degrees"])
        elif kind == "shear":
            y = ref_shear(x, cval, p["x_degrees"], p["y_degrees"])
        elif kind == "translate":
            y = ref_translate(x, cval, p["dx"], p["dy"])
        elif kind == "crop_resize":
            y = ref_crop_resize(x, p["top"], p["left"], p["height"], p["width"])
        elif kind == "perspective":
            y = ref_perspective(x, cval, p["from"], p["to"])
        elif kind == "elastic":
            g = p["g"]
            rng = SplitMix64(fnv1a64(name + " grid"))
            grid = np.array([(int(rng.below(257)) - 128) / 64.0 for _ in range(g * g * 2)]).reshape(g, g, 2)
            y = ref_elastic(x, cval, grid)
            extra.append(("grid", grid))
        else:
            raise ValueError(kind)
        hi = 255.0 if dtype == "u8" else 1.0
        assert y.shape == x.shape and np.all(y >= -1e-12) and np.all(y <= hi + 1e-12), name
        params = []
        for k, v in p.items():
            if isinstance(v, list):
                v = ",".join(repr(float(t)) for t in np.ravel(v))
            params.append(f"{k}={v}")
        lines = [
            f"# case={name}",
            f"# kind={kind}",
            f"# numpy_version={np.__version__} scipy_version={scipy.__version__}",
            f"params dtype={dtype} fill={fill!r} " + " ".join(params),
        ]
        lines += tensor("x", x)
        for key, t in extra:
            lines += tensor(key, t)
        lines += tensor("y", y)
        with open(os.path.join(OUT, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{name}: {kind} {dtype} {h}x{w}x{c} fill={fill}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
