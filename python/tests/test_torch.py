"""Every function against PyTorch in float64: the loss and every gradient of
nn.RNN/LSTM/GRU + nn.Linear by autograd, the Jacobians by
torch.autograd.functional.jacobian, the Lyapunov exponents by QR on the
autograd Jacobians; within 1e-10 (relative to max(1, |value|))."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rnnlab
from conftest import close

torch.set_default_dtype(torch.float64)

MODULES = {
    "tanh": lambda I, H, L: torch.nn.RNN(I, H, L, batch_first=True),
    "relu": lambda I, H, L: torch.nn.RNN(I, H, L, nonlinearity="relu", batch_first=True),
    "lstm": lambda I, H, L: torch.nn.LSTM(I, H, L, batch_first=True),
    "gru": lambda I, H, L: torch.nn.GRU(I, H, L, batch_first=True),
}
CASES = [(cell, L, loss) for cell in MODULES for L, loss in ((1, "mse"), (2, "cross_entropy"))]


def make(cell, L, loss, I=3, H=5, O=4, seed=0):
    torch.manual_seed(seed)
    rnn, head = MODULES[cell](I, H, L), torch.nn.Linear(H, O)
    return rnn, head, rnnlab.Model.from_torch(rnn, head, loss=loss)


def data(cell, L, loss, B=3, T=7, I=3, H=5, O=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, I, generator=g)
    y = torch.randint(0, O, (B, T), generator=g) if loss == "cross_entropy" else torch.randn(B, T, O, generator=g)
    mask = torch.randint(0, 3, (B, T), generator=g).double()
    mask[0, 0] = 1
    h0 = 0.5 * torch.randn(L, B, H, generator=g)
    c0 = 0.5 * torch.randn(L, B, H, generator=g) if cell == "lstm" else None
    return x, y, mask, h0, c0


def torch_loss(rnn, head, loss, x, y, mask, h0, c0):
    out, _ = rnn(x, (h0, c0) if c0 is not None else h0)
    o = head(out)
    if loss == "mse":
        per = ((o - y) ** 2).mean(-1)
    else:
        per = F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1), reduction="none").reshape(y.shape)
    return (per * mask).sum() / mask.sum()


@pytest.mark.parametrize("cell,L,loss", CASES)
def test_grad_against_autograd(cell, L, loss):
    rnn, head, m = make(cell, L, loss)
    x, y, mask, h0, c0 = data(cell, L, loss)
    h0.requires_grad_(True)
    if c0 is not None:
        c0.requires_grad_(True)
    ref = torch_loss(rnn, head, loss, x, y, mask, h0, c0)
    ref.backward()
    g = m.grad(x, y, mask=mask, h0=h0, c0=c0)
    close(g["loss"], ref.item(), what="loss")
    named = {"rnn." + k: p for k, p in rnn.named_parameters()}
    named.update({"head." + k: p for k, p in head.named_parameters()})
    assert set(g) == set(named) | {"loss", "h0"} | ({"c0"} if c0 is not None else set())
    for name, p in named.items():
        close(g[name], p.grad.numpy(), what=name)
    close(g["h0"], h0.grad.numpy(), what="h0")
    if c0 is not None:
        close(g["c0"], c0.grad.numpy(), what="c0")


@pytest.mark.parametrize("cell", list(MODULES))
def test_grad_in_float32(cell):
    # the float32 computation against float64 autograd, at float32's precision
    rnn, head, m = make(cell, 1, "mse")
    x, y, mask, h0, c0 = data(cell, 1, "mse")
    ref = torch_loss(rnn, head, "mse", x, y, mask, h0, c0)
    ref.backward()
    g = m.grad(x, y, mask=mask, h0=h0, c0=c0, precision="f32")
    assert g["rnn.weight_hh_l0"].dtype == np.float32
    close(g["loss"], ref.item(), tol=1e-5, what="loss")
    close(g["rnn.weight_hh_l0"], rnn.weight_hh_l0.grad.numpy(), tol=1e-5, what="weight_hh")


def test_one_hot_ids_and_defaults():
    # (B, T) integer ids are one-hot inputs; no mask: every step; no h0: zeros
    rnn, head, m = make("gru", 1, "cross_entropy", I=6)
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 6, (2, 9), generator=g)
    y = torch.randint(0, 4, (2, 9), generator=g)
    x = F.one_hot(ids, 6).double()
    ref = torch_loss(rnn, head, "cross_entropy", x, y, torch.ones(2, 9), torch.zeros(1, 2, 5), None)
    ref.backward()
    a, b = m.grad(ids, y), m.grad(x.numpy(), y.numpy())
    close(a["loss"], ref.item(), what="loss")
    close(a["rnn.weight_ih_l0"], rnn.weight_ih_l0.grad.numpy(), what="weight_ih")
    for k in a:
        close(a[k], b[k], tol=0, what=k)


def test_forward_against_torch():
    rnn, head, m = make("lstm", 2, "mse")
    x, _, _, h0, c0 = data("lstm", 2, "mse")
    out, _ = rnn(x, (h0, c0))
    close(m.forward(x, h0=h0, c0=c0), head(out).detach().numpy(), what="outputs")


def pack(cell, hs, cs):
    """s = per layer h (and c for an LSTM), as rnnlab orders the state."""
    parts = []
    for l in range(hs.shape[0]):
        parts.append(hs[l].reshape(-1))
        if cell == "lstm":
            parts.append(cs[l].reshape(-1))
    return torch.cat(parts)


def unpack(cell, s, L, H):
    k = 2 if cell == "lstm" else 1
    s = s.reshape(L, k, H)
    return s[:, 0].reshape(L, 1, H), (s[:, 1].reshape(L, 1, H) if cell == "lstm" else None)


def step_map(rnn, cell, L, H, x):
    """s_T as a function of s_0 over the inputs x (1, T, I)."""
    def f(s):
        h, c = unpack(cell, s, L, H)
        _, st = rnn(x, (h, c) if cell == "lstm" else h)
        return pack(cell, *(st if cell == "lstm" else (st, None)))
    return f


@pytest.mark.parametrize("cell,L", [(c, L) for c in MODULES for L in (1, 2)])
def test_jacobian_against_autograd(cell, L):
    rnn, head, m = make(cell, L, "mse", H=4)
    x, y, mask, h0, c0 = data(cell, L, "mse", B=2, T=6, H=4)
    seq, H, T = 1, 4, 6
    j = m.jacobian(x, h0=h0, c0=c0, seq=seq, y=y, mask=mask, radius=True)
    S = (2 if cell == "lstm" else 1) * L * H
    assert j["J"].shape == (T, S, S) and j["P"].shape == (S, S) and j["lag_log_norm"].shape == (T + 1,)
    s = pack(cell, h0[:, seq:seq + 1], c0[:, seq:seq + 1] if c0 is not None else None).detach()
    P = torch.autograd.functional.jacobian(step_map(rnn, cell, L, H, x[seq:seq + 1]), s)
    close(j["P"], P.numpy(), what="P")
    Js = []
    for t in range(T):
        f = step_map(rnn, cell, L, H, x[seq:seq + 1, t:t + 1])
        Js.append(torch.autograd.functional.jacobian(f, s).numpy())
        close(j["J"][t], Js[-1], what=f"J[{t}]")
        s = f(s).detach()
    for tau in range(T + 1):
        Pt = np.eye(S)
        for t in range(tau, T):
            Pt = Js[t] @ Pt
        close(j["lag_log_norm"][tau], math.log(np.linalg.norm(Pt, 2)), tol=1e-9, what=f"lag_log_norm[{tau}]")
        close(j["lag_log_fro"][tau], math.log(np.linalg.norm(Pt)), tol=1e-9, what=f"lag_log_fro[{tau}]")
        close(j["lag_log_radius"][tau], math.log(max(abs(np.linalg.eigvals(Pt)))), tol=1e-9, what="radius")
    # the sequence's own loss, and its BPTT gradient norms
    ref = torch_loss(rnn, head, "mse", x[seq:seq + 1], y[seq:seq + 1], mask[seq:seq + 1], h0[:, seq:seq + 1],
                     c0[:, seq:seq + 1] if c0 is not None else None)
    close(j["loss"], ref.item(), what="loss")
    assert j["log_grad_bptt"].shape == (T + 1,)


def test_jacobian_tanh_T100_H128_equals_autograd():
    # the size of the speed goal (docs/python.md): equal within 1e-10
    torch.manual_seed(5)
    rnn = torch.nn.RNN(8, 128, batch_first=True)
    m = rnnlab.Model.from_torch(rnn)
    x = torch.randn(1, 100, 8)
    P = torch.autograd.functional.jacobian(lambda h: rnn(x, h.reshape(1, 1, 128))[1].reshape(-1),
                                           torch.zeros(128), vectorize=True)
    j = m.jacobian(x)
    close(j["P"], P.numpy(), what="P")
    fast = m.jacobian(x, lags=False)  # the threaded product alone
    close(fast["P"], P.numpy(), what="P (lags=False)")
    assert set(fast) == {"J", "P", "P_scaled", "P_log_scale", "loss"}
    np.testing.assert_array_equal(fast["J"], j["J"])


def lyapunov_reference(rnn, cell, L, H, x, s0, transient, steps, k):
    """Benettin's QR method on autograd's Jacobians of the same trajectory."""
    S = s0.numel()
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(S, k)))[0]
    sums, s = np.zeros(k), s0
    for n in range(transient + steps):
        f = step_map(rnn, cell, L, H, x[:, n % x.shape[1]:n % x.shape[1] + 1])
        J = torch.autograd.functional.jacobian(f, s).numpy()
        s = f(s).detach()
        Q, R = np.linalg.qr(J @ Q)
        if n >= transient:
            sums += np.log(np.abs(np.diag(R)))
    return np.sort(sums / steps)[::-1]


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_lyapunov_against_autograd(cell):
    torch.manual_seed(2)
    H, L = 3, 1
    # PyTorch's init: a contracting map, so that the two trajectories do not
    # drift apart by rounding (and no unit saturates, where 1 - h^2 loses
    # its digits differently in the two)
    rnn = MODULES[cell](2, H, L)
    m = rnnlab.Model.from_torch(rnn)
    x = torch.randn(1, 50, 2)
    h0 = 0.3 * torch.ones(L, 1, H)
    c0 = 0.3 * torch.ones(L, 1, H) if cell == "lstm" else None
    S = (2 if cell == "lstm" else 1) * H
    ex = m.lyapunov(steps=300, transient=300, inputs="data", x=x, state="data", h0=h0, c0=c0)
    ref = lyapunov_reference(rnn, cell, L, H, x, pack(cell, h0, c0), 300, 300, S)
    assert ex.shape == (S,) and (np.diff(ex) <= 0).all()
    close(ex.sum(), ref.sum(), tol=1e-9, what="sum of the exponents")  # = mean ln|det J|, frame-free
    close(ex, ref, tol=1e-9, what="exponents")  # the frames agree after the transient


def test_linear_cell_exponents_are_log_eigenvalues():
    # a linear RNN under zero input: the exponents are ln|eig(W_hh)|
    m = rnnlab.Model("linear", 1, 4, 1)
    sd = m.state_dict()
    A = np.random.default_rng(4).normal(size=(4, 4))
    sd["rnn.weight_hh_l0"] = (A + A.T) / 4
    m.load_state_dict(sd)
    ex = m.lyapunov(steps=2000, inputs="zeros", state="random", seed=3)
    close(ex, np.sort(np.log(np.abs(np.linalg.eigvalsh(sd["rnn.weight_hh_l0"]))))[::-1], tol=1e-6, what="exponents")


@pytest.mark.parametrize("cell", list(MODULES))
def test_to_torch_round_trip(cell):
    rnn, head, m = make(cell, 2, "mse")
    rnn2, head2 = m.to_torch(dtype=torch.float64)
    x = torch.randn(2, 5, 3)
    close(head2(rnn2(x)[0]).detach().numpy(), head(rnn(x)[0]).detach().numpy(), tol=0, what="outputs")
    r3, h3 = m.to_torch(dtype=torch.float32)
    assert r3.weight_hh_l0.dtype == torch.float32 and h3.weight.dtype == torch.float32 and r3.batch_first


def test_from_torch_float32_module_and_tensors_with_grad():
    torch.manual_seed(0)
    rnn, head = torch.nn.LSTM(3, 4, batch_first=True).float(), torch.nn.Linear(4, 2).float()
    m = rnnlab.Model.from_torch(rnn, head)
    close(m.state_dict()["rnn.weight_hh_l0"], rnn.weight_hh_l0.detach().double().numpy(), tol=0, what="weights")
    x = torch.randn(1, 4, 3, requires_grad=True)  # a tensor that requires grad is read without it
    assert m.jacobian(x)["P"].shape == (8, 8)


@pytest.mark.parametrize("omap", ["matrix_exp", "cayley"])
def test_orthogonal_parametrisation_against_autograd(omap):
    # torch.nn.utils.parametrizations.orthogonal on every W_hh: the library's
    # rl_model_new_orth, gradients of X (not of the fixed base B), Jacobians
    from torch.nn.utils import parametrizations
    torch.manual_seed(3)
    rnn, head = torch.nn.RNN(3, 5, 2, batch_first=True), torch.nn.Linear(5, 2)
    for k in range(2):
        parametrizations.orthogonal(rnn, f"weight_hh_l{k}", orthogonal_map=omap)
    with torch.no_grad():
        for k in range(2):
            rnn.parametrizations[f"weight_hh_l{k}"].original.add_(0.3 * torch.randn(5, 5))
    rnn._flat_weights = [getattr(rnn, n) for n in rnn._flat_weights_names]  # PyTorch 1.13's nn.RNN needs it
    m = rnnlab.Model.from_torch(rnn, head)
    assert m.config["orthogonal"] == {"matrix_exp": "exp", "cayley": "cayley"}[omap]
    x, y, mask, h0, _ = data("tanh", 2, "mse", O=2)
    h0.requires_grad_(True)
    ref = torch_loss(rnn, head, "mse", x, y, mask, h0, None)
    ref.backward()
    g = m.grad(x, y, mask=mask, h0=h0)
    assert "rnn.parametrizations.weight_hh_l0.0.base" not in g  # fixed: no gradient, as in gradient files
    close(g["loss"], ref.item(), what="loss")
    for k in range(2):
        name = f"parametrizations.weight_hh_l{k}.original"
        close(g["rnn." + name], rnn.get_parameter(name).grad.numpy(), what=name)
    close(g["h0"], h0.grad.numpy(), what="h0")
    s = pack("tanh", h0[:, :1].detach(), None)
    P = torch.autograd.functional.jacobian(step_map(rnn, "tanh", 2, 5, x[:1]), s)
    close(m.jacobian(x, h0=h0)["P"], P.numpy(), what="P")
    rnn2, head2 = m.to_torch(dtype=torch.float64)
    rnn2._flat_weights = [getattr(rnn2, n) for n in rnn2._flat_weights_names]
    close(head2(rnn2(x)[0]).detach().numpy(), head(rnn(x)[0]).detach().numpy(), tol=0, what="to_torch")


def test_modrelu_against_autograd():
    # the modrelu cell (expRNN's and scoRNN's unit), which torch has no module for:
    # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, h_t = sign(a_t) relu(|a_t| + b), b = modrelu_bias_l{k};
    # the model from its state_dict, the loss, every gradient and dL/dh0 against autograd, both
    # precisions; to_torch refused (no module to give)
    g = torch.Generator().manual_seed(5)
    L, I, H, O = 2, 3, 5, 4
    sd = {}
    for k in range(L):
        for n, shape in (("weight_ih", (H, I if k == 0 else H)), ("weight_hh", (H, H)), ("bias_ih", (H,)),
                         ("bias_hh", (H,)), ("modrelu_bias", (H,))):
            sd[f"rnn.{n}_l{k}"] = (0.6 * (2 * torch.rand(shape, generator=g) - 1)).requires_grad_(True)
    sd["head.weight"] = torch.randn(O, H, generator=g).requires_grad_(True)
    sd["head.bias"] = torch.randn(O, generator=g).requires_grad_(True)
    m = rnnlab.Model.from_state_dict({k: v.detach() for k, v in sd.items()}, cell="modrelu", loss="cross_entropy")
    assert m.config["cell"] == "modrelu" and m.config["num_layers"] == L
    x, y, mask, h0, _ = data("modrelu", L, "cross_entropy", T=9)
    h0.requires_grad_(True)
    inp = x
    for k in range(L):
        h, outs = h0[k], []
        for t in range(x.shape[1]):
            a = inp[:, t] @ sd[f"rnn.weight_ih_l{k}"].T + sd[f"rnn.bias_ih_l{k}"] + h @ sd[f"rnn.weight_hh_l{k}"].T \
                + sd[f"rnn.bias_hh_l{k}"]
            h = torch.sign(a) * torch.relu(torch.abs(a) + sd[f"rnn.modrelu_bias_l{k}"])
            outs.append(h)
        inp = torch.stack(outs, 1)
    o = inp @ sd["head.weight"].T + sd["head.bias"]
    per = F.cross_entropy(o.reshape(-1, O), y.reshape(-1), reduction="none").reshape(y.shape)
    ref = (per * mask).sum() / mask.sum()
    ref.backward()
    for precision, tol in (("f64", 1e-10), ("f32", 1e-4)):
        got = m.grad(x, y, mask=mask, h0=h0, precision=precision)
        assert set(got) == set(sd) | {"loss", "h0"}
        close(got["loss"], ref.item(), tol=tol, what=f"{precision} loss")
        for name, p in sd.items():
            close(got[name], p.grad.numpy(), tol=tol, what=f"{precision} {name}")
        close(got["h0"], h0.grad.numpy(), tol=tol, what=f"{precision} h0")
    assert np.abs(sd["rnn.modrelu_bias_l1"].grad.numpy()).max() > 0  # b is trained
    with pytest.raises(rnnlab.Error, match="cell modrelu has no PyTorch module"):
        m.to_torch()
