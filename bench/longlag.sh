#!/bin/sh
# The long-lag table (docs/results.md): what the cures for vanishing and
# exploding gradients are known for, reproduced on the adding problem and the
# copy memory task at T = 100, 200, 500, 1000.
#
# For each method and task, a ladder over T that stops at its first failure;
# each run is capped in steps and stopped at the first validation that solves
# the task (rnnlab train --stop-when-solved: adding, validation MSE < 0.01;
# copy, at least 99% of the recalled symbols right). Each run records the
# gradient flow of the initial and the final model on one fresh sequence of
# the task (ln ||dL/dh_0||, the gradient that crosses all T steps, from
# rnnlab jacobian's log_grad_bptt), and their Lyapunov spectra (lambda_max and
# the share of exponents within 0.01 of 0). The ladders run in STREAMS
# parallel streams of one thread each.
#
# Usage: bench/longlag.sh [--quick] [OUT]        (OUT: longlag)
#   --quick    T = 50 and 100 only, small step caps: a smoke run (minutes)
#        bench/longlag.sh --flows OUT
#   measures the gradient flow of every run in OUT again and remakes the
#   table (for a folder from before the flow was measured so)
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

# ln ||dL/dh_tau|| of RUN's initial and final models on one sequence of the
# task (seed 7), into RUN/flow-init.safetensors and RUN/flow-model.safetensors
flows() { # RUN TASK T
    OPENBLAS_NUM_THREADS=1 $RNNLAB data --model "$1/init.safetensors" --task "$2" --seq-len "$3" --seed 7 \
        --out "$1/flow-data.safetensors" >>"$1.log" 2>&1 || return 0
    for which in init model; do
        [ -f "$1/$which.safetensors" ] &&
            OPENBLAS_NUM_THREADS=1 $RNNLAB jacobian --model "$1/$which.safetensors" --data "$1/flow-data.safetensors" \
                --no-radius --no-steps --out "$1/flow-$which.safetensors" >>"$1.log" 2>&1 || true
    done
}

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
        flows "$run" "$task" "$T"
        python3 bench/longlag.py record "$run" "$name" "$task" "$T" "$steps" "$wall" "$cpu" >>"$out/runs.jsonl"
        grep -q '"solved":true' "$run/metrics.jsonl" 2>/dev/null || break # the ladder stops at its first failure
    done
    exit 0
fi

# ------------------------------------------------------------------ the flow again
if [ "${1:-}" = "--flows" ]; then
    OUT=${2:?usage: bench/longlag.sh --flows OUT}
    python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["method"], r["task"], r["T"])' "$OUT/runs.jsonl" | while read -r name task T; do
        flows "$OUT/$name-$task-$T" "$task" "$T"
    done
    python3 bench/longlag.py reflow "$OUT"
    python3 bench/longlag.py table "$OUT" >/dev/null
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
echo "{\"total_s\": $(($(date +%s) - start)), \"streams\": $STREAMS}" >"$OUT/run.json"
python3 bench/longlag.py table "$OUT"
