#!/bin/sh
# The diagonal recurrences (lru, mingru, minlstm) against their PyTorch
# peers (tools/diag/peers.py: a plain loop, the log-space and linear scans,
# the authors' log-space form with g; the LRU in complex arithmetic, a loop
# and a scan) on bench's character workload: one layer, H = N = 128,
# B = 32, T = 1000, one-hot inputs over 65 symbols, float32, 2 threads.
# For each cell the peers run, then rnnlab, one right after the other, so
# that a change in the machine's speed falls on both sides of a ratio
# alike; prints the table of docs/performance.md ("Diagonal recurrences"),
# each ratio against the fastest peer. Needs Debian's python3-torch.
# (The peers train with SGD, rnnlab's bench with Adam and clipping: the
# optimiser is under 1% of either step here.)
# Usage: bench/compare-diag.sh [OUT_DIR]
set -eu
cd "$(dirname "$0")/.."
R=${RNNLAB:-build/rnnlab}
OUT=${1:-compare-diag}
RUNS=${RUNS:-5}
mkdir -p "$OUT"
: > "$OUT/rnnlab.jsonl"
for cell in mingru minlstm lru; do
    /usr/bin/python3 tools/diag/peers.py bench --runs "$RUNS" --omp-passive --malloc tuned --only "$cell " \
        --json "$OUT/peers-$cell.json" > "$OUT/peers-$cell.log" 2>&1
    RNNLAB_PROFILE=1 $R bench --cell "$cell" --hidden 128 --batch 32 --seq 1000 --threads 2 --json >> "$OUT/rnnlab.jsonl"
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print("| cell | rnnlab train tok/s | fastest peer (train) | tok/s | ratio | rnnlab forward tok/s | fastest peer (forward) | tok/s | ratio | recurrence share of rnnlab's step |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in open(f"{out}/rnnlab.jsonl"):
    r = json.loads(line)
    rows = json.load(open(f"{out}/peers-{r['cell']}.json"))["rows"]
    bt = max(rows, key=lambda p: p["step_tok_s"])
    bf = max(rows, key=lambda p: p["forward_tok_s"])
    prof = r.get("profile_share", {})
    rec = prof.get("forward time loop", float("nan")) + prof.get("backward time loop", float("nan"))
    print(f"| {r['cell']} | {r['train_tokens_per_s']:.0f} | {bt['impl']} | {bt['step_tok_s']:.0f} | "
          f"{r['train_tokens_per_s'] / bt['step_tok_s']:.1f} | {r['infer_tokens_per_s']:.0f} | {bf['impl']} | "
          f"{bf['forward_tok_s']:.0f} | {r['infer_tokens_per_s'] / bf['forward_tok_s']:.1f} | {100 * rec:.0f}% |")
print()
print("each peer (train / forward tok/s):")
for cell in ("mingru", "minlstm", "lru"):
    for p in json.load(open(f"{out}/peers-{cell}.json"))["rows"]:
        print(f"  {cell:8s} {p['impl']:32s} {p['step_tok_s']:8.0f} / {p['forward_tok_s']:8.0f}")
PY
