"""Issue 24 from Python: what was silently accepted, crashed or waited
forever is refused with rnnlab.Error in one line, or said."""
import os
import threading
import time
import warnings

import numpy as np
import pytest
import torch

import rnnlab
import safetensors_py


def refused(match, f, *a, **k):
    with pytest.raises(rnnlab.Error, match=match):
        f(*a, **k)


@pytest.mark.parametrize("kw,match", [
    (dict(hidden_size=3.7), r"hidden_size must be a whole number, got 3.7"),
    (dict(input_size="4"), r"input_size must be a whole number"),
    (dict(num_layers=True), r"num_layers must be a whole number, got True"),
    (dict(hidden_size=2**31), r"hidden_size = 2147483648 is out of range \[1, 65536\]"),
    (dict(output_size=-2**40), r"output_size = -1099511627776 is out of range"),
])
def test_sizes_are_whole_numbers_in_range(kw, match):
    refused(match, rnnlab.Model, **kw)
    assert rnnlab.Model(hidden_size=np.int64(3)).config["hidden_size"] == 3


def test_a_freed_model_raises_rather_than_crashes():
    m = rnnlab.Model("tanh", 2, 3, 1)
    m.close()
    x = np.zeros((1, 4, 2))
    for call in (m.state_dict, lambda: m.forward(x), lambda: m.jacobian(x), lambda: m.lyapunov(steps=5),
                 lambda: m.save(os.devnull), lambda: m.grad(x, np.zeros((1, 4, 1)))):
        refused("has been freed", call)
    m.close()  # twice is nothing
    with rnnlab.Model("tanh", 2, 3, 1) as n:
        assert n.state_size == 3
    refused("has been freed", n.state_dict)


def test_torch_tensors_numpy_cannot_take():
    g = torch.nn.GRU(2, 3, batch_first=True).to(torch.bfloat16)
    m = rnnlab.Model.from_torch(g)  # bfloat16 into float64 is exact
    np.testing.assert_array_equal(m.state_dict()["rnn.weight_hh_l0"], g.weight_hh_l0.detach().float().numpy())
    refused("meta device", rnnlab.Model.from_torch, torch.nn.LSTM(2, 3, device="meta"))
    refused("meta device", m.forward, torch.zeros(1, 2, 2, device="meta"))


def test_dropout_is_said():
    for layers, where in ((2, "between its layers"), (1, "dropout=0.5;")):
        with pytest.warns(RuntimeWarning, match=where):
            rnnlab.Model.from_torch(torch.nn.LSTM(2, 3, layers, dropout=0.5, batch_first=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnlab.Model.from_torch(torch.nn.LSTM(2, 3, 2, batch_first=True))


def test_a_fifo_is_not_waited_on(tmp_path):
    fifo = tmp_path / "m.fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    refused("a FIFO that no process is writing to", rnnlab.Model.load, fifo)
    assert time.monotonic() - t0 < 10
    # a run folder's records: only regular files are read
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "metrics.jsonl")
    os.mkfifo(run / "config.json")
    r = rnnlab.Run(run)
    refused("not a regular file", lambda: r.metrics)
    refused("not a regular file", lambda: r.config)


def test_outputs_are_regular_files(tmp_path):
    m = rnnlab.Model("tanh", 2, 3, 1)
    link = tmp_path / "null"
    os.symlink(os.devnull, link)
    refused("character device, not a regular file", m.save, link)
    assert os.path.islink(link) and os.readlink(link) == os.devnull
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    refused("a FIFO, not a regular file", m.save, fifo)


def test_saved_models_carry_checksums_other_readers_pass_over(tmp_path):
    torch.manual_seed(0)
    m = rnnlab.Model.from_torch(torch.nn.GRU(2, 3, batch_first=True), torch.nn.Linear(3, 1))
    p = tmp_path / "m.safetensors"
    m.save(p)
    tensors, meta = safetensors_py.load(p)
    assert len(meta["data_crc32"]) == 8 and len(meta["header_crc32"]) == 8
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(tensors[k].numpy(), v.astype(np.float32))
    # written again by another program, in another order, the checksums kept: verifies
    safetensors_py.save(tmp_path / "again.safetensors", dict(reversed(list(tensors.items()))), meta)
    rnnlab.Model.load(tmp_path / "again.safetensors")
    # damaged: refused in one line
    b = bytearray(p.read_bytes())
    b[-3] ^= 0x10
    p.write_bytes(bytes(b))
    with pytest.raises(rnnlab.Error, match="do not match their checksum") as e:
        rnnlab.Model.load(p)
    assert "\n" not in str(e.value)
    # written again by another program without the checksums: loads
    safetensors_py.save(tmp_path / "plain.safetensors", tensors,
                        {k: v for k, v in meta.items() if not k.endswith("_crc32")})
    rnnlab.Model.load(tmp_path / "plain.safetensors")


def test_two_trainers_on_one_folder(tmp_path):
    out = tmp_path / "run"
    started, stop, errors = threading.Event(), [], []

    def progress(p):
        started.set()
        if stop:
            raise KeyboardInterrupt

    def first():
        try:
            rnnlab.train(out=out, task="adding", seq_len=10, hidden=8, steps=100000, log_every=1, ckpt_every=5,
                         eval_every=0, flow_every=0, progress=progress)
        except BaseException as e:  # stopped below
            errors.append(e)

    th = threading.Thread(target=first)
    th.start()
    assert started.wait(30)
    while not (out / "checkpoint.safetensors").exists():
        time.sleep(0.01)
    held = rf"is in use: another rnnlab process \(pid {os.getpid()}\)"
    refused(held, rnnlab.train, resume=out)
    refused(held, rnnlab.train, out=out, task="adding", seq_len=10, hidden=8, steps=10)
    stop.append(1)
    th.join(60)
    assert not th.is_alive() and errors and isinstance(errors[0], KeyboardInterrupt)
    # the first trainer has gone: its lock with it
    step = int(safetensors_py.load(out / "checkpoint.safetensors")[0]["train.step"][0])
    run = rnnlab.train(resume=out, steps=step + 3)
    assert run.step == step + 3
