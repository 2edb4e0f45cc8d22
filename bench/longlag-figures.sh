#!/bin/sh
# The figures of the long-lag table (docs/results.md), from a finished run of
# bench/longlag.sh:
#   longlag-steps-adding.png, longlag-steps-copy.png: the steps each method
#     took to solve the task against T (log-log; a method that solved no rung
#     is left out, and its table rows say why);
#   longlag-flow-gated.png, longlag-flow-rnn.png: the gradient flow at
#     initialisation against the lag at T = 1000 on the adding problem,
#     ln ||dL/dh_tau|| against k = T - tau, for every method's initial model
#     (seed 1, as in the table; the gated cells in one figure, the plain,
#     leaky, IndRNN and orthogonal ones in the other). Omega acts on the
#     training steps and starts from the tanh init, so it has no curve of its
#     own; flossing's curve is after its 300 updates before training (and one
#     training step: the first record after them); indrnn-lr1e-3 starts as
#     indrnn, and orth-cayley as orth-exp (A = 0: the same W_hh).
# Usage: bench/longlag-figures.sh OUT [IMG]   (OUT: bench/longlag.sh's folder;
#   IMG: where the PNGs go, default OUT). RNNLAB picks the program.
# The CSVs behind the figures go to OUT (steps-*.csv, flow-*.csv).
set -eu
cd "$(dirname "$0")/.."
RNNLAB=${RNNLAB:-build/rnnlab}
OUT=${1:?usage: bench/longlag-figures.sh OUT [IMG]}
IMG=${2:-$OUT}
[ -f "$OUT/runs.jsonl" ] && [ -f "$OUT/methods.txt" ] ||
    { echo "longlag-figures: $OUT has no runs.jsonl and methods.txt: run bench/longlag.sh first" >&2; exit 1; }
mkdir -p "$IMG"
T=1000

# the gradient flow at initialisation at T = 1000: one training step's records
grep '|' "$OUT/methods.txt" | while IFS='|' read -r name base extra_add _ _; do
    # the same initial model as tanh and indrnn: no curve of their own
    [ "$name" = tanh-omega ] || [ "$name" = indrnn-lr1e-3 ] && continue
    run="$OUT/flow-init/$name"
    [ -f "$run/flow.jsonl" ] && continue
    rm -rf "$run"
    mkdir -p "$OUT/flow-init"
    rmin=$(awk "BEGIN { printf \"%.9f\", 2 ^ (-1 / $T) }")
    flags=$(echo "$base $extra_add" | sed "s|\\bT\\b|$T|g; s|RMIN|$rmin|g")
    # shellcheck disable=SC2086
    OPENBLAS_NUM_THREADS=1 $RNNLAB train --task adding --seq-len $T $flags --steps 1 --flow-every 1 --eval-every 0 \
        --ckpt-every 0 --seed 1 --quiet --out "$run" >"$run.log" 2>&1 ||
        { echo "longlag-figures: $name failed:" >&2; tail -3 "$run.log" >&2; exit 1; }
done

python3 - "$OUT" "$T" <<'PY'
import json, os, sys
out, T = sys.argv[1], int(sys.argv[2])
order = [l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
Ts = sorted({r["T"] for r in runs})
for task in ("adding", "copy"):
    solved = {(r["method"], r["T"]): r["steps"] for r in runs if r["task"] == task and r["solved"]}
    cols = [m for m in order if any((m, t) in solved for t in Ts)]
    if not cols:  # nothing to draw: no figure
        if os.path.exists(f"{out}/steps-{task}.csv"):
            os.remove(f"{out}/steps-{task}.csv")
        print(f"longlag-figures: no method solved {task} at any T: no figure of its steps", file=sys.stderr)
        continue
    with open(f"{out}/steps-{task}.csv", "w") as f:
        f.write("# steps to solve " + task + " (bench/longlag.sh); empty: not solved or not run\n")
        f.write(",".join(["T"] + cols) + "\n")
        for t in Ts:
            f.write(",".join([str(t)] + [str(solved.get((m, t), "")) for m in cols]) + "\n")
gated = ["lstm", "lstm-fb1", "chrono-lstm", "chrono-gru", "tanh"]
simple = ["tanh", "tanh-floss", "irnn", "indrnn", "leaky", "orth-exp", "orth-cayley"]
curves = {}
for m in order:
    try:
        recs = [json.loads(l) for l in open(f"{out}/flow-init/{m}/flow.jsonl")]
    except OSError:
        continue
    # flossing: the first record after its updates; the others: before any step
    rec = recs[-1] if m == "tanh-floss" else recs[0]
    curves[m] = rec["lag_log_grad"]  # index tau = 0..T-1 (or T): lag k = T - tau
for fig, ms in (("gated", gated), ("rnn", simple)):
    ms = [m for m in ms if m in curves]
    with open(f"{out}/flow-{fig}.csv", "w") as f:
        f.write(f"# ln ||dL/dh_tau|| at initialisation against the lag k = T - tau, adding, T = {T}, seed 1\n")
        f.write(",".join(["lag"] + ms) + "\n")
        n = min(len(curves[m]) for m in ms)
        for k in range(0, n):
            tau = n - 1 - k
            f.write(",".join([str(T - tau)] + ["%.6g" % curves[m][tau] if curves[m][tau] is not None else "" for m in ms]) + "\n")
PY

for task in adding copy; do
    [ -f "$OUT/steps-$task.csv" ] || continue
    $RNNLAB plot csv "$OUT/steps-$task.csv" --logx --logy --points --title "Steps to solve the $task task" \
        --xlabel "T (steps between the inputs that matter and the answer)" --ylabel "training steps to solve" \
        --out "$IMG/longlag-steps-$task.png"
done
$RNNLAB plot csv "$OUT/flow-gated.csv" --title "At initialisation, T = $T: the gated cells" \
    --xlabel "lag k = T - #gt" --ylabel "ln ||#[0x2202]L/#[0x2202]h#d#gt#u||" --out "$IMG/longlag-flow-gated.png"
$RNNLAB plot csv "$OUT/flow-rnn.csv" --title "At initialisation, T = $T: plain, leaky, IndRNN, orthogonal" \
    --xlabel "lag k = T - #gt" --ylabel "ln ||#[0x2202]L/#[0x2202]h#d#gt#u||" --out "$IMG/longlag-flow-rnn.png"
