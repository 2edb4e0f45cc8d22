#!/usr/bin/python3
"""Fixtures for lru / mingru / minlstm in the layout of tools/make_fixtures.py (the
C tests; run: /usr/bin/python3 tools/diag/diag_fixtures.py OUT_DIR; make fixtures writes tests/fixtures).

Per case NAME:
  NAME.model.safetensors  F64, state_dict names rnn.* and head.* (diag_cells.py); metadata cell,
                          input_size, hidden_size, num_layers, output_size, loss, and for lru
                          state_size (N) and activation.
  NAME.data.safetensors   x (B,T,I) F64; y (B,T) I64 (cross_entropy) or (B,T,O) F64 (mse);
                          mask (B,T) F64 if any; h0 (L,B,W) F64 if any, W = H for mingru/minlstm,
                          W = 2N for lru in the order [Re x_0; Im x_0] (NOT interleaved).
  NAME.grad.safetensors   loss (scalar), grad.<every parameter>, grad.h0 if h0: torch.autograd
                          in float64 of sum(mask * l) / sum(mask), through the reference loop.
  NAME.jac.safetensors    J (T,S,S) = ds_t/ds_{t-1}, P (S,S) = ds_T/ds_0, sT (S), sequence 0;
                          s = concat over layers of each layer's real state (S = L*W).
Checks (any failure stops the script): loss and every gradient against an independent
implementation (peers.py: complex tensors for lru, the linear-space associative scan for
mingru/minlstm) to 1e-12; the loss recomputed from the written files; every J_t against the
closed form (selfcheck.closed_form_J) to 1e-13; the Jacobian run's final state against the
module's. One thread: the same bytes on every run."""
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diag_cells as dc  # noqa: E402
import make_fixtures as mf  # noqa: E402 (tools/, on the path from diag_cells)
import peers  # noqa: E402
import selfcheck  # noqa: E402

f64 = torch.float64
CE, MSE = "cross_entropy", "mse"
# name, cell, layers, I, H, O, loss, B, T, mask, h0, N (lru), activation (lru)
CASES = [
    ("lru_l1_ce", "lru", 1, 3, 5, 4, CE, 2, 6, True, True, 6, "gelu"),
    ("lru_l1_mse_h1", "lru", 1, 2, 1, 2, MSE, 3, 6, True, True, 1, "gelu"),
    ("lru_l2_mse_linear", "lru", 2, 4, 6, 2, MSE, 3, 7, True, False, 3, "linear"),
    ("lru_l2_ce_relu", "lru", 2, 3, 4, 3, CE, 2, 8, False, True, 5, "relu"),
    ("lru_l3_mse_tanh_long", "lru", 3, 2, 5, 1, MSE, 2, 40, "pad", True, 4, "tanh"),
    ("lru_l2_ce_gelu_long", "lru", 2, 3, 4, 3, CE, 2, 30, True, True, 4, "gelu"),
    ("mingru_l1_mse", "mingru", 1, 3, 5, 2, MSE, 2, 7, True, True, None, None),
    ("mingru_l2_ce", "mingru", 2, 2, 4, 3, CE, 3, 6, False, True, None, None),
    ("mingru_l3_mse_long", "mingru", 3, 3, 4, 2, MSE, 2, 40, "pad", True, None, None),
    ("minlstm_l1_ce", "minlstm", 1, 3, 5, 4, CE, 2, 7, True, True, None, None),
    ("minlstm_l2_mse_h1", "minlstm", 2, 2, 1, 2, MSE, 3, 6, True, False, None, None),
    ("minlstm_l3_ce_long", "minlstm", 3, 3, 4, 3, CE, 2, 30, True, True, None, None),
]


def close(name, got, want, tol):
    got, want = got.detach(), want.detach()
    assert got.shape == want.shape, (name, got.shape, want.shape)
    scale = want.abs().max().item()
    err = ((got - want).abs() - tol * (want.abs() + scale)).max().item()
    assert err <= 0, (name, (got - want).abs().max().item(), scale)


def init_params(g, net, cell):
    """Every parameter U(-0.8, 0.8) as in tools/make_fixtures.py, except the LRU's nu_log,
    theta_log, gamma_log: the ring init with r_min 0.4, r_max 0.99 (so |lam| spans short and long
    memory), then gamma_log + U(-0.3, 0.3) (gamma is a free parameter, not tied to |lam|)."""
    with torch.no_grad():
        for n, p in net.named_parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=f64) * 2 - 1) * 0.8)
        if cell == "lru":
            rnn = net.rnn
            saved = {n: p.clone() for n, p in rnn.named_parameters()}
            rnn.reset_parameters(g, r_min=0.4, r_max=0.99)
            for n, p in rnn.named_parameters():
                if n.startswith("gamma_log"):
                    p.add_((torch.rand(p.shape, generator=g, dtype=f64) * 2 - 1) * 0.3)
                elif not (n.startswith("nu_log") or n.startswith("theta_log")):
                    p.copy_(saved[n])


def independent(net, x, h0):
    """The same forward by the peers: complex tensors (lru), the linear associative scan (min cells)."""
    fn = {"lru": peers.lru_loop, "mingru": peers.min_assoc, "minlstm": peers.min_assoc}[net.rnn.cell]
    out, hT = fn(net.rnn, x, h0)
    return net.head(out), hT


def run_case(out_dir, name, cell, L, I, H, O, loss, B, T, use_mask, use_h0, N, act, seed):
    g = torch.Generator().manual_seed(seed)
    net = dc.DiagNet(cell, I, H, O, L, state_size=N, activation=act or "gelu", dtype=f64)
    init_params(g, net, cell)
    W = net.rnn.width
    x, y, mask, h0 = mf.make_data(g, L, I, W, O, loss, B, T, use_mask, use_h0)
    h0r = (h0 if h0 is not None else torch.zeros(L, B, W, dtype=f64)).clone().requires_grad_()
    o, hT = net(x, h0r)
    lossv = dc.masked_loss(o, y, mask, loss)
    lossv.backward()
    grads = {"loss": lossv.detach().reshape(())}
    for n, p in net.named_parameters():
        grads["grad." + n] = p.grad.clone()
    if h0 is not None:
        grads["grad.h0"] = h0r.grad.clone()
    # the independent implementation
    net.zero_grad()
    h0b = h0r.detach().clone().requires_grad_()
    ob, hTb = independent(net, x, h0b)
    lb = dc.masked_loss(ob, y, mask, loss)
    lb.backward()
    close(f"{name}: o", ob, o, 1e-12)
    close(f"{name}: hT", hTb, hT, 1e-12)
    close(f"{name}: loss", lb, lossv, 1e-12)
    for n, p in net.named_parameters():
        close(f"{name}: grad.{n}", p.grad, grads["grad." + n], 1e-11)
    close(f"{name}: grad.h0", h0b.grad, h0r.grad, 1e-11)
    mf.save_case(out_dir, name, net, net.meta(loss), grads, x, y, mask if use_mask else None, h0)
    print(f"{name}: loss {lossv.item():.12g}")


def jacobian_case(out_dir, name):
    sd, meta = dc.st_load(os.path.join(out_dir, name + ".model.safetensors"))
    net = dc.net_from(sd, meta)
    data, _ = dc.st_load(os.path.join(out_dir, name + ".data.safetensors"))
    ref, _ = dc.st_load(os.path.join(out_dir, name + ".grad.safetensors"))
    rnn, L = net.rnn, net.rnn.num_layers
    W = rnn.width
    B, T = data["x"].shape[:2]
    with torch.no_grad():
        h0 = data["h0"] if "h0" in data else torch.zeros(L, B, W, dtype=f64)
        o, _ = net(data["x"], h0)
        mask = data["mask"] if "mask" in data else torch.ones(B, T, dtype=f64)
        close(f"{name}: loss from the files", dc.masked_loss(o, data["y"], mask, meta["loss"]), ref["loss"], 1e-15)
    x = data["x"][0]
    s0 = h0[:, 0].reshape(-1)
    Js, ss = dc.jacobians(rnn, x, s0)
    s = s0
    with torch.no_grad():
        for t in range(T):
            Jc, s = selfcheck.closed_form_J(rnn, x[t], s)
            close(f"{name}: J_{t} closed form", Js[t], Jc, 1e-13)
    P = mf.run_jacobian(lambda x_t: dc.step_fn(rnn, x_t), x, s0)
    with torch.no_grad():
        _, hT = net(x[None], h0[:, :1])
    close(f"{name}: final state", ss[-1], hT[:, 0].reshape(-1), 1e-13)
    Pp = torch.eye(s0.numel(), dtype=f64)
    for t in range(T):
        Pp = Js[t] @ Pp
    close(f"{name}: P = J_T ... J_1", Pp, P, 1e-11)
    dc.st_save(os.path.join(out_dir, name + ".jac.safetensors"), {"J": Js, "P": P, "sT": ss[-1]})
    print(f"{name}: jacobians, S = {s0.numel()}, ||P|| = {torch.linalg.matrix_norm(P, 2).item():.6g}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tools/diag/diag_fixtures.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for i, c in enumerate(CASES):
        run_case(out_dir, *c, seed=5000 + i)
    for c in CASES:
        jacobian_case(out_dir, c[0])


if __name__ == "__main__":
    main()
