#!/usr/bin/python3
"""Seed inputs for the fuzzers of the data readers (tests/fuzz/npy, npz, idx,
csv; make fuzz): small valid files written by numpy itself, gzip and the
standard library, and a few broken ones. Usage: tools/make_data_seeds.py
[tests/fuzz]. Deterministic: the same files every run."""
import gzip
import io
import os
import struct
import sys
import zipfile

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz"
for d in ("npy", "npz", "idx", "csv"):
    os.makedirs(os.path.join(out, d), exist_ok=True)


def put(sub, name, data):
    with open(os.path.join(out, sub, name), "wb") as f:
        f.write(data)


def npy(a, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, a)
    else:
        np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


rng = np.random.default_rng(26)
x = rng.standard_normal((3, 4, 2)).astype("<f4")
arrays = {
    "f4": x, "f8": x.astype("<f8"), "i4": np.arange(5, dtype="<i4"), "i8": np.array([[0, 1], [2, 1]], "<i8"),
    "u1": np.arange(12, dtype="u1").reshape(3, 4), "b1": np.array([True, False, True]), "scalar": np.float32(2.5),
    "i1": np.array([-1, 2], "i1"), "i2": np.array([-300, 7], "<i2"), "empty": np.zeros((0, 3), "<f4"),
}
for k, a in arrays.items():
    put("npy", f"seed-{k}.npy", npy(np.asarray(a)))
put("npy", "seed-v2.npy", npy(x, (2, 0)))
put("npy", "seed-v3.npy", npy(x, (3, 0)))
put("npy", "seed-fortran.npy", npy(np.asfortranarray(x)))
put("npy", "seed-bigendian.npy", npy(x.astype(">f4")))
put("npy", "seed-f2.npy", npy(x.astype("<f2")))
put("npy", "seed-truncated.npy", npy(x)[:-5])

# files of sequences: each kind of target, masks and lengths
N, T, I = 4, 5, 2
xs = rng.standard_normal((N, T, I)).astype("<f4")
sets = {
    "step-real": dict(x=xs, y=rng.standard_normal((N, T, 3)).astype("<f4")),
    "step-class": dict(x=xs, y=rng.integers(0, 3, (N, T)).astype("<i8"), mask=(rng.random((N, T)) < 0.7).astype("<f4")),
    "seq-real": dict(x=xs, y=rng.standard_normal((N, 2)).astype("<f8"), lengths=np.array([5, 1, 3, 4], "<i4")),
    "seq-class": dict(x=xs, y=np.array([0, 2, 1, 1], "<i4"), mask=np.ones((N, T), bool), lengths=np.array([2, 5, 5, 1], "<i8")),
}
for k, d in sets.items():
    b = io.BytesIO()
    np.savez(b, **d)
    put("npz", f"seed-{k}.npz", b.getvalue())
    b = io.BytesIO()
    np.savez_compressed(b, **d)
    put("npz", f"seed-{k}-deflated.npz", b.getvalue())
    for name, a in d.items():
        put("npy", f"seed-{k}-{name}.npy", npy(a))
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("notes.txt", "not an array")
put("npz", "seed-not-npy.npz", b.getvalue())
put("npz", "seed-empty.npz", b"PK\x05\x06" + bytes(18))


def idx(a, code):
    head = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


img = rng.integers(0, 256, (3, 4, 4)).astype("u1")
lab = np.array([3, 0, 9], "u1")
for k, (a, code) in {"images": (img, 0x08), "labels": (lab, 0x08), "i8": (np.array([-1, 5], "i1"), 0x09),
                     "i16": (np.array([-2, 256], ">i2"), 0x0B), "i32": (np.array([[7, -7]], ">i4"), 0x0C),
                     "f32": (np.array([1.5, -2], ">f4"), 0x0D), "f64": (np.array([np.pi], ">f8"), 0x0E)}.items():
    raw = idx(a, code)
    put("idx", f"seed-{k}-ubyte", raw)
    put("idx", f"seed-{k}-ubyte.gz", gzip.compress(raw, mtime=0))
put("idx", "seed-truncated-ubyte.gz", gzip.compress(idx(img, 8), mtime=0)[:-9])

csvs = {
    "plain": "time,load,temp\n0,1.5,-3\n1,2.5,10\n2,3,0.5\n",
    "quoted": '"a, b",c\r\n"1",2\r\n" 3 ","4e2"\r\n',
    "bom": "\ufeffx,y\n1,2\n3,4\n\n",
    "ragged": "a,b\n1,2\n3\n",
    "text": "date,v\n2020-01-01,nan\n2020-01-02,7\n",
    "multiline": 'a,note\n1,"two\nlines"\n2,"say ""x"""\n',
}
for k, t in csvs.items():
    put("csv", f"seed-{k}.csv", t.encode())
