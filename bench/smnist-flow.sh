#!/bin/sh
# The gradient flow of a run on sequential MNIST over its 784 steps: from the
# run's flow.jsonl (rnnlab train --task smnist ... --out RUN), ln||dL/dh_tau||
# of the flow sequence against tau at initialisation (the first record) and
# at the last record, as RUN/flow-784.csv and a figure (rnnlab plot csv).
# Usage: bench/smnist-flow.sh RUN FIGURE.png
set -eu
cd "$(dirname "$0")/.."
R=${RNNLAB:-build/rnnlab}
RUN=$1
PNG=$2
/usr/bin/python3 - "$RUN" <<'PY'
import json, sys
run = sys.argv[1]
recs = [json.loads(l) for l in open(f"{run}/flow.jsonl")]
first, last = recs[0], recs[-1]
def num(v):
    return "" if v is None or isinstance(v, str) else f"{v:.6g}"
with open(f"{run}/flow-784.csv", "w") as f:
    f.write(f"# {run}: ln||dL/dh_tau|| of the flow sequence; the loss at the last step\n")
    f.write(f"tau,step {first['step']} (init),step {last['step']}\n")
    for tau, (a, b) in enumerate(zip(first["lag_log_grad"], last["lag_log_grad"])):
        f.write(f"{tau},{num(a)},{num(b)}\n")
PY
$R plot csv "$RUN/flow-784.csv" --title "Sequential MNIST: gradient flow over 784 steps" \
    --xlabel "step tau" --ylabel "ln ||dL/dh_tau||" --out "$PNG"
