#!/bin/sh
# recur view in a real browser: headless Chromium opens each page as
# PAGE.html#selftest, where the page's own script clicks through layer ->
# cell -> op -> gradients, hovers a parameter and searches, and writes
# PASS/FAIL lines into <pre id="selftest">; this reads them from the DOM
# Chromium dumps, and fails on any FAIL, a missing "SELFTEST DONE OK", an
# error the page recorded (window.onerror, console.error) or an uncaught
# error in Chromium's log. Each page is also written twice and compared
# byte for byte, and a screenshot is taken of it.
#
# usage: test_view_chromium.sh RECUR_EXE GOLDEN_MODELS_DIR
# Skips (exit 77) when Chromium is absent: README's install line brings it.
# Every Chromium run is under `timeout`, with no network and a fresh profile.
set -u
recur=$1
models=$2
browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
    echo "SKIP: no chromium on PATH (apt-get install chromium); the explorer page was not tested in a browser"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/recur-view-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Chromium must not reach the network: a dead proxy for everything, and no
# background services.
chrome() {
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
        --disable-extensions --disable-background-networking --disable-sync --disable-component-update \
        --proxy-server=127.0.0.1:9 \
        --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 "$@"
}

failed=0
run_case() { # name, then the arguments of recur view before -o
    name=$1
    shift
    page="$tmp/$name.html"
    if ! "$recur" view "$@" -o "$page"; then
        echo "FAIL $name: recur view $* failed"
        failed=1
        return
    fi
    "$recur" view "$@" -o "$tmp/$name.again.html" && cmp -s "$page" "$tmp/$name.again.html" ||
        { echo "FAIL $name: two runs of recur view $* differ"; failed=1; }
    if grep -q -e 'http' -e '<script src' -e '<link' "$page"; then
        echo "FAIL $name: the page is not self-contained:"
        grep -o -e '.\{0,40\}http.\{0,40\}' -e '<script src[^>]*>' -e '<link[^>]*>' "$page" | head -3
        failed=1
    fi
    chrome --virtual-time-budget=10000 --dump-dom "file://$page#selftest" >"$tmp/$name.dom" 2>"$tmp/$name.log"
    st=$?
    # The results are the text of <pre id="selftest"> (the script's own
    # source holds the words PASS and FAIL too, so only that element counts).
    sed -n '/<pre id="selftest"/,/<\/pre>/{p;/<\/pre>/q}' "$tmp/$name.dom" | sed 's/<pre id="selftest"[^>]*>//; s/<\/pre>//' \
        >"$tmp/$name.results"
    echo "== $name ($(wc -c <"$page") bytes): chromium exit $st"
    sed 's/^/   /' "$tmp/$name.results"
    if [ "$st" -ne 0 ] || grep -q '^FAIL' "$tmp/$name.results" || ! grep -q '^SELFTEST DONE OK' "$tmp/$name.results"; then
        echo "FAIL $name: the click-through did not pass"
        tail -5 "$tmp/$name.log"
        failed=1
    fi
    # Uncaught errors and console messages Chromium logs itself.
    if grep -E 'Uncaught|CONSOLE' "$tmp/$name.log" | grep -v 'SELFTEST' >"$tmp/$name.console"; then
        if [ -s "$tmp/$name.console" ]; then
            echo "FAIL $name: console messages:"
            head -5 "$tmp/$name.console"
            failed=1
        fi
    fi
    chrome --window-size=1200,800 --virtual-time-budget=5000 --screenshot="$tmp/$name.png" "file://$page" \
        >/dev/null 2>&1
    if [ ! -s "$tmp/$name.png" ]; then
        echo "FAIL $name: no screenshot"
        failed=1
    fi
}

for m in bidir_lstm_dense embedding_lstm_dense gru_lstm_dense; do
    run_case "$m" "$models/$m/model.keras"
done
run_case lstm_T100 --cell lstm --steps 100

if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "all pages passed their click-through in $($browser --version 2>/dev/null | head -1)"
exit 0
