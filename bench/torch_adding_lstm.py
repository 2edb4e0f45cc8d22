"""batzner/indrnn's TensorFlow LSTM run on the adding problem (examples/
addition_rnn.py with BasicLSTMCell(128)), written again in PyTorch: a third
implementation beside TensorFlow's curve and rnnlab's runs, for the LSTM's
plateau (docs/results.md, "What did not reproduce, and why").

As that script: one LSTM layer of 128 units, one bias a gate (torch's bias_hh
kept at 0 and frozen), TensorFlow's forget bias of 1, the kernel [W_ih; W_hh]
Glorot-uniform over its (2 + 128) x 512 shape, the readout Glorot-uniform over
(128, 1) with bias 0.1, Adam 2e-4 (TensorFlow's step: epsilon 1e-8 added to
sqrt(v) before the bias correction, which torch.optim.Adam adds after it: both
forms below), batch 50, no clipping, T = 100, fresh batches from NumPy as its
get_batch draws them (one marker in each half). Every 100 steps the mean
training MSE of those 100 steps (the curve that script prints) and a
validation MSE on 4 fresh batches of 50 (rnnlab's criterion: below 0.01).

Usage: /usr/bin/python3 bench/torch_adding_lstm.py SEED [tf|torch] [STEPS]
Prints one JSON line: the first step whose validation is below 0.01, the
first 100 steps whose mean training MSE is below 0.01, and the curve."""
import json
import sys
import time

import numpy as np
import torch

seed = int(sys.argv[1])
adam = sys.argv[2] if len(sys.argv) > 2 else "tf"
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 15000
T, H, B, LR = 100, 128, 50, 2e-4
torch.set_num_threads(1)
torch.manual_seed(seed)
rng = np.random.default_rng(seed)


def get_batch(r, n=B):
    values = r.random((n, T))
    marks = np.zeros_like(values)
    for i in range(n):
        marks[i, r.integers(T // 2)] = 1
        marks[i, r.integers(T // 2, T)] = 1
    x = np.stack([values, marks], axis=2).astype(np.float32)
    y = (values * marks).sum(axis=1).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(2, H, batch_first=True)
        self.head = torch.nn.Linear(H, 1)
        g = np.sqrt(6 / (2 + H + 4 * H))
        with torch.no_grad():
            for w in (self.rnn.weight_ih_l0, self.rnn.weight_hh_l0):
                w.uniform_(-g, g)
            self.rnn.bias_ih_l0.zero_()
            self.rnn.bias_ih_l0[H:2 * H] = 1.0  # torch's gate order i, f, g, o: the forget gate's bias
            self.rnn.bias_hh_l0.zero_()
            gh = np.sqrt(6 / (H + 1))
            self.head.weight.uniform_(-gh, gh)
            self.head.bias.fill_(0.1)
        self.rnn.bias_hh_l0.requires_grad_(False)  # one bias a gate, as TensorFlow's

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(1)


net = Net()
params = [p for p in net.parameters() if p.requires_grad]
state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
b1, b2, eps = 0.9, 0.999, 1e-8


def step(k):
    """Adam step k (1-based): TensorFlow's form or torch's."""
    with torch.no_grad():
        for p, (m, v) in zip(params, state):
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            if adam == "tf":  # lr_t = lr sqrt(1 - b2^k) / (1 - b1^k); p -= lr_t m / (sqrt(v) + eps)
                lr_t = LR * np.sqrt(1 - b2 ** k) / (1 - b1 ** k)
                p.sub_(lr_t * m / (v.sqrt() + eps))
            else:  # torch.optim.Adam: p -= lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
                p.sub_(LR * (m / (1 - b1 ** k)) / ((v / (1 - b2 ** k)).sqrt() + eps))


vrng = np.random.default_rng(10_000 + seed)
valid = [get_batch(vrng) for _ in range(4)]
curve, solved, solved_train, window, t0 = [], None, None, [], time.time()
for k in range(1, steps + 1):
    x, y = get_batch(rng)
    for p in params:
        p.grad = None
    loss = torch.mean((net(x) - y) ** 2)
    loss.backward()
    step(k)
    window.append(loss.item())
    if k % 100 == 0:
        with torch.no_grad():
            val = float(np.mean([torch.mean((net(vx) - vy) ** 2).item() for vx, vy in valid]))
        train = float(np.mean(window))
        window = []
        curve.append([k, round(train, 5), round(val, 5)])
        if solved_train is None and train < 0.01:
            solved_train = k
        if val < 0.01:
            solved = k
            break
print(json.dumps({"seed": seed, "adam": adam, "solved_at": solved, "train_below_0.01_at": solved_train,
                  "steps": k, "seconds": round(time.time() - t0, 1), "curve": curve}))
