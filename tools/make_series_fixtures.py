#!/usr/bin/python3
"""Reference values for the series of the tasks mackey-glass and narma10,
computed with numpy alone, independently of rnnlab's C (src/series.c):

    /usr/bin/python3 tools/make_series_fixtures.py tests/fixtures

writes tests/fixtures/mackey_glass.safetensors (the same bytes on every run):
  history (17) F64   x(-17) .. x(-1) = 1.2 + 0.2 (U - 0.5), U from
                     numpy.random.RandomState(17)
  x (1500) F64       x(0) = 1.2, then x(1) .. x(1499) by the recipe below
  metadata           tau, a, b, p, x0, h, recipe

The recipe (ReservoirPy's reservoirpy.datasets.mackey_glass, rewritten here
from its definition): dx/dt = a x(t - tau) / (1 + x(t - tau)^p) - b x(t),
a = 0.2, b = 0.1, p = 10, tau = 17; one classical RK4 step of h = 1 per
sample, the delayed value x(t - tau) taken from the sample tau steps back and
held for all four stages.
"""
import json
import os
import struct
import sys

import numpy as np

TAU, A, B, P, X0, H, N = 17, 0.2, 0.1, 10, 1.2, 1.0, 1500


def rate(x, delayed):
    return A * delayed / (1.0 + delayed ** P) - B * x


def mackey_glass(history, n):
    """x[0..n) with x[0] = X0; history[k] = x(k - TAU)."""
    past = list(history)  # past[-TAU] is x(t - TAU) at every step
    x = np.empty(n)
    x[0] = X0
    for i in range(n - 1):
        d = past[-TAU]
        k1 = H * rate(x[i], d)
        k2 = H * rate(x[i] + k1 / 2, d)
        k3 = H * rate(x[i] + k2 / 2, d)
        k4 = H * rate(x[i] + k3, d)
        x[i + 1] = x[i] + (k1 + 2 * k2 + 2 * k3 + k4) / 6
        past.append(x[i])
    return x


def save(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    history = X0 + 0.2 * (np.random.RandomState(17).rand(TAU) - 0.5)
    x = mackey_glass(history, N)
    meta = {"tau": str(TAU), "a": str(A), "b": str(B), "p": str(P), "x0": str(X0), "h": str(H),
            "recipe": "RK4, h = 1 per sample, x(t - tau) held at the sample tau steps back"}
    save(os.path.join(out, "mackey_glass.safetensors"), {"history": history, "x": x}, meta)
    print("mackey_glass.safetensors: x in [%.6f, %.6f]" % (x.min(), x.max()))


if __name__ == "__main__":
    main()
