#!/usr/bin/python3
"""PyTorch reference for rnnlab's three diagonal recurrences: lru, mingru, minlstm.

Run with Debian's Python (/usr/bin/python3, python3-torch 1.13). This module is the
*reference*: a plain sequential loop over t, written from the specification (see
docs/jacobians.md and issue 25), in real arithmetic only (the LRU's complex state is carried as its real and
imaginary parts), float32 or float64, any number of layers, optional initial state.
It is what autograd fixtures should be made from (diag_fixtures.py does so).

Layers: layer k reads u_t = the input x_t for k = 0, the output of layer k-1 otherwise;
I_k = input_size for k = 0, hidden_size above. Input (B, T, I), batch first.

  lru      x_t = lam * x_{t-1} + gamma * (B u_t)            x in C^N, B = B_re + i B_im (N, I_k)
           lam = exp(-exp(nu_log) + i exp(theta_log)),  gamma = exp(gamma_log)       (N each)
           y_t = act(Re(C x_t) + D u_t)                      C = C_re + i C_im (H, N), D (H, I_k)
           act in {linear, relu, tanh, gelu (erf form; the default)}; output y_t (H)
  mingru   [a_z; a_h] = W u_t + b   (W = weight_ih (2H, I_k), b = bias_ih (2H))
           z = sigmoid(a_z), h~ = a_h, h_t = (1 - z) * h_{t-1} + z * h~;  output h_t
  minlstm  [a_f; a_i; a_h] = W u_t + b  (3H rows)
           f = sigmoid(a_f), i = sigmoid(a_i), f' = f / (f + i), i' = i / (f + i), h~ = a_h
           h_t = f' * h_{t-1} + i' * h~;  output h_t

state_dict names (module DiagRNN registered as `rnn` in DiagNet, head = nn.Linear(H, O)):
  lru:     rnn.nu_log_l{k}, rnn.theta_log_l{k}, rnn.gamma_log_l{k} (N),
           rnn.B_re_l{k}, rnn.B_im_l{k} (N, I_k), rnn.C_re_l{k}, rnn.C_im_l{k} (H, N), rnn.D_l{k} (H, I_k)
  mingru:  rnn.weight_ih_l{k} (2H, I_k) rows [z; h~], rnn.bias_ih_l{k} (2H)
  minlstm: rnn.weight_ih_l{k} (3H, I_k) rows [f; i; h~], rnn.bias_ih_l{k} (3H)
  head.weight (O, H), head.bias (O)

The real state of one layer (what Jacobian tools see, and the layout of h0 / hT here):
  lru:     s = [Re x; Im x]  (2N; NOT interleaved: Re x_1..Re x_N, then Im x_1..Im x_N)
  mingru, minlstm: s = h     (H)
The state of the net is the concatenation over layers (S = L * width).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

CELLS = ("lru", "mingru", "minlstm")
ACTIVATIONS = ("linear", "relu", "tanh", "gelu")
GATES = {"mingru": 2, "minlstm": 3}


def activation_fn(name):
    if name == "linear":
        return lambda a: a
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name == "gelu":
        return lambda a: F.gelu(a)  # approximate='none': a * Phi(a), the erf form
    raise ValueError(f"activation {name!r}: one of {ACTIVATIONS}")


class DiagRNN(torch.nn.Module):
    """The stack of L layers of one diagonal cell. forward(x, h0=None) -> (out (B,T,H), hT (L,B,W)),
    W = 2N for lru ([Re x; Im x]), H otherwise. h0: (L,B,W) real, or for lru also (L,B,N) complex."""

    def __init__(self, cell, input_size, hidden_size, num_layers=1, state_size=None, activation="gelu",
                 dtype=torch.float32, generator=None, r_min=0.9, r_max=0.999, max_phase=2 * math.pi):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell {cell!r}: one of {CELLS}")
        self.cell, self.input_size, self.hidden_size, self.num_layers = cell, input_size, hidden_size, num_layers
        self.state_size = (state_size or hidden_size) if cell == "lru" else hidden_size
        self.activation = activation if cell == "lru" else None
        if cell == "lru":
            activation_fn(activation)  # validates the name
        H, N = hidden_size, self.state_size
        for k in range(num_layers):
            Ik = input_size if k == 0 else H
            if cell == "lru":
                shapes = [("nu_log", (N,)), ("theta_log", (N,)), ("gamma_log", (N,)), ("B_re", (N, Ik)),
                          ("B_im", (N, Ik)), ("C_re", (H, N)), ("C_im", (H, N)), ("D", (H, Ik))]
            else:
                G = GATES[cell]
                shapes = [("weight_ih", (G * H, Ik)), ("bias_ih", (G * H,))]
            for n, shape in shapes:
                self.register_parameter(f"{n}_l{k}", torch.nn.Parameter(torch.zeros(shape, dtype=dtype)))
        self.reset_parameters(generator, r_min, r_max, max_phase)

    @property
    def width(self):
        """The real state width of one layer."""
        return 2 * self.state_size if self.cell == "lru" else self.hidden_size

    def layer_input_size(self, k):
        return self.input_size if k == 0 else self.hidden_size

    # ------------------------------------------------------------------ init

    @torch.no_grad()
    def reset_parameters(self, generator=None, r_min=0.9, r_max=0.999, max_phase=2 * math.pi):
        """lru: the ring init (Orvieto et al. 2023, Lemma 3.2 / minimal-LRU's nu_init, theta_init,
        gamma_log_init): |lam|^2 ~ U[r_min^2, r_max^2], arg lam ~ U[0, max_phase], gamma = sqrt(1 - |lam|^2),
        B_re, B_im ~ N(0, 1/(2 I_k)), C_re, C_im ~ N(0, 1/N), D ~ U(-1/sqrt(I_k), 1/sqrt(I_k)).
        mingru/minlstm: PyTorch's nn.Linear(I_k, G H) init: weight and bias ~ U(-1/sqrt(I_k), 1/sqrt(I_k))
        (kaiming_uniform_(a=sqrt(5)) gives that bound exactly). Random numbers are drawn in float64 from
        `generator` (torch's default generator when None) and rounded to the parameter dtype."""
        g = generator
        f64 = torch.float64
        H, N = self.hidden_size, self.state_size
        for k in range(self.num_layers):
            Ik = self.layer_input_size(k)
            p = lambda n: getattr(self, f"{n}_l{k}")  # noqa: E731
            if self.cell == "lru":
                u1 = torch.rand(N, generator=g, dtype=f64)
                u2 = torch.rand(N, generator=g, dtype=f64)
                mod2 = u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2  # |lam|^2
                nu = torch.log(-0.5 * torch.log(mod2))  # |lam| = exp(-exp(nu))  <=>  exp(nu) = -ln|lam|
                theta = torch.log(max_phase * u2)  # arg lam = exp(theta)
                p("nu_log").copy_(nu)
                p("theta_log").copy_(theta)
                p("gamma_log").copy_(0.5 * torch.log1p(-mod2))  # gamma = sqrt(1 - |lam|^2)
                p("B_re").copy_(torch.randn(N, Ik, generator=g, dtype=f64) / math.sqrt(2 * Ik))
                p("B_im").copy_(torch.randn(N, Ik, generator=g, dtype=f64) / math.sqrt(2 * Ik))
                p("C_re").copy_(torch.randn(H, N, generator=g, dtype=f64) / math.sqrt(N))
                p("C_im").copy_(torch.randn(H, N, generator=g, dtype=f64) / math.sqrt(N))
                p("D").copy_((torch.rand(H, Ik, generator=g, dtype=f64) * 2 - 1) / math.sqrt(Ik))
            else:
                bound = 1 / math.sqrt(Ik)
                W, b = p("weight_ih"), p("bias_ih")
                W.copy_((torch.rand(W.shape, generator=g, dtype=f64) * 2 - 1) * bound)
                b.copy_((torch.rand(b.shape, generator=g, dtype=f64) * 2 - 1) * bound)

    # --------------------------------------------------------------- derived

    def lru_lambda(self, k):
        """(Re lam, Im lam, gamma) of layer k, real tensors (N)."""
        mod = torch.exp(-torch.exp(getattr(self, f"nu_log_l{k}")))
        ph = torch.exp(getattr(self, f"theta_log_l{k}"))
        return mod * torch.cos(ph), mod * torch.sin(ph), torch.exp(getattr(self, f"gamma_log_l{k}"))

    # ------------------------------------------------------------------ step

    def step(self, k, s, u):
        """One step of layer k: s (B, W) real state at t-1, u (B, I_k) -> (s_t, y_t)."""
        if self.cell == "lru":
            N = self.state_size
            lr, li, gam = self.lru_lambda(k)
            xr, xi = s[..., :N], s[..., N:]
            bu_r = u @ getattr(self, f"B_re_l{k}").T
            bu_i = u @ getattr(self, f"B_im_l{k}").T
            nr = lr * xr - li * xi + gam * bu_r  # Re(lam x + gamma B u)
            ni = li * xr + lr * xi + gam * bu_i  # Im(...)
            pre = nr @ getattr(self, f"C_re_l{k}").T - ni @ getattr(self, f"C_im_l{k}").T \
                + u @ getattr(self, f"D_l{k}").T  # Re(C x) + D u
            return torch.cat([nr, ni], -1), activation_fn(self.activation)(pre)
        H = self.hidden_size
        a = u @ getattr(self, f"weight_ih_l{k}").T + getattr(self, f"bias_ih_l{k}")
        if self.cell == "mingru":
            z, ht = torch.sigmoid(a[..., :H]), a[..., H:]
            h = (1 - z) * s + z * ht
        else:
            f, i, ht = torch.sigmoid(a[..., :H]), torch.sigmoid(a[..., H:2 * H]), a[..., 2 * H:]
            h = f / (f + i) * s + i / (f + i) * ht
        return h, h

    def initial_state(self, h0, B, dtype):
        L, W = self.num_layers, self.width
        if h0 is None:
            return torch.zeros(L, B, W, dtype=dtype)
        if h0.is_complex():
            assert self.cell == "lru" and h0.shape == (L, B, self.state_size), h0.shape
            return torch.cat([h0.real, h0.imag], -1)
        assert h0.shape == (L, B, W), (h0.shape, (L, B, W))
        return h0

    def forward(self, x, h0=None):
        B, T, _ = x.shape
        s0 = self.initial_state(h0, B, x.dtype)
        inp, hT = x, []
        for k in range(self.num_layers):
            s, outs = s0[k], []
            for u in inp.unbind(1):  # unbind, not inp[:, t]: one backward node for all t
                s, y = self.step(k, s, u)
                outs.append(y)
            inp = torch.stack(outs, 1)
            hT.append(s)
        return inp, torch.stack(hT)


class DiagNet(torch.nn.Module):
    """rnn (DiagRNN) + head = nn.Linear(H, O) on the top layer's output at every step.
    forward(x, h0=None) -> (o (B,T,O), hT (L,B,W))."""

    def __init__(self, cell, input_size, hidden_size, output_size, num_layers=1, state_size=None,
                 activation="gelu", dtype=torch.float32, generator=None, **init):
        super().__init__()
        self.rnn = DiagRNN(cell, input_size, hidden_size, num_layers, state_size, activation, dtype, generator,
                           **init)
        self.head = torch.nn.Linear(hidden_size, output_size, dtype=dtype)
        with torch.no_grad():  # nn.Linear's own init, from the same generator
            bound = 1 / math.sqrt(hidden_size)
            for p in self.head.parameters():
                p.copy_((torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound)

    def forward(self, x, h0=None):
        out, hT = self.rnn(x, h0)
        return self.head(out), hT

    def meta(self, loss):
        """safetensors metadata in rnnlab's keys (docs/files.md); state_size and activation are
        the keys rnnlab writes for an lru (docs/files.md)."""
        r = self.rnn
        m = dict(cell=r.cell, input_size=r.input_size, hidden_size=r.hidden_size, num_layers=r.num_layers,
                 output_size=self.head.out_features, loss=loss)
        if r.cell == "lru":
            m["state_size"] = r.state_size
            m["activation"] = r.activation
        return m


def net_from(sd, meta, dtype=torch.float64):
    """A DiagNet from a state_dict and its metadata (strict load)."""
    net = DiagNet(meta["cell"], int(meta["input_size"]), int(meta["hidden_size"]), int(meta["output_size"]),
                  int(meta["num_layers"]), int(meta.get("state_size", meta["hidden_size"])),
                  meta.get("activation", "gelu"), dtype)
    net.load_state_dict({k: v.to(dtype) for k, v in sd.items()}, strict=True)
    return net


# ------------------------------------------------------------ Jacobian tools

def step_fn(rnn, x_t):
    """s_t = F(s_{t-1}) for one sequence: s (S,) = concat over layers of each layer's real state,
    x_t (I,). One step of all layers, bottom to top (layer k+1 reads layer k's output at t)."""
    W = rnn.width

    def Fs(s):
        u, out = x_t[None], []
        for k in range(rnn.num_layers):
            sk, u = rnn.step(k, s[k * W:(k + 1) * W][None], u)
            out.append(sk[0])
        return torch.cat(out)
    return Fs


def jacobians(rnn, x, s0):
    """J_t = ds_t/ds_{t-1} (T, S, S) by autograd, and the states s_t (T, S), for one sequence x (T, I)."""
    Js, ss, s = [], [], s0
    with torch.no_grad():
        for t in range(x.shape[0]):
            Fs = step_fn(rnn, x[t])
            Js.append(torch.autograd.functional.jacobian(Fs, s))
            s = Fs(s)
            ss.append(s)
    return torch.stack(Js), torch.stack(ss)


def lyapunov_qr(J_iter, S, k=None, transient=0, dtype=torch.float64):
    """Lyapunov exponents by QR re-orthonormalisation (Benettin et al.; as rnnlab lyapunov):
    Q <- qr(J_t Q), sum ln|R_ii| after `transient` steps, divided by the steps counted.
    J_iter yields J_t (S, S). Returns the k largest (default all), in the QR order."""
    k = k or S
    Q = torch.linalg.qr(torch.randn(S, k, generator=torch.Generator().manual_seed(0), dtype=dtype))[0]
    acc, n = torch.zeros(k, dtype=dtype), 0
    for t, J in enumerate(J_iter):
        Q, R = torch.linalg.qr(J @ Q)
        if t >= transient:
            acc += torch.log(torch.abs(torch.diagonal(R)))
            n += 1
    return acc / n


# ------------------------------------------------ safetensors (docs/files.md)

# The files: tools/safetensors_py.py, the fixture scripts' one reader and writer (u64 LE header
# length, JSON header padded with spaces to a multiple of 8, raw LE data in dict order).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from safetensors_py import load as st_load, save as st_save  # noqa: E402,F401


def masked_loss(o, y, mask, loss):
    """rnnlab's loss (docs/files.md): sum(mask * l) / sum(mask), l = cross-entropy of o_t against
    the class y_t, or mean_k (o_tk - y_tk)^2 (the same as tools/make_fixtures.masked_loss)."""
    if loss == "cross_entropy":
        l = F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1), reduction="none").reshape(y.shape)
    else:
        l = ((o - y) ** 2).mean(-1)
    return (mask * l).sum() / mask.sum()
