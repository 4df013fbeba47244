"""The kiosk's cash unit: coin acceptor, bill validator with escrow and change hoppers on one ccTalk line.

Money rules: a credit is journaled (``CashJournal.record_credit`` returns) before it is counted; a note
is credited only once stacked; event buffers are read by their counter, so a lost or repeated reply
never counts a coin twice; events that fell off a device buffer are a fault, never silent; a dispense
is never re-sent (a lost reply is resolved with the hopper's status) and what WAS paid is journaled
and reported, also when a hopper runs dry.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from kiosk.devices.cash import cctalk
from kiosk.devices.cash.cctalk import CcTalkError, EventBuffer
from kiosk.devices.cash.change import acceptable_denominations
from kiosk.devices.cash.hopper import HopperBank, HopperConfig
from kiosk.devices.cash.policy import (
    CashUnitConfig,
    Track,
    acceptor_health,
    bill_fault_kind,
    bill_values,
    coin_fault_kind,
    coin_values,
    expect_category,
    inhibit_mask,
    refused_for_change,
    route_escrow,
)
from kiosk.devices.cash.poll import PollLoop
from kiosk.devices.cash.serial_link import CashLink, CcTalkDevice, DeviceHealth, DeviceIdentity
from kiosk.devices.cash.stock import stock_journal
from kiosk.money import (
    BillEscrowed,
    BillRejected,
    BillReturned,
    BillStacked,
    CashError,
    CashEvent,
    CashJournal,
    CoinCredited,
    CoinRejected,
    CreditSource,
    DispenseError,
    Fault,
    FaultKind,
    JournalError,
    journal_money,
    journaled,
)

__all__ = ["CashError", "CashUnit", "CashUnitConfig", "DispenseError", "HopperConfig", "JournalError"]

log = logging.getLogger(__name__)
Observer = Callable[[CashEvent], None]
StockSource = Callable[[], Mapping[int, int]]


class CashUnit:
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
        self._lock = threading.RLock()
        self._observers: list[Observer] = []
        self._faults: deque[Fault] = deque(maxlen=50)
        self._due = self._credited = 0
        self._accepting = False
        self._escrow: tuple[int, int, bool] | None = None  # (position, yen, accepted) awaiting its outcome
        self._loop = PollLoop(
            self.poll_once,
            c.poll_interval,
            self._journal_failed,
            lambda exc: self._publish([Fault(FaultKind.LINK, "cash unit", f"not answering: {exc}")]),
        )

    # --- life cycle and diagnostics ---------------------------------------------------------------
    def open(self) -> None:
        """Open the link, identify every device, take event baselines, inhibit everything, enable hoppers.

        Raises CcTalkError (link, no answer) or CashError (a device is not what the config says).
        """
        self.link.open()
        try:
            self.identify()
            with self._lock:
                self._poll_events()  # first reads are baselines: nothing in them is credited
                self._apply_acceptance()
                self._bank.enable_all()
        except Exception:
            self.link.close()
            raise

    def close(self) -> None:
        """Stop polling, inhibit acceptance (best effort) and close the link."""
        self.stop_polling()
        with self._lock:
            self._accepting = False
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
            if self._bill is not None:
                found[self._bill.address] = expect_category(self._bill, "Bill Validator")
                self._bills.values = bill_values(self._bill)
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
        """Yen credited (journaled) in the current payment."""
        return self._credited

    @property
    def amount_due(self) -> int:
        """Yen the current payment asks for."""
        return self._due

    @property
    def hoppers(self) -> HopperBank:
        """The change hoppers (levels, refills, health)."""
        return self._bank

    def enable_accepting(self, amount_due: int) -> None:
        """Accept coins and notes towards ``amount_due`` (only those whose change can be paid).

        Raises ValueError for a non-positive amount, CcTalkError if the devices cannot be set.
        """
        if amount_due <= 0:
            raise ValueError(f"amount due must be positive, got {amount_due}")
        with self._lock:
            self._due, self._accepting = amount_due, True
            self._bank.refresh(self.stock_source)
            self._apply_acceptance()

    def disable_accepting(self) -> None:
        """Inhibit every coin and note. Raises CcTalkError if the devices cannot be set."""
        with self._lock:
            self._accepting = False
            self._apply_acceptance()

    def _apply_acceptance(self) -> None:
        stock = self._bank.stock_by_value()
        self._set_mask(self._coin, self._coins, stock, frozenset())
        if self._bill is not None:
            self._set_mask(self._bill, self._bills, stock, self.config.refused_notes)

    def _set_mask(
        self, device: CcTalkDevice, track: Track, stock: dict[int, int], refused: frozenset[int]
    ) -> None:
        mask = inhibit_mask(track.values, self._due, self._credited, stock, refused) if self._accepting else 0
        track.send_mask(device, mask)

    def refused_for_change(self) -> frozenset[int]:
        """Denominations refused now because the hoppers' stock cannot pay their change (empty when not
        accepting): the resident must pay the exact amount. Never raises for a valid configuration."""
        with self._lock:
            if not self._accepting:
                return frozenset()
            notes = {v for v in self._bills.values.values() if v not in self.config.refused_notes}
            offered = set(self._coins.values.values()) | (notes if self._bill is not None else set())
            return refused_for_change(offered, self._due, self._credited, self._bank.stock_by_value())

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
        """Read both event buffers, count new credits (journaled first), route escrowed notes, and
        publish the events. Returns them. Raises JournalError (nothing counted for that event, the next
        poll retries it with the same event id) or CcTalkError (link; safe to call again).
        """
        with self._lock:
            events = self._poll_events()
            if events or None in (self._coins.mask, self._bills.mask):
                self._apply_acceptance()
        self._publish(events)
        return events

    def _poll_events(self) -> list[CashEvent]:
        events: list[CashEvent] = []
        try:
            self._take(self._coins, self._coin.read_credit(), self._coin_event, events)
            if self._bill is not None:
                self._take(self._bills, self._bill.read_bill_events(), self._bill_event, events)
                if self._escrow is not None and not any(isinstance(e, BillEscrowed) for e in events):
                    self._route_escrow()  # the route reply was lost and nothing happened: send it again
        except JournalError:
            self._publish(events)  # what was counted before the failure is real
            raise
        return events

    def _take(
        self,
        track: Track,
        buffer: EventBuffer,
        handle: Callable[[int, int, str], CashEvent | None],
        events: list[CashEvent],
    ) -> None:
        if buffer.counter == 0:
            track.mask = None  # a device fresh from reset may have forgotten our inhibits: send them again
        if track.last is None:
            track.last = buffer.counter  # baseline: those events belong to before we were listening
            return
        news = cctalk.new_events(track.last, buffer)
        if news.reset:
            track.last, track.mask = 0, None  # re-send the inhibits: the device forgot them
            events.append(self._fault(track, FaultKind.DEVICE_RESET, "event counter back to 0 (power loss)"))
            return
        if news.lost:
            events.append(self._fault(track, FaultKind.EVENTS_LOST, f"{news.lost} events lost between polls"))
        for (a, b), counter in zip(news.pairs, news.counters, strict=True):
            event = handle(a, b, f"{self.run_id}:{track.name}:{track.seq + 1}")
            track.last, track.seq = counter, track.seq + 1
            if event is not None:
                events.append(event)

    def _fault(self, track: Track, kind: FaultKind, detail: str, code: int | None = None) -> Fault:
        event_id = f"{self.run_id}:{track.name}-fault:{track.seq}:{kind}"
        journaled("fault", lambda: self.journal.record_fault(event_id, kind, track.name, detail))
        return Fault(kind, track.name, detail, code)

    def _credit(self, event_id: str, yen: int, source: CreditSource) -> tuple[str, int]:
        """Journal, then count, one credit. Returns (the id it was journaled under, the credit total).
        An id the journal holds for another transaction is booked under a fresh one (``journal_money``):
        the resident keeps the money and staff get an id_conflict fault. Raises JournalError."""
        used, fault = journal_money(
            self.journal,
            f"{source} credit",
            event_id,
            lambda i: self.journal.record_credit(i, yen, source),
            str(source),
        )
        self._publish([fault] if fault else [])  # staff see it at once; the credit is published after
        self._credited += yen
        return used, self._credited

    def _coin_event(self, a: int, b: int, event_id: str) -> CashEvent | None:
        if a:
            yen = self._coins.values.get(a)
            if yen is None:
                return self._fault(self._coins, FaultKind.UNKNOWN_DENOMINATION, f"unknown coin type {a}", a)
            used, total = self._credit(event_id, yen, CreditSource.COIN)
            return CoinCredited(used, yen, a, total)
        name, kind = cctalk.coin_error_name(b), coin_fault_kind(b)
        if kind is not None:
            return self._fault(self._coins, kind, name, b)
        return CoinRejected(b, name) if b else None

    def _bill_event(self, a: int, b: int, event_id: str) -> CashEvent | None:
        if a:
            yen = self._bills.values.get(a)
            if yen is None:
                return self._fault(self._bills, FaultKind.UNKNOWN_DENOMINATION, f"unknown note type {a}", a)
            if b == 1:
                return self._escrowed(a, yen)
            self._escrow = None
            used, total = self._credit(event_id, yen, CreditSource.BILL)
            return BillStacked(used, yen, a, total)
        name = cctalk.bill_status_name(b)
        if b == cctalk.BILL_RETURNED:
            yen = self._escrow[1] if self._escrow else 0
            self._escrow = None
            return BillReturned(yen, name)
        if b == 0 and self._accepting:
            self._bills.mask = None  # the validator disabled itself (not polled): enable it again
        if b in cctalk.BILL_REJECT_CODES:
            return BillRejected(b, name)
        if b in cctalk.BILL_INFO_CODES:
            return None
        return self._fault(self._bills, bill_fault_kind(b), name, b)

    def _escrowed(self, position: int, yen: int) -> BillEscrowed:
        """A note waits in escrow: stack it if still wanted and its change can be paid, else return it."""
        wanted = self._accepting and yen not in self.config.refused_notes
        stock = self._bank.stock_by_value()
        accepted = wanted and yen in acceptable_denominations(self._due, self._credited, (yen,), stock)
        self._escrow = (position, yen, accepted)
        self._route_escrow()
        return BillEscrowed(yen, position, accepted)

    def _route_escrow(self) -> None:
        if self._escrow is not None and self._bill is not None:
            emptied, fault = route_escrow(self._bill, stack=self._escrow[2])
            self._escrow = None if emptied else self._escrow
            self._publish([fault] if fault else [])

    # --- paying out ----------------------------------------------------------------------------------
    def dispense(self, amount: int) -> int:
        """Pay ``amount`` yen from the hoppers. Returns it. Raises DispenseError (with what WAS paid),
        JournalError, CcTalkError, ValueError for a negative amount.
        """
        with self._lock:
            return self._bank.dispense(amount)

    def finish_payment(self) -> int:
        """The fee is covered: stop accepting, pay the change, end the payment. Returns the change paid.

        Raises CashError if less than due was credited (nothing is paid then), DispenseError if the
        change could not be paid in full (the payment is over anyway: nothing can be paid twice).
        """
        with self._lock:
            self.disable_accepting()
            self.poll_once()  # coins that dropped in while we were inhibiting
            if self._credited < self._due:
                raise CashError(f"only {self._credited} of {self._due} yen inserted")
            change = self._credited - self._due
            try:
                return self._bank.dispense(change)
            finally:
                self._due = self._credited = 0

    def cancel(self) -> int:
        """Give the customer's money back: the escrowed note is returned, and everything credited (coins,
        stacked notes) is refunded from the hoppers. Returns the yen refunded.

        Raises DispenseError (with what WAS refunded), JournalError, CcTalkError.
        """
        with self._lock:
            self.disable_accepting()
            if self._escrow is not None:
                self._escrow = (self._escrow[0], self._escrow[1], False)
                self._route_escrow()
            self.poll_once()
            refund = self._credited
            try:
                return self._bank.dispense(refund)
            finally:
                self._due = self._credited = 0
