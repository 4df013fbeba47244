"""One kiosk per journal and per serial line: the locks a running kiosk holds (Linux, ``flock``).

``kiosk run``, ``kiosk diag --probe`` and ``kiosk diag --self-test`` open the devices (``RealKiosk``); each
first takes an exclusive lock on ``<journal>.lock`` (a file beside the journal, holding the holder's pid and
command line) and then one on each serial device it opens (the cash unit's port, a PN532 reader's port:
the device node itself, so two names of one port, e.g. a ``/dev/serial/by-id`` link, are one lock). A
second one refuses at once with ``InUse``, one line naming the holder: ``the journal … is in use by pid
1234 (python -m kiosk run --config …)``. The kernel drops the locks when the holder exits, however it
exits: there is nothing stale to clean up.

Not locked: reading the journal (``kiosk diag``, ``kiosk cash stock``) and the staff records (``kiosk
cash refill``, ``kiosk diag settle``), which SQLite serialises and the journal refuses while a
transaction is open; a pyserial URL port (``socket://``, ``rfc2217://``: no local device); the PC/SC
reader (pcscd arbitrates it) and the IPP printer (a network service with its own queue) — a second kiosk
on the same configuration is refused by the journal lock before it opens any of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DeviceLock", "Holder", "InUse", "hold_device", "hold_journal", "journal_lock_path"]

_PROC_LOCKS = Path("/proc/locks")


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: ``pid`` (None when it cannot be told) and its command line."""

    pid: int | None
    command: str

    def __str__(self) -> str:
        if self.pid is None:
            return self.command or "another process"
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


class InUse(Exception):
    """Another process holds ``what`` (the journal, a serial device); ``str()`` is one line naming it."""

    def __init__(self, what: str, holder: Holder) -> None:
        super().__init__(f"{what} is in use by {holder}")
        self.what, self.holder = what, holder


class DeviceLock:
    """An exclusive ``flock`` held on an open file until ``release()`` (idempotent; never raises)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        """Drop the lock (closing the descriptor drops it). Never raises."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def journal_lock_path(journal: Path) -> Path:
    """The lock file beside ``journal``: ``journal.sqlite`` -> ``journal.sqlite.lock``."""
    return journal.with_name(journal.name + ".lock")


def command_line(pid: int) -> str:
    """The command line of process ``pid``, its program by base name ("" if it cannot be read). Never
    raises."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [a.decode(errors="replace") for a in argv if a]
    if words:
        words[0] = os.path.basename(words[0])
    return " ".join(words)


def hold_journal(journal: Path) -> DeviceLock:
    """Lock the journal at ``journal`` for this process (its folder is created if missing) and write our
    pid and command line into the lock file. Raises InUse (naming the holder), OSError (the folder or
    the lock file cannot be made)."""
    path = journal_lock_path(journal)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    _lock_or_raise(fd, path, f"the journal {journal}", from_file=True)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command_line(os.getpid())}\n".encode(), 0)
    except OSError:
        pass  # the lock holds without the note; a refusal then names the holder from /proc/locks
    return DeviceLock(fd, path)


def hold_device(port: str, what: str) -> DeviceLock | None:
    """Lock the serial device node ``port`` (``what`` names it in a refusal, e.g. "the cash port
    /dev/ttyUSB0"). None when there is nothing local to lock: a pyserial URL, or a path that cannot be
    opened (the device's own check then says why). Raises InUse naming the holder."""
    if "://" in port:
        return None
    try:
        fd = os.open(port, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    _lock_or_raise(fd, Path(port), what, from_file=False)
    return DeviceLock(fd, Path(port))


def _lock_or_raise(fd: int, path: Path, what: str, *, from_file: bool) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = _holder(fd, from_file)
        finally:
            os.close(fd)
        raise InUse(what, holder) from None
    except OSError:
        os.close(fd)
        raise


def _holder(fd: int, from_file: bool) -> Holder:
    """Who holds the lock on the file open at ``fd``: /proc/locks says which pid (the kernel's word), the
    lock file's note what it runs where /proc cannot tell. Never raises."""
    note = _note(fd) if from_file else None
    try:
        st = os.fstat(fd)
        pid = _flock_pid(os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    except OSError:
        pid = None
    if pid is None:
        return note or Holder(None, "")
    command = command_line(pid) or (note.command if note is not None and note.pid == pid else "")
    return Holder(pid, command)


def _note(fd: int) -> Holder | None:
    """The ``pid command`` a holder wrote into its lock file, or None (none yet, unreadable)."""
    try:
        pid_text, _, command = os.pread(fd, 4096, 0).decode(errors="replace").strip().partition(" ")
        return Holder(int(pid_text), command)
    except (OSError, ValueError):
        return None


def _flock_pid(major: int, minor: int, inode: int) -> int | None:
    """The pid /proc/locks gives for a granted FLOCK on the inode, or None. Never raises."""
    try:
        lines = _PROC_LOCKS.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or "->" in fields:
            continue  # another kind of lock, or a waiter ("->") rather than the holder
        try:
            dev_major, dev_minor, ino = fields[5].split(":")
            if (int(dev_major, 16), int(dev_minor, 16), int(ino)) == (major, minor, inode):
                return int(fields[4])
        except ValueError:
            continue
    return None
