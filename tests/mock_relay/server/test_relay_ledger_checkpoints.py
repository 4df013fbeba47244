"""The serving center's ledger and register move their WAL into the database from a thread of their own,
never inside a COMMIT on the event loop (an automatic checkpoint there held the loop 4-35 ms)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path

from mock_relay.ledger import Ledger
from mock_relay.model import JST, CertType
from mock_relay.registry.store import Registry


def _count_in_the_database_file(path: Path, query: str, tmp_path: Path) -> int:
    """``query``'s count in the database file alone (a copy without its WAL: what was checkpointed)."""
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(path, copy)
    db = sqlite3.connect(copy)
    try:
        return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # not even the schema there yet
        return 0
    finally:
        db.close()


def _heartbeats_in_the_database_file(ledger: Ledger, tmp_path: Path) -> int:
    return _count_in_the_database_file(ledger.path, "SELECT COUNT(*) FROM heartbeats", tmp_path)


def test_the_log_reaches_the_database_from_the_checkpoint_thread(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", background_checkpoints=True)
    try:
        assert ledger._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # never in a COMMIT
        for i in range(20):  # far below the 1000 pages of an automatic checkpoint
            ledger.heartbeat(f"T-{i:04d}", "2026-01-05T10:00:00+09:00", {})
        deadline = time.monotonic() + 10
        while _heartbeats_in_the_database_file(ledger, tmp_path) < 20:
            assert time.monotonic() < deadline, "the log never reached the database"
            time.sleep(0.05)
    finally:
        ledger.close()


def test_without_background_checkpoints_the_commits_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        assert ledger._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        ledger.heartbeat("T-0001", "2026-01-05T10:00:00+09:00", {})
        time.sleep(0.3)
        assert _heartbeats_in_the_database_file(ledger, tmp_path) == 0  # still in the log only
    finally:
        ledger.close()


def test_the_serving_center_checkpoints_in_the_background(relay) -> None:
    assert relay.center.ledger._checkpoints is not None
    assert relay.center.ledger._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert relay.center.registry._checkpoints is not None


def test_the_registers_log_reaches_its_database_from_the_checkpoint_thread(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    registry = Registry(path, background_checkpoints=True)
    try:
        assert registry._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        registry.record_issue("C-001", CertType.JUMINHYO, datetime(2026, 1, 5, 10, 0, tzinfo=JST))
        query = "SELECT COUNT(*) FROM issues WHERE resident_id='C-001'"
        deadline = time.monotonic() + 10
        while _count_in_the_database_file(path, query, tmp_path) < 1:
            assert time.monotonic() < deadline, "the log never reached the database"
            time.sleep(0.05)
    finally:
        registry.close()
