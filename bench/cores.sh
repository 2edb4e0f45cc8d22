#!/bin/sh
# Thread scaling, rnnlab against the PyTorch peer (torch_anchor.py), in one
# run: the char-model training step (V = 65, T = 64; rnnlab bench and the
# peer's rnn section) for rnn/lstm/gru x H = 128, 256, 1024 at B = 32 and
# H = 128, 256 at B = 1 (--full adds B = 1 at H = 1024), at each thread count
# of THREADS, plus OpenBLAS's sgemm rate (2048^3) at 1 thread and at the
# largest count. Writes to OUT:
#   cores.md     one table: train tokens/s of rnnlab and PyTorch and their
#                ratio per thread count, and each side's speed-up from 1 thread
#   cores.csv    the same, one row per workload and thread count (forward
#                tokens/s and rnnlab's GFLOP/s too), for rnnlab plot scaling
#   scaling.png  tokens/s against threads (rnnlab plot scaling cores.csv)
#   info.json, sgemm-*.json, rnnlab-t*.jsonl, torch-t*.json/.log: the raw runs
#
# Usage: bench/cores.sh [--quick | --full] [OUT]
#   --quick      a smoke run for a 2-core machine: threads 1 2, three small
#                workloads, shorter timings (about 30 s)
#   --full       B = 1 at H = 1024 too (rnn, lstm, gru): the peer's speed
#                there is not known, so this may add a minute or two
# Settings (environment):
#   RNNLAB     the command that runs rnnlab          [build/rnnlab]
#              (on the 16-core machine: ".device/run build/rnnlab")
#   ANCHOR     the peer script                       [../shared/bench/torch_anchor.py,
#                                                     else .device/torch_anchor.py]
#   PYTHON     a Python that imports torch           [python3, else /usr/bin/python3]
#   OUT        the output folder (or the operand)    [cores]
#   THREADS    thread counts                         [1 4 8 16; --quick: 1 2]
#   GRID       workloads cell:H:B:T                  [the grid above]
#   BENCH_SECONDS  rnnlab bench --seconds per measurement, and the peer's
#              --target-s                            [0.3; --quick: 0.15]
# The peer runs with OMP_WAIT_POLICY=PASSIVE (its fastest setting, as in
# docs/performance.md). Each thread count runs the peer on the whole grid and
# then rnnlab on it, so one Python start-up serves a thread count.
# Time on the 16-core machine: an estimate from the step times measured
# there before (../shared/device/README.md) is 3 to 4 minutes without
# --full; the 1-thread H = 1024 runs are the longest part.
set -eu
cd "$(dirname "$0")/.."

quick=0 full=0
case "${1:-}" in
--quick) quick=1; shift ;;
--full) full=1; shift ;;
-*) echo "usage: bench/cores.sh [--quick | --full] [OUT]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: bench/cores.sh [--quick | --full] [OUT]" >&2; exit 2; }
OUT=${1:-${OUT:-cores}}
RNNLAB=${RNNLAB:-build/rnnlab}
if [ -z "${ANCHOR:-}" ]; then
    ANCHOR=../shared/bench/torch_anchor.py
    [ -f "$ANCHOR" ] || ANCHOR=.device/torch_anchor.py
fi
[ -f "$ANCHOR" ] || { echo "cores.sh: no peer script at $ANCHOR (set ANCHOR)" >&2; exit 1; }
if [ -z "${PYTHON:-}" ]; then
    for p in python3 /usr/bin/python3; do
        if "$p" -c 'import torch' 2>/dev/null; then PYTHON=$p; break; fi
    done
fi
[ -n "${PYTHON:-}" ] || { echo "cores.sh: no Python here imports torch (set PYTHON)" >&2; exit 1; }
if [ $quick = 1 ]; then
    THREADS=${THREADS:-1 2}
    grid="rnn:128:32:64 lstm:256:32:64 gru:128:1:64"
    GRID=${GRID:-$grid}
    SECONDS_EACH=${BENCH_SECONDS:-0.15}
else
    THREADS=${THREADS:-1 4 8 16}
    big1=
    if [ $full = 1 ]; then big1="rnn:1024:1:64 lstm:1024:1:64 gru:1024:1:64"; fi
    grid="rnn:128:32:64 rnn:256:32:64 rnn:1024:32:64 lstm:128:32:64 lstm:256:32:64 lstm:1024:32:64
gru:128:32:64 gru:256:32:64 gru:1024:32:64 rnn:128:1:64 rnn:256:1:64 lstm:128:1:64 lstm:256:1:64
gru:128:1:64 gru:256:1:64 $big1"
    GRID=${GRID:-$grid}
    SECONDS_EACH=${BENCH_SECONDS:-0.3}
fi
max=1
for t in $THREADS; do
    if [ "$t" -gt "$max" ]; then max=$t; fi
done
sgemm_threads=1
if [ "$max" -gt 1 ]; then sgemm_threads="1 $max"; fi
configs=$(echo "$GRID" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
mkdir -p "$OUT"
start=$(date +%s)
say() { echo "cores.sh: $* ($(($(date +%s) - start)) s)" >&2; }

# the machine and what rnnlab's BLAS check did there
$RNNLAB info --json > "$OUT/info.json"
$RNNLAB info >&2
{ lscpu 2>/dev/null || true; } > "$OUT/lscpu.txt"
# OpenBLAS's sgemm rate at 1 thread and at the most threads
for t in $sgemm_threads; do
    $RNNLAB bench --sgemm --threads "$t" --seconds "$SECONDS_EACH" --json > "$OUT/sgemm-t$t.json"
done
say "sgemm done"

for t in $THREADS; do
    # the peer on the whole grid (and, at the most threads, its sgemm section)
    sections=rnn
    if [ "$t" = "$max" ]; then sections=rnn,gemm; fi
    OMP_WAIT_POLICY=PASSIVE "$PYTHON" "$ANCHOR" --threads "$t" --sections "$sections" --configs "$configs" \
        --target-s "$SECONDS_EACH" --min-reps 3 --out "$OUT/torch-t$t.json" > "$OUT/torch-t$t.log" 2>&1 ||
        { tail -5 "$OUT/torch-t$t.log" >&2; echo "cores.sh: the peer failed at $t threads" >&2; exit 1; }
    : > "$OUT/rnnlab-t$t.jsonl"
    for g in $GRID; do
        IFS=: read -r cell h b seq <<EOS
$g
EOS
        $RNNLAB bench --cell "$cell" --hidden "$h" --batch "$b" --seq "$seq" --threads "$t" \
            --seconds "$SECONDS_EACH" --no-sgemm --json >> "$OUT/rnnlab-t$t.jsonl"
    done
    say "$t threads done"
done

"$PYTHON" - "$OUT" "$THREADS" "$max" <<'PY'
import json, math, sys
out, threads, tmax = sys.argv[1], [int(t) for t in sys.argv[2].split()], int(sys.argv[3])
info = json.load(open(f"{out}/info.json"))
sg = {t: json.load(open(f"{out}/sgemm-t{t}.json"))["sgemm_gflops"] for t in sorted({1, tmax})}
rows, order = {}, []
torch_meta = {}
for t in threads:
    tj = json.load(open(f"{out}/torch-t{t}.json"))
    torch_meta = tj.get("meta", {})
    for r in tj.get("charlm", []):
        k = (r["cell"], r["H"], r["B"], r["T"])
        rows.setdefault(k, {}).setdefault(t, {})["torch"] = r
    for line in open(f"{out}/rnnlab-t{t}.jsonl"):
        r = json.loads(line)
        k = (r["cell"], r["hidden"], r["batch"], r["seq"])
        if k not in order:
            order.append(k)
        rows.setdefault(k, {}).setdefault(t, {})["rnnlab"] = r
torch_sgemm = {}  # torch.mm 2048^3 at the most threads and at 1 (the peer's gemm section)
for r in json.load(open(f"{out}/torch-t{tmax}.json")).get("sgemm", []):
    if r["N"] == 2048:
        torch_sgemm = {tmax: r["torch"]["gflops"], 1: r.get("torch_1thread", {}).get("gflops", math.nan)}

def get(k, t, side, key):
    r = rows.get(k, {}).get(t, {}).get(side)
    if r is None:
        return math.nan
    if side == "torch":
        return r["train" if key == "train" else "fwd"]["tok_per_s"]
    return r["train_tokens_per_s" if key == "train" else "infer_tokens_per_s"]

def f(x):
    return "" if math.isnan(x) else f"{x:.0f}"

def q(x):
    return "" if math.isnan(x) else f"{x:.2f}"

with open(f"{out}/cores.csv", "w") as c:
    c.write("cell,hidden,batch,seq,threads,rnnlab_train_tok_s,torch_train_tok_s,train_ratio,"
            "rnnlab_fwd_tok_s,torch_fwd_tok_s,fwd_ratio,rnnlab_gflops\n")
    for k in order:
        for t in threads:
            rt, pt = get(k, t, "rnnlab", "train"), get(k, t, "torch", "train")
            rf, pf = get(k, t, "rnnlab", "fwd"), get(k, t, "torch", "fwd")
            g = rows[k].get(t, {}).get("rnnlab", {}).get("gflops", math.nan)
            c.write(f"{k[0]},{k[1]},{k[2]},{k[3]},{t},{rt:.1f},{pt:.1f},{rt / pt:.4f},{rf:.1f},{pf:.1f},{rf / pf:.4f},{g:.2f}\n")

b, cpu = info["blas"], info["cpu"]
md = []
md.append(f"Training tokens/s (char model, V = 65, T = 64, float32; median step), rnnlab against "
          f"PyTorch {torch_meta.get('torch', '?')} on {cpu['model_name']} (family {cpu['family']} model "
          f"{cpu['model']}, {cpu['cores_online']} cores online, {cpu['cores_allowed']} allowed).")
md.append("")
md.append(f"rnnlab's BLAS: {b['library']} {b['version']}, kernel {b['kernel_before']} at load -> "
          f"{b['kernel_after']} ({b['action']}). sgemm 2048^3 (GFLOP/s): OpenBLAS "
          + ", ".join(f"{sg[t]:.0f} at {t} thread{'s' if t > 1 else ''}" for t in sorted(sg))
          + ("; PyTorch " + ", ".join(f"{v:.0f} at {t} thread{'s' if t > 1 else ''}" for t, v in sorted(torch_sgemm.items()))
             if torch_sgemm else "") + ".")
md.append("")
head = "| cell | H | B |" + "".join(f" {t} thr rnnlab | PyTorch | ratio |" for t in threads)
head += f" rnnlab {threads[-1]}/{threads[0]} thr | PyTorch {threads[-1]}/{threads[0]} thr |"
md.append(head)
md.append("|---|---|---|" + "---|---|---|" * len(threads) + "---|---|")
for k in order:
    line = f"| {k[0]} | {k[1]} | {k[2]} |"
    for t in threads:
        rt, pt = get(k, t, "rnnlab", "train"), get(k, t, "torch", "train")
        line += f" {f(rt)} | {f(pt)} | {q(rt / pt)} |"
    r1, rn = get(k, threads[0], "rnnlab", "train"), get(k, threads[-1], "rnnlab", "train")
    p1, pn = get(k, threads[0], "torch", "train"), get(k, threads[-1], "torch", "train")
    line += f" {q(rn / r1)} | {q(pn / p1)} |"
    md.append(line)
open(f"{out}/cores.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
# stdin from /dev/null: PLplot without its drivers asks for a device there
if $RNNLAB plot scaling "$OUT/cores.csv" --out "$OUT/scaling.png" 2>"$OUT/plot.err" </dev/null; then
    rm -f "$OUT/plot.err"
    say "wrote $OUT/cores.md, $OUT/cores.csv, $OUT/scaling.png"
else
    # PLplot's drivers do not travel with a bundled rnnlab: plot where it is installed
    say "wrote $OUT/cores.md, $OUT/cores.csv; the figure failed ($(head -1 "$OUT/plot.err")): run
    build/rnnlab plot scaling $OUT/cores.csv --out $OUT/scaling.png"
fi
