"""Hostile arrays and arguments: each is refused with rnnlab.Error and a
message that says what is wrong, or is read correctly; none crashes the
interpreter (a crash would end this test run)."""
import numpy as np
import pytest
import torch

import rnnlab

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def lstm():
    torch.manual_seed(0)
    return rnnlab.Model.from_torch(torch.nn.LSTM(3, 4, 2, batch_first=True), torch.nn.Linear(4, 2), loss="mse")


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    return rnnlab.Model.from_torch(torch.nn.GRU(5, 4, batch_first=True), torch.nn.Linear(4, 3),
                                   loss="cross_entropy")


X = RNG.normal(size=(2, 6, 3))
Y = RNG.normal(size=(2, 6, 2))


def refused(match, f, *a, **k):
    with pytest.raises(rnnlab.Error, match=match):
        f(*a, **k)


@pytest.mark.parametrize("x,match", [
    (X.astype(complex), "expected real numbers"),
    (np.array([["a"] * 3] * 6, dtype=object)[None], "expected real numbers"),
    (X[..., :2], r"x: shape \(2, 6, 2\), expected \(any, any, 3\)"),
    (X[0], r"shape \(6, 3\)"),
    (X[None], r"shape"),
    (np.zeros((2, 0, 3)), "shape"),
    (np.float64(1.0), "shape"),
    ([[1, 2], [3]], "not an array"),
    (np.full((2, 6), 7), r"id 7 is outside \[0, 3\)"),
    (np.full((2, 6), -1), r"id -1 is outside"),
])
def test_bad_inputs(lstm, x, match):
    refused(match, lstm.grad, x, Y)
    refused(match, lstm.jacobian, x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_the_library_s_to_refuse(lstm, bad):
    for name in ("x", "y", "mask", "h0", "c0"):
        args = dict(x=X.copy(), y=Y.copy(), mask=np.ones((2, 6)), h0=np.zeros((2, 2, 4)), c0=np.zeros((2, 2, 4)))
        args[name].flat[3] = bad
        with pytest.raises(rnnlab.Error, match=name) as e:
            lstm.grad(**args)
        assert e.value.reason == "non-finite value" and e.value.status > 0
    x = X.copy()
    x[1, 2, 0] = bad
    refused("non-finite|not finite", lstm.jacobian, x, seq=1)


def test_masks(lstm):
    refused("negative", lstm.grad, X, Y, mask=-np.ones((2, 6)))
    refused("sums to zero", lstm.grad, X, Y, mask=np.zeros((2, 6)))
    refused(r"mask: shape \(6,\)", lstm.grad, X, Y, mask=np.ones(6))


def test_states_and_targets(lstm, ce):
    refused(r"h0: shape \(1, 2, 4\), expected \(2, 2, 4\)", lstm.grad, X, Y, h0=np.zeros((1, 2, 4)))
    refused("c0 is only for LSTM", ce.grad, np.zeros((2, 6), dtype=int), np.zeros((2, 6), dtype=int),
            c0=np.zeros((1, 2, 4)))
    refused(r"class ids\): id 3 is outside \[0, 3\)", ce.grad, np.zeros((2, 6), dtype=int), np.full((2, 6), 3))
    refused("expected integer ids", ce.grad, np.zeros((2, 6), dtype=int), np.zeros((2, 6)))
    refused(r"y: shape \(2, 6, 3\), expected \(2, 6, 2\)", lstm.grad, X, np.zeros((2, 6, 3)))
    refused("y is required", lstm.grad, X, None)
    refused(r"sequence 2 is outside the batch \[0, 2\)", lstm.jacobian, X, seq=2)
    refused("sequence -1", lstm.jacobian, X, seq=-1)


def test_non_contiguous_and_other_dtypes_are_read_right(lstm):
    base = lstm.grad(X, Y)
    xf = np.asfortranarray(X)
    xs = np.repeat(X, 2, axis=1)[:, ::2]  # a strided view
    assert not xs.flags.c_contiguous and not xf.flags.c_contiguous
    for x in (xf, xs, torch.from_numpy(X), X.tolist()):
        g = lstm.grad(x, Y)
        for k in base:
            np.testing.assert_array_equal(g[k], base[k])
    # a float32 array is widened exactly; a big-endian one is byte-swapped
    x32 = X.astype(np.float32)
    np.testing.assert_array_equal(lstm.grad(x32, Y)["h0"], lstm.grad(x32.astype(np.float64), Y)["h0"])
    g = lstm.grad(X.astype(">f8"), Y.astype(">f8"))
    np.testing.assert_array_equal(g["rnn.weight_hh_l1"], base["rnn.weight_hh_l1"])
    # results do not alias the library's buffers
    g["rnn.weight_hh_l0"][:] = 0
    assert lstm.grad(X, Y)["rnn.weight_hh_l0"].any()


def test_bad_names_and_options(lstm):
    refused("unknown precision 'f16'", lstm.grad, X, Y, precision="f16")
    refused("unknown cell 'elman'", rnnlab.Model, "elman", 1, 1, 1)
    refused("unknown loss", rnnlab.Model, "tanh", 1, 1, 1, loss="hinge")
    refused("expected a name", rnnlab.Model, 3, 1, 1, 1)
    refused("unknown input 'ones'", lstm.lyapunov, steps=5, inputs="ones")
    refused(r"k = 99 is outside \[1, S = 16\]", lstm.lyapunov, steps=5, k=99)
    refused("steps must be >= 1", lstm.lyapunov, steps=0)
    refused('inputs="data" needs x', lstm.lyapunov, steps=5, inputs="data")
    refused("hidden", rnnlab.Model, "tanh", 1, 0, 1)
    refused("unknown training option 'hiden'", rnnlab.train, out="/nonexistent/x", hiden=3)
    refused(r"--hidden expects an integer, got '3.5'", rnnlab.train, out="/nonexistent/x", hidden=3.5)
    refused("out .* or resume", rnnlab.train)


def test_state_dicts(lstm):
    sd = lstm.state_dict()
    m = rnnlab.Model("lstm", 3, 4, 2, 2)
    m.load_state_dict(sd)
    bad = dict(sd, **{"rnn.weight_hh_l0": np.zeros((4, 4))})
    refused(r"'rnn.weight_hh_l0' has shape \(4, 4\), expected \(16, 4\)", m.load_state_dict, bad)
    refused("'head.bias' is missing", m.load_state_dict, {k: v for k, v in sd.items() if k != "head.bias"})
    refused("unexpected tensor 'extra'", m.load_state_dict, dict(sd, extra=np.zeros(1)))
    nan = dict(sd)
    nan["head.bias"] = np.array([0, np.nan])
    refused("non-finite", m.load_state_dict, nan)
    # a refused dict leaves the model as it was
    np.testing.assert_array_equal(m.state_dict()["head.bias"], sd["head.bias"])


def test_files(tmp_path, lstm):
    refused("cannot open|No such file", rnnlab.Model.load, tmp_path / "missing.safetensors")
    (tmp_path / "junk").write_bytes(b"\x00" * 100)
    with pytest.raises(rnnlab.Error) as e:
        rnnlab.Model.load(tmp_path / "junk")
    assert "junk" in str(e.value) and e.value.reason == "invalid file format"
    refused("", lstm.save, tmp_path / "no" / "such" / "dir" / "m.safetensors")


def test_torch_modules_without_a_counterpart():
    refused("bidirectional", rnnlab.Model.from_torch, torch.nn.GRU(2, 3, bidirectional=True, batch_first=True))
    refused("proj_size", rnnlab.Model.from_torch, torch.nn.LSTM(2, 3, proj_size=2, batch_first=True))
    refused("takes torch.nn.RNN, LSTM or GRU", rnnlab.Model.from_torch, torch.nn.Linear(2, 3))
    refused("head takes 5 inputs", rnnlab.Model.from_torch, torch.nn.RNN(2, 3), torch.nn.Linear(5, 1))
    m = rnnlab.Model.from_torch(torch.nn.RNN(2, 3, bias=False), torch.nn.Linear(3, 1, bias=False))
    assert not m.state_dict()["rnn.bias_hh_l0"].any() and not m.state_dict()["head.bias"].any()
    refused("cell leaky has no PyTorch module", rnnlab.Model("leaky", 1, 2, 1).to_torch)


def test_a_fixed_point_is_said():
    m = rnnlab.Model("tanh", 1, 3, 1)  # all zero: h = 0 under zero input stays
    with pytest.warns(UserWarning, match="never moved"):
        m.lyapunov(steps=10, inputs="zeros", state="zeros")


def test_results_own_their_memory(lstm):
    # every array returned is a copy: the library's buffers are freed after the call
    for B in (1, 2):
        o = lstm.forward(X[:B])
        g = lstm.grad(X[:B], Y[:B])
        assert o.flags.owndata and all(v.flags.owndata for k, v in g.items() if k != "loss")
        junk = [np.ones(10000) for _ in range(50)]  # reuse the freed memory
        np.testing.assert_array_equal(o, lstm.forward(X[:B]))
        del junk
