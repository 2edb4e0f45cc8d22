#!/bin/sh
# No function of the program is longer than LIMIT lines (issue 23: cli/
# keeps parsing, printing and drawing, in functions one can read whole).
# A function is counted from its signature's last line to the closing brace
# at column 0. Usage: tools/check-functions.sh DIR LIMIT (DIR's *.c, in
# every folder below it). Prints each longer one and exits 1 if there is one.
set -eu
dir=${1:-cli} limit=${2:-100}
find "$dir" -name '*.c' | sort | xargs awk -v lim="$limit" '
    FNR == 1 { infn = 0 }
    /^[a-zA-Z_]/ && !/^\{/ { last = $0; lastline = FNR }
    /^\{/ { start = FNR; name = last; infn = 1; next }
    /^\}/ && infn {
        len = FNR - start + 2
        if (len > lim) { printf "%s:%d: %s is %d lines (at most %d)\n", FILENAME, lastline, name, len, lim; bad = 1 }
        if (len > longest) longest = len
        infn = 0
    }
    END {
        if (!bad) printf "functions of %s: none over %d lines (the longest %d)\n", dir, lim, longest
        exit bad
    }' dir="$dir"
