#!/usr/bin/env python3
"""PyTorch golden data for microtrain's layers: forward, input gradient, parameter gradients.

Generated with PyTorch 2.15.0 (torch.__version__ == "2.15.0+cu132", the default
PyPI Linux wheel, run on CPU only), Python 3.11.7.

Run (from the repository root):

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.15.0
    /tmp/torchenv/bin/python host-tests/reference/make_layers.py

It rewrites host-tests/reference/golden/layers/ (and nothing else) and prints one
line per case.  With another torch version it refuses to run unless --any-torch
is given; every file records the version that actually produced it.

What it does
------------
For every case in CASES (a convolution, pooling, normalisation layer or a ResNet
basic block):

* x, every parameter and the upstream gradient dy are drawn from the SplitMix64
  generator below, seeded by the FNV-1a hash of the case name.  Every value is
  exactly representable in f32 (a multiple of 1/1024, or 1/2048 for the
  batch-norm inputs), so a Rust f32 implementation reading the file starts from
  exactly the same numbers:
    - x, dy:               multiples of 1/1024 in [-2, 2);
    - conv weight, bias:   multiples of 1/1024 in [-b, b), b = 1/sqrt(fan_in),
                           fan_in = in_channels/groups * kernel size;
    - norm weight (gamma): multiples of 1/1024 in [0.5, 1.5);
    - norm bias (beta):    multiples of 1/1024 in [-0.5, 0.5);
    - max-pooling inputs:  distinct values (drawn without replacement), so no
                           window has two equal maxima -- except in the
                           deliberate maxpool2d_ties case;
    - batch-norm inputs:   per channel an offset (multiple of 1/4 in [-1, 1)) plus
                           a scale (0.5, 1 or 2) times a value in [-2, 2), so the
                           mean subtraction and the variance are not trivial.
* The module runs in train mode in torch float64:
      y = m(x);  (y * dy).sum().backward()
  and the file gets y, x.grad and every parameter's .grad by state-dict name.
* Modules with batch norm then run two more train-mode forwards on x2, x3 (under
  no_grad, no parameter change), write every running_mean / running_var (after
  the three forwards, PyTorch defaults: momentum 0.1, initial 0 / 1, the
  running variance uses the UNBIASED batch variance while the normalisation
  uses the biased one), switch to eval() and write y_eval = m(x4).
* The same is run in torch float32; the header gets the deviation
      max_i |v32_i - v64_i| / max(1, |v64_i|)
  over every computed tensor (f32_vs_f64_max_rel_dev; the same normalisation
  as the Rust comparison |ours - torch| <= tol * max(1, |torch|)) and per tensor;
  also against each tensor's own scale,
      max_i |v32_i - v64_i| / max(1, max_j |v64_j|)
  (f32_vs_f64_max_scaled_dev).  Sums with cancellation (a weight gradient of
  entries up to ~50 with some entries near 1, the 2-element groups of
  groupnorm1d_g3) are where the two differ.
* Every case is recomputed by the plain-Python re-implementations in this file
  (ref_* functions: explicit loops for convolution and pooling, the closed-form
  normalisation backward), and the script fails if any written tensor deviates
  from torch float64 by more than 1e-10 * max(1, |torch|).
* For the basic blocks the seed is advanced until every ReLU input of the
  gradient pass is at least RELU_MARGIN away from 0, so f32 rounding cannot flip
  a ReLU derivative (relu_min_abs_input in the header).
* instancenorm2d is computed with nn.GroupNorm(3, 3); the script asserts that
  nn.InstanceNorm2d(3, affine=True) gives the same results.
"""

import copy
import math
import os
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from golden_common import SplitMix64, f32, fnv1a64, fresh_dir, parse_torch_args, read_back, tensor_lines  # noqa: E402

EXPECTED_TORCH = "2.15.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden", "layers")

INDEPENDENT_TOL = 1e-10
RELU_MARGIN = 1e-3
BN_EPS = 1e-5  # the default eps of every norm layer used here
BN_MOMENTUM = 0.1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def draw_uniform(rng, shape, lo_ticks, hi_ticks):
    """Multiples of 1/1024 in [lo_ticks/1024, hi_ticks/1024)."""
    return [rng.ticks(lo_ticks, hi_ticks) / 1024.0 for _ in range(numel(shape))]


def draw_distinct(rng, shape):
    """Distinct multiples of 1/1024 in [-2, 2) (partial Fisher-Yates over all 4096 of them)."""
    pool = list(range(-2048, 2048))
    n = numel(shape)
    assert n <= len(pool)
    for i in range(n):
        j = i + rng.below(len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return [k / 1024.0 for k in pool[:n]]


def draw_bn_input(rng, shape):
    """Per channel (dim 1): offset + scale * u, u in [-2, 2); every value a multiple of 1/2048."""
    c = shape[1]
    offs = [rng.ticks(-4, 4) / 4.0 for _ in range(c)]
    scales = [(0.5, 1.0, 2.0)[rng.below(3)] for _ in range(c)]
    inner = numel(shape[2:])
    u = draw_uniform(rng, shape, -2048, 2048)
    return [offs[(i // inner) % c] + scales[(i // inner) % c] * v for i, v in enumerate(u)]


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Sequential()

    def pre_activations(self, x):
        """The two ReLU inputs (for the margin check)."""
        a1 = self.bn1(self.conv1(x))
        o = self.bn2(self.conv2(torch.relu(a1))) + self.shortcut(x)
        return a1, o

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


BLOCK_DESC_ID = ("BasicBlock(4, 4, stride=1): conv1=Conv2d(4,4,3,padding=1,bias=False), bn1=BatchNorm2d(4), "
                 "relu, conv2=Conv2d(4,4,3,padding=1,bias=False), bn2=BatchNorm2d(4), + identity, relu")
BLOCK_DESC_PROJ = ("BasicBlock(3, 6, stride=2): conv1=Conv2d(3,6,3,stride=2,padding=1,bias=False), "
                   "bn1=BatchNorm2d(6), relu, conv2=Conv2d(6,6,3,padding=1,bias=False), bn2=BatchNorm2d(6), "
                   "+ shortcut=Sequential(Conv2d(3,6,1,stride=2,bias=False), BatchNorm2d(6)), relu")

# (name, module text for the header, constructor, input shape, input kind)
# input kind: "uniform", "distinct" (max pooling), "bn" (batch-norm input), "ties"
CASES = [
    ("conv2d_k3_s1_p1", "nn.Conv2d(1, 4, 3, stride=1, padding=1)",
     lambda: nn.Conv2d(1, 4, 3, stride=1, padding=1), (2, 1, 6, 6), "uniform"),
    ("conv2d_k3_s2_p1", "nn.Conv2d(3, 5, 3, stride=2, padding=1)",
     lambda: nn.Conv2d(3, 5, 3, stride=2, padding=1), (2, 3, 7, 5), "uniform"),
    ("conv2d_k1", "nn.Conv2d(4, 6, 1)",
     lambda: nn.Conv2d(4, 6, 1), (2, 4, 4, 4), "uniform"),
    ("conv2d_k3_valid", "nn.Conv2d(2, 3, 3)",
     lambda: nn.Conv2d(2, 3, 3), (3, 2, 6, 5), "uniform"),
    ("depthwise_k3_s1_p1", "nn.Conv2d(4, 4, 3, padding=1, groups=4)",
     lambda: nn.Conv2d(4, 4, 3, padding=1, groups=4), (2, 4, 5, 5), "uniform"),
    ("depthwise_k3_s2_p1", "nn.Conv2d(3, 3, 3, stride=2, padding=1, groups=3)",
     lambda: nn.Conv2d(3, 3, 3, stride=2, padding=1, groups=3), (2, 3, 7, 7), "uniform"),
    ("conv1d_k5_p2", "nn.Conv1d(3, 4, 5, padding=2)",
     lambda: nn.Conv1d(3, 4, 5, padding=2), (2, 3, 16), "uniform"),
    ("conv1d_k3_s2", "nn.Conv1d(2, 3, 3, stride=2)",
     lambda: nn.Conv1d(2, 3, 3, stride=2), (2, 2, 11), "uniform"),
    ("maxpool2d_k2", "nn.MaxPool2d(2)",
     lambda: nn.MaxPool2d(2), (2, 3, 6, 6), "distinct"),
    ("maxpool2d_k3_s2", "nn.MaxPool2d(3, stride=2)",
     lambda: nn.MaxPool2d(3, stride=2), (2, 2, 7, 7), "distinct"),
    ("maxpool2d_ties", "nn.MaxPool2d(2)",
     lambda: nn.MaxPool2d(2), (1, 2, 4, 4), "ties"),
    ("avgpool2d_k2", "nn.AvgPool2d(2)",
     lambda: nn.AvgPool2d(2), (2, 3, 6, 6), "uniform"),
    ("avgpool2d_k3_s2", "nn.AvgPool2d(3, stride=2)",
     lambda: nn.AvgPool2d(3, stride=2), (2, 2, 7, 7), "uniform"),
    ("maxpool1d_k2", "nn.MaxPool1d(2)",
     lambda: nn.MaxPool1d(2), (2, 3, 10), "distinct"),
    ("avgpool1d_k3_s2", "nn.AvgPool1d(3, stride=2)",
     lambda: nn.AvgPool1d(3, stride=2), (2, 3, 11), "uniform"),
    ("global_avgpool", "nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())",
     lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), (2, 3, 5, 4), "uniform"),
    ("batchnorm1d", "nn.BatchNorm1d(5)",
     lambda: nn.BatchNorm1d(5), (8, 5), "bn"),
    ("batchnorm2d", "nn.BatchNorm2d(3)",
     lambda: nn.BatchNorm2d(3), (4, 3, 4, 4), "bn"),
    ("layernorm", "nn.LayerNorm(6)",
     lambda: nn.LayerNorm(6), (4, 6), "uniform"),
    ("groupnorm2d_g2", "nn.GroupNorm(2, 4)",
     lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), "uniform"),
    ("groupnorm1d_g3", "nn.GroupNorm(3, 6)",
     lambda: nn.GroupNorm(3, 6), (4, 6), "uniform"),
    ("instancenorm2d", "nn.GroupNorm(3, 3) (= nn.InstanceNorm2d(3, affine=True))",
     lambda: nn.GroupNorm(3, 3), (2, 3, 4, 4), "uniform"),
    ("basicblock_identity", BLOCK_DESC_ID,
     lambda: BasicBlock(4, 4, 1), (2, 4, 5, 5), "bn"),
    ("basicblock_projection", BLOCK_DESC_PROJ,
     lambda: BasicBlock(3, 6, 2), (2, 3, 6, 6), "bn"),
]


def ties_input():
    """(1, 2, 4, 4) for MaxPool2d(2): every window has equal maxima in a different pattern.

    a = the window's maximum, b, c smaller (b = c in the last window: a tie below the max).
      channel 0: (0,0) [a a; b c] same row   (0,1) [b a; c a] same column
                 (1,0) [b c; a a] bottom row (1,1) [a b; c a] main diagonal
      channel 1: (0,0) [a a; a a] all four   (0,1) [b a; a a] three
                 (1,0) [c a; a b] anti-diag  (1,1) [a b; b c] tie below the max only
    The maxima differ between windows.  PyTorch gives the whole gradient to the FIRST
    maximum in row-major order within the window (checked in check_ties).
    """
    pats = [
        ["aabc", "baca", "bcaa", "abca"],
        ["aaaa", "baaa", "caab", "abbc"],
    ]
    vals = {
        0: [(1.25, -0.5, 0.75), (0.5, 0.25, -1.0), (1.5, 0.125, -0.25), (0.875, -1.5, 0.625)],
        1: [(-0.375, 0.0, 0.0), (1.75, 1.0, -0.75), (0.3125, -0.125, 0.25), (1.125, 0.5, 0.5)],
    }
    x = [0.0] * 32
    for ch in range(2):
        for w in range(4):
            wi, wj = divmod(w, 2)
            a, b, c = vals[ch][w]
            for k, letter in enumerate(pats[ch][w]):
                di, dj = divmod(k, 2)
                x[ch * 16 + (2 * wi + di) * 4 + 2 * wj + dj] = {"a": a, "b": b, "c": c}[letter]
    return x


def param_draw_kind(model):
    """Map each parameter's state-dict name to how it is drawn."""
    kinds = {}
    for mname, mod in model.named_modules():
        prefix = mname + "." if mname else ""
        for pname, p in mod.named_parameters(recurse=False):
            if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
                fan_in = mod.in_channels // mod.groups * numel(mod.kernel_size)
                kinds[prefix + pname] = ("fan_in", fan_in)
            elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
                kinds[prefix + pname] = ("gamma",) if pname == "weight" else ("beta",)
            else:
                raise TypeError(f"no draw rule for {prefix}{pname} of {type(mod).__name__}")
    return kinds


def has_bn(model):
    return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules())


def draw_case(name, ctor, shape, input_kind, seed):
    """All inputs of one case as {name: (shape, flat list)} in file order (x, params, dy, x2..x4)."""
    rng = SplitMix64(seed)
    model = ctor().double()
    vals = {}

    def draw_x(s):
        if input_kind == "distinct":
            return draw_distinct(rng, s)
        if input_kind == "bn":
            return draw_bn_input(rng, s)
        if input_kind == "ties":
            return ties_input()
        return draw_uniform(rng, s, -2048, 2048)

    vals["x"] = (tuple(shape), draw_x(shape))
    kinds = param_draw_kind(model)
    for pname, p in model.named_parameters():
        k = kinds[pname]
        ps = tuple(p.shape)
        if k[0] == "fan_in":
            m = int(math.floor(1024.0 / math.sqrt(k[1])))
            vals[pname] = (ps, draw_uniform(rng, ps, -m, m))
        elif k[0] == "gamma":
            vals[pname] = (ps, draw_uniform(rng, ps, 512, 1536))
        else:
            vals[pname] = (ps, draw_uniform(rng, ps, -512, 512))
    with torch.no_grad():
        yshape = tuple(model(torch.zeros(shape, dtype=torch.float64)).shape)
    vals["dy"] = (yshape, draw_uniform(rng, yshape, -2048, 2048))
    if has_bn(model):
        for xn in ("x2", "x3", "x4"):
            vals[xn] = (tuple(shape), draw_x(shape))
    return vals


# --------------------------------------------------------------------------
# the torch run
# --------------------------------------------------------------------------

def t_of(v, dtype):
    shape, flat = v
    return torch.tensor(flat, dtype=dtype).reshape(shape)


def flat_of(t):
    return (tuple(t.shape), [float(v) for v in t.detach().double().reshape(-1).tolist()])


def torch_run(ctor, vals, dtype):
    """Outputs (name -> (shape, flat)) in file order: y, x.grad, <p>.grad, running stats, y_eval."""
    model = ctor().to(dtype)
    model.train()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(t_of(vals[pname], dtype))
    extra = {}
    if isinstance(model, BasicBlock):
        with torch.no_grad():  # on a copy: a train-mode forward updates the running stats
            a1, o = copy.deepcopy(model).pre_activations(t_of(vals["x"], dtype))
            extra["relu_min_abs_input"] = min(float(a1.abs().min()), float(o.abs().min()))
    x = t_of(vals["x"], dtype).requires_grad_(True)
    y = model(x)
    (y * t_of(vals["dy"], dtype)).sum().backward()
    out = {"y": flat_of(y), "x.grad": flat_of(x.grad)}
    for pname, p in model.named_parameters():
        out[pname + ".grad"] = flat_of(p.grad)
    if has_bn(model):
        with torch.no_grad():
            model(t_of(vals["x2"], dtype))
            model(t_of(vals["x3"], dtype))
            for bname, b in model.named_buffers():
                if bname.endswith("running_mean") or bname.endswith("running_var"):
                    out[bname] = flat_of(b)
                else:
                    assert bname.endswith("num_batches_tracked") and int(b) == 3, (bname, b)
            model.eval()
            out["y_eval"] = flat_of(model(t_of(vals["x4"], dtype)))
    return out, extra


# --------------------------------------------------------------------------
# independent plain-Python re-implementations (explicit loops, closed-form backward)
# --------------------------------------------------------------------------

def ref_conv2d(x, xs, w, ws, b, stride, pad, groups):
    """y[n,o,i,j] = b[o] + sum_{c,ki,kj} w[o,c,ki,kj] * x[n, g(o)*Cg + c, i*sh - ph + ki, j*sw - pw + kj]

    (zero outside the input).  Shapes are 4-d; 1-d convolutions use H = 1.
    Returns y, its shape, and a backward function dy -> (dx, dw, db).
    """
    N, C, H, W = xs
    O, Cg, KH, KW = ws
    sh, sw = stride
    ph, pw = pad
    assert Cg * groups == C and O % groups == 0
    Og = O // groups
    OH = (H + 2 * ph - KH) // sh + 1
    OW = (W + 2 * pw - KW) // sw + 1
    # taps[(n,o,i,j)] = list of (x index, w index)
    taps = []
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in range(OH):
                for j in range(OW):
                    t = []
                    for c in range(Cg):
                        for ki in range(KH):
                            hi = i * sh - ph + ki
                            if hi < 0 or hi >= H:
                                continue
                            for kj in range(KW):
                                wj = j * sw - pw + kj
                                if wj < 0 or wj >= W:
                                    continue
                                t.append(((((n * C) + g * Cg + c) * H + hi) * W + wj,
                                          ((o * Cg + c) * KH + ki) * KW + kj))
                    taps.append((o, t))
    y = []
    for o, t in taps:
        s = b[o] if b is not None else 0.0
        for xi, wi in t:
            s += w[wi] * x[xi]
        y.append(s)

    def backward(dy):
        dx = [0.0] * len(x)
        dw = [0.0] * len(w)
        db = [0.0] * O
        for (o, t), g in zip(taps, dy):
            db[o] += g
            for xi, wi in t:
                dx[xi] += w[wi] * g
                dw[wi] += x[xi] * g
        return dx, dw, db

    return y, (N, O, OH, OW), backward


def ref_pool2d(kind, x, xs, k, s):
    """Max or average pooling without padding, floor mode.

    max: the gradient goes to the first maximum in row-major order within the window.
    """
    N, C, H, W = xs
    kh, kw = k
    sh, sw = s
    OH = (H - kh) // sh + 1
    OW = (W - kw) // sw + 1
    wins = []
    for nc in range(N * C):
        for i in range(OH):
            for j in range(OW):
                wins.append([(nc * H + i * sh + di) * W + j * sw + dj for di in range(kh) for dj in range(kw)])
    if kind == "max":
        arg = []
        for win in wins:
            best = win[0]
            for idx in win[1:]:
                if x[idx] > x[best]:
                    best = idx
            arg.append(best)
        y = [x[a] for a in arg]
    else:
        y = [sum(x[i] for i in win) / len(win) for win in wins]

    def backward(dy):
        dx = [0.0] * len(x)
        for wi, (win, g) in enumerate(zip(wins, dy)):
            if kind == "max":
                dx[arg[wi]] += g
            else:
                for i in win:
                    dx[i] += g / len(win)
        return dx

    return y, (N, C, OH, OW), backward


def ref_normalize(x, groups, eps):
    """xhat_i = (x_i - mean_G) / sqrt(var_G + eps) over each index group G (biased variance).

    Returns xhat, per-group (mean, biased var), and the closed-form backward
    dxhat -> dx = 1/(m sigma) * (m dxhat - sum dxhat - xhat * sum(dxhat * xhat)).
    """
    xhat = [0.0] * len(x)
    stats = []
    for G in groups:
        m = len(G)
        mean = sum(x[i] for i in G) / m
        var = sum((x[i] - mean) ** 2 for i in G) / m
        inv = 1.0 / math.sqrt(var + eps)
        for i in G:
            xhat[i] = (x[i] - mean) * inv
        stats.append((mean, var, inv))

    def backward(dxhat):
        dx = [0.0] * len(x)
        for G, (_, _, inv) in zip(groups, stats):
            m = len(G)
            s1 = sum(dxhat[i] for i in G)
            s2 = sum(dxhat[i] * xhat[i] for i in G)
            for i in G:
                dx[i] = inv / m * (m * dxhat[i] - s1 - xhat[i] * s2)
        return dx

    return xhat, stats, backward


def ref_affine(xhat, chan, gamma, beta):
    """y_i = gamma[chan(i)] * xhat_i + beta[chan(i)]; backward dy -> (dxhat, dgamma, dbeta)."""
    y = [gamma[chan[i]] * v + beta[chan[i]] for i, v in enumerate(xhat)]

    def backward(dy):
        dg = [0.0] * len(gamma)
        db = [0.0] * len(beta)
        dxhat = [0.0] * len(xhat)
        for i, g in enumerate(dy):
            c = chan[i]
            dg[c] += g * xhat[i]
            db[c] += g
            dxhat[i] = gamma[c] * g
        return dxhat, dg, db

    return y, backward


def channel_layout(shape):
    """(N, C, inner) of an (N, C, ...) tensor and the channel of every flat index."""
    N, C = shape[0], shape[1]
    inner = numel(shape[2:])
    return N, C, inner, [(i // inner) % C for i in range(numel(shape))]


class RefBatchNorm:
    """Batch norm over (N, C, ...): statistics per channel over N and the spatial dims."""

    def __init__(self, gamma, beta):
        self.gamma, self.beta = gamma, beta
        self.rm = [0.0] * len(gamma)
        self.rv = [1.0] * len(gamma)

    def train_forward(self, x, shape):
        N, C, inner, chan = channel_layout(shape)
        groups = [[(n * C + c) * inner + s for n in range(N) for s in range(inner)] for c in range(C)]
        xhat, stats, nb = ref_normalize(x, groups, BN_EPS)
        m = N * inner
        for c, (mean, var, _) in enumerate(stats):
            self.rm[c] = (1 - BN_MOMENTUM) * self.rm[c] + BN_MOMENTUM * mean
            self.rv[c] = (1 - BN_MOMENTUM) * self.rv[c] + BN_MOMENTUM * var * m / (m - 1)
        y, ab = ref_affine(xhat, chan, self.gamma, self.beta)

        def backward(dy):
            dxhat, dg, db = ab(dy)
            return nb(dxhat), dg, db

        return y, backward

    def eval_forward(self, x, shape):
        _, _, _, chan = channel_layout(shape)
        return [self.gamma[c] * (v - self.rm[c]) / math.sqrt(self.rv[c] + BN_EPS) + self.beta[c]
                for v, c in zip(x, chan)]


def ref_groupnorm(x, shape, G, gamma, beta, dy):
    N, C, inner, chan = channel_layout(shape)
    cg = C // G
    groups = [[(n * C + c) * inner + s for c in range(g * cg, (g + 1) * cg) for s in range(inner)]
              for n in range(N) for g in range(G)]
    xhat, _, nb = ref_normalize(x, groups, BN_EPS)
    y, ab = ref_affine(xhat, chan, gamma, beta)
    dxhat, dg, db = ab(dy)
    return y, nb(dxhat), dg, db


def ref_relu(x):
    y = [v if v > 0 else 0.0 for v in x]
    return y, (lambda dy: [g if v > 0 else 0.0 for g, v in zip(dy, x)])


class RefBlock:
    def __init__(self, v, projection, stride):
        self.v, self.projection, self.stride = v, projection, stride
        self.bn = {k: RefBatchNorm(v[k + ".weight"][1], v[k + ".bias"][1])
                   for k in ("bn1", "bn2", "shortcut.1") if k + ".weight" in v}

    def conv(self, name, x, xs, stride, pad):
        w = self.v[name]
        return ref_conv2d(x, xs, w[1], w[0], None, (stride, stride), (pad, pad), 1)

    def forward(self, x, xs, train):
        bnf = (lambda k, t, s: self.bn[k].train_forward(t, s)) if train else \
              (lambda k, t, s: (self.bn[k].eval_forward(t, s), None))
        z1, s1, c1b = self.conv("conv1.weight", x, xs, self.stride, 1)
        a1, b1b = bnf("bn1", z1, s1)
        r1, r1b = ref_relu(a1)
        z2, s2, c2b = self.conv("conv2.weight", r1, s1, 1, 1)
        a2, b2b = bnf("bn2", z2, s2)
        if self.projection:
            zs, ss, csb = self.conv("shortcut.0.weight", x, xs, self.stride, 0)
            sc, bsb = bnf("shortcut.1", zs, ss)
        else:
            sc = x
        o = [p + q for p, q in zip(a2, sc)]
        y, rb = ref_relu(o)
        if not train:
            return y, s2, None

        def backward(dy):
            g = {}
            do = rb(dy)
            dz2, g["bn2.weight.grad"], g["bn2.bias.grad"] = b2b(do)
            dr1, g["conv2.weight.grad"], _ = c2b(dz2)
            dz1, g["bn1.weight.grad"], g["bn1.bias.grad"] = b1b(r1b(dr1))
            dx, g["conv1.weight.grad"], _ = c1b(dz1)
            if self.projection:
                dzs, g["shortcut.1.weight.grad"], g["shortcut.1.bias.grad"] = bsb(do)
                dxs, g["shortcut.0.weight.grad"], _ = csb(dzs)
            else:
                dxs = do
            g["x.grad"] = [p + q for p, q in zip(dx, dxs)]
            return g

        return y, s2, backward


def ref_case(name, vals):
    """Independent outputs of one case (name -> flat list); only the names it covers."""
    xs, x = vals["x"]
    dy = vals["dy"][1]
    out = {}
    P = {k: v[1] for k, v in vals.items()}
    if name.startswith(("conv", "depthwise")):
        ws, w = vals["weight"]
        groups = xs[1] // ws[1]
        if len(xs) == 3:  # Conv1d as Conv2d with H = 1
            mod = {"conv1d_k5_p2": (1, 2), "conv1d_k3_s2": (2, 0)}[name]
            y, _, bw = ref_conv2d(x, (xs[0], xs[1], 1, xs[2]), w, (ws[0], ws[1], 1, ws[2]), P["bias"],
                                  (1, mod[0]), (0, mod[1]), groups)
        else:
            stride, pad = {"conv2d_k3_s1_p1": (1, 1), "conv2d_k3_s2_p1": (2, 1), "conv2d_k1": (1, 0),
                           "conv2d_k3_valid": (1, 0), "depthwise_k3_s1_p1": (1, 1),
                           "depthwise_k3_s2_p1": (2, 1)}[name]
            y, _, bw = ref_conv2d(x, xs, w, ws, P["bias"], (stride, stride), (pad, pad), groups)
        out["y"] = y
        out["x.grad"], out["weight.grad"], out["bias.grad"] = bw(dy)
    elif name.startswith(("maxpool", "avgpool")):
        kind = "max" if name.startswith("max") else "avg"
        k, s = {"maxpool2d_k2": (2, 2), "maxpool2d_ties": (2, 2), "maxpool2d_k3_s2": (3, 2),
                "avgpool2d_k2": (2, 2), "avgpool2d_k3_s2": (3, 2), "maxpool1d_k2": (2, 2),
                "avgpool1d_k3_s2": (3, 2)}[name]
        if len(xs) == 3:
            y, _, bw = ref_pool2d(kind, x, (xs[0], xs[1], 1, xs[2]), (1, k), (1, s))
        else:
            y, _, bw = ref_pool2d(kind, x, xs, (k, k), (s, s))
        out["y"] = y
        out["x.grad"] = bw(dy)
    elif name == "global_avgpool":
        N, C, inner, _ = channel_layout(xs)
        out["y"] = [sum(x[(n * C + c) * inner: (n * C + c + 1) * inner]) / inner
                    for n in range(N) for c in range(C)]
        out["x.grad"] = [dy[i // inner] / inner for i in range(len(x))]
    elif name.startswith("batchnorm"):
        bn = RefBatchNorm(P["weight"], P["bias"])
        y, bw = bn.train_forward(x, xs)
        out["y"] = y
        out["x.grad"], out["weight.grad"], out["bias.grad"] = bw(dy)
        bn.train_forward(P["x2"], xs)
        bn.train_forward(P["x3"], xs)
        out["running_mean"], out["running_var"] = bn.rm, bn.rv
        out["y_eval"] = bn.eval_forward(P["x4"], xs)
    elif name == "layernorm":
        N, F = xs
        groups = [[n * F + f for f in range(F)] for n in range(N)]
        xhat, _, nb = ref_normalize(x, groups, BN_EPS)
        y, ab = ref_affine(xhat, [i % F for i in range(len(x))], P["weight"], P["bias"])
        dxhat, dg, db = ab(dy)
        out["y"], out["x.grad"], out["weight.grad"], out["bias.grad"] = y, nb(dxhat), dg, db
    elif name.startswith(("groupnorm", "instancenorm")):
        G = {"groupnorm2d_g2": 2, "groupnorm1d_g3": 3, "instancenorm2d": 3}[name]
        out["y"], out["x.grad"], out["weight.grad"], out["bias.grad"] = \
            ref_groupnorm(x, xs, G, P["weight"], P["bias"], dy)
    elif name.startswith("basicblock"):
        proj = name == "basicblock_projection"
        blk = RefBlock(vals, proj, 2 if proj else 1)
        y, _, bw = blk.forward(x, xs, True)
        out["y"] = y
        out.update(bw(dy))
        blk.forward(P["x2"], xs, True)
        blk.forward(P["x3"], xs, True)
        for k, bn in blk.bn.items():
            out[k + ".running_mean"], out[k + ".running_var"] = bn.rm, bn.rv
        out["y_eval"] = blk.forward(P["x4"], xs, False)[0]
    else:
        raise KeyError(name)
    return out


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

def max_dev(a, b):
    """max_i |a_i - b_i| / max(1, |b_i|)  (b is the reference)."""
    assert len(a) == len(b), (len(a), len(b))
    return max((abs(p - q) / max(1.0, abs(q)) for p, q in zip(a, b)), default=0.0)


def scaled_dev(a, b):
    """max_i |a_i - b_i| / max(1, max_j |b_j|): the deviation against the tensor's own scale."""
    return max((abs(p - q) for p, q in zip(a, b)), default=0.0) / max([1.0] + [abs(q) for q in b])


def check_unique_max(name, vals, k, s):
    """No window of the max-pooling input has two equal maxima (so the argmax is unambiguous).

    Returns how many inputs are the maximum of more than one window (their gradients add up).
    """
    xs, x = vals["x"]
    if len(xs) == 3:
        xs, k, s = (xs[0], xs[1], 1, xs[2]), (1, k), (1, s)
    else:
        k, s = (k, k), (s, s)
    N, C, H, W = xs
    winners = {}
    for nc in range(N * C):
        for i in range(0, H - k[0] + 1, s[0]):
            for j in range(0, W - k[1] + 1, s[1]):
                win = sorted(((x[(nc * H + i + di) * W + j + dj], (nc * H + i + di) * W + j + dj)
                              for di in range(k[0]) for dj in range(k[1])), reverse=True)
                assert win[0][0] > win[1][0], (name, "tie in window", nc, i, j)
                winners[win[0][1]] = winners.get(win[0][1], 0) + 1
    return sum(1 for n in winners.values() if n > 1)


def check_ties(vals, out):
    """In maxpool2d_ties the gradient goes to the first maximum in row-major window order."""
    x = vals["x"][1]
    dy = vals["dy"][1]
    g = out["x.grad"][1]
    for ch in range(2):
        for wi in range(2):
            for wj in range(2):
                idx = [ch * 16 + (2 * wi + di) * 4 + 2 * wj + dj for di in range(2) for dj in range(2)]
                mx = max(x[i] for i in idx)
                first = next(i for i in idx if x[i] == mx)
                for i in idx:
                    want = dy[ch * 4 + wi * 2 + wj] if i == first else 0.0
                    assert g[i] == want, ("tie rule", ch, wi, wj, i, g[i], want)
    n_tied = sum(1 for ch in range(2) for w in range(4)
                 if sum(1 for k in range(4) if x[ch * 16 + (2 * (w // 2) + k // 2) * 4 + 2 * (w % 2) + k % 2]
                        == max(x[ch * 16 + (2 * (w // 2) + q // 2) * 4 + 2 * (w % 2) + q % 2] for q in range(4))) > 1)
    assert n_tied == 7, n_tied  # every window but the last of channel 1 has tied maxima


def check_instancenorm(vals, out64):
    """nn.InstanceNorm2d(3, affine=True) gives what nn.GroupNorm(3, 3) gave."""
    m = nn.InstanceNorm2d(3, affine=True).double().train()
    with torch.no_grad():
        m.weight.copy_(t_of(vals["weight"], torch.float64))
        m.bias.copy_(t_of(vals["bias"], torch.float64))
    x = t_of(vals["x"], torch.float64).requires_grad_(True)
    y = m(x)
    (y * t_of(vals["dy"], torch.float64)).sum().backward()
    got = {"y": y, "x.grad": x.grad, "weight.grad": m.weight.grad, "bias.grad": m.bias.grad}
    dev = max(max_dev(flat_of(t)[1], out64[k][1]) for k, t in got.items())
    assert dev <= 1e-12, ("InstanceNorm2d vs GroupNorm(3, 3)", dev)
    return dev


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def write_case(name, module_desc, vals, out, header_extra):
    lines = [
        "# microtrain layer golden data, generated by host-tests/reference/make_layers.py",
        f"# torch_version={torch.__version__}",
        f"# case={name}",
        f"# module={module_desc}",
    ] + header_extra + [
        "# layout: PyTorch's (NCHW for images, NCL for signals, (N, F) for features); values row-major",
    ]

    def tensor(tname, v):
        lines.extend(tensor_lines(tname, *v))

    inputs = [k for k in vals if k not in ("x2", "x3", "x4")]
    for k in inputs:
        tensor(k, vals[k])
    for k in ("y", "x.grad"):
        tensor(k, out[k])
    for k in out:
        if k.endswith(".grad") and k != "x.grad":
            tensor(k, out[k])
    if "x2" in vals:
        tensor("x2", vals["x2"])
        tensor("x3", vals["x3"])
        for k in out:
            if k.endswith("running_mean") or k.endswith("running_var"):
                tensor(k, out[k])
        tensor("x4", vals["x4"])
        tensor("y_eval", out["y_eval"])
    names = [ln.split()[1] for ln in lines if ln.startswith("tensor ")]
    assert len(names) == len(set(names)), names
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parse_torch_args(__doc__.splitlines()[0], torch.__version__, EXPECTED_TORCH)
    torch.set_num_threads(1)
    fresh_dir(OUT)
    print(f"torch {torch.__version__}")
    worst_f32, worst_scaled, worst_ind = 0.0, 0.0, 0.0
    for name, desc, ctor, shape, input_kind in CASES:
        seed = fnv1a64(name)
        for attempt in range(100):
            vals = draw_case(name, ctor, shape, input_kind, seed)
            out64, extra = torch_run(ctor, vals, torch.float64)
            if extra.get("relu_min_abs_input", 1.0) >= RELU_MARGIN:
                break
            seed = (seed + 1) & 0xFFFFFFFFFFFFFFFF
        else:
            raise SystemExit(f"{name}: no seed with ReLU inputs away from 0")
        out32, _ = torch_run(ctor, vals, torch.float32)
        assert list(out32) == list(out64)
        for k, (s, v) in vals.items():
            for z in v:  # every input is exactly representable in f32
                assert f32(z) == z, (name, k, z)
        per = {k: max_dev(out32[k][1], out64[k][1]) for k in out64}
        per_scaled = {k: scaled_dev(out32[k][1], out64[k][1]) for k in out64}
        f32_dev = max(per.values())
        f32_scaled = max(per_scaled.values())

        ref = ref_case(name, vals)
        assert set(ref) == set(out64), (name, sorted(set(out64) ^ set(ref)))
        ind = 0.0
        for k in out64:
            d = max_dev(ref[k], out64[k][1])
            if not d <= INDEPENDENT_TOL:
                raise SystemExit(f"{name}: {k} differs from the independent re-implementation by {d:.3e}")
            ind = max(ind, d)
        notes = []
        if name.startswith("maxpool") and name != "maxpool2d_ties":
            k, s = {"maxpool2d_k2": (2, 2), "maxpool2d_k3_s2": (3, 2), "maxpool1d_k2": (2, 2)}[name]
            shared = check_unique_max(name, vals, k, s)
            if k != s:
                assert shared > 0, (name, "no input is the maximum of two overlapping windows")
                notes.append(f"# shared_maxima={shared} inputs are the maximum of 2+ overlapping windows "
                             "(x.grad adds their dy)")
        if name == "maxpool2d_ties":
            check_ties(vals, out64)
            notes.append("# ties=7 of the 8 windows have equal maxima; the gradient goes to the first "
                         "maximum in row-major order within the window")
        if name == "instancenorm2d":
            d = check_instancenorm(vals, out64)
            notes.append(f"# instancenorm2d_vs_groupnorm_max_dev={d:.3e}")

        header = [
            f"# f32_vs_f64_max_rel_dev={f32_dev:.3e}",
            f"# f32_vs_f64_max_scaled_dev={f32_scaled:.3e}",
            "# f32_vs_f64_dev_per_tensor=" + ",".join(f"{k}:{d:.1e}" for k, d in per.items()),
            "# f32_vs_f64_scaled_dev_per_tensor=" + ",".join(f"{k}:{d:.1e}" for k, d in per_scaled.items()),
            f"# independent_check_max_dev={ind:.3e}",
            f"# seed={seed:#018x}",
        ]
        if "relu_min_abs_input" in extra:
            header.append(f"# relu_min_abs_input={extra['relu_min_abs_input']:.4g}")
        if "x2" in vals:
            header.append(f"# batch_norm=momentum {BN_MOMENTUM}, eps {BN_EPS}; running stats start at 0 / 1 and are "
                          "written after the train-mode forwards on x, x2, x3; running_var uses the unbiased "
                          "batch variance (m/(m-1)), the normalisation the biased one; y_eval = eval-mode output on x4")
        header += notes
        write_case(name, desc, vals, out64, header)
        back = read_back(os.path.join(OUT, name + ".txt"))
        assert back == {**vals, **out64}, (name, "file does not read back as written")
        worst_f32 = max(worst_f32, f32_dev)
        worst_scaled = max(worst_scaled, f32_scaled)
        worst_ind = max(worst_ind, ind)
        print(f"{name:24s} f32 dev {f32_dev:.2e} (scaled {f32_scaled:.2e})  independent {ind:.2e}"
              + (f"  relu margin {extra['relu_min_abs_input']:.3g}" if "relu_min_abs_input" in extra else ""))
    print(f"{len(CASES)} cases; max f32-vs-f64 deviation {worst_f32:.3e} (scaled {worst_scaled:.3e}); "
          f"max independent-check deviation {worst_ind:.3e} (limit {INDEPENDENT_TOL:.0e})")


if __name__ == "__main__":
    main()
