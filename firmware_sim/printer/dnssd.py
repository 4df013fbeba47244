"""The system D-Bus and Avahi that ippeveprinter needs (CUPS 2.4 will not start without DNS-SD).

There is no systemd here, so :class:`DnssdServices` starts the daemons when none is running and
stops them afterwards, but only the ones it started, by process id. Several test sessions (or
``firmware-sim printer`` processes) may run at once: each registers (pid, token) in a shared record
under a file lock, and the daemons are stopped only when the last live user leaves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RECORD", "DnssdServices", "PrinterSimError"]

log = logging.getLogger(__name__)

_DBUS_SOCKET = Path("/run/dbus/system_bus_socket")
_DBUS_PID = Path("/run/dbus/pid")
_AVAHI_PID = Path("/run/avahi-daemon/pid")


def _record_path() -> Path:
    """The shared record sits where the daemons it counts users for do, in /run. Not under ``TMPDIR``: a
    process with its own ``TMPDIR`` (tests give one to the runs whose leftovers they check) kept a record
    of its own, started the daemons it found missing, and stopped them under every other user's feet
    (their ippeveprinter then exits, "Avahi server crashed"). A user who may not write /run cannot start
    system daemons either, so the temporary folder does for them."""
    if os.access("/run", os.W_OK):
        return Path("/run/myna-kiosk/dnssd.json")
    return Path(tempfile.gettempdir()) / "myna-kiosk-dnssd.json"


RECORD = _record_path()


class PrinterSimError(Exception):
    """The simulated printer (or the D-Bus/Avahi it needs) could not be started or controlled."""


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields from the third on (state, ppid, …), after the command name; [] when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (dead, not yet reaped by a parent that may never reap it) does not."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    fields = _stat(pid)
    return not fields or fields[0] != "Z"


def _started_at(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22); None when it is gone."""
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 else None


def _is_daemon(name: str, pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` is still the daemon ``name`` (started at ``started``, when known). Process ids come
    round again (every couple of minutes in a test suite when ``pid_max`` is 32768): a daemon that died
    leaves its number to the next process, which must not be taken for it, nor stopped in its place."""
    if not _alive(pid):
        return False
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm == name[:15] and (started is None or _started_at(pid) == started)


def _end(name: str, pid: int, grace: float = 5.0) -> None:
    """Stop a daemon and wait until it is gone, so that the next user, who takes the record's lock after
    us, never finds it still dying (it would be taken as running and not restarted). SIGKILL after
    ``grace`` seconds."""
    os.kill(pid, signal.SIGTERM)
    for sig in (signal.SIGKILL, None):
        until = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < until:
            time.sleep(0.02)
        if not _alive(pid):
            break
        if sig is None:
            log.warning("%s (pid %d) outlived SIGKILL by %.0f s", name, pid, grace)
            return
        log.warning("%s (pid %d) ignored SIGTERM for %.0f s: killed", name, pid, grace)
        os.kill(pid, sig)
    log.info("stopped %s (pid %d)", name, pid)


def _pid_in(pid_file: Path, name: str) -> int | None:
    """The process id in ``pid_file`` if the daemon ``name`` still runs under it."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _is_daemon(name, pid) else None


def _started_entry(name: str, pid: int) -> list[Any]:
    """The record's entry for a daemon just started: [name, pid, start time] (:func:`_is_daemon`)."""
    return [name, pid, _started_at(pid) or 0]


def _clean(record: object) -> dict[str, list[Any]]:
    """Well-formed entries only, and only users that are still alive (a crashed session drops out)."""
    raw = record if isinstance(record, dict) else {}
    users = raw.get("users") if isinstance(raw.get("users"), list) else []
    started = raw.get("started") if isinstance(raw.get("started"), list) else []
    return {
        "users": [
            user
            for user in users or ()
            if isinstance(user, list) and len(user) == 2 and isinstance(user[0], int) and _alive(user[0])
        ],
        "started": [  # [name, pid, start time]
            entry
            for entry in started or ()
            if isinstance(entry, list) and len(entry) == 3 and all(isinstance(e, int) for e in entry[1:])
        ],
    }


@contextlib.contextmanager
def _shared_record() -> Iterator[dict[str, list[Any]]]:
    """The users/daemons record, locked for the duration of the block."""
    RECORD.parent.mkdir(exist_ok=True)
    with open(RECORD.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            record = _clean(json.loads(RECORD.read_text()) if RECORD.exists() else {})
        except (OSError, ValueError):
            record = _clean({})
        yield record
        RECORD.write_text(json.dumps(record))


class DnssdServices:
    """Starts the system D-Bus and Avahi if they are not running; :meth:`stop` ends only those."""

    def __init__(self) -> None:
        # One entry per instance, not per process: a test session and a kiosk --sim run in the
        # same process must not unregister each other.
        self._me = [os.getpid(), uuid.uuid4().hex]

    def ensure(self) -> None:
        """Register this instance as a user; start what is missing. Raises PrinterSimError."""
        with _shared_record() as record:
            if self._me not in record["users"]:
                record["users"].append(self._me)
            self._start_missing(record)

    @classmethod
    def revive(cls) -> None:
        """Start again whichever daemon has gone away (Avahi may end under a user's feet: ippeveprinter then
        exits, "Avahi server crashed"), for the users already registered. Raises PrinterSimError."""
        with _shared_record() as record:
            cls._start_missing(record)

    @classmethod
    def _start_missing(cls, record: dict[str, list[Any]]) -> None:
        if not cls._dbus_running():
            record["started"].append(_started_entry("dbus-daemon", cls._start_dbus()))
        if _pid_in(_AVAHI_PID, "avahi-daemon") is None:
            record["started"].append(_started_entry("avahi-daemon", cls._start_avahi()))

    def stop(self) -> None:
        """Unregister; the last user stops the daemons that users of this record started (Avahi first)."""
        with _shared_record() as record:
            record["users"] = [user for user in record["users"] if user != self._me]
            if record["users"]:
                return
            for name, pid, started in reversed(record["started"]):
                if _is_daemon(name, pid, started):  # not a stranger that has its number now
                    with contextlib.suppress(ProcessLookupError):
                        _end(name, pid)
            record["started"] = []

    @staticmethod
    def _dbus_running() -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(_DBUS_SOCKET))
            except OSError:
                return False
        return True

    @staticmethod
    def _start_dbus() -> int:
        daemon = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
        _DBUS_SOCKET.parent.mkdir(parents=True, exist_ok=True)
        for stale in (_DBUS_SOCKET, _DBUS_PID):  # left by a daemon that died; they block a new one
            stale.unlink(missing_ok=True)
        done = subprocess.run(
            [daemon, "--system", "--fork", "--print-pid"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0 or not done.stdout.strip().isdigit():
            raise PrinterSimError(f"cannot start the system D-Bus: {done.stderr.strip()}")
        return int(done.stdout.strip())

    @staticmethod
    def _start_avahi() -> int:
        daemon = shutil.which("avahi-daemon") or "/usr/sbin/avahi-daemon"
        _AVAHI_PID.unlink(missing_ok=True)
        done = subprocess.run(
            [daemon, "-D", "--no-drop-root", "--no-rlimits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        for _ in range(50):
            pid = _pid_in(_AVAHI_PID, "avahi-daemon")
            if pid is not None:
                return pid
            time.sleep(0.1)
        raise PrinterSimError(f"cannot start avahi-daemon: {done.stderr.strip()}")
