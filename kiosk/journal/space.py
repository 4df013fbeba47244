"""Space kept for the journal's last records, so that a full disk never costs a journaled record.

Two reserves are made as the journal opens: a filler row in ``journal_reserve`` (``RESERVE_BYTES`` of
database pages) and a file beside the journal, ``<journal>.reserve`` (``RESERVE_FILE_BYTES`` of the
filesystem, which the write-ahead log needs to grow). When a write fails because the disk (or the
database's page limit) is full, ``Journal`` spends them: it deletes the file, deletes the row in the same
SQLite transaction as a ``disk_full`` incident for staff (the freed pages take it), and writes again.
From then on the journal is *out of space*: the flow finishes or refunds the transaction in progress
(its records fit in what was freed) and starts no new one, the start screen sends residents away and
staff see the incident (J02) until they free space and restart the kiosk, which makes the reserves
again. A journal whose free room falls below ``LOW_WATER`` spends its reserve the same way before a
write fails (checked as each transaction starts and before it takes money).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

__all__ = [
    "LOW_WATER",
    "RESERVE_BYTES",
    "RESERVE_FILE_BYTES",
    "ensure_reserve",
    "headroom",
    "is_full",
    "release",
    "reserve_file",
    "reserve_present",
]

RESERVE_BYTES = 64 * 1024  # database pages for the records of the transaction in progress
RESERVE_FILE_BYTES = 1024 * 1024  # filesystem room for the write-ahead log to grow into
LOW_WATER = 64 * 1024  # less room than this and no new transaction starts


def reserve_file(journal: Path) -> Path:
    """The reserve file beside ``journal``."""
    return journal.with_name(journal.name + ".reserve")


def is_full(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed because the disk or the page limit is full."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def reserve_present(db: sqlite3.Connection) -> bool:
    """Whether the filler row is in place. Raises sqlite3.Error."""
    return db.execute("SELECT 1 FROM journal_reserve WHERE slot=1").fetchone() is not None


def _make_file(path: Path) -> bool:
    try:
        if path.is_file() and path.stat().st_size >= RESERVE_FILE_BYTES:
            return True
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, RESERVE_FILE_BYTES)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # this filesystem cannot preallocate
                    raise
                os.pwrite(fd, bytes(RESERVE_FILE_BYTES), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    return True


def ensure_reserve(db: sqlite3.Connection, journal: Path) -> bool:
    """Make both reserves if missing. Returns whether they are in place (False: the disk is full; the
    journal is out of space). ``db`` is in autocommit mode. Raises sqlite3.Error for anything but a full
    disk."""
    if not _make_file(reserve_file(journal)):
        return False
    if reserve_present(db):
        return True
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO journal_reserve(slot, filler) VALUES (1, zeroblob(?))", (RESERVE_BYTES,))
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if is_full(exc):
            return False
        raise
    return True


def headroom(db: sqlite3.Connection, journal: Path) -> int:
    """Bytes the journal can still grow by: free pages inside it plus what the page limit and the
    filesystem allow. Raises sqlite3.Error."""
    page = int(db.execute("PRAGMA page_size").fetchone()[0])
    count = int(db.execute("PRAGMA page_count").fetchone()[0])
    limit = int(db.execute("PRAGMA max_page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0]) * page
    try:
        st = os.statvfs(journal.parent)
        disk = st.f_bavail * st.f_frsize
    except OSError:
        disk = 0
    return free + min((limit - count) * page, disk)


def release(db: sqlite3.Connection, journal: Path, statement: tuple[str, tuple[object, ...]]) -> None:
    """Spend both reserves: delete the file, then the filler row in one SQLite transaction with
    ``statement`` (the incident for staff). Raises sqlite3.Error (nothing written)."""
    with contextlib.suppress(OSError):
        reserve_file(journal).unlink()
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM journal_reserve")
        db.execute(*statement)
        db.execute("COMMIT")
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
