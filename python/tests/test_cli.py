"""The package against the command line's files on the same inputs: the
same library runs both, so every number must be the same bit for bit."""
import json
import subprocess

import numpy as np
import pytest
import safetensors_py as st
import torch

import rnnlab
from conftest import CLI, cli, close


def files(tmp_path, cell, loss, L=2, B=3, T=6, I=3, H=4, O=2):
    """A model saved by the package (float32 weights, exact in the file) and
    a data file written beside it; the arrays as the package takes them."""
    torch.manual_seed(7)
    mod = {"tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn, head = mod(I, H, L, batch_first=True).float(), torch.nn.Linear(H, O).float()
    m = rnnlab.Model.from_torch(rnn, head, loss=loss)
    m.save(tmp_path / "m.safetensors")
    g = torch.Generator().manual_seed(8)
    d = {"x": torch.randn(B, T, I, generator=g, dtype=torch.float64),
         "y": torch.randint(0, O, (B, T), generator=g) if loss == "cross_entropy" else
         torch.randn(B, T, O, generator=g, dtype=torch.float64),
         "mask": torch.randint(1, 3, (B, T), generator=g).double(),
         "h0": 0.5 * torch.randn(L, B, H, generator=g, dtype=torch.float64)}
    if cell == "lstm":
        d["c0"] = 0.5 * torch.randn(L, B, H, generator=g, dtype=torch.float64)
    st.save(tmp_path / "d.safetensors", d)
    return m, {k: v.numpy() for k, v in d.items()}


def read(path):
    t, meta = st.load(path)
    return {k: v.numpy() for k, v in t.items()}, meta


@pytest.mark.parametrize("cell,loss", [("tanh", "mse"), ("lstm", "cross_entropy"), ("gru", "mse")])
@pytest.mark.parametrize("precision", ["f64", "f32"])
def test_grad_equals_rnnlab_grad(tmp_path, cell, loss, precision):
    m, d = files(tmp_path, cell, loss)
    cli("grad", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.safetensors",
        "--out", tmp_path / "g.safetensors", "--precision", precision)
    ref, _ = read(tmp_path / "g.safetensors")
    g = m.grad(d["x"], d["y"], mask=d["mask"], h0=d["h0"], c0=d.get("c0"), precision=precision)
    assert {"grad." + k for k in g if k != "loss"} | {"loss"} == set(ref)
    # the file holds the loss in the computation's precision; the package a float
    close(np.asarray(g["loss"]).astype(ref["loss"].dtype), ref["loss"], tol=0, what="loss")
    for k, v in g.items():
        if k != "loss":
            assert v.dtype == ref["grad." + k].dtype
            close(v, ref["grad." + k], tol=0, what=k)


@pytest.mark.parametrize("cell,loss", [("tanh", "mse"), ("lstm", "cross_entropy"), ("gru", "mse")])
def test_jacobian_equals_rnnlab_jacobian(tmp_path, cell, loss):
    m, d = files(tmp_path, cell, loss)
    cli("jacobian", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.safetensors", "--seq", 2,
        "--out", tmp_path / "j.safetensors")
    ref, meta = read(tmp_path / "j.safetensors")
    j = m.jacobian(d["x"], h0=d["h0"], c0=d.get("c0"), seq=2, y=d["y"], mask=d["mask"], radius=True)
    assert set(ref) == set(j) - {"loss"}
    for k, v in ref.items():
        close(j[k], v, tol=0, what=k)
    close(j["loss"], float(meta["loss"]), tol=0, what="loss")


def test_lyapunov_equals_rnnlab_lyapunov(tmp_path):
    m, d = files(tmp_path, "lstm", "mse")
    cli("lyapunov", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.safetensors", "--seq", 1,
        "--steps", 400, "--transient", 50, "--k", 5, "--seed", 3, "--trace-every", 100, "--out", tmp_path / "l.json")
    ref = json.loads((tmp_path / "l.json").read_text())
    ex, trace = m.lyapunov(steps=400, transient=50, k=5, seed=3, x=d["x"], h0=d["h0"], c0=d["c0"], seq=1,
                           trace_every=100)
    assert ref["input"] == "data" and ref["state"] == "data"
    # cJSON writes 15 digits when they read back within an epsilon: 1 ulp
    close(ex, ref["exponents"], tol=3e-16, what="exponents")
    close(trace, ref["trace"]["estimates"], tol=3e-16, what="trace")
    # without data: the command's defaults (zero inputs, a random state)
    cli("lyapunov", "--model", tmp_path / "m.safetensors", "--steps", 300, "--seed", 9, "--out", tmp_path / "z.json")
    close(m.lyapunov(steps=300, seed=9), json.loads((tmp_path / "z.json").read_text())["exponents"], tol=3e-16,
          what="exponents without data")


def test_model_files_both_ways(tmp_path):
    cli("init", "--cell", "gru", "--input", 3, "--hidden", 5, "--output", 2, "--layers", 2, "--init", "orthogonal",
        "--seed", 4, "--out", tmp_path / "a.safetensors")
    m = rnnlab.Model.load(tmp_path / "a.safetensors")
    ref, meta = read(tmp_path / "a.safetensors")
    assert m.config["cell"] == meta["cell"] == "gru" and m.config["num_layers"] == 2
    sd = m.state_dict()
    assert set(sd) == set(ref)
    for k in sd:
        close(sd[k], ref[k], tol=0, what=k)
    m.save(tmp_path / "b.safetensors")
    again, meta2 = read(tmp_path / "b.safetensors")
    for k in sd:
        close(again[k], ref[k], tol=0, what=k)
    assert meta2["cell"] == "gru"


def test_every_cell_of_the_table(tmp_path):
    # the cells come from the library's table: a model of each, as the CLI makes it
    assert rnnlab.cells()[:5] == ["tanh", "relu", "linear", "lstm", "gru"]
    for cell in rnnlab.cells():
        cli("init", "--cell", cell, "--input", 2, "--hidden", 3, "--output", 1, "--out", tmp_path / f"{cell}.st")
        m = rnnlab.Model.load(tmp_path / f"{cell}.st")
        m2 = rnnlab.Model.from_state_dict(m.state_dict(), cell=cell)
        x = np.random.default_rng(0).normal(size=(1, 5, 2))
        close(m2.jacobian(x)["P"], m.jacobian(x)["P"], tol=0, what=cell)
        assert m.lyapunov(steps=20).shape == (m.state_size,)


def test_lru_state_size_and_activation():
    # an lru's N (complex state units) is its own size: 2N real state numbers, B is (N, I), C is (H, N)
    m = rnnlab.Model("lru", input_size=2, hidden_size=3, output_size=1, state_size=5, activation="tanh")
    assert m.config["state_size"] == 5 and m.config["activation"] == "tanh"
    assert m.state_size == 10
    shapes = {n: a.shape for n, a in m.state_dict().items()}
    assert shapes["rnn.B_re_l0"] == (5, 2) and shapes["rnn.C_im_l0"] == (3, 5) and shapes["rnn.D_l0"] == (3, 2)
    m2 = rnnlab.Model.from_state_dict(m.state_dict(), cell="lru", activation="tanh")
    assert m2.config == m.config
    assert "state_size=5" in repr(m)
    with pytest.raises(rnnlab.Error):
        rnnlab.Model("lru", input_size=2, hidden_size=3, activation="sigmoid")
    with pytest.raises(rnnlab.Error):
        rnnlab.Model("tanh", input_size=2, hidden_size=3, state_size=4)


def train_both_ways(tmp_path, opts):
    """rnnlab.train(**opts) into tmp_path/py and `rnnlab train` with the same options as flags
    into tmp_path/cli; the two models must be equal to the bit. Returns the Python run."""
    run = rnnlab.train(out=tmp_path / "py", **opts)
    args = [a for k, v in opts.items() for a in ("--" + k.replace("_", "-"), v)]
    cli("train", *args, "--out", tmp_path / "cli", "--quiet")
    a, _ = read(tmp_path / "py" / "model.safetensors")
    b, _ = read(tmp_path / "cli" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in b:
        close(a[k], b[k], tol=0, what=k)
    return run


def test_train_equals_rnnlab_train(tmp_path):
    opts = dict(task="adding", seq_len=12, cell="lstm", hidden=6, batch=8, steps=30, lr=0.01, seed=5,
                eval_every=10, flow_every=10, ckpt_every=10)
    run = train_both_ways(tmp_path, opts)
    drop = ("tokens_per_s", "elapsed_s")
    ma = [{k: v for k, v in r.items() if k not in drop} for r in run.metrics]
    mb = [json.loads(line) for line in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    assert ma == [{k: v for k, v in r.items() if k not in drop} for r in mb]
    assert run.step == 30 and run.config["hidden"] == 6 and run.model.cell == "lstm"
    # resumed to more steps, as rnnlab train --resume does
    run2 = rnnlab.train(resume=tmp_path / "py", steps=40)
    cli("train", "--resume", tmp_path / "cli", "--steps", 40, "--quiet")
    a, _ = read(tmp_path / "py" / "model.safetensors")
    b, _ = read(tmp_path / "cli" / "model.safetensors")
    assert run2.step == 40
    for k in b:
        close(a[k], b[k], tol=0, what=k)


def test_resume_with_changed_settings_equals_rnnlab_train(tmp_path):
    """rnnlab.train(resume=..., lr=...) changes the rate as rnnlab train --resume --lr does: the same model,
    the change in the records; a change of the model is refused."""
    opts = dict(task="adding", seq_len=10, cell="gru", hidden=6, batch=4, steps=20, seed=2)
    rnnlab.train(out=tmp_path / "py", **opts)
    args = [a for k, v in opts.items() for a in ("--" + k.replace("_", "-"), v)]
    cli("train", *args, "--out", tmp_path / "cli", "--quiet")
    run = rnnlab.train(resume=tmp_path / "py", steps=30, lr=0.003, clip=0.25)
    cli("train", "--resume", tmp_path / "cli", "--steps", 30, "--lr", 0.003, "--clip", 0.25, "--quiet")
    a, _ = read(tmp_path / "py" / "model.safetensors")
    b, _ = read(tmp_path / "cli" / "model.safetensors")
    for k in b:
        close(a[k], b[k], tol=0, what=k)
    assert {"step": 20, "config_changed": {"lr": ["0.001", "0.003"], "clip": ["1", "0.25"]}} in run.metrics
    assert run.config["lr"] == 0.003
    with pytest.raises(rnnlab.Error, match="resume takes only steps and the changes"):
        rnnlab.train(resume=tmp_path / "py", steps=40, hidden=7)


def test_time_limit_from_python_and_the_cli(tmp_path):
    """time_limit stops a run in Python as --time-limit does on the command line (a line of the metrics, the
    model written); the resumable settings are the library's, one list (train_fields()'s "resumable"), and a
    resume at the limit is refused until the limit grows."""
    fields = {f["name"]: f for f in rnnlab.train_fields()}
    assert {k for k, f in fields.items() if f["resumable"]} == {
        "lr", "schedule", "warmup", "step_size", "gamma", "min_lr", "decay_steps", "clip", "clip_value", "log_every",
        "time_limit"}
    opts = dict(task="adding", seq_len=10, cell="gru", hidden=6, batch=4, steps=10 ** 8, seed=2)
    run = rnnlab.train(out=tmp_path / "py", time_limit=0.3, **opts)
    stop = [r for r in run.metrics if "time_limit" in r]
    assert len(stop) == 1 and stop[0]["time_limit"] == 0.3 and stop[0]["seconds"] >= 0.3
    assert 0 < stop[0]["step"] < 10 ** 8 and (tmp_path / "py" / "model.safetensors").exists()
    with pytest.raises(rnnlab.Error, match="its time limit 0.3 s: give a larger time limit"):
        rnnlab.train(resume=tmp_path / "py")
    run = rnnlab.train(resume=tmp_path / "py", time_limit=0.6)
    assert [r["step"] for r in run.metrics if "time_limit" in r][-1] > stop[0]["step"]
    args = [a for k, v in opts.items() for a in ("--" + k.replace("_", "-"), v)]
    p = subprocess.run([CLI, "train", *map(str, args), "--out", str(tmp_path / "cli"), "--time-limit", "0.3", "--quiet"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "stopped at the time limit (0.3 s;" in p.stderr
    assert "to go on: rnnlab train --resume" in p.stderr
    p = subprocess.run([CLI, "train", "--resume", str(tmp_path / "cli"), "--hidden", "7"], capture_output=True, text=True)
    assert p.returncode == 2 and "--log-every, --time-limit: the rest comes from the checkpoint" in p.stderr


@pytest.mark.parametrize("bare", [False, True])
def test_init_from_a_pytorch_state_dict(tmp_path, bare):
    """init_from a PyTorch state_dict in safetensors (a module with rnn and head, or a bare nn.GRU's own names):
    the run's init.safetensors holds its weights, to the bit; a bare module's head keeps the init."""
    torch.manual_seed(4)
    rnn, head = torch.nn.GRU(2, 6, 2, batch_first=True).float(), torch.nn.Linear(6, 1).float()
    sd = {k: v.detach() for k, v in rnn.state_dict().items()} if bare else \
        {**{"rnn." + k: v.detach() for k, v in rnn.state_dict().items()},
         **{"head." + k: v.detach() for k, v in head.state_dict().items()}}
    st.save(tmp_path / "torch.safetensors", sd)
    rnnlab.train(out=tmp_path / "run", task="adding", seq_len=8, cell="gru", hidden=6, layers=2, batch=4, steps=2,
                 save_init=True, init_from=str(tmp_path / "torch.safetensors"))
    got, _ = read(tmp_path / "run" / "init.safetensors")
    for k, v in rnn.state_dict().items():
        close(got["rnn." + k], v.numpy(), tol=0, what=k)
    if not bare:
        close(got["head.weight"], head.weight.detach().numpy(), tol=0, what="head.weight")
    with pytest.raises(rnnlab.Error, match="expected"):
        rnnlab.train(out=tmp_path / "bad", task="adding", seq_len=8, cell="gru", hidden=5, layers=2, steps=2,
                     init_from=str(tmp_path / "torch.safetensors"))


def test_dropout_with_one_layer_warns(tmp_path):
    """As PyTorch's nn.RNN(dropout=0.5) with one layer: a warning, here and on the command line; none with two."""
    import subprocess
    import warnings
    from conftest import CLI
    opts = dict(task="adding", seq_len=5, hidden=4, batch=2, steps=1, dropout=0.5)
    with pytest.warns(UserWarning, match="dropout=0.5 does nothing with layers=1"):
        rnnlab.train(out=tmp_path / "one", **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnlab.train(out=tmp_path / "two", layers=2, **opts)
    args = ["train", "--task", "adding", "--seq-len", "5", "--hidden", "4", "--batch", "2", "--steps", "1", "--quiet"]
    p = subprocess.run([CLI, *args, "--dropout", "0.5", "--out", tmp_path / "c1"], capture_output=True, text=True)
    assert p.returncode == 0 and "warning: --dropout 0.5 does nothing with --layers 1" in p.stderr
    p = subprocess.run([CLI, *args, "--dropout", "0.5", "--layers", "2", "--out", tmp_path / "c2"], capture_output=True,
                       text=True)
    assert p.returncode == 0 and "warning" not in p.stderr


def test_train_recipe_as_rnnlab_train(tmp_path):
    # a recipe's settings, and what is given besides them in any order, as on the command line
    opts = dict(lr=0.003, hidden=5, recipe="indrnn", task="adding", seq_len=10, steps=3, seed=2, eval_every=0)
    run = train_both_ways(tmp_path, opts)
    c = run.config
    assert c["recipe"] == "indrnn" and c["layers"] == 2 and c["batch"] == 32 and c["lr"] == 0.003 and c["hidden"] == 5
    rec = json.loads((tmp_path / "py" / "recipe.json").read_text())
    assert rec["recipe"] == "indrnn" and set(rec["overridden"]) == {"hidden", "lr", "steps"}
    assert {s["key"] for s in rec["settings"]} >= {"cell", "layers", "input_scale", "zero_bias", "optim", "clip"}
    with pytest.raises(rnnlab.Error, match="unknown recipe 'indrnn2'"):
        rnnlab.train(out=tmp_path / "bad", recipe="indrnn2")


def test_train_fields_follow_the_table(run_cli):
    fields = rnnlab.train_fields()
    table = run_cli("train", "--config-fields").splitlines()[2:]
    assert [f["name"] for f in fields] == [row.split("|")[1].strip().strip("`") for row in table]
    byname = {f["name"]: f for f in fields}
    assert byname["cell"]["choices"] == rnnlab.cells()
    assert byname["lr"]["default"] == "0.001" and byname["optim"]["type"] == "enum"
    # one row for every command that takes the option: init's --gain is train's
    assert {"train", "init", "gradcheck"} <= set(byname["gain"]["commands"])
    assert "init" not in byname["lr"]["commands"]


@pytest.mark.parametrize("omap", ["exp", "cayley"])
def test_orthogonal_model_files(tmp_path, omap):
    cli("init", "--cell", "leaky", "--input", 2, "--hidden", 4, "--output", 1, "--orthogonal", omap,
        "--seed", 2, "--out", tmp_path / "m.safetensors")
    m = rnnlab.Model.load(tmp_path / "m.safetensors")
    assert m.config["orthogonal"] == omap and "rnn.parametrizations.weight_hh_l0.0.base" in m.state_dict()
    cli("data", "--model", tmp_path / "m.safetensors", "--steps", 5, "--batch", 2, "--h0", "random",
        "--out", tmp_path / "d.safetensors")
    d, _ = read(tmp_path / "d.safetensors")
    cli("grad", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.safetensors", "--precision", "f64",
        "--out", tmp_path / "g.safetensors")
    ref, _ = read(tmp_path / "g.safetensors")
    g = m.grad(d["x"], d["y"], h0=d["h0"])
    assert {"grad." + k for k in g if k != "loss"} | {"loss"} == set(ref)
    for k, v in g.items():
        close(v, ref["loss" if k == "loss" else "grad." + k], tol=0, what=k)
    m2 = rnnlab.Model.from_state_dict(m.state_dict(), cell="leaky", orthogonal=omap)
    m2.save(tmp_path / "again.safetensors")
    again, meta = read(tmp_path / "again.safetensors")
    assert meta["orthogonal"] == omap
    refused = pytest.raises(rnnlab.Error, match="orthogonal='exp' or 'cayley'")
    with refused:
        rnnlab.Model.from_state_dict(m.state_dict(), cell="leaky")


def test_freeze_from_python_and_the_cli(tmp_path):
    """freeze keeps the tensors it names at the init in Python as --freeze does on the command line (the same
    model, to the bit); the others move; a name that matches nothing is an rnnlab.Error naming the tensors."""
    opts = dict(task="adding", seq_len=10, cell="gru", hidden=6, batch=4, steps=15, seed=3, optim="adamw")
    rnnlab.train(out=tmp_path / "py", freeze="rnn.weight_hh_l0,head.*", save_init=True, **opts)
    args = [a for k, v in opts.items() for a in ("--" + k.replace("_", "-"), v)]
    cli("train", *args, "--freeze", "rnn.weight_hh_l0,head.*", "--out", tmp_path / "cli", "--quiet")
    a, _ = read(tmp_path / "py" / "model.safetensors")
    b, _ = read(tmp_path / "cli" / "model.safetensors")
    init, _ = read(tmp_path / "py" / "init.safetensors")
    for k in b:
        close(a[k], b[k], tol=0, what=k)
        frozen = k in ("rnn.weight_hh_l0", "head.weight", "head.bias")
        assert np.array_equal(a[k], init[k]) == frozen, k
    assert json.loads((tmp_path / "py" / "config.json").read_text())["freeze"] == "rnn.weight_hh_l0,head.*"
    with pytest.raises(rnnlab.Error, match="'rnn.weight_hh' names no trained tensor of this model"):
        rnnlab.train(out=tmp_path / "bad", freeze="rnn.weight_hh", **opts)
    assert not (tmp_path / "bad").exists()
