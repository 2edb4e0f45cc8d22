#!/bin/sh
# The long-lag table (docs/results.md): what the cures for vanishing and
# exploding gradients are known for, reproduced on the adding problem and the
# copy memory task at T = 100, 200, 500, 1000.
#
# For each method and task, a ladder over T that stops at its first failure;
# each run is capped in steps and stopped at the first validation that solves
# the task (rnnlab train --stop-when-solved: adding, validation MSE < 0.01;
# copy, at least 99% of the recalled symbols right). Each run records the
# gradient flow at initialisation and at the end (ln ||dL/dh_tau|| at lag T,
# from flow.jsonl), and the Lyapunov spectrum of the initial and the final
# model (lambda_max and the share of exponents within 0.01 of 0). The
# ladders run in STREAMS parallel streams of one thread each.
#
# Usage: bench/longlag.sh [--quick] [OUT]        (OUT: longlag)
#   --quick    T = 50 and 100 only, small step caps: a smoke run (minutes)
# Settings (environment):
#   RNNLAB     the rnnlab program                    [build/rnnlab]
#   STREAMS    parallel ladders                      [2]
#   METHODS    the methods to run (names below)      [all]
#   TASKS      adding copy                           [both]
#   LADDER     the T of each rung                    [100 200 500 1000]
# Run times are CPU seconds of the training command (wall seconds in the CSV):
# other programs on the machine do not change them much.
# Writes OUT/RUN folders (METHOD-TASK-T), OUT/runs.jsonl (one line a run),
# OUT/table.md and OUT/table.csv, and the lag data for the figures.
set -eu
cd "$(dirname "$0")/.."
RNNLAB=${RNNLAB:-build/rnnlab}

# name | flags for every run | extra flags for adding | extra flags for copy | what the papers used
methods() {
    cat <<'EOF'
lstm|--cell lstm --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1|||PyTorch's LSTM init
lstm-fb1|--cell lstm --hidden 128 --forget-bias 1 --optim adam --lr 1e-3 --batch 50 --clip 1|||forget-gate bias 1 (Gers 2000; Jozefowicz et al. 2015)
chrono-lstm|--cell lstm --hidden 128 --init chrono --optim adam --lr 1e-3 --batch 50 --clip 1|--t-max T|--t-max 3T/2|chrono init, T_max = T (adding), 3T/2 (copy) (Tallec & Ollivier 2018)
chrono-gru|--cell gru --hidden 128 --init chrono --optim adam --lr 1e-3 --batch 50 --clip 1|--t-max T|--t-max 3T/2|chrono init on the update gate
irnn|--cell relu --hidden 128 --init identity --optim adam --lr 1e-4 --batch 50 --clip 1|||IRNN (Le et al. 2015): W_hh = I, biases 0
indrnn|--cell indrnn --hidden 128 --layers 2 --recurrent-min RMIN --optim adam --lr 2e-4 --batch 50 --clip 0|||IndRNN (Li et al. 2018): 2 layers of 128, Adam 2e-4, batch 50, u clipped to 2^(1/T), the last layer's u ~ U(2^(-1/T), 2^(1/T))
indrnn-lr1e-3|--cell indrnn --hidden 128 --layers 2 --recurrent-min RMIN --optim adam --lr 1e-3 --batch 50 --clip 0|||IndRNN as above with Adam 1e-3 (not the paper's)
leaky|--cell leaky --hidden 128 --timescales 2,T --optim adam --lr 1e-3 --batch 50 --clip 1|||leaky units, time scales 1/alpha log-uniform in [2, T] (Deep Learning 10.9)
orth-exp|--orthogonal exp --optim rmsprop --lr 2e-4 --orthogonal-lr 2e-5 --batch 50 --clip 0|--cell tanh --hidden 128|--cell linear --hidden 190 --init henaff|orthogonal W_hh, exp map, expRNN's RMSprop 2e-4 with 2e-5 on the orthogonal part; copy: 190 linear units from Henaff's init (expRNN's recipe, linear for its modReLU), adding: 128 tanh units from a random orthogonal W_hh
orth-cayley|--orthogonal cayley --optim rmsprop --lr 2e-4 --orthogonal-lr 2e-5 --batch 50 --clip 0|--cell tanh --hidden 128|--cell linear --hidden 190 --init henaff|orthogonal W_hh, Cayley map, otherwise as orth-exp
tanh|--cell tanh --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1|||plain tanh RNN, PyTorch's init: the disease the others cure
tanh-omega|--cell tanh --hidden 128 --omega 2 --optim adam --lr 1e-3 --batch 50 --clip 1|||tanh RNN with Pascanu et al.'s Omega, weight 2 (Pascanu et al. 2013), clipping at 1
tanh-floss|--cell tanh --hidden 128 --floss 16 --floss-steps 300 --optim adam --lr 1e-3 --batch 50 --clip 1|||tanh RNN, gradient flossing of the top 16 exponents towards 0 for 300 updates before training (Engelken 2023)
EOF
}

# steps cap and validation interval of a rung
cap() { case $1 in 50) echo 600 ;; 100) echo 3000 ;; 200) echo 3000 ;; 500) echo 3000 ;; *) echo 5000 ;; esac; }
every() { case $1 in 50|100) echo 100 ;; *) echo 100 ;; esac; }

# ------------------------------------------------------------------ one ladder
if [ "${1:-}" = "--ladder" ]; then
    name=$2 task=$3 out=$4 rungs=$5
    line=$(methods | grep "^$name|")
    base=$(echo "$line" | cut -d'|' -f2)
    extra_add=$(echo "$line" | cut -d'|' -f3)
    extra_copy=$(echo "$line" | cut -d'|' -f4)
    extra=$extra_add
    [ "$task" = copy ] && extra=$extra_copy
    for T in $rungs; do
        steps=$(cap "$T")
        [ "${QUICK:-0}" = 1 ] && steps=$((steps / 5))
        half=$((3 * T / 2))
        rmin=$(awk "BEGIN { printf \"%.9f\", 2 ^ (-1 / $T) }")
        flags=$(echo "$base $extra" | sed "s|3T/2|$half|g; s|\\bT\\b|$T|g; s|RMIN|$rmin|g")
        run="$out/$name-$task-$T"
        rm -rf "$run"
        # the run, timed in wall and in CPU seconds (the CPU time does not
        # count what other programs on the machine take)
        # shellcheck disable=SC2086
        times=$(python3 -c '
import resource, subprocess, sys, time
w = time.time()
rc = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.time() - w, u.ru_utime + u.ru_stime, rc)' "$run.log" env OPENBLAS_NUM_THREADS=1 $RNNLAB train --task "$task" --seq-len "$T" $flags \
            --steps "$steps" --eval-every "$(every "$T")" --eval-batches 4 --flow-every "$steps" --ckpt-every 0 \
            --stop-when-solved --save-init --seed 1 --out "$run" --quiet)
        set -- $times
        wall=$1 cpu=$2
        [ "$3" = 0 ] || { echo "longlag: $run failed" >&2; tail -3 "$run.log" >&2; }
        for which in init model; do
            [ -f "$run/$which.safetensors" ] &&
                OPENBLAS_NUM_THREADS=1 $RNNLAB lyapunov --model "$run/$which.safetensors" --steps 1000 --transient 200 \
                    --input zeros --state random --seed 3 --out "$run/lyap-$which.json" --quiet >>"$run.log" 2>&1 || true
        done
        python3 - "$run" "$name" "$task" "$T" "$steps" "$wall" "$cpu" >>"$out/runs.jsonl" <<'PY'
import json, math, sys
run, name, task, T, cap, wall, cpu = sys.argv[1:]
rec = {"method": name, "task": task, "T": int(T), "cap": int(cap), "wall_s": float(wall), "cpu_s": float(cpu)}
solved, last = None, None
try:
    for l in open(f"{run}/metrics.jsonl"):
        r = json.loads(l)
        if r.get("solved"):
            solved = r
        if "val_loss" in r:
            last = r
except OSError:
    pass
rec["solved"] = solved is not None
rec["steps"] = solved["step"] if solved else (last["step"] if last else None)
if last:
    rec["final"] = {k: last[k] for k in ("val_loss", "val_mse", "val_accuracy", "baseline") if k in last}
flows = []
try:
    flows = [json.loads(l) for l in open(f"{run}/flow.jsonl")]
except OSError:
    pass
if flows:
    rec["lag_grad_init"] = flows[0]["lag_log_grad"][0]
    rec["lag_grad_end"] = flows[-1]["lag_log_grad"][0]
    rec["lag_curve_init"] = flows[0]["lag_log_grad"]
for which in ("init", "model"):
    try:
        ex = json.load(open(f"{run}/lyap-{which}.json"))["exponents"]
        key = "init" if which == "init" else "end"
        rec[f"lmax_{key}"] = ex[0]
        # an exponent of -inf (a unit that is always off) is null in the JSON
        rec[f"near0_{key}"] = sum(e is not None and abs(e) < 0.01 for e in ex) / len(ex)
    except (OSError, KeyError, ValueError):
        pass
print(json.dumps(rec))
PY
        grep -q '"solved":true' "$run/metrics.jsonl" 2>/dev/null || break # the ladder stops at its first failure
    done
    exit 0
fi

# ------------------------------------------------------------------ all of it
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
OUT=${1:-longlag}
STREAMS=${STREAMS:-2}
TASKS=${TASKS:-adding copy}
LADDER=${LADDER:-100 200 500 1000}
[ $QUICK = 1 ] && LADDER="50 100"
METHODS=${METHODS:-$(methods | cut -d'|' -f1 | tr '\n' ' ')}
mkdir -p "$OUT"
: >"$OUT/runs.jsonl"
start=$(date +%s)
export QUICK RNNLAB
for m in $METHODS; do for task in $TASKS; do echo "$m $task"; done; done |
    xargs -P "$STREAMS" -L 1 sh -c 'sh bench/longlag.sh --ladder "$0" "$1" "'"$OUT"'" "'"$LADDER"'"'
echo "longlag: all ladders done in $(($(date +%s) - start)) s" >&2
methods >"$OUT/methods.txt"
python3 - "$OUT" "$(($(date +%s) - start))" "$STREAMS" <<'PY'
import json, sys
out, total, streams = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl")]
notes = {l.split("|")[0]: l.strip().split("|")[4] for l in open(f"{out}/methods.txt") if "|" in l}
order = list(dict.fromkeys(l.split("|")[0] for l in open(f"{out}/methods.txt") if "|" in l))
runs.sort(key=lambda r: (order.index(r["method"]) if r["method"] in order else 99, r["task"], r["T"]))
def f(x, d=2):
    return "" if x is None else f"{x:.{d}f}"
md = [f"Long-lag table: {len(runs)} runs, {total} s in all on this machine ({streams} parallel streams of one thread).", "",
      "| method | task | T | solved | steps (cap) | CPU s | final metric | ln‖∂L/∂h_0‖ init → end | λ_max init → end | near-0 share init → end |",
      "|---|---|---|---|---|---|---|---|---|---|"]
with open(f"{out}/table.csv", "w") as c:
    c.write("method,task,T,solved,steps,cap,wall_s,cpu_s,final_loss,final_mse,final_accuracy,lag_grad_init,lag_grad_end,lmax_init,lmax_end,near0_init,near0_end\n")
    for r in runs:
        fin = r.get("final", {})
        metric = f"MSE {fin['val_mse']:.4f}" if "val_mse" in fin else (f"acc {fin['val_accuracy']:.3f}" if "val_accuracy" in fin else "")
        md.append(f"| {r['method']} | {r['task']} | {r['T']} | {'yes' if r['solved'] else 'no'} | {r['steps']} ({r['cap']}) | "
                  f"{r['cpu_s']:.0f} | {metric} | {f(r.get('lag_grad_init'))} → {f(r.get('lag_grad_end'))} | "
                  f"{f(r.get('lmax_init'), 3)} → {f(r.get('lmax_end'), 3)} | {f(r.get('near0_init'))} → {f(r.get('near0_end'))} |")
        c.write(",".join(str(v) for v in [r["method"], r["task"], r["T"], int(r["solved"]), r["steps"], r["cap"], round(r["wall_s"], 1), round(r["cpu_s"], 1),
                fin.get("val_loss", ""), fin.get("val_mse", ""), fin.get("val_accuracy", ""), r.get("lag_grad_init", ""),
                r.get("lag_grad_end", ""), r.get("lmax_init", ""), r.get("lmax_end", ""), r.get("near0_init", ""),
                r.get("near0_end", "")]) + "\n")
md += ["", "Methods:", ""] + [f"- {m}: {notes.get(m, '')}" for m in order]
open(f"{out}/table.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
