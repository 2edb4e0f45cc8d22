#!/bin/sh
# Run a command (the tests) under a hostile environment: the variables that
# could change what rnnlab, OpenBLAS or a terminal do, all set to unhelpful
# values, a home that does not exist, a temporary folder with a space in its
# path, and a umask that lets no one else read. The tests must pass anyway
# (tests/main.c gives every test a pinned environment).
# Usage: sh tools/hostile-env.sh make test
# The de_DE.UTF-8 locale (a decimal comma) is generated when run as root and
# missing; otherwise the command runs with LC_ALL naming a locale the C
# library does not have, which is hostile too.
set -eu
if [ "$(id -u)" = 0 ] && ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
    command -v locale-gen >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq locales >/dev/null
    if [ -f /etc/locale.gen ]; then
        sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
        grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >>/etc/locale.gen
        locale-gen >/dev/null
    fi
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab hostile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tmp dir"
umask 077
env OPENBLAS_CORETYPE="${HOSTILE_CORETYPE:-Prescott}" OPENBLAS_NUM_THREADS=3 OMP_NUM_THREADS=5 GOTO_NUM_THREADS=4 \
    LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 TERM=dumb COLUMNS=20 LINES=5 HOME="$tmp/no such home" \
    TMPDIR="$tmp/tmp dir" RNNLAB_KERNEL=none RNNLAB_PROFILE=1 RNNLAB_STEP_MIN_WORK=1 "$@"
