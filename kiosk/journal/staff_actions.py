"""Staff records in the journal: money handed over by hand, other open items checked by staff, and the
staff passcode guard's count.

A row of ``staff_action`` closes one open item of one finished transaction: ``owed`` (change or a refund
the kiosk could not pay out, staff codes M02/PR2/RC2: ``settled`` with the yen handed over) or a records
item staff looked at (``discrepancy:refund`` M04, ``fault:id_conflict`` M03, ``print:<document id>`` a
copy cut short: ``checked``, 0 yen). Who (the staff id typed by staff), when and how much are kept; the
refund owed journaled by the flow is never changed, so the books read
inserted = fees kept + change + refunds + (owed - settled by hand) + settled by hand.

Each record is one journal point written only if no transaction is open and the item is not closed yet,
both checked inside the same SQLite transaction as the insert (the flow may start one at any moment).
``Journal`` mixes this class in; the policy (what may be settled, for how much) is in kiosk.staff.diagnostics.

``staff_passcode`` holds one row: how many wrong staff passcodes came in a row and until when none is
checked (a back-off, or a lockout), so that restarting the kiosk lifts neither. Its times are the guard's
clock's (``kiosk.staff.passcode.PasscodeGuard``), ISO 8601 UTC; the row is written as one journal point
(``staff:passcode``) whenever the count changes. Never the passcode, nor what was typed. Staff who may
(``kiosk diag unlock``) clear the count: one journal point (``staff:unlock``) that zeroes the row and
keeps who did it as a ``staff_action`` of no transaction (item ``passcode-unlock:<when>``, kind
``unlocked``).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["PASSCODE_SCHEMA", "STAFF_SCHEMA", "PasscodeState", "StaffAction", "StaffRecords"]

STAFF_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_action(txn_id TEXT NOT NULL, item TEXT NOT NULL, kind TEXT NOT NULL,
  yen INTEGER NOT NULL, staff_id TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(txn_id, item));
"""

PASSCODE_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_passcode(slot INTEGER PRIMARY KEY CHECK (slot = 1),
  failures INTEGER NOT NULL, not_before TEXT NOT NULL, at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class StaffAction:
    """One item closed by staff: ``kind`` settled (money handed over) or checked."""

    txn_id: str
    item: str
    kind: str
    yen: int
    staff_id: str
    at: str


@dataclass(frozen=True)
class PasscodeState:
    """The staff passcode guard as last journaled: ``failures`` wrong codes in a row; no code is checked
    before ``not_before``; written ``at`` (both ISO 8601, the guard's clock)."""

    failures: int
    not_before: str
    at: str


class StaffRecords:
    """The staff-action half of ``kiosk.journal.store.Journal`` (which provides the database and
    ``_write``)."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def _write(
        self, point: str, sql: str, args: tuple[object, ...], *more: tuple[str, tuple[object, ...]]
    ) -> None:
        raise NotImplementedError  # Journal._write

    def staff_action(self, txn_id: str, item: str, kind: str, yen: int, staff_id: str, at: str) -> bool:
        """Close ``item`` of the finished transaction ``txn_id`` ("": a journal incident naming none).
        Written only while no transaction is open, the transaction is finished and the item not closed
        yet (checked in the same SQLite transaction);
        returns whether this call wrote it. Raises JournalWriteError."""
        self._write(
            f"staff:{kind}",
            "INSERT OR IGNORE INTO staff_action(txn_id, item, kind, yen, staff_id, at) SELECT ?,?,?,?,?,?"
            " WHERE NOT EXISTS (SELECT 1 FROM txn WHERE finished=0)"
            " AND (?='' OR EXISTS (SELECT 1 FROM txn WHERE id=? AND finished=1))",
            (txn_id, item, kind, yen, staff_id, at, txn_id, txn_id),
        )
        with self._lock:
            row = self._db.execute(
                "SELECT at, staff_id FROM staff_action WHERE txn_id=? AND item=?", (txn_id, item)
            ).fetchone()
        return row is not None and (str(row[0]), str(row[1])) == (at, staff_id)

    def staff_actions(self, txn_id: str | None = None) -> list[StaffAction]:
        """The items staff closed (of one transaction, or all), oldest first. Raises sqlite3.Error."""
        query = "SELECT txn_id, item, kind, yen, staff_id, at FROM staff_action"
        args: tuple[object, ...] = ()
        if txn_id is not None:
            query, args = query + " WHERE txn_id=?", (txn_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY at, rowid", args).fetchall()
        return [StaffAction(str(t), str(i), str(k), int(y), str(s), str(a)) for t, i, k, y, s, a in rows]

    def passcode_state(self) -> PasscodeState | None:
        """The staff passcode guard's state as last journaled; None if it never was. Raises sqlite3.Error."""
        with self._lock:
            row = self._db.execute(
                "SELECT failures, not_before, at FROM staff_passcode WHERE slot=1"
            ).fetchone()
        return None if row is None else PasscodeState(int(row[0]), str(row[1]), str(row[2]))

    def unlock_passcode(self, staff_id: str, at: str) -> int:
        """Clear the staff passcode guard's count (a back-off or lockout ends) and keep that ``staff_id``
        did so ``at`` (ISO 8601), in one journal point; the count cleared (0: nothing was counted, nothing
        written). A running guard reads the cleared count at its next check. Raises JournalWriteError."""
        state = self.passcode_state()
        if state is None or state.failures == 0:
            return 0
        self._write(
            "staff:unlock",
            "INSERT INTO staff_action(txn_id, item, kind, yen, staff_id, at) VALUES ('',?,'unlocked',0,?,?)",
            (f"passcode-unlock:{at}", staff_id, at),
            (
                "UPDATE staff_passcode SET failures=0, not_before=?, at=? WHERE slot=1",
                (datetime.fromtimestamp(0, UTC).isoformat(), at),
            ),
        )
        return state.failures

    def save_passcode_state(self, state: PasscodeState) -> None:
        """Journal the staff passcode guard's state (one journal point). Raises JournalWriteError."""
        self._write(
            "staff:passcode",
            "INSERT INTO staff_passcode(slot, failures, not_before, at) VALUES (1,?,?,?) ON CONFLICT(slot)"
            " DO UPDATE SET failures=excluded.failures, not_before=excluded.not_before, at=excluded.at",
            (state.failures, state.not_before, state.at),
        )
