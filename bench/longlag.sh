#!/bin/sh
# The long-lag table (docs/results.md): what the cures for vanishing and
# exploding gradients are known for, reproduced on the adding problem and the
# copy memory task at T = 100, 200, 500, 1000 and, for the methods that
# solve 1000, 2000 and 5000; each method from its paper's recipe (rnnlab
# train --recipe) where it has one.
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
#   LADDER     the T of each rung                    [100 200 500 1000 2000 5000]
# Run times are CPU seconds of the training command (wall seconds in the CSV):
# other programs on the machine do not change them much.
# Writes OUT/RUN folders (METHOD-TASK-T) with their records OUT/RUN.json,
# OUT/runs.jsonl (the records, one line a run), OUT/table.md and
# OUT/table.csv, and the lag data for the figures. A rung whose record is
# there, made with the same flags and cap, is kept and not run again: runs
# made ahead (the same command on some METHODS or TASKS) are part of the
# table, and a stopped run of the script goes on where it was: a rung that
# was stopped part-way (the session or machine that ran it went away)
# resumes from its checkpoint, written every 500 steps, with `train --resume`,
# which ends with the model an uninterrupted run ends with; its times add up
# the segments to their last checkpoints (RUN.times; RUN.key holds the flags
# and cap it was begun with).
set -eu
# the whole script is one group, read before any of it runs: an edit of this
# file while it runs (the long runs take hours) cannot change what it does
{
cd "$(dirname "$0")/.."
RNNLAB=${RNNLAB:-build/rnnlab}

# name | flags for every run | extra flags for adding | extra flags for copy | tasks | what it is
# A recipe (rnnlab train --recipes, docs/training.md) sets everything the
# paper's code sets; a flag after it overrides one setting. The rows without
# a recipe are the baselines the recipes cure.
methods() {
    cat <<'EOF'
lstm|--cell lstm --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1|||adding copy|baseline: PyTorch's LSTM init, Adam 1e-3, batch 50, clip 1 (no recipe)
lstm-fb1|--recipe lstm-fb1|||adding copy|recipe lstm-fb1: forget-gate bias 1, Li et al.'s LSTM baseline (Gers 2000; Jozefowicz et al. 2015)
chrono-lstm|--recipe chrono-lstm|||adding copy|recipe chrono-lstm: T_max = T (adding), 3T/2 (copy), RMSprop 1e-3 (Tallec & Ollivier 2018)
chrono-gru|--cell gru --hidden 128 --init chrono --optim adam --lr 1e-3 --batch 50 --clip 1|--t-max T|--t-max 3T/2|adding copy|chrono init on the GRU's update gate, Adam 1e-3, batch 50, clip 1 (no paper's recipe)
irnn|--recipe irnn|||adding copy|recipe irnn: W_hh = I, W_in ~ N(0, 0.001^2), Adam 2e-4 (1e-5 from T = 500) (Le et al. 2015, as Li et al. ran it)
indrnn|--recipe indrnn|||adding copy|recipe indrnn: 2 x 128, one zero bias per unit, W_in ~ N(0, 0.001^2), Adam 2e-4, batch 32 (Li et al. 2018)
leaky|--cell leaky --hidden 128 --timescales 2,T --optim adam --lr 1e-3 --batch 50 --clip 1|||adding copy|baseline: leaky units, time scales log-uniform in [2, T] (Deep Learning 10.9; no recipe)
exprnn|--recipe exprnn|||adding copy|recipe exprnn: 190 modReLU units, Henaff's init, exp map, RMSprop 2e-4 / 2e-5, batch 128 (Lezcano-Casado & Martinez-Rubio 2019)
scornn|--recipe scornn|||adding copy|recipe scornn: 190 modReLU units, Cayley map, RMSprop 1e-3 / 1e-4, batch 20 (Helfrich et al. 2018)
tanh|--cell tanh --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1|||adding copy|baseline: tanh RNN, PyTorch's init, Adam 1e-3, batch 50, clip 1 (no recipe)
omega|--recipe omega|||adding copy|recipe omega: tanh 50, W_hh at radius 0.95, SGD 0.01, clip 1, Omega 2 (squared) (Pascanu et al. 2013)
floss|--recipe floss|||adding copy|recipe floss: tanh 80, g = 1, flossing 75 exponents 500 updates before and twice during, Adam 1e-3, clip 0.03 (Engelken 2023)
lru|--recipe lru --layers 2 --hidden 128 --state-size 64|||adding copy|recipe lru with 2 layers of 128 (state 64) for the code's 4 of 256 (state 128), to fit the machine (Orvieto et al. 2023)
mingru|--recipe mingru|||adding copy|recipe mingru: AdamW, no weight decay, rnnlab's sizes (Feng et al. 2024)
minlstm|--recipe minlstm|||adding copy|recipe minlstm: as mingru (Feng et al. 2024)
EOF
}

# steps cap of a rung: it grows with T (the papers' curves take longer at
# longer T); validation every 100 steps
cap() { case $1 in 50) echo 600 ;; 100 | 200) echo 5000 ;; 500 | 1000) echo 10000 ;; 2000) echo 15000 ;; *) echo 30000 ;; esac; }
every() { echo 100; }

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

# " (recipe NAME: HASH)" for flags with --recipe NAME: a hash of the recipe's
# settings (option, for, value) as `rnnlab train --recipes` prints them; ""
# without
recipe_sig() {
    r=$(echo "$1" | sed -n 's/.*--recipe \([^ ]*\).*/\1/p')
    [ -n "$r" ] || return 0
    h=$($RNNLAB train --recipes | awk -F'|' -v head="### \`--recipe $r\`" '
        $0 == head { on = 1; next }
        /^### / { on = 0 }
        on && /^[|] `--/ { print $2 $3 $4 }' | md5sum | cut -c1-12)
    echo " (recipe $r: $h)"
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
        flags=$(echo "$base $extra" | sed "s|3T/2|$half|g; s|\\bT\\b|$T|g")
        # a recipe's settings are part of what a record was made with
        sig=$(recipe_sig "$flags")
        run="$out/$name-$task-$T"
        # a rung already run with the same flags and cap is kept (its record
        # RUN.json): runs may be made ahead, or the ladders stopped and begun again
        if [ -f "$run.json" ] && python3 bench/longlag.py same "$run.json" "$flags$sig" "$steps"; then
            grep -q '"solved": true' "$run.json" || break
            continue
        fi
        # a rung stopped part-way (the machine or session that ran it went
        # away) with the same flags and cap resumes from its checkpoint, to
        # the model an uninterrupted run ends with (train --resume is exact)
        key="$flags$sig|$steps"
        if [ -f "$run/checkpoint.safetensors" ] && [ "$(cat "$run.key" 2>/dev/null)" = "$key" ]; then
            set -- env OPENBLAS_NUM_THREADS=1 $RNNLAB train --resume "$run" --quiet
            echo "longlag: $run resumed from its checkpoint" >&2
        else
            rm -rf "$run" "$run.json" "$run.log" "$run.times"
            echo "$key" >"$run.key"
            # shellcheck disable=SC2086
            set -- env OPENBLAS_NUM_THREADS=1 $RNNLAB train --task "$task" --seq-len "$T" $flags \
                --steps "$steps" --eval-every "$(every "$T")" --eval-batches 4 --flow-every "$steps" --ckpt-every 500 \
                --stop-when-solved --save-init --seed 1 --out "$run" --quiet
        fi
        # the run, timed in wall and in CPU seconds over its segments (the
        # CPU time does not count what other programs on the machine take)
        times=$(python3 bench/longlag.py timed "$run.log" "$run" "$@")
        set -- $times
        wall=$1 cpu=$2
        [ "$3" = 0 ] || { echo "longlag: $run failed" >&2; tail -3 "$run.log" >&2; }
        for which in init model; do
            [ -f "$run/$which.safetensors" ] &&
                OPENBLAS_NUM_THREADS=1 $RNNLAB lyapunov --model "$run/$which.safetensors" --steps 1000 --transient 200 \
                    --input zeros --state random --seed 3 --out "$run/lyap-$which.json" --quiet >>"$run.log" 2>&1 || true
        done
        flows "$run" "$task" "$T"
        python3 bench/longlag.py record "$run" "$name" "$task" "$T" "$steps" "$wall" "$cpu" "$flags$sig" >"$run.json.tmp"
        mv "$run.json.tmp" "$run.json"
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
LADDER=${LADDER:-100 200 500 1000 2000 5000}
[ $QUICK = 1 ] && LADDER="50 100"
METHODS=${METHODS:-$(methods | cut -d'|' -f1 | tr '\n' ' ')}
mkdir -p "$OUT"
start=$(date +%s)
export QUICK RNNLAB
for m in $METHODS; do
    for task in $TASKS; do
        methods | grep "^$m|" | cut -d'|' -f5 | grep -qw "$task" && echo "$m $task"
    done
done | xargs -P "$STREAMS" -L 1 sh -c 'sh bench/longlag.sh --ladder "$0" "$1" "'"$OUT"'" "'"$LADDER"'"'
echo "longlag: the ladders done in $(($(date +%s) - start)) s (rungs run before were kept)" >&2
methods >"$OUT/methods.txt"
echo "{\"streams\": $STREAMS, \"ladder\": \"$LADDER\"}" >"$OUT/run.json"
python3 bench/longlag.py collect "$OUT"
python3 bench/longlag.py table "$OUT"
exit
}
