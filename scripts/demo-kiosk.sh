#!/bin/sh
# Plays the bundled kiosk scenarios headless against the simulators; printed pages go to out/kiosk/.
# Usage: scripts/demo-kiosk.sh [scenario ...]   (default: every certificate type's happy path + a few failures)
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
SCENARIOS=${*:-"juminhyo inkan koseki_zenbu shotoku_kazei wrong_pin_once printer_jam cancel_while_paying"}
status=0
for s in $SCENARIOS; do
    echo "=== kiosk play $s"
    "$PY" -m kiosk.cli play "$s" --out out/kiosk || status=1
done
exit $status
