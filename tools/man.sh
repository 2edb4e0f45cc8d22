#!/bin/sh
# Man pages from the program's own --help, so that the two cannot drift:
# rnnlab.1 from `rnnlab --help`, and rnnlab-CMD.1 from `rnnlab CMD --help`
# for every command `rnnlab --help` lists, its NAME line from that list.
# Usage: tools/man.sh RNNLAB_PROGRAM VERSION OUTDIR
# The date is SOURCE_DATE_EPOCH's when set (reproducible builds), else today.
#
# The help texts' layout becomes man(7) markup: the usage lines the
# SYNOPSIS, the text before the first option the DESCRIPTION, "--flag ARG
# text" lines (and their deeper-indented continuations) tagged paragraphs
# under OPTIONS, a line ending in ':' after a blank or an option a
# subsection, other indented lines (tables) kept as they are (no fill).
set -eu
prog=$1 version=$2 out=$3
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
mkdir -p "$out"

page() { # NAME SUMMARY SEEALSO: the page of a help text on stdin
    awk -v name="$1" -v summary="$2" -v seealso="$3" -v date="$date" -v version="$version" '
    function esc(s) {
        gsub(/\\/, "\\e", s)
        if (s ~ /^[.'"'"']/) s = "\\&" s
        return s
    }
    function opt(s) { s = esc(s); gsub(/-/, "\\-", s); return s }
    function flush_pre() { if (pre) { print ".fi"; pre = 0 } }
    function section(s) { if (sect != s) { flush_pre(); print ".SH " s; sect = s; para = 0 } }
    # an option line "  --flag ARG   text": the tag is up to the first run of
    # two spaces; a tag that ran into its text (one space) keeps the flag
    # and a placeholder argument (ARG, A,B, b)
    function option(line,   tag, rest, n, w, i) {
        sub(/^ +/, "", line)
        if (match(line, /  +/)) { tag = substr(line, 1, RSTART - 1); rest = substr(line, RSTART + RLENGTH) }
        else { tag = line; rest = "" }
        n = split(tag, w, " ")
        if (n > 2) {
            tag = w[1]; i = 2
            if (w[2] ~ /^([A-Z][A-Z0-9_,.]*|[a-z])$/) { tag = tag " " w[2]; i = 3 }
            for (; i <= n; i++) rest = w[i] " " rest
        }
        n = split(tag, w, " ")
        printf ".TP\n\\fB%s\\fR", opt(w[1])
        if (n > 1) printf " \\fI%s\\fR", opt(w[2])
        printf "\n"
        if (rest != "") print text(rest)
    }
    # option text without the help'"'"'s column padding
    function text(s) { gsub(/  +/, " ", s); return esc(s) }
    BEGIN {
        upper = toupper(name); gsub(/-/, "\\-", upper)
        printf ".TH \"%s\" 1 \"%s\" \"rnnlab %s\" \"rnnlab manual\"\n", upper, date, version
        print ".nh"
        print ".ad l"
        print ".SH NAME"
        print opt(name) " \\- " esc(summary)
        state = "usage"
    }
    state == "usage" {
        if ($0 ~ /^$/) { state = "text"; sect = "SYNOPSIS"; next }
        if (NR == 1) print ".SH SYNOPSIS"
        line = $0; sub(/^usage: +/, "", line); sub(/^ +/, "", line)
        print opt(line); print ".br"
        next
    }
    /^$/ { flush_pre(); prev = "blank"; next }
    /^  -/ {
        section("OPTIONS"); option($0); prev = "opt"; next
    }
    /^    / && (prev == "opt" || prev == "cont") {
        line = $0; sub(/^ +/, "", line); print text(line); prev = "cont"; next
    }
    /^  / {
        if (sect == "SYNOPSIS") section("DESCRIPTION")
        if (!pre) { if (prev == "text") print ".PP"; print ".nf"; pre = 1 }
        print esc($0); prev = "pre"; next
    }
    /:$/ && (prev == "blank" || prev == "opt" || prev == "cont") && length($0) < 120 {
        h = $0; sub(/:$/, "", h)
        if (h == "commands") section("COMMANDS")
        else { section("OPTIONS"); print ".SS \"" esc(h) "\"" }
        prev = "head"; next
    }
    {
        if (sect == "SYNOPSIS") section("DESCRIPTION")
        flush_pre()
        if (prev == "blank" || prev == "opt" || prev == "cont" || prev == "pre") print ".PP"
        print esc($0); prev = "text"
    }
    END {
        flush_pre()
        print ".SH SEE ALSO"
        print seealso
    }'
}

"$prog" --help >"$out/.help"
cmds=$(sed -n '/^commands:/,/^$/p' "$out/.help" | awk 'NR > 1 && NF { print $1 }')
[ -n "$cmds" ] || { echo "man.sh: no commands in '$prog --help'" >&2; exit 1; }
all=""
for c in $cmds; do all="$all${all:+,
}.BR rnnlab\\-$c (1)"; done
page rnnlab "recurrent networks trained by backpropagation through time, and how the gradient flows back" \
    "$all" <"$out/.help" >"$out/rnnlab.1"
for c in $cmds; do
    summary=$(sed -n '/^commands:/,/^$/p' "$out/.help" | awk -v c="$c" '$1 == c { sub(/^ *[^ ]+ +/, ""); print }')
    "$prog" "$c" --help | page "rnnlab-$c" "$summary" ".BR rnnlab (1)" >"$out/rnnlab-$c.1"
done
rm -f "$out/.help"
