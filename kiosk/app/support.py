"""The support bundle of ``kiosk diag --export FILE``: what a support engineer needs, nothing personal.

``write_bundle`` writes a ``.tar.gz`` (mode 0600, written in place of FILE) holding:

* ``README.txt``: what the bundle holds, when it was made (JST);
* ``config.json``: the configuration as loaded, with the files it names (the terminal certificate's
  subject and expiry, each key file's path and mode: never a key's contents) and ``[staff]
  passcode_hash`` removed;
* ``versions.txt``: Python, the platform, myna-kiosk and every installed package;
* ``devices.txt``: the devices as probed (``--probe``, only with the kiosk stopped), else "not probed",
  the device faults the kiosk's journal booked to recent transactions, and the device lines of the
  recent logs (start-up checks, heartbeat, clock, faults);
* ``journal.txt``: the ``kiosk diag`` report of the kiosk's journal: open items, hoppers, recent
  transactions (ids, stages, yen, staff codes: the journal holds no personal data);
* ``logs.txt``: the recent logs: a log file given with ``--log-file``, else ``journalctl -u myna-kiosk
  -n 2000 --no-pager`` when journalctl can read the journal, else a line saying neither was available.

The kiosk's logs hold no PIN, name, address, My Number or document (``kiosk.flow.fieldlog``), and
neither does anything else here.
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography import x509

from kiosk.app.config import KioskConfig
from kiosk.staff.clock import staff_time
from kiosk.staff.status import DeviceStatus

__all__ = ["LOG_LINES", "device_lines", "journal_logs", "versions_text", "write_bundle"]

LOG_LINES = 2000  # the recent log lines a bundle holds
_JOURNALCTL = ("journalctl", "-u", "myna-kiosk", "-n", str(LOG_LINES), "--no-pager", "-o", "short-iso")
_DEVICE_WORDS = ("start-up", "cannot open", "heartbeat", "clock", "fault", "service", "printer", "card ")
_REMOVED = "(removed from the support bundle)"


def _file_facts(path: Path, *, certificate: bool) -> dict[str, Any]:
    """A file the configuration names: its path, whether it exists, its mode; a certificate's subject and
    expiry. Never reads a key. Never raises."""
    facts: dict[str, Any] = {"path": str(path)}
    try:
        st = path.stat()
    except OSError as exc:
        return {**facts, "exists": False, "error": exc.strerror or type(exc).__name__}
    facts.update(exists=True, mode=f"{stat.S_IMODE(st.st_mode):04o}", size=st.st_size)
    if certificate:
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
            facts["certificates"] = [
                {"subject": c.subject.rfc4514_string(), "not_after": c.not_valid_after_utc.isoformat()}
                for c in certs
            ]
        except (OSError, ValueError, x509.InvalidVersion) as exc:
            facts["error"] = f"{type(exc).__name__}: {exc}"
    return facts


def config_facts(config: KioskConfig) -> dict[str, Any]:
    """The configuration for the bundle: every value, the files it names described (a key by its path and
    mode only), the staff passcode hash removed. Never raises."""
    out: dict[str, Any] = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "staff_passcode_hash":
            out[f.name] = None if value is None else _REMOVED
        elif f.name == "terminal_key":
            out[f.name] = _file_facts(value, certificate=False)
        elif f.name in ("terminal_cert", "center_ca", "jpki_ca_bundle") and value is not None:
            out[f.name] = _file_facts(value, certificate=True)
        elif f.name == "timeouts":
            out[f.name] = {k: v for k, v in asdict(value).items() if k != "interactive"}
        elif f.name == "cash_hoppers":
            out[f.name] = [{"address": int(h.address), "coin": h.coin, "capacity": h.capacity} for h in value]
        else:
            out[f.name] = str(value) if isinstance(value, Path) else value
    return out


def versions_text() -> str:
    """Python, the platform, myna-kiosk's version and every installed distribution. Never raises."""
    try:
        ours = metadata.version("myna-kiosk")
    except metadata.PackageNotFoundError:
        ours = "not installed (run from a source tree)"
    names = sorted(
        {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]},
        key=str.lower,
    )
    head = [
        f"myna-kiosk {ours}",
        f"python {sys.version.split()[0]} ({sys.executable})",
        f"platform {platform.platform()}",
        "",
        "packages:",
    ]
    return "\n".join(head + [f"  {n}" for n in names]) + "\n"


def journal_logs(
    log_file: Path | None,
    *,
    run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]] | None = None,
) -> tuple[str, str]:
    """(where from, the recent log text): the last ``LOG_LINES`` lines of ``log_file``, else
    ``journalctl -u myna-kiosk``'s, else an empty text and why. Never raises."""
    if log_file is not None:
        try:
            lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            return f"log file {log_file}: {exc.strerror or exc}", ""
        return f"log file {log_file}", "\n".join(lines[-LOG_LINES:]) + "\n"
    if run is None and shutil.which("journalctl") is None:
        return "no journalctl on this machine and no --log-file", ""
    runner = run or _run
    try:
        done = runner(list(_JOURNALCTL))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{' '.join(_JOURNALCTL)}: {exc}", ""
    if done.returncode != 0 or not done.stdout.strip() or done.stdout.strip() == "-- No entries --":
        why = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        return f"{' '.join(_JOURNALCTL)}: no entries ({why})", ""
    return " ".join(_JOURNALCTL), done.stdout


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def device_lines(log_text: str) -> list[str]:
    """The log lines about devices: start-up checks, the heartbeat, the clock, faults, service state,
    printer and card events. Never raises."""
    return [line for line in log_text.splitlines() if any(word in line for word in _DEVICE_WORDS)]


def _devices_text(probed: Sequence[DeviceStatus] | None, faults: Sequence[str], log_text: str) -> str:
    out = ["PROBED"]
    if probed is None:
        out.append("  not probed (the kiosk may be running; kiosk diag --export FILE --probe, kiosk stopped)")
    out += [f"  {d.device}: {'ok' if d.ok else 'FAILED'}: {d.detail}" for d in probed or ()]
    out.append("FAULTS IN THE KIOSK'S JOURNAL (recent transactions)")
    out += [f"  {line}" for line in faults] or ["  none"]
    out.append("FROM THE RECENT LOGS")
    out += [f"  {line}" for line in device_lines(log_text)[-200:]] or ["  none"]
    return "\n".join(out) + "\n"


def write_bundle(
    path: Path,
    *,
    config: KioskConfig | None,
    report: Sequence[str],
    probed: Sequence[DeviceStatus] | None,
    logs: tuple[str, str],
    faults: Sequence[str] = (),
    now: datetime | None = None,
) -> Path:
    """Write the bundle to ``path`` (mode 0600, replacing a file there) and return it. ``report`` is the
    ``kiosk diag`` report, ``probed`` the probed devices (None: not probed), ``logs`` (where from, text)
    from ``journal_logs``, ``faults`` the journal's device fault lines. Raises OSError if the file cannot
    be written."""
    made = now or datetime.now(UTC)
    source, log_text = logs
    members = {
        "README.txt": _readme(made, config, source),
        "config.json": json.dumps(config_facts(config) if config else None, indent=2, ensure_ascii=False),
        "versions.txt": versions_text(),
        "devices.txt": _devices_text(probed, faults, log_text),
        "journal.txt": "\n".join(report) + "\n",
        "logs.txt": log_text or f"no logs: {source}\n",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        os.fchmod(raw.fileno(), 0o600)  # a file that was there keeps no wider mode
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, text in members.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"kiosk-support/{name}")
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
    return path


def _readme(made: datetime, config: KioskConfig | None, source: str) -> str:
    where = config.source if config and config.source else "(a journal given directly)"
    return (
        f"myna-kiosk support bundle, made {staff_time(made, '%Y-%m-%d %H:%M:%S')}\n"
        f"configuration: {where}\n"
        f"logs from: {source}\n\n"
        "config.json   the configuration; key files by path and mode only, the staff passcode hash removed\n"
        "versions.txt  python, platform, myna-kiosk and installed packages\n"
        "devices.txt   devices as probed (--probe, kiosk stopped) and device lines from the logs\n"
        "journal.txt   open items, hoppers, recent transactions (ids, yen, staff codes)\n"
        "logs.txt      the recent logs\n\n"
        "No PIN, name, address, My Number or document is in this bundle.\n"
    )
