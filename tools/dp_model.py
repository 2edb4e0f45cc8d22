#!/usr/bin/python3
"""Where data parallelism pays, on paper (docs/scaling.md): the batch per
process at which an LSTM's training step spends at least 80% of its time
computing, for N processes joined by links of 10, 25 and 100 Gb/s.

    python3 tools/dp_model.py            # the tables of docs/scaling.md
    python3 tools/dp_model.py --rate sgemm --procs 16 --seq-len 50

Python's standard library only. The model, per training step of one process:

- the network: one LSTM layer of H units, a one-hot input of I = V symbols
  and a linear readout to V (a text model; V = 100 by default);
- parameters P = 4H(I + H) + 8H + HV + V (PyTorch's LSTM with b_ih and b_hh,
  and the readout's weight and bias), as `rnnlab init --cell lstm` counts them;
- gradient bytes = 4P (float32: every process sends its whole gradient, the
  input weights' included, although a one-hot input touches few rows);
- compute = 3 x forward FLOPs per token x tokens, forward = 2(4H*H + HV) per
  token: the multiplies `rnnlab bench` counts (h W_hh^T and h W_o^T; the
  one-hot input projection is a row gather, not a multiply, and is not
  counted), so that its measured GFLOP/s is the rate of this count;
- rate: rnnlab's measured GFLOP/s for training (by default lstm H = 1024,
  B = 32, T = 64 on 16 threads of the 16-core machine, the rnnlab_gflops
  column of bench/results/cores-16core-run3.csv), or with --rate sgemm the
  16-thread sgemm 2048^3 rate of bench/results/cores-16core-run3.md (the
  ceiling), or a number;
- communication: a ring all-reduce, 2(N-1)/N x bytes / bandwidth, and
  rnnlab's chain in rank order (chunks of 1 MiB, pipelined) then broadcast,
  (bytes + (N-2) x chunk) / bandwidth + bytes / bandwidth (cli/processes/dist_mpi.c);
  the links' nominal rates, no latency term, no overlap of communication
  with compute;
- efficiency = compute / (compute + communication) >= 0.8, that is
  compute >= 4 x communication; the smallest whole number of sequences of
  T tokens per process that reaches it.
"""
import argparse
import csv
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "..", "bench", "results")
CSV = os.path.join(RESULTS, "cores-16core-run3.csv")
MD = os.path.join(RESULTS, "cores-16core-run3.md")
CHUNK = 1 << 20  # bytes: cli/processes/dist_mpi.c's CHUNK of 2^18 floats


def measured_rate():
    """rnnlab's training GFLOP/s, lstm H = 1024 B = 32 on 16 threads."""
    with open(CSV, newline="") as f:
        for r in csv.DictReader(f):
            if (r["cell"], r["hidden"], r["batch"], r["threads"]) == ("lstm", "1024", "32", "16"):
                return float(r["rnnlab_gflops"])
    sys.exit("dp_model.py: no lstm H = 1024, B = 32, 16-thread row in " + CSV)


def sgemm_rate():
    """The 16-thread sgemm 2048^3 GFLOP/s of OpenBLAS in the same run."""
    with open(MD) as f:
        m = re.search(r"OpenBLAS [0-9.]+ at 1 thread, ([0-9.]+) at 16 threads", f.read())
    if not m:
        sys.exit("dp_model.py: no 16-thread sgemm rate in " + MD)
    return float(m.group(1))


def params(H, I, V):
    return 4 * H * (I + H) + 8 * H + H * V + V


def train_flop_per_token(H, V):
    return 3 * 2 * (4 * H * H + H * V)


def ring_s(nbytes, N, bw):
    return 2 * (N - 1) / N * nbytes / bw


def chain_s(nbytes, N, bw):
    return (nbytes + (N - 2) * min(CHUNK, nbytes)) / bw + nbytes / bw


def min_seqs(comm, flop_per_seq, rate, eff):
    """Smallest B with B flop_per_seq / rate >= eff / (1 - eff) comm."""
    need = eff / (1 - eff) * comm * rate / flop_per_seq
    return max(1, math.ceil(need - 1e-9))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", default="256,512,1024,2048,4096", help="H values [%(default)s]")
    ap.add_argument("--vocab", type=int, default=100, help="V: one-hot input and readout size [%(default)s]")
    ap.add_argument("--seq-len", type=int, default=100, help="T, tokens per sequence [%(default)s]")
    ap.add_argument("--procs", type=int, default=8, help="N processes [%(default)s]")
    ap.add_argument("--links", default="10,25,100", help="link rates in Gb/s [%(default)s]")
    ap.add_argument("--eff", type=float, default=0.8, help="compute share to reach [%(default)s]")
    ap.add_argument("--rate", default="measured",
                    help="GFLOP/s per process: measured (rnnlab, lstm-1024 on 16 threads), sgemm, or a number")
    a = ap.parse_args()
    try:
        if a.rate == "measured":
            rate, src = measured_rate(), "rnnlab's training rate, lstm H = 1024, B = 32, 16 threads (cores-16core-run3.csv)"
        elif a.rate == "sgemm":
            rate, src = sgemm_rate(), "OpenBLAS sgemm 2048^3 on 16 threads (cores-16core-run3.md)"
        else:
            rate, src = float(a.rate), "given"
        Hs = [int(h) for h in a.hidden.split(",")]
        links = [float(x) for x in a.links.split(",")]
    except (OSError, ValueError) as e:
        sys.exit(f"dp_model.py: {e}")
    if not (rate > 0 and a.procs >= 2 and a.seq_len >= 1 and 0 < a.eff < 1 and a.vocab >= 1
            and min(Hs) >= 1 and min(links) > 0):
        sys.exit("dp_model.py: need a rate > 0, --procs >= 2, --seq-len >= 1, 0 < --eff < 1, --vocab >= 1, "
                 "H >= 1 and links > 0")
    N, T, V = a.procs, a.seq_len, a.vocab
    R = rate * 1e9
    print(f"N = {N} processes, T = {T}, V = I = {V}, {a.eff:.0%} compute; rate {rate:g} GFLOP/s: {src}")
    print()
    print("| H | parameters | gradient | train FLOP/token | one sequence | "
          + " | ".join(f"all-reduce at {g:g} Gb/s" for g in links) + " |")
    print("|---" * (5 + len(links)) + "|")
    for H in Hs:
        P = params(H, V, V)
        f = train_flop_per_token(H, V)
        comm = [ring_s(4 * P, N, g * 1e9 / 8) for g in links]
        print(f"| {H} | {P / 1e6:.2f} M | {4 * P / 1e6:.1f} MB | {f / 1e6:.1f} M | {f * T / R * 1e3:.2f} ms | "
              + " | ".join(f"{c * 1e3:.1f} ms" for c in comm) + " |")
    print()
    print("Sequences of T tokens per process for the compute share (tokens per process per step in brackets),"
          " ring all-reduce / rnnlab's chain + broadcast:")
    print()
    print("| H | " + " | ".join(f"{g:g} Gb/s" for g in links) + " |")
    print("|---" * (1 + len(links)) + "|")
    for H in Hs:
        P = params(H, V, V)
        fs = train_flop_per_token(H, V) * T
        cells = []
        for g in links:
            bw = g * 1e9 / 8
            br = min_seqs(ring_s(4 * P, N, bw), fs, R, a.eff)
            bc = min_seqs(chain_s(4 * P, N, bw), fs, R, a.eff)
            cells.append(f"{br} ({br * T:,}) / {bc} ({bc * T:,})")
        print(f"| {H} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
