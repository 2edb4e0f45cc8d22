"""An LSTM of 128 units for the adding problem initialised as batzner/indrnn's
TensorFlow LSTM run (examples/addition_rnn.py with BasicLSTMCell(128)): the
kernel [W_ih; W_hh] Glorot-uniform over its (2 + 128) x 512 shape, biases 0
with TensorFlow's forget bias of 1 (rnnlab's --forget-bias 1 --zero-bias), the
readout Glorot-uniform over (128, 1) and its bias 0.1. For `rnnlab train
--init-from` (docs/results.md, "What did not reproduce, and why": the LSTM's
plateau). Usage: /usr/bin/python3 bench/tf_lstm_init.py RNNLAB OUT.safetensors"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import safetensors_py as st  # noqa: E402

rnnlab, out = sys.argv[1], sys.argv[2]
base = out + ".base"
subprocess.run([rnnlab, "init", "--cell", "lstm", "--input", "2", "--hidden", "128", "--output", "1", "--forget-bias", "1",
                "--zero-bias", "--seed", "1", "--out", base], check=True, capture_output=True)
t, meta = st.load(base)
os.remove(base)
meta = {k: v for k, v in meta.items() if k != "data_crc32"}  # the tensors change: the checksum would not hold
t = {k: torch.as_tensor(np.asarray(v)) for k, v in t.items()}
rng = np.random.default_rng(1)
glorot = np.sqrt(6 / (130 + 512))
for k in ("rnn.weight_ih_l0", "rnn.weight_hh_l0"):
    t[k] = torch.tensor(rng.uniform(-glorot, glorot, tuple(t[k].shape)), dtype=torch.float32)
t["head.weight"] = torch.tensor(rng.uniform(-np.sqrt(6 / 129), np.sqrt(6 / 129), tuple(t["head.weight"].shape)),
                                dtype=torch.float32)
t["head.bias"] = torch.full(tuple(t["head.bias"].shape), 0.1, dtype=torch.float32)
st.save(out, t, meta)
