#!/bin/sh
# rnnlab against the PyTorch peer (../shared/bench/torch_anchor.py), side by
# side on this machine, on the grid of the performance issue; prints the
# ratio table of docs/performance.md. Needs Debian's python3-torch.
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
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$ANCHOR" --sections rnn,jac,gemm --out "$OUT/torch.json" > "$OUT/torch.log" 2>&1
: > "$OUT/rnnlab.jsonl"
for g in $grid; do
    IFS=: read -r cell h b t <<EOS
$g
EOS
    $R bench --cell "$cell" --hidden "$h" --batch "$b" --seq "$t" --threads 2 --json >> "$OUT/rnnlab.jsonl"
done
$R bench --jacobian --threads 2 --json > "$OUT/rnnlab-jacobian.json"
$R bench --lyapunov --threads 2 --json > "$OUT/rnnlab-lyapunov.json"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
t = json.load(open(f"{out}/torch.json"))
rows = {(r["cell"], r["H"], r["B"]): r for r in t["charlm"]}
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
