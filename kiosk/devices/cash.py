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
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.devices import cctalk
from kiosk.devices.cash_hopper import HopperBank, HopperConfig
from kiosk.devices.cash_link import CashLink, CcTalkDevice, DeviceHealth, DeviceIdentity
from kiosk.devices.cctalk import CcTalkError, EventBuffer, RouteCode
from kiosk.devices.change import acceptable_denominations
from kiosk.devices.money import (
    CURRENCY,
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
    journaled,
)

__all__ = ["CashError", "CashUnit", "CashUnitConfig", "DispenseError", "HopperConfig", "JournalError"]

log = logging.getLogger(__name__)
Observer = Callable[[CashEvent], None]


@dataclass(frozen=True, slots=True)
class CashUnitConfig:
    """Bus layout and policy. ``refused_notes`` stay inhibited whatever is due."""

    coin_address: int = int(cctalk.Address.COIN_ACCEPTOR)
    bill_address: int | None = int(cctalk.Address.BILL_VALIDATOR)
    hoppers: tuple[HopperConfig, ...] = (
        HopperConfig(3, 100, 50), HopperConfig(4, 10, 50), HopperConfig(5, 500, 20), HopperConfig(6, 50, 20)
    )
    refused_notes: frozenset[int] = frozenset({2000})
    poll_interval: float = 0.2
    payout_poll: float = 0.05
    payout_seconds_per_coin: float = 0.5
    retries: int = 2


@dataclass
class _Track:
    """Host side of one event buffer: last counter accepted (None = no baseline yet), events taken."""

    name: str
    last: int | None = None
    seq: int = 0
    mask: int | None = None  # last inhibit mask sent (None = unknown: send again)
    values: dict[int, int] = field(default_factory=dict)  # position -> yen


def _parse_value(ident: str, width: int, scale: int) -> int | None:
    """Yen of a "JP…" coin/bill id, None for an empty or foreign position."""
    if not ident.startswith(CURRENCY) or len(ident) < 2 + width:
        return None
    value = cctalk.coin_id_value(ident[2 : 2 + width])
    return None if value is None else value * scale


class CashUnit:
    """Coin acceptor + bill validator + hoppers. Observers get events on the polling thread."""

    def __init__(
        self, link: CashLink, journal: CashJournal, config: CashUnitConfig | None = None, *, run_id: str = ""
    ) -> None:
        self.link, self.journal = link, journal
        self.config = config or CashUnitConfig()
        self.run_id = run_id or uuid.uuid4().hex[:12]  # makes event ids unique across kiosk restarts
        c = self.config
        self._coin = CcTalkDevice(link, c.coin_address, retries=c.retries)
        self._bill = None if c.bill_address is None else CcTalkDevice(link, c.bill_address, retries=c.retries)
        self._hoppers = {h.address: CcTalkDevice(link, h.address, retries=c.retries) for h in c.hoppers}
        self._bank = HopperBank(
            self._hoppers, c.hoppers, journal, self._publish,
            run_id=self.run_id, poll=c.payout_poll, seconds_per_coin=c.payout_seconds_per_coin,
        )
        self._coins, self._bills = _Track("coin"), _Track("bill")
        self._lock = threading.RLock()
        self._observers: list[Observer] = []
        self._faults: deque[Fault] = deque(maxlen=50)
        self._due = self._credited = 0
        self._accepting = False
        self._escrow: tuple[int, int, bool] | None = None  # (position, yen, accepted) awaiting its outcome
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None

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
            found = {self._coin.address: self._expect(self._coin, "Coin Acceptor")}
            self._coins.values = {
                p: v for p in range(1, 17) if (v := _parse_value(self._coin.coin_id(p), 3, 1)) is not None
            }
            if self._bill is not None:
                found[self._bill.address] = self._expect(self._bill, "Bill Validator")
                scale, decimals = self._bill.country_scaling(CURRENCY)
                if decimals:
                    raise CashError(f"bill validator reports {decimals} decimal places for yen")
                ids = {p: self._bill.bill_id(p) for p in range(1, 17)}
                values = {p: _parse_value(i, 4, scale) for p, i in ids.items()}
                self._bills.values = {p: v for p, v in values.items() if v is not None}
            for address, device in self._hoppers.items():
                found[address] = self._expect(device, "Payout")
                self._bank.learn_serial(address, found[address].serial_number)
            return found

    @staticmethod
    def _expect(device: CcTalkDevice, category: str) -> DeviceIdentity:
        identity = device.identify()
        if identity.category.lower() != category.lower():
            raise CashError(f"device {device.address} is a {identity.category!r}, expected {category!r}")
        return identity

    def health(self) -> list[DeviceHealth]:
        """Live status of every device for staff diagnostics (never raises for a device fault)."""
        with self._lock:
            report = [self._device_health("coin acceptor", self._coin)]
            if self._bill is not None:
                report.append(self._device_health("bill validator", self._bill))
            return report + self._bank.health()

    def self_test(self) -> list[DeviceHealth]:
        """Re-identify the devices, then ``health()``. Raises CcTalkError/CashError if identify fails."""
        self.identify()
        return self.health()

    def _device_health(self, role: str, device: CcTalkDevice) -> DeviceHealth:
        try:
            identity = device.identify()
            mask = device.link.command(device.address, cctalk.Header.REQUEST_INHIBIT_STATUS, retries=1)
        except CcTalkError as exc:
            return DeviceHealth(role, device.address, False, f"not answering: {exc}")
        return DeviceHealth(role, device.address, True, f"inhibit mask {mask.hex()}", identity)

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
        self, device: CcTalkDevice, track: _Track, stock: dict[int, int], refused: frozenset[int]
    ) -> None:
        mask = 0
        if self._accepting:
            offered = {v for v in track.values.values() if v not in refused}
            ok = acceptable_denominations(self._due, self._credited, offered, stock)
            mask = sum(1 << (p - 1) for p, v in track.values.items() if v in ok)
        if mask != track.mask:
            device.set_inhibits(mask)
            device.set_master_enabled(mask != 0)
            track.mask = mask

    # --- polling and events ------------------------------------------------------------------------
    def start_polling(self) -> None:
        """Poll the acceptors every ``poll_interval`` on a daemon thread until ``stop_polling``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll_loop, name="cash-poll", daemon=True)
        self._thread.start()

    def stop_polling(self) -> None:
        """Stop the polling thread and wait for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def _poll_loop(self) -> None:
        failures = 0
        while not self._stop.wait(self.config.poll_interval):
            try:
                self.poll_once()
                failures = 0
            except JournalError as exc:
                self.last_error = exc
                log.error("cash unit stopped counting: %s", exc)
                self._stop_accepting_quietly()
                return
            except CcTalkError as exc:
                failures += 1
                self.last_error = exc
                if failures == 3:  # report once per outage, not every poll
                    self._publish([Fault(FaultKind.LINK, "cash unit", f"not answering: {exc}")])

    def _stop_accepting_quietly(self) -> None:
        try:
            self.disable_accepting()
        except CcTalkError as exc:
            log.warning("could not inhibit acceptance: %s", exc)
        self._publish([Fault(FaultKind.JOURNAL, "cash unit", f"stopped: {self.last_error}")])

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
        self, track: _Track, buffer: EventBuffer, handle: Callable[[int, int, str], CashEvent | None],
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

    def _fault(self, track: _Track, kind: FaultKind, detail: str, code: int | None = None) -> Fault:
        event_id = f"{self.run_id}:{track.name}-fault:{track.seq}:{kind}"
        journaled("fault", lambda: self.journal.record_fault(event_id, kind, track.name, detail))
        return Fault(kind, track.name, detail, code)

    def _credit(self, event_id: str, yen: int, source: CreditSource) -> int:
        journaled(f"{source} credit", lambda: self.journal.record_credit(event_id, yen, source))
        self._credited += yen
        return self._credited

    def _coin_event(self, a: int, b: int, event_id: str) -> CashEvent | None:
        if a:
            yen = self._coins.values.get(a)
            if yen is None:
                return self._fault(self._coins, FaultKind.UNKNOWN_DENOMINATION, f"unknown coin type {a}", a)
            return CoinCredited(event_id, yen, a, self._credit(event_id, yen, CreditSource.COIN))
        name = cctalk.coin_error_name(b)
        if b in cctalk.COIN_JAM_CODES:
            return self._fault(self._coins, FaultKind.JAM, name, b)
        if b in cctalk.COIN_FRAUD_CODES:
            return self._fault(self._coins, FaultKind.FRAUD, name, b)
        if b in (36, 255):  # swallowed coin / unspecified alarm: money or device at risk
            return self._fault(self._coins, FaultKind.DEVICE_ERROR, name, b)
        return CoinRejected(b, name) if b else None

    def _bill_event(self, a: int, b: int, event_id: str) -> CashEvent | None:
        if a:
            yen = self._bills.values.get(a)
            if yen is None:
                return self._fault(self._bills, FaultKind.UNKNOWN_DENOMINATION, f"unknown note type {a}", a)
            if b == 1:
                return self._escrowed(a, yen)
            self._escrow = None
            return BillStacked(event_id, yen, a, self._credit(event_id, yen, CreditSource.BILL))
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
        kind = FaultKind.JAM if b in cctalk.BILL_JAM_CODES else FaultKind.DEVICE_ERROR
        return self._fault(self._bills, FaultKind.FRAUD if b in cctalk.BILL_FRAUD_CODES else kind, name, b)

    def _escrowed(self, position: int, yen: int) -> BillEscrowed:
        """A note waits in escrow: stack it if still wanted and its change can be paid, else return it."""
        wanted = self._accepting and yen not in self.config.refused_notes
        stock = self._bank.stock_by_value()
        accepted = wanted and yen in acceptable_denominations(self._due, self._credited, (yen,), stock)
        self._escrow = (position, yen, accepted)
        self._route_escrow()
        return BillEscrowed(yen, position, accepted)

    def _route_escrow(self) -> None:
        if self._escrow is None or self._bill is None:
            return
        code = RouteCode.STACK if self._escrow[2] else RouteCode.RETURN
        try:
            result = self._bill.route_bill(code)
        except CcTalkError as exc:  # the next poll shows whether it happened
            log.warning("route bill %s: %s", code.name, exc)
            return
        if result == cctalk.ROUTE_ESCROW_EMPTY:
            self._escrow = None
        elif result is not None:
            detail = f"route {code.name} failed ({result})"
            self._publish([Fault(FaultKind.DEVICE_ERROR, "bill", detail, result)])

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
