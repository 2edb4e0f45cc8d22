"""The shared library: where it is found, and the C declarations ctypes needs.

Nothing here computes: every number comes from librnnlab. The library is
looked for, in this order (the first that loads wins):

1. ``RNNLAB_LIB``: the library file, or a folder holding librnnlab.so.0;
   when it is set and does not load, that is an error (no fallback);
2. the folders recorded when the package was installed (``make
   install-python`` records PREFIX/lib, ``pip install ./python`` in a built
   checkout records that checkout's build/);
3. build/ of the checkout, when the package is imported from python/ in it;
4. the lib folder of the prefix the package is installed under
   (PREFIX/lib/python3.X/site-packages/rnnlab -> PREFIX/lib);
5. the dynamic linker's own search (ld.so.cache, LD_LIBRARY_PATH).

Structures are mirrored with a zeroed tail (_PAD bytes): a field added at
the end of a C struct then reads as 0 (unset) instead of reading or writing
past Python's copy; python/tests/test_layout.py compiles the header and
checks every offset and size, so a changed layout fails a test rather than
a computation.
"""
import ctypes
import os
import signal
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)
from pathlib import Path

SONAME = "librnnlab.so.0"
_PAD = 256


class Error(Exception):
    """A failure the library reported: str() is its one-line message
    (rl_errmsg), .status its rl_status code, .reason rl_strerror of it."""

    def __init__(self, message, status=1, reason="invalid argument"):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _candidates():
    """(path, explicit) pairs in the order of the module docstring."""
    env = os.environ.get("RNNLAB_LIB")
    if env:
        p = Path(env)
        return [(str(p / SONAME) if p.is_dir() else str(p), True)]
    here = Path(__file__).resolve().parent
    out = []
    try:
        from . import _install
        out += [(str(Path(d) / SONAME), False) for d in _install.LIBDIRS]
    except ImportError:
        pass
    out.append((str(here.parent.parent / "build" / SONAME), False))
    out += [(str(p / SONAME), False) for p in here.parents if p.name in ("lib", "lib64")]
    out.append((SONAME, False))
    return out


def _load():
    tried = []
    for path, explicit in _candidates():
        if os.sep in path and not os.path.exists(path):
            if explicit:
                raise ImportError(f"rnnlab: RNNLAB_LIB={os.environ['RNNLAB_LIB']}: {path} does not exist")
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            if explicit:
                raise ImportError(f"rnnlab: RNNLAB_LIB={os.environ['RNNLAB_LIB']}: {e}") from None
            tried.append(f"{path} ({e})")
    raise ImportError("rnnlab: cannot find the library librnnlab.so.0; looked at: " + "; ".join(tried) +
                      ". Build it (make) or install it (make install), or set RNNLAB_LIB to its path.")


lib, path = _load()


# ---------------------------------------------------------------- structures

def _struct(name, fields):
    return type(name, (Structure,), {"_fields_": fields + [("_pad", c_char * _PAD)]})


Config = _struct("Config", [("cell", c_int), ("input_size", c_int), ("hidden_size", c_int),
                            ("num_layers", c_int), ("output_size", c_int), ("loss", c_int),
                            ("state_size", c_int), ("activation", c_int)])
TensorInfo = _struct("TensorInfo", [("name", c_char_p), ("ndim", c_int), ("shape", c_int64 * 2),
                                    ("offset", c_size_t), ("numel", c_size_t), ("fixed", c_int)])
Batch = _struct("Batch", [("dtype", c_int), ("batch", c_int), ("steps", c_int), ("input_size", c_int),
                          ("x", c_void_p), ("target", c_void_p), ("y", c_void_p), ("mask", c_void_p),
                          ("h0", c_void_p), ("c0", c_void_p)])
LagStats = _struct("LagStats", [(n, c_void_p) for n in ("log_norm", "log_fro", "log_radius", "log_grad_state",
                                                        "log_grad_last", "log_grad_bptt", "J", "P",
                                                        "P_log_scale")] + [("norm_steps", c_int), ("norm_svds", c_int),
                                                                           ("at_lag", c_void_p)])
ResumeOptions = _struct("ResumeOptions", [("steps", c_int64), ("text_path", c_char_p), ("shard", c_void_p),
                                          ("set", POINTER(c_char_p)), ("nset", c_int)])
LyapConfig = _struct("LyapConfig", [("steps", c_int), ("transient", c_int), ("k", c_int), ("input", c_int),
                                    ("noise_std", c_double), ("state", c_int), ("seed", c_uint64),
                                    ("trace_every", c_int)])
LyapInfo = _struct("LyapInfo", [("stationary", c_int), ("displacement", c_double), ("structured", c_int),
                                ("steps_done", c_int), ("traced", c_int)])
Option = _struct("Option", [("name", c_char_p), ("flag", c_char_p), ("group", c_char_p), ("type", c_int),
                            ("offset", c_size_t), ("lo", c_double), ("hi", c_double), ("num_choices", c_int),
                            ("arg", c_char_p), ("help", c_char_p), ("default_text", c_char_p),
                            ("commands", c_char_p), ("choices", c_void_p)])
Progress = _struct("Progress", [("step", c_int64), ("total", c_int64), ("loss", c_double),
                                ("grad_norm", c_double), ("lr", c_double), ("tokens_per_s", c_double),
                                ("elapsed_s", c_double), ("skipped", c_int64), ("val_loss", c_double),
                                ("val_step", c_int64), ("baseline", c_double)])
TaskInfo = _struct("TaskInfo", [("kind", c_int), ("seq_len", c_int), ("steps", c_int), ("input_size", c_int),
                                ("output_size", c_int), ("loss", c_int), ("baseline", c_double), ("vocab", c_char_p),
                                ("train_len", c_int64), ("val_len", c_int64), ("text_bytes", c_int64),
                                ("text_hash", c_uint64), ("baseline_accuracy", c_double)])
Score = _struct("Score", [(n, c_double) for n in ("loss_sum", "weight_sum", "sq_err", "n_err", "correct", "n_items",
                                                  "y_sum", "y_sq")])
# the C names of the mirrors, for python/tests/test_layout.py
MIRRORS = {"rl_config": Config, "rl_tensor_info": TensorInfo, "rl_batch": Batch, "rl_lag_stats": LagStats,
           "rl_lyap_config": LyapConfig, "rl_lyap_info": LyapInfo, "rl_option": Option,
           "rl_progress": Progress, "rl_task_info": TaskInfo, "rl_score": Score}

ProgressFn = CFUNCTYPE(c_int, c_void_p, c_char_p, c_double, c_double)
TrainProgressFn = CFUNCTYPE(None, POINTER(Progress), c_void_p)

# ---------------------------------------------------------------- functions

P = c_void_p
_PP = POINTER(c_void_p)
_S = c_int  # rl_status
_DECLS = {
    "rl_version": (c_char_p, []),
    "rl_strerror": (c_char_p, [c_int]),
    "rl_errmsg": (c_char_p, []),
    "rl_set_progress": (None, [ProgressFn, P]),
    "rl_cell_name": (c_char_p, [c_int]),
    "rl_loss_name": (c_char_p, [c_int]),
    "rl_dtype_name": (c_char_p, [c_int]),
    "rl_input_name": (c_char_p, [c_int]),
    "rl_state_name": (c_char_p, [c_int]),
    "rl_cell_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_act_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_act_name": (c_char_p, [c_int]),
    "rl_loss_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_dtype_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_input_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_state_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_cell_states": (c_int, [c_int]),
    "rl_cell_gates": (c_int, [c_int]),
    "rl_cell_equation": (c_char_p, [c_int]),
    "rl_model_new": (_S, [_PP, POINTER(Config), c_int]),
    "rl_model_new_orth": (_S, [_PP, POINTER(Config), c_int, c_int]),
    "rl_model_orthogonal": (c_int, [P]),
    "rl_orth_name": (c_char_p, [c_int]),
    "rl_orth_parse": (_S, [c_char_p, POINTER(c_int)]),
    "rl_model_cast": (_S, [_PP, P, c_int]),
    "rl_model_free": (None, [P]),
    "rl_model_config": (Config, [P]),
    "rl_model_dtype": (c_int, [P]),
    "rl_model_num_params": (c_size_t, [P]),
    "rl_model_params": (P, [P]),
    "rl_model_num_tensors": (c_int, [P]),
    "rl_model_tensor": (POINTER(TensorInfo), [P, c_int]),
    "rl_model_load": (_S, [_PP, c_char_p, c_int]),
    "rl_model_save": (_S, [P, c_char_p]),
    "rl_state_size": (c_int, [P]),
    "rl_ws_new": (_S, [_PP, P, c_int, c_int]),
    "rl_ws_free": (None, [P]),
    "rl_forward": (_S, [P, P, POINTER(Batch), POINTER(c_double)]),
    "rl_backward": (_S, [P, P, POINTER(Batch)]),
    "rl_ws_grad": (P, [P]),
    "rl_ws_grad_h0": (P, [P]),
    "rl_ws_grad_c0": (P, [P]),
    "rl_ws_outputs": (P, [P]),
    "rl_jac_new": (_S, [_PP, P, POINTER(Batch), c_int]),
    "rl_jac_free": (None, [P]),
    "rl_jac_steps": (c_int, [P]),
    "rl_jac_state_size": (c_int, [P]),
    "rl_jac_loss": (c_double, [P]),
    "rl_jac_lags": (_S, [P, POINTER(LagStats)]),
    "rl_jac_step": (_S, [P, c_int, P]),
    "rl_jac_product": (_S, [P, c_int, c_int, P, POINTER(c_double)]),
    "rl_lyapunov_ex": (_S, [P, POINTER(Batch), c_int, POINTER(LyapConfig), P, P, POINTER(LyapInfo)]),
    "rl_option_count": (c_int, []),
    "rl_option_at": (POINTER(Option), [c_int]),
    "rl_option_find": (POINTER(Option), [c_char_p]),
    "rl_option_choice": (c_char_p, [POINTER(Option), c_int]),
    "rl_option_takes": (c_int, [POINTER(Option), c_char_p]),
    "rl_option_resumable": (c_int, [POINTER(Option)]),
    "rl_option_parse": (_S, [P, POINTER(Option), c_char_p]),
    "rl_option_format": (None, [P, POINTER(Option), c_char_p, c_size_t]),
    "rl_train_config_new": (P, []),
    "rl_train_config_free": (None, [P]),
    "rl_trainer_new": (_S, [_PP, P, c_char_p]),
    "rl_trainer_resume": (_S, [_PP, c_char_p, c_int64]),
    "rl_trainer_resume_ex": (_S, [_PP, c_char_p, POINTER(ResumeOptions)]),
    "rl_trainer_run": (_S, [P, POINTER(c_int), POINTER(c_int), TrainProgressFn, P]),
    "rl_trainer_step": (c_int64, [P]),
    "rl_trainer_free": (None, [P]),
    "rl_task_from_config": (_S, [_PP, P, c_int, P]),
    "rl_task_get_info": (TaskInfo, [P]),
    "rl_task_free": (None, [P]),
    "rl_evaluate": (_S, [P, P, c_int, c_int, c_uint64, POINTER(Score)]),
    "rl_score_nrmse": (c_double, [POINTER(Score)]),
    "rl_system_info_json": (c_void_p, []),
    "rl_free": (None, [c_void_p]),
    "rl_blas_action_name": (c_char_p, [c_int]),
}


class _Functions:
    pass


fn = _Functions()
for _name, (_res, _args) in _DECLS.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"rnnlab: {path} has no {_name}: it was built from another version of rnnlab "
                          f"than this package; rebuild it (make) or point RNNLAB_LIB at a current one") from None
    _f.restype, _f.argtypes = _res, _args
    setattr(fn, _name, _f)

version = fn.rl_version().decode()


def text(b):
    return b.decode("utf-8", "replace") if b is not None else None


def check(status, msg=None):
    """Raise Error with the library's message (rl_errmsg of this thread, or
    msg when the call ran on another) unless status is RL_OK. An
    interrupted computation (Ctrl-C, through the progress hook) raises
    KeyboardInterrupt instead."""
    if status == 0:
        return
    msg = msg or text(fn.rl_errmsg()) or text(fn.rl_strerror(status))
    if status == _INTERRUPTED:
        raise KeyboardInterrupt(msg)
    raise Error(msg, status, text(fn.rl_strerror(status)))


def names(name_fn):
    """The names of a library table (rl_cell_name, rl_loss_name, ...): index
    0, 1, ... until the function says NULL."""
    out, i = [], 0
    while True:
        n = name_fn(i)
        if n is None:
            return out
        out.append(n.decode())
        i += 1


def parse(parse_fn, name):
    """A name to its enum value through the library's parser (its message
    lists the choices)."""
    v = c_int()
    if not isinstance(name, str):
        raise Error(f"expected a name, got {name!r}")
    check(parse_fn(name.encode(), ctypes.byref(v)))
    return v.value


# RL_ERR_INTERRUPTED: the position of its description in rl_strerror's table
_INTERRUPTED = next((s for s in range(1, 64) if text(fn.rl_strerror(s)) == "interrupted"), -1)

# ---------------------------------------------------------------- Ctrl-C

class _Interrupt:
    """Ctrl-C during a long library call. ctypes releases the GIL for the
    call, and CPython runs a Python signal handler only between bytecodes of
    the main thread; the library calls its progress hook (set once, below)
    from the calling thread as it goes, so the hook runs Python, the pending
    SIGINT handler runs in it, and the hook's answer stops the computation
    (RL_ERR_INTERRUPTED, nothing written). The handler is ours only for the
    duration of a call from the main thread; check() then raises
    KeyboardInterrupt, and so does the end of the call when the signal came
    after the library's last look. The trainer has its own stop flag,
    which the same handler sets (train.py)."""

    def __init__(self):
        self.requested = False

    def handler(self, signum, frame):
        self.requested = True

    def guard(self, stop_flag=None):
        return _Guard(self, stop_flag)


class _Guard:
    def __init__(self, owner, stop_flag):
        self.owner, self.stop_flag, self.old = owner, stop_flag, None

    def _handler(self, signum, frame):
        self.owner.requested = True
        if self.stop_flag is not None:
            self.stop_flag.value = 1

    def __enter__(self):
        self.owner.requested = False
        if threading.current_thread() is threading.main_thread():
            try:
                self.old = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # not the main interpreter
                self.old = None
        return self

    def __exit__(self, kind, value, tb):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        # a Ctrl-C that came after the library's last look at the flag
        if kind is None and self.owner.requested:
            self.owner.requested = False
            raise KeyboardInterrupt
        self.owner.requested = False
        return False


_interrupt = _Interrupt()


@ProgressFn
def _progress_hook(ctx, what, done, total):
    return 1 if _interrupt.requested else 0


fn.rl_set_progress(_progress_hook, None)
