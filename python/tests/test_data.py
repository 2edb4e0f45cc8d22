"""A user's sequences from Python (issue 26): rnnlab.train(x=..., y=...,
valid=...) and Model.evaluate, against the command line on the same arrays,
and every malformed array refused with the library's message and nothing
left behind."""
import json
import os

import numpy as np
import pytest

import rnnlab
from conftest import cli


def sign_data(n, T=10, seed=0):
    """x (n, T, 2); y: whether the first input sums above 0, one class a sequence."""
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, T, 2)).astype(np.float32)
    return x, (x[:, :, 0].sum(1) > 0).astype(np.int64)


def test_train_on_arrays_learns_and_evaluate_agrees(tmp_path):
    x, y = sign_data(300)
    run = rnnlab.train(out=tmp_path / "run", x=x[:250], y=y[:250], valid=(x[250:], y[250:]), cell="gru", hidden=16,
                       steps=200, lr=1e-2, batch=32, eval_every=0, flow_every=0)
    assert run.step == 200 and {"checkpoint.safetensors", "config.json", "data", "valid"} <= set(os.listdir(run.dir))
    assert run.config["task"] == "data" and run.config["seq_len"] == 10
    assert run.config["text_path"] == str(tmp_path / "run" / "data")
    last = run.metrics[-1]
    assert last["val_accuracy"] >= 0.85 > last["baseline_accuracy"] + 0.2, last
    got = run.model.evaluate(x[250:], y[250:])
    assert got["sequences"] == 50 and got["scored_steps"] == 50
    assert got["accuracy"] == last["val_accuracy"] and abs(got["loss"] - last["val_loss"]) < 1e-9, (got, last)
    # the same arrays as a file: rnnlab eval --data says the same
    np.savez(tmp_path / "valid.npz", x=x[250:], y=y[250:])
    out = json.loads(cli("eval", "--model", os.path.join(run.dir, "model.safetensors"), "--data", tmp_path / "valid.npz",
                         "--json"))
    assert out["accuracy"] == got["accuracy"] and abs(out["loss"] - got["loss"]) < 1e-12
    assert abs(out["baseline"] - got["baseline"]) < 1e-12
    # the run resumes from its own folder's arrays, which a new run there does not write over
    before = (tmp_path / "run" / "data" / "x.npy").read_bytes()
    with pytest.raises(rnnlab.Error, match="already holds a run"):
        rnnlab.train(out=tmp_path / "run", x=x[:10], y=y[:10])
    assert (tmp_path / "run" / "data" / "x.npy").read_bytes() == before
    assert rnnlab.train(resume=run.dir, steps=210).step == 210


def test_per_step_targets_with_mask_and_lengths(tmp_path):
    r = np.random.default_rng(1)
    n, T = 120, 8
    x = r.standard_normal((n, T, 1))  # float64: read as it is
    y = np.cumsum(x, axis=1).astype(np.float32)
    lengths = r.integers(2, T + 1, n).astype(np.int32)
    mask = np.ones((n, T), dtype=bool)
    mask[:, 0] = False
    y[:, 0] = np.nan  # never counted: any value
    run = rnnlab.train(out=tmp_path / "run", x=x, y=y, mask=mask, lengths=lengths, valid_split=0.25, cell="lstm",
                       hidden=8, steps=60, lr=1e-2, batch=16, flow_every=0)
    m = run.model
    assert m.config["input_size"] == 1 and m.config["output_size"] == 1 and m.config["loss"] == "mse"
    got = m.evaluate(x[90:], y[90:], mask=mask[90:], lengths=lengths[90:])
    counted = int(sum(min(L, T) - 1 for L in lengths[90:]))
    assert got["sequences"] == 30 and got["scored_steps"] == counted
    assert abs(got["loss"] - run.metrics[-1]["val_loss"]) < 1e-9 and got["rmse"] == pytest.approx(got["mse"] ** 0.5)
    assert "nrmse" in got and "accuracy" not in got


def test_malformed_arrays_are_refused_and_nothing_is_left(tmp_path):
    x, y = sign_data(20, T=4)
    bad_x = x.copy()
    bad_x[3, 2, 1] = np.nan
    cases = [
        (dict(x=bad_x, y=y), "x[3, 2, 1] is NaN"),
        (dict(x=x, y=y.astype(np.float32)), "y has shape (20,) and dtype float32"),
        (dict(x=x, y=y - 1), "is -1: a class id must be in [0, 65536)"),
        (dict(x=x, y=y, lengths=np.full(20, 5)), "lengths[0] is 5, past T = 4"),
        (dict(x=x, y=y, mask=np.zeros((20, 4))), "sequence 0 has no step that counts"),
        (dict(x=x, y=y, mask=np.full((20, 4), 0.5)), "mask[0, 0] is 0.5: a mask holds 0 or 1"),
        (dict(x=x[:, :, 0], y=y), "x has shape (20, 4) and dtype float32"),
        (dict(x=x, y=y, valid=(x[:, :3], y)), "x has steps T = 3, the training data's 4"),
    ]
    for k, (arrays, want) in enumerate(cases):
        out = tmp_path / f"run{k}"
        with pytest.raises(rnnlab.Error) as e:
            rnnlab.train(out=out, steps=2, **arrays)
        assert want in str(e.value), (k, str(e.value))
        assert not out.exists(), k
    with pytest.raises(rnnlab.Error, match="give x and y, both"):
        rnnlab.train(out=tmp_path / "r", x=x)
    with pytest.raises(rnnlab.Error, match="not 'adding'"):
        rnnlab.train(out=tmp_path / "r", x=x, y=y, task="adding")
    with pytest.raises(rnnlab.Error, match="valid holds x, y, mask, lengths"):
        rnnlab.train(out=tmp_path / "r", x=x, y=y, valid={"x": x, "z": y})
    m = rnnlab.Model("gru", input_size=2, hidden_size=3, output_size=2, loss="cross_entropy")
    with pytest.raises(rnnlab.Error, match="the model has 2 classes"):
        m.evaluate(x, y + 2)
    with pytest.raises(rnnlab.Error, match="y is float32, but the loss is cross_entropy"):
        m.evaluate(x, np.zeros((20, 2), np.float32))
