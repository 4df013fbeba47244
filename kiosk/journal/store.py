"""The kiosk's durable journal (SQLite, WAL, synchronous=FULL): each transaction's stage, ids, money,
documents and report status, and the idempotency keys of its center calls.

Never: a PIN, personal data, a certificate or a document. Every write commits before it returns
(a "journal point"); an ``on_point`` observer hears each one as it is durable (the harness's crash
injection uses it). The journal is also the cash unit's ``CashJournal`` hook (money is journaled before
the driver counts it): every money record names its transaction and, for a payout, its purpose, as
arguments (the cash unit is told them by the flow); the journal holds no "current transaction" state
that threads would share. Its cash-state half (counters, till, money taken unattended) is
``kiosk.journal.cash_state``.

A money event id is unique for good: recording it again for the SAME transaction with the same figures
is a replay (ignored: the driver retries a hook call that failed); the same id for ANOTHER transaction
(or other figures) raises ``JournalConflict`` and records nothing; the cash driver then books the money
under a fresh id and journals an ``id_conflict`` fault (staff code M03), see ``money.journal_money``.

Opening it checks the file and brings its schema up to this kiosk's (``kiosk.journal.schema``: a newer
kiosk's journal or a file SQLite cannot read is refused untouched), journals for staff a last write a
power cut cost (``kiosk.journal.wal``, J03) and keeps a reserve of space that a write the full disk
refuses is written in (``kiosk.journal.space``, J02: then ``out_of_space`` and no new transaction).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kiosk.journal import space
from kiosk.journal.cash_state import CashStateRecords, Statement, counter_statement, till_statement
from kiosk.journal.errors import JournalDamaged, JournalRefused, JournalTooNew, JournalWriteError
from kiosk.journal.records import Balance, Discrepancy, DocRecord, Incident, TxnRecord
from kiosk.journal.schema import check_readable, migrate
from kiosk.journal.staff_actions import StaffAction, StaffRecords
from kiosk.journal.wal import lost_tail
from kiosk.money import CreditSource, DeviceCounter, FaultKind, JournalConflict, PayoutPurpose

__all__ = [
    "Balance",
    "Discrepancy",
    "DocRecord",
    "Incident",
    "Journal",
    "JournalConflict",
    "JournalDamaged",
    "JournalRefused",
    "JournalTooNew",
    "JournalWriteError",
    "StaffAction",
    "TxnRecord",
]

log = logging.getLogger(__name__)
REFUND_MISMATCH_STAFF_CODE = "M04"  # the center's refund figure differs from the kiosk's
DISK_FULL_STAFF_CODE = "J02"  # the journal's reserve was spent: out of space, no new transaction
TAIL_LOST_STAFF_CODE = "J03"  # a power cut may have cost the journal's last write
INCIDENT_STAFF_CODES = {"disk_full": DISK_FULL_STAFF_CODE, "tail_lost": TAIL_LOST_STAFF_CODE}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Journal(StaffRecords, CashStateRecords):
    """One SQLite file; thread-safe (the cash unit's polling thread writes money). Staff records:
    ``kiosk.journal.staff_actions``; the cash unit's counters and till: ``kiosk.journal.cash_state``.
    ``schema`` is its schema version, ``schema_found`` the one it had before this open migrated it."""

    def __init__(self, path: Path, *, on_point: Callable[[int, str], None] | None = None) -> None:
        """Open (create) the journal, migrating an older schema in place (``kiosk.journal.schema``), and
        make its reserve of space (``kiosk.journal.space``); ``on_point(n, name)`` is called after the
        n-th journal point is committed. A power cut that cost the last write is journaled for staff
        (``tail_lost``, ``kiosk.journal.wal``).

        Raises JournalRefused (JournalTooNew: a newer kiosk's journal; JournalDamaged: not a SQLite
        database, or corrupt; the file is left untouched), JournalWriteError (it cannot be opened or
        migrated)."""
        self.path = path
        self.on_point = on_point
        self.points = 0
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tail = lost_tail(path)  # before SQLite reads the log and drops what it cannot trust
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise JournalWriteError(f"cannot open the journal {path}: {exc}") from exc
        try:
            check_readable(self._db, path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self.schema_found, self.schema = migrate(self._db, path)
            if not space.ensure_reserve(self._db, path):
                self._no_reserve()
            if tail is not None:
                log.error("journal %s: %s", path, tail)
                self._incident("tail_lost", self._suspect_txn(), tail)
        except sqlite3.Error as exc:
            self._db.close()
            raise JournalWriteError(f"cannot open the journal {path}: {exc}") from exc
        except JournalWriteError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database. Never raises."""
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                log.exception("journal close failed")

    # --- writing ------------------------------------------------------------------------------------
    def _write(self, point: str, sql: str, args: tuple[object, ...], *more: Statement) -> None:
        """One journal point: ``sql`` and ``more`` statements in one SQLite transaction. A write the full
        disk refuses is written again in the space the reserve frees (once: ``kiosk.journal.space``).
        Raises JournalWriteError."""
        with self._lock:
            try:
                self._commit(((sql, args), *more))
            except sqlite3.Error as exc:
                if not (space.is_full(exc) and self._spend_reserve(f"journal point {point}: {exc}")):
                    raise JournalWriteError(f"journal point {point}: {exc}") from exc
                try:
                    self._commit(((sql, args), *more))
                except sqlite3.Error as again:
                    raise JournalWriteError(f"journal point {point}: {again} (reserve spent)") from again
            self.points += 1
            log.debug("journal point %d: %s", self.points, point)
            if self.on_point is not None:
                self.on_point(self.points, point)

    def _commit(self, statements: tuple[Statement, ...]) -> None:
        """Run ``statements`` in one SQLite transaction (rolled back on failure). Raises sqlite3.Error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for statement, values in statements:
                self._db.execute(statement, values)
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # --- space and incidents (kiosk.journal.space, kiosk.journal.wal) -------------------------------------
    def _incident_statement(self, kind: str, txn_id: str, detail: str) -> Statement:
        return (
            "INSERT INTO journal_incident(kind, txn_id, detail, at) VALUES (?,?,?,?)",
            (kind, txn_id, detail, _now()),
        )

    def _incident(self, kind: str, txn_id: str, detail: str) -> None:
        self._write(f"incident:{kind}", *self._incident_statement(kind, txn_id, detail))

    def _no_reserve(self) -> None:
        """The reserve cannot be made as the journal opens (the disk is full): out of space from the start.
        Staff are told once (a ``disk_full`` incident unless the newest one is already that), if it
        fits. Never raises."""
        log.error("journal %s: no room for its reserve: out of space, no new resident", self.path)
        newest = self._db.execute("SELECT kind FROM journal_incident ORDER BY seq DESC LIMIT 1").fetchone()
        if newest is not None and newest[0] == "disk_full":
            return
        try:
            self._incident("disk_full", "", "no room for the journal's reserve as the kiosk started")
        except JournalWriteError:
            log.exception("journal %s: the disk_full incident does not fit", self.path)

    def _suspect_txn(self) -> str:
        """The transaction whose last write a power cut may have cost: the newest unfinished one, else the
        newest one ("" none)."""
        row = self._db.execute("SELECT id FROM txn ORDER BY finished, rowid DESC LIMIT 1").fetchone()
        return str(row[0]) if row else ""

    def _spend_reserve(self, why: str) -> bool:
        """Free the reserve and journal a ``disk_full`` incident in it. Returns False when it was spent
        already (or freeing it failed: logged)."""
        with self._lock:
            try:
                if not space.reserve_present(self._db):
                    return False
                log.error("journal %s is out of space (%s): reserve spent, no new resident", self.path, why)
                incident = self._incident_statement("disk_full", self._open_txn(), why)
                space.release(self._db, self.path, incident)
            except sqlite3.Error:
                log.exception("journal %s: the reserve could not be freed", self.path)
                return False
            return True

    def out_of_space(self) -> bool:
        """Whether the journal is out of space: its reserve was spent (or could not be made), or its free
        room fell below ``space.LOW_WATER`` (the reserve is spent now, with an incident for staff). No new
        transaction may start, nor take money. Never raises (a journal it cannot read counts as out)."""
        with self._lock:
            try:
                if not space.reserve_present(self._db):
                    return True
                if space.headroom(self._db, self.path) >= space.LOW_WATER:
                    return False
            except sqlite3.Error:
                log.exception("journal %s: its space cannot be read", self.path)
                return True
            self._spend_reserve(f"less than {space.LOW_WATER} bytes of room left")
            return True

    def incidents(self) -> list[Incident]:
        """What the journal told staff (disk full, a lost last write), oldest first. Raises sqlite3.Error."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, txn_id, detail, at FROM journal_incident ORDER BY seq"
            ).fetchall()
        return [Incident(int(q), str(k), str(t), str(d), str(a)) for q, k, t, d, a in rows]

    def begin(self, txn_id: str) -> None:
        """A new transaction (stage ``started``). Raises JournalWriteError."""
        now = _now()
        self._write(
            "begin",
            "INSERT INTO txn(id, started_at, updated_at, stage) VALUES (?,?,?,?)",
            (txn_id, now, now, "started"),
        )

    def stage(
        self,
        txn_id: str,
        stage: str,
        *,
        session_id: str | None = None,
        order_id: str | None = None,
        fee: int | None = None,
        cert_type: str | None = None,
    ) -> None:
        """Move a transaction to ``stage``, recording the ids, fee and certificate type given. ``paying``
        also puts it in the cash till (the transaction taking money, read by the cash unit after a
        restart), any other stage takes it out, in the same write. Raises JournalWriteError."""
        self._write(
            f"stage:{stage}",
            "UPDATE txn SET stage=?, updated_at=?, session_id=COALESCE(?, session_id),"
            " order_id=COALESCE(?, order_id), fee=COALESCE(?, fee), cert_type=COALESCE(?, cert_type)"
            " WHERE id=?",
            (stage, _now(), session_id, order_id, fee, cert_type, txn_id),
            till_statement(txn_id, stage),
        )

    def key(self, txn_id: str, name: str) -> str:
        """The idempotency key for call ``name`` of this transaction: created and made durable on first
        use, the same one after a restart. Raises JournalWriteError."""
        with self._lock:
            row = self._db.execute(
                "SELECT key FROM idem WHERE txn_id=? AND name=?", (txn_id, name)
            ).fetchone()
            if row:
                return str(row[0])
            key = str(uuid.uuid4())
            self._write(
                f"key:{name}", "INSERT INTO idem(txn_id, name, key) VALUES (?,?,?)", (txn_id, name, key)
            )
            return key

    def add_document(
        self, txn_id: str, document_id: str, item_index: int, copy_index: int, unit_fee: int, pages: int
    ) -> None:
        """A verified document is held in memory for this transaction (its id only is journaled)."""
        self._write(
            "document:issued",
            "INSERT OR IGNORE INTO document(document_id, txn_id, item_index, copy_index, unit_fee,"
            " pages, state) VALUES (?,?,?,?,?,?,'issued')",
            (document_id, txn_id, item_index, copy_index, unit_fee, pages),
        )

    def document_state(
        self, document_id: str, state: str, *, pages_printed: int | None = None, error: str | None = None
    ) -> None:
        """``printing`` (before the job is sent), ``printed`` or ``failed`` (after).
        Raises JournalWriteError."""
        self._write(
            f"document:{state}",
            "UPDATE document SET state=?, pages_printed=?, error=? WHERE document_id=?",
            (state, pages_printed, error, document_id),
        )

    def printer_job(self, document_id: str, job_id: int) -> None:
        """The printer took a copy as job ``job_id`` (journaled before any page can come out): after a
        crash recovery asks the printer what became of it. Raises JournalWriteError."""
        self._write(
            "document:job", "UPDATE document SET printer_job=? WHERE document_id=?", (job_id, document_id)
        )

    def page_printed(self, document_id: str, pages: int) -> None:
        """The printer confirmed ``pages`` pages of a copy being printed (one journal point per page,
        ``document:page``): after a crash recovery knows what came out. Raises JournalWriteError."""
        self._write(
            "document:page",
            "UPDATE document SET pages_printed=? WHERE document_id=? AND COALESCE(pages_printed, 0) < ?",
            (pages, document_id, pages),
        )

    def report_status(self, txn_id: str, status: str) -> None:
        """``pending`` (outcomes final, report not yet acknowledged) or ``reported``."""
        self._write(
            f"report:{status}",
            "UPDATE txn SET report_status=?, updated_at=? WHERE id=?",
            (status, _now(), txn_id),
        )

    def refund_owed(self, txn_id: str, yen: int) -> None:
        """Money the kiosk owes but could not pay out: recorded for staff."""
        self._write(
            "refund_owed",
            "UPDATE txn SET refund_owed=refund_owed+?, updated_at=? WHERE id=?",
            (yen, _now(), txn_id),
        )

    def refund_mismatch(self, txn_id: str, center_yen: int, kiosk_yen: int) -> None:
        """The center's refund figure differs from the kiosk's: both are kept for staff (staff code M04),
        once per transaction (a repeat after a crash keeps the first). Raises JournalWriteError."""
        self._write(
            "discrepancy:refund",
            "INSERT OR IGNORE INTO discrepancy VALUES (?,?,?,?,?,?)",
            (txn_id, "refund", center_yen, kiosk_yen, REFUND_MISMATCH_STAFF_CODE, _now()),
        )

    def finish(self, txn_id: str, outcome: str, staff_code: str) -> None:
        """The transaction is over (no further step will run for it; it leaves the cash till)."""
        self._write(
            "finish",
            "UPDATE txn SET finished=1, stage='finished', outcome=?, staff_code=?, updated_at=? WHERE id=?",
            (outcome, staff_code, _now(), txn_id),
            till_statement(txn_id, "finished"),
        )

    # --- CashJournal hook ---------------------------------------------------------------------------
    def record_credit(
        self,
        event_id: str,
        yen: int,
        source: CreditSource,
        *,
        txn_id: str | None = None,
        counter: DeviceCounter | None = None,
    ) -> None:
        """A coin or note was credited to ``txn_id`` (None: the open transaction, for callers that are not
        the cash driver), with the acceptor's ``counter`` in the same write. A replay of the same event is
        ignored.

        Raises JournalConflict (the id is journaled for another transaction or with other figures),
        JournalWriteError."""
        self._money(event_id, "credit", yen, str(source), txn_id, counter)

    def record_payout(
        self,
        event_id: str,
        yen: int,
        *,
        txn_id: str | None = None,
        purpose: PayoutPurpose = PayoutPurpose.CHANGE,
    ) -> None:
        """Coins left the hoppers for ``txn_id`` (None: the open transaction) as ``purpose``. A replay is
        ignored.

        Raises JournalConflict, JournalWriteError."""
        self._money(event_id, str(purpose), yen, None, txn_id, None)

    def _open_txn(self) -> str:
        row = self._db.execute(
            "SELECT id FROM txn WHERE finished=0 ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else ""

    def _money_replayed(self, event_id: str, txn: str, kind: str, yen: int) -> bool:
        """True if ``event_id`` is already journaled with these figures (a replay). Raises JournalConflict
        if it is journaled with others. Call with the lock held."""
        row = self._db.execute("SELECT txn_id, kind, yen FROM money WHERE event_id=?", (event_id,)).fetchone()
        if row is None:
            return False
        if (str(row[0]), str(row[1]), int(row[2])) != (txn, kind, yen):
            raise JournalConflict(event_id, kind, str(row[0]), txn)
        log.info("money event %s already journaled for %s: replay ignored", event_id, txn)
        return True

    def _money(
        self,
        event_id: str,
        kind: str,
        yen: int,
        source: str | None,
        txn_id: str | None,
        counter: DeviceCounter | None,
    ) -> None:
        with self._lock:
            txn = self._open_txn() if txn_id is None else txn_id
            if self._money_replayed(event_id, txn, kind, yen):
                return
            self._write(
                f"money:{kind}",
                "INSERT INTO money VALUES (?,?,?,?,?,?)",
                (event_id, txn, kind, yen, source, _now()),
                *counter_statement(counter),
            )

    def record_fault(
        self,
        event_id: str,
        kind: FaultKind,
        device: str,
        detail: str,
        *,
        txn_id: str | None = None,
        counter: DeviceCounter | None = None,
    ) -> None:
        """A device fault staff must see, booked to ``txn_id`` ("" none; None: the open transaction), with
        the acceptor's ``counter`` in the same write. Raises JournalWriteError."""
        with self._lock:
            txn = self._open_txn() if txn_id is None else txn_id
            self._write(
                "fault",
                "INSERT OR IGNORE INTO fault VALUES (?,?,?,?,?,?)",
                (event_id, txn, str(kind), device, detail, _now()),
                *counter_statement(counter),
            )

    # --- hopper stock (the figures: kiosk.journal.hopper_stock) --------------------------------------------
    def hopper_dispensing(self, event_id: str, address: int, coin_yen: int, coins: int) -> None:
        """Up to ``coins`` are about to leave hopper ``address``: journaled BEFORE the dispense, so after a
        crash they count as paid (the stock errs low). A replay is ignored. Raises JournalWriteError."""
        self._write(
            "hopper:dispensing",
            "INSERT OR IGNORE INTO hopper_log(event_id, address, coin_yen, kind, coins, at)"
            " VALUES (?,?,?,'dispense',?,?)",
            (event_id, address, coin_yen, coins, _now()),
        )

    def hopper_dispensed(self, event_id: str, paid: int) -> None:
        """The dispense ``event_id`` is over: ``paid`` coins came out. Raises JournalWriteError."""
        self._write(
            "hopper:dispensed",
            "UPDATE hopper_log SET paid=? WHERE event_id=? AND kind='dispense'",
            (paid, event_id),
        )

    def hopper_staff(self, event_id: str, address: int, coin_yen: int, kind: str, coins: int) -> bool:
        """Staff ``refill``ed (coins added) or ``count``ed (coins now in) a hopper. Written only while no
        transaction is open (checked in the same SQLite transaction); returns whether it was written.
        Raises JournalWriteError."""
        self._write(
            f"hopper:{kind}",
            "INSERT INTO hopper_log(event_id, address, coin_yen, kind, coins, at)"
            " SELECT ?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM txn WHERE finished=0)",
            (event_id, address, coin_yen, kind, coins, _now()),
        )
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM hopper_log WHERE event_id=?", (event_id,)).fetchone()
                is not None
            )

    def hopper_log(self, address: int, coin_yen: int) -> list[tuple[str, int, int | None, str, int | None]]:
        """(kind, coins, paid, at, yen of the payout journaled under the same id) of a hopper, oldest
        first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT h.kind, h.coins, h.paid, h.at, m.yen FROM hopper_log h LEFT JOIN money m"
                " ON m.event_id = h.event_id AND m.kind IN ('change', 'refund')"
                " WHERE h.address=? AND h.coin_yen=? ORDER BY h.seq",
                (address, coin_yen),
            ).fetchall()
        return [
            (str(k), int(c), None if p is None else int(p), str(at), None if y is None else int(y))
            for k, c, p, at, y in rows
        ]

    # --- reading ------------------------------------------------------------------------------------
    def _documents(self, txn_id: str) -> tuple[DocRecord, ...]:
        rows = self._db.execute(
            "SELECT document_id, item_index, copy_index, unit_fee, pages, state, pages_printed, error,"
            " printer_job FROM document WHERE txn_id=? ORDER BY item_index, copy_index",
            (txn_id,),
        ).fetchall()
        return tuple(DocRecord(*row) for row in rows)

    def _txn(self, row: tuple[object, ...]) -> TxnRecord:
        (tid, started, stage, session_id, order_id, fee, report, owed, finished, outcome, code, kind) = row
        return TxnRecord(
            str(tid),
            datetime.fromisoformat(str(started)),
            str(stage),
            session_id if isinstance(session_id, str) else None,
            order_id if isinstance(order_id, str) else None,
            int(str(fee)),
            str(report),
            int(str(owed)),
            bool(finished),
            outcome if isinstance(outcome, str) else None,
            code if isinstance(code, str) else None,
            self._documents(str(tid)),
            kind if isinstance(kind, str) else None,
        )

    def transactions(self, *, unfinished_only: bool = False) -> list[TxnRecord]:
        """Transactions, oldest first."""
        query = (
            "SELECT id, started_at, stage, session_id, order_id, fee, report_status, refund_owed, finished,"
            " outcome, staff_code, cert_type FROM txn WHERE finished IN (?, ?) ORDER BY started_at, rowid"
        )
        with self._lock:
            rows = self._db.execute(query, (0, 0 if unfinished_only else 1)).fetchall()
            return [self._txn(row) for row in rows]

    def transaction(self, txn_id: str) -> TxnRecord | None:
        """One transaction, or None."""
        return next((t for t in self.transactions() if t.id == txn_id), None)

    def balance(self, txn_id: str) -> Balance:
        """The money of one transaction."""
        with self._lock:
            sums = dict(
                self._db.execute(
                    "SELECT kind, SUM(yen) FROM money WHERE txn_id=? GROUP BY kind", (txn_id,)
                ).fetchall()
            )
            row = self._db.execute("SELECT refund_owed FROM txn WHERE id=?", (txn_id,)).fetchone()
            printed = self._db.execute(
                "SELECT COALESCE(SUM(unit_fee), 0) FROM document WHERE txn_id=? AND state='printed'",
                (txn_id,),
            ).fetchone()[0]
        return Balance(
            int(sums.get("credit", 0)),
            int(sums.get("change", 0)),
            int(sums.get("refund", 0)),
            int(row[0]) if row else 0,
            int(printed),
        )

    def faults(self, txn_id: str) -> list[tuple[str, str, str]]:
        """(kind, device, detail) of the faults booked to a transaction."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, device, detail FROM fault WHERE txn_id=?", (txn_id,)
            ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def discrepancies(self, txn_id: str) -> list[Discrepancy]:
        """The center/kiosk disagreements journaled for a transaction (for staff diagnostics)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, center_yen, kiosk_yen, staff_code FROM discrepancy WHERE txn_id=?"
                " ORDER BY kind",
                (txn_id,),
            ).fetchall()
        return [Discrepancy(str(k), int(c), int(y), str(code)) for k, c, y, code in rows]
