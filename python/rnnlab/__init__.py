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
import warnings as _warnings

from . import _lib
from ._lib import Error
from .model import Model, cells, losses
from .train import Run, train, train_fields

__all__ = ["Error", "Model", "Run", "cells", "losses", "train", "train_fields", "system_info", "library_path",
           "__version__"]

__version__ = _lib.version
library_path = _lib.path


def system_info():
    """What the library runs on (rnnlab info): the BLAS, its kernel before and
    after rnnlab's check, the CPU and the thread counts, as a dict."""
    si = _lib.fn.rl_system_info()
    out = {}
    for name, _ in si._fields_:
        if name == "_pad":
            continue
        v = getattr(si, name)
        out[name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    out["blas_action"] = _lib.text(_lib.fn.rl_blas_action_name(si.blas_action))
    return out


def _warn_blas():
    # the line `rnnlab` prints on stderr when the BLAS check needs the user
    w = system_info()["warning"]
    if w:
        _warnings.warn("rnnlab: " + w, RuntimeWarning, stacklevel=3)


_warn_blas()
