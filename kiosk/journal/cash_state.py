"""The cash unit's state in the journal: the last event counter processed per acceptor, and which
transaction is taking money (the till), so that money an acceptor takes while the kiosk is down is
credited to someone on the next start (``kiosk.devices.cash.counters``).

``cash_counter`` holds one row per acceptor (``coin``, ``bill``): its counter and serial number. The
driver writes it in the same SQLite transaction as the money or fault record of the event (one journal
point), or alone (``cash:counter``) when the events needed no record. ``cash_till`` holds one row: the
transaction whose stage is ``paying``; ``Journal.stage`` and ``Journal.finish`` keep it in the same
write as the stage. Money taken with no transaction in the till is booked to a record of its own (a
finished transaction, outcome ``taken_unattended``, staff code M05) that owes it all back: an open item
staff settle by hand like any money owed.

Older journals get both tables on open; the till is seeded from the unfinished transaction left at
``paying`` (the newest), and no counter is known (the driver then takes a baseline and says so).
``Journal`` mixes ``CashStateRecords`` in.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from kiosk.money import UNATTENDED_STAFF_CODE, CashState, CreditSource, DeviceCounter

__all__ = [
    "CASH_SCHEMA",
    "UNATTENDED_OUTCOME",
    "CashStateRecords",
    "Statement",
    "counter_statement",
    "till_statement",
]

UNATTENDED_OUTCOME = "taken_unattended"
Statement = tuple[str, tuple[object, ...]]

CASH_SCHEMA = """
CREATE TABLE IF NOT EXISTS cash_counter(device TEXT PRIMARY KEY, counter INTEGER NOT NULL, serial INTEGER,
  at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cash_till(slot INTEGER PRIMARY KEY CHECK (slot = 1), txn_id TEXT,
  at TEXT NOT NULL);
INSERT OR IGNORE INTO cash_till(slot, txn_id, at) SELECT 1,
  (SELECT id FROM txn WHERE finished=0 AND stage='paying' ORDER BY started_at DESC, rowid DESC LIMIT 1),
  strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now');
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def counter_statement(counter: DeviceCounter | None) -> list[Statement]:
    """The upsert that journals ``counter`` (none for None), to run in the same write as its event."""
    if counter is None:
        return []
    return [
        (
            "INSERT INTO cash_counter(device, counter, serial, at) VALUES (?,?,?,?) ON CONFLICT(device)"
            " DO UPDATE SET counter=excluded.counter, serial=excluded.serial, at=excluded.at",
            (counter.device, counter.counter, counter.serial, _now()),
        )
    ]


def till_statement(txn_id: str, stage: str) -> Statement:
    """Keep the till in step with a stage change of ``txn_id``: ``paying`` puts it in the till, any other
    stage (or ``finished``) takes it out if it is there."""
    if stage == "paying":
        return "UPDATE cash_till SET txn_id=?, at=? WHERE slot=1", (txn_id, _now())
    return "UPDATE cash_till SET txn_id=NULL, at=? WHERE slot=1 AND txn_id=?", (_now(), txn_id)


class CashStateRecords:
    """The cash-state half of ``kiosk.journal.store.Journal`` (which provides the database, ``_write`` and
    the money replay check)."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def _write(self, point: str, sql: str, args: tuple[object, ...], *more: Statement) -> None:
        raise NotImplementedError  # Journal._write

    def _money_replayed(self, event_id: str, txn: str, kind: str, yen: int) -> bool:
        raise NotImplementedError  # Journal._money_replayed

    def cash_state(self) -> CashState:
        """The counters journaled per acceptor and the transaction in the till ("" for none).
        Raises sqlite3.Error."""
        with self._lock:
            rows = self._db.execute("SELECT device, counter, serial FROM cash_counter").fetchall()
            till = self._db.execute("SELECT txn_id FROM cash_till WHERE slot=1").fetchone()
        counters = {str(d): DeviceCounter(str(d), int(c), None if s is None else int(s)) for d, c, s in rows}
        return CashState(counters, str(till[0]) if till and till[0] else "")

    def record_counters(self, counters: Sequence[DeviceCounter]) -> None:
        """Events up to each of ``counters`` were processed (none of them needed a record), or each buffer
        stands there as the kiosk starts listening: one write (``cash:counter``). Raises
        JournalWriteError."""
        statements = [s for counter in counters for s in counter_statement(counter)]
        if statements:
            self._write("cash:counter", *statements[0], *statements[1:])

    def record_unattended(
        self, event_id: str, yen: int, source: CreditSource, *, record_id: str, counter: DeviceCounter | None
    ) -> None:
        """Money taken while no transaction was taking money, booked to ``record_id``: a finished
        transaction (outcome ``taken_unattended``, staff code M05) owing it back, with the counter, in one
        write (``money:unattended``). A replay is ignored.

        Raises JournalConflict (the id is journaled elsewhere or with other figures), JournalWriteError."""
        with self._lock:
            if self._money_replayed(event_id, record_id, "credit", yen):
                return
            now = _now()
            self._write(
                "money:unattended",
                "INSERT OR IGNORE INTO txn(id, started_at, updated_at, stage, finished, outcome, staff_code)"
                " VALUES (?,?,?,'finished',1,?,?)",
                (record_id, now, now, UNATTENDED_OUTCOME, UNATTENDED_STAFF_CODE),
                ("UPDATE txn SET refund_owed=refund_owed+?, updated_at=? WHERE id=?", (yen, now, record_id)),
                (
                    "INSERT INTO money VALUES (?,?,?,?,?,?)",
                    (event_id, record_id, "credit", yen, str(source), now),
                ),
                *counter_statement(counter),
            )
