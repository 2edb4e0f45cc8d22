#!/usr/bin/python3
"""Self-checks of diag_cells.py, all in float64 (run: /usr/bin/python3 tools/diag/selfcheck.py; ~1-2 min on 2 cores).

1. names: the state_dict names and shapes are the spec's.
2. init: the ring init and the Linear init have the spec's distributions (moments on big draws).
3. gradients: torch.autograd through the reference loop against central finite differences of
   the loss, every element of every parameter and of h0; every cell, 1 and 2 layers, every LRU
   activation, both losses, with a mask.
4. Jacobians: J_t = ds_t/ds_{t-1} by autograd against the closed forms:
   - LRU, one layer: in the basis s = [Re x; Im x] (Re x_1..Re x_N, then Im x_1..Im x_N),
         J = [[diag(Re lam), -diag(Im lam)],
              [diag(Im lam),  diag(Re lam)]],
     i.e. unit i's 2x2 block [[Re lam_i, -Im lam_i], [Im lam_i, Re lam_i]] sits at rows and
     columns (i, N + i): J is 2x2-block-diagonal only after the perfect-shuffle permutation to
     the interleaved order (Re x_1, Im x_1, Re x_2, ...); in [Re; Im] order it is a 2x2 block
     matrix of diagonal N x N blocks. It does not depend on t, the input or the state.
   - minGRU: diag(1 - z_t); minLSTM: diag(f'_t) (the diagonal blocks).
   - several layers: J is block lower triangular, layer by layer, with the blocks above as its
     diagonal blocks and the blocks below the diagonal given by the recursion in closed_form_J.
5. Lyapunov exponents: closed forms against a QR-method estimate (diag_cells.lyapunov_qr):
   - LRU: ln|lam_i| = -exp(nu_i), each twice (also two layers: the union over layers);
   - minGRU, zero input: ln(1 - sigmoid(b_z)) per unit; minLSTM, zero input: ln f'(b) =
     ln sigmoid(b_f) - ln(sigmoid(b_f) + sigmoid(b_i));
   - two or three layers of minGRU/minLSTM with zero input: the union over layers of the same
     forms at the fixed point (layer k reads h*_{k-1} = h~*_{k-1}).
6. files: st_save / st_load round trip, and the files read by the repository's own
   tools/safetensors_py.py (imported without writing bytecode into the repository).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diag_cells as dc  # noqa: E402

f64 = torch.float64
REPO = "/work/main"
RESULTS = {}


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item()


# ------------------------------------------------------------------ 1. names

def check_names():
    r = dc.DiagNet("lru", 3, 5, 2, num_layers=2, state_size=7, dtype=f64)
    want = []
    for k, Ik in ((0, 3), (1, 5)):
        want += [(f"rnn.nu_log_l{k}", (7,)), (f"rnn.theta_log_l{k}", (7,)), (f"rnn.gamma_log_l{k}", (7,)),
                 (f"rnn.B_re_l{k}", (7, Ik)), (f"rnn.B_im_l{k}", (7, Ik)), (f"rnn.C_re_l{k}", (5, 7)),
                 (f"rnn.C_im_l{k}", (5, 7)), (f"rnn.D_l{k}", (5, Ik))]
    want += [("head.weight", (2, 5)), ("head.bias", (2,))]
    got = [(n, tuple(t.shape)) for n, t in r.state_dict().items()]
    assert got == want, got
    for cell, G in (("mingru", 2), ("minlstm", 3)):
        r = dc.DiagNet(cell, 3, 5, 2, num_layers=2, dtype=f64)
        got = [(n, tuple(t.shape)) for n, t in r.state_dict().items()]
        want = [("rnn.weight_ih_l0", (G * 5, 3)), ("rnn.bias_ih_l0", (G * 5,)), ("rnn.weight_ih_l1", (G * 5, 5)),
                ("rnn.bias_ih_l1", (G * 5,)), ("head.weight", (2, 5)), ("head.bias", (2,))]
        assert got == want, got
    print("names: ok")


# ------------------------------------------------------------------- 2. init

def check_init():
    g = torch.Generator().manual_seed(5)
    I, H, N = 40, 30, 4000
    r = dc.DiagRNN("lru", I, H, 2, state_size=N, dtype=f64, generator=g, r_min=0.9, r_max=0.999,
                   max_phase=2 * math.pi)
    for k, Ik in ((0, I), (1, H)):
        mod = torch.exp(-torch.exp(getattr(r, f"nu_log_l{k}")))
        m2 = mod ** 2
        assert m2.min() >= 0.81 - 1e-12 and m2.max() <= 0.999 ** 2 + 1e-12
        # uniform on [a, b]: mean (a+b)/2, var (b-a)^2/12
        a, b = 0.81, 0.999 ** 2
        assert abs(m2.mean().item() - (a + b) / 2) < 4 * (b - a) / math.sqrt(12 * N)
        ph = torch.exp(getattr(r, f"theta_log_l{k}"))
        assert ph.min() >= 0 and ph.max() <= 2 * math.pi
        assert abs(ph.mean().item() - math.pi) < 4 * 2 * math.pi / math.sqrt(12 * N)
        gam = torch.exp(getattr(r, f"gamma_log_l{k}"))
        assert rel(gam, torch.sqrt(1 - m2)) < 1e-12
        for n, var in (("B_re", 1 / (2 * Ik)), ("B_im", 1 / (2 * Ik)), ("C_re", 1 / N), ("C_im", 1 / N),
                       ("D", 1 / (3 * Ik))):
            t = getattr(r, f"{n}_l{k}")
            v = t.var().item()
            assert abs(v / var - 1) < 0.05, (n, k, v, var)
            assert abs(t.mean().item()) < 5 * math.sqrt(var / t.numel()), (n, t.mean())
        D = getattr(r, f"D_l{k}")
        assert D.abs().max() <= 1 / math.sqrt(Ik)
    for cell in ("mingru", "minlstm"):
        r = dc.DiagRNN(cell, 50, 400, 2, dtype=f64, generator=g)
        for k, Ik in ((0, 50), (1, 400)):
            for n in ("weight_ih", "bias_ih"):
                t = getattr(r, f"{n}_l{k}")
                assert t.abs().max() <= 1 / math.sqrt(Ik)
                assert abs(t.var().item() * 3 * Ik - 1) < 0.05 if t.numel() > 5000 else True
    # the same bound as torch's own nn.Linear init
    lin = torch.nn.Linear(50, 800)
    assert abs(lin.weight.abs().max().item() * math.sqrt(50) - 1) < 1e-3
    print("init: ok (ring init |lam|^2 ~ U[r_min^2, r_max^2], phase ~ U[0, max_phase], gamma = sqrt(1-|lam|^2), "
          "B ~ N(0, 1/(2 I_k)), C ~ N(0, 1/N), D ~ U(+-1/sqrt(I_k)); Linear U(+-1/sqrt(I_k)))")


# -------------------------------------------------------------- 3. gradients

def fd_case(cell, L, act, loss, seed):
    g = torch.Generator().manual_seed(seed)
    I, H, O, N, B, T = 3, 4, 3, 5, 2, 6
    net = dc.DiagNet(cell, I, H, O, L, state_size=N, activation=act, dtype=f64, generator=g,
                     r_min=0.5, r_max=0.95)
    with torch.no_grad():  # move gamma off its init value so it is a free parameter
        for k in range(L if cell == "lru" else 0):
            getattr(net.rnn, f"gamma_log_l{k}").add_(0.3 * torch.randn(N, generator=g, dtype=f64))
    x = torch.randn(B, T, I, generator=g, dtype=f64)
    y = torch.randint(0, O, (B, T), generator=g) if loss == "cross_entropy" else \
        torch.randn(B, T, O, generator=g, dtype=f64)
    mask = torch.randint(0, 3, (B, T), generator=g).double() / 2
    mask[0, -1] = 1
    h0 = (0.5 * torch.randn(L, B, net.rnn.width, generator=g, dtype=f64)).requires_grad_()
    leaves = list(net.parameters()) + [h0]

    def f():
        return dc.masked_loss(net(x, h0)[0], y, mask, loss)
    lossv = f()
    grads = torch.autograd.grad(lossv, leaves)
    worst, eps = 0.0, 1e-6
    with torch.no_grad():
        for p, gr in zip(leaves, grads):
            fd = torch.zeros_like(p)
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                lp = f().item()
                flat[i] = old - eps
                lm = f().item()
                flat[i] = old
                fd.view(-1)[i] = (lp - lm) / (2 * eps)
            err = ((gr - fd).abs().max() / fd.abs().max().clamp_min(1e-12)).item()  # normwise, per tensor
            worst = max(worst, err)
    return worst, sum(p.numel() for p in leaves)


def check_gradients():
    cases = []
    for L in (1, 2):
        for act in ("linear", "relu", "tanh", "gelu"):
            cases.append(("lru", L, act, "cross_entropy" if act in ("gelu", "relu") else "mse"))
        for cell in ("mingru", "minlstm"):
            for loss in ("cross_entropy", "mse"):
                cases.append((cell, L, "gelu", loss))
    for i, (cell, L, act, loss) in enumerate(cases):
        w, n = fd_case(cell, L, act, loss, 100 + i)
        label = f"{cell} L={L}" + (f" {act}" if cell == "lru" else "") + f" {loss}"
        RESULTS[f"fd {label}"] = w
        print(f"gradient vs central differences: {label:32s} {n:4d} entries, max rel err {w:.1e}")
        assert w < 1e-7, (label, w)


# -------------------------------------------------------------- 4. Jacobians

def act_prime(name, a):
    """act'(a): linear 1; relu 1 for a > 0 else 0 (torch's relu backward at 0 is 0); tanh 1 - tanh^2;
    gelu (erf form, a Phi(a)): Phi(a) + a phi(a), Phi(a) = (1 + erf(a / sqrt 2)) / 2,
    phi(a) = exp(-a^2 / 2) / sqrt(2 pi)."""
    if name == "linear":
        return torch.ones_like(a)
    if name == "relu":
        return (a > 0).to(a.dtype)
    if name == "tanh":
        return 1 - torch.tanh(a) ** 2
    return 0.5 * (1 + torch.erf(a / math.sqrt(2))) + a * torch.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)


def closed_form_J(rnn, x_t, s_prev):
    """J_t = ds_t/ds_{t-1} from the formulas (no autograd), one sequence: s_prev (S,), x_t (I,).
    Per layer k (state width W, columns of layer k: block k):
      dS_k = Jdiag_k (in block k) + M_k dU_k,   dU_{k+1} = dY_k,  dU_0 = 0
      lru:     Jdiag = [[diag Re lam, -diag Im lam], [diag Im lam, diag Re lam]],
               M = [gamma * B_re; gamma * B_im]  (2N, I_k)
               dY = diag(act'(a)) ([C_re, -C_im] dS_k + D dU_k),  a = Re(C x_t) + D u_t
      mingru:  Jdiag = diag(1 - z),  M = diag(z (1 - z) (h~ - h_prev)) W_z + diag(z) W_h,  dY = dS
      minlstm: Jdiag = diag(f'),     M = diag((h_prev - h~) f i (1 - f) / (f + i)^2) W_f
                                       - diag((h_prev - h~) f i (1 - i) / (f + i)^2) W_i + diag(i') W_h,  dY = dS
    Returns (J, s_t)."""
    W, L, H = rnn.width, rnn.num_layers, rnn.hidden_size
    S = W * L
    u = x_t
    dU = torch.zeros(x_t.numel(), S, dtype=f64)
    rows, s_next = [], []
    for k in range(L):
        sp = s_prev[k * W:(k + 1) * W]
        Jd = torch.zeros(W, S, dtype=f64)
        if rnn.cell == "lru":
            N = rnn.state_size
            lr, li, gam = rnn.lru_lambda(k)
            blk = torch.cat([torch.cat([torch.diag(lr), -torch.diag(li)], 1),
                             torch.cat([torch.diag(li), torch.diag(lr)], 1)], 0)
            Jd[:, k * W:(k + 1) * W] = blk
            Bre, Bim = getattr(rnn, f"B_re_l{k}"), getattr(rnn, f"B_im_l{k}")
            M = torch.cat([gam[:, None] * Bre, gam[:, None] * Bim], 0)
            dS = Jd + M @ dU
            sk, yk = rnn.step(k, sp[None], u[None])
            Cre, Cim, D = getattr(rnn, f"C_re_l{k}"), getattr(rnn, f"C_im_l{k}"), getattr(rnn, f"D_l{k}")
            a = sk[0, :N] @ Cre.T - sk[0, N:] @ Cim.T + u @ D.T
            dact = act_prime(rnn.activation, a)
            dY = dact[:, None] * (torch.cat([Cre, -Cim], 1) @ dS + D @ dU)
        else:
            Wih, b = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"bias_ih_l{k}")
            a = Wih @ u + b
            if rnn.cell == "mingru":
                z, ht = torch.sigmoid(a[:H]), a[H:]
                Jd[:, k * W:(k + 1) * W] = torch.diag(1 - z)
                M = (z * (1 - z) * (ht - sp))[:, None] * Wih[:H] + z[:, None] * Wih[H:]
            else:
                f, i, ht = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), a[2 * H:]
                Jd[:, k * W:(k + 1) * W] = torch.diag(f / (f + i))
                c = (sp - ht) * f * i / (f + i) ** 2
                M = (c * (1 - f))[:, None] * Wih[:H] - (c * (1 - i))[:, None] * Wih[H:2 * H] \
                    + (i / (f + i))[:, None] * Wih[2 * H:]
            dS = Jd + M @ dU
            sk, yk = rnn.step(k, sp[None], u[None])
            dY = dS
        rows.append(dS)
        s_next.append(sk[0])
        u, dU = yk[0], dY
    return torch.cat(rows, 0), torch.cat(s_next)


def check_jacobians():
    for cell, L in (("lru", 1), ("lru", 2), ("lru", 3), ("mingru", 1), ("mingru", 3), ("minlstm", 1),
                    ("minlstm", 3)):
        for act in (("linear", "relu", "tanh", "gelu") if cell == "lru" else ("-",)):
            g = torch.Generator().manual_seed(7 + L)
            rnn = dc.DiagRNN(cell, 3, 4, L, state_size=5, activation=act if cell == "lru" else "gelu",
                             dtype=f64, generator=g, r_min=0.4, r_max=0.99)
            x = torch.randn(12, 3, generator=g, dtype=f64)
            s0 = 0.5 * torch.randn(L * rnn.width, generator=g, dtype=f64)
            Js, ss = dc.jacobians(rnn, x, s0)
            worst = 0.0
            s = s0
            with torch.no_grad():
                for t in range(x.shape[0]):
                    Jc, s_new = closed_form_J(rnn, x[t], s)
                    worst = max(worst, rel(Js[t], Jc))
                    assert rel(s_new, ss[t]) < 1e-14
                    s = s_new
                W = rnn.width
                for t in range(x.shape[0]):  # block lower triangular
                    for k in range(L):
                        assert Js[t][k * W:(k + 1) * W, (k + 1) * W:].abs().max().item() == 0.0 if k < L - 1 else True
                if cell == "lru":  # the per-layer block: the 2x2 structure at (i, N+i), constant in t
                    N = rnn.state_size
                    for k in range(L):
                        lr, li, _ = rnn.lru_lambda(k)
                        blk = Js[:, k * W:(k + 1) * W, k * W:(k + 1) * W]
                        for i in range(N):
                            two = blk[:, [i, N + i]][:, :, [i, N + i]]
                            want = torch.tensor([[lr[i], -li[i]], [li[i], lr[i]]], dtype=f64)
                            assert (two - want).abs().max().item() < 1e-15
                        off = blk.clone()
                        for i in range(N):
                            off[:, [i, N + i], i] = 0
                            off[:, [i, N + i], N + i] = 0
                        assert off.abs().max().item() == 0.0
                    if L == 1:
                        assert (Js - Js[0]).abs().max().item() == 0.0  # independent of t, input, state
                # the Jacobian run's final state is the module's
                _, hT = rnn(x[None], s0.reshape(L, 1, W))
                assert rel(ss[-1], hT[:, 0].reshape(-1)) < 1e-14
            RESULTS[f"J {cell} L={L} {act}"] = worst
            print(f"Jacobian vs closed form: {cell:7s} L={L} {act:6s} max rel err {worst:.1e}")
            assert worst < 1e-13, (cell, L, act, worst)


# -------------------------------------------------------------- 5. Lyapunov

def qr_exponents(rnn, x, s0, transient):
    def it():
        s = s0
        with torch.no_grad():
            for t in range(x.shape[0]):
                Fs = dc.step_fn(rnn, x[t])
                J = torch.autograd.functional.jacobian(Fs, s)
                s = Fs(s)
                yield J
    S = s0.numel()
    return dc.lyapunov_qr(it(), S, transient=transient)


def check_lyapunov():
    T, tr = 3000, 300
    # LRU: ln|lam_i| = -exp(nu_i), each twice; with input (J does not depend on it)
    for L in (1, 2):
        g = torch.Generator().manual_seed(21 + L)
        rnn = dc.DiagRNN("lru", 2, 3, L, state_size=4, activation="tanh", dtype=f64, generator=g,
                         r_min=0.3, r_max=0.98)
        x = torch.randn(T, 2, generator=g, dtype=f64)
        s0 = torch.randn(L * rnn.width, generator=g, dtype=f64)
        est = qr_exponents(rnn, x, s0, tr).sort(descending=True).values
        closed = torch.cat([-torch.exp(getattr(rnn, f"nu_log_l{k}")).repeat(2) for k in range(L)])
        closed = closed.sort(descending=True).values
        err = (est - closed).abs().max().item()
        RESULTS[f"lyap lru L={L}"] = err
        print(f"Lyapunov LRU L={L}: closed {[round(v, 5) for v in closed.tolist()]}")
        print(f"                  QR     {[round(v, 5) for v in est.tolist()]}  max |diff| {err:.1e}")
        assert err < 2e-3, err
    # minGRU / minLSTM with zero input
    for cell in ("mingru", "minlstm"):
        for L in (1, 3):
            g = torch.Generator().manual_seed(31 + L)
            H = 5
            rnn = dc.DiagRNN(cell, 2, H, L, dtype=f64, generator=g)
            with torch.no_grad():  # spread the gates' biases so the exponents differ
                for k in range(L):
                    b = getattr(rnn, f"bias_ih_l{k}")
                    b.copy_(torch.linspace(-2, 2, b.numel(), dtype=f64)[torch.randperm(b.numel(), generator=g)])
            x = torch.zeros(T, 2, dtype=f64)
            s0 = torch.randn(L * H, generator=g, dtype=f64)
            est = qr_exponents(rnn, x, s0, tr).sort(descending=True).values
            closed, u = [], torch.zeros(2, dtype=f64)
            with torch.no_grad():
                for k in range(L):
                    a = getattr(rnn, f"weight_ih_l{k}") @ u + getattr(rnn, f"bias_ih_l{k}")
                    if cell == "mingru":  # ln(1 - sigmoid(a_z)) = -softplus(a_z)
                        closed.append(-F.softplus(a[:H]))
                    else:  # ln f' = ln sigmoid(a_f) - ln(sigmoid(a_f) + sigmoid(a_i))
                        f, i = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H])
                        closed.append(torch.log(f) - torch.log(f + i))
                    u = a[-H:]  # the fixed point h* = h~* = a_h, the next layer's input
            closed = torch.cat(closed).sort(descending=True).values
            err = (est - closed).abs().max().item()
            RESULTS[f"lyap {cell} L={L}"] = err
            print(f"Lyapunov {cell} L={L}, zero input: closed {[round(v, 5) for v in closed.tolist()]}")
            print(f"{'':33s}QR     {[round(v, 5) for v in est.tolist()]}  max |diff| {err:.1e}")
            assert err < 2e-3, err
            if L == 1:  # the brief's form on the parameters directly
                b = rnn.bias_ih_l0
                direct = (-torch.log1p(torch.exp(b[:H])) if cell == "mingru" else
                          torch.log(torch.sigmoid(b[:H]) / (torch.sigmoid(b[:H]) + torch.sigmoid(b[H:2 * H]))))
                assert rel(direct.sort(descending=True).values, closed) < 1e-14


# ------------------------------------------------------------------ 6. files

def check_files():
    import tempfile
    net = dc.DiagNet("lru", 3, 4, 2, 2, state_size=6, activation="tanh", dtype=f64,
                     generator=torch.Generator().manual_seed(3))
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.safetensors")
        dc.st_save(p, net.state_dict(), net.meta("mse"))
        sd, meta = dc.st_load(p)
        net2 = dc.net_from(sd, meta)
        for (n, a), (n2, b) in zip(net.state_dict().items(), net2.state_dict().items()):
            assert n == n2 and torch.equal(a, b)
        tools = os.path.join(REPO, "tools")
        if os.path.exists(os.path.join(tools, "safetensors_py.py")):
            sys.path.insert(0, tools)
            import safetensors_py as st
            sd2, meta2 = st.load(p)
            assert meta2 == meta and all(torch.equal(sd[k], sd2[k]) for k in sd)
            with open(p, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
            assert n % 8 == 0
    print("files: ok (round trip; read by tools/safetensors_py.py)")


if __name__ == "__main__":
    torch.set_num_threads(2)
    check_names()
    check_init()
    check_gradients()
    check_jacobians()
    check_lyapunov()
    check_files()
    print("all self-checks passed")
