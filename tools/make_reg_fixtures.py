#!/usr/bin/python3
"""PyTorch float64 references for the regularisers on the Jacobians (issue 15):
Pascanu's Omega and gradient flossing. Run with Debian's python3-torch (1.13):

    /usr/bin/python3 tools/make_reg_fixtures.py tests/fixtures

It writes only the files of CASES (reg_NAME.*); the output is the same bytes on
every run (one thread, seeded generators). Everything here is written from the
contracts of issue 15, independently of rnnlab's C: the cells' steps by hand
from PyTorch's documented equations (as tools/make_fixtures.py and
tools/make_cure_fixtures.py write them), J_t by torch.autograd, the QR by
torch.linalg.qr (differentiable), and every gradient by torch.autograd.

Files per case:
  reg_NAME.model.safetensors  F64 tensors with rnnlab's (PyTorch's) names; metadata
                              cell, input_size, hidden_size, num_layers, output_size, loss.
  reg_NAME.data.safetensors   x (B,T,I); y; mask (B,T); h0 (L,B,H); c0 (L,B,H) for lstm.
  reg_NAME.reg.safetensors    loss; omega.norm, omega.squared (scalars); omega.ratio
                              (L,B,T): ||J^T delta|| / ||delta||, -1 where delta = 0;
                              grad.omega.norm.<param>, grad.omega.squared.<param>: the
                              immediate gradients; floss (scalar), floss.lambda (B,k),
                              grad.floss.<param>, grad.floss.h0 (and grad.floss.c0);
                              metadata k and target.

The contracts:
- Omega (Pascanu, Mikolov & Bengio 2013, eq. 9), summed over the layers: for layer
  l, delta = dL/dh^l_{k+1} (the total derivative of the masked loss, by autograd),
  u = J^T delta with J = dh^l_{k+1}/dh^l_k within the layer (LSTM: the h block,
  c_k held), Omega_l = mean over (b, k) with delta != 0 of (|u|/|delta| - 1)^2
  ("norm"), or of (|u|^2/|delta|^2 - 1)^2 over |delta|^2 >= 1e-20 ("squared", the
  released code). The immediate gradient holds every activation and every delta:
  here the step is re-evaluated at its base point with every pre-activation
  detached except the explicit term W_hh (h - h_base) (IndRNN: u * (h - h_base)),
  and u = autograd.grad(step(h), h, delta, create_graph=True): its value is J^T
  delta, and what it depends on is what appears explicitly in J (W_hh; the leaky
  unit's theta; nothing of the gates' values). delta is detached.
- Flossing (Engelken 2023): per sequence b, s_0 = h0 (LSTM [h; c] per layer), J_t =
  ds_t/ds_{t-1} by torch.autograd.functional.jacobian with create_graph=True on the
  live trajectory, Q_0 = I[:, :k], Q_t, R_t = torch.linalg.qr(J_t Q_{t-1}),
  lambda_i = (1/T) sum_t ln|R_t[i,i]|, F = mean_b (1/k) sum_i (lambda_i - target)^2;
  gradients by autograd through everything.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import make_fixtures as mf  # noqa: E402
import safetensors_py as st  # noqa: E402

f64 = torch.float64
CE, MSE = "cross_entropy", "mse"

# name, cell, L, I, H, O, loss, B, T, k, target, seed
CASES = [
    ("tanh_l1", "tanh", 1, 3, 4, 3, CE, 2, 7, 2, 0.0, 1),
    ("tanh_l2", "tanh", 2, 2, 3, 2, MSE, 3, 6, 3, -0.1, 2),
    ("relu_l1", "relu", 1, 3, 4, 2, MSE, 2, 7, 2, 0.0, 3),
    ("linear_l2", "linear", 2, 2, 3, 3, CE, 2, 6, 3, 0.05, 4),
    ("lstm_l1", "lstm", 1, 3, 3, 3, CE, 2, 7, 4, 0.0, 5),
    ("lstm_l2", "lstm", 2, 2, 3, 2, MSE, 2, 6, 5, -0.2, 6),
    ("gru_l1", "gru", 1, 3, 4, 2, MSE, 2, 7, 3, 0.0, 7),
    ("gru_l2", "gru", 2, 2, 3, 3, CE, 2, 6, 4, 0.1, 8),
    ("leaky_l1", "leaky", 1, 3, 4, 3, CE, 2, 7, 2, 0.0, 9),
    ("leaky_l2", "leaky", 2, 2, 3, 2, MSE, 2, 6, 3, -0.05, 10),
    ("indrnn_l1", "indrnn", 1, 3, 4, 2, MSE, 2, 7, 3, 0.0, 11),
    ("indrnn_l2", "indrnn", 2, 2, 3, 3, CE, 2, 6, 2, 0.0, 12),
]

GATES = {"tanh": 1, "relu": 1, "linear": 1, "lstm": 4, "gru": 3, "leaky": 1, "indrnn": 1}
ACT = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}


def param_names(cell, L):
    names = []
    for k in range(L):
        names += [f"rnn.weight_ih_l{k}", f"rnn.weight_hh_l{k}", f"rnn.bias_ih_l{k}", f"rnn.bias_hh_l{k}"]
        if cell == "leaky":
            names.append(f"rnn.leak_l{k}")
    return names + ["head.weight", "head.bias"]


def init_params(g, cell, L, I, H, O):
    G, s = GATES[cell], 1 / math.sqrt(H)
    P = {}
    for k in range(L):
        fan = I if k == 0 else H
        P[f"rnn.weight_ih_l{k}"] = (torch.rand(G * H, fan, generator=g, dtype=f64) * 2 - 1) * s
        if cell == "indrnn":
            P[f"rnn.weight_hh_l{k}"] = 0.5 + 0.7 * torch.rand(H, generator=g, dtype=f64)
        else:  # a gain of 1.5 over PyTorch's range: ratios away from 1
            P[f"rnn.weight_hh_l{k}"] = (torch.rand(G * H, H, generator=g, dtype=f64) * 2 - 1) * 1.5 * s
        P[f"rnn.bias_ih_l{k}"] = (torch.rand(G * H, generator=g, dtype=f64) * 2 - 1) * s
        P[f"rnn.bias_hh_l{k}"] = (torch.rand(G * H, generator=g, dtype=f64) * 2 - 1) * s
        if cell in ("relu", "indrnn"):  # units on: a unit that is off is a zero row of J_t
            P[f"rnn.bias_ih_l{k}"] += 2
        if cell == "leaky":
            P[f"rnn.leak_l{k}"] = torch.randn(H, generator=g, dtype=f64)
    P["head.weight"] = (torch.rand(O, H, generator=g, dtype=f64) * 2 - 1) * s
    P["head.bias"] = (torch.rand(O, generator=g, dtype=f64) * 2 - 1) * s
    return P


def step(P, cell, k, inp, h, c=None):
    """One layer's step, batched rows (inp (B, in), h (B, H)): the new (h, c)."""
    w_ih, w_hh, b_ih, b_hh = (P[f"rnn.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    if cell == "lstm":
        zi, zf, zg, zo = (inp @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, -1)
        c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
        return torch.sigmoid(zo) * torch.tanh(c), c
    if cell == "gru":
        xr, xz, xn = (inp @ w_ih.T + b_ih).chunk(3, -1)
        hr, hz, hn = (h @ w_hh.T + b_hh).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        return (1 - z) * torch.tanh(xn + r * hn) + z * h, None
    if cell == "indrnn":
        return torch.relu(inp @ w_ih.T + b_ih + w_hh * h + b_hh), None
    a = inp @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    if cell == "leaky":
        alpha = torch.sigmoid(P[f"rnn.leak_l{k}"])
        return (1 - alpha) * h + alpha * torch.tanh(a), None
    return ACT[cell](a), None


def frozen_step(P, cell, k, inp, h_base, c_base, h):
    """The step at its base point with every pre-activation held but the
    explicit W_hh (h - h_base) term: d/dh is J, what J depends on is only what
    appears in it explicitly."""
    w_ih, w_hh, b_ih, b_hh = (P[f"rnn.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    inp, h_base = inp.detach(), h_base.detach()
    dh = h - h_base
    if cell == "lstm":
        z0 = (inp @ w_ih.T + b_ih + h_base @ w_hh.T + b_hh).detach()
        zi, zf, zg, zo = (z0 + dh @ w_hh.T).chunk(4, -1)
        c = torch.sigmoid(zf) * c_base.detach() + torch.sigmoid(zi) * torch.tanh(zg)
        return torch.sigmoid(zo) * torch.tanh(c)
    if cell == "gru":
        gi = (inp @ w_ih.T + b_ih).detach()
        w = (h_base @ w_hh.T + b_hh).detach() + dh @ w_hh.T
        xr, xz, xn = gi.chunk(3, -1)
        hr, hz, hn = w.chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        return (1 - z) * torch.tanh(xn + r * hn) + z * h
    if cell == "indrnn":
        a0 = (inp @ w_ih.T + b_ih + w_hh * h_base + b_hh).detach()
        return torch.relu(a0 + w_hh * dh)
    a = (inp @ w_ih.T + b_ih + h_base @ w_hh.T + b_hh).detach() + dh @ w_hh.T
    if cell == "leaky":
        alpha = torch.sigmoid(P[f"rnn.leak_l{k}"])
        return (1 - alpha) * h + alpha * torch.tanh(a)
    return ACT[cell](a)


def forward(P, cell, L, x, h0, c0):
    """Every layer's states: hs[k][t] (B, H) for t = 0..T (and cs for lstm), and the outputs."""
    T = x.shape[1]
    hs, cs, inp = [], [], [x[:, t] for t in range(T)]
    for k in range(L):
        h, c = h0[k], (c0[k] if c0 is not None else None)
        hk, ck = [h], [c]
        for t in range(T):
            h, c = step(P, cell, k, inp[t], h, c)
            hk.append(h)
            ck.append(c)
        hs.append(hk)
        cs.append(ck)
        inp = hk[1:]
    o = torch.stack([h @ P["head.weight"].T + P["head.bias"] for h in hs[-1][1:]], 1)
    return hs, cs, o


def omega(P, cell, L, x, hs, cs, deltas, form):
    """Omega summed over the layers, and the ratios (L, B, T)."""
    B, T = x.shape[:2]
    total = torch.zeros((), dtype=f64)
    ratio = torch.full((L, B, T), -1.0, dtype=f64)  # -1: not counted (the C reader refuses NaN)
    for k in range(L):
        terms = []
        for t in range(T):
            inp = x[:, t] if k == 0 else hs[k - 1][t + 1]
            hb = hs[k][t].detach()
            h = hb.clone().requires_grad_()
            out = frozen_step(P, cell, k, inp, hb, cs[k][t], h)
            d = deltas[k][t].detach()
            u, = torch.autograd.grad(out, h, d, create_graph=True)
            nd2, nu2 = (d * d).sum(-1), (u * u).sum(-1)
            for b in range(B):
                if not (nd2[b] > 0 if form == "norm" else nd2[b] >= 1e-20):
                    continue
                rho = torch.sqrt(nu2[b] / nd2[b])
                ratio[k, b, t] = rho.detach()
                terms.append((rho - 1) ** 2 if form == "norm" else (rho * rho - 1) ** 2)
        if terms:
            total = total + torch.stack(terms).mean()
    return total, ratio


def state_step(P, cell, L, H, x_t):
    """s_t = F(s_{t-1}, x_t) on the state of rnnlab jacobian (one sequence)."""
    w = 2 * H if cell == "lstm" else H

    def F(s):
        inp, out = x_t[None], []
        for k in range(L):
            h = s[k * w:k * w + H][None]
            c = s[k * w + H:(k + 1) * w][None] if cell == "lstm" else None
            h, c = step(P, cell, k, inp, h, c)
            out += [h[0], c[0]] if cell == "lstm" else [h[0]]
            inp = h
        return torch.cat(out)
    return F


def floss(P, cell, L, H, x, h0, c0, K, target):
    B, T = x.shape[:2]
    Fs, lams = [], []
    for b in range(B):
        parts = []
        for k in range(L):
            parts += [h0[k, b], c0[k, b]] if cell == "lstm" else [h0[k, b]]
        s = torch.cat(parts)
        S = s.numel()
        Q = torch.eye(S, dtype=f64)[:, :K]
        lam = torch.zeros(K, dtype=f64)
        for t in range(T):
            F = state_step(P, cell, L, H, x[b, t])
            J = torch.autograd.functional.jacobian(F, s, create_graph=True)
            Q, R = torch.linalg.qr(J @ Q)
            d = torch.abs(torch.diagonal(R)).detach()
            assert d.min() > 1e-6 * d.max(), ("rank-deficient: choose another case", cell, b, t, d)
            lam = lam + torch.log(torch.abs(torch.diagonal(R)))
            s = F(s)
        lam = lam / T
        lams.append(lam)
        Fs.append(((lam - target) ** 2).mean())
    return torch.stack(Fs).mean(), torch.stack(lams)


def check_trajectory(P, cell, L, H, x, h0, c0, hs, cs):
    """The state map's trajectory is the forward's (one sequence)."""
    s = torch.cat([torch.cat([h0[k, 0], c0[k, 0]]) if cell == "lstm" else h0[k, 0] for k in range(L)])
    for t in range(x.shape[1]):
        s = state_step(P, cell, L, H, x[0, t])(s)
    want = torch.cat([torch.cat([hs[k][-1][0], cs[k][-1][0]]) if cell == "lstm" else hs[k][-1][0] for k in range(L)])
    assert torch.allclose(s, want, rtol=0, atol=1e-14), (cell, s, want)


def run_case(out_dir, name, cell, L, I, H, O, loss, B, T, K, target, seed):
    g = torch.Generator().manual_seed(seed)
    P = init_params(g, cell, L, I, H, O)
    x = torch.randn(B, T, I, generator=g, dtype=f64)
    y = torch.randint(0, O, (B, T), generator=g) if loss == CE else torch.randn(B, T, O, generator=g, dtype=f64)
    mask = torch.tensor([0.0, 0.5, 1.0, 2.0], dtype=f64)[torch.randint(0, 4, (B, T), generator=g)]
    mask[0, -1] = 0  # some steps carry no loss: delta = 0 at the end of sequence 0
    mask[:, 0] = 1
    h0 = 0.5 * torch.randn(L, B, H, generator=g, dtype=f64)
    c0 = 0.5 * torch.randn(L, B, H, generator=g, dtype=f64) if cell == "lstm" else None
    names = param_names(cell, L)
    leaves = {n: P[n].clone().requires_grad_() for n in names}
    h0v = h0.clone().requires_grad_()
    c0v = c0.clone().requires_grad_() if c0 is not None else None

    hs, cs, o = forward(leaves, cell, L, x, h0v, c0v)
    lossv = mf.masked_loss(o, y, mask, loss)
    flat = [h for k in range(L) for h in hs[k][1:]]
    dflat = torch.autograd.grad(lossv, flat, retain_graph=True, allow_unused=True)
    dflat = [torch.zeros_like(h) if d is None else d for h, d in zip(flat, dflat)]
    deltas = [dflat[k * T:(k + 1) * T] for k in range(L)]
    check_trajectory(leaves, cell, L, H, x, h0, c0, [[h.detach() for h in hk] for hk in hs],
                     [[c.detach() if c is not None else None for c in ck] for ck in cs])

    out = {"loss": lossv.detach().reshape(())}
    plist = [leaves[n] for n in names]
    for form in ("norm", "squared"):
        om, ratio = omega(leaves, cell, L, x, [[h.detach() for h in hk] for hk in hs],
                          [[c.detach() if c is not None else None for c in ck] for ck in cs], deltas, form)
        grads = torch.autograd.grad(om, plist, allow_unused=True)
        out[f"omega.{form}"] = om.detach().reshape(())
        if form == "norm":
            out["omega.ratio"] = ratio
        for n, p, gr in zip(names, plist, grads):
            out[f"grad.omega.{form}.{n}"] = torch.zeros_like(p) if gr is None else gr
    # flossing: a fresh graph from the leaves
    Fv, lam = floss(leaves, cell, L, H, x, h0v, c0v, K, target)
    wrt = plist + [h0v] + ([c0v] if c0v is not None else [])
    grads = torch.autograd.grad(Fv, wrt, allow_unused=True)
    out["floss"] = Fv.detach().reshape(())
    out["floss.lambda"] = lam.detach()
    for n, p, gr in zip(names + ["h0", "c0"], wrt, grads):
        out[f"grad.floss.{n}"] = torch.zeros_like(p) if gr is None else gr

    meta = dict(cell=cell, input_size=I, hidden_size=H, num_layers=L, output_size=O, loss=loss)
    data = {"x": x, "y": y, "mask": mask, "h0": h0}
    if c0 is not None:
        data["c0"] = c0
    st.save(os.path.join(out_dir, f"reg_{name}.model.safetensors"), {n: P[n] for n in names}, meta)
    st.save(os.path.join(out_dir, f"reg_{name}.data.safetensors"), data)
    st.save(os.path.join(out_dir, f"reg_{name}.reg.safetensors"), out, dict(k=K, target=repr(target)))
    print(f"reg_{name}: loss {lossv.item():.10g}, omega {out['omega.norm'].item():.6g} / "
          f"{out['omega.squared'].item():.6g}, floss {Fv.item():.6g}, lambda {lam[0].tolist()}")


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: make_reg_fixtures.py OUT_DIR")
    torch.set_num_threads(1)
    os.makedirs(argv[1], exist_ok=True)
    for case in CASES:
        run_case(argv[1], *case)


if __name__ == "__main__":
    main(sys.argv)
