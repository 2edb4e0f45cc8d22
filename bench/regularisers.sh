#!/bin/sh
# The runs behind docs/results.md's section on the regularisers on the
# Jacobians (issue 15): Pascanu et al.'s Omega and gradient flossing against
# plain tanh networks on the temporal-order task, five seeds each (three at
# T = 200), one BLAS thread (about 12 minutes on the shared 2-core machine).
# A run whose folder exists is not run again.
# Usage: bench/regularisers.sh [OUT_DIR]; then bench/regularisers.sh --summary OUT_DIR
set -eu
R=${RNNLAB:-build/rnnlab}
export OPENBLAS_NUM_THREADS=1
SEEDS="1 2 3 4 5"
SEEDS200="1 2 3"

# Omega: tanh, 50 units (Pascanu et al.'s size), Adam 1e-3, clipping at 1, batch 20, 3000 steps
omega_run() { # T seed weight
    [ -d "$out/omega-T$1-w$3-s$2" ] && return 0
    $R train --task temporal-order --seq-len "$1" --cell tanh --hidden 50 --batch 20 --steps 3000 --eval-every 500 \
        --flow-every 0 --ckpt-every 0 --omega "$3" --seed "$2" --quiet --out "$out/omega-T$1-w$3-s$2"
}
# flossing: tanh, 32 units, the top 16 exponents; 300 flossing updates before training (and, at T = 200,
# 300 more after every 500 training steps up to 3500), then 3000 (T = 200: 4000) training steps as above
floss_run() { # T seed K extra...
    T=$1 s=$2 K=$3
    shift 3
    steps=3000
    [ "$T" = 200 ] && steps=4000
    if [ "$K" = 0 ]; then f=""; name=plain; else f="--floss $K --floss-steps 300"; name=floss$K; fi
    [ $# -gt 0 ] && name=$name-every500
    [ -d "$out/floss-T$T-$name-s$s" ] && return 0
    $R train --task temporal-order --seq-len "$T" --cell tanh --hidden 32 --batch 20 --steps $steps --eval-every 1000 \
        --flow-every 0 --ckpt-every 0 $f "$@" --seed "$s" --quiet --out "$out/floss-T$T-$name-s$s"
}

summary() {
    out=$1
    raw() { echo "$1" | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\(.*\)/\1/p" | head -1; }
    field() { v=$(raw "$1" "$2"); case "$v" in "") printf -- '-' ;; null) printf 'null' ;; *) printf '%.4g' "$v" ;; esac; }
    acc() { # run T -> "accuracy (loss)" on 1000 fresh sequences
        [ -f "$out/$1/model.safetensors" ] || { printf 'missing'; return; }
        j=$($R eval --model "$out/$1/model.safetensors" --task temporal-order --seq-len "$2" --batch 50 --batches 20 --json 2>/dev/null)
        printf '%s (%s)' "$(field "$j" accuracy)" "$(field "$j" loss)"
    }
    echo "Omega: accuracy (cross-entropy) on 1000 fresh sequences; chance 0.25, baseline ln 4 = 1.386"
    echo
    echo "| T | seed | tanh | tanh + 2 Omega |"
    echo "|---|---|---|---|"
    for T in 50 100; do for s in $SEEDS; do
        echo "| $T | $s | $(acc omega-T$T-w0-s$s $T) | $(acc omega-T$T-w2-s$s $T) |"
    done; done
    echo
    echo "The ratio ||J^T delta|| / ||delta|| per step (rnnlab grad --omega 0 on 200 fresh sequences, T = 50, seed 1)"
    echo
    echo "| model | Omega | the ratio: min, q1, median, q3, max | share of steps in [0.8, 0.95), [0.95, 1.05), [1.05, 1.25) |"
    echo "|---|---|---|---|"
    d="$out/to50.data"
    $R init --cell tanh --input 8 --hidden 50 --output 4 --loss cross_entropy --seed 1 --out "$out/init-s1.safetensors" 2>/dev/null
    $R data --model "$out/init-s1.safetensors" --task temporal-order --seq-len 50 --batch 200 --seed 7 --out "$d" 2>/dev/null
    for m in "at initialisation:$out/init-s1.safetensors" "tanh, 3000 steps:$out/omega-T50-w0-s1/model.safetensors" \
             "tanh + 2 Omega, 3000 steps:$out/omega-T50-w2-s1/model.safetensors"; do
        g=$($R grad --model "${m#*:}" --data "$d" --omega 0 --out "$out/g.safetensors")
        q=$(echo "$g" | sed -n 's/.*min \([^ ]*\) q1 \([^ ]*\) median \([^ ]*\) q3 \([^ ]*\) max \([^ ]*\) over.*/\1, \2, \3, \4, \5/p')
        h=$(echo "$g" | sed -n 's/.*\[0.8, 0.95) \([^,]*\), \[0.95, 1.05) \([^,]*\), \[1.05, 1.25) \([^,]*\),.*/\1, \2, \3/p')
        echo "| ${m%%:*} | $(echo "$g" | sed -n 's/^omega \([-0-9][^ ]*\)$/\1/p' | xargs printf '%.4g') | $q | $h |"
    done
    echo
    echo "Flossing: accuracy (cross-entropy) on 1000 fresh sequences; the exponents before and after the 300"
    echo "flossing updates (floss.jsonl: on the episode's first sequence, lambda_1 and lambda_16 of the 32)"
    echo
    echo "| T | seed | tanh | tanh, flossed first | F before -> after | lambda_1 before -> after | lambda_16 before -> after |"
    echo "|---|---|---|---|---|---|---|"
    for T in 50 100 200; do
        seeds=$SEEDS
        [ "$T" = 200 ] && seeds=$SEEDS200
        for s in $seeds; do
        f="$out/floss-T$T-floss16-s$s/floss.jsonl"
        l=$(head -1 "$f" 2>/dev/null || echo "{}")
        lb=$(echo "$l" | sed -n 's/.*"lambda_before":\[\([^]]*\)\].*/\1/p')
        la=$(echo "$l" | sed -n 's/.*"lambda_after":\[\([^]]*\)\].*/\1/p')
        first() { printf '%.3g' "$(echo "$1" | cut -d, -f1)"; }
        lastv() { printf '%.3g' "$(echo "$1" | tr ',' '\n' | tail -1)"; }
        echo "| $T | $s | $(acc floss-T$T-plain-s$s $T) | $(acc floss-T$T-floss16-s$s $T) |" \
             "$(field "$l" floss_before) -> $(field "$l" floss_after) | $(first "$lb") -> $(first "$la") |" \
             "$(lastv "$lb") -> $(lastv "$la") |"
    done; done
    echo
    echo "| T | seed | tanh, flossed first and after every 500 steps to 3500 (7 more episodes of 300 updates) |"
    echo "|---|---|---|"
    for s in $SEEDS200; do echo "| 200 | $s | $(acc floss-T200-floss16-every500-s$s 200) |"; done
}

if [ "${1:-}" = "--summary" ]; then
    summary "${2:?OUT_DIR}"
    exit 0
fi
out=${1:-regularisers}
mkdir -p "$out"
start=$(date +%s)
for T in 50 100; do for s in $SEEDS; do
    omega_run $T $s 0
    omega_run $T $s 2
done; done
for T in 50 100 200; do
    seeds=$SEEDS
    [ "$T" = 200 ] && seeds=$SEEDS200
    for s in $seeds; do
        floss_run $T $s 0
        floss_run $T $s 16
    done
done
for s in $SEEDS200; do floss_run 200 $s 16 --floss-every 500 --floss-episodes 7; done
echo "bench/regularisers.sh: $(($(date +%s) - start)) s" >&2
