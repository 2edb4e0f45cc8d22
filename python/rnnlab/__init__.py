"""rnnlab from Python: a thin layer over the shared library librnnlab (ctypes),
numpy arrays in and out, no numerics of its own. docs/python.md has the
tour; the functions' docstrings say what each returns.

    import rnnlab
    m = rnnlab.Model.from_torch(rnn, head, loss="mse")
    j = m.jacobian(x)          # {"J": (T, S, S), "P": (S, S), "lag_log_norm": (T+1,), ...}
    g = m.grad(x, y)           # {"loss": ..., "rnn.weight_hh_l0": ..., "h0": ...}
    lam = m.lyapunov(steps=1000)
    run = rnnlab.train(task="adding", seq_len=100, cell="lstm", out="run")
"""
import ctypes as _ctypes
import json as _json

from . import _lib
from ._lib import Error
from .model import Model, cells, losses
from .train import Run, train, train_fields

__all__ = ["Error", "Model", "Run", "cells", "losses", "train", "train_fields", "info", "library_path",
           "__version__"]

__version__ = _lib.version
library_path = _lib.path


def info():
    """What the library runs on, as `rnnlab info --json` prints it (a dict of
    the same fields): version; blas (library, version, config, path, the
    kernel before and after rnnlab's check, the best kernel for this CPU,
    what the check did, OPENBLAS_CORETYPE, the kernel check's result and
    time, and a warning when something needs the user's attention); cpu
    (vendor, model name, microarchitecture, family, model, stepping,
    features, cores); threads; step_kernel. Importing rnnlab says nothing:
    look here (the warning) when speed or numbers look wrong."""
    p = _lib.fn.rl_system_info_json()
    if not p:
        raise Error("rnnlab.info: out of memory")
    try:
        return _json.loads(_ctypes.string_at(p).decode("utf-8", "replace"))
    finally:
        _lib.fn.rl_free(p)
