"""A PyTorch module's layout is the model's (issue 28, item 5): from_torch of
a module made without batch_first=True (PyTorch's default, time first)
takes and gives sequences time first in every method, and batch_first=True
batch first; each against PyTorch itself in float64, on a batch with B != T
and on one with B == T, where a layout read the wrong way gives no shape
error, only wrong numbers."""
import numpy as np
import pytest
import torch

import rnnlab
from conftest import close

torch.set_default_dtype(torch.float64)

MODULES = {"tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def make(cell, batch_first, I=3, H=4, O=2, L=2, seed=0):
    torch.manual_seed(seed)
    rnn, head = MODULES[cell](I, H, L, batch_first=batch_first), torch.nn.Linear(H, O)
    return rnn, head, rnnlab.Model.from_torch(rnn, head)


def arrays(cell, batch_first, B, T, I=3, H=4, O=2, L=2, seed=1):
    """x, y, mask in the module's layout; h0, c0 (L, B, H) in both."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(B, T, I, generator=g), torch.randn(B, T, O, generator=g)
    mask = torch.randint(0, 3, (B, T), generator=g).double()
    mask[:, 0] = 1
    h0 = 0.5 * torch.randn(L, B, H, generator=g)
    c0 = 0.5 * torch.randn(L, B, H, generator=g) if cell == "lstm" else None
    if not batch_first:
        x, y, mask = x.transpose(0, 1).contiguous(), y.transpose(0, 1).contiguous(), mask.t().contiguous()
    return x, y, mask, h0, c0


def torch_run(rnn, head, x, h0, c0):
    out, _ = rnn(x, (h0, c0) if c0 is not None else h0)
    return head(out)


@pytest.mark.parametrize("cell", list(MODULES))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("B,T", [(2, 5), (4, 4)])
def test_forward_and_grad_in_the_modules_layout(cell, batch_first, B, T):
    rnn, head, m = make(cell, batch_first)
    assert m.batch_first is batch_first and (("batch_first=False" in repr(m)) != batch_first)
    x, y, mask, h0, c0 = arrays(cell, batch_first, B, T)
    h0.requires_grad_(True)
    o = torch_run(rnn, head, x, h0, c0)
    out = m.forward(x, h0=h0, c0=c0)
    assert out.shape == tuple(o.shape)  # (T, B, O) time first
    close(out, o.detach().numpy(), what="outputs")
    # the loss with a mask in the layout: mean over the outputs, masked steps
    ref = ((((o - y) ** 2).mean(-1)) * mask).sum() / mask.sum()
    ref.backward()
    g = m.grad(x, y, mask=mask, h0=h0, c0=c0)
    close(g["loss"], ref.item(), what="loss")
    close(g["rnn.weight_hh_l1"], rnn.weight_hh_l1.grad.numpy(), what="weight_hh_l1")
    close(g["head.weight"], head.weight.grad.numpy(), what="head.weight")
    close(g["h0"], h0.grad.numpy(), what="h0 (L, B, H) in both layouts")


@pytest.mark.parametrize("batch_first", [False, True])
def test_jacobian_of_a_sequence_in_the_modules_layout(batch_first):
    rnn, head, m = make("lstm", batch_first)
    B, T, L, H = 3, 3, 2, 4
    x, y, mask, h0, c0 = arrays("lstm", batch_first, B, T)
    seq = 1
    xs = x[:, seq:seq + 1] if not batch_first else x[seq:seq + 1]

    def f(s):  # s_T as a function of s_0 for sequence seq; s = per layer [h; c]
        s = s.reshape(L, 2, 1, H)
        _, (h, c) = rnn(xs, (s[:, 0].contiguous(), s[:, 1].contiguous()))
        return torch.stack([h, c], 1).reshape(-1)

    s0 = torch.stack([h0[:, seq:seq + 1], c0[:, seq:seq + 1]], 1).reshape(-1).detach()
    P = torch.autograd.functional.jacobian(f, s0)
    j = m.jacobian(x, h0=h0, c0=c0, seq=seq, y=y, mask=mask)
    close(j["P"], P.numpy(), what="P")
    assert j["J"].shape == (T, 2 * L * H, 2 * L * H)
    ref = ((((torch_run(rnn, head, xs, h0[:, seq:seq + 1], c0[:, seq:seq + 1]) - (
        y[:, seq:seq + 1] if not batch_first else y[seq:seq + 1])) ** 2).mean(-1)) *
        (mask[:, seq:seq + 1] if not batch_first else mask[seq:seq + 1])).sum() / (
        mask[:, seq:seq + 1] if not batch_first else mask[seq:seq + 1]).sum()
    close(j["loss"], ref.item(), what="the sequence's loss")
    with pytest.raises(rnnlab.Error, match=r"outside the batch \[0, 3\)"):
        m.jacobian(x, seq=3)


def test_evaluate_and_lyapunov_the_same_in_both_layouts():
    _, _, tf = make("gru", False)
    _, _, bf = make("gru", True)
    assert not tf.batch_first and bf.batch_first
    g = np.random.default_rng(2)
    x, y, mask = g.normal(size=(5, 6, 3)), g.normal(size=(5, 6, 2)), (g.random((5, 6)) > 0.3).astype(np.float32)
    mask[:, -1] = 1
    a = bf.evaluate(x, y, mask=mask)
    b = tf.evaluate(x.transpose(1, 0, 2), y.transpose(1, 0, 2), mask=mask.T)
    assert a == b
    # one target a sequence, (N, O), is the same array in both layouts
    assert bf.evaluate(x, y[:, -1]) == tf.evaluate(x.transpose(1, 0, 2), y[:, -1])
    ea = bf.lyapunov(steps=40, transient=5, x=x, seq=2, state="zeros")
    eb = tf.lyapunov(steps=40, transient=5, x=x.transpose(1, 0, 2), seq=2, state="zeros")
    close(eb, ea, tol=0, what="exponents")


def test_layout_is_said_in_shape_errors_and_kept_by_to_torch():
    rnn, head, m = make("tanh", False)  # torch.nn.RNN(3, 4, 2): time first
    with pytest.raises(rnnlab.Error, match=r"x: shape \(5, 2, 7\), expected \(any, any, 3\) \(time first"):
        m.forward(np.zeros((5, 2, 7)))
    with pytest.raises(rnnlab.Error, match=r"mask: shape \(2, 5\), expected \(5, 2\) \(time first"):
        m.grad(np.zeros((5, 2, 3)), np.zeros((5, 2, 2)), mask=np.ones((2, 5)))
    rnn2, head2 = m.to_torch(dtype=torch.float64)
    assert rnn2.batch_first is False
    x = torch.randn(6, 2, 3)
    close(head2(rnn2(x)[0]).detach().numpy(), m.forward(x), what="to_torch keeps the layout")
    m.batch_first = True  # settable: the same model batch first
    close(m.forward(x.transpose(0, 1)), head(rnn(x)[0]).transpose(0, 1).detach().numpy(), what="set batch first")
    with pytest.raises(rnnlab.Error, match="batch_first must be True or False"):
        rnnlab.Model("tanh", 1, 2, 1, batch_first="no")
