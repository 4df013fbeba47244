"""The journal's schema versions and the migrations between them (SQLite ``PRAGMA user_version``).

One version number covers the whole journal file: the transactions, the hoppers' stock log, the staff
records and the cash state live in it together. Version 1 is the oldest layout a kiosk ever wrote; each
later version is one migration. A journal written before versions were kept (``user_version`` 0, any
layout 1-7) is brought forward by running every migration from 1 on: each one only adds what is
missing, so it is harmless where its change is already there.

``migrate`` runs in ONE SQLite transaction (DDL is transactional in SQLite, and so is
``user_version``): a crash or an error part way leaves the journal at its old version, every record
intact; the next start tries again. A journal of a higher version than this kiosk knows is refused
(``JournalTooNew``) before anything is written to it; so is a file SQLite cannot read
(``JournalDamaged``): the kiosk never overwrites either.

Versions:
1. txn, idem, money, document, fault (the first journal);
2. discrepancy (center/kiosk refund figures, M04);
3. hopper_log (the hoppers' stock, ``kiosk.journal.hopper_stock``);
4. staff_action (items staff closed, ``kiosk.journal.staff_actions``);
5. txn.cert_type;
6. document.printer_job;
7. cash_counter and cash_till (``kiosk.journal.cash_state``), the till seeded from a transaction paying;
8. journal_incident (what the journal itself tells staff: a power cut cost its last write, the disk
   filled) and journal_reserve (the space kept for the last records, ``kiosk.journal.space``);
9. staff_passcode (the staff passcode guard's count of wrong codes and its lockout, kept across restarts,
   ``kiosk.journal.staff_actions``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from kiosk.journal.cash_state import CASH_SCHEMA
from kiosk.journal.errors import JournalDamaged, JournalTooNew, JournalWriteError
from kiosk.journal.records import HOPPER_SCHEMA
from kiosk.journal.staff_actions import PASSCODE_SCHEMA, STAFF_SCHEMA

__all__ = ["MIGRATIONS", "Migration", "check_readable", "latest", "migrate", "read_version", "statements"]

Migration = Callable[[sqlite3.Connection], None]

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS txn(
  id TEXT PRIMARY KEY, started_at TEXT NOT NULL, updated_at TEXT NOT NULL, stage TEXT NOT NULL,
  session_id TEXT, order_id TEXT, fee INTEGER NOT NULL DEFAULT 0,
  report_status TEXT NOT NULL DEFAULT 'none', refund_owed INTEGER NOT NULL DEFAULT 0,
  outcome TEXT, staff_code TEXT, finished INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS idem(txn_id TEXT NOT NULL, name TEXT NOT NULL, key TEXT NOT NULL,
  PRIMARY KEY(txn_id, name));
CREATE TABLE IF NOT EXISTS money(event_id TEXT PRIMARY KEY, txn_id TEXT NOT NULL, kind TEXT NOT NULL,
  yen INTEGER NOT NULL, source TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS document(document_id TEXT PRIMARY KEY, txn_id TEXT NOT NULL,
  item_index INTEGER NOT NULL, copy_index INTEGER NOT NULL, unit_fee INTEGER NOT NULL,
  pages INTEGER NOT NULL, state TEXT NOT NULL, pages_printed INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS fault(event_id TEXT PRIMARY KEY, txn_id TEXT NOT NULL, kind TEXT NOT NULL,
  device TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL);
"""

DISCREPANCY_SCHEMA = """
CREATE TABLE IF NOT EXISTS discrepancy(txn_id TEXT NOT NULL, kind TEXT NOT NULL, center_yen INTEGER NOT NULL,
  kiosk_yen INTEGER NOT NULL, staff_code TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(txn_id, kind));
"""

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_incident(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  txn_id TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal_reserve(slot INTEGER PRIMARY KEY CHECK (slot = 1), filler BLOB NOT NULL);
"""


def statements(script: str) -> list[str]:
    """The SQL statements of ``script``, one by one (``executescript`` would commit on its own)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _script(script: str) -> Migration:
    def run(db: sqlite3.Connection) -> None:
        for statement in statements(script):
            db.execute(statement)

    return run


def _add_column(table: str, column: str, kind: str) -> Migration:
    def run(db: sqlite3.Connection) -> None:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    return run


# version -> the migration that brings a journal of the version before up to it (1: a new journal).
# Every one is idempotent (adds only what is missing): journals written before versions were kept run
# them all.
MIGRATIONS: dict[int, Migration] = {
    1: _script(V1_SCHEMA),
    2: _script(DISCREPANCY_SCHEMA),
    3: _script(HOPPER_SCHEMA),
    4: _script(STAFF_SCHEMA),
    5: _add_column("txn", "cert_type", "TEXT"),
    6: _add_column("document", "printer_job", "INTEGER"),
    7: _script(CASH_SCHEMA),
    8: _script(JOURNAL_SCHEMA),
    9: _script(PASSCODE_SCHEMA),
}


def latest() -> int:
    """The schema version this kiosk writes (the highest migration it knows)."""
    return max(MIGRATIONS)


def read_version(db: sqlite3.Connection, path: Path) -> int:
    """The journal's schema version (0: a new file, or one written before versions were kept).
    Raises JournalDamaged (not a SQLite database)."""
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise JournalDamaged(path, str(exc)) from exc


def check_readable(db: sqlite3.Connection, path: Path) -> int:
    """Check the file before anything is written to it: a SQLite database (SQLite's quick check finds no
    damage) of a version this kiosk knows. Returns its version.

    Raises JournalDamaged, JournalTooNew."""
    found = read_version(db, path)
    try:
        verdict = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as exc:
        raise JournalDamaged(path, str(exc)) from exc
    if verdict != ["ok"]:
        raise JournalDamaged(path, "; ".join(verdict))
    if found > latest():
        raise JournalTooNew(path, found, latest())
    return found


def migrate(db: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """Bring the journal up to ``latest()`` in one SQLite transaction. Returns (version found, version
    now). ``db`` is in autocommit mode (``isolation_level=None``).

    Raises JournalTooNew, JournalDamaged, JournalWriteError (the migration failed: nothing changed)."""
    newest = latest()
    found = read_version(db, path)
    if found == newest:
        return found, found
    try:
        db.execute("BEGIN IMMEDIATE")
        found = read_version(db, path)  # as it stands now that this connection holds the write lock
        if found > newest:
            raise JournalTooNew(path, found, newest)
        for version in range(found + 1, newest + 1):  # 0: a new journal, or one from before versions
            MIGRATIONS[version](db)
        db.execute(f"PRAGMA user_version={newest:d}")
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise JournalWriteError(f"journal {path}: migration to schema {newest} failed: {exc}") from exc
        raise
    return found, newest
