#!/usr/bin/env bash
# `make demo` (card part): a virtual My Number card in pcscd's virtual reader, read with myna-reader.
# Run after scripts/setup.sh (make demo does that). Everything it makes is under out/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
OUT="$PWD/out"
CARD="$OUT/demo-card.json"
PKI="$OUT/pki"
VPCD_LOG="$OUT/demo-vpcd.log"
READER="Virtual PCD 00 00"
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

scripts/ensure-pcscd.sh

step "Create a demo card (test PKI in $PKI; auth PIN 1234, sign password ABC123)"
rm -f "$CARD"
"$BIN/firmware-sim" card new "$CARD" --pki "$PKI"

step "Insert it into pcscd's virtual reader \"$READER\" (firmware-sim vpcd)"
"$BIN/firmware-sim" vpcd "$CARD" >"$VPCD_LOG" 2>&1 &
VPCD_PID=$!
cleanup() {
  kill "$VPCD_PID" 2>/dev/null || true
  wait "$VPCD_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq 100); do
  if "$BIN/myna-reader" readers 2>/dev/null | grep -q "$READER  card"; then break; fi
  if ! kill -0 "$VPCD_PID" 2>/dev/null; then
    echo "demo: the virtual card process ended; see $VPCD_LOG" >&2
    exit 1
  fi
  sleep 0.1
done

step "myna-reader readers"
"$BIN/myna-reader" readers

step "myna-reader info"
"$BIN/myna-reader" info

step "echo 1234 | myna-reader verify   (the PIN comes from stdin, never from argv)"
echo 1234 | "$BIN/myna-reader" verify

step "echo 1234 | myna-reader sign --text \"hello\""
echo 1234 | "$BIN/myna-reader" sign --text "hello"

step "Where things are"
echo "card image:        $CARD   (PIN counters live here; firmware-sim card show $CARD)"
echo "test PKI:          $PKI"
echo "card process log:  $VPCD_LOG"
echo "try also:          echo 1234 | $BIN/myna-reader basic-info"
echo "                   $BIN/myna-reader info --json --reader 'pcsc://$READER'"
