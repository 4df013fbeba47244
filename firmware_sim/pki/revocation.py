"""Durable revocation (and issuance) records of the test PKI: SQLite, WAL, synchronous=FULL.

Writes use one short-lived connection per call, under a process-wide lock per database file: safe from
the mock center's handler threads and from other processes (SQLite's own locking) alike. Reads (the OCSP
responder asks on every authentication) share one kept connection per store and process, which sees every
committed write of any connection (WAL readers start from the latest commit).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from cryptography import x509

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revoked (
    serial TEXT PRIMARY KEY,          -- upper-case hex, no leading zeros
    revoked_at TEXT NOT NULL,         -- ISO 8601, UTC
    reason TEXT NOT NULL              -- x509.ReasonFlags value
);
CREATE TABLE IF NOT EXISTS issued (
    serial TEXT PRIMARY KEY,
    kind TEXT NOT NULL,               -- auth | sign | ocsp-auth | ocsp-sign
    generation INTEGER NOT NULL,
    subject TEXT NOT NULL,
    not_after TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RevocationEntry:
    """One revoked certificate."""

    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


@dataclass(frozen=True)
class IssuedEntry:
    """One certificate this PKI issued (what an OCSP responder needs to tell "good" from "unknown")."""

    serial: int
    kind: str
    generation: int
    subject: str
    not_after: datetime


def serial_hex(serial: int) -> str:
    """Upper-case hex of a serial number, as card meta and the database store it."""
    return format(serial, "X")


class RevocationStore:
    """The revocation/issuance database in a PKI directory."""

    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._locks_guard:
            self._lock = self._locks.setdefault(path.resolve(), threading.Lock())
        self._reader: tuple[int, sqlite3.Connection] | None = None
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: set once per database
            db.executescript(_SCHEMA)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The kept read connection (a new one in a forked child: a connection never crosses a fork)."""
        with self._lock:
            if self._reader is None or self._reader[0] != os.getpid():
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                self._reader = (os.getpid(), db)
            yield self._reader[1]

    def close(self) -> None:
        """Close the kept read connection (writes keep none open)."""
        with self._lock:
            if self._reader is not None and self._reader[0] == os.getpid():
                self._reader[1].close()
            self._reader = None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                db.execute("PRAGMA synchronous=FULL")
                yield db
            finally:
                db.close()

    def revoke(self, serial: int, reason: x509.ReasonFlags, when: datetime) -> RevocationEntry:
        """Record a revocation; a second call for the same serial keeps the first record.

        Returns the entry in force. Raises ValueError for a non-positive serial or a naive datetime.
        """
        if serial <= 0:
            raise ValueError("certificate serial numbers are positive")
        if when.tzinfo is None:
            raise ValueError("revocation time must be timezone-aware")
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO revoked (serial, revoked_at, reason) VALUES (?, ?, ?)",
                (serial_hex(serial), when.astimezone(UTC).isoformat(), reason.value),
            )
            row = db.execute(
                "SELECT revoked_at, reason FROM revoked WHERE serial = ?", (serial_hex(serial),)
            ).fetchone()
        return RevocationEntry(serial, datetime.fromisoformat(row[0]), x509.ReasonFlags(row[1]))

    def status(self, serial: int) -> RevocationEntry | None:
        """The revocation record of ``serial``, or None if it is not revoked."""
        with self._read() as db:
            row = db.execute(
                "SELECT revoked_at, reason FROM revoked WHERE serial = ?", (serial_hex(serial),)
            ).fetchone()
        if row is None:
            return None
        return RevocationEntry(serial, datetime.fromisoformat(row[0]), x509.ReasonFlags(row[1]))

    def revoked_serials(self) -> frozenset[int]:
        """Every revoked serial."""
        with self._read() as db:
            rows = db.execute("SELECT serial FROM revoked").fetchall()
        return frozenset(int(row[0], 16) for row in rows)

    def record_issued(self, cert: x509.Certificate, kind: str, generation: int) -> None:
        """Remember an issued certificate (idempotent)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO issued (serial, kind, generation, subject, not_after, issued_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    serial_hex(cert.serial_number),
                    kind,
                    generation,
                    cert.subject.rfc4514_string(),
                    cert.not_valid_after_utc.isoformat(),
                    datetime.now(UTC).isoformat(),
                ),
            )

    def issued(self, serial: int) -> IssuedEntry | None:
        """The issuance record of ``serial``, or None if this PKI never issued it."""
        with self._read() as db:
            row = db.execute(
                "SELECT kind, generation, subject, not_after FROM issued WHERE serial = ?",
                (serial_hex(serial),),
            ).fetchone()
        if row is None:
            return None
        return IssuedEntry(serial, row[0], int(row[1]), row[2], datetime.fromisoformat(row[3]))
