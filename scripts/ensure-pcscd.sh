#!/usr/bin/env bash
# Start pcscd (with the vpcd virtual readers) when none is running. No systemd here.
set -euo pipefail
sock=/run/pcscd/pcscd.comm
if pgrep -x pcscd >/dev/null 2>&1 && [ -S "$sock" ]; then
  exit 0
fi
if [ ! -e /etc/reader.conf.d/vpcd ]; then
  echo "ensure-pcscd: vsmartcard-vpcd is not installed (no /etc/reader.conf.d/vpcd)" >&2
  exit 1
fi
# A pcscd killed a moment ago may not be reaped yet: wait for it to go.
for _ in $(seq 50); do pgrep -x pcscd >/dev/null 2>&1 || break; sleep 0.1; done
mkdir -p /run/pcscd
# Never --auto-exit: it quits a minute after the last client even with a card present.
pcscd
for _ in $(seq 100); do [ -S "$sock" ] && exit 0; sleep 0.05; done
echo "ensure-pcscd: pcscd did not create $sock" >&2
exit 1
