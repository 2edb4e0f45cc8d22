"""m.jacobian against torch.autograd.functional.jacobian, and what the Python
layer adds to the library's own call (docs/python.md, "Speed").

A tanh nn.RNN(8, 128) in float64, one sequence of T = 100 steps. Times the
median of repeated calls of:
  torch      torch.autograd.functional.jacobian of h_T in h_0: P = dh_T/dh_0
             (vectorize=False, PyTorch's default, and vectorize=True)
  rnnlab     m.jacobian(x, lags=False): every J_t (T, S, S) and P; and
             m.jacobian(x): the same and ln||dh_T/dh_tau||_2 and _F for
             every lag (T+1 spectral norms: Lanczos on P P^T, a few O(S^2)
             steps a lag; before issue 28 an SVD each)
  library    the same library calls (rl_jac_new, rl_jac_lags, rl_jac_free)
             made straight through ctypes, into buffers allocated the same way
and checks that P agrees with PyTorch's. Usage (from a checkout, after make):
  PYTHONPATH=python /usr/bin/python3 bench/python_jacobian.py [--threads N] [--rounds R] [--json]
"""
import argparse
import ctypes
import json
import os
import statistics
import time

import numpy as np
import torch

import rnnlab
from rnnlab import _arrays
from rnnlab._lib import LagStats, fn


def interleaved(funcs, rounds):
    """Median seconds of each function, calling them in turn round after
    round, so that a busy moment of the machine falls on all of them."""
    for f in funcs.values():
        f()  # warm up
    times = {k: [] for k in funcs}
    for _ in range(rounds):
        for k, f in funcs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def bare(m, x, lags):
    """m.jacobian(x)'s library calls, made straight (no checks, no dict),
    into buffers allocated as m.jacobian allocates them."""
    T = x.shape[1]

    def call():
        b, keep = _arrays.batch(m.config, x)
        h = ctypes.c_void_p()
        fn.rl_jac_new(ctypes.byref(h), m._h, ctypes.byref(b), 0)
        S = fn.rl_jac_state_size(h)
        scale = ctypes.c_double()
        out = [np.empty((S, S)), np.empty((T, S, S))]
        if lags:
            out += [np.empty(T + 1), np.empty(T + 1)]
            st = LagStats(log_norm=out[2].ctypes.data, log_fro=out[3].ctypes.data, P=out[0].ctypes.data,
                          P_log_scale=ctypes.addressof(scale), J=out[1].ctypes.data)
            fn.rl_jac_lags(h, ctypes.byref(st))
        else:
            for t in range(T):
                fn.rl_jac_step(h, t + 1, out[1].ctypes.data + t * S * S * 8)
            fn.rl_jac_product(h, T, 0, out[0].ctypes.data, ctypes.byref(scale))
        fn.rl_jac_free(h)
        return out
    return call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    T, H, I = 100, 128, 8
    rnn = torch.nn.RNN(I, H, batch_first=True).double()
    x = torch.randn(1, T, I, dtype=torch.float64)
    xs = np.ascontiguousarray(x.numpy())
    m = rnnlab.Model.from_torch(rnn)
    h0 = torch.zeros(H, dtype=torch.float64)

    def hT(h):
        return rnn(x, h.reshape(1, 1, H))[1].reshape(-1)

    P_ref = torch.autograd.functional.jacobian(hT, h0).numpy()
    j = m.jacobian(xs)
    info = rnnlab.info()
    res = {"T": T, "H": H, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
           "rnnlab_threads": info["threads"], "rounds": a.rounds, "blas_kernel": info["blas"]["kernel_after"],
           "cpu": info["cpu"]["model_name"], "cores": os.cpu_count(), "load_before": os.getloadavg()[0],
           "max_abs_diff_P": float(np.abs(j["P"] - P_ref).max()),
           "max_rel_diff_P": float(np.abs(j["P"] - P_ref).max() / np.abs(P_ref).max())}
    t = interleaved({
        "torch": lambda: torch.autograd.functional.jacobian(hT, h0),
        "torch_vectorize": lambda: torch.autograd.functional.jacobian(hT, h0, vectorize=True),
        "rnnlab": lambda: m.jacobian(x),
        "rnnlab_no_lags": lambda: m.jacobian(x, lags=False),
        "library": bare(m, xs, True),
        "library_no_lags": bare(m, xs, False),
    }, a.rounds)
    res.update({k + "_s": v for k, v in t.items()})
    # What the Python layer itself costs a call: the same comparison on a
    # model so small (H = 2, T = 2) that the library's part is microseconds
    # and the machine's noise cannot hide the difference.
    tm, tx = rnnlab.Model.from_torch(torch.nn.RNN(2, 2, batch_first=True).double()), np.ones((1, 2, 2))
    tiny = interleaved({"rnnlab": lambda: tm.jacobian(tx), "library": bare(tm, tx, True),
                        "rnnlab_no_lags": lambda: tm.jacobian(tx, lags=False), "library_no_lags": bare(tm, tx, False)},
                       2000)
    res["layer_us"] = (tiny["rnnlab"] - tiny["library"]) * 1e6
    res["layer_no_lags_us"] = (tiny["rnnlab_no_lags"] - tiny["library_no_lags"]) * 1e6
    res["tiny_library_us"] = tiny["library"] * 1e6
    res["load_after"] = os.getloadavg()[0]
    if a.json:
        print(json.dumps(res))
        return
    print(f"tanh RNN, T = {T}, H = {H}, float64; torch {res['torch']} on {res['torch_threads']} thread(s), "
          f"rnnlab on {res['rnnlab_threads']}; medians of {a.rounds} interleaved rounds")
    rows = [("torch.autograd.functional.jacobian (P)", "torch"),
            ("  the same, vectorize=True", "torch_vectorize"),
            ("m.jacobian(x, lags=False): J and P", "rnnlab_no_lags"),
            ("  its library calls, straight", "library_no_lags"),
            ("m.jacobian(x): J, P and per-lag norms", "rnnlab"),
            ("  its library calls, straight", "library")]
    for label, k in rows:
        v = t[k]
        extra = ""
        if k.startswith("rnnlab"):
            extra = f"  {t['torch'] / v:5.1f}x torch, {t['torch_vectorize'] / v:4.1f}x vectorize"
        if k.startswith("library"):
            w = t["rnnlab" + k[len("library"):]]
            extra = f"  m.jacobian {100 * (w / v - 1):+.1f}%"
        print(f"{label:46s} {v * 1e3:9.2f} ms{extra}")
    print(f"max |P - P_torch| = {res['max_abs_diff_P']:.3g} (relative to max |P|: {res['max_rel_diff_P']:.3g})")
    print(f"the Python layer's own work a call (H = 2, T = 2, where the library takes {res['tiny_library_us']:.0f} us): "
          f"{res['layer_us']:.1f} us, {res['layer_no_lags_us']:.1f} us with lags=False; "
          f"{100 * res['layer_us'] * 1e-6 / t['library']:.3f}% and "
          f"{100 * res['layer_no_lags_us'] * 1e-6 / t['library_no_lags']:.3f}% of the calls above")


if __name__ == "__main__":
    main()
