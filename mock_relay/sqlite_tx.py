"""The center's SQLite write transaction: ``BEGIN IMMEDIATE`` (the write lock taken at once, so two API
processes never both read and then fail to upgrade), ``COMMIT``, or ``ROLLBACK`` on any error. The
ledger, the register and the shared controls each wrap it with their own lock and caches.

And the ledger's WAL checkpoints in a thread of their own (:class:`BackgroundCheckpoints`): SQLite's
automatic checkpoint runs inside whichever COMMIT fills the log to 1000 pages, copying them into the
database and syncing both files there and then, on the event loop that committed: 4-35 ms in one COMMIT
with the documents' stored answers in the ledger, once every dozen transactions or so.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BackgroundCheckpoints", "immediate_transaction"]

log = logging.getLogger(__name__)


@contextmanager
def immediate_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``db`` (opened with ``isolation_level=None``) inside BEGIN IMMEDIATE … COMMIT; ROLLBACK and the
    error re-raised when the block raises. The caller holds whatever lock orders its threads."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class BackgroundCheckpoints:
    """Checkpoints of the WAL database at ``path`` every ``interval_s`` from a daemon thread on a
    connection of its own, for a connection that turned its automatic checkpoints off (``PRAGMA
    wal_autocheckpoint=0``). The same checkpoint SQLite would run (PASSIVE: it never waits for readers or
    writers, and another process's checkpoint running already just skips this one), with the same
    syncs (``synchronous=NORMAL``: the log is synced before its pages are copied, the database after), so
    the log reaches the database as often or more often than before; only the thread differs (sqlite3
    releases the GIL while SQLite works)."""

    def __init__(self, path: Path, interval_s: float = 0.1) -> None:
        self._path, self._interval = path, interval_s
        self._stop = threading.Event()
        self.done = 0  #: checkpoints that copied something (for tests)
        self._thread = threading.Thread(target=self._run, name=f"checkpoint {path.name}", daemon=True)
        self._thread.start()

    @classmethod
    def take_over(cls, db: sqlite3.Connection, path: Path) -> BackgroundCheckpoints:
        """Turn off ``db``'s automatic checkpoints (``db`` is the connection to the WAL database at
        ``path``) and run them from a thread of their own instead. Raises sqlite3.Error."""
        db.execute("PRAGMA wal_autocheckpoint=0")
        return cls(path)

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("no background checkpoints for %s: %s", self._path, exc)
            return
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=100")
            while not self._stop.wait(self._interval):
                try:
                    busy, _frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # the file went away, or a lock held long: try again later
                    log.debug("checkpoint of %s: %s", self._path, exc)
                    continue
                if not busy and copied > 0:
                    self.done += 1
        finally:
            db.close()

    def stop(self) -> None:
        """Stop the thread (after the checkpoint it may be running); the connection's last checkpoint is
        then the closing connection's."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
