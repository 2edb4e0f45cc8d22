"""Arrays in: anything np.asarray takes (torch tensors too) checked for kind,
shape and size, and made C-contiguous in the dtype the library computes in.
The library checks the values (finite, a mask >= 0 with a positive sum,
class ids in range) and says what is wrong; what it cannot check, the size
of a buffer behind a pointer, is checked here, so that no array can make it
read or write out of bounds."""

import numpy as np

from ._lib import Batch, Error

_REAL = {"f32": np.float32, "f64": np.float64}


def as_numpy(v, what):
    """v as a numpy array without copying where possible; a torch tensor is
    detached and moved to the CPU."""
    if hasattr(v, "detach") and hasattr(v, "cpu"):
        if getattr(v, "is_meta", False):
            raise Error(f"{what}: a tensor on the meta device has no values to copy")
        try:
            v = v.detach().cpu()
            if hasattr(v, "resolve_conj"):
                v = v.resolve_conj()
            if str(v.dtype) == "torch.bfloat16":  # numpy has no bfloat16; float32 holds it exactly
                v = v.float()
            v = v.numpy()
        except (TypeError, RuntimeError, NotImplementedError) as e:
            raise Error(f"{what}: a tensor of {v.dtype} numpy cannot take ({e})") from None
    try:
        a = np.asarray(v)
    except Exception as e:  # ragged lists and the like
        raise Error(f"{what}: not an array ({e})") from None
    return a


def real(v, what, dtype, shape=None, time_first=False):
    """A C-contiguous real array of dtype ('f32' or 'f64') with the given
    shape (None entries: any size >= 1); time_first: v is a sequence given
    time first, (T, B, ...), and comes back batch first (B, T, ...)."""
    a = as_numpy(v, what)
    if a.dtype.kind not in "fiub":
        raise Error(f"{what}: expected real numbers, got an array of {a.dtype}")
    a = to_batch_first(a, time_first)
    if shape is not None:
        check_shape(a, what, shape, time_first)
    return np.ascontiguousarray(a, dtype=_REAL[dtype])


def ids(v, what, shape, upper, time_first=False):
    """Integer class or input ids (int32, C-contiguous), each in [0, upper)."""
    a = as_numpy(v, what)
    if a.dtype.kind not in "iu":
        raise Error(f"{what}: expected integer ids, got an array of {a.dtype}")
    a = to_batch_first(a, time_first)
    check_shape(a, what, shape, time_first)
    if a.size and (a.min() < 0 or a.max() >= upper):
        bad = a[(a < 0) | (a >= upper)].flat[0]
        raise Error(f"{what}: id {int(bad)} is outside [0, {upper})")
    return np.ascontiguousarray(a, dtype=np.int32)


def to_batch_first(a, time_first):
    """A sequence given time first, (T, B, ...), as the library reads it,
    (B, T, ...) (a view); batch first or fewer than 2 axes: a itself."""
    return np.swapaxes(a, 0, 1) if time_first and a.ndim >= 2 else a


def check_shape(a, what, shape, time_first=False):
    """a has shape (None: any size >= 1); time_first: a was given time first
    and is said as given, (T, B, ...)."""
    ok = a.ndim == len(shape) and all(s is None or n == s for n, s in zip(a.shape, shape))
    if not ok or any(n < 1 for n in a.shape):
        got, want = list(a.shape), ["any" if s is None else str(s) for s in shape]
        tail = ""
        if time_first:
            got, want = swap01(got), swap01(want)
            tail = " (time first, as batch_first=False)"
        raise Error(f"{what}: shape {tuple(got)}, expected ({', '.join(want)}){tail}")
    if a.size > 2**40:
        raise Error(f"{what}: {a.size} elements are too many")


def swap01(v):
    return [v[1], v[0]] + list(v[2:]) if len(v) >= 2 else list(v)


def layout(time_first, *axes):
    """'(B, T, I)' or, time first, '(T, B, I)': how a shape is said."""
    return "(" + ", ".join(swap01(list(axes)) if time_first else axes) + ")"


def _int(n, what):
    if n >= 2**31:
        raise Error(f"{what} = {n} does not fit the library's int")
    return int(n)


def batch(cfg, x, y=None, mask=None, h0=None, c0=None, dtype="f64", need_targets=False, batch_first=True):
    """An rl_batch for model config cfg (a dict) and the arrays that back it
    (keep them alive as long as the batch). x is (B, T, I) real, or (B, T)
    integer ids made one-hot (the library then gathers rows, as for text);
    batch_first=False (PyTorch's default layout): x (T, B, I) or (T, B), y
    and mask time first too, h0 and c0 (L, B, H) in both (as PyTorch has them)."""
    I, O, L, H = cfg["input_size"], cfg["output_size"], cfg["num_layers"], cfg["hidden_size"]
    tf = not batch_first
    xa = as_numpy(x, "x")
    if xa.dtype.kind in "iu" and xa.ndim == 2:
        xi = ids(xa, "x (input ids)", (None, None), I, tf)
        xr = np.zeros(xi.shape + (I,), dtype=_REAL[dtype])
        np.put_along_axis(xr, xi[..., None], 1, axis=-1)
    elif xa.ndim == 3 or xa.dtype.kind in "fb":
        xr = real(xa, "x", dtype, (None, None, I), tf)
    else:
        raise Error(f"x: shape {tuple(xa.shape)} of {xa.dtype}: expected {layout(tf, 'B', 'T', str(I))} real inputs "
                    f"or {layout(tf, 'B', 'T')} integer ids")
    B, T = xr.shape[:2]
    keep = [xr]
    b = Batch(dtype=1 if dtype == "f64" else 0, batch=_int(B, "B"), steps=_int(T, "T"), input_size=I,
              x=xr.ctypes.data)
    if y is not None:
        if cfg["loss"] == "cross_entropy":
            ya = ids(y, "y (class ids)", (B, T), O, tf)
            b.target = ya.ctypes.data
        else:
            ya = as_numpy(y, "y")
            if O == 1 and ya.ndim == 2:
                ya = ya[..., None]
            ya = real(ya, "y", dtype, (B, T, O), tf)
            b.y = ya.ctypes.data
        keep.append(ya)
    elif need_targets:
        raise Error("y is required: " + (f"class ids {layout(tf, 'B', 'T')}" if cfg["loss"] == "cross_entropy"
                                         else f"targets {layout(tf, 'B', 'T', str(O))}"))
    for name, v, shape in (("mask", mask, (B, T)), ("h0", h0, (L, B, H)), ("c0", c0, (L, B, H))):
        if v is None:
            continue
        if name == "c0" and cfg["states"] != 2:
            raise Error(f"c0 is only for LSTM models (a cell state c); this is {cfg['cell']}")
        a = real(v, name, dtype, shape, tf and name == "mask")
        setattr(b, name, a.ctypes.data)
        keep.append(a)
    return b, keep
