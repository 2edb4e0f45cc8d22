#!/bin/sh
# The echo state network runs behind docs/results.md ("Echo state networks")
# and docs/jacobians.md (section 9): ReservoirPy's Mackey-Glass setting over
# ten seeds, NARMA10 with ridge readouts and one BPTT run for comparison, and
# the spectral radius against the Lyapunov exponents. About 2.5 minutes on 2
# cores, most of it the BPTT run. Usage: bench/esn.sh [OUT_DIR]; prints the
# tables (Markdown) on stdout.
set -eu
R=${RNNLAB:-build/rnnlab}
out=${1:-esn-runs}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1

num() { # the number after "key": in a JSON text
    echo "$1" | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\(.*\)/\1/p" | head -1
}
stats() { # mean, min and max of the numbers on stdin
    awk '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
         END { printf "%.4g | %.4g | %.4g", s / NR, lo, hi }'
}

# ReservoirPy's README: X = mackey_glass(2000), to_forecasting(X, test_size=0.2),
# Reservoir(units=100, sr=1.25, lr=0.3) >> Ridge(ridge=1e-5), fit with warmup=100
# on the first 1599 inputs, run on the last 400 (RMSE 0.0020282). Here: fitted
# on a series of 1599 steps (washout 100: 1499 rows), scored on 20 fresh series
# of 1999 steps, each run from h = 0, on its last 400 steps (washout 1599).
ESN="--cell leaky --hidden 100 --init gaussian --radius 1.25 --leak 0.3 --input-scale 1 --zero-bias --readout ridge --ridge 1e-5"
echo "| seed | training RMSE | validation RMSE | validation NRMSE |"
echo "|---|---|---|---|"
: > "$out/mg.txt"
for s in 0 1 2 3 4 5 6 7 8 9; do
    rm -rf "$out/mg-$s"
    $R train --task mackey-glass --seq-len 1599 --batch 1 $ESN --washout 100 --seed $s --quiet --out "$out/mg-$s" 2>/dev/null
    fit=$(head -1 "$out/mg-$s/metrics.jsonl")
    j=$($R eval --model "$out/mg-$s/model.safetensors" --task mackey-glass --seq-len 1999 --washout 1599 --batch 1 --batches 20 --json)
    tr=$(awk -v l="$(num "$fit" loss)" 'BEGIN { printf "%.4g", sqrt(l) }')
    echo "$(num "$j" rmse) $(num "$j" nrmse)" >> "$out/mg.txt"
    printf '| %s | %s | %.4g | %.4g |\n' $s "$tr" "$(num "$j" rmse)" "$(num "$j" nrmse)"
done
echo
echo "| over the 10 seeds | mean | min | max |"
echo "|---|---|---|---|"
echo "| validation RMSE | $(cut -d' ' -f1 "$out/mg.txt" | stats) |"
echo "| validation NRMSE | $(cut -d' ' -f2 "$out/mg.txt" | stats) |"

# NARMA10: ridge readouts, five seeds each, scored on 20 fresh sequences of
# 2000 steps after a washout of 100; then a tanh net of the same size trained
# by BPTT (Adam 2e-3, 2000 updates of 50 sequences of 200 steps), scored alike.
echo
echo "| NARMA10 model | training steps fitted | validation NRMSE: mean | min | max |"
echo "|---|---|---|---|---|"
narma() { # name, batch, options...
    name=$1 batch=$2
    shift 2
    : > "$out/$name.txt"
    for s in 0 1 2 3 4; do
        rm -rf "$out/$name-$s"
        $R train --task narma10 --seq-len 2000 --batch "$batch" --readout ridge --ridge 1e-6 --washout 100 --seed $s \
            --quiet --out "$out/$name-$s" "$@" 2>/dev/null
        j=$($R eval --model "$out/$name-$s/model.safetensors" --task narma10 --seq-len 2000 --washout 100 --batch 1 \
            --batches 20 --json)
        num "$j" nrmse >> "$out/$name.txt"
    done
    echo "| $name | $((batch * 1900)) | $(stats < "$out/$name.txt") |"
}
narma "tanh, 100 units, no bias" 1 --cell tanh --hidden 100 --init gaussian --radius 0.95 --input-scale 0.5 --zero-bias
narma "tanh, 100 units, PyTorch's biases" 1 --cell tanh --hidden 100 --init gaussian --radius 0.95 --input-scale 0.5
narma "leaky 0.9, 100 units, no bias" 1 --cell leaky --leak 0.9 --hidden 100 --init gaussian --radius 0.95 --input-scale 0.5 --zero-bias
narma "tanh, 100 units, no bias, 10 sequences" 10 --cell tanh --hidden 100 --init gaussian --radius 0.95 --input-scale 0.5 --zero-bias
narma "tanh, 400 units, no bias, 10 sequences" 10 --cell tanh --hidden 400 --init gaussian --radius 0.95 --input-scale 0.5 --zero-bias
rm -rf "$out/narma-bptt"
$R train --task narma10 --cell tanh --hidden 100 --seq-len 200 --batch 50 --steps 2000 --lr 2e-3 --eval-every 500 \
    --flow-every 0 --quiet --out "$out/narma-bptt" 2>/dev/null
j=$($R eval --model "$out/narma-bptt/model.safetensors" --task narma10 --seq-len 2000 --washout 100 --batch 1 --batches 20 --json)
printf '| tanh, 100 units, BPTT (seed 0) | 2000 x 50 x 200 | %.4g | | |\n' "$(num "$j" nrmse)"

# The spectral radius of W_hh against the echo state property (seed 0 of the
# Mackey-Glass setting): rho(J) at h = 0 (zero input and biases), the largest
# Lyapunov exponent with zero input from a random state and on a Mackey-Glass
# input, ln ||ds_T/ds_{T-200}||_2 on 500 steps of it, and the error.
echo
echo "| radius of W_hh | rho(J) at h = 0 | largest exponent, zero input | largest exponent, Mackey-Glass input | ln norm of ds_T/ds_{T-200} | validation RMSE | NRMSE |"
echo "|---|---|---|---|---|---|---|"
for r in 0.8 1.25 2 3; do
    d="$out/radius-$r"
    rm -rf "$d"
    $R train --task mackey-glass --seq-len 1599 --batch 1 $(echo "$ESN" | sed "s/--radius 1.25/--radius $r/") --washout 100 \
        --seed 0 --quiet --out "$d" 2>/dev/null
    m="$d/model.safetensors"
    $R data --model "$m" --task mackey-glass --seq-len 2100 --seed 5 --out "$d/mg.safetensors" 2>/dev/null
    $R data --model "$m" --task mackey-glass --seq-len 500 --seed 5 --out "$d/mg500.safetensors" 2>/dev/null
    $R data --model "$m" --steps 1 --input zeros --out "$d/z1.safetensors" 2>/dev/null
    rho=$($R spectrum --model "$m" --data "$d/z1.safetensors" --lags 1 --out "$d/z1.json" | awk '$1 == 1 { printf "%.4f", exp($2) }')
    lz=$($R lyapunov --model "$m" --steps 2000 --input zeros --state random --k 5 --out "$d/ly-zero.json" |
        sed -n 's/.*largest exponent \([^,]*\),.*/\1/p')
    lm=$($R lyapunov --model "$m" --data "$d/mg.safetensors" --steps 2000 --k 5 --out "$d/ly-mg.json" |
        sed -n 's/.*largest exponent \([^,]*\),.*/\1/p')
    lag=$($R jacobian --model "$m" --data "$d/mg500.safetensors" --no-steps --out "$d/j.safetensors" | awk '$1 == 200 { print $2 }')
    j=$($R eval --model "$m" --task mackey-glass --seq-len 1999 --washout 1599 --batch 1 --batches 20 --json)
    printf '| %s | %s | %.4g | %.4g | %.4g | %.4g | %.4g |\n' "$r" "$rho" "$lz" "$lm" "$lag" "$(num "$j" rmse)" "$(num "$j" nrmse)"
done
