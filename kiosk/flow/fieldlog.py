"""The field log: what a support engineer reads in the system journal about each transaction (no kivy).

``FieldLog(flow)`` observes the flow's view states, the cash unit's events and the card monitor, and logs
one line per step, ``key=value`` so that ``journalctl -u myna-kiosk | grep txn=…`` follows a transaction:

    txn=3f2a… screen=pin prev=reading took=1.2s
    txn=3f2a… cash coin_in yen=500 credit=500
    txn=3f2a… printer page=1/2
    txn=3f2a… outcome=take_certificate reason=completed staff=OK fee=200 inserted=500 change=300 …
    card removed reader="Virtual PCD 00 01"

It logs ids, screens, message keys, outcomes, staff codes, yen, page counts, durations and reader names
only: the view state holds no PIN, no name, no address and no document, cash events hold amounts, card
events a reader name; the ATR is not logged. Observers run on the flow's, the cash poller's and the card
monitor's threads; each call only formats one line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kiosk.flow.view import Outcome, Screen, ViewState
from kiosk.money import (
    BillEscrowed,
    BillRejected,
    BillReturned,
    BillStacked,
    CashEvent,
    CoinCredited,
    CoinRejected,
    CoinsPaid,
    Fault,
)
from reader.monitor import CardEvent, EventKind

__all__ = ["FieldLog"]

log = logging.getLogger(__name__)


class TransactionSource(Protocol):
    """The id of the transaction in progress (``kiosk.flow.machine.Flow``)."""

    @property
    def transaction_id(self) -> str | None: ...


class FieldLog:
    """Observers for the flow (``on_view``), the cash unit (``on_cash``) and the card monitor
    (``on_card``). None of them raises for an event it does not know (it is logged by its type name)."""

    def __init__(
        self,
        flow: TransactionSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.flow, self.clock, self.log = flow, clock, logger
        self._lock = threading.Lock()
        self._txn: str | None = None  # the transaction of the last view (kept until attract)
        self._view = ViewState()
        self._since = self._began = clock()

    def _prefix(self) -> str:
        txn = self.flow.transaction_id or self._txn
        return f"txn={txn} " if txn else ""

    # --- the flow ---------------------------------------------------------------------------------------
    def on_view(self, view: ViewState) -> None:
        """A new view state (the flow's thread): a line when the screen, its message, the printed pages or
        the outcome change."""
        with self._lock:
            before, self._view = self._view, view
            now = self.clock()
            txn = self.flow.transaction_id
            if txn is not None and txn != self._txn:
                self._txn, self._began = txn, now
            prefix = f"txn={self._txn} " if self._txn else ""
            if view.screen != before.screen:
                took, self._since = now - self._since, now
                said = f" message={view.message_key}" if view.message_key else ""
                step = "%sscreen=%s prev=%s took=%.1fs%s"
                self.log.info(step, prefix, view.screen, before.screen, took, said)
            elif view.message_key != before.message_key and view.message_key:
                self.log.info("%sscreen=%s message=%s", prefix, view.screen, view.message_key)
            if view.pages_printed != before.pages_printed and view.pages_total:
                self.log.info("%sprinter page=%d/%d", prefix, view.pages_printed, view.pages_total)
            if view.outcome is not None and view.outcome != before.outcome:
                self._outcome(prefix, view, view.outcome, now - self._began)
            if view.screen is Screen.ATTRACT and self._txn is not None and txn is None:
                self.log.info("%sended total=%.1fs", prefix, now - self._began)
                self._txn = None

    def _outcome(self, prefix: str, view: ViewState, outcome: Outcome, took: float) -> None:
        level = logging.WARNING if outcome.message_key == "call_staff" else logging.INFO
        self.log.log(
            level,
            "%soutcome=%s reason=%s staff=%s fee=%d inserted=%d change=%d refunded=%d owed=%d pages=%d/%d"
            " took=%.1fs",
            prefix,
            outcome.message_key,
            outcome.reason,
            outcome.staff_code,
            view.fee,
            view.amount_inserted,
            view.change,
            outcome.refunded,
            outcome.refund_owed,
            view.pages_printed,
            view.pages_total,
            took,
        )

    # --- devices ----------------------------------------------------------------------------------------
    def on_cash(self, event: CashEvent) -> None:
        """A cash unit event (its poller's thread): amounts and device reasons only."""
        prefix = self._prefix()
        match event:
            case CoinCredited(yen=yen, total=total):
                self.log.info("%scash coin_in yen=%d credit=%d", prefix, yen, total)
            case BillStacked(yen=yen, total=total):
                self.log.info("%scash note_in yen=%d credit=%d", prefix, yen, total)
            case BillEscrowed(yen=yen, accepted=accepted):
                self.log.info("%scash note_escrow yen=%d accepted=%s", prefix, yen, accepted)
            case BillReturned(yen=yen, reason=reason):
                self.log.info("%scash note_returned yen=%d reason=%s", prefix, yen, reason)
            case CoinRejected(reason=reason) | BillRejected(reason=reason):
                self.log.info("%scash %s reason=%s", prefix, type(event).__name__, reason)
            case CoinsPaid(yen=yen, requested=requested):
                self.log.info("%scash paid_out yen=%d requested=%d", prefix, yen, requested)
            case Fault(kind=kind, device=device, detail=detail, code=code):
                line = "%scash fault=%s device=%s code=%s detail=%s"
                self.log.warning(line, prefix, kind, device, code, detail)
            case _:
                self.log.info("%scash %s", prefix, type(event).__name__)

    def on_card(self, event: CardEvent) -> None:
        """A card went onto or off a reader (the card monitor's thread): the reader's name only."""
        what = "inserted" if event.kind is EventKind.INSERTED else "removed"
        self.log.info('%scard %s reader="%s"', self._prefix(), what, event.reader)
