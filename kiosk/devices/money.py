"""Yen denominations, the cash unit's typed events, and the journal hook the driver reports money to.

Amounts are ``int`` yen everywhere (no floats). The journal hook is the one place money becomes
durable: the driver calls it and waits for it to return BEFORE it counts a credit or reports a
payout, so a crash or a hook failure never leaves money counted that is not journaled.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

COINS = (10, 50, 100, 500)
NOTES = (1000, 2000, 5000, 10000)
CURRENCY = "JP"


def format_yen(amount: int) -> str:
    """``1200`` → ``"¥1,200"``."""
    return f"¥{amount:,}"


class CreditSource(enum.StrEnum):
    """Where a credit came from, as passed to ``CashJournal.record_credit``."""

    COIN = "coin"
    BILL = "bill"


class FaultKind(enum.StrEnum):
    """What staff are told went wrong."""

    EVENTS_LOST = "events_lost"  # more events than the device buffer holds happened between polls
    DEVICE_RESET = "device_reset"  # event counter went back to 0: power loss or reset
    JAM = "jam"
    FRAUD = "fraud"
    DEVICE_ERROR = "device_error"
    UNKNOWN_DENOMINATION = "unknown_denomination"  # a credit for a position we cannot value
    LINK = "link"  # the device stopped answering
    PAYOUT = "payout"  # the hopper paid less than asked
    JOURNAL = "journal"  # the journal hook failed; the driver stopped counting


class CashError(Exception):
    """Base of the cash unit driver's errors (ccTalk link/protocol errors are ``CcTalkError``)."""


class JournalError(CashError):
    """The journal hook raised: the operation stopped and the event was not counted."""


class DispenseError(CashError):
    """The hoppers paid less than ``requested``; ``paid`` is what actually came out (and was journaled)."""

    def __init__(self, requested: int, paid: int, reason: str) -> None:
        self.requested, self.paid, self.reason = requested, paid, reason
        super().__init__(f"paid {paid} of {requested} yen: {reason}")


# --- the journal hook ------------------------------------------------------------------------------
class CashJournal(Protocol):
    """Durable record of money, implemented by the caller (the transaction's SQLite journal).

    Each method must return only once the record is durable. ``event_id`` is stable: if the driver
    calls again with the same id (it retries a credit whose hook call raised), the journal must treat
    it as the same event (e.g. a UNIQUE key), so money is never recorded twice. Any exception stops
    the driver's operation; the driver raises ``JournalError`` and counts nothing for that event.
    """

    def record_credit(self, event_id: str, yen: int, source: CreditSource) -> None:
        """A coin was accepted or a note was stacked: ``yen`` is now the customer's credit."""

    def record_payout(self, event_id: str, yen: int) -> None:
        """``yen`` left the hoppers (change or refund). Called with what WAS paid, also on a shortfall."""

    def record_fault(self, event_id: str, kind: FaultKind, device: str, detail: str) -> None:
        """A fault staff must see (events lost, jam, fraud, reset, payout shortfall, …)."""


def journaled(what: str, call: Callable[[], None]) -> None:
    """Run one journal hook call; any exception becomes JournalError (the caller then counts nothing)."""
    try:
        call()
    except Exception as exc:
        raise JournalError(f"journal failed to record {what}: {exc}") from exc


class NullJournal:
    """A journal that keeps nothing (diagnostics, where no customer money moves)."""

    def record_credit(self, event_id: str, yen: int, source: CreditSource) -> None:
        """Do nothing."""

    def record_payout(self, event_id: str, yen: int) -> None:
        """Do nothing."""

    def record_fault(self, event_id: str, kind: FaultKind, device: str, detail: str) -> None:
        """Do nothing."""


# --- typed events delivered to observers --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CoinCredited:
    """A coin was accepted and journaled. ``total`` is the payment's credit after it."""

    event_id: str
    yen: int
    position: int
    total: int


@dataclass(frozen=True, slots=True)
class CoinRejected:
    """The acceptor rejected a coin (returned to the customer); nothing was credited."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class BillEscrowed:
    """A note is held in escrow; not yet credited. ``accepted`` says whether the driver stacks it."""

    yen: int
    position: int
    accepted: bool


@dataclass(frozen=True, slots=True)
class BillStacked:
    """A note reached the cashbox and was journaled: only now is it credited."""

    event_id: str
    yen: int
    position: int
    total: int


@dataclass(frozen=True, slots=True)
class BillReturned:
    """A note came back out of escrow (refused, cancelled, or by the validator). ``yen`` 0 = unknown."""

    yen: int
    reason: str


@dataclass(frozen=True, slots=True)
class BillRejected:
    """The validator refused a note before escrow (invalid, inhibited)."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class CoinsPaid:
    """The hoppers paid out ``yen`` (journaled). ``requested`` is what was asked for."""

    event_id: str
    yen: int
    requested: int


@dataclass(frozen=True, slots=True)
class Fault:
    """Something staff must see. ``code`` is the device's own code when there is one (kept as is)."""

    kind: FaultKind
    device: str
    detail: str
    code: int | None = None


CashEvent = (
    CoinCredited | CoinRejected | BillEscrowed | BillStacked | BillReturned | BillRejected | CoinsPaid | Fault
)


class CashObserver(Protocol):
    """Receives events on the polling thread (or the caller's thread for dispense/cancel)."""

    def __call__(self, event: CashEvent) -> None:
        """Handle one event; must not block for long."""
