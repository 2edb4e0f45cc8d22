"""The Python tests: this checkout's package (python/) on this checkout's
library (build/, found by the package itself), PyTorch as the reference,
and the command line (build/rnnlab, or RNNLAB_CLI) for the files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

# One known environment for these tests and every program they start, as the
# C tests' runner gives (tests/main.c): the variables that change what rnnlab,
# OpenBLAS or a terminal do are dropped or pinned, whatever the caller set; a
# test about one of them sets it itself.
_KEEP = {"RNNLAB_CLI", "RNNLAB_LIB"}
for _k in list(os.environ):
    if (_k.startswith(("OPENBLAS_", "GOTO", "OMP_", "LC_", "RNNLAB_", "OMPI_", "PMIX_")) and _k not in _KEEP) or \
            _k in ("LANG", "LANGUAGE", "COLUMNS", "LINES", "TERM"):
        del os.environ[_k]
os.environ.update(LC_ALL="C.UTF-8", TERM="dumb")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tools"))  # safetensors_py, the fixtures' reader and writer
CLI = os.environ.get("RNNLAB_CLI", str(ROOT / "build" / "rnnlab"))


def cli(*args, cwd=None):
    """Run the rnnlab program; its stdout, or a failed test with its stderr."""
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert p.returncode == 0, f"rnnlab {' '.join(map(str, args))}: {p.stderr}"
    return p.stdout


@pytest.fixture
def run_cli():
    return cli


def close(a, b, tol=1e-10, what=""):
    """|a - b| <= tol * max(1, |b|) everywhere, or fail naming the worst element."""
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} against {b.shape}"
    err = np.abs(a - b) / np.maximum(1.0, np.abs(b))
    if a.size and not (err <= tol).all():
        i = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)), err.shape)
        raise AssertionError(f"{what}: worst at {i}: {a[i]!r} against {b[i]!r} (relative {err[i]:.3g} > {tol})")
