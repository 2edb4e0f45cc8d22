#!/bin/sh
# The numbers the docs quote, made again from the docs' own commands.
#
#   tools/doc_numbers.sh              rewrite every block <!-- numbers: NAME --> ... <!-- /numbers -->
#                                     in docs/*.md from a fresh run of the docs' commands
#   tools/doc_numbers.sh --check      only check them (what `make test` does): exit 1 if one is stale
#   tools/doc_numbers.sh --demo-time [RNNLAB...]
#                                     time `rnnlab demo` (3 runs each, interleaved when given more
#                                     than one binary, e.g. an old and a new build) and print the times
#
# The blocks are made by tests/test_docs.c, the same code that checks them in
# `make test`: one way to make a number, so the docs cannot drift from it.
# Timings depend on the machine's load, so the demo's time in README.md,
# docs/demo.md and `rnnlab demo --help` is written by hand from --demo-time.
set -eu
B=${BUILD:-build}

if [ "${1:-}" = "--demo-time" ]; then
    shift
    [ $# -gt 0 ] || set -- "$B/rnnlab"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for round in 1 2 3; do
        for r in "$@"; do
            t0=$(date +%s.%N)
            "$r" demo --out "$tmp/demo" >/dev/null 2>&1
            t1=$(date +%s.%N)
            rm -rf "$tmp/demo"
            echo "$r demo, run $round: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
        done
    done
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

make -s "$B/rnnlab" "$B/rnnlab_tests"
if [ "${1:-}" = "--check" ]; then
    "$B/rnnlab_tests" --cli "$B/rnnlab" --fixtures tests/fixtures docs_commands_run_as_written
else
    RNNLAB_DOCS_REWRITE=1 "$B/rnnlab_tests" --cli "$B/rnnlab" --fixtures tests/fixtures docs_commands_run_as_written
    git diff --stat -- docs 2>/dev/null || true
fi
