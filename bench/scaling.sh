#!/bin/sh
# The measurements of docs/scaling.md: training tokens/s of one process
# against block_sum on 1 and 2 threads and against 2 MPI ranks of 1 thread.
# Usage: bench/scaling.sh [REPEATS]   (RNNLAB=path/to/rnnlab picks the binary)
# Prints one Markdown row per configuration and way of running it, the best
# of REPEATS runs (default 3: the machine is shared).
set -eu
R=${RNNLAB:-build/rnnlab}
REP=${1:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
root=""
[ "$(id -u)" = 0 ] && root="--allow-run-as-root"

# tokens/s of one run: the one metrics line covers every step (no records between)
rate() {
    rm -rf "$T/run"
    "$@" --log-every 1000000 --eval-every 0 --eval-batches 1 --flow-every 0 --ckpt-every 0 --quiet --out "$T/run" 2>/dev/null
    grep '"tokens_per_s"' "$T/run/metrics.jsonl" | tail -1 | sed 's/.*"tokens_per_s":\([0-9.e+]*\).*/\1/'
}
best() {
    b=0
    i=0
    while [ $i -lt "$REP" ]; do
        v=$(rate "$@")
        b=$(echo "$v $b" | awk '{print ($1 > $2) ? $1 : $2}')
        i=$((i + 1))
    done
    printf '%.0f' "$b"
}

echo "| workload | one pass, 1 thread | one pass, 2 threads | block_sum, 1 thread | block_sum, 2 threads | 2 ranks x 1 thread |"
echo "|---|---|---|---|---|---|"
for w in "tanh 128 50 100 300" "lstm 256 64 100 60" "gru 512 32 50 30" "lstm 1024 32 50 6"; do
    set -- $w
    args="train --task adding --cell $1 --hidden $2 --batch $3 --seq-len $4 --steps $5 --seed 1"
    p1=$(OPENBLAS_NUM_THREADS=1 best $R $args)
    p2=$(OPENBLAS_NUM_THREADS=2 best $R $args)
    b1=$(OPENBLAS_NUM_THREADS=1 best $R $args --block-sum)
    b2=$(OPENBLAS_NUM_THREADS=2 best $R $args --block-sum)
    m2=$(OPENBLAS_NUM_THREADS=1 best mpirun $root --oversubscribe -x OPENBLAS_NUM_THREADS -np 2 $R $args)
    echo "| $1 H=$2 B=$3 T=$4 | $p1 | $p2 | $b1 | $b2 | $m2 |"
done
