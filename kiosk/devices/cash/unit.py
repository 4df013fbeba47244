"""The kiosk's cash unit: coin acceptor, bill validator with escrow and change hoppers on one ccTalk line.

Money rules: a credit is journaled (``CashJournal.record_credit`` returns) before it is counted; a note
is credited only once stacked; event buffers are read by their counter, so a lost or repeated reply
never counts a coin twice; events that fell off a device buffer are a fault, never silent; a dispense
is never re-sent (a lost reply is resolved with the hopper's status) and what WAS paid is journaled
and reported, also when a hopper runs dry.

The acceptors are separate machines that go on accepting when the kiosk dies. So ``open`` inhibits them
first thing, and (with a journal that keeps cash state, ``counters.CashStateJournal``) credits the
events between the counter journaled with the last event acted on and the device's counter to the
transaction that was taking money, or books them as money taken unattended, owed for staff (M05).
Which transaction takes money and what a payout is for come in as arguments of the calls (``Till``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from kiosk.devices.cash.acceptor_events import AcceptorEvents
from kiosk.devices.cash.cctalk import CcTalkError
from kiosk.devices.cash.counters import state_journal
from kiosk.devices.cash.hopper import HopperBank, HopperConfig
from kiosk.devices.cash.policy import (
    CashUnitConfig,
    Track,
    acceptor_health,
    bill_values,
    coin_values,
    expect_category,
    inhibit_mask,
    refused_for_change,
)
from kiosk.devices.cash.poll import PollLoop
from kiosk.devices.cash.serial_link import CashLink, CcTalkDevice, DeviceHealth, DeviceIdentity
from kiosk.devices.cash.stock import stock_journal
from kiosk.devices.cash.till import Till
from kiosk.money import (
    CashError,
    CashEvent,
    CashJournal,
    DispenseError,
    Fault,
    FaultKind,
    JournalError,
    OpenReport,
    PayoutBooking,
    PayoutPurpose,
)

__all__ = ["CashError", "CashUnit", "CashUnitConfig", "DispenseError", "HopperConfig", "JournalError"]

log = logging.getLogger(__name__)
Observer = Callable[[CashEvent], None]
StockSource = Callable[[], Mapping[int, int]]


class CashUnit(AcceptorEvents):
    """Coin acceptor + bill validator + hoppers. Observers get events on the polling thread."""

    def __init__(
        self,
        link: CashLink,
        journal: CashJournal,
        config: CashUnitConfig | None = None,
        *,
        run_id: str = "",
        stock_source: StockSource | None = None,
    ) -> None:
        """``stock_source``: hopper figures (address → coins), re-read as each payment starts (refills)."""
        self.link, self.journal, self.stock_source = link, journal, stock_source
        self.config = config or CashUnitConfig()
        self.run_id = run_id or uuid.uuid4().hex[:12]  # makes event ids unique across kiosk restarts
        c = self.config
        self._coin = CcTalkDevice(link, c.coin_address, retries=c.retries)
        self._bill = None if c.bill_address is None else CcTalkDevice(link, c.bill_address, retries=c.retries)
        self._hoppers = {h.address: CcTalkDevice(link, h.address, retries=c.retries) for h in c.hoppers}
        self._bank = HopperBank(
            self._hoppers,
            c.hoppers,
            journal,
            self._publish,
            run_id=self.run_id,
            poll=c.payout_poll,
            seconds_per_coin=c.payout_seconds_per_coin,
            stock_log=stock_journal(journal) if c.journal_stock else None,
        )
        self._coins, self._bills = Track("coin"), Track("bill")
        self._state = state_journal(journal)  # None: no counters kept (the first read is a baseline)
        self._lock = threading.RLock()
        self._observers: list[Observer] = []
        self._faults: deque[Fault] = deque(maxlen=50)
        self._till: Till | None = None  # the payment taking money; guarded by _lock
        self._ended = ""  # the last transaction whose payment ended: it may not take money again
        self._escrow: tuple[int, int, bool] | None = None  # (position, yen, accepted) awaiting its outcome
        self._loop = PollLoop(
            self.poll_once,
            c.poll_interval,
            self._journal_failed,
            lambda exc: self._publish([Fault(FaultKind.LINK, "cash unit", f"not answering: {exc}")]),
        )

    # --- life cycle and diagnostics ---------------------------------------------------------------
    def open(self) -> OpenReport:
        """Open the link, inhibit both acceptors first thing, identify every device, credit what the
        acceptors took since the journaled counters (or take baselines), enable the hoppers. Returns what
        was found (money taken while down, resets), for the start-up report.

        Raises CcTalkError (link, no answer), CashError (a device is not what the config says),
        JournalError (the journal could not record what was found; nothing of that event counted).
        """
        self.link.open()
        try:
            with self._lock:
                self._inhibit_now()
                self.identify()
                report = self._catch_up()
                self._apply_acceptance()
                self._bank.enable_all()
        except Exception:
            self.link.close()
            raise
        return report

    def _inhibit_now(self) -> None:
        """Master inhibit and an all-zero mask on both acceptors, before anything else. Raises
        CcTalkError."""
        self._coins.mask = self._bills.mask = None
        self._coins.send_mask(self._coin, 0)
        if self._bill is not None:
            self._bills.send_mask(self._bill, 0)

    def close(self) -> None:
        """Stop polling, inhibit acceptance (best effort) and close the link."""
        self.stop_polling()
        with self._lock:
            if self._till is not None:
                self._till = dataclasses.replace(self._till, accepting=False)
            try:
                self._apply_acceptance()
            except CcTalkError as exc:
                log.warning("could not inhibit the cash unit on close: %s", exc)
            self.link.close()

    def identify(self) -> dict[int, DeviceIdentity]:
        """Identify every device and learn coin/note values from their ids. Raises CcTalkError/CashError."""
        with self._lock:
            found = {self._coin.address: expect_category(self._coin, "Coin Acceptor")}
            self._coins.values = coin_values(self._coin)
            self._coins.serial = found[self._coin.address].serial_number
            if self._bill is not None:
                found[self._bill.address] = expect_category(self._bill, "Bill Validator")
                self._bills.values = bill_values(self._bill)
                self._bills.serial = found[self._bill.address].serial_number
            for address, device in self._hoppers.items():
                found[address] = expect_category(device, "Payout")
                self._bank.learn_serial(address, found[address].serial_number)
            return found

    def health(self) -> list[DeviceHealth]:
        """Live status of every device for staff diagnostics (never raises for a device fault)."""
        with self._lock:
            report = [acceptor_health("coin acceptor", self._coin)]
            if self._bill is not None:
                report.append(acceptor_health("bill validator", self._bill))
            return report + self._bank.health()

    def self_test(self) -> list[DeviceHealth]:
        """Re-identify the devices, then ``health()``. Raises CcTalkError/CashError if identify fails."""
        self.identify()
        return self.health()

    # --- observers, payment state ----------------------------------------------------------------
    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(event)`` for every event (from the polling thread or the caller's thread)."""
        self._observers.append(observer)

    @property
    def recent_faults(self) -> tuple[Fault, ...]:
        """The last faults seen (newest last), for staff diagnostics."""
        return tuple(self._faults)

    def _publish(self, events: list[CashEvent]) -> None:
        self._faults.extend(e for e in events if isinstance(e, Fault))
        for event in events:
            for observer in list(self._observers):
                try:
                    observer(event)
                except Exception:  # an observer bug must not stop money handling
                    log.exception("cash observer failed on %s", type(event).__name__)

    @property
    def credited(self) -> int:
        """Yen credited (journaled) in the current payment (0 when none is open)."""
        with self._lock:
            return self._till.credited if self._till else 0

    @property
    def amount_due(self) -> int:
        """Yen the current payment asks for (0 when none is open)."""
        with self._lock:
            return self._till.due if self._till else 0

    @property
    def hoppers(self) -> HopperBank:
        """The change hoppers (levels, refills, health)."""
        return self._bank

    def enable_accepting(self, amount_due: int, *, txn_id: str) -> None:
        """Accept coins and notes for transaction ``txn_id`` towards ``amount_due`` (only those whose change
        can be paid); what they take is journaled to ``txn_id``.

        Raises ValueError for a non-positive amount or no transaction, CashError when another
        transaction's payment is open or ``txn_id``'s already ended, CcTalkError if the devices cannot be
        set.
        """
        if amount_due <= 0 or not txn_id:
            raise ValueError(
                f"a payment needs a transaction and a positive amount, got {txn_id!r} {amount_due}"
            )
        with self._lock:
            if txn_id == self._ended:  # its payment was cancelled already: never open the acceptors again
                raise CashError(f"transaction {txn_id} has stopped taking money")
            if self._till is not None and self._till.txn_id != txn_id:
                raise CashError(f"transaction {self._till.txn_id} is taking money, not {txn_id}")
            self._journal_baselines()
            credited = self._till.credited if self._till else 0
            self._till = Till(txn_id, amount_due, credited)
            self._bank.refresh(self.stock_source)
            self._apply_acceptance()

    def disable_accepting(self) -> None:
        """Inhibit every coin and note (the payment stays open). Raises CcTalkError if the devices cannot be
        set (the next poll tries again)."""
        with self._lock:
            if self._till is not None:
                self._till = dataclasses.replace(self._till, accepting=False)
            self._apply_acceptance()

    def _accepting(self) -> Till | None:
        return self._till if self._till is not None and self._till.accepting else None

    def _apply_acceptance(self) -> None:
        stock = self._bank.stock_by_value()
        self._set_mask(self._coin, self._coins, stock, frozenset())
        if self._bill is not None:
            self._set_mask(self._bill, self._bills, stock, self.config.refused_notes)

    def _set_mask(
        self, device: CcTalkDevice, track: Track, stock: dict[int, int], refused: frozenset[int]
    ) -> None:
        till = self._accepting()
        mask = inhibit_mask(track.values, till.due, till.credited, stock, refused) if till else 0
        track.send_mask(device, mask)

    def refused_for_change(self) -> frozenset[int]:
        """Denominations refused now because the hoppers' stock cannot pay their change (empty when not
        accepting): the resident must pay the exact amount. Never raises for a valid configuration."""
        with self._lock:
            till = self._accepting()
            if till is None:
                return frozenset()
            notes = {v for v in self._bills.values.values() if v not in self.config.refused_notes}
            offered = set(self._coins.values.values()) | (notes if self._bill is not None else set())
            return refused_for_change(offered, till.due, till.credited, self._bank.stock_by_value())

    # --- polling and events ------------------------------------------------------------------------
    def start_polling(self) -> None:
        """Poll the acceptors every ``poll_interval`` on a daemon thread until ``stop_polling``."""
        self._loop.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it."""
        self._loop.stop()

    @property
    def last_error(self) -> Exception | None:
        """The polling thread's last error (a journal failure stops it; link errors are retried)."""
        return self._loop.last_error

    def _journal_failed(self, exc: JournalError) -> None:
        log.error("cash unit stopped counting: %s", exc)
        try:
            self.disable_accepting()
        except CcTalkError as link_error:
            log.warning("could not inhibit acceptance: %s", link_error)
        self._publish([Fault(FaultKind.JOURNAL, "cash unit", f"stopped: {exc}")])

    def poll_once(self) -> list[CashEvent]:
        """Read both event buffers, count new credits (journaled first, with their counters), route escrowed
        notes, and publish the events. Returns them. Raises JournalError (nothing counted for that event,
        the next poll retries it with the same event id) or CcTalkError (link; safe to call again).
        """
        with self._lock:
            events = self._poll_events()
            if events or None in (self._coins.mask, self._bills.mask):
                self._apply_acceptance()
        self._publish(events)
        return events

    # --- paying out ----------------------------------------------------------------------------------
    def dispense(self, amount: int, *, txn_id: str, purpose: PayoutPurpose) -> int:
        """Pay ``amount`` yen from the hoppers, journaled as ``purpose`` of ``txn_id``. Returns it. Raises
        DispenseError (with what WAS paid), JournalError, CcTalkError, ValueError for a negative amount.
        """
        with self._lock:
            return self._bank.dispense(amount, PayoutBooking(txn_id, purpose))

    def _payment_of(self, txn_id: str) -> Till | None:
        """The open payment if it is ``txn_id``'s (None when none is open). Raises CashError when another
        transaction's payment is open."""
        if self._till is not None and self._till.txn_id != txn_id:
            raise CashError(f"transaction {self._till.txn_id} is taking money, not {txn_id}")
        return self._till

    def finish_payment(self, *, txn_id: str) -> int:
        """``txn_id``'s fee is covered: stop accepting, pay the change, end the payment. Returns the change
        paid.

        Raises CashError if less than due was credited (nothing is paid then; the payment stays open, to
        be cancelled) or another transaction's payment is open, DispenseError if the change could not be
        paid in full (the payment is over anyway: nothing can be paid twice).
        """
        with self._lock:
            if self._payment_of(txn_id) is None:
                raise CashError(f"transaction {txn_id} has no payment open")
            self.disable_accepting()
            self.poll_once()  # coins that dropped in while we were inhibiting
            till = self._till
            assert till is not None
            if till.credited < till.due:
                raise CashError(f"only {till.credited} of {till.due} yen inserted")
            try:
                return self._bank.dispense(
                    till.credited - till.due, PayoutBooking(txn_id, PayoutPurpose.CHANGE)
                )
            finally:
                self._till, self._ended = None, txn_id

    def cancel(self, *, txn_id: str) -> int:
        """Give ``txn_id``'s money back: the escrowed note is returned, and everything credited (coins,
        stacked notes) is refunded from the hoppers. The acceptors are inhibited first, and the
        transaction may not take money again (a late ``enable_accepting`` for it is refused). Returns the
        yen refunded (0 when it had no payment open).

        Raises DispenseError (with what WAS refunded), JournalError, CcTalkError, CashError (another
        transaction's payment is open).
        """
        with self._lock:
            self._payment_of(txn_id)
            self._ended = txn_id
            try:
                self.disable_accepting()
                if self._escrow is not None:
                    self._escrow = (self._escrow[0], self._escrow[1], False)
                    self._route_escrow()
                self.poll_once()
                refund = self._till.credited if self._till else 0
                return self._bank.dispense(refund, PayoutBooking(txn_id, PayoutPurpose.REFUND))
            finally:
                self._till = None
