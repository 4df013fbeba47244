"""Yen denominations, the cash unit's typed events, and the journal hook the driver reports money to.

Amounts are ``int`` yen everywhere (no floats). The journal hook is the one place money becomes
durable: the driver calls it and waits for it to return BEFORE it counts a credit or reports a
payout, so a crash or a hook failure never leaves money counted that is not journaled.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

COINS = (10, 50, 100, 500)
NOTES = (1000, 2000, 5000, 10000)
CURRENCY = "JP"
ID_CONFLICT_STAFF_CODE = "M03"  # a money event id the journal already holds for another transaction
UNATTENDED_STAFF_CODE = "M05"  # money an acceptor took while no transaction was taking money (kiosk down)
log = logging.getLogger(__name__)


def format_yen(amount: int) -> str:
    """``1200`` → ``"¥1,200"``."""
    return f"¥{amount:,}"


class CreditSource(enum.StrEnum):
    """Where a credit came from, as passed to ``CashJournal.record_credit``."""

    COIN = "coin"
    BILL = "bill"


class PayoutPurpose(enum.StrEnum):
    """What coins leaving the hoppers are for, as passed to ``CashJournal.record_payout``."""

    CHANGE = "change"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class PayoutBooking:
    """Whose money a payout is and why: handed to the driver as an argument of each payout call."""

    txn_id: str
    purpose: PayoutPurpose


@dataclass(frozen=True, slots=True)
class DeviceCounter:
    """The last event counter processed from one acceptor's event buffer (``device`` coin or bill), with
    the serial number of the device it came from (None: not known)."""

    device: str
    counter: int
    serial: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.counter <= 255:
            raise ValueError(f"an event counter is 0..255, got {self.counter}")


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
    DEVICE_REPLACED = "device_replaced"  # another serial number than the journal's: its events are not ours
    ID_CONFLICT = "id_conflict"  # a money event id was already journaled for another transaction


class CashError(Exception):
    """Base of the cash unit driver's errors (ccTalk link/protocol errors are ``CcTalkError``)."""


class JournalError(CashError):
    """The journal hook raised: the operation stopped and the event was not counted."""


class DispenseError(CashError):
    """The hoppers paid less than ``requested``; ``paid`` is what actually came out (and was journaled)."""

    def __init__(self, requested: int, paid: int, reason: str) -> None:
        self.requested, self.paid, self.reason = requested, paid, reason
        super().__init__(f"paid {paid} of {requested} yen: {reason}")


class JournalConflict(Exception):
    """The journal already holds ``event_id`` for another transaction (or with other figures): not a
    replay but a fault (ids reused across restarts once hid lost money). Nothing was recorded."""

    def __init__(self, event_id: str, kind: str, recorded_txn: str, current_txn: str) -> None:
        self.event_id, self.kind = event_id, kind
        self.recorded_txn, self.current_txn = recorded_txn, current_txn
        super().__init__(
            f"{kind} event id {event_id!r} is already journaled for transaction {recorded_txn!r},"
            f" not {current_txn!r}"
        )


# --- the journal hook ------------------------------------------------------------------------------
class CashJournal(Protocol):
    """Durable record of money, implemented by the caller (the transaction's SQLite journal).

    Each method must return only once the record is durable. ``event_id`` is stable: if the driver
    calls again with the same id (it retries a credit whose hook call raised), the journal must treat
    it as the same event (e.g. a UNIQUE key), so money is never recorded twice. The same id arriving for
    ANOTHER transaction is a fault: ``record_credit``/``record_payout`` raise ``JournalConflict`` and
    the driver books the money again under a fresh id (see ``journal_money``). Any other exception stops
    the driver's operation; the driver raises ``JournalError`` and counts nothing for that event.

    Every record names its transaction (``txn_id``, "" for none): the driver is told by the flow, as
    arguments of its calls, which transaction takes money and what a payout is for; nothing passes
    through the journal's attributes. ``counter`` (when given) is the acceptor's event counter this
    event was read at: the journal keeps it in the same durable write, so after a restart the driver
    knows which events it has processed.
    """

    def record_credit(
        self, event_id: str, yen: int, source: CreditSource, *, txn_id: str, counter: DeviceCounter | None
    ) -> None:
        """A coin was accepted or a note was stacked: ``yen`` is now ``txn_id``'s credit."""

    def record_payout(self, event_id: str, yen: int, *, txn_id: str, purpose: PayoutPurpose) -> None:
        """``yen`` left the hoppers for ``txn_id`` (change or refund). Called with what WAS paid, also on
        a shortfall."""

    def record_fault(
        self,
        event_id: str,
        kind: FaultKind,
        device: str,
        detail: str,
        *,
        txn_id: str,
        counter: DeviceCounter | None,
    ) -> None:
        """A fault staff must see (events lost, jam, fraud, reset, payout shortfall, …)."""


def journaled(what: str, call: Callable[[], None]) -> None:
    """Run one journal hook call. Raises JournalConflict as is; any other exception becomes JournalError
    (the caller then counts nothing)."""
    try:
        call()
    except JournalConflict:
        raise
    except Exception as exc:
        raise JournalError(f"journal failed to record {what}: {exc}") from exc


def journal_money(
    journal: CashJournal, what: str, event_id: str, record: Callable[[str], None], device: str, *, txn_id: str
) -> tuple[str, Fault | None]:
    """Journal one money event with ``record(event_id)``. Returns (the id it was booked under, the fault
    staff must see or None).

    On ``JournalConflict`` (the id is already journaled for another transaction) the money is still
    real and still ``txn_id``'s resident's: it is booked again under a fresh id, an ``id_conflict``
    fault with staff code M03 is journaled, and the conflict is logged at ERROR. Money is never dropped.
    Raises JournalError when the journal fails (nothing counted).
    """
    try:
        journaled(what, lambda: record(event_id))
        return event_id, None
    except JournalConflict as conflict:
        fresh = f"{event_id}~{uuid.uuid4().hex[:8]}"
        journaled(what, lambda: record(fresh))
        detail = (
            f"{ID_CONFLICT_STAFF_CODE}: {what} event id {event_id} was already journaled for transaction"
            f" {conflict.recorded_txn}; booked to {conflict.current_txn or 'no transaction'} as {fresh}"
        )
        log.error("cash event id conflict (staff code %s): %s", ID_CONFLICT_STAFF_CODE, detail)
        kind = FaultKind.ID_CONFLICT
        journaled(
            "fault",
            lambda: journal.record_fault(
                f"{fresh}:conflict", kind, device, detail, txn_id=txn_id, counter=None
            ),
        )
        return fresh, Fault(kind, device, detail)


class NullJournal:
    """A journal that keeps nothing (diagnostics, where no customer money moves)."""

    def record_credit(
        self, event_id: str, yen: int, source: CreditSource, *, txn_id: str, counter: DeviceCounter | None
    ) -> None:
        """Do nothing."""

    def record_payout(self, event_id: str, yen: int, *, txn_id: str, purpose: PayoutPurpose) -> None:
        """Do nothing."""

    def record_fault(
        self,
        event_id: str,
        kind: FaultKind,
        device: str,
        detail: str,
        *,
        txn_id: str,
        counter: DeviceCounter | None,
    ) -> None:
        """Do nothing."""


# --- typed events delivered to observers --------------------------------------------------------
# Coins and notes have events of their own although CoinCredited and BillStacked, and CoinRejected and
# BillRejected, carry the same fields: on purpose, not a duplicate. A coin is credited as it drops, a note
# only once it reaches the cashbox after escrow (BillEscrowed, then BillStacked or BillReturned); observers
# tell them apart by type (the field log writes coin_in or note_in, and a rejection's type name), so one
# event with a source field would move that test into every observer and change the field log's lines.
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


@dataclass(frozen=True, slots=True)
class CashState:
    """What the journal kept for the cash unit across restarts: the last event counter processed per
    acceptor (``coin``, ``bill``) and the transaction that was taking money ("" for none)."""

    counters: Mapping[str, DeviceCounter]
    taking: str = ""


@dataclass(frozen=True, slots=True)
class TakenWhileDown:
    """Money an acceptor took while the kiosk was not listening, found when the cash unit opened.

    ``txn_id`` is the transaction that was taking money (credited to it; recovery settles it) or, when
    ``unattended``, the record the money was booked to as owed for staff (M05). ``lost`` events fell off
    the device's 5-event buffer: the amount is then at least ``yen``, the rest unknown."""

    device: str
    txn_id: str
    yen: int
    unattended: bool
    lost: int = 0


@dataclass(frozen=True, slots=True)
class OpenReport:
    """What ``CashUnit.open`` found: money taken while down, and what it must say (device resets, a
    baseline taken, a replaced device), one line each."""

    taken: tuple[TakenWhileDown, ...] = ()
    notes: tuple[str, ...] = ()


CashEvent = (
    CoinCredited | CoinRejected | BillEscrowed | BillStacked | BillReturned | BillRejected | CoinsPaid | Fault
)


class CashObserver(Protocol):
    """Receives events on the polling thread (or the caller's thread for dispense/cancel)."""

    def __call__(self, event: CashEvent) -> None:
        """Handle one event; must not block for long."""
