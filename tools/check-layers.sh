#!/bin/sh
# The library's layers (docs/design.md): src/ is in folders, each using only
# the folders before it in LAYERS. Checks both ways a file can use another:
# its #include lines, and the symbols its object file takes from the others
# (nm). Usage: tools/check-layers.sh BUILD_DIR (the objects of BUILD_DIR/src/).
# Prints each upward use and exits 1 if there is one.
set -eu
build=${1:-build}
LAYERS="base cells net analysis io train"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the includes: FILE LAYER-INCLUDED (a bare "x.h" other than rnnlab.h is an error of its own)
for f in src/*/*.c src/*/*.h src/*/*.S; do
    [ -f "$f" ] || continue
    sed -n "s|^#include \"\\([^\"]*\\)\".*|$f \\1|p" "$f"
done >"$tmp/includes"
# the symbols: DEFINED-SYMBOL LAYER OBJECT, and OBJECT LAYER UNDEFINED-SYMBOL
for o in "$build"/src/*/*.o; do
    l=$(basename "$(dirname "$o")")
    nm --defined-only "$o" | awk -v l="$l" -v o="$o" '$2 ~ /^[TDRB]$/ { print $3, l, o }' >>"$tmp/defs"
    nm --undefined-only "$o" | awk -v l="$l" -v o="$o" '{ print o, l, $NF }' >>"$tmp/uses"
done
ls -d src/*/ src/*.[ch] 2>/dev/null | sed 's|/$||' >"$tmp/entries"
awk -v layers="$LAYERS" '
    BEGIN { n = split(layers, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i }
    FILENAME ~ /entries$/ {
        name = $1; sub(/^src\//, "", name)
        if (!(name in rank)) { print "src/" name ": not one of the layers (" layers ")"; bad = 1 }
        next
    }
    FILENAME ~ /includes$/ {
        split($1, p, "/"); own = p[2]
        if ($2 !~ /\//) { if ($2 != "rnnlab.h") { print $1 " includes \"" $2 "\" without its layer folder"; bad = 1 } next }
        split($2, q, "/")
        if (!(q[1] in rank)) { print $1 " includes " $2 ", in no layer"; bad = 1 }
        else if (rank[q[1]] > rank[own]) { print $1 " includes " $2 ", a layer above its own (" own ")"; bad = 1 }
        next
    }
    FILENAME ~ /defs$/ { lay[$1] = $2; where[$1] = $3; next }
    FILENAME ~ /uses$/ {
        if (($3 in lay) && rank[lay[$3]] > rank[$2]) { print $1 " uses " $3 " of " where[$3] ", a layer above its own (" $2 ")"; bad = 1 }
        next
    }
    END {
        if (!bad) print "layers " layers ": no file includes or calls upward"
        exit bad
    }' "$tmp/entries" "$tmp/includes" "$tmp/defs" "$tmp/uses"
