"""The center's SQLite write transaction: ``BEGIN IMMEDIATE`` (the write lock taken at once, so two API
processes never both read and then fail to upgrade), ``COMMIT``, or ``ROLLBACK`` on any error. The
ledger, the register and the shared controls each wrap it with their own lock and caches."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["immediate_transaction"]


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
