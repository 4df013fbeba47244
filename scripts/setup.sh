#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (or a warm one): system packages, .venv, pcscd.
# Used by `make test`, `make demo` and `make bench`. Safe to run again; does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # PC/SC: pcscd with the vsmartcard virtual reader driver, headers to build pyscard, OpenSC for interop
  pcscd vsmartcard-vpcd libpcsclite-dev opensc pcsc-tools gcc swig
  # serial NFC interop (libnfc's nfc-list against the simulated PN532)
  libnfc-bin libnfc6 libnfc-examples
  # printing: CUPS's IPP Everywhere printer, which needs D-Bus + Avahi to start
  cups-ipp-utils avahi-daemon dbus
  # printing through a CUPS queue (tests run a private cupsd with an IPP Everywhere queue): scheduler,
  # lpadmin/cupsenable, the ipp backend and the PDF filters
  cups-daemon cups-client cups cups-filters
  # documents: PDF tools and a Japanese font
  poppler-utils fonts-ipaexfont-gothic fonts-ipaexfont-mincho
  openssl sqlite3
  # the kiosk PC's service: systemd-analyze verifies the unit, which runs the kiosk in the cage compositor
  systemd cage
  # touchscreen (kiosk/ui): Mesa for Kivy's off-screen SDL2 window; fonts for zh-Hans/ko (WenQuanYi) and vi (DejaVu)
  libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri fonts-wqy-microhei fonts-dejavu-core
  # the desktop tests (tests/kiosk/desktop): the real window on a virtual X display, real pointer and keys
  xvfb xdotool x11-utils
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing myna-kiosk into .venv (editable, with test and dev extras)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The touchscreen's gettext catalogs (.po in the repo → .mo; cheap, and only rewrites stale ones).
.venv/bin/python scripts/compile-catalogs.py

scripts/ensure-pcscd.sh
