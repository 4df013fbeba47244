"""Helpers of tests/kiosk/journal: a center that answers reconcile from a fixture's orders, table dumps."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from relay_client import Cancelled, CopyOutcome, Order, Reconcile, ReconcileOrder, Result

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class FixtureCenter:
    """The center as it stands after a fixture's transactions: order id -> (session id, unit fee, copies,
    paid, result reported). Reports and cancels are recorded; each answer is what the center would say."""

    orders: dict[str, tuple[str, int, int, int, bool]]
    reports: dict[str, tuple[list[CopyOutcome], str | None]] = field(default_factory=dict)
    cancelled: list[tuple[str, str | None]] = field(default_factory=list)

    def reconcile(
        self, since: datetime, *, limit: int = 100, cancel: threading.Event | None = None
    ) -> Reconcile:
        orders = tuple(
            ReconcileOrder(oid, sid, NOW, "paid" if paid else "priced", unit * copies, paid, 0, reported, ())
            for oid, (sid, unit, copies, paid, reported) in self.orders.items()
        )
        return Reconcile("T-0001", NOW, orders)

    def report_result(
        self,
        order: Order | str,
        outcomes: Sequence[CopyOutcome],
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Result:
        oid = order if isinstance(order, str) else order.order_id
        self.reports[oid] = (list(outcomes), idempotency_key)
        failed = sum(not o.printed for o in outcomes)
        state = "completed" if not failed else "partially_failed"
        return Result(oid, state, len(outcomes) - failed, failed, failed * self.orders[oid][1])

    def cancel(
        self,
        session: object,
        reason: str = "resident",
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Cancelled:
        sid = str(session)
        self.cancelled.append((sid, idempotency_key))
        return Cancelled(sid, "cancelled", 0)


def copy_fixture(name: str, folder: Path) -> Path:
    """A copy of fixture ``name`` in ``folder`` (the committed file is never opened for writing)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "journal.sqlite"
    shutil.copyfile(FIXTURES / name, target)
    return target


def dump(
    path: Path, *, skip: tuple[str, ...] = ("journal_reserve", "sqlite_sequence")
) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the journal at ``path`` (opened by SQLite alone), sorted; tables in
    ``skip`` left out."""
    db = sqlite3.connect(path)
    try:
        tables = [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables if t not in skip
        }
    finally:
        db.close()


def columns(path: Path, table: str) -> list[str]:
    """The columns of ``table`` (opened by SQLite alone)."""
    db = sqlite3.connect(path)
    try:
        return [str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")]
    finally:
        db.close()


def user_version(path: Path) -> int:
    """The file's ``PRAGMA user_version`` (opened by SQLite alone)."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()
