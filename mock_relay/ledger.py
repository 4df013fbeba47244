"""The center's ledger: sessions, orders, items, documents, payments, results, refunds (SQLite).

Its books balance: every yen paid is either kept for printed copies or owed back as a refund
(``refund_due``, with a ``refunds`` row): a failed copy at the result report, the whole payment at a
cancel after payment. Documents never paid for are voided when their session's deadline passes.

WAL + ``synchronous=NORMAL``: a committed answer survives the center's process being killed or restarted
(the write-ahead log is in the operating system's hands at COMMIT), and reconcile reads the same tables;
only a power cut of the machine could lose the last commits, which a test stand-in can afford — an fsync
per commit on the event loop had cost more wall time than all of a transaction's crypto.

Every state change is one transaction guarded by a ``WHERE state = …`` precondition, so two
racing requests for one session/order cannot both succeed, and every row carries the ids it belongs to
(terminal, session, order) — a document row can only ever be reached through its own order and session.
No PDF, name or address is kept: documents are stored as hash + binding + signature only. The one place a
PDF passes through is the stored answer of the issuing call (idempotency: a kiosk that lost the answer
asks again), and that answer is deleted as soon as its order ends — result reported, cancelled or
expired — after which a repeat is told ``documents_already_issued``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mock_relay.private import owner_only_database
from mock_relay.sqlite_tx import BackgroundCheckpoints, immediate_transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
  session_id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, challenge TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_ts REAL NOT NULL, state TEXT NOT NULL,
  challenge_used INTEGER NOT NULL DEFAULT 0, route TEXT, cert_serial_hash TEXT, resident_id TEXT,
  municipality_code TEXT, authenticated_at TEXT);
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE REFERENCES sessions(session_id),
  terminal_id TEXT NOT NULL, created_at TEXT NOT NULL, created_ts REAL NOT NULL, state TEXT NOT NULL,
  total INTEGER NOT NULL, paid INTEGER NOT NULL DEFAULT 0, refund_due INTEGER NOT NULL DEFAULT 0,
  result_reported INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS orders_by_terminal ON orders(terminal_id, created_ts);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders(state);
CREATE TABLE IF NOT EXISTS items (
  order_id TEXT NOT NULL REFERENCES orders(order_id), item_index INTEGER NOT NULL, type TEXT NOT NULL,
  label TEXT NOT NULL, options TEXT NOT NULL, copies INTEGER NOT NULL, unit_fee INTEGER NOT NULL,
  PRIMARY KEY (order_id, item_index));
CREATE TABLE IF NOT EXISTS documents (
  document_id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(order_id),
  item_index INTEGER NOT NULL, copy_index INTEGER NOT NULL, type TEXT NOT NULL, sha256 TEXT NOT NULL,
  page_count INTEGER NOT NULL, binding TEXT NOT NULL, signature TEXT NOT NULL,
  verification_code TEXT NOT NULL UNIQUE, state TEXT NOT NULL, issued_at TEXT NOT NULL,
  municipality_code TEXT NOT NULL, UNIQUE (order_id, item_index, copy_index));
CREATE TABLE IF NOT EXISTS payments (
  order_id TEXT PRIMARY KEY REFERENCES orders(order_id), amount_received INTEGER NOT NULL,
  change_given INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
  order_id TEXT PRIMARY KEY REFERENCES orders(order_id), printed INTEGER NOT NULL, failed INTEGER NOT NULL,
  detail TEXT NOT NULL, reported_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
  order_id TEXT PRIMARY KEY REFERENCES orders(order_id), amount INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
  terminal_id TEXT NOT NULL, key TEXT NOT NULL, route TEXT NOT NULL, request_hash TEXT NOT NULL,
  status INTEGER NOT NULL, content_type TEXT NOT NULL, body BLOB NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (terminal_id, key));
CREATE TABLE IF NOT EXISTS heartbeats (
  terminal_id TEXT PRIMARY KEY, at TEXT NOT NULL, payload TEXT NOT NULL);
"""


class TransactionHook(Protocol):
    """Work that rides along in every write transaction of one request (the request's idempotency key:
    ``mock_relay.routes.idempotency``), set for the request's task in :data:`TRANSACTION_HOOK`."""

    def before_commit(self, db: sqlite3.Connection) -> None:
        """Last statements of the transaction, after the caller's; raising rolls it all back."""

    def committed(self) -> None:
        """The transaction committed."""

    def rolled_back(self) -> None:
        """The transaction rolled back (the caller's block or :meth:`before_commit` raised)."""


#: the hook of the request being served in this context (None: a write transaction carries nothing else)
TRANSACTION_HOOK: ContextVar[TransactionHook | None] = ContextVar("ledger_transaction_hook", default=None)


class LedgerConflict(Exception):
    """A state precondition failed (the row is not in the state the operation needs)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    terminal_id: str
    challenge: str
    created_at: str
    expires_ts: float
    state: str
    challenge_used: bool
    route: str | None
    cert_serial_hash: str | None
    resident_id: str | None
    municipality_code: str | None


@dataclass(frozen=True)
class ItemRow:
    item_index: int
    type: str
    label: str
    options: dict[str, Any]
    copies: int
    unit_fee: int


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    session_id: str
    terminal_id: str
    created_at: str
    state: str
    total: int
    paid: int
    refund_due: int
    result_reported: bool
    items: tuple[ItemRow, ...]


@dataclass(frozen=True)
class DocumentRow:
    document_id: str
    order_id: str
    item_index: int
    copy_index: int
    type: str
    sha256: str
    page_count: int
    verification_code: str
    state: str
    issued_at: str
    municipality_code: str
    unit_fee: int = 0


@dataclass(frozen=True)
class Cancellation:
    """What a cancel did: documents voided now, and the refund due for the order (0 when unpaid)."""

    voided_documents: int
    refund_due: int


class Ledger:
    """One SQLite file; thread-safe through one connection and a lock (calls are short)."""

    def __init__(self, path: Path, *, background_checkpoints: bool = False) -> None:
        """Open (creating, owner-only) the ledger at ``path``; with ``background_checkpoints`` (a serving
        center) its WAL checkpoints run in a thread of their own (``sqlite_tx.BackgroundCheckpoints``),
        not inside a COMMIT on the event loop. Raises sqlite3.Error if the file is not a database, OSError
        if it cannot be created or its permissions set."""
        self.path = path
        owner_only_database(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._checkpoints: BackgroundCheckpoints | None = None
        if background_checkpoints:
            self._checkpoints = BackgroundCheckpoints.take_over(self._db, path)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(idempotency)")}
        if "order_id" not in columns:  # a ledger from before stored answers were tied to their order
            self._db.execute("ALTER TABLE idempotency ADD COLUMN order_id TEXT")
        if "claimed_by" not in columns:  # a ledger from before keys were claimed (status 0: in hand)
            self._db.execute("ALTER TABLE idempotency ADD COLUMN claimed_by INTEGER")
        if "body_form" not in columns:  # a ledger from before bodies were stored packed (0: as sent)
            self._db.execute("ALTER TABLE idempotency ADD COLUMN body_form INTEGER NOT NULL DEFAULT 0")
        # An order's stored answers are found by order (deleted when it ends): without this index every
        # result report scanned every answer ever stored.
        self._db.execute("CREATE INDEX IF NOT EXISTS idempotency_by_order ON idempotency(order_id)")
        self._db.execute("PRAGMA busy_timeout=10000")  # other API processes write the same file

    def query_one(self, sql: str, params: tuple[object, ...]) -> sqlite3.Row | None:
        """One row of a read query (for the idempotency store, which owns its table's SQL)."""
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def write_one(self, sql: str, params: tuple[object, ...]) -> int:
        """One write statement, a transaction of its own (SQLite commits a lone statement atomically,
        without the BEGIN/COMMIT round trips of :meth:`transaction`); returns the rows it changed."""
        with self._lock:
            return int(self._db.execute(sql, params).rowcount)

    def close(self) -> None:
        """Stop the background checkpoints, if any, and close the connection."""
        if self._checkpoints is not None:
            self._checkpoints.stop()
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) under the ledger's lock, with the current request's
        :data:`TRANSACTION_HOOK` (if any) writing its part last, in the same transaction."""
        hook = TRANSACTION_HOOK.get()
        with self._lock:
            try:
                with immediate_transaction(self._db) as db:
                    yield db
                    if hook is not None:
                        hook.before_commit(db)
            except BaseException:
                if hook is not None:
                    hook.rolled_back()
                raise
            if hook is not None:
                hook.committed()

    # --- sessions -------------------------------------------------------------------------------------
    def open_session(
        self, session_id: str, terminal_id: str, challenge: str, created_at: str, expires_ts: float
    ) -> None:
        """Record a new open session."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sessions (session_id, terminal_id, challenge, created_at, expires_ts,"
                " state) VALUES (?,?,?,?,?, 'open')",
                (session_id, terminal_id, challenge, created_at, expires_ts),
            )

    def session(self, session_id: str, terminal_id: str) -> SessionRow | None:
        """The session if it exists AND belongs to ``terminal_id`` (others' sessions do not exist)."""
        with self._lock:
            r = self._db.execute(
                "SELECT * FROM sessions WHERE session_id=? AND terminal_id=?", (session_id, terminal_id)
            ).fetchone()
        if r is None:
            return None
        return SessionRow(
            r["session_id"],
            r["terminal_id"],
            r["challenge"],
            r["created_at"],
            r["expires_ts"],
            r["state"],
            bool(r["challenge_used"]),
            r["route"],
            r["cert_serial_hash"],
            r["resident_id"],
            r["municipality_code"],
        )

    def consume_challenge(self, session_id: str) -> bool:
        """Mark the challenge used; True only for the first caller (atomic test-and-set)."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE sessions SET challenge_used=1"
                " WHERE session_id=? AND challenge_used=0 AND state='open'",
                (session_id,),
            )
            return cur.rowcount == 1

    def release_challenge(self, session_id: str) -> None:
        """Give an open session's challenge back after an attempt the center could not finish (its OCSP
        responder was unreachable): the kiosk's retry of the same signed message may then complete."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET challenge_used=0 WHERE session_id=? AND state='open'", (session_id,)
            )

    def fail_session(self, session_id: str) -> None:
        """Close an open session after a failed authentication."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET state='failed' WHERE session_id=? AND state='open'", (session_id,)
            )

    def complete_session(self, session_id: str) -> None:
        """Close an authenticated session whose work ended without an order (a 本籍地 利用登録)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET state='completed' WHERE session_id=? AND state='authenticated'",
                (session_id,),
            )

    def authenticate_session(
        self,
        session_id: str,
        *,
        route: str,
        cert_serial_hash: str,
        resident_id: str,
        municipality_code: str,
        at: str,
        expires_ts: float,
    ) -> None:
        """open → authenticated. Raises LedgerConflict if the session is no longer open."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE sessions SET state='authenticated', route=?, cert_serial_hash=?, resident_id=?,"
                " municipality_code=?, authenticated_at=?, expires_ts=? WHERE session_id=? AND state='open'",
                (route, cert_serial_hash, resident_id, municipality_code, at, expires_ts, session_id),
            )
            if cur.rowcount != 1:
                raise LedgerConflict("session_closed", "the session is no longer open")

    def cancel_session(self, session_id: str, at: str) -> Cancellation:
        """Cancel the session and its order; void its issued documents. Money already paid for the
        order becomes a refund due (a ``refunds`` row), and the order's outcome is then settled
        (``result_reported``): nothing was printed for a cancelled order. An expired order stays expired.
        Repeating a cancel changes nothing and answers the same refund.

        Raises LedgerConflict if the order's result was already reported (nothing left to cancel).
        """
        with self.transaction() as db:
            row = db.execute("SELECT state FROM sessions WHERE session_id=?", (session_id,)).fetchone()
            if row is not None and row["state"] == "completed":
                raise LedgerConflict("session_closed", "the transaction is complete; nothing to cancel")
            db.execute("UPDATE sessions SET state='cancelled' WHERE session_id=?", (session_id,))
            order = db.execute(
                "SELECT order_id, state, paid, refund_due FROM orders WHERE session_id=?", (session_id,)
            ).fetchone()
            if order is None:
                return Cancellation(0, 0)
            order_id, refund = order["order_id"], int(order["refund_due"])
            if order["state"] == "paid":
                refund = int(order["paid"])
                db.execute("INSERT INTO refunds VALUES (?,?,?)", (order_id, refund, at))
                db.execute(
                    "UPDATE orders SET state='cancelled', refund_due=?, result_reported=1 WHERE order_id=?",
                    (refund, order_id),
                )
            elif order["state"] in ("priced", "issued"):
                db.execute("UPDATE orders SET state='cancelled' WHERE order_id=?", (order_id,))
            cur = db.execute(
                "UPDATE documents SET state='void' WHERE order_id=? AND state='issued'", (order_id,)
            )
            _forget_delivered(db, order_id)
            return Cancellation(cur.rowcount, refund)

    def expire_overdue(self, now_ts: float) -> int:
        """Orders whose session deadline (epoch seconds) has passed before payment: the order and its
        session become ``expired`` and the documents issued for it ``void`` (they were never paid for,
        so they must never verify as valid). Paid orders are never expired. Returns how many documents
        were voided."""
        return self._expire(now_ts, None)[1]

    def expire_order(self, now_ts: float, order_id: str) -> tuple[bool, int]:
        """``expire_overdue`` for the one order ``order_id`` (its own deadline, looked up by key): whether
        it expired now, and how many documents were voided."""
        orders, voided = self._expire(now_ts, order_id)
        return orders > 0, voided

    def _expire(self, now_ts: float, order_id: str | None) -> tuple[int, int]:
        query = (
            "SELECT o.order_id, o.session_id FROM orders o JOIN sessions s ON s.session_id=o.session_id"
            " WHERE o.state IN ('priced', 'issued') AND s.expires_ts<=?"
        )
        args: tuple[float] | tuple[float, str] = (now_ts,)
        if order_id is not None:
            query, args = query + " AND o.order_id=?", (now_ts, order_id)
        with self._lock:  # the usual case, nothing overdue, needs no write transaction
            if self._db.execute(query + " LIMIT 1", args).fetchone() is None:
                return 0, 0
        with self.transaction() as db:
            overdue = db.execute(query, args).fetchall()
            voided = 0
            for row in overdue:
                db.execute("UPDATE orders SET state='expired' WHERE order_id=?", (row["order_id"],))
                db.execute(
                    "UPDATE sessions SET state='expired'"
                    " WHERE session_id=? AND state IN ('ordered', 'issued')",
                    (row["session_id"],),
                )
                cur = db.execute(
                    "UPDATE documents SET state='void' WHERE order_id=? AND state='issued'",
                    (row["order_id"],),
                )
                voided += cur.rowcount
                _forget_delivered(db, row["order_id"])
            return len(overdue), voided

    # --- orders ---------------------------------------------------------------------------------------
    def create_order(
        self,
        order_id: str,
        session_id: str,
        terminal_id: str,
        created_at: str,
        created_ts: float,
        items: Sequence[ItemRow],
    ) -> None:
        """authenticated session → ordered, with a priced order. Raises LedgerConflict otherwise."""
        total = sum(i.unit_fee * i.copies for i in items)
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE sessions SET state='ordered' WHERE session_id=? AND state='authenticated'",
                (session_id,),
            )
            if cur.rowcount != 1:
                raise LedgerConflict(
                    "order_exists", "this session already has an order or is not authenticated"
                )
            db.execute(
                "INSERT INTO orders (order_id, session_id, terminal_id, created_at, created_ts, state, total)"
                " VALUES (?,?,?,?,?, 'priced', ?)",
                (order_id, session_id, terminal_id, created_at, created_ts, total),
            )
            db.executemany(
                "INSERT INTO items VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        order_id,
                        i.item_index,
                        i.type,
                        i.label,
                        json.dumps(i.options, sort_keys=True),
                        i.copies,
                        i.unit_fee,
                    )
                    for i in items
                ],
            )

    def order(self, order_id: str, terminal_id: str) -> OrderRow | None:
        """The order if it exists AND belongs to ``terminal_id``."""
        with self._lock:
            r = self._db.execute(
                "SELECT * FROM orders WHERE order_id=? AND terminal_id=?", (order_id, terminal_id)
            ).fetchone()
            if r is None:
                return None
            items = self._db.execute(
                "SELECT * FROM items WHERE order_id=? ORDER BY item_index", (order_id,)
            ).fetchall()
        return OrderRow(
            r["order_id"],
            r["session_id"],
            r["terminal_id"],
            r["created_at"],
            r["state"],
            r["total"],
            r["paid"],
            r["refund_due"],
            bool(r["result_reported"]),
            tuple(
                ItemRow(
                    i["item_index"],
                    i["type"],
                    i["label"],
                    json.loads(i["options"]),
                    i["copies"],
                    i["unit_fee"],
                )
                for i in items
            ),
        )

    def record_documents(self, order_id: str, docs: Sequence[tuple[DocumentRow, str, str]]) -> None:
        """priced → issued, storing (row, binding JSON, signature b64) per copy. Raises LedgerConflict."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE orders SET state='issued' WHERE order_id=? AND state='priced'"
                " AND (SELECT state FROM sessions s WHERE s.session_id=orders.session_id)='ordered'",
                (order_id,),
            )
            if cur.rowcount != 1:
                raise LedgerConflict(
                    "documents_already_issued", "documents were already issued or the order ended"
                )
            db.execute(
                "UPDATE sessions SET state='issued'"
                " WHERE session_id=(SELECT session_id FROM orders WHERE order_id=?)",
                (order_id,),
            )
            db.executemany(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        d.document_id,
                        order_id,
                        d.item_index,
                        d.copy_index,
                        d.type,
                        d.sha256,
                        d.page_count,
                        binding,
                        sig,
                        d.verification_code,
                        "issued",
                        d.issued_at,
                        d.municipality_code,
                    )
                    for d, binding, sig in docs
                ],
            )

    def documents(self, order_id: str) -> tuple[DocumentRow, ...]:
        """The order's documents in item/copy order, each with its item's unit fee."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.*, i.unit_fee FROM documents d JOIN items i ON i.order_id=d.order_id AND"
                " i.item_index=d.item_index WHERE d.order_id=? ORDER BY d.item_index, d.copy_index",
                (order_id,),
            ).fetchall()
        return tuple(_document_row(r) for r in rows)

    def record_payment(self, order_id: str, amount_received: int, change_given: int, at: str) -> None:
        """issued → paid. Raises LedgerConflict if the order is not waiting for payment."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE orders SET state='paid', paid=? WHERE order_id=? AND state='issued'",
                (amount_received - change_given, order_id),
            )
            if cur.rowcount != 1:
                raise LedgerConflict("order_state", "the order is not waiting for payment")
            db.execute("INSERT INTO payments VALUES (?,?,?,?)", (order_id, amount_received, change_given, at))

    def record_result(
        self, order_id: str, outcomes: dict[str, str], refund_due: int, state: str, detail: str, at: str
    ) -> None:
        """paid → completed/partially_failed/failed; documents → printed/failed; refund recorded.

        Raises LedgerConflict if the order is not paid or its result is already in.
        """
        printed = sum(1 for o in outcomes.values() if o == "printed")
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE orders SET state=?, refund_due=?, result_reported=1"
                " WHERE order_id=? AND state='paid'",
                (state, refund_due, order_id),
            )
            if cur.rowcount != 1:
                raise LedgerConflict("order_state", "the order is not waiting for a result")
            for doc_id, outcome in outcomes.items():
                db.execute(
                    "UPDATE documents SET state=? WHERE document_id=? AND order_id=?",
                    (outcome, doc_id, order_id),
                )
            db.execute(
                "UPDATE sessions SET state='completed' WHERE session_id=(SELECT session_id FROM orders"
                " WHERE order_id=?)",
                (order_id,),
            )
            db.execute(
                "INSERT INTO results VALUES (?,?,?,?,?)",
                (order_id, printed, len(outcomes) - printed, detail, at),
            )
            if refund_due:
                db.execute("INSERT INTO refunds VALUES (?,?,?)", (order_id, refund_due, at))
            _forget_delivered(db, order_id)

    def orders_since(self, terminal_id: str, since_ts: float, limit: int) -> tuple[OrderRow, ...]:
        """This terminal's orders created at or after ``since_ts`` (epoch seconds), oldest first."""
        with self._lock:
            ids = [
                r["order_id"]
                for r in self._db.execute(
                    "SELECT order_id FROM orders WHERE terminal_id=? AND created_ts>=?"
                    " ORDER BY created_ts LIMIT ?",
                    (terminal_id, since_ts, limit),
                )
            ]
            found = [self.order(i, terminal_id) for i in ids]
        return tuple(o for o in found if o is not None)

    def by_verification_code(self, code: str) -> tuple[DocumentRow, str] | None:
        """The document carrying ``code`` and its order's state, or None."""
        with self._lock:
            r = self._db.execute(
                "SELECT d.*, 0 AS unit_fee, o.state AS order_state FROM documents d"
                " JOIN orders o ON o.order_id=d.order_id WHERE verification_code=?",
                (code,),
            ).fetchone()
        return None if r is None else (_document_row(r), str(r["order_state"]))

    # --- heartbeats and diagnostics ---------------------------------------------------------------------
    def heartbeat(self, terminal_id: str, at: str, payload: dict[str, Any]) -> None:
        """Record the terminal's latest heartbeat."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES (?,?,?)", (terminal_id, at, json.dumps(payload))
            )

    def counts(self) -> dict[str, int]:
        """Row counts per table (diagnostics and tests)."""
        tables = ("sessions", "orders", "documents", "payments", "results", "refunds", "idempotency")
        with self._lock:
            return {t: int(self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables}  # noqa: S608


def _document_row(r: sqlite3.Row) -> DocumentRow:
    return DocumentRow(
        r["document_id"],
        r["order_id"],
        r["item_index"],
        r["copy_index"],
        r["type"],
        r["sha256"],
        r["page_count"],
        r["verification_code"],
        r["state"],
        r["issued_at"],
        r["municipality_code"],
        r["unit_fee"],
    )


#: the route whose stored answer carries PDFs (the OpenAPI operationId of POST /v1/orders/{id}/documents)
ISSUE_ROUTE = "issueDocuments"


def _forget_delivered(db: sqlite3.Connection, order_id: str) -> None:
    """Delete the stored answer of ``order_id``'s issuing call (it holds the PDFs) once the order ended."""
    db.execute("DELETE FROM idempotency WHERE order_id=? AND route=?", (order_id, ISSUE_ROUTE))
