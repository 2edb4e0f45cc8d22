#!/bin/sh
# Soak test (not part of make test): train for MINUTES minutes with a
# checkpoint every 10 steps, interrupted and resumed every minute, sampling
# the resident memory of each process every 2 seconds. Fails if a process's
# memory grows by more than 10% between its 10th second and its end (a leak
# per step), or if a resume does not continue from the checkpoint.
# Usage: tests/soak.sh [MINUTES]   (default 5)
set -eu
cd "$(dirname "$0")/.."
R=${RNNLAB:-build/rnnlab}
minutes=${1:-5}
dir=$(mktemp -d)/run
args="--task text --seq-len 50 --cell lstm --hidden 64 --layers 2 --dropout 0.1 --batch 16 --steps 100000000
      --ckpt-every 10 --log-every 10 --flow-every 50 --eval-every 200 --eval-batches 2 --quiet"
end=$(( $(date +%s) + 60 * minutes ))
round=0
fail=0
while [ "$(date +%s)" -lt "$end" ]; do
    if [ $round -eq 0 ]; then $R train $args --out "$dir" 2>/dev/null & else $R train --resume "$dir" --quiet 2>/dev/null & fi
    pid=$!
    first="" last="" t=0
    while [ $t -lt 58 ] && kill -0 $pid 2>/dev/null; do
        sleep 2
        t=$((t + 2))
        rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status 2>/dev/null || true)
        [ -n "$rss" ] || continue
        [ $t -ge 10 ] && [ -z "$first" ] && first=$rss
        last=$rss
    done
    kill -INT $pid 2>/dev/null || true
    wait $pid || true
    step=$(grep -o '"step":[0-9]*' "$dir/metrics.jsonl" | tail -1 | cut -d: -f2)
    echo "round $round: step $step, resident memory ${first:-?} kB at 10 s, ${last:-?} kB at the end"
    if [ -n "$first" ] && [ -n "$last" ] && [ "$last" -gt $((first + first / 10)) ]; then
        echo "soak: FAILED: memory grew by more than 10% in round $round" >&2
        fail=1
    fi
    round=$((round + 1))
done
$R train --resume "$dir" --steps "$((step + 10))" --quiet 2>/dev/null || { echo "soak: FAILED: the last resume" >&2; exit 1; }
[ $fail -eq 0 ] && echo "soak: ok: $round rounds, memory flat"
exit $fail
