"""Helpers shared by the make_*.py golden-data scripts in this folder.

The scripts are run as `python host-tests/reference/make_X.py`, so Python puts this
folder on sys.path and `from golden_common import ...` finds this file. Nothing here
imports torch, numpy or scipy: each script brings its own.

* fmt, values_line, tensor_lines, read_back: the number and tensor format of the golden
  files (see README.md): values are Python repr of an f64; a tensor is a line
  `tensor <name> <dims...>` followed by one line of prod(dims) values.
* fnv1a64, SplitMix64: the library-independent generator the inputs are drawn from.
* f32: rounding to the nearest f32.
* parse_torch_args: the `--any-torch` command line of the torch scripts.
* fresh_dir: an empty output folder.
"""

import argparse
import math
import os
import shutil
import struct

MASK64 = 0xFFFFFFFFFFFFFFFF


def f32(x):
    """Round a Python float to the nearest f32 value (returned as a float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def fmt(x):
    """One golden value: the repr of x as an f64 (shortest round-trip string)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite value in golden data")
    return repr(x)


def values_line(values):
    """A flat sequence of numbers as one line of space-separated `fmt` values."""
    return " ".join(fmt(v) for v in values)


def tensor_lines(name, shape, values):
    """The two lines of one tensor: `tensor <name> <dims...>` and its row-major values."""
    return ["tensor " + name + " " + " ".join(str(d) for d in shape), values_line(values)]


def read_back(path):
    """Parse a golden file the way the Rust side does: '#' lines skipped, then pairs of
    'tensor <name> <dims...>' and one line of prod(dims) values. Returns
    {name: (dims, values)} in file order."""
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#")]
    assert len(lines) % 2 == 0, path
    out = {}
    for head, data in zip(lines[0::2], lines[1::2]):
        w = head.split(" ")
        assert w[0] == "tensor" and len(w) >= 3 and w[1] not in out, (path, head)
        dims = tuple(int(d) for d in w[2:])
        vals = [float(v) for v in data.split(" ")]
        assert len(vals) == math.prod(dims), (path, head, len(vals))
        out[w[1]] = (dims, vals)
    return out


def fnv1a64(s):
    """FNV-1a 64-bit hash of the UTF-8 bytes of s (used to seed SplitMix64 by name)."""
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


class SplitMix64:
    """Tiny integer PRNG (Steele, Lea and Flood's SplitMix64) so the data does not
    depend on any library's generator."""

    def __init__(self, seed):
        self.s = seed & MASK64

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """Integer in [0, n) (n is tiny against 2^64, the modulo bias is negligible)."""
        return self.next_u64() % n

    def ticks(self, lo, hi):
        """Integer k in [lo, hi)."""
        return lo + self.below(hi - lo)

    def uniform(self):
        """Float in [0, 1): the top 53 bits of one draw."""
        return (self.next_u64() >> 11) / float(1 << 53)

    def sign(self):
        """+1.0 or -1.0 from the top bit of one draw."""
        return 1.0 if self.next_u64() >> 63 else -1.0


def parse_torch_args(description, torch_version, expected):
    """Parse `--any-torch`; exit unless torch_version (torch.__version__) is `expected`
    (its part before any '+') or --any-torch was given."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--any-torch", action="store_true", help="run with a torch version other than " + expected)
    args = ap.parse_args()
    if torch_version.split("+")[0] != expected and not args.any_torch:
        raise SystemExit(f"torch {torch_version} found, the goldens were made with {expected}; "
                         f"install torch=={expected} or pass --any-torch")
    return args


def fresh_dir(path):
    """Delete the folder path with everything in it (if it exists) and create it empty."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
