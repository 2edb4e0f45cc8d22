#!/bin/sh
# Why the long-lag table's misses miss (docs/results.md, "What did not
# reproduce, and why"): short ablations, each an arm that changes one thing
# against the run that missed, with the gradient norm, a NaN, the Lyapunov
# exponent lambda_max of the initial and the final model and the
# validation's last value. Usage:
#
#   bench/why.sh OUT [GROUP...]     GROUP: irnn lstm lstm2 omega omega2 floss chrono chrono2
#                                          clip irnn-seeds lstm-seeds lstm-init lstm-bias [all]
#
# Every arm runs with --seed 1 unless its flags say another seed. A record's
# weights is the SHA-256 of the trained model's tensors (not its metadata):
# two arms with the same weights trained to the same bits.
#
# Writes OUT/ARM folders and logs and OUT/why.jsonl (one line an arm; a
# finished arm is not run again), and prints OUT/why.md, the table.
set -eu
# the whole script is one group, read before any of it runs: an edit of this
# file while it runs (the long runs take hours) cannot change what it does
{
cd "$(dirname "$0")/.."
RNNLAB=${RNNLAB:-build/rnnlab}
OUT=${1:?usage: bench/why.sh OUT [GROUP...]}
shift
GROUPS_=${*:-irnn lstm lstm2 omega omega2 floss chrono chrono2 clip irnn-seeds lstm-seeds lstm-init lstm-bias}
mkdir -p "$OUT"

# group | arm | task | T | steps | flags
arms() {
    cat <<'EOF'
irnn|irnn-500-as-before|adding|500|1000|--cell relu --hidden 128 --init identity --optim adam --lr 1e-4 --batch 50 --clip 1
irnn|irnn-500-input-0.001|adding|500|1000|--cell relu --hidden 128 --init identity --optim adam --lr 1e-4 --batch 50 --clip 1 --input-scale 0.00173
irnn|irnn-500-lr-1e-5|adding|500|1000|--cell relu --hidden 128 --init identity --optim adam --lr 1e-5 --batch 50 --clip 1
irnn|irnn-500-recipe|adding|500|1000|--recipe irnn
lstm|lstm-200-as-before|adding|200|3000|--cell lstm --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1
lstm|lstm-200-forget-bias-1|adding|200|3000|--cell lstm --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1 --forget-bias 1
lstm2|lstm-200-recipe-init-adam|adding|200|3000|--cell lstm --hidden 128 --optim adam --lr 1e-3 --batch 50 --clip 1 --init gaussian --gain 1.1314 --input-scale 0.173 --zero-bias --forget-bias 1
omega|omega-100-as-before|temporal-order|100|3000|--cell tanh --hidden 50 --omega 2 --optim adam --lr 1e-3 --batch 20 --clip 1
omega|omega-100-radius-0.95|temporal-order|100|3000|--cell tanh --hidden 50 --omega 2 --optim adam --lr 1e-3 --batch 20 --clip 1 --init gaussian --radius 0.95 --input-scale 0.0173 --zero-bias
omega|omega-100-radius-0.95-no-omega|temporal-order|100|3000|--cell tanh --hidden 50 --optim adam --lr 1e-3 --batch 20 --clip 1 --init gaussian --radius 0.95 --input-scale 0.0173 --zero-bias
omega|omega-100-recipe|temporal-order|100|3000|--recipe omega
omega2|omega-100-recipe-30k|temporal-order|100|30000|--recipe omega
omega|omega-200-radius-0.95|temporal-order|200|3000|--cell tanh --hidden 50 --omega 2 --optim adam --lr 1e-3 --batch 20 --clip 1 --init gaussian --radius 0.95 --input-scale 0.0173 --zero-bias
floss|floss-200-as-before|temporal-order|200|4000|--cell tanh --hidden 32 --floss 16 --floss-steps 300 --floss-every 500 --optim adam --lr 1e-3 --batch 20 --clip 1
floss|floss-200-recipe|temporal-order|200|3001|--recipe floss
floss|floss-200-recipe-no-floss|temporal-order|200|3001|--recipe floss --floss 0 --floss-every 0 --floss-episodes 0 --floss-target 0 --floss-lr 0
chrono|chrono-copy-100-recipe|copy|100|3000|--recipe chrono-lstm
chrono|chrono-copy-20-recipe|copy|20|3000|--recipe chrono-lstm
chrono2|chrono-copy-20-recipe-20k|copy|20|20000|--recipe chrono-lstm
clip|irnn-100-recipe|adding|100|5000|--recipe irnn
clip|irnn-100-recipe-no-message-clip|adding|100|5000|--recipe irnn --clip-message 0
clip|lstm-fb1-100-recipe|adding|100|5000|--recipe lstm-fb1
clip|lstm-fb1-100-recipe-no-message-clip|adding|100|5000|--recipe lstm-fb1 --clip-message 0
irnn-seeds|irnn-100-recipe-20k-seed-1|adding|100|20000|--recipe irnn
irnn-seeds|irnn-100-recipe-20k-seed-2|adding|100|20000|--recipe irnn --seed 2
irnn-seeds|irnn-100-recipe-20k-seed-3|adding|100|20000|--recipe irnn --seed 3
irnn-seeds|irnn-100-recipe-20k-seed-4|adding|100|20000|--recipe irnn --seed 4
irnn-seeds|irnn-100-recipe-20k-seed-1-no-message-clip|adding|100|20000|--recipe irnn --clip-message 0
irnn-seeds|irnn-100-recipe-20k-seed-2-no-message-clip|adding|100|20000|--recipe irnn --seed 2 --clip-message 0
irnn-seeds|irnn-100-recipe-20k-seed-3-no-message-clip|adding|100|20000|--recipe irnn --seed 3 --clip-message 0
irnn-seeds|irnn-100-recipe-20k-seed-4-no-message-clip|adding|100|20000|--recipe irnn --seed 4 --clip-message 0
lstm-seeds|lstm-fb1-100-recipe-15k-seed-1|adding|100|15000|--recipe lstm-fb1
lstm-seeds|lstm-fb1-100-recipe-15k-seed-2|adding|100|15000|--recipe lstm-fb1 --seed 2
lstm-seeds|lstm-fb1-100-recipe-15k-seed-3|adding|100|15000|--recipe lstm-fb1 --seed 3
lstm-init|lstm-fb1-100-tf-setup|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1
lstm-init|lstm-fb1-100-recipe-uniform-init|adding|100|15000|--recipe lstm-fb1 --init uniform --input-scale 0.0967
lstm-init|lstm-fb1-100-recipe-batch-50|adding|100|15000|--recipe lstm-fb1 --batch 50
lstm-init|lstm-fb1-100-tf-setup-tf-init|adding|100|15000|--init-from @OUT@/tf-lstm-init.safetensors --cell lstm --hidden 128 --forget-bias 1 --zero-bias --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1
lstm-init|lstm-fb1-100-tf-setup-seed-2|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --seed 2
lstm-init|lstm-fb1-100-tf-setup-seed-3|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --seed 3
lstm-init|lstm-fb1-100-tf-setup-seed-4|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --seed 4
lstm-init|lstm-fb1-100-tf-setup-seed-5|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --seed 5
lstm-init|lstm-fb1-100-tf-setup-eps-3.2e-7|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --eps 3.2e-7
lstm-bias|lstm-fb1-100-tf-setup-one-bias|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --freeze rnn.bias_hh_l0
lstm-bias|lstm-fb1-100-tf-setup-one-bias-seed-2|adding|100|15000|--cell lstm --hidden 128 --forget-bias 1 --zero-bias --input-scale 0.0967 --optim adam --lr 2e-4 --batch 50 --clip 0 --schedule step --step-size 20000 --gamma 0.1 --freeze rnn.bias_hh_l0 --seed 2
EOF
}

touch "$OUT/why.jsonl"
# the lstm-init group's TensorFlow init (batzner/indrnn's LSTM run), for --init-from @OUT@/...
case " $GROUPS_ " in *" lstm-init "*)
    [ -f "$OUT/tf-lstm-init.safetensors" ] || /usr/bin/python3 bench/tf_lstm_init.py "$RNNLAB" "$OUT/tf-lstm-init.safetensors" ;;
esac
arms | while IFS='|' read -r group arm task T steps flags; do
    echo " $GROUPS_ " | grep -q " $group " || continue
    flags=$(echo "$flags" | sed "s|@OUT@|$OUT|g")
    grep -q "\"arm\": \"$arm\"" "$OUT/why.jsonl" && continue
    run="$OUT/$arm"
    rm -rf "$run"
    start=$(date +%s)
    case " $flags " in *" --seed "*) seed= ;; *) seed="--seed 1" ;; esac
    # shellcheck disable=SC2086
    OPENBLAS_NUM_THREADS=1 $RNNLAB train --task "$task" --seq-len "$T" $seed $flags --steps "$steps" --eval-every 100 \
        --eval-batches 4 --ckpt-every 0 --stop-when-solved --save-init --out "$run" --quiet >"$run.log" 2>&1 || true
    for which in init model; do
        [ -f "$run/$which.safetensors" ] &&
            OPENBLAS_NUM_THREADS=1 $RNNLAB lyapunov --model "$run/$which.safetensors" --steps 1000 --transient 200 \
                --input zeros --state random --seed 3 --out "$run/lyap-$which.json" --quiet >>"$run.log" 2>&1 || true
    done
    /usr/bin/python3 - "$run" "$group" "$arm" "$task" "$T" "$steps" "$flags" "$(($(date +%s) - start))" >>"$OUT/why.jsonl" <<'PY'
import hashlib, json, re, struct, sys
run, group, arm, task, T, steps, flags, wall = sys.argv[1:]
rec = {"group": group, "arm": arm, "task": task, "T": int(T), "cap": int(steps), "flags": flags, "wall_s": int(wall)}
solved, last, gmax, gfirst, nan = None, None, 0.0, None, False
try:
    for line in open(f"{run}/metrics.jsonl"):
        m = json.loads(line)
        if "grad_norm_max" in m:
            gmax = max(gmax, m["grad_norm_max"])
            gfirst = m["grad_norm"] if gfirst is None else gfirst
        if "val_loss" in m:
            last = m
            if solved is None and (m.get("val_mse", 1) < 0.01 or m.get("val_accuracy", 0) >= 0.99):
                solved = m["step"]
except OSError:
    pass
log = open(f"{run}.log").read()
nan = re.search(r"is -?(nan|inf)\b", log) is not None  # the trainer's stop on a NaN or Inf
def lmax(which):
    try:
        j = json.load(open(f"{run}/lyap-{which}.json"))
        return j["exponents"][0]  # the largest first
    except (OSError, ValueError, KeyError):
        return None
def weights():
    try:
        raw = open(f"{run}/model.safetensors", "rb").read()
        return hashlib.sha256(raw[8 + struct.unpack("<Q", raw[:8])[0]:]).hexdigest()[:16]
    except (OSError, struct.error):
        return None
rec.update(weights=weights(), solved_at=solved, last_step=last["step"] if last else None,
           val_mse=last.get("val_mse") if last else None, val_accuracy=last.get("val_accuracy") if last else None,
           grad_norm_first=gfirst, grad_norm_max=gmax, nonfinite=nan, lmax_init=lmax("init"), lmax_end=lmax("model"))
print(json.dumps(rec))
PY
    tail -1 "$OUT/why.jsonl"
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/why.md"
import json, sys
out = sys.argv[1]
f = lambda x, d=3: "" if x is None else (f"{x:.{d}g}" if isinstance(x, float) else str(x))
print("| arm | task | T | solved at (cap) | last val | grad norm first / max | non-finite | lambda_max init -> end | weights |")
print("|---|---|---|---|---|---|---|---|---|")
for l in open(f"{out}/why.jsonl"):
    r = json.loads(l)
    val = f"MSE {f(r['val_mse'])}" if r["val_mse"] is not None else f"acc {f(r['val_accuracy'])}"
    print(f"| {r['arm']} | {r['task']} | {r['T']} | {f(r['solved_at']) or 'no'} ({r['cap']}) | {val} at {r['last_step']} "
          f"| {f(r['grad_norm_first'])} / {f(r['grad_norm_max'])} | {'yes' if r['nonfinite'] else 'no'} "
          f"| {f(r['lmax_init'])} -> {f(r['lmax_end'])} | {r.get('weights') or ''} |")
PY
exit
}
