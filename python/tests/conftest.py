"""The Python tests: this checkout's package (python/) on this checkout's
library (build/, found by the package itself), PyTorch as the reference,
and the command line (build/rnnlab, or RNNLAB_CLI) for the files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
