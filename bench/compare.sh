#!/bin/sh
# rnnlab against the PyTorch peer (../shared/bench/torch_anchor.py), side by
# side on this machine, on the grid of the performance issue; prints the
# ratio table of docs/performance.md. Needs Debian's python3-torch.
# Each configuration runs the peer and then rnnlab, one right after the
# other, so that a change in the machine's speed (runs here vary by about
# 30%) falls on both sides of a ratio alike.
# Usage: bench/compare.sh [OUT_DIR]
set -eu
cd "$(dirname "$0")/.."
R=${RNNLAB:-build/rnnlab}
OUT=${1:-compare}
ANCHOR=${ANCHOR:-../shared/bench/torch_anchor.py}
mkdir -p "$OUT"
grid="rnn:128:32:64 rnn:256:32:64 rnn:512:32:64 rnn:1024:32:64 lstm:128:32:64 lstm:256:32:64 lstm:512:32:64
      lstm:1024:32:64 gru:128:32:64 gru:256:32:64 gru:512:32:64 gru:1024:32:64 rnn:128:1:64 lstm:128:1:64 gru:128:1:64"
# the peer, configured as the issue measured it (fastest: passive OpenMP waiting)
peer() { OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$ANCHOR" "$@"; }
: > "$OUT/rnnlab.jsonl"
: > "$OUT/torch.log"
i=0
for g in $grid; do
    IFS=: read -r cell h b t <<EOS
$g
EOS
    i=$((i + 1))
    peer --sections rnn --configs "$g" --out "$OUT/torch-$i.json" >> "$OUT/torch.log" 2>&1
    $R bench --cell "$cell" --hidden "$h" --batch "$b" --seq "$t" --threads 2 --json >> "$OUT/rnnlab.jsonl"
done
peer --sections jac,gemm --out "$OUT/torch-analysis.json" >> "$OUT/torch.log" 2>&1
$R bench --jacobian --threads 2 --json > "$OUT/rnnlab-jacobian.json"
$R bench --lyapunov --threads 2 --json > "$OUT/rnnlab-lyapunov.json"
/usr/bin/python3 - "$OUT" "$i" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = {}
for k in range(1, n + 1):
    for r in json.load(open(f"{out}/torch-{k}.json"))["charlm"]:
        rows[(r["cell"], r["H"], r["B"])] = r
print("| cell | H | B | rnnlab train tok/s | PyTorch | ratio | rnnlab forward tok/s | PyTorch | ratio | rnnlab GFLOP/s (share of sgemm) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in open(f"{out}/rnnlab.jsonl"):
    r = json.loads(line)
    p = rows.get((r["cell"], r["hidden"], r["batch"]))
    pt = p["train"]["tok_per_s"] if p else float("nan")
    pf = p["fwd"]["tok_per_s"] if p else float("nan")
    print(f"| {r['cell']} | {r['hidden']} | {r['batch']} | {r['train_tokens_per_s']:.0f} | {pt:.0f} | "
          f"{r['train_tokens_per_s'] / pt:.2f} | {r['infer_tokens_per_s']:.0f} | {pf:.0f} | "
          f"{r['infer_tokens_per_s'] / pf:.2f} | {r['gflops']:.1f} ({100 * r['share_of_sgemm']:.0f}%) |")
j = json.load(open(f"{out}/rnnlab-jacobian.json"))
l = json.load(open(f"{out}/rnnlab-lyapunov.json"))
print()
print(f"rnnlab: Jacobian product T = 100, H = 128 (float64): {1000 * j['seconds']:.1f} ms; "
      f"full Lyapunov spectrum H = 128, 1000 steps: {l['seconds']:.3f} s")
print(f"PyTorch analysis section: see {out}/torch.log")
PY
