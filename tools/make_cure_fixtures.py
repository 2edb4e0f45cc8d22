#!/usr/bin/python3
"""PyTorch float64 reference fixtures for the cells of issue 14 ("the cures"):
leaky units, IndRNN, and orthogonal recurrent weights (matrix exponential and
Cayley maps), plus a matrix-exponential / Cayley reference with adjoints; and
the modReLU cell of expRNN and scoRNN, plain and with an orthogonal W_hh.
Run with Debian's python3-torch (1.13):

    /usr/bin/python3 tools/make_cure_fixtures.py tests/fixtures
    (or: /usr/bin/python3 tools/make_fixtures.py --cures tests/fixtures)

It writes only new files (the names in CASES, plus expm_cayley.safetensors);
the fixtures of tools/make_fixtures.py are not touched. The output is the same
bytes on every run (one thread).

Files per case, in the format of tools/make_fixtures.py so the same C test code
reads them:
  NAME.model.safetensors  F64 tensors with PyTorch state_dict names rnn.* and
                          head.*; metadata cell, input_size, hidden_size,
                          num_layers, output_size, loss (and orthogonal).
  NAME.data.safetensors   x (B,T,I) F64; y (B,T) I64 for cross_entropy or
                          (B,T,O) F64 for mse; mask (B,T) F64 if any;
                          h0 (L,B,H) F64 if any.
  NAME.grad.safetensors   loss (scalar), grad.<every trained parameter>,
                          grad.h0 if h0: torch.autograd in float64 of
                          sum(mask * l) / sum(mask).
  NAME.jac.safetensors    J (T,S,S): J_t = ds_t/ds_{t-1}, P (S,S) = ds_T/ds_0,
                          sT (S), for sequence 0; s = concat over layers of h
                          (S = L*H), one step of all layers as in
                          make_fixtures.step_fn.
  NAME.orth.safetensors   (orthogonal cases only) rnn.weight_hh_l{k}, the
                          materialised W = B map(A) (H,H), and
                          grad.rnn.weight_hh_l{k} = dL/dW, to check the map and
                          the chain to X separately from the cell.
and one file
  expm_cayley.safetensors for case i = 0..count-1 (metadata count): c{i}.A (n,n)
                          skew-symmetric, n in 1, 2, 5, 16, 64, |A|_1 from 1e-3
                          to 30 (EXPM_CASES); c{i}.expm = torch.linalg.matrix_exp(A);
                          c{i}.cayley = torch.linalg.solve(I - A/2, I + A/2);
                          c{i}.G (n,n) a random cotangent; c{i}.expm_adj and
                          c{i}.cayley_adj = d sum(G * f(A)) / dA by autograd, the
                          n^2 entries of A independent (for expm: the Frechet
                          derivative L(A^T, G)). All F64.

The contracts (issue 14):
- cell "leaky" (Deep Learning, sec. 10.9.2):
    h_t = (1 - a) * h_{t-1} + a * tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),
    a = sigmoid(theta) per unit; tensors rnn.weight_ih_l{k} (H,in),
    rnn.weight_hh_l{k} (H,H), rnn.bias_ih_l{k} (H), rnn.bias_hh_l{k} (H),
    rnn.leak_l{k} (H) = theta, trained (grad.rnn.leak_l{k}).
- cell "indrnn" (Li et al. 2018):
    h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh),
    u stored as rnn.weight_hh_l{k} with shape (H,) (clipping u is a training
    detail, not part of the forward).
- cell "modrelu" (the unit of expRNN and scoRNN; Arjovsky et al. 2016):
    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
    h_t = sign(a_t) * relu(|a_t| + b), torch.sign and torch.relu (so h = 0
    and no gradient where a = 0 or |a| + b = 0); tensors as the leaky
    cell's with rnn.modrelu_bias_l{k} (H) = b in place of rnn.leak_l{k}.
    PyTorch has no such module: ModReLURNN below is one, its b named as
    expRNN's modrelu.b would be in a state_dict (nonlinearity.b there).
- cells "tanh", "relu", "linear" (and "leaky", "modrelu") with metadata orthogonal = "exp" | "cayley":
    exactly torch.nn.utils.parametrizations.orthogonal(rnn, "weight_hh_l{k}",
    orthogonal_map="matrix_exp" | "cayley") of PyTorch 1.13, registered on a
    real nn.RNN whose state_dict is written. Tensors
    rnn.parametrizations.weight_hh_l{k}.original (X, (H,H), trained) and
    rnn.parametrizations.weight_hh_l{k}.0.base (B, (H,H), a buffer, not
    trained, no gradient); no rnn.weight_hh_l{k}. The same on the leaky
    cell: registered on LeakyRNN's weight_hh_l{k}, whose forward reads the
    parametrised W = B map(A) by attribute (rnn.leak_l{k} beside X and B).

What PyTorch 1.13 does (torch/nn/utils/parametrizations.py, class
_Orthogonal, read in /usr/lib/python3/dist-packages/torch):
- forward(X), lines 69-107, for a square X (n == k):
      X = X.tril()                      # line 78: the diagonal is kept ...
      A = X - X.mH                      # line 82: ... and cancels: A_ii = 0
      Q = torch.matrix_exp(A)                                   # line 85, or
      Q = torch.linalg.solve(I - A/2, I + A/2)                  # line 89
      (the comment at line 87 writes (I + A/2)(I - A/2)^{-1}: the two factors
      commute, so it is the same matrix, computed by one LU solve)
      if hasattr(self, "base"): Q = self.base @ Q               # line 104
  so A = tril(X) - tril(X)^T = tril(X,-1) - tril(X,-1)^T, and
      W = B @ expm(A)   or   W = B @ (I - A/2)^{-1} (I + A/2)
  (B on the left). Only the strict lower triangle of X matters; autograd
  gives exactly 0 in the gradient's diagonal and upper triangle.
- use_trivialization=True is the default (line 46 and orthogonal(), line
  177); it registers the buffer "base" (line 67), saved in the state_dict
  as parametrizations.weight_hh_l{k}.0.base.
- right_inverse(W) on registration (lines 110-170, trivialization branch
  150-170): if W is orthogonal (_is_orthogonal: allclose(W^T W, I,
  atol=10 n eps), lines 14-19) then base = W.clone(), else base =
  _make_orthogonal(W) (lines 22-30: the Q of geqrf/householder_product,
  columns multiplied by sgn(diag R), i.e. the QR factor with diag(R) >= 0);
  it returns -I (lines 168-170), which becomes `original`
  (parametrize.py line 161, original.set_(new)). So right after
  registration X = -I, A = 0 and W = B. The optimizer never changes X's
  diagonal or upper triangle (their gradient is 0), so a model trained in
  PyTorch keeps diag(X) = -1, triu(X, 1) = 0 (unless weight decay moves them).
- orthogonal() registers with unsafe=True (line 284).
- Pitfall (checked in selfcheck_registration): nn.RNN.forward uses
  self._flat_weights, a list built at construction; register_parametrization
  reuses the old Parameter object as `original` (set_), so after registration
  nn.RNN's forward silently runs with X in place of W. The forward here
  refreshes _flat_weights from the parametrised attributes on every call.

- torch 1.13's backward of matrix_exp evaluates expm([[A^T, G], [0, A^T]])
  without scaling G down, so its relative error grows with |G|: 4e-12 at
  |G| ~ 6e3 against mpmath, 5e-16 once G is scaled to norm 1. The gradients
  here are torch.autograd through the registered parametrization, with the
  backward seeded by c = 2^-j (so that every |c dL/dW_l{k}|_F <= 1) and
  divided by c: exact for every tensor but X's (checked bit for bit against
  the seed-1 gradients), and X's agrees with seed 1 to 1e-10 and with the
  by-hand gradient to 1e-12. rnnlab's block-matrix adjoint should scale G.

Self-checks (run every time; any failure stops the script): each case's
module-based forward, loss and gradients against an independent by-hand
implementation (explicit loops; its own Taylor scaling-and-squaring expm and
an explicit inverse for Cayley) to 1e-12, and dL/dW too; W^T W = I; the
registration facts above; the gradient of X zero on and above the diagonal;
the loss recomputed from the written files; layer 0's block of every J_t
against the closed forms of issue 14 (e.g. leaky diag(1 - a) + diag(a tanh')
W_hh) and the Jacobian run's final state against the module's; for the expm
file, torch's expm and Cayley against mpmath at 40 digits (measured: at most
1.5e-14 of max|f(A)|, at n = 64, |A|_1 = 30) and expm against an
eigendecomposition, the adjoints against the Daleckii-Krein formula (expm), a
closed form (Cayley), the block identity at 40 digits (n <= 16) and central
differences (n <= 5)."""
import math
import os
import shutil
import subprocess
import sys
import tempfile

import mpmath
import torch
from torch.nn.utils import parametrizations, parametrize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import safetensors_py as st  # noqa: E402

f64 = torch.float64

# name, cell, orthogonal map, layers, I, H, O, loss, B, T, mask, h0, X init
# mask: True = random in {0, 0.5, 1}; "pad" = 1 up to a length, 0 after it.
# X init (orthogonal only): "full" = every entry random (the diagonal and upper
# triangle must be ignored); "torch" = -I plus a random strict lower triangle
# (what training in PyTorch leaves); "registered" = -I (A = 0, W = B).
CE, MSE = "cross_entropy", "mse"
CASES = [
    ("leaky_l1_ce", "leaky", None, 1, 3, 5, 4, CE, 2, 6, True, True, None),
    ("leaky_l2_mse_h1", "leaky", None, 2, 2, 1, 2, MSE, 3, 7, True, False, None),
    ("leaky_l3_ce", "leaky", None, 3, 3, 4, 3, CE, 2, 8, False, True, None),
    ("leaky_l2_mse_long", "leaky", None, 2, 2, 5, 1, MSE, 2, 40, "pad", True, None),
    ("indrnn_l1_mse", "indrnn", None, 1, 3, 5, 2, MSE, 2, 7, True, True, None),
    ("indrnn_l2_ce_h1", "indrnn", None, 2, 2, 1, 3, CE, 3, 6, True, True, None),
    ("indrnn_l3_mse_long", "indrnn", None, 3, 3, 4, 2, MSE, 2, 30, "pad", True, None),
    ("orth_exp_tanh_l1_ce", "tanh", "exp", 1, 3, 5, 4, CE, 2, 6, True, True, "full"),
    ("orth_cayley_tanh_l2_mse", "tanh", "cayley", 2, 3, 6, 3, MSE, 2, 9, True, True, "full"),
    ("orth_exp_relu_l2_ce", "relu", "exp", 2, 2, 4, 3, CE, 3, 7, True, False, "torch"),
    ("orth_cayley_relu_l1_mse", "relu", "cayley", 1, 3, 5, 2, MSE, 2, 8, True, True, "torch"),
    ("orth_exp_linear_l1_mse_long", "linear", "exp", 1, 2, 4, 1, MSE, 2, 30, "pad", True, "full"),
    ("orth_cayley_linear_l3_ce", "linear", "cayley", 3, 3, 4, 3, CE, 2, 6, False, True, "full"),
    ("orth_exp_tanh_l2_mse_h1", "tanh", "exp", 2, 2, 1, 2, MSE, 2, 5, True, True, "full"),
    ("orth_cayley_tanh_l1_ce_registered", "tanh", "cayley", 1, 3, 4, 3, CE, 2, 6, True, True, "registered"),
    ("orth_exp_tanh_l3_ce_long", "tanh", "exp", 3, 3, 4, 3, CE, 2, 30, True, True, "full"),
    # the leaky cell with torch's parametrization registered on LeakyRNN's weight_hh_l{k}
    ("orth_exp_leaky_l2_mse", "leaky", "exp", 2, 3, 5, 2, MSE, 2, 8, True, True, "full"),
    ("orth_cayley_leaky_l1_ce", "leaky", "cayley", 1, 2, 4, 3, CE, 3, 7, True, False, "torch"),
    # modReLU; "_edges": units at a = 0 and at |a| + b = 0 exactly (set_edges)
    ("modrelu_l1_ce", "modrelu", None, 1, 3, 5, 4, CE, 2, 6, True, True, None),
    ("modrelu_l2_mse_h1", "modrelu", None, 2, 2, 1, 2, MSE, 3, 7, True, False, None),
    ("modrelu_l3_mse_long", "modrelu", None, 3, 3, 4, 2, MSE, 2, 30, "pad", True, None),
    ("modrelu_l1_mse_edges", "modrelu", None, 1, 2, 6, 2, MSE, 3, 5, True, True, None),
    ("orth_exp_modrelu_l2_ce", "modrelu", "exp", 2, 3, 5, 3, CE, 2, 8, True, True, "full"),
    ("orth_cayley_modrelu_l1_mse", "modrelu", "cayley", 1, 2, 4, 2, MSE, 3, 7, True, False, "torch"),
]

TORCH_MAP = {"exp": "matrix_exp", "cayley": "cayley"}


# ---------------------------------------------------------------- the modules

class UnitRNN(torch.nn.Module):
    """PyTorch's RNN layout, weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, and after them one tensor
    (H) of the cell's own per layer, {own}_l{k}; the weights read by attribute, so that a parametrization
    registered on weight_hh_l{k} is what the step sees. A subclass names own and gives step(x_t, h, w, e): h_t
    from w = [W_ih, W_hh, b_ih, b_hh] and e = prep(its own tensor), prep taken once a layer."""
    own = None

    @staticmethod
    def prep(e):
        return e

    def __init__(self, I, H, L):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = I, H, L
        for k in range(L):
            fan = I if k == 0 else H
            for n, shape in ((f"weight_ih_l{k}", (H, fan)), (f"weight_hh_l{k}", (H, H)), (f"bias_ih_l{k}", (H,)),
                             (f"bias_hh_l{k}", (H,)), (f"{self.own}_l{k}", (H,))):
                self.register_parameter(n, torch.nn.Parameter(torch.zeros(shape, dtype=f64)))

    def forward(self, x, h0):
        inp, hT = x, []
        for k in range(self.num_layers):
            w = [getattr(self, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            e = self.prep(getattr(self, f"{self.own}_l{k}"))
            h, outs = h0[k], []
            for t in range(x.shape[1]):
                h = self.step(inp[:, t], h, w, e)
                outs.append(h)
            inp = torch.stack(outs, 1)
            hT.append(h)
        return inp, torch.stack(hT)


class LeakyRNN(UnitRNN):
    """h_t = (1 - a) h_{t-1} + a tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), a = sigmoid(leak_l{k}).
    The inner step is torch's own RNN tanh cell kernel (what nn.RNNCell runs)."""
    own = "leak"
    prep = staticmethod(torch.sigmoid)  # a, from theta

    def step(self, x_t, h, w, a):
        return (1 - a) * h + a * torch.rnn_tanh_cell(x_t, h, *w)


class ModReLURNN(UnitRNN):
    """h_t = sign(a_t) relu(|a_t| + b), a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, b = modrelu_bias_l{k}:
    the modReLU of expRNN and scoRNN on PyTorch's RNN layout."""
    own = "modrelu_bias"

    def step(self, x_t, h, w, b):
        a = torch.nn.functional.linear(x_t, w[0], w[2]) + torch.nn.functional.linear(h, w[1], w[3])
        return torch.sign(a) * torch.relu(torch.abs(a) + b)


class IndRNN(torch.nn.Module):
    """h_t = relu(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u = weight_hh_l{k} of shape (H,).
    Run as torch's multi-layer ReLU RNN kernel (what nn.RNN runs) with W_hh = diag(u)."""

    def __init__(self, I, H, L):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = I, H, L
        for k in range(L):
            fan = I if k == 0 else H
            for n, shape in ((f"weight_ih_l{k}", (H, fan)), (f"weight_hh_l{k}", (H,)), (f"bias_ih_l{k}", (H,)),
                             (f"bias_hh_l{k}", (H,))):
                self.register_parameter(n, torch.nn.Parameter(torch.zeros(shape, dtype=f64)))

    def forward(self, x, h0):
        flat = []
        for k in range(self.num_layers):
            flat += [getattr(self, f"weight_ih_l{k}"), torch.diag(getattr(self, f"weight_hh_l{k}")),
                     getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")]
        # args: input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first
        return torch._VF.rnn_relu(x, h0, flat, True, self.num_layers, 0.0, False, False, True)


def orthogonal_rnn(cell, I, H, L, omap):
    """An nn.RNN with torch's orthogonal parametrization on every weight_hh_l{k}
    (the linear cell uses the tanh module only as a container of tensors)."""
    rnn = torch.nn.RNN(I, H, L, nonlinearity="relu" if cell == "relu" else "tanh", batch_first=True, dtype=f64)
    for k in range(L):
        parametrizations.orthogonal(rnn, f"weight_hh_l{k}", orthogonal_map=TORCH_MAP[omap])
    return rnn


class CureNet(torch.nn.Module):
    """rnn + head, forward(x, h0) -> (o (B,T,O), hT (L,B,H))."""

    def __init__(self, cell, omap, L, I, H, O, register=True):
        super().__init__()
        self.cell, self.omap = cell, omap
        if cell in ("leaky", "modrelu"):
            self.rnn = LeakyRNN(I, H, L) if cell == "leaky" else ModReLURNN(I, H, L)
            for k in range(L if omap and register else 0):
                parametrizations.orthogonal(self.rnn, f"weight_hh_l{k}", orthogonal_map=TORCH_MAP[omap])
        elif cell == "indrnn":
            self.rnn = IndRNN(I, H, L)
        elif register:
            self.rnn = orthogonal_rnn(cell, I, H, L, omap)
        else:  # a plain nn.RNN, registered later by the caller
            self.rnn = torch.nn.RNN(I, H, L, nonlinearity="relu" if cell == "relu" else "tanh", batch_first=True,
                                    dtype=f64)
        self.head = torch.nn.Linear(H, O, dtype=f64)
        self.last_w = None  # the materialised W_hh of each layer in the last forward (orthogonal cells)

    def forward(self, x, h0):
        if self.omap is None:
            out, hT = self.rnn(x, h0)
            return self.head(out), hT
        rnn, L = self.rnn, self.rnn.num_layers
        with parametrize.cached():  # each W = B map(A) is computed once per forward
            self.last_w = [getattr(rnn, f"weight_hh_l{k}") for k in range(L)]
            if self.cell in ("leaky", "modrelu"):  # these read their weights by attribute: the cached W
                out, hT = rnn(x, h0)
                return self.head(out), hT
            if self.cell != "linear":
                # nn.RNN's _flat_weights still holds the pre-registration Parameter (now X): refresh it
                rnn._flat_weights = [getattr(rnn, n) for n in rnn._flat_weights_names]
                out, hT = rnn(x, h0)
                return self.head(out), hT
            inp, hT = x, []
            for k in range(L):
                w_ih, b_ih, b_hh = (getattr(rnn, f"{n}_l{k}") for n in ("weight_ih", "bias_ih", "bias_hh"))
                h, outs = h0[k], []
                for t in range(x.shape[1]):
                    h = inp[:, t] @ w_ih.T + b_ih + h @ self.last_w[k].T + b_hh
                    outs.append(h)
                inp = torch.stack(outs, 1)
                hT.append(h)
            return self.head(inp), torch.stack(hT)


def meta_of(cell, omap, L, I, H, O, loss):
    meta = dict(cell=cell, input_size=I, hidden_size=H, num_layers=L, output_size=O, loss=loss)
    if omap:
        meta["orthogonal"] = omap
    return meta


def load_net(model_path):
    """A model file into the modules above (for an orthogonal model: register the
    parametrization on a fresh nn.RNN, then load_state_dict, strict)."""
    sd, meta = st.load(model_path)
    L, I, H, O = (int(meta[k]) for k in ("num_layers", "input_size", "hidden_size", "output_size"))
    net = CureNet(meta["cell"], meta.get("orthogonal"), L, I, H, O)
    net.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    return net, meta


# ------------------------------------------------- the independent reference

def expm_taylor(A):
    """exp(A) by scaling and squaring of a 30-term Taylor series, in plain torch ops
    (differentiable; independent of torch.linalg.matrix_exp)."""
    n = A.shape[0]
    nrm = A.abs().sum(0).max().item()
    s = 0
    while nrm / 2 ** s > 0.5:
        s += 1
    As = A / 2 ** s
    term = torch.eye(n, dtype=A.dtype)
    E = term
    for j in range(1, 31):
        term = term @ As / j
        E = E + term
    for _ in range(s):
        E = E @ E
    return E


def w_by_hand(X, B, omap):
    """W = B map(A), A = tril(X, -1) - tril(X, -1)^T (the diagonal of tril(X) cancels)."""
    Xl = torch.tril(X, -1)
    A = Xl - Xl.T
    n = X.shape[0]
    Id = torch.eye(n, dtype=X.dtype)
    Q = expm_taylor(A) if omap == "exp" else torch.linalg.inv(Id - A / 2) @ (Id + A / 2)
    return B @ Q


def by_hand(meta, P, x, h0):
    """The same forward from the contracts, loop by loop, from a dict of tensors
    named as in the state_dict. Returns o (B,T,O), hT (L,B,H), [W_hh per layer]."""
    cell, omap = meta["cell"], meta.get("orthogonal")
    L = int(meta["num_layers"])
    inp, hT, ws = x, [], []
    for k in range(L):
        w_ih, b_ih, b_hh = (P[f"rnn.{n}_l{k}"] for n in ("weight_ih", "bias_ih", "bias_hh"))
        if omap:
            w_hh = w_by_hand(P[f"rnn.parametrizations.weight_hh_l{k}.original"],
                             P[f"rnn.parametrizations.weight_hh_l{k}.0.base"], omap)
        else:
            w_hh = P[f"rnn.weight_hh_l{k}"]
        ws.append(w_hh)
        h, outs = h0[k], []
        for t in range(x.shape[1]):
            if cell == "indrnn":
                a = inp[:, t] @ w_ih.T + b_ih + w_hh * h + b_hh
                h = torch.where(a > 0, a, torch.zeros_like(a))
            else:
                a = inp[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
                if cell == "leaky":
                    alpha = 1 / (1 + torch.exp(-P[f"rnn.leak_l{k}"]))
                    h = (1 - alpha) * h + alpha * torch.tanh(a)
                elif cell == "modrelu":  # on where a != 0 and |a| + b > 0: a + sign(a) b there, else 0
                    m = a.abs() + P[f"rnn.modrelu_bias_l{k}"]
                    h = torch.where((m > 0) & (a != 0), torch.where(a > 0, m, -m), torch.zeros_like(a))
                elif cell == "tanh":
                    h = torch.tanh(a)
                elif cell == "relu":
                    h = torch.where(a > 0, a, torch.zeros_like(a))
                else:
                    h = a
            outs.append(h)
        inp = torch.stack(outs, 1)
        hT.append(h)
    o = inp @ P["head.weight"].T + P["head.bias"]
    return o, torch.stack(hT), ws


def close(name, got, want, tol=1e-12):
    """|got - want| <= tol (|want| + max|want|), else stop with the worst element."""
    got, want = got.detach(), want.detach()
    assert got.shape == want.shape, (name, got.shape, want.shape)
    if want.numel() == 0:
        return
    scale = want.abs().max().item()
    err = (got - want).abs() - tol * (want.abs() + scale)
    worst = err.argmax()
    if err.reshape(-1)[worst] > 0:
        raise AssertionError(f"{name}: element {worst.item()}: {got.reshape(-1)[worst].item()!r} vs "
                             f"{want.reshape(-1)[worst].item()!r}")


# ----------------------------------------------------------------- the cases

def make_data(g, cell, L, I, H, O, loss, B, T, use_mask, use_h0):
    """make_fixtures.make_data, with an IndRNN's h0 made non-negative (a relu output)."""
    x, y, mask, h0 = mf.make_data(g, L, I, H, O, loss, B, T, use_mask, use_h0)
    if h0 is not None and cell == "indrnn":
        h0 = h0.abs()
    return x, y, mask, h0


def init_params(g, net, cell, omap, xinit):
    """Every parameter U(-0.8, 0.8) as in make_fixtures.py; then leak_l{k} (theta)
    U(-3, 1.5), so a = sigmoid(theta) spans 0.05..0.82; for the ReLU cells (indrnn,
    relu) the biases U(0.1, 0.8), so that few units are dead and the Jacobian
    products are not 0; IndRNN's u = +-U(0.5, 1); modReLU's b U(-0.4, 0.4) (both
    signs: units off near a = 0, and units that jump there); then, for the
    orthogonal cells, register torch's parametrization on the random W_hh (base =
    its QR factor) and set X by xinit."""
    with torch.no_grad():
        for n, p in net.named_parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=f64) * 2 - 1) * 0.8)
            if n.startswith("rnn.leak_l"):
                p.copy_(torch.rand(p.shape, generator=g, dtype=f64) * 4.5 - 3)
            if n.startswith("rnn.bias_") and cell in ("indrnn", "relu"):
                p.copy_(0.1 + 0.7 * torch.rand(p.shape, generator=g, dtype=f64))
            if n.startswith("rnn.weight_hh_l") and cell == "indrnn":
                p.copy_(torch.sign(p) * (0.5 + 0.5 * torch.rand(p.shape, generator=g, dtype=f64)))
            if n.startswith("rnn.modrelu_bias_l"):
                p.mul_(0.5)
    if not omap:
        return
    rnn, H = net.rnn, net.rnn.hidden_size
    for k in range(rnn.num_layers):
        W0 = getattr(rnn, f"weight_hh_l{k}").detach().clone()
        parametrizations.orthogonal(rnn, f"weight_hh_l{k}", orthogonal_map=TORCH_MAP[omap])
        selfcheck_registration(rnn, k, W0)
        X = rnn.parametrizations[f"weight_hh_l{k}"].original
        with torch.no_grad():
            if xinit == "full":
                X.copy_(torch.rand(H, H, generator=g, dtype=f64) * 2 - 1)
            elif xinit == "torch":
                X.add_(torch.tril(torch.rand(H, H, generator=g, dtype=f64) * 2 - 1, -1))
            else:
                assert xinit == "registered"


# modrelu_l1_mse_edges: units 0-3 with W_ih and W_hh rows of 0, so that a = b_ih + b_hh at every step,
# exactly: unit 0 a = 0 (b = 0.25), unit 1 |a| + b = 0 (a = 0.375), unit 2 a = -0.75, b = 0.25 (h = -1),
# unit 3 a = 0.5, b = -0.75 (off); units 4 and 5 keep their random weights
EDGES = {"bias_ih": (0.5, 0.25, -0.5, 0.25), "bias_hh": (-0.5, 0.125, -0.25, 0.25),
         "modrelu_bias": (0.25, -0.375, 0.25, -0.75)}


def set_edges(net):
    rnn = net.rnn
    with torch.no_grad():
        for n in ("weight_ih", "weight_hh"):
            getattr(rnn, f"{n}_l0")[:4] = 0
        for n, v in EDGES.items():
            getattr(rnn, f"{n}_l0")[:4] = torch.tensor(v, dtype=f64)


def selfcheck_edges(name, net, x, h0):
    """The edge units' states are exactly 0, 0, -1, 0 at every step, and torch passes nothing back through
    units 0, 1 and 3 (sign(0) = 0, relu'(0) = 0)."""
    with torch.no_grad():
        out, _ = net.rnn(x, h0)
    assert torch.equal(out[..., :4], torch.tensor([0.0, 0.0, -1.0, 0.0], dtype=f64).expand_as(out[..., :4])), name
    for n in ("bias_ih", "bias_hh", "modrelu_bias", "weight_ih"):
        gr = getattr(net.rnn, f"{n}_l0").grad
        assert torch.equal(gr[[0, 1, 3]], torch.zeros_like(gr[[0, 1, 3]])), (name, n, gr)
    assert (getattr(net.rnn, "modrelu_bias_l0").grad[2] == -getattr(net.rnn, "bias_ih_l0").grad[2]).item(), name


def selfcheck_registration(rnn, k, W0):
    """What right_inverse leaves: X = -I, base = the QR factor of W0 with diag(R) >= 0, W = base."""
    pl = rnn.parametrizations[f"weight_hh_l{k}"]
    H = W0.shape[0]
    assert torch.equal(pl.original.detach(), -torch.eye(H, dtype=f64)), pl.original
    if torch.allclose(W0.T @ W0, torch.eye(H, dtype=f64), atol=10 * H * torch.finfo(f64).eps):
        assert torch.equal(pl[0].base, W0)
    else:
        Q, R = torch.linalg.qr(W0)
        close(f"base_l{k} = qr(W)", pl[0].base, Q * torch.sgn(torch.diagonal(R)))
    with torch.no_grad():
        assert torch.equal(getattr(rnn, f"weight_hh_l{k}"), pl[0].base)
    if not hasattr(rnn, "_flat_weights_names"):  # LeakyRNN reads its weights by attribute
        return
    # nn.RNN's flat weight list holds the old Parameter object, which now holds X, not W
    idx = rnn._flat_weights_names.index(f"weight_hh_l{k}")
    if rnn._flat_weights[idx] is not pl.original:
        print(f"  note: nn.RNN's _flat_weights[{idx}] is no longer `original` in this torch")


def selfcheck_orthogonal_branch():
    """right_inverse of an already orthogonal W keeps it as the base; the Cayley map in
    torch is the solve (I - A/2)^{-1}(I + A/2); the gradient reaches only tril(X, -1)."""
    g = torch.Generator().manual_seed(77)
    for omap in ("exp", "cayley"):
        lin = torch.nn.Linear(6, 6, bias=False, dtype=f64)
        Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=f64))
        with torch.no_grad():
            lin.weight.copy_(Q)
        parametrizations.orthogonal(lin, "weight", orthogonal_map=TORCH_MAP[omap])
        assert torch.equal(lin.parametrizations.weight[0].base, Q)
        X = lin.parametrizations.weight.original
        with torch.no_grad():
            X.copy_(torch.randn(6, 6, generator=g, dtype=f64))
        close(f"W = B map(A), {omap}", lin.weight, w_by_hand(X.detach(), Q, omap))
        (lin.weight * torch.randn(6, 6, generator=g, dtype=f64)).sum().backward()
        assert torch.equal(torch.triu(X.grad), torch.zeros(6, 6, dtype=f64)), X.grad


def run_case(out_dir, name, cell, omap, L, I, H, O, loss, B, T, use_mask, use_h0, xinit, seed):
    g = torch.Generator().manual_seed(seed)
    net = CureNet(cell, omap, L, I, H, O, register=False)
    init_params(g, net, cell, omap, xinit)
    if name.endswith("_edges"):
        set_edges(net)
    meta = meta_of(cell, omap, L, I, H, O, loss)
    x, y, mask, h0 = make_data(g, cell, L, I, H, O, loss, B, T, use_mask, use_h0)
    h0r = (h0 if h0 is not None else torch.zeros(L, B, H, dtype=f64)).clone().requires_grad_()
    o, hT = net(x, h0r)
    lossv = mf.masked_loss(o, y, mask, loss)
    params = list(net.named_parameters())
    leaves = [p for _, p in params] + [h0r]
    # PyTorch 1.13's matrix_exp backward is expm([[A^T, G], [0, A^T]]) with no scaling
    # of G, so its error grows with |G| (about 4e-12 relative at |G| ~ 6e3 here). The
    # gradient is linear in the seed: backpropagate c = 2^-j (|dL/dW| c <= 1) and
    # divide by c, which is exact in binary floating point for every other tensor.
    c, gW = 1.0, []
    if omap:
        gW = torch.autograd.grad(lossv, net.last_w, retain_graph=True)
        big = max(g_.norm().item() for g_ in gW)
        if big > 1:
            c = 2.0 ** -math.ceil(math.log2(big))
    raw = torch.autograd.grad(lossv, leaves, retain_graph=True)  # torch as it is, seed 1
    lossv.backward(torch.tensor(c, dtype=f64))
    for (n, p), r in zip(params, raw):
        p.grad /= c
        if ".original" in n:  # the scaled seed is the more accurate; both agree to ~1e-11
            close(f"{name}: seed 1 vs seed {c}: grad.{n}", r, p.grad, 1e-10)
        else:
            assert torch.equal(r, p.grad), (name, n)
    h0r.grad /= c
    assert torch.equal(raw[-1], h0r.grad), name
    grads = {"loss": lossv.detach().reshape(())}
    for n, p in params:
        grads["grad." + n] = p.grad
    if h0 is not None:
        grads["grad.h0"] = h0r.grad

    # the reference checked: the same loss and gradients by hand
    sd = {n: t.detach().clone().requires_grad_(t.dtype == f64) for n, t in net.state_dict().items()}
    h0b = h0r.detach().clone().requires_grad_()
    ob, hTb, wsb = by_hand(meta, sd, x, h0b)
    for w in wsb:
        w.retain_grad()
    lb = mf.masked_loss(ob, y, mask, loss)
    lb.backward()
    close(f"{name}: o", ob, o)
    close(f"{name}: hT", hTb, hT)
    close(f"{name}: loss", lb, lossv)
    for n, p in net.named_parameters():
        close(f"{name}: grad.{n}", sd[n].grad, p.grad)
    close(f"{name}: grad.h0", h0b.grad, h0r.grad)
    if name.endswith("_edges"):
        selfcheck_edges(name, net, x, h0r.detach())
    if omap:
        for k in range(L):
            close(f"{name}: W_l{k}", wsb[k], net.last_w[k])
            close(f"{name}: dL/dW_l{k}", wsb[k].grad, gW[k])
            Wk = net.last_w[k].detach()
            close(f"{name}: W_l{k} orthogonal", Wk.T @ Wk, torch.eye(H, dtype=f64), 1e-13)
            Xg = grads[f"grad.rnn.parametrizations.weight_hh_l{k}.original"]
            assert torch.equal(torch.triu(Xg), torch.zeros_like(Xg)), (name, Xg)

    mf.save_case(out_dir, name, net, meta, grads, x, y, mask if use_mask else None, h0)
    if omap:
        extra = {}
        for k in range(L):
            extra[f"rnn.weight_hh_l{k}"] = net.last_w[k].detach()
            extra[f"grad.rnn.weight_hh_l{k}"] = gW[k]
        st.save(os.path.join(out_dir, name + ".orth.safetensors"), extra)
    print(f"{name}: loss {lossv.item():.12g}")


def step_fn(net, x_t):
    """s_t = F(s_{t-1}, x_t), s = concat over layers of h, from the contracts."""
    rnn, cell = net.rnn, net.cell
    L, H = rnn.num_layers, rnn.hidden_size
    ws = [getattr(rnn, f"weight_hh_l{k}") for k in range(L)]  # orthogonal: W = B map(A)

    def Fs(s):
        inp, out = x_t, []
        for k in range(L):
            w_ih, b_ih, b_hh = (getattr(rnn, f"{n}_l{k}") for n in ("weight_ih", "bias_ih", "bias_hh"))
            h = s[k * H:(k + 1) * H]
            if cell == "indrnn":
                h = torch.relu(w_ih @ inp + b_ih + ws[k] * h + b_hh)
            else:
                a = w_ih @ inp + b_ih + ws[k] @ h + b_hh
                if cell == "leaky":
                    alpha = torch.sigmoid(getattr(rnn, f"leak_l{k}"))
                    h = (1 - alpha) * h + alpha * torch.tanh(a)
                elif cell == "modrelu":
                    h = torch.sign(a) * torch.relu(torch.abs(a) + getattr(rnn, f"modrelu_bias_l{k}"))
                else:
                    h = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda v: v}[cell](a)
            out.append(h)
            inp = h
        return torch.cat(out)
    return Fs


def check_block0(name, net, x_t, h, J00):
    """Layer 0's block of J_t against the closed forms of issue 14, a = W_ih x + b_ih + W_hh h + b_hh:
    leaky diag(1 - alpha) + diag(alpha tanh'(a)) W_hh; indrnn diag(relu'(a) u);
    tanh/relu/linear diag(act'(a)) W_hh; modrelu diag([a != 0 and |a| + b > 0]) W_hh."""
    rnn, cell = net.rnn, net.cell
    w_ih, w_hh, b_ih, b_hh = (getattr(rnn, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    if cell == "indrnn":
        want = torch.diag((w_ih @ x_t + b_ih + w_hh * h + b_hh > 0).double() * w_hh)
    else:
        a = w_ih @ x_t + b_ih + w_hh @ h + b_hh
        if cell == "leaky":
            alpha = torch.sigmoid(rnn.leak_l0)
            want = torch.diag(1 - alpha) + (alpha * (1 - torch.tanh(a) ** 2))[:, None] * w_hh
        else:
            d = {"tanh": lambda: 1 - torch.tanh(a) ** 2, "relu": lambda: (a > 0).double(),
                 "linear": lambda: torch.ones_like(a),
                 "modrelu": lambda: ((a != 0) & (a.abs() + rnn.modrelu_bias_l0 > 0)).double()}[cell]()
            want = d[:, None] * w_hh
    close(f"{name}: J_t layer 0 closed form", J00, want, 1e-13)


def jacobian_case(out_dir, name):
    """J_t = ds_t/ds_{t-1} and P = ds_T/ds_0 for sequence 0 by torch.autograd, from the
    files just written (so loading them into torch is exercised)."""
    net, meta = load_net(os.path.join(out_dir, name + ".model.safetensors"))
    data, _ = st.load(os.path.join(out_dir, name + ".data.safetensors"))
    L, H = net.rnn.num_layers, net.rnn.hidden_size
    # the files hold the model: its loss, recomputed from them, is the one in the grad file
    ref, _ = st.load(os.path.join(out_dir, name + ".grad.safetensors"))
    B, T = data["x"].shape[:2]
    with torch.no_grad():
        o, _ = net(data["x"], data["h0"] if "h0" in data else torch.zeros(L, B, H, dtype=f64))
        mask = data["mask"] if "mask" in data else torch.ones(B, T, dtype=f64)
        close(f"{name}: loss from the files", mf.masked_loss(o, data["y"], mask, meta["loss"]), ref["loss"], 1e-15)
    x = data["x"][0].double()
    h0 = data["h0"][:, 0].double() if "h0" in data else torch.zeros(L, H, dtype=f64)
    s = h0.reshape(-1)
    s0, step = s, (lambda x_t: step_fn(net, x_t))
    Js, s = mf.step_jacobians(step, x, s0, lambda t, s_, J: check_block0(name, net, x[t], s_[:H], J[:H, :H]))
    P = mf.run_jacobian(step, x, s0)
    with torch.no_grad():
        _, hT = net(x[None], h0[:, None])
    close(f"{name}: jacobian run's final state", s.reshape(L, H), hT[:, 0])
    st.save(os.path.join(out_dir, name + ".jac.safetensors"), {"J": torch.stack(Js), "P": P, "sT": s})
    print(f"{name}: jacobians, S = {s.numel()}, ||P|| = {torch.linalg.matrix_norm(P, 2).item():.6g}")


# ------------------------------------------------ matrix exponential and Cayley

# (n, 1-norm of A): small norms take the low-degree approximants, large ones need
# scaling and squaring (Higham's theta_13 = 5.37 for the [13/13] Pade approximant).
EXPM_CASES = [(1, 0.0), (2, 1e-3), (2, 2.0), (2, 30.0), (5, 1e-3), (5, 0.3), (5, 1.0), (5, 5.4), (5, 30.0),
              (16, 0.05), (16, 3.0), (16, 30.0), (64, 30.0)]


def seeded_grad(f, A, G):
    """d/dA sum(G * f(A)) by torch.autograd, backpropagating G c with c = 2^-j,
    |G c|_F <= 1, then dividing by c (see run_case: torch 1.13's matrix_exp backward
    loses accuracy as |G| grows). Returns (that, the same with seed G as it is)."""
    c = 2.0 ** -math.ceil(math.log2(G.norm().item())) if G.norm().item() > 1 else 1.0
    out = []
    for seed in (G * c, G):
        Ar = A.clone().requires_grad_()
        f(Ar).backward(seed)
        out.append(Ar.grad)
    return out[0] / c, out[1]


def mp_matrix(A):
    return mpmath.matrix(A.tolist())


def from_mp(M, rows, cols, r0=0, c0=0):
    return torch.tensor([[float(M[r0 + i, c0 + j]) for j in range(cols)] for i in range(rows)], dtype=f64)


def daleckii_krein_expm_adjoint(A, G):
    """L(A^T, G) = V ((V^H G V) o D) V^H for the skew (so normal) A^T = V diag(lam) V^H,
    D_jk = (e^lam_j - e^lam_k) / (lam_j - lam_k) = e^((lam_j + lam_k)/2) sinc(theta/2),
    lam_j - lam_k = i theta, written with sinc so that close eigenvalues are exact."""
    S = A.T.to(torch.complex128)
    mu, V = torch.linalg.eigh(1j * S)  # 1j S is Hermitian; lam = -1j mu
    lam = -1j * mu
    theta = (mu[None, :] - mu[:, None])  # lam_j - lam_k = 1j theta_jk, theta_jk = mu_k - mu_j
    D = torch.exp((lam[:, None] + lam[None, :]) / 2) * torch.sinc(theta / (2 * math.pi))
    out = V @ ((V.mH @ G.to(torch.complex128) @ V) * D) @ V.mH
    assert out.imag.abs().max() < 1e-12 * max(1.0, out.real.abs().max().item())
    return out.real


def rel_err(got, want):
    m = want.abs().max().item()
    return (got - want).abs().max().item() / (m if m > 0 else 1.0)


def expm_file(out_dir):
    """expm_cayley.safetensors: for case i, c{i}.A (n,n) skew, c{i}.expm =
    torch.linalg.matrix_exp(A), c{i}.cayley = (I - A/2)^{-1}(I + A/2) (torch.linalg.solve,
    as the parametrization), c{i}.G (n,n) a random cotangent, c{i}.expm_adj and
    c{i}.cayley_adj = d/dA sum(G * f(A)) with A's n^2 entries independent (for expm this
    is the Frechet derivative L(A^T, G)). Metadata: count."""
    mpmath.mp.dps = 40
    g = torch.Generator().manual_seed(4242)
    out = {}
    for i, (n, nrm) in enumerate(EXPM_CASES):
        M = torch.randn(n, n, generator=g, dtype=f64)
        A = M - M.T
        a1 = A.abs().sum(0).max().item()
        if a1 > 0:
            A = A * (nrm / a1)
        G = torch.randn(n, n, generator=g, dtype=f64)
        Id = torch.eye(n, dtype=f64)
        E = torch.linalg.matrix_exp(A)
        C = torch.linalg.solve(Id - A / 2, Id + A / 2)
        dE, dE1 = seeded_grad(lambda X: torch.linalg.matrix_exp(X), A, G)
        dC, dC1 = seeded_grad(lambda X: torch.linalg.solve(Id - X / 2, Id + X / 2), A, G)
        errs = {}

        # the values against 40-digit mpmath, an eigendecomposition, and orthogonality
        Em = from_mp(mpmath.expm(mp_matrix(A)), n, n)
        Cm = from_mp(mpmath.inverse(mp_matrix(Id - A / 2)) * mp_matrix(Id + A / 2), n, n)
        errs["expm-mp"], errs["cayley-mp"] = rel_err(E, Em), rel_err(C, Cm)
        mu, V = torch.linalg.eigh(1j * A.to(torch.complex128))
        errs["expm-eig"] = rel_err(E, (V @ torch.diag(torch.exp(-1j * mu)) @ V.mH).real)
        errs["orth"] = max((E.T @ E - Id).abs().max().item(), (C.T @ C - Id).abs().max().item())
        assert errs["expm-mp"] < 1e-13 and errs["cayley-mp"] < 1e-13 and errs["expm-eig"] < 1e-12, (i, errs)
        assert errs["orth"] < 1e-13, (i, errs)

        # the adjoints against Daleckii-Krein, a closed form, mpmath and central differences
        errs["adj-dk"] = rel_err(dE, daleckii_krein_expm_adjoint(A, G))
        Minv = torch.linalg.inv(Id - A / 2)  # d C = Minv (dA/2) (I + C)  =>  adjoint Minv^T G (I + C)^T / 2
        errs["cay-closed"] = rel_err(dC, Minv.T @ G @ (Id + C).T / 2)
        errs["adj-seed1"] = rel_err(dE1, dE)  # what torch gives unscaled
        errs["cay-seed1"] = rel_err(dC1, dC)
        if n <= 16:  # the block identity L(A^T, G) = expm([[A^T, G], [0, A^T]])_12 at 40 digits
            Bk = torch.zeros(2 * n, 2 * n, dtype=f64)
            Bk[:n, :n], Bk[n:, n:], Bk[:n, n:] = A.T, A.T, G
            errs["adj-mp"] = rel_err(dE, from_mp(mpmath.expm(mp_matrix(Bk)), n, n, 0, n))
            assert errs["adj-mp"] < 1e-13, (i, errs)
        if n <= 5:
            D = torch.randn(n, n, generator=torch.Generator().manual_seed(i), dtype=f64)
            h = 1e-6
            for what, f, d in (("fd-expm", torch.linalg.matrix_exp, dE),
                               ("fd-cayley", lambda X: torch.linalg.solve(Id - X / 2, Id + X / 2), dC)):
                fd = ((G * (f(A + h * D) - f(A - h * D))).sum() / (2 * h)).item()
                errs[what] = abs(fd - (d * D).sum().item()) / max(1.0, abs(fd))
                assert errs[what] < 1e-7, (i, errs)
        assert errs["adj-dk"] < 1e-12 and errs["cay-closed"] < 1e-12, (i, errs)
        assert errs["adj-seed1"] < 1e-10 and errs["cay-seed1"] < 1e-12, (i, errs)
        for k, v in (("A", A), ("expm", E), ("cayley", C), ("G", G), ("expm_adj", dE), ("cayley_adj", dC)):
            out[f"c{i}.{k}"] = v
        print(f"expm c{i}: n {n}, |A|_1 {nrm:g}: " + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    st.save(os.path.join(out_dir, "expm_cayley.safetensors"), out, {"count": len(EXPM_CASES)})


# ------------------------------------------- the other direction: made by rnnlab

RNNLAB = "build/rnnlab"
_TRAIN = ["--steps", "20", "--batch", "8", "--eval-every", "0", "--eval-batches", "1", "--flow-every", "0",
          "--quiet"]
# name, what rnnlab runs (init writes the model; train writes a run folder whose model.safetensors is taken),
# B, T, mask, h0 of the data. The trained ones have a strict lower triangle of X that rnnlab's optimizer
# moved (exp with its own learning rate), so the map is not at A = 0.
RNNLAB_MADE = [
    ("rnnlab_made_orth_exp_tanh_l2",
     ["train", "--task", "copy", "--seq-len", "3", "--cell", "tanh", "--layers", "2", "--hidden", "5", "--init",
      "orthogonal", "--orthogonal", "exp", "--optim", "rmsprop", "--lr", "0.01", "--orthogonal-lr", "0.003",
      "--seed", "5"] + _TRAIN, 3, 7, True, True),
    ("rnnlab_made_orth_cayley_linear_l1",
     ["train", "--task", "adding", "--seq-len", "6", "--cell", "linear", "--hidden", "4", "--orthogonal", "cayley",
      "--lr", "0.01", "--seed", "6"] + _TRAIN, 2, 9, True, True),
    ("rnnlab_made_orth_exp_relu_l1",
     ["init", "--cell", "relu", "--input", "3", "--hidden", "5", "--output", "2", "--init", "gaussian",
      "--orthogonal", "exp", "--seed", "4"], 2, 6, True, True),
    ("rnnlab_made_orth_cayley_leaky_l2",
     ["train", "--task", "adding", "--seq-len", "5", "--cell", "leaky", "--layers", "2", "--hidden", "4",
      "--timescales", "2,20", "--orthogonal", "cayley", "--lr", "0.01", "--orthogonal-lr", "0.005", "--seed", "7"]
     + _TRAIN, 2, 6, True, True),
    # expRNN's setting: modReLU (b ~ U(-0.01, 0.01), trained), Henaff's rotations, W_hh = B expm(A)
    ("rnnlab_made_orth_exp_modrelu_l2",
     ["train", "--task", "copy", "--seq-len", "3", "--cell", "modrelu", "--layers", "2", "--hidden", "5", "--init",
      "henaff", "--orthogonal", "exp", "--optim", "rmsprop", "--lr", "0.01", "--orthogonal-lr", "0.003", "--seed", "8"]
     + _TRAIN, 3, 7, True, True),
]


def rnnlab_made_case(out_dir, name, args, B, T, use_mask, use_h0, seed):
    """A model made by rnnlab (RNNLAB_MADE) loaded into torch as load_net does it (the
    parametrization registered on a fresh nn.RNN, then load_state_dict, strict): NAME.model is
    rnnlab's file as written; NAME.data, NAME.grad (torch.autograd, seeded as in run_case) and
    NAME.jac as for the other cases; and NAME.torch.safetensors, the state_dict torch then holds
    (F64), which rnnlab must read back to the same parameters."""
    path = os.path.join(out_dir, name + ".model.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        if args[0] == "train":
            subprocess.run([RNNLAB] + args + ["--out", os.path.join(tmp, "run")], check=True)
            shutil.copyfile(os.path.join(tmp, "run", "model.safetensors"), path)
        else:
            subprocess.run([RNNLAB] + args + ["--out", path], check=True, stderr=subprocess.DEVNULL)
    net, meta = load_net(path)
    cell, omap = meta["cell"], meta["orthogonal"]
    L, I, H, O = (int(meta[k]) for k in ("num_layers", "input_size", "hidden_size", "output_size"))
    sd_file, _ = st.load(path)
    for n, t in net.state_dict().items():  # what torch holds is the file, exactly
        assert torch.equal(t, sd_file[n].double()), (name, n)
    for k in range(L):
        pl = net.rnn.parametrizations[f"weight_hh_l{k}"]
        W = getattr(net.rnn, f"weight_hh_l{k}").detach()
        close(f"{name}: W_l{k} = B map(A)", W, w_by_hand(pl.original.detach(), pl[0].base, omap))
        # B is float32 in the file: orthogonal to its rounding
        close(f"{name}: W_l{k} orthogonal", W.T @ W, torch.eye(H, dtype=f64), 1e-6)
        if args[0] == "train":
            assert torch.tril(pl.original.detach(), -1).abs().max() > 0, name  # the map is not at A = 0
    g = torch.Generator().manual_seed(seed)
    x, y, mask, h0 = make_data(g, cell, L, I, H, O, meta["loss"], B, T, use_mask, use_h0)
    h0r = (h0 if h0 is not None else torch.zeros(L, B, H, dtype=f64)).clone().requires_grad_()
    o, hT = net(x, h0r)
    lossv = mf.masked_loss(o, y, mask, meta["loss"])
    gW = torch.autograd.grad(lossv, net.last_w, retain_graph=True)
    big = max(g_.norm().item() for g_ in gW)
    c = 2.0 ** -math.ceil(math.log2(big)) if big > 1 else 1.0  # see run_case
    lossv.backward(torch.tensor(c, dtype=f64))
    grads = {"loss": lossv.detach().reshape(())}
    for n, p in net.named_parameters():
        grads["grad." + n] = p.grad / c
    if h0 is not None:
        grads["grad.h0"] = h0r.grad / c
    # the same by hand
    sd = {n: t.detach().clone().requires_grad_() for n, t in net.state_dict().items()}
    h0b = h0r.detach().clone().requires_grad_()
    ob, hTb, _ = by_hand(meta, sd, x, h0b)
    lb = mf.masked_loss(ob, y, mask, meta["loss"])
    lb.backward()
    close(f"{name}: o", ob, o)
    close(f"{name}: loss", lb, lossv)
    for n, p in net.named_parameters():
        close(f"{name}: grad.{n}", sd[n].grad, grads["grad." + n])
    close(f"{name}: grad.h0", h0b.grad, h0r.grad / c)
    mf.save_case(out_dir, name, None, meta, grads, x, y, mask if use_mask else None, h0)
    # rnnlab's checksums are of its own file, not of this one: torch's file is written without them
    st.save(os.path.join(out_dir, name + ".torch.safetensors"), {n: t.detach() for n, t in net.state_dict().items()},
            {k: v for k, v in meta.items() if k not in ("format", "data_crc32", "header_crc32")})
    print(f"{name}: made by rnnlab ({args[0]}), loss {lossv.item():.12g}")


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else "tests/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)  # the same bits on every run
    selfcheck_orthogonal_branch()
    for i, c in enumerate(CASES):
        run_case(out_dir, *c, seed=3000 + i)
    for c in CASES:
        jacobian_case(out_dir, c[0])
    expm_file(out_dir)
    for i, c in enumerate(RNNLAB_MADE):
        rnnlab_made_case(out_dir, *c, seed=4000 + i)
        jacobian_case(out_dir, c[0])


if __name__ == "__main__":
    main(sys.argv)
