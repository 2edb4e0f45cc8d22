#!/bin/sh
# Open the demo report in headless Chromium and take a screenshot: the page
# must render (a PNG of the full width, not blank). Needs Debian's chromium;
# installs it when run as root. Usage: tests/browser_check.sh [REPORT_DIR]
set -eu
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "browser_check: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
        exit 1
    fi
fi
dir=${1:-}
if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    build/rnnlab demo --quick --out "$dir" 2>/dev/null
fi
shot=$(mktemp -d)/report.png
profile=$(mktemp -d)
# no network, no first-run work: the page must stand alone
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --window-size=1280,4000 --screenshot="$shot" "file://$(realpath "$dir")/report.html" >/dev/null 2>&1 || true
if [ ! -s "$shot" ]; then
    echo "browser_check: FAILED: chromium wrote no screenshot" >&2
    exit 1
fi
# the screenshot must show the page: many non-white pixels, many colours
build/rnnlab_tests --png-stats "$shot" || { echo "browser_check: FAILED: the screenshot is blank" >&2; exit 1; }
echo "browser_check: ok: $shot"
