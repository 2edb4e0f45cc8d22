#!/usr/bin/python3
"""PyTorch "peers" of rnnlab's lru / mingru / minlstm, written the way the authors' code runs
them, for speed comparison; and the benchmark ("character workload").

    /usr/bin/python3 peers.py check            # every peer against the reference loop (diag_cells)
    /usr/bin/python3 peers.py bench [--runs 7] [--warmup 1] [--json out.json] [--only SUBSTR ...]
                                    [--malloc tuned] [--omp-passive] [--openblas1]
    (docs/performance.md: --malloc tuned --omp-passive, and why)

The peers read the parameters of a diag_cells.DiagRNN (the spec's tensors), so each can be
checked against the reference loop. What each is:

  min_scan (mingru, minlstm)      the spec's equations (plain h~, any sign) by a parallel scan
                                  in log space: log-magnitude cumulative sums and
                                  torch.logcumsumexp, values split by sign into two streams
                                  (see scan_signed). Equal to the reference to rounding.
  min_assoc (mingru, minlstm)     the spec's equations by a Hillis-Steele associative scan in
                                  linear space (scan_linear; minimal-LRU's binary operator with a
                                  time-varying a): no logs, no division, any signs.
  min_logg (mingru, minlstm)      the authors' log-space form (Feng et al. 2024 appendix B.3;
                                  BorealisAI/minRNNs models/minRNNs.py; lucidrains/minGRU-pytorch
                                  minGRU.py, minLSTM.py): h~ = g(a_h) > 0, one logcumsumexp
                                  (Heinsen's scan). A DIFFERENT model from the spec (g applied to
                                  h~); timed for comparison, checked against a loop with g.
  lru_loop                        complex tensors, loop over t with .unbind(1) (what a PyTorch port
                                  of minimal-LRU's recurrence does without a scan primitive)
  lru_scan                        complex tensors, Hillis-Steele associative scan in ceil(log2 T)
                                  doubling steps (minimal-LRU runs jax.lax.associative_scan with
                                  binary_operator_diag; lam is the same at every t, so A_j * A_i is
                                  lam^d, computed once per level)
  reference                       diag_cells.DiagRNN.forward: the real-arithmetic loop
  torch GRU / LSTM                nn.GRU / nn.LSTM (H = 128), for context only
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diag_cells as dc  # noqa: E402

NEG_INF = float("-inf")


# ------------------------------------------------------------------ scans

def heinsen_scan_log(log_a, log_v):
    """h_t = a_t h_{t-1} + v_t, h_0 = 0, for v_t > 0, all in log space (Heinsen 2023):
    a*_t = sum_{r<=t} log a_r,  log h_t = a*_t + logcumsumexp_t(log v - a*). Returns log h."""
    a_star = torch.cumsum(log_a, 1)
    return a_star + torch.logcumsumexp(log_v - a_star, 1)


def _log_pos(v):
    """log v where v > 0, -inf elsewhere; the gradient is 0 (not NaN) at the -inf entries."""
    pos = v > 0
    return torch.where(pos, torch.log(torch.where(pos, v, torch.ones_like(v))), torch.full_like(v, NEG_INF))


def scan_signed(log_a, v, h0=None):
    """h_t = a_t h_{t-1} + v_t (t = 1..T) for a_t = exp(log_a_t) > 0 and v_t, h_0 of any sign.

    h_t = A_t h_0 + sum_{s<=t} (A_t / A_s) v_s,  A_t = prod_{r<=t} a_r. Split v = v+ - v-
    (v+ = max(v, 0), v- = max(-v, 0)) and run Heinsen's scan on each stream; the stream of a sign
    holds log|v_s| where v_s has that sign and -inf elsewhere. Step 0 of both streams holds an
    anchor: c + h_0 in the positive and c in the negative one, c = 1 + |h_0| (no gradient), so
    that every prefix has a finite log-sum (torch 1.13's logcumsumexp backward gives NaN where a
    prefix is all -inf) and the anchors cancel exactly in exact arithmetic: the difference
    carries A_t h_0. Rounding: |error| ~ eps * (|P_t| + |N_t|), where P_t, N_t are the two
    streams' values (each <= |h_0| + 1 + sum |v| along the decay), plus eps * |a*_t| relative
    from adding the log-magnitudes (a*_t ~ -T * mean(-log a), so float32 loses accuracy on long
    sequences with fast decay, as the authors' form does)."""
    B, T, H = v.shape
    if h0 is None:
        h0 = v.new_zeros(B, H)
    c = 1 + h0.detach().abs()
    la = torch.cat([v.new_zeros(B, 1, H), log_a], 1)
    lp = torch.cat([torch.log(c + h0)[:, None], _log_pos(v)], 1)
    ln = torch.cat([torch.log(c)[:, None], _log_pos(-v)], 1)
    hp = torch.exp(heinsen_scan_log(la, lp))
    hn = torch.exp(heinsen_scan_log(la, ln))
    return (hp - hn)[:, 1:]


def scan_linear(a, v, h0=None):
    """h_t = a_t h_{t-1} + v_t (t = 1..T), any signs, by a Hillis-Steele associative scan in linear
    space: the elements (A_t, b_t) = (a_t, v_t) compose as (A_j A_i, A_j b_i + b_j) (the operator of
    minimal-LRU's binary_operator_diag); after level j, b_t = sum over the last 2^j steps. No logs
    and no division: products of a in (0, 1] only shrink (they underflow to 0, the right limit),
    so it is as accurate as the loop. h_0 enters as v_1 + a_1 h_0."""
    if h0 is not None:
        v = torch.cat([v[:, :1] + a[:, :1] * h0[:, None], v[:, 1:]], 1)
    T, d, A, b = v.shape[1], 1, a, v
    while d < T:
        b = torch.cat([b[:, :d], b[:, d:] + A[:, d:] * b[:, :-d]], 1)
        if 2 * d < T:
            A = torch.cat([A[:, :d], A[:, d:] * A[:, :-d]], 1)
        d *= 2
    return b


def g(x):
    """The authors' positive 'activation' for h~ (appendix B.3): x + 1/2 for x >= 0, sigmoid(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x):
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


# ------------------------------------------------------------ the peers

def _proj(rnn, k, u):
    return u @ getattr(rnn, f"weight_ih_l{k}").T + getattr(rnn, f"bias_ih_l{k}")


def _stack(rnn, x, h0, layer):
    """The layers in turn: layer(a, h0_k) maps the layer's input projection a (B, T, gates * H)
    and its initial state (or None) to its outputs (B, T, H). Returns the last layer's outputs
    and the final states (L, B, H)."""
    inp, hT = x, []
    for k in range(rnn.num_layers):
        inp = layer(_proj(rnn, k, inp), None if h0 is None else h0[k])
        hT.append(inp[:, -1])
    return inp, torch.stack(hT)


def _min_gates(rnn, a):
    """(log a_t, log b_t, a_h) of h_t = a_t h_{t-1} + b_t h~_t: minGRU's a = 1 - z, b = z;
    minLSTM's normalised a = f', b = i' (log f' = -softplus(d), d = softplus(-af) - softplus(-ai))."""
    H = rnn.hidden_size
    if rnn.cell == "mingru":
        az = a[..., :H]
        return -F.softplus(az), -F.softplus(-az), a[..., H:]
    d = F.softplus(-a[..., :H]) - F.softplus(-a[..., H:2 * H])
    return -F.softplus(d), -F.softplus(-d), a[..., 2 * H:]


def min_scan(rnn, x, h0=None):
    """The spec's minGRU / minLSTM (h~ = a_h, plain), parallel over t by scan_signed."""
    def layer(a, h0k):
        log_a, log_b, ah = _min_gates(rnn, a)
        return scan_signed(log_a, torch.exp(log_b) * ah, h0k)
    return _stack(rnn, x, h0, layer)


def min_assoc(rnn, x, h0=None):
    """The spec's minGRU / minLSTM by scan_linear (a = 1 - z or f', v = z h~ or i' h~)."""
    H = rnn.hidden_size

    def layer(a, h0k):
        if rnn.cell == "mingru":
            z = torch.sigmoid(a[..., :H])
            return scan_linear(1 - z, z * a[..., H:], h0k)
        f, i = torch.sigmoid(a[..., :H]), torch.sigmoid(a[..., H:2 * H])
        return scan_linear(f / (f + i), i / (f + i) * a[..., 2 * H:], h0k)
    return _stack(rnn, x, h0, layer)


def min_logg(rnn, x):
    """The authors' minGRU / minLSTM (log-space, h~ = g(a_h) > 0, h_0 = 0): one Heinsen scan."""
    def layer(a, _):
        log_a, log_b, ah = _min_gates(rnn, a)
        return torch.exp(heinsen_scan_log(log_a, log_b + log_g(ah)))
    return _stack(rnn, x, None, layer)[0], None


def g_loop(rnn, x):
    """The authors' g-form by a plain loop (to check min_logg)."""
    H, inp = rnn.hidden_size, x
    for k in range(rnn.num_layers):
        a = _proj(rnn, k, inp)
        h, outs = torch.zeros_like(a[:, 0, :H]), []
        for at in a.unbind(1):
            if rnn.cell == "mingru":
                z = torch.sigmoid(at[:, :H])
                h = (1 - z) * h + z * g(at[:, H:])
            else:
                f, i = torch.sigmoid(at[:, :H]), torch.sigmoid(at[:, H:2 * H])
                h = f / (f + i) * h + i / (f + i) * g(at[:, 2 * H:])
            outs.append(h)
        inp = torch.stack(outs, 1)
    return inp, None


def _lru_complex(rnn, k):
    ctype = torch.complex128 if getattr(rnn, f"nu_log_l{k}").dtype == torch.float64 else torch.complex64
    log_lam = torch.complex(-torch.exp(getattr(rnn, f"nu_log_l{k}")), torch.exp(getattr(rnn, f"theta_log_l{k}")))
    Bc = torch.complex(getattr(rnn, f"B_re_l{k}"), getattr(rnn, f"B_im_l{k}")) \
        * torch.exp(getattr(rnn, f"gamma_log_l{k}"))[:, None].to(ctype)
    Cc = torch.complex(getattr(rnn, f"C_re_l{k}"), getattr(rnn, f"C_im_l{k}"))
    return log_lam, Bc, Cc, ctype


def _lru_out(rnn, k, xs, Cc, inp):
    pre = (xs @ Cc.T).real + inp @ getattr(rnn, f"D_l{k}").T
    return dc.activation_fn(rnn.activation)(pre)


def _complex_h0(rnn, h0, k):
    if h0 is None:
        return None
    N = rnn.state_size
    return torch.complex(h0[k][:, :N], h0[k][:, N:])


def lru_loop(rnn, x, h0=None):
    """Complex LRU, x_t = lam x_{t-1} + (gamma B) u_t by a loop over Bu.unbind(1)."""
    inp, hT = x, []
    for k in range(rnn.num_layers):
        log_lam, Bc, Cc, ctype = _lru_complex(rnn, k)
        lam = torch.exp(log_lam)
        bu = inp.to(ctype) @ Bc.T  # (B, T, N)
        s = _complex_h0(rnn, h0, k)
        s = torch.zeros_like(bu[:, 0]) if s is None else s
        xs = []
        for b in bu.unbind(1):
            s = lam * s + b
            xs.append(s)
        xs = torch.stack(xs, 1)
        inp = _lru_out(rnn, k, xs, Cc, inp)
        hT.append(torch.cat([s.real, s.imag], -1))
    return inp, torch.stack(hT)


def lru_scan(rnn, x, h0=None):
    """Complex LRU by a Hillis-Steele scan: after level j, xs_t = sum_{t-2^j < s <= t} lam^{t-s} b_s."""
    inp, hT = x, []
    for k in range(rnn.num_layers):
        log_lam, Bc, Cc, ctype = _lru_complex(rnn, k)
        xs = inp.to(ctype) @ Bc.T
        T, d = xs.shape[1], 1
        lam_d = torch.exp(log_lam)
        while d < T:
            xs = torch.cat([xs[:, :d], xs[:, d:] + lam_d * xs[:, :-d]], 1)
            lam_d = lam_d * lam_d
            d *= 2
        s0 = _complex_h0(rnn, h0, k)
        if s0 is not None:  # + lam^t x_0
            t = torch.arange(1, T + 1, dtype=log_lam.real.dtype)
            xs = xs + torch.exp(t[:, None] * log_lam[None, :])[None] * s0[:, None]
        inp = _lru_out(rnn, k, xs, Cc, inp)
        hT.append(torch.cat([xs[:, -1].real, xs[:, -1].imag], -1))
    return inp, torch.stack(hT)


def reference(rnn, x, h0=None):
    return rnn(x, h0)


PEERS = {
    cell: {"reference": reference, "scan (log-space, signed)": min_scan,
           "scan (linear, Hillis-Steele)": min_assoc, "logg (authors, g)": min_logg}
    for cell in ("mingru", "minlstm")
} | {
    "lru": {"reference": reference, "loop (complex, unbind)": lru_loop, "scan (complex, Hillis-Steele)": lru_scan},
}


# --------------------------------------------------------------- checks

def check():
    """Every peer against the reference loop (float64; float32 on the benchmark's shape)."""
    torch.manual_seed(0)
    worst = {}
    for cell in ("lru", "mingru", "minlstm"):
        for dtype, (B, T, I, H, L), tol in ((torch.float64, (3, 37, 4, 5, 3), 1e-11),
                                            (torch.float32, (4, 1000, 65, 128, 1), None)):
            g = torch.Generator().manual_seed(11)
            rnn = dc.DiagRNN(cell, I, H, L, state_size=H + 1 if (cell == "lru" and L > 1) else H,
                             activation="tanh" if L > 1 else "gelu", dtype=dtype, generator=g,
                             r_min=0.5, r_max=0.99)
            x = torch.randn(B, T, I, generator=g, dtype=torch.float64).to(dtype)
            h0 = (0.7 * torch.randn(L, B, rnn.width, generator=g, dtype=torch.float64)).to(dtype)
            for use_h0 in (False, True):
                hh = h0 if use_h0 else None
                with torch.no_grad():
                    ref, refT = rnn(x, hh)
                    for name, fn in PEERS[cell].items():
                        if name == "reference":
                            continue
                        if name.startswith("logg"):
                            if use_h0:
                                continue
                            want, _ = g_loop(rnn, x)
                            got, _ = fn(rnn, x)
                        else:
                            want = ref
                            got, gotT = fn(rnn, x, hh)
                            e = ((gotT - refT).abs().max() / refT.abs().max()).item()
                            worst[(cell, name, str(dtype), use_h0, "hT")] = e
                        err = ((got - want).abs().max() / want.abs().max()).item()
                        worst[(cell, name, str(dtype), use_h0, "out")] = err
                        if tol is not None:
                            assert err < tol, (cell, name, dtype, use_h0, err)
    # gradients of the scans against the reference (float64)
    for cell in ("lru", "mingru", "minlstm"):
        g = torch.Generator().manual_seed(12)
        rnn = dc.DiagRNN(cell, 3, 4, 2, dtype=torch.float64, generator=g, r_min=0.5, r_max=0.99)
        x = torch.randn(2, 23, 3, generator=g, dtype=torch.float64)
        h0 = torch.randn(2, 2, rnn.width, generator=g, dtype=torch.float64)
        w = torch.randn(2, 23, 4, generator=g, dtype=torch.float64)
        grads = {}
        for name, fn in PEERS[cell].items():
            if name.startswith("logg"):
                continue
            rnn.zero_grad()
            hh = h0.clone().requires_grad_()
            out, _ = fn(rnn, x, hh)
            (out * w).sum().backward()
            grads[name] = torch.cat([p.grad.reshape(-1) for p in rnn.parameters()] + [hh.grad.reshape(-1)])
        for name, gr in grads.items():
            err = ((gr - grads["reference"]).abs().max() / grads["reference"].abs().max()).item()
            worst[(cell, name, "grad f64", True, "grad")] = err
            assert err < 1e-11, (cell, name, err)
    for key, e in worst.items():
        print(f"{key[0]:8s} {key[1]:32s} {key[2]:14s} h0={key[3]!s:5s} {key[4]:4s} max rel err {e:.2e}")
    print("peers agree with the reference")
    return worst


# ------------------------------------------------------------ benchmark

def bench(runs=7, warmup=1, json_path=None, which=None):
    """Character workload: one layer, H = N = 128, B = 32, T = 1000, one-hot inputs (65),
    head to 65 classes, cross-entropy at every step (mean over B*T), float32, SGD(lr=0.1).
    forward = the logits and the loss under no_grad; train step = zero_grad, forward, loss,
    backward, SGD step. Every timed call starts from the same parameters (restored untimed).
    The implementations are interleaved: each round times every one once (forward, then train
    step), so that slow phases of a noisy machine fall on all of them alike; `warmup` rounds are
    not counted. Each round also times a calibration kernel (ten 512x512 float32 matmuls) whose
    spread measures the machine's noise. tokens/s = B*T / median seconds (also given: / min)."""
    torch.set_num_threads(2)
    B, T, V, H = 32, 1000, 65, 128
    g = torch.Generator().manual_seed(1)
    tok = torch.randint(0, V, (B, T + 1), generator=g)
    x = F.one_hot(tok[:, :-1], V).float()
    y = tok[:, 1:]

    cases = []
    for cell in ("mingru", "minlstm", "lru"):
        for name, fn in PEERS[cell].items():
            cases.append((cell, name, fn))
    cases += [("gru", "torch nn.GRU", None), ("lstm", "torch nn.LSTM", None)]
    built = []
    for cell, name, fn in cases:
        if which and not any(w in f"{cell} {name}" for w in which):
            continue
        torch.manual_seed(0)
        if fn is None:
            mod = (torch.nn.GRU if cell == "gru" else torch.nn.LSTM)(V, H, 1, batch_first=True)
            head = torch.nn.Linear(H, V)
            params = list(mod.parameters()) + list(head.parameters())
            run = (lambda mod=mod, head=head: head(mod(x)[0]))
        else:
            net = dc.DiagNet(cell, V, H, V, 1, state_size=H, dtype=torch.float32,
                             generator=torch.Generator().manual_seed(0))
            params = list(net.parameters())
            run = (lambda fn=fn, net=net: net.head(fn(net.rnn, x)[0]))
        opt = torch.optim.SGD(params, lr=0.1)

        def fwd(run=run):
            with torch.no_grad():
                return F.cross_entropy(run().reshape(-1, V), y.reshape(-1))

        def step(run=run, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(run().reshape(-1, V), y.reshape(-1))
            loss.backward()
            opt.step()
            return loss
        built.append(dict(cell=cell, impl=name, fwd=fwd, step=step, params=params,
                          init=[q.detach().clone() for q in params], t_fwd=[], t_step=[], flt=[]))

    def restore(c):
        with torch.no_grad():
            for q, q0 in zip(c["params"], c["init"]):
                q.copy_(q0)

    ca, cb = torch.randn(512, 512, generator=g), torch.randn(512, 512, generator=g)
    calib = []
    for r in range(warmup + runs):
        t0 = time.perf_counter()
        for _ in range(10):
            ca @ cb
        tc = time.perf_counter() - t0
        for c in built:
            restore(c)
            t0 = time.perf_counter()
            c["fwd"]()
            tf = time.perf_counter() - t0
            restore(c)
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            c["step"]()
            ts = time.perf_counter() - t0
            fl = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            if r >= warmup:
                c["t_fwd"].append(tf)
                c["t_step"].append(ts)
                c["flt"].append(fl)
        if r >= warmup:
            calib.append(tc)
        print(f"round {r + 1}/{warmup + runs}{' (warm-up)' if r < warmup else ''}: calibration {tc * 1e3:.1f} ms",
              flush=True)
    rows = []
    for c in built:
        restore(c)
        tf, ts = statistics.median(c["t_fwd"]), statistics.median(c["t_step"])
        row = dict(cell=c["cell"], impl=c["impl"], forward_s=tf, step_s=ts, forward_tok_s=B * T / tf,
                   step_tok_s=B * T / ts, forward_min_s=min(c["t_fwd"]), step_min_s=min(c["t_step"]),
                   forward_runs=c["t_fwd"], step_runs=c["t_step"], step_minflt=statistics.median(c["flt"]))
        rows.append(row)
        print(f"{c['cell']:8s} {c['impl']:32s} forward {tf * 1e3:8.1f} ms (min {min(c['t_fwd']) * 1e3:7.1f}) "
              f"{B * T / tf:8.0f} tok/s   train step {ts * 1e3:8.1f} ms (min {min(c['t_step']) * 1e3:7.1f}) "
              f"{B * T / ts:8.0f} tok/s   page faults/step {row['step_minflt']:6.0f}", flush=True)
    info = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), torch=torch.__version__,
                threads=torch.get_num_threads(), python=platform.python_version(),
                cpu=_cpu_name(), nproc=os.cpu_count(), runs=runs, warmup=warmup, B=B, T=T, V=V, H=H, N=H,
                dtype="float32", blas=_blas(),
                env={k: os.environ[k] for k in list(TUNED_MALLOC) + ENV_KEYS if k in os.environ},
                calibration_ms=dict(median=statistics.median(calib) * 1e3, min=min(calib) * 1e3,
                                    max=max(calib) * 1e3))
    print(json.dumps(info))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(dict(info=info, rows=rows), f, indent=1)
    return info, rows


# glibc malloc kept from returning large blocks to the kernel: without it every (B, T, H) temporary
# of the scans is first-touched again (page faults), which on this VM costs more than the arithmetic
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "68719476736",
                "MALLOC_TOP_PAD_": "1073741824"}


ENV_KEYS = ["OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"]


def _cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _blas():
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return m.group(1) if m else "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["check", "bench"])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--only", nargs="*", help="substrings of 'cell impl' to run")
    ap.add_argument("--malloc", choices=["default", "tuned"], default="default",
                    help="tuned: re-run under TUNED_MALLOC (glibc environment variables)")
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=passive: torch's OpenMP threads sleep instead of spinning while "
                         "OpenBLAS's own threads run the GEMMs (on 2 cores the two pools otherwise fight)")
    ap.add_argument("--openblas1", action="store_true", help="OPENBLAS_NUM_THREADS=1")
    a = ap.parse_args()
    want = dict(TUNED_MALLOC) if a.malloc == "tuned" else {}
    if a.omp_passive:
        want["OMP_WAIT_POLICY"] = "passive"
    if a.openblas1:
        want["OPENBLAS_NUM_THREADS"] = "1"
    if any(os.environ.get(k) != v for k, v in want.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **want})
    if a.what == "check":
        torch.set_num_threads(2)
        check()
    else:
        bench(a.runs, a.warmup, a.json, a.only)


if __name__ == "__main__":
    main()
