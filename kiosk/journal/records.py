"""The journal's read-side records (split from ``kiosk.journal.store``, which re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["HOPPER_SCHEMA", "Balance", "Discrepancy", "DocRecord", "Incident", "TxnRecord"]

# The hoppers' stock log: staff refills (coins added) and counts (coins now in), and every dispense the
# driver is about to send (coins asked; ``paid`` once it is over). ``event_id`` of a dispense is the id its
# payout is journaled under in ``money``. The figures are computed by ``kiosk.journal.hopper_stock``.
HOPPER_SCHEMA = """
CREATE TABLE IF NOT EXISTS hopper_log(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
  address INTEGER NOT NULL, coin_yen INTEGER NOT NULL, kind TEXT NOT NULL, coins INTEGER NOT NULL,
  paid INTEGER, at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class DocRecord:
    document_id: str
    item_index: int
    copy_index: int
    unit_fee: int
    pages: int
    state: str  # issued | printing | printed | failed
    pages_printed: int | None
    error: str | None
    printer_job: int | None = None  # the printer's job id for this copy, once the printer took it


@dataclass(frozen=True)
class Discrepancy:
    """A figure the center and the kiosk disagree on, kept for staff (``kind`` e.g. ``refund``)."""

    kind: str
    center_yen: int
    kiosk_yen: int
    staff_code: str


@dataclass(frozen=True)
class TxnRecord:
    id: str
    started_at: datetime
    stage: str
    session_id: str | None
    order_id: str | None
    fee: int
    report_status: str  # none | pending | reported
    refund_owed: int
    finished: bool
    outcome: str | None
    staff_code: str | None
    documents: tuple[DocRecord, ...]
    cert_type: str | None = None  # juminhyo, inkan, …: recorded when the order is priced


@dataclass(frozen=True)
class Balance:
    """Money of one transaction: inserted = printed fees + change + refunded + refund owed, when settled."""

    inserted: int
    change: int
    refunded: int
    refund_owed: int
    printed_fees: int

    @property
    def settled(self) -> bool:
        return self.inserted == self.printed_fees + self.change + self.refunded + self.refund_owed


@dataclass(frozen=True)
class Incident:
    """Something the journal itself tells staff (``kiosk.journal.schema`` version 8): ``disk_full`` (its
    reserve was spent: out of space, no new transaction), ``tail_lost`` (a power cut may have cost the
    last write, of ``txn_id`` or after it). ``txn_id`` "" when there was no transaction to name."""

    seq: int
    kind: str
    txn_id: str
    detail: str
    at: str
