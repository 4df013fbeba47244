#!/bin/sh
# Plays bundled kiosk scenarios headless: the virtual card behind real pcscd + vpcd, the mock center over
# mutual TLS, the ccTalk cash simulator and the IPP printer simulator. Printed pages go to out/kiosk/.
# Then the same resident at `kiosk run --config` on a test bench: `kiosk-harness bench up out/bench`
# starts the simulators as a separate process and writes out/bench/kiosk.toml; the kiosk opens on them
# with its control socket; `kiosk-harness drive` plays juminhyo through it.
# Usage: scripts/demo-kiosk.sh [scenario ...]   (default: the 住民票 happy path and a printer jam with refund)
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SCENARIOS=${*:-"juminhyo printer_jam"}
status=0
for s in $SCENARIOS; do
    printf '\n\033[1m== kiosk-harness play %s --reader pcsc\033[0m\n' "$s"
    "$PY" -m harness play "$s" --reader pcsc --out out/kiosk || status=1
done
printf '\n\033[1m== The printed certificates\033[0m\n'
for d in out/kiosk/*/; do
    [ -d "$d" ] || continue
    n=$(ls "$d" | wc -l)
    echo "$d: $n page(s) as PDF  (pdftotext $(ls "$d" | head -1 | sed "s|^|$d|") - | head)"
done

# --- the same resident at a kiosk on its own devices ------------------------------------------------------
wait_for() {  # wait_for FILE TEXT: until a line of FILE starts with TEXT (60 s)
    i=0
    until grep -q "^$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le 600 ] || { echo "demo: no '$2' in $1"; cat "$1"; return 1; }
        sleep 0.1
    done
}
printf '\n\033[1m== kiosk-harness bench up out/bench; kiosk run --config out/bench/kiosk.toml --headless\033[0m\n'
mkdir -p out/bench
"$PY" -m harness bench up out/bench >out/bench.log 2>&1 &
bench=$!
kiosk=""
trap 'kill -TERM $kiosk $bench 2>/dev/null || true' EXIT INT TERM
if wait_for out/bench.log "bench ready"; then
    "$PY" -m kiosk run --config out/bench/kiosk.toml --headless >out/bench-kiosk.log 2>&1 &
    kiosk=$!
    if wait_for out/bench-kiosk.log "kiosk open"; then
        grep '^start-up' out/bench-kiosk.log
        printf '\n\033[1m== kiosk-harness drive --socket out/bench/kiosk.sock --bench out/bench/bench.sock juminhyo\033[0m\n'
        "$PY" -m harness drive --socket out/bench/kiosk.sock --bench out/bench/bench.sock juminhyo || status=1
    else
        status=1
    fi
else
    status=1
fi
kill -TERM $kiosk $bench 2>/dev/null || true
wait 2>/dev/null || true
trap - EXIT INT TERM
exit $status
