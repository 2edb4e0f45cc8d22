#!/bin/sh
# The field's yardstick (docs/results.md, "Sequential MNIST"): sequential
# MNIST (each image as 784 steps of one pixel, the class read at the last
# step), its permuted form (one fixed permutation, --perm-seed 1) and
# sequential Fashion-MNIST, for each method a run with a budget of BUDGET
# seconds of training (rnnlab train --time-limit; one hour by default), then
# its test accuracy on the test files (rnnlab eval), its gradient flow over
# the 784 steps at initialisation and at the end (flow.jsonl) and its
# Lyapunov spectrum (zero input, as the long-lag table's).
#
# The validation that training watches is the last 10% of the training
# images (--valid-split 0.1); the test images are scored once, by the final
# model. Runs are wall-clock budgets: run them on an otherwise idle machine
# (each record holds its CPU seconds and tokens per second beside the wall
# time, so that a loaded run shows).
#
# Usage: bench/mnist.sh [--quick] [OUT]        (OUT: mnist)
#   --quick    a budget of 20 s (or BUDGET) and 100 test images scored: a
#              smoke run of the script (minutes), not results
# Settings (environment):
#   RNNLAB     the rnnlab program                          [build/rnnlab]
#   BUDGET     seconds of training of each run             [3600]
#   THREADS    threads of each run                         [2]
#   STREAMS    runs at once                                [1]
#   METHODS    the methods (names below)                   [all]
#   TASKS      smnist psmnist fsmnist                      [all three]
#   MNIST      the folder of MNIST's four IDX files        [build/data/mnist: sh tools/deps.sh data]
#   FASHION    the folder of Fashion-MNIST's               [/usr/share/datasets/fashion-mnist]
# Writes OUT/METHOD-TASK run folders, their records OUT/METHOD-TASK.json,
# OUT/runs.jsonl and OUT/table.md, and for each task two figures of the
# gradient over the 784 steps, a line a method, OUT/flow-TASK-init.png and
# OUT/flow-TASK-end.png (their data in the .csv beside them). A run whose record is there, made with the
# same flags, budget and threads, is kept; one stopped part-way (its session
# ended) resumes from its checkpoint, its budget counted over both parts
# (the checkpoint's train.seconds).
set -eu
# the whole script is one group, read before any of it runs: an edit of this
# file while it runs (the long runs take hours) cannot change what it does
{
cd "$(dirname "$0")/.."
RNNLAB=${RNNLAB:-build/rnnlab}

# METHOD|flags|flags for smnist|for psmnist|for fsmnist|what it is and where its settings come from|what its
# papers report (test accuracy, sequential / permuted MNIST, with their sizes and budgets: docs/results.md)
methods() {
    cat <<'EOF'
lstm|--cell lstm --hidden 128 --forget-bias 1 --optim adam --lr 1e-3 --batch 32 --clip 1||||LSTM, 128 units, forget-gate bias 1, Adam 1e-3, batch 32, clip 1 (no recipe: the baseline)|98.9 / 90.2 with 100 units, RMSprop, early-stopped (Cooijmans et al. 2017); 87.2 / 85.7 with 130 units in 10 epochs (Bai et al. 2018)
gru|--cell gru --hidden 128 --optim adam --lr 1e-3 --batch 32 --clip 1||||GRU, 128 units, as the LSTM|96.2 / 87.3 with about 70k parameters (Bai et al. 2018); 96.8 sequential with 110 units, 600 epochs (Campos et al. 2018)
indrnn|--recipe indrnn||||recipe indrnn (Li et al. 2018): 2 layers of 128, batch 32, Adam 2e-4 (x0.1 every 20,000 steps); the paper's 6 layers with batch norm are not in rnnlab|99.0 / 96.0 with 6 layers of 128 and batch norm, no validation split (Li et al. 2018)
exprnn|--recipe exprnn --hidden 170|--lr 7e-4 --orthogonal-lr 7e-5|--lr 1e-3 --orthogonal-lr 1e-4|--lr 7e-4 --orthogonal-lr 7e-5|recipe exprnn with the authors' MNIST commands' 170 units and rates (sequential 7e-4 / 7e-5, permuted 1e-3 / 1e-4; their Cayley init is not in rnnlab: Henaff's), modReLU units|98.0 / 94.9 with 170 units, 70 epochs, best test epoch (Lezcano-Casado & Martinez-Rubio 2019, as quoted)
lru|--recipe lru --layers 2 --hidden 128 --state-size 64 --schedule constant||||recipe lru, 2 layers of 128 (state 64) for the code's 4 of 256, a constant rate (a time budget has no known end for the cosine)|none on MNIST in Orvieto et al. 2023; S5, another diagonal recurrence, 99.65 sequential (as quoted)
mingru|--recipe mingru --layers 2 --hidden 128 --lr 1e-3 --batch 32 --clip 1||||recipe mingru (Feng et al. 2024), 2 layers of 128, AdamW 1e-3, batch 32, clip 1|none on MNIST in Feng et al. 2024
minlstm|--recipe minlstm --layers 2 --hidden 128 --lr 1e-3 --batch 32 --clip 1||||recipe minlstm, as mingru|none on MNIST in Feng et al. 2024
EOF
}

# the task and the data of TASK: smnist and psmnist read MNIST, fsmnist is
# sequential MNIST's task on Fashion-MNIST's files
task_of() { case $1 in psmnist) echo psmnist ;; *) echo smnist ;; esac; }
data_of() { case $1 in fsmnist) echo "$FASHION" ;; *) echo "$MNIST" ;; esac; }

# ------------------------------------------------------------------ one run
if [ "${1:-}" = "--run" ]; then
    name=$2 task=$3 out=$4
    line=$(methods | grep "^$name|")
    col=3
    case $task in psmnist) col=4 ;; fsmnist) col=5 ;; esac
    flags=$(echo "$line" | cut -d'|' -f2)
    extra=$(echo "$line" | cut -d'|' -f"$col")
    flags="$flags${extra:+ $extra}"
    run="$out/$name-$task"
    key="$flags|$BUDGET|$THREADS|$QUICK"
    if [ -f "$run.json" ] && [ "$(cat "$run.key" 2>/dev/null)" = "$key" ]; then exit 0; fi
    if [ -f "$run/checkpoint.safetensors" ] && [ "$(cat "$run.key" 2>/dev/null)" = "$key" ]; then
        set -- env OPENBLAS_NUM_THREADS="$THREADS" "$RNNLAB" train --resume "$run" --quiet
        echo "mnist: $run resumed from its checkpoint" >&2
    else
        rm -rf "$run" "$run.json" "$run.log" "$run.times"
        echo "$key" >"$run.key"
        # the steps are a cap the clock reaches first
        # shellcheck disable=SC2086
        set -- env OPENBLAS_NUM_THREADS="$THREADS" "$RNNLAB" train --task "$(task_of "$task")" --data "$(data_of "$task")" \
            $flags --steps 100000000 --time-limit "$BUDGET" --valid-split 0.1 \
            --log-every 50 --eval-every 1000 --eval-batches 8 --flow-every 2000 --ckpt-every 500 --save-init \
            --seed 1 --out "$run" --quiet
    fi
    times=$(python3 bench/longlag.py timed "$run.log" "$run" "$@")
    set -- $times
    wall=$1 cpu=$2
    if [ "$3" != 0 ]; then
        echo "mnist: $run failed (exit $3)" >&2
        tail -3 "$run.log" >&2
        exit 0
    fi
    # the test images, once, by the final model (--quick: the first 100)
    lim=""
    [ "$QUICK" = 1 ] && lim="--batches 2 --batch 50"
    # shellcheck disable=SC2086
    OPENBLAS_NUM_THREADS="$THREADS" $RNNLAB eval --model "$run/model.safetensors" --data "$(data_of "$task")" $lim \
        --json >"$run/test.json" 2>>"$run.log"
    for which in init model; do
        OPENBLAS_NUM_THREADS=1 $RNNLAB lyapunov --model "$run/$which.safetensors" --steps 1000 --transient 200 \
            --input zeros --state random --seed 3 --out "$run/lyap-$which.json" --quiet >>"$run.log" 2>&1 || true
    done
    python3 bench/mnist.py record "$run" "$name" "$task" "$wall" "$cpu" "$flags" "$BUDGET" "$THREADS" >"$run.json.tmp"
    mv "$run.json.tmp" "$run.json"
    exit 0
fi

# ------------------------------------------------------------------ all of it
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
OUT=${1:-mnist}
if [ $QUICK = 1 ]; then BUDGET=${BUDGET:-20}; else BUDGET=${BUDGET:-3600}; fi
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-1}
TASKS=${TASKS:-smnist psmnist fsmnist}
METHODS=${METHODS:-$(methods | cut -d'|' -f1 | tr '\n' ' ')}
MNIST=${MNIST:-build/data/mnist}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
for d in "$MNIST" "$FASHION"; do
    [ -f "$d/train-labels-idx1-ubyte" ] || [ -f "$d/train-labels-idx1-ubyte.gz" ] ||
        { echo "mnist: no MNIST files in $d (sh tools/deps.sh data; MNIST=, FASHION=)" >&2; exit 1; }
done
for m in $METHODS; do
    methods | grep -q "^$m|" || { echo "mnist: no method '$m' (the methods: $(methods | cut -d'|' -f1 | tr '\n' ' '))" >&2; exit 2; }
done
mkdir -p "$OUT"
export QUICK RNNLAB BUDGET THREADS MNIST FASHION
# task by task: the first table is sequential MNIST's, whole
for task in $TASKS; do
    for m in $METHODS; do echo "$m $task"; done
done | xargs -P "$STREAMS" -L 1 sh -c 'sh bench/mnist.sh --run "$0" "$1" "'"$OUT"'"'
methods >"$OUT/methods.txt"
python3 bench/mnist.py table "$OUT"
# the gradient over the 784 steps, each method, at initialisation and at the end
for task in $TASKS; do
    python3 bench/mnist.py flows "$OUT" "$task"
    for which in init end; do
        when="at initialisation"
        [ "$which" = end ] && when="after training"
        $RNNLAB plot csv "$OUT/flow-$task-$which.csv" --title "$task: the gradient over 784 steps, $when" \
            --xlabel "step tau" --ylabel "ln ||dL/dh_tau||" --out "$OUT/flow-$task-$which.png" ||
            echo "mnist: no figure of $task's flow $when" >&2
    done
done
exit
}
