#!/bin/sh
# Plays bundled kiosk scenarios headless: the virtual card behind real pcscd + vpcd, the mock center over
# mutual TLS, the ccTalk cash simulator and the IPP printer simulator. Printed pages go to out/kiosk/.
# Usage: scripts/demo-kiosk.sh [scenario ...]   (default: the 住民票 happy path and a printer jam with refund)
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
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
exit $status
