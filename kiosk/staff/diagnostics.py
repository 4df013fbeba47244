"""Staff diagnostics: what a store clerk needs at the kiosk, read from the journal (no kivy, no device).

``Diagnostics(journal, devices=..., hoppers=...)`` gives the recent transactions (time, id, copies, fee,
money in and out, outcome, staff code: the journal holds no PIN and no personal data, and neither does
anything here; the certificate type is not journaled, so it is not shown), the **open items** staff must
act on (money owed: change or a refund the kiosk could not pay out, M02/PR2/RC2; center/kiosk
disagreements, M04; a cash event id booked twice, M03; a copy that stopped part way, its pages in the
tray), the hoppers' stock (``kiosk.journal.hopper_stock``) and, given a ``DeviceProbe``, each device's status.

``settle`` records that staff handed the money owed over by hand (who, when, how much; refused twice, for
another amount, or while a transaction is open); ``check`` closes a records item the same way (0 yen).
Both are journal points (``kiosk.journal.staff_actions``); the books still balance (``Books.balanced``).
``unlock_passcode`` clears the staff passcode guard's count of wrong codes (a lockout ends at once, in the
running kiosk too), keeping who did it.

``live_diagnostics(kiosk)`` wires it to a running kiosk (``kiosk.staff.status.StaffKiosk``: journal, cash,
printer, center client, heartbeat). ``DeviceStatus``, ``DeviceProbe`` and ``SelfTester`` live in
``kiosk.staff.status`` (below this module and ``kiosk.staff.self_test``) and are re-exported here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kiosk.journal.hopper_stock import HopperSlot, HopperStock, hopper_slots, hopper_stock
from kiosk.journal.store import INCIDENT_STAFF_CODES, Journal, JournalWriteError, StaffAction, TxnRecord
from kiosk.staff.clock import staff_time
from kiosk.staff.self_test import LiveSelfTest
from kiosk.staff.status import (
    CashDevices,
    CenterLink,
    CheckLine,
    DeviceProbe,
    DeviceStatus,
    PrinterDevice,
    SelfTester,
    StaffKiosk,
)

__all__ = [
    "Books",
    "DeviceProbe",
    "DeviceStatus",
    "Diagnostics",
    "LiveDevices",
    "OpenItem",
    "PasscodeCheck",
    "SelfTester",
    "SettleRefused",
    "StaffAccess",
    "StaffRecordError",
    "TxnSummary",
    "live_diagnostics",
]

log = logging.getLogger(__name__)
OWED = "owed"
STAFF_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class SettleRefused(Exception):
    """Staff may not close this item now (unknown, already closed, wrong amount, a transaction open).
    ``str()`` is the English line for the command line; ``code`` and ``params`` let the staff screen say
    it in its own language (catalog key ``staff_why_<code>``)."""

    def __init__(self, message: str, code: str, **params: object) -> None:
        super().__init__(message)
        self.code, self.params = code, params


class StaffRecordError(JournalWriteError):
    """The journal could not record a staff action (the staff screen's error type: it never imports the
    journal). A ``JournalWriteError``, so callers that catch that still do."""


class PasscodeCheck(Protocol):
    """Checks a typed staff passcode: ``kiosk.staff.passcode.PasscodeVerifier`` (never raises), or a
    ``PasscodeGuard`` around one (raises PasscodeLocked; the staff screen then uses it as its guard)."""

    def verify(self, candidate: str) -> bool: ...


@dataclass(frozen=True)
class Books:
    """The money of one transaction: ``owed`` is what is still owed after ``settled`` by hand."""

    inserted: int
    fees_kept: int
    change: int
    refunded: int
    owed: int
    settled: int

    @property
    def balanced(self) -> bool:
        """inserted = fees kept + change + refunds + owed + settled by hand."""
        return self.inserted == self.fees_kept + self.change + self.refunded + self.owed + self.settled


@dataclass(frozen=True)
class TxnSummary:
    """One transaction as staff see it (ids, yen and codes only)."""

    at: datetime
    txn_id: str
    copies: int
    fee: int
    books: Books
    cert_type: str  # "" before an order was priced
    finished: bool
    outcome: str
    staff_code: str


@dataclass(frozen=True)
class OpenItem:
    """Something staff must act on. ``kind``: owed (``yen`` to hand over), discrepancy (center's figure
    ``yen``, the kiosk's ``other``), id_conflict, partial_print (``yen`` pages out of ``other``), and the
    journal's own incidents: disk_full (J02: out of space, no new resident until staff free space and
    restart the kiosk), tail_lost (J03: a power cut may have cost the transaction's last journaled step:
    check its money and the tray). ``txn_id`` "" for an incident that names no transaction."""

    txn_id: str
    item: str
    kind: str
    staff_code: str
    yen: int
    other: int
    at: datetime

    @property
    def money(self) -> bool:
        """Whether closing it means handing money over."""
        return self.kind == OWED


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Diagnostics:
    """Staff's view of one kiosk's journal. Thread-safe as the journal is."""

    def __init__(
        self,
        journal: Journal,
        *,
        devices: DeviceProbe | None = None,
        hoppers: Sequence[HopperSlot] | None = None,
        self_tester: SelfTester | None = None,
    ) -> None:
        self.journal = journal
        self.devices = devices
        self.self_tester = self_tester
        self.hoppers = tuple(hoppers) if hoppers is not None else hopper_slots(())

    def device_status(self) -> list[DeviceStatus] | None:
        """Each device's status, or None without a probe. A failing probe gives one failed line."""
        if self.devices is None:
            return None
        try:
            return list(self.devices.status())
        except Exception as exc:  # a probe must not take the staff screen down
            log.exception("device probe failed")
            return [DeviceStatus("devices", False, f"{type(exc).__name__}: {exc}")]

    def self_test(self) -> list[DeviceStatus]:
        """Run the self-test now (center health, printer, cash unit, a heartbeat). Raises SettleRefused
        (``no_self_test`` without a tester; ``busy`` while a transaction is open: it would talk to the
        devices the resident is using), sqlite3.Error."""
        if self.self_tester is None:
            raise SettleRefused("this kiosk has no self-test (a journal only)", "no_self_test")
        self._refuse_if_busy()
        log.info("staff self-test started")
        return list(self.self_tester.run())

    def hopper_stock(self) -> list[HopperStock]:
        """Each hopper's journaled stock. Raises sqlite3.Error."""
        return hopper_stock(self.journal, self.hoppers)

    def books(self, txn_id: str) -> Books:
        """The money of one transaction. Raises sqlite3.Error."""
        b = self.journal.balance(txn_id)
        settled = sum(a.yen for a in self.journal.staff_actions(txn_id) if a.item == OWED)
        return Books(b.inserted, b.printed_fees, b.change, b.refunded, b.refund_owed - settled, settled)

    def recent(self, limit: int = 20) -> list[TxnSummary]:
        """The last ``limit`` transactions, newest first. Raises sqlite3.Error."""
        txns = self.journal.transactions()[-limit:] if limit > 0 else []
        return [self._summary(t) for t in reversed(txns)]

    def _summary(self, txn: TxnRecord) -> TxnSummary:
        outcome = txn.outcome or ("" if txn.finished else f"open ({txn.stage})")
        return TxnSummary(
            txn.started_at,
            txn.id,
            len(txn.documents),
            txn.fee,
            self.books(txn.id),
            txn.cert_type or "",
            txn.finished,
            outcome,
            txn.staff_code or "",
        )

    def open_items(self) -> list[OpenItem]:
        """Everything staff must still act on, oldest first. Raises sqlite3.Error."""
        closed = {(a.txn_id, a.item) for a in self.journal.staff_actions()}
        items = [item for txn in self.journal.transactions() for item in self._items(txn)]
        items += self._incidents()
        return [i for i in items if (i.txn_id, i.item) not in closed]

    def _incidents(self) -> list[OpenItem]:
        """The journal's incidents (disk full, a lost last write) as records items. Raises sqlite3.Error."""
        return [
            OpenItem(
                i.txn_id,
                f"journal:{i.kind}:{i.seq}",
                i.kind,
                INCIDENT_STAFF_CODES.get(i.kind, ""),
                0,
                0,
                datetime.fromisoformat(i.at),
            )
            for i in self.journal.incidents()
        ]

    def _items(self, txn: TxnRecord) -> list[OpenItem]:
        code, at = txn.staff_code or "", txn.started_at
        items = []
        if txn.finished and txn.refund_owed > 0:
            owed_code = code.split("+")[0]  # the outcome's code; the +M03/+M04 flags are items of their own
            items.append(OpenItem(txn.id, OWED, OWED, owed_code, txn.refund_owed, 0, at))
        for d in self.journal.discrepancies(txn.id):
            items.append(
                OpenItem(
                    txn.id,
                    f"discrepancy:{d.kind}",
                    "discrepancy",
                    d.staff_code,
                    d.center_yen,
                    d.kiosk_yen,
                    at,
                )
            )
        if any(kind == "id_conflict" for kind, _dev, _detail in self.journal.faults(txn.id)):
            items.append(OpenItem(txn.id, "fault:id_conflict", "id_conflict", "M03", 0, 0, at))
        for doc in txn.documents:
            out = doc.pages_printed or 0
            unconfirmed = (doc.error or "").startswith("unconfirmed")  # the printer could not say: check
            if doc.state == "failed" and (0 < out < doc.pages or unconfirmed):
                items.append(
                    OpenItem(txn.id, f"print:{doc.document_id}", "partial_print", code, out, doc.pages, at)
                )
        return items

    def settle(self, txn_id: str, *, amount: int, staff_id: str) -> StaffAction:
        """Journal that staff ``staff_id`` handed over by hand ``amount`` yen, all that ``txn_id`` owes.

        Raises SettleRefused (bad staff id, nothing owed or already settled, another amount, a transaction
        is open), StaffRecordError (a JournalWriteError)."""
        item = self._open(txn_id, OWED, staff_id)
        if amount != item.yen:
            raise SettleRefused(
                f"{txn_id} owes {item.yen} yen, not {amount}: hand over exactly what is owed",
                "wrong_amount",
                owed=item.yen,
                amount=amount,
            )
        return self._close(item, "settled", amount, staff_id)

    def check(self, txn_id: str, item: str, *, staff_id: str) -> StaffAction:
        """Journal that staff ``staff_id`` dealt with a records item (not money owed: ``settle`` that).

        Raises SettleRefused (bad staff id, no such open item, a money item, a transaction is open),
        StaffRecordError (a JournalWriteError)."""
        found = self._open(txn_id, item, staff_id)
        if found.money:
            raise SettleRefused(
                f"{txn_id}: money owed is closed by settling it with the amount handed over", "money_item"
            )
        return self._close(found, "checked", 0, staff_id)

    def unlock_passcode(self, *, staff_id: str) -> int:
        """Journal that staff ``staff_id`` cleared the staff passcode guard's count of wrong codes (a
        back-off or lockout ends; the running kiosk's guard reads it at its next check); the count cleared,
        0 when there was none (nothing written).

        Raises SettleRefused (bad staff id), StaffRecordError (a JournalWriteError)."""
        if not STAFF_ID.fullmatch(staff_id):
            raise SettleRefused("a staff id is 1-32 letters, digits, '.', '_' or '-'", "bad_staff_id")
        try:
            cleared = self.journal.unlock_passcode(staff_id, _now())
        except JournalWriteError as exc:
            raise StaffRecordError(str(exc)) from exc
        if cleared:
            log.info("staff %s: staff passcode unlocked (%d wrong codes in a row cleared)", staff_id, cleared)
        return cleared

    def _open(self, txn_id: str, item: str, staff_id: str) -> OpenItem:
        if not STAFF_ID.fullmatch(staff_id):
            raise SettleRefused("a staff id is 1-32 letters, digits, '.', '_' or '-'", "bad_staff_id")
        self._refuse_if_busy()
        found = next((i for i in self.open_items() if (i.txn_id, i.item) == (txn_id, item)), None)
        if found is None:
            done = [a for a in self.journal.staff_actions(txn_id) if a.item == item]
            if done:
                a = done[0]
                at = staff_time(a.at)
                raise SettleRefused(
                    f"{txn_id}: already {a.kind} by {a.staff_id} at {at}", "already", staff=a.staff_id, at=at
                )
            raise SettleRefused(f"{txn_id}: nothing open ({item})", "nothing_open")
        return found

    def _refuse_if_busy(self) -> None:
        busy = [t.id for t in self.journal.transactions(unfinished_only=True)]
        if busy:
            raise SettleRefused(
                f"a transaction is in progress ({', '.join(busy)}): retry when the kiosk is idle", "busy"
            )

    def _close(self, item: OpenItem, kind: str, yen: int, staff_id: str) -> StaffAction:
        at = _now()
        try:
            written = self.journal.staff_action(item.txn_id, item.item, kind, yen, staff_id, at)
        except StaffRecordError:
            raise
        except JournalWriteError as exc:
            raise StaffRecordError(str(exc)) from exc
        if not written:
            self._refuse_if_busy()  # a transaction started between the check and the write
            raise SettleRefused(f"{item.txn_id}: {item.item} was closed meanwhile", "closed_meanwhile")
        log.info("staff %s: %s %s of %s (%d yen)", staff_id, kind, item.item, item.txn_id, yen)
        return StaffAction(item.txn_id, item.item, kind, yen, staff_id, at)


class LiveDevices:
    """A ``DeviceProbe`` over running drivers: ``cash``, ``printer``, plus fixed ``extra`` lines (e.g. the
    start-up checks of the reader and the center, ``RealKiosk.report.checks``). ``link`` (e.g.
    ``kiosk.staff.heartbeat.Heartbeat``) gives the live "center" line in place of the start-up one. Any of
    them may be None (not shown)."""

    def __init__(
        self,
        cash: CashDevices | None = None,
        printer: PrinterDevice | None = None,
        extra: Sequence[CheckLine] = (),
        *,
        link: CenterLink | None = None,
    ) -> None:
        self.cash, self.printer, self.extra, self.link = cash, printer, tuple(extra), link

    def status(self) -> list[DeviceStatus]:
        """The devices' status now. Never raises (the drivers' health calls never raise)."""
        drivers = (("cash", self.cash), ("printer", self.printer), ("center", self.link))
        live = {name for name, driver in drivers if driver is not None}
        out = [DeviceStatus(c.device, c.ok, c.detail) for c in self.extra if c.device not in live]
        if self.link is not None:
            out.append(self.link.link_status())
        if self.printer is not None:
            health = self.printer.health()
            out.append(DeviceStatus("printer", health.ok, health.summary))
        if self.cash is not None:
            out += [DeviceStatus(h.role, h.ok, h.detail) for h in self.cash.health()]
        return out


@dataclass(frozen=True)
class StaffAccess:
    """What the touchscreen's staff mode needs: the diagnostics and the passcode check."""

    diagnostics: Diagnostics
    verifier: PasscodeCheck


def live_diagnostics(
    kiosk: StaffKiosk, *, extra: Sequence[CheckLine] = (), hoppers: Sequence[HopperSlot] | None = None
) -> Diagnostics:
    """Diagnostics of a running kiosk (``RealKiosk`` or ``SimKiosk``): its live devices (``extra``
    start-up checks too), the center link, the self-test. Never raises."""
    link = kiosk.heartbeat
    devices = LiveDevices(kiosk.cash, kiosk.printer, extra, link=link)
    tester = LiveSelfTest(kiosk.client, kiosk.cash, kiosk.printer, link)
    return Diagnostics(kiosk.journal, devices=devices, hoppers=hoppers, self_tester=tester)
