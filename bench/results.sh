#!/bin/sh
# The runs behind docs/results.md, three streams of runs with one BLAS
# thread each (about 35 minutes on 2 cores: the LSTMs on the adding problem at
# T = 200 take 10,000 and 6,000 steps). Usage: bench/results.sh [OUT_DIR]
# Then: bench/results.sh --summary OUT_DIR prints the tables.
set -eu
R=${RNNLAB:-build/rnnlab}
export OPENBLAS_NUM_THREADS=1

summary() {
    out=$1
    ev() { # run task T -> one JSON line
        $R eval --model "$out/$1/model.safetensors" --task "$2" --seq-len "$3" --batches 40 --json 2>/dev/null || echo "{}"
    }
    raw() { echo "$1" | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\(.*\)/\1/p" | head -1; }
    # numbers to 4 digits; null is how JSON writes the log of an exact zero
    field() { v=$(raw "$1" "$2"); case "$v" in "") ;; null) printf -- '-inf' ;; *) printf '%.4g' "$v" ;; esac; }
    last() { # the last value of a field in a run's metrics
        grep "\"$2\"" "$out/$1/metrics.jsonl" | tail -1 | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\(.*\)/\1/p"
    }
    echo "| run | task | steps | validation loss | MSE / accuracy / bpc | baseline |"
    echo "|---|---|---|---|---|---|"
    for spec in "lstm-adding-100 adding 100" "lstm-adding-200 adding 200" "lstm-adam-adding-200 adding 200" \
                "tanh-adding-200 adding 200" \
                "tanh-adding-100 adding 100" "irnn-adding-100 adding 100" "lstm-copy-100 copy 100" \
                "tanh-gain-clip adding 50" "tanh-gain-noclip adding 50" \
                "text-tanh text 100" "text-lstm text 100" "text-gru text 100"; do
        set -- $spec
        [ -f "$out/$1/model.safetensors" ] || { echo "| $1 | $2 | (missing) | | | |"; continue; }
        j=$(ev "$1" "$2" "$3")
        m=$(field "$j" mse); a=$(field "$j" accuracy); b=$(field "$j" bpc)
        metric=""
        [ -n "$m" ] && metric="MSE $m"
        [ -n "$b" ] && metric="${metric:+$metric, }bpc $b"
        [ -n "$a" ] && metric="${metric:+$metric, }accuracy $a"
        echo "| $1 | $2, T = $3 | $(last "$1" step) | $(field "$j" loss) | $metric | $(field "$j" baseline) |"
    done
    echo
    echo "Gradient flow on the fixed validation sequence: ln||dL/dh_tau|| at lags 0, T/2 and T, at the first"
    echo "record (step 0) and at the last; and the largest gradient norm before clipping."
    echo
    echo "| run | step 0: lag 0 | T/2 | T | last step | lag 0 | T/2 | T | max grad norm | largest training loss |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for r in lstm-adding-100 lstm-adding-200 lstm-adam-adding-200 tanh-adding-200 tanh-adding-100 irnn-adding-100 tanh-gain-clip \
             tanh-gain-noclip; do
        [ -f "$out/$r/flow.jsonl" ] || continue
        j=$($R report "$out/$r" --json)
        first=${j%%last_flow*}
        lastf=${j#*last_flow}
        echo "| $r | $(field "$first" ln_grad_lag0) | $(field "$first" ln_grad_lag_half) | $(field "$first" ln_grad_lag_T)" \
             "| $(raw "$lastf" step) | $(field "$lastf" ln_grad_lag0) | $(field "$lastf" ln_grad_lag_half)" \
             "| $(field "$lastf" ln_grad_lag_T) | $(field "$j" grad_norm_max) | $(field "$j" max_loss) |"
    done
}

if [ "${1:-}" = "--summary" ]; then
    summary "${2:?OUT_DIR}"
    exit 0
fi

OUT=${1:-results}
mkdir -p "$OUT"
rec="--log-every 100 --eval-every 1000 --flow-every 250 --ckpt-every 1000 --quiet"
lstm_rms="--cell lstm --hidden 128 --batch 50 --optim rmsprop --alpha 0.9 --lr 1e-3 --clip 1"
run() {
    name=$1
    shift
    rm -rf "$OUT/$name"
    start=$(date +%s)
    if $R train "$@" $rec --out "$OUT/$name" > "$OUT/$name.log" 2>&1; then
        echo "$name: $(( $(date +%s) - start ))s" >> "$OUT/times"
    else
        echo "$name: FAILED, see $OUT/$name.log" >> "$OUT/times"
    fi
}

(
    run lstm-adding-200 --task adding --seq-len 200 $lstm_rms --steps 10000 --seed 1
) &
(
    run lstm-adam-adding-200 --task adding --seq-len 200 --cell lstm --hidden 128 --batch 50 --optim adam --lr 2e-3 \
        --clip 1 --steps 6000 --seed 1
) &
(
    run lstm-adding-100 --task adding --seq-len 100 $lstm_rms --steps 8000 --seed 1
    run tanh-adding-200 --task adding --seq-len 200 --cell tanh --hidden 128 --batch 50 --optim rmsprop --alpha 0.9 \
        --lr 1e-3 --clip 1 --steps 2000 --seed 1
    run lstm-copy-100 --task copy --seq-len 100 $lstm_rms --steps 2000 --seed 1
    run irnn-adding-100 --task adding --seq-len 100 --cell relu --init identity --hidden 128 --batch 50 \
        --optim rmsprop --alpha 0.9 --lr 1e-4 --clip 1 --steps 3000 --seed 1
    run tanh-adding-100 --task adding --seq-len 100 --cell tanh --hidden 128 --batch 50 --optim rmsprop \
        --alpha 0.9 --lr 1e-3 --clip 1 --steps 3000 --seed 1
    for c in clip noclip; do
        [ $c = clip ] && clip=1 || clip=0
        run tanh-gain-$c --task adding --seq-len 50 --cell tanh --hidden 128 --init gaussian --gain 1.5 --batch 50 \
            --optim sgd --momentum 0.9 --lr 0.01 --clip $clip --on-nonfinite skip --steps 1000 --seed 2
    done
    for c in tanh lstm gru; do
        run text-$c --task text --seq-len 100 --cell $c --hidden 128 --batch 32 --optim adam --lr 2e-3 --clip 5 \
            --steps 1500 --eval-batches 50 --seed 1
    done
) &
wait
cat "$OUT/times"
summary "$OUT"
