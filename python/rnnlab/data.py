"""A user's sequences as numpy arrays: saved as the library's files of
sequences (a folder of .npy files: x, y, and mask and lengths when given;
docs/files.md, "Sequence data"), trained on by rnnlab.train(x=..., y=...)
and scored by Model.evaluate. Every check of the arrays is the library's:
a malformed array is refused with its one-line message (rnnlab.Error)."""
import math
import os
import shutil
import tempfile
from ctypes import byref, c_void_p

import numpy as np

from ._lib import Error, Score, check, fn, _interrupt

_NAMES = ("x", "y", "mask", "lengths")


def save(folder, x, y, mask=None, lengths=None):
    """Write x, y (and mask, lengths) into folder as NAME.npy, C order, their
    dtypes as given (the library reads float32, float64, the integers and
    bool; anything else is refused when the data is read). An array left
    None removes its file, so that the folder holds exactly these."""
    os.makedirs(folder, exist_ok=True)
    for name, a in zip(_NAMES, (x, y, mask, lengths)):
        path = os.path.join(folder, name + ".npy")
        if a is None:
            if os.path.exists(path):
                os.remove(path)
            continue
        np.save(path, np.ascontiguousarray(np.asarray(a)), allow_pickle=False)


def split(valid):
    """valid as (x, y), (x, y, mask), (x, y, mask, lengths) or a dict of those
    names: the four arrays (None where absent)."""
    if isinstance(valid, dict):
        unknown = set(valid) - set(_NAMES)
        if unknown:
            raise Error(f"valid: unknown array {sorted(unknown)[0]!r} (valid holds x, y, mask, lengths)")
        return tuple(valid.get(n) for n in _NAMES)
    if not isinstance(valid, (tuple, list)) or not 2 <= len(valid) <= 4:
        raise Error("valid is (x, y), (x, y, mask), (x, y, mask, lengths) or a dict of them")
    return tuple(valid) + (None,) * (4 - len(valid))


def _config(fields):
    """A training configuration with the fields set through the library's
    table (its parser and ranges); keep holds the texts it points into."""
    cfg = fn.rl_train_config_new()
    if not cfg:
        raise Error("out of memory")
    keep = []
    try:
        for key, value in fields.items():
            row = fn.rl_option_find(key.encode())
            b = str(value).encode()
            keep.append(b)
            check(fn.rl_option_parse(cfg, row, b))
    except BaseException:
        fn.rl_train_config_free(cfg)
        raise
    return cfg, keep


def evaluate(model_handle, x, y, mask=None, lengths=None, batch=50, loss=None):
    """rnnlab eval --data on arrays: the model's scores on every sequence of
    (x, y) (see Model.evaluate)."""
    batch = int(batch)
    if batch < 1:
        raise Error(f"batch {batch}: at least 1")
    folder = tempfile.mkdtemp(prefix="rnnlab-data-")
    task = c_void_p()
    try:
        save(folder, x, y, mask, lengths)
        fields = {"task": "data", "text_path": folder}
        if loss is not None:
            fields["loss"] = loss
        cfg, keep = _config(fields)
        try:
            check(fn.rl_task_from_config(byref(task), cfg, 1, model_handle))
        finally:
            fn.rl_train_config_free(cfg)
        sc = Score()
        with _interrupt.guard():
            check(fn.rl_evaluate(model_handle, task, batch, 0, 0, byref(sc)))
        info = fn.rl_task_get_info(task)
    finally:
        if task:
            fn.rl_task_free(task)
        shutil.rmtree(folder, ignore_errors=True)
    out = {"loss": sc.loss_sum / sc.weight_sum, "sequences": info.val_len, "scored_steps": sc.weight_sum}
    if not math.isnan(info.baseline):
        out["baseline"] = info.baseline
    if not math.isnan(info.baseline_accuracy):
        out["baseline_accuracy"] = info.baseline_accuracy
    if sc.n_err > 0:
        out["mse"] = sc.sq_err / sc.n_err
        out["rmse"] = math.sqrt(out["mse"])
        nrmse = fn.rl_score_nrmse(byref(sc))
        if not math.isnan(nrmse):
            out["nrmse"] = nrmse
    if sc.n_items > 0:
        out["accuracy"] = sc.correct / sc.n_items
    return out
