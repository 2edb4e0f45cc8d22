#!/usr/bin/python3
"""Make the PyTorch reference fixtures under tests/fixtures (run with Debian's
python3-torch: `make fixtures`). For each case: a model (F64 weights, PyTorch
state_dict names), a data file, and the loss and gradients that torch.autograd
computes in float64. The C tests compare rnnlab against them; they need no
Python. One case starts from a model written by `rnnlab init`, so both
directions of the file format are exercised. `--cures DIR` makes only the
fixtures of the new cells (tools/make_cure_fixtures.py) and leaves these alone."""
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_py as st  # noqa: E402

CASES = [
    # name, cell, layers, I, H, O, loss, B, T, mask, h0
    ("tanh_l1_ce", "tanh", 1, 3, 5, 4, "cross_entropy", 2, 6, True, True),
    ("relu_l2_mse", "relu", 2, 4, 6, 2, "mse", 3, 7, True, False),
    ("linear_l3_ce", "linear", 3, 2, 4, 3, "cross_entropy", 2, 5, False, True),
    ("tanh_l2_mse", "tanh", 2, 3, 7, 3, "mse", 2, 12, True, True),
    ("relu_l3_ce", "relu", 3, 3, 5, 5, "cross_entropy", 2, 8, True, True),
    ("tanh_l3_mse_long", "tanh", 3, 2, 6, 1, "mse", 2, 40, True, True),
    ("lstm_l1_ce", "lstm", 1, 3, 5, 4, "cross_entropy", 2, 7, True, True),
    ("lstm_l2_mse", "lstm", 2, 2, 4, 3, "mse", 3, 6, True, False),
    ("lstm_l3_ce_long", "lstm", 3, 3, 4, 3, "cross_entropy", 2, 30, True, True),
    ("gru_l1_mse", "gru", 1, 3, 5, 2, "mse", 2, 7, True, True),
    ("gru_l2_ce", "gru", 2, 2, 4, 3, "cross_entropy", 3, 6, False, True),
    ("gru_l3_mse_long", "gru", 3, 3, 4, 2, "mse", 2, 30, True, True),
]


class Net(torch.nn.Module):
    def __init__(self, cell, layers, I, H, O):
        super().__init__()
        self.cell = cell
        if cell == "lstm":
            self.rnn = torch.nn.LSTM(I, H, layers, batch_first=True, dtype=torch.float64)
        elif cell == "gru":
            self.rnn = torch.nn.GRU(I, H, layers, batch_first=True, dtype=torch.float64)
        else:
            kind = {"tanh": "tanh", "relu": "relu", "linear": "tanh"}[cell]
            self.rnn = torch.nn.RNN(I, H, layers, nonlinearity=kind, batch_first=True, dtype=torch.float64)
        self.head = torch.nn.Linear(H, O, dtype=torch.float64)

    def forward(self, x, h0, c0=None):
        if self.cell == "lstm":
            out, _ = self.rnn(x, None if h0 is None else (h0, c0))
            return self.head(out)
        if self.cell != "linear":
            out, _ = self.rnn(x, h0)
            return self.head(out)
        # torch.nn.RNN has no identity nonlinearity: the same recurrence by hand
        B, T, _ = x.shape
        L, H = self.rnn.num_layers, self.rnn.hidden_size
        h = h0 if h0 is not None else torch.zeros(L, B, H, dtype=x.dtype)
        inp = x
        for k in range(L):
            w_ih, w_hh = getattr(self.rnn, f"weight_ih_l{k}"), getattr(self.rnn, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{k}"), getattr(self.rnn, f"bias_hh_l{k}")
            hk, outs = h[k], []
            for t in range(T):
                hk = inp[:, t] @ w_ih.T + b_ih + hk @ w_hh.T + b_hh
                outs.append(hk)
            inp = torch.stack(outs, 1)
        return self.head(inp)


def masked_loss(o, y, mask, loss):
    if loss == "cross_entropy":
        l = F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1), reduction="none").reshape(y.shape)
    else:
        l = ((o - y) ** 2).mean(-1)
    return (mask * l).sum() / mask.sum()


def make_data(g, L, I, W, O, loss, B, T, use_mask, use_h0):
    """A case's data drawn from g in this order (every fixture script's files depend on it):
    x (B, T, I) ~ N(0, 1); targets (classes, or N(0, 1) for mse); mask (B, T): "pad" gives
    sequence b the length T - 7 b (at least 1), True weights in {0, 1/2, 1}, False ones; the
    last step of sequence 0 always counts; h0 (L, B, W) ~ N(0, 1/4) or None."""
    f64 = torch.float64
    x = torch.randn(B, T, I, generator=g, dtype=f64)
    y = torch.randint(0, O, (B, T), generator=g) if loss == "cross_entropy" else \
        torch.randn(B, T, O, generator=g, dtype=f64)
    if use_mask == "pad":
        mask = torch.zeros(B, T, dtype=f64)
        for b in range(B):
            mask[b, :max(1, T - 7 * b)] = 1
    elif use_mask:
        mask = torch.randint(0, 3, (B, T), generator=g).double() / 2
    else:
        mask = torch.ones(B, T, dtype=f64)
    mask[0, -1] = 1.0
    h0 = 0.5 * torch.randn(L, B, W, generator=g, dtype=f64) if use_h0 else None
    return x, y, mask, h0


def step_jacobians(step, x, s, check=None):
    """J_t = ds_t/ds_{t-1} (autograd) along the run of x (T, I) from s, where step(x_t) is the
    map s_{t-1} -> s_t; check(t, s_{t-1}, J_t), if given, runs at each step. Returns the J_t
    and s_T."""
    Js = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            F = step(x[t])
            Js.append(torch.autograd.functional.jacobian(F, s))
            if check:
                check(t, s, Js[-1])
            s = F(s)
    return Js, s


def run_jacobian(step, x, s0):
    """P = ds_T/ds_0 by autograd through the whole run of x from s0 (not from the J_t)."""
    def run(s):
        for t in range(x.shape[0]):
            s = step(x[t])(s)
        return s
    return torch.autograd.functional.jacobian(run, s0)


def save_case(out_dir, name, net, meta, grads, x, y, mask=None, h0=None, c0=None):
    """A case's files in out_dir: NAME.model.safetensors (the net's state_dict with meta; not
    written when net is None), NAME.data.safetensors (x, y, then mask, h0, c0 where given) and
    NAME.grad.safetensors (grads)."""
    data = {"x": x, "y": y}
    for k, v in (("mask", mask), ("h0", h0), ("c0", c0)):
        if v is not None:
            data[k] = v.detach()
    if net is not None:
        st.save(os.path.join(out_dir, name + ".model.safetensors"),
                {n: p.detach() for n, p in net.state_dict().items()}, meta)
    st.save(os.path.join(out_dir, name + ".data.safetensors"), data)
    st.save(os.path.join(out_dir, name + ".grad.safetensors"), grads)


def run_case(out_dir, name, cell, L, I, H, O, loss, B, T, use_mask, use_h0, seed, model_file=None):
    g = torch.Generator().manual_seed(seed)
    net = Net(cell, L, I, H, O)
    meta = dict(cell=cell, input_size=I, hidden_size=H, num_layers=L, output_size=O, loss=loss)
    if model_file:  # a model written by rnnlab: it must load with load_state_dict
        sd, fmeta = st.load(model_file)
        net.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
        assert {k: fmeta[k] for k in meta} == {k: str(v) for k, v in meta.items()}, fmeta
    else:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1)
                p.mul_(0.8)
    x, y, mask, h0 = make_data(g, L, I, H, O, loss, B, T, use_mask, use_h0)
    if h0 is not None:
        h0.requires_grad_()
    c0 = (0.5 * torch.randn(L, B, H, generator=g, dtype=torch.float64)).requires_grad_() \
        if use_h0 and cell == "lstm" else None
    o = net(x, h0, c0)
    lossv = masked_loss(o, y, mask, loss)
    lossv.backward()
    grads = {"loss": lossv.detach().reshape(())}
    for n, p in net.named_parameters():
        grads["grad." + n] = p.grad
    if use_h0:
        grads["grad.h0"] = h0.grad
    if c0 is not None:
        grads["grad.c0"] = c0.grad
    save_case(out_dir, name, None if model_file else net, meta, grads, x, y, mask if use_mask else None, h0, c0)
    print(f"{name}: loss {lossv.item():.12g}")


def step_fn(net, x_t):
    """s_t = F(s_{t-1}, x_t) on the state s: concat over layers of h (LSTM: [h; c] per layer),
    written out gate by gate from PyTorch's documented equations."""
    L, H, cell = net.rnn.num_layers, net.rnn.hidden_size, net.cell
    act = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}.get(cell)
    w = 2 * H if cell == "lstm" else H

    def F(s):
        inp, out = x_t, []
        for k in range(L):
            w_ih, w_hh = getattr(net.rnn, f"weight_ih_l{k}"), getattr(net.rnn, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(net.rnn, f"bias_ih_l{k}"), getattr(net.rnn, f"bias_hh_l{k}")
            h = s[k * w:k * w + H]
            if cell == "lstm":
                c = s[k * w + H:(k + 1) * w]
                zi, zf, zg, zo = (w_ih @ inp + b_ih + w_hh @ h + b_hh).chunk(4)
                c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
                h = torch.sigmoid(zo) * torch.tanh(c)
                out += [h, c]
            elif cell == "gru":
                xr, xz, xn = (w_ih @ inp + b_ih).chunk(3)
                hr, hz, hn = (w_hh @ h + b_hh).chunk(3)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = (1 - z) * n + z * h
                out.append(h)
            else:
                h = act(w_ih @ inp + b_ih + w_hh @ h + b_hh)
                out.append(h)
            inp = h
        return torch.cat(out)
    return F


def jacobian_case(out_dir, name):
    """J_t = ds_t/ds_{t-1} and P = ds_T/ds_0 for sequence 0 by torch.autograd."""
    sd, meta = st.load(os.path.join(out_dir, name + ".model.safetensors"))
    data, _ = st.load(os.path.join(out_dir, name + ".data.safetensors"))
    L, I, H, O = (int(meta[k]) for k in ("num_layers", "input_size", "hidden_size", "output_size"))
    net = Net(meta["cell"], L, I, H, O)
    net.load_state_dict({k: v.double() for k, v in sd.items()})
    x = data["x"][0].double()
    h0 = data["h0"][:, 0].double() if "h0" in data else torch.zeros(L, H, dtype=torch.float64)
    if meta["cell"] == "lstm":
        c0 = data["c0"][:, 0].double() if "c0" in data else torch.zeros(L, H, dtype=torch.float64)
        s = torch.cat([torch.cat([h0[k], c0[k]]) for k in range(L)])
    else:
        s = h0.reshape(-1)
    s0 = s
    Js, s = step_jacobians(lambda x_t: step_fn(net, x_t), x, s0)
    P = run_jacobian(lambda x_t: step_fn(net, x_t), x, s0)
    # the step function written out by hand is the module's recurrence
    with torch.no_grad():
        if meta["cell"] == "lstm":
            _, (hT, _) = net.rnn(x[None], (h0[:, None], c0[:, None]))
            w = 2 * H
            mine = torch.stack([s[k * w:k * w + H] for k in range(L)])
        elif meta["cell"] in ("gru", "tanh", "relu"):
            _, hT = net.rnn(x[None], h0[:, None])
            mine = s.reshape(L, H)
        else:
            hT = mine = None
        if hT is not None:
            assert torch.allclose(hT[:, 0], mine, rtol=1e-12, atol=1e-12), (name, hT, mine)
    st.save(os.path.join(out_dir, name + ".jac.safetensors"), {"J": torch.stack(Js), "P": P, "sT": s})
    print(f"{name}: jacobians, S = {s.numel()}, ||P|| = {torch.linalg.matrix_norm(P, 2).item():.6g}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--cures":  # the cells of issue 14: tools/make_cure_fixtures.py
        import make_cure_fixtures
        make_cure_fixtures.main(sys.argv[1:])
        return
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    for i, c in enumerate(CASES):
        run_case(out_dir, *c, seed=1000 + i)
    # The other direction: models made by rnnlab, loaded by torch.
    for i, (cell, L, extra) in enumerate([("tanh", 2, []), ("lstm", 2, ["--forget-bias", "1"]), ("gru", 1, [])]):
        name = f"rnnlab_made_{cell}_l{L}"
        path = os.path.join(out_dir, name + ".model.safetensors")
        subprocess.run(["build/rnnlab", "init", "--cell", cell, "--input", "3", "--hidden", "6", "--output", "4",
                        "--layers", str(L), "--loss", "cross_entropy", "--init", "orthogonal", "--seed", "7",
                        "--out", path] + extra, check=True)
        run_case(out_dir, name, cell, L, 3, 6, 4, "cross_entropy", 3, 9, True, True, seed=2000 + i, model_file=path)
    for c in CASES:
        jacobian_case(out_dir, c[0])


if __name__ == "__main__":
    main()
