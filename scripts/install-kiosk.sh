#!/usr/bin/env bash
# Installs myna-kiosk on a Debian 12 kiosk PC (docs/installing.md), or into a scratch root for a check:
#   scripts/install-kiosk.sh [--root DIR] [--wheel FILE] [--no-system]
# What goes where (as a distribution would put it):
#   /opt/myna-kiosk/                  a virtual environment with the product (the wheel, its `ui` extra)
#   /etc/myna-kiosk/kiosk.toml        the store's configuration (from etc/kiosk.example.toml; kept if present)
#   /var/lib/myna-kiosk/              the journal and the hopper stock (0700, the kiosk's user)
#   /etc/systemd/system/myna-kiosk.service, /usr/lib/sysusers.d/myna-kiosk.conf
#   logs: the system journal (journalctl -u myna-kiosk)
# With --root, everything lands under DIR and nothing on the running system changes (no apt, no
# systemctl); --no-system skips apt and systemctl on the real root too. The stand-ins and the test
# harness are never installed here.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=""
WHEEL=""
SYSTEM=1
while (($#)); do
  case "$1" in
    --root) ROOT=$(realpath -m "$2"); SYSTEM=0; shift 2 ;;
    --wheel) WHEEL=$(realpath "$2"); shift 2 ;;
    --no-system) SYSTEM=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-kiosk: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
SYSTEM_PACKAGES=(pcscd libccid python3-venv cage fonts-ipaexfont-gothic fonts-wqy-microhei fonts-dejavu-core
  libgl1 libegl1 libgl1-mesa-dri poppler-utils)

if ((SYSTEM)); then
  [ "$(id -u)" = 0 ] || { echo "install-kiosk: run as root (or use --root DIR)" >&2; exit 2; }
  echo "install-kiosk: system packages: ${SYSTEM_PACKAGES[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${SYSTEM_PACKAGES[@]}" >/dev/null
fi

if [ -z "$WHEEL" ]; then
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  "$PY" -m pip wheel -q --no-deps --disable-pip-version-check -w "$build" . >/dev/null
  WHEEL=$(ls "$build"/myna_kiosk-*.whl)
fi

prefix="$ROOT/opt/myna-kiosk"
echo "install-kiosk: $prefix"
"$PY" -m venv --clear "$prefix"
"$prefix/bin/python" -m pip install -q --disable-pip-version-check "${WHEEL}[ui]"

install -d -m 0755 "$ROOT/etc/systemd/system" "$ROOT/usr/lib/sysusers.d" "$ROOT/usr/share/doc/myna-kiosk"
install -m 0644 packaging/systemd/myna-kiosk.service "$ROOT/etc/systemd/system/myna-kiosk.service"
install -m 0644 packaging/sysusers.d/myna-kiosk.conf "$ROOT/usr/lib/sysusers.d/myna-kiosk.conf"
install -m 0644 docs/installing.md etc/kiosk.example.toml "$ROOT/usr/share/doc/myna-kiosk/"

if ((SYSTEM)); then
  systemd-sysusers /usr/lib/sysusers.d/myna-kiosk.conf
else
  systemd-sysusers --root="${ROOT:-/}" "$ROOT/usr/lib/sysusers.d/myna-kiosk.conf" >/dev/null
fi

install -d -m 0750 "$ROOT/etc/myna-kiosk"
install -d -m 0700 "$ROOT/var/lib/myna-kiosk"
if [ ! -e "$ROOT/etc/myna-kiosk/kiosk.toml" ]; then
  install -m 0640 etc/kiosk.example.toml "$ROOT/etc/myna-kiosk/kiosk.toml"
  echo "install-kiosk: wrote $ROOT/etc/myna-kiosk/kiosk.toml from the example: edit it before starting"
else
  echo "install-kiosk: kept the existing $ROOT/etc/myna-kiosk/kiosk.toml"
fi
if ((SYSTEM)) || [ "$(id -u)" = 0 ]; then
  # files of the kiosk's user in the root (by the uid the root's own passwd gives it)
  uid=$(awk -F: '$1 == "myna-kiosk" {print $3}' "${ROOT:-}/etc/passwd")
  gid=$(awk -F: '$1 == "myna-kiosk" {print $4}' "${ROOT:-}/etc/passwd")
  chown "$uid:$gid" "$ROOT/var/lib/myna-kiosk"
  chown "0:$gid" "$ROOT/etc/myna-kiosk" "$ROOT/etc/myna-kiosk/kiosk.toml"
fi

if ((SYSTEM)); then
  systemctl daemon-reload
  systemctl enable myna-kiosk.service
  echo "install-kiosk: enabled myna-kiosk.service; edit /etc/myna-kiosk/kiosk.toml, then: systemctl start myna-kiosk"
fi
echo "install-kiosk: done"
