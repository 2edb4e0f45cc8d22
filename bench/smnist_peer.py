#!/usr/bin/python3
"""The PyTorch peer of `rnnlab bench --task smnist`: sequential MNIST's shape
(one pixel in [0, 1) a step, T = 784, batch first), one nn.LSTM / nn.GRU /
nn.RNN(tanh) layer of H units, a Linear(H, 10) on the last step's output,
cross-entropy, backward, clip_grad_norm_(1.0), Adam; float32. Times the
training step and the forward pass (no_grad) as the median of repeats and
prints one JSON line per cell with tokens/s and the epoch of 60,000
sequences they imply.

Usage: bench/smnist_peer.py [--cells lstm gru] [--hidden 128] [--batch 32]
       [--seq 784] [--threads 2] [--runs 7]
"""
import argparse
import json
import os
import statistics
import sys
import time

if os.environ.get("OMP_WAIT_POLICY") != "passive":  # torch's OpenMP threads sleep while OpenBLAS's run
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "OMP_WAIT_POLICY": "passive"})

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", nargs="*", default=["lstm", "gru"])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=784)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    B, T, H = a.batch, a.seq, a.hidden
    g = torch.Generator().manual_seed(4)
    x = torch.rand(B, T, 1, generator=g)
    y = torch.randint(0, 10, (B,), generator=g)
    for cell in a.cells:
        torch.manual_seed(0)
        kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        rnn, head = kind(1, H, 1, batch_first=True), torch.nn.Linear(H, 10)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)

        def loss_of():
            return F.cross_entropy(head(rnn(x)[0][:, -1]), y)

        def step():
            opt.zero_grad()
            loss = loss_of()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        def fwd():
            with torch.no_grad():
                loss_of()

        times = {}
        for name, fn in (("train", step), ("forward", fwd)):
            fn()  # warm-up
            ts = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            times[name] = statistics.median(ts)
        print(json.dumps(dict(peer="torch " + torch.__version__, task="smnist", cell=cell, hidden=H, batch=B, seq=T,
                              threads=a.threads, train_step_s=times["train"],
                              train_tokens_per_s=B * T / times["train"], infer_tokens_per_s=B * T / times["forward"],
                              epoch_s=60000 / B * times["train"])), flush=True)


if __name__ == "__main__":
    main()
