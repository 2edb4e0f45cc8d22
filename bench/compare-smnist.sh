#!/bin/sh
# Sequential MNIST's shape (T = 784, one input, the class at the last step),
# rnnlab bench --task smnist against its PyTorch peer (bench/smnist_peer.py),
# LSTM and GRU of 128 units, batch 32, 2 threads; each cell's peer runs, then
# rnnlab, one right after the other. Prints the table of docs/performance.md
# ("Sequential MNIST") with the epoch of 60,000 sequences each implies.
# Needs Debian's python3-torch. Usage: bench/compare-smnist.sh [OUT_DIR]
set -eu
cd "$(dirname "$0")/.."
R=${RNNLAB:-build/rnnlab}
OUT=${1:-compare-smnist}
mkdir -p "$OUT"
: > "$OUT/rnnlab.jsonl"
: > "$OUT/torch.jsonl"
for cell in lstm gru; do
    /usr/bin/python3 bench/smnist_peer.py --cells "$cell" >> "$OUT/torch.jsonl"
    $R bench --task smnist --cell "$cell" --hidden 128 --batch 32 --threads 2 --no-sgemm --json >> "$OUT/rnnlab.jsonl"
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
peer = {r["cell"]: r for r in map(json.loads, open(f"{out}/torch.jsonl"))}
print("| cell | H | B | rnnlab train tok/s | epoch (s) | PyTorch train tok/s | epoch (s) | ratio | rnnlab forward tok/s | PyTorch | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in map(json.loads, open(f"{out}/rnnlab.jsonl")):
    p = peer[r["cell"]]
    print(f"| {r['cell']} | {r['hidden']} | {r['batch']} | {r['train_tokens_per_s']:.0f} | {r['epoch_s']:.0f} | "
          f"{p['train_tokens_per_s']:.0f} | {p['epoch_s']:.0f} | {r['train_tokens_per_s'] / p['train_tokens_per_s']:.1f} | "
          f"{r['infer_tokens_per_s']:.0f} | {p['infer_tokens_per_s']:.0f} | "
          f"{r['infer_tokens_per_s'] / p['infer_tokens_per_s']:.1f} |")
PY
