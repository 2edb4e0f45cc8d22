#!/bin/sh
# Make sure the build's Debian packages are present. Installs them with apt-get
# when run as root; otherwise prints the exact command and fails.
# Usage: tools/deps.sh [build|fixtures|python]
# python: also what the Python package and its tests need (make test-python).
set -u
pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libcjson-dev zlib1g-dev libplplot-dev plplot-driver-cairo libpng-dev libopenmpi-dev openmpi-bin"
[ "${1:-build}" = fixtures ] && pkgs="$pkgs python3-torch"
[ "${1:-build}" = python ] && pkgs="$pkgs python3-numpy python3-torch python3-pytest python3-setuptools python3-pip"

have() {
    command -v pkg-config >/dev/null 2>&1 || return 1
    pkg-config --exists openblas lapacke libcjson zlib plplot libpng ompi-c || return 1
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
