#!/bin/sh
# make installcheck: install into temporary folders and check what is there.
# 1. make install PREFIX=/usr/local DESTDIR=D: the files expected, and make
#    uninstall leaves no file or link behind (empty folders stay).
# 2. librnnlab.so exports the functions and tables of rnnlab.h and nothing else (nm -D).
# 3. make install PREFIX=P: the examples built with
#    `pkg-config --cflags --libs rnnlab` (shared) and with --static (the
#    static library and Libs.private/Requires.private), and run.
# 4. every man page renders without a warning (man -l, groff -ww).
set -eu
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_check: FAILED: $*" >&2; exit 1; }

stage=$tmp/stage
$MAKE -s install PREFIX=/usr/local DESTDIR="$stage" >/dev/null
(cd "$stage" && find . \( -type f -o -type l \) | sort) >"$tmp/files"
version=$(sed -n 's/^#define RL_VERSION_STRING "\(.*\)"/\1/p' include/rnnlab.h)
for f in bin/rnnlab bin/rnnlab-mpi lib/librnnlab.a lib/librnnlab.so lib/librnnlab.so.0 "lib/librnnlab.so.$version" \
         lib/pkgconfig/rnnlab.pc include/rnnlab.h share/man/man1/rnnlab.1 share/man/man1/rnnlab-train.1 \
         share/man/man1/rnnlab-jacobian.1 share/doc/rnnlab/README.md share/doc/rnnlab/docs/python.md \
         share/doc/rnnlab/examples/train.c share/doc/rnnlab/examples/jacobian.c \
         share/doc/rnnlab/examples/sweeps/edge-of-chaos.sweep share/doc/rnnlab/docs/scaling.md; do
    grep -qx "./usr/local/$f" "$tmp/files" || fail "make install did not install $f"
done
[ "$(readlink "$stage/usr/local/lib/librnnlab.so")" = librnnlab.so.0 ] || fail "librnnlab.so is not a link to the soname"
[ "$(readlink "$stage/usr/local/lib/librnnlab.so.0")" = "librnnlab.so.$version" ] || fail "librnnlab.so.0 -> ?"
echo "install_check: make install DESTDIR: $(wc -l <"$tmp/files") files and links"
$MAKE -s uninstall PREFIX=/usr/local DESTDIR="$stage" >/dev/null
left=$(cd "$stage" && find . \( -type f -o -type l \))
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install_check: make uninstall: nothing left"

so=build/librnnlab.so.$version
readelf -d "$so" | grep -q "SONAME.*\[librnnlab.so.0\]" || fail "the soname is not librnnlab.so.0"
nm -D --defined-only "$so" | awk '{ print $3 }' | sort >"$tmp/exported"
grep -v '^rl_' "$tmp/exported" >"$tmp/stray" && fail "exported without the rl_ prefix: $(cat "$tmp/stray")"
{ grep -oE '\brl_[a-z0-9_]+\(' include/rnnlab.h | tr -d '('
  sed -n 's/^extern const [a-z_]* \(rl_[a-z0-9_]*\);.*/\1/p' include/rnnlab.h; } | sort -u >"$tmp/declared"
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
[ -z "$missing" ] || fail "declared in rnnlab.h but not exported: $missing"
[ -z "$extra" ] || fail "exported but not in rnnlab.h: $extra"
echo "install_check: librnnlab.so exports the $(wc -l <"$tmp/exported") functions and tables of rnnlab.h and nothing else"

prefix=$tmp/prefix
$MAKE -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion rnnlab)" = "$version" ] || fail "pkg-config --modversion rnnlab"
for ex in train jacobian; do
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -o "$tmp/$ex" "examples/$ex.c" $(pkg-config --cflags --libs rnnlab) ||
        fail "examples/$ex.c does not build with pkg-config --cflags --libs rnnlab"
    # the static library: librnnlab.a and what pkg-config --static adds
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -o "$tmp/$ex-static" "examples/$ex.c" $(pkg-config --cflags rnnlab) \
        "$prefix/lib/librnnlab.a" $(pkg-config --static --libs rnnlab | sed 's/ -lrnnlab / /') ||
        fail "examples/$ex.c does not build with pkg-config --static"
    readelf -d "$tmp/$ex-static" | grep -q librnnlab && fail "$ex-static needs librnnlab.so"
done
LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/train" | grep -q "$prefix/lib/librnnlab.so.0" || fail "train does not load the installed library"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/train" "$tmp/m.safetensors" >"$tmp/train.out" || fail "examples/train failed"
grep -q "^saved" "$tmp/train.out" || fail "examples/train saved nothing"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/jacobian" "$tmp/m.safetensors" 30 >"$tmp/jac.out" || fail "examples/jacobian failed"
"$tmp/jacobian-static" "$tmp/m.safetensors" 30 | cmp -s - "$tmp/jac.out" || fail "the static jacobian example differs"
"$prefix/bin/rnnlab" grad --help >/dev/null || fail "the installed rnnlab does not run"
sed -n 1,2p "$tmp/jac.out" | sed 's/^/install_check: examples: /'

n=0
for page in "$prefix"/share/man/man1/*.1; do
    w=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null) || fail "man -l $page"
    [ -z "$w" ] || fail "man -l $(basename "$page"): $w"
    w=$(groff -ww -z -man "$page" 2>&1)
    [ -z "$w" ] || fail "groff -ww $(basename "$page"): $w"
    n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "only $n man pages"
echo "install_check: $n man pages render without warnings"
$MAKE -s uninstall PREFIX="$prefix" >/dev/null
left=$(cd "$prefix" && find . \( -type f -o -type l \))
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install_check: passed"
