"""The change hoppers: exact payouts from a set of single-coin ccTalk hoppers, with status checks.

Dispense (header 167) is sent in the cipher-less "ITA serial" form — the hopper's 3 serial-number
bytes (LSB first) + the coin count — which unencrypted hoppers accept [docs/devices.md §1.4, §1.6]; no
cipher key (160) round trip. A dispense changes state, so it is never re-sent: when its reply is
lost the hopper's event counter (166) tells whether it was taken, and 166's paid/unpaid counts say
what came out. Every coin that came out is journaled (``record_payout``) before it is reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kiosk.devices.cash import cctalk
from kiosk.devices.cash.cctalk import CcTalkError, FrameError, HopperStatus
from kiosk.devices.cash.change import ChangeError, make_change
from kiosk.devices.cash.serial_link import CcTalkDevice, DeviceHealth, LinkTimeoutError, NakError
from kiosk.devices.cash.stock import HopperStockJournal
from kiosk.money import (
    CashEvent,
    CashJournal,
    CoinsPaid,
    DispenseError,
    Fault,
    FaultKind,
    JournalError,
    PayoutBooking,
    journal_money,
    journaled,
)

log = logging.getLogger(__name__)
MAX_PER_DISPENSE = 255


@dataclass(frozen=True, slots=True)
class HopperConfig:
    """A single-coin hopper: its bus address, coin value and how many coins staff loaded."""

    address: int
    coin_yen: int
    stock: int


class HopperBank:
    """Several hoppers (one coin value each; several may share a value) and the driver's stock count."""

    def __init__(
        self,
        devices: dict[int, CcTalkDevice],
        configs: tuple[HopperConfig, ...],
        journal: CashJournal,
        publish: Callable[[list[CashEvent]], None],
        *,
        run_id: str,
        poll: float = 0.05,
        seconds_per_coin: float = 0.5,
        stock_log: HopperStockJournal | None = None,
    ) -> None:
        self._devices, self._journal, self._publish = devices, journal, publish
        self._stock_log = stock_log  # None: the stock lives in memory only (the simulated kiosk)
        self._value = {h.address: h.coin_yen for h in configs}
        self._stock = {h.address: h.stock for h in configs}
        self._serials: dict[int, int] = {}
        self._run_id, self._poll, self._per_coin = run_id, poll, seconds_per_coin
        self._payouts = 0

    def learn_serial(self, address: int, serial_number: int) -> None:
        """Remember a hopper's serial number (it goes into every dispense)."""
        self._serials[address] = serial_number

    def enable_all(self) -> None:
        """Send 164/165 to every hopper (they are disabled after power-up). Raises CcTalkError."""
        for device in self._devices.values():
            device.enable_hopper(True)

    def levels(self) -> dict[int, tuple[int, int]]:
        """Address → (coin yen, coins the driver believes are loaded)."""
        return {a: (self._value[a], n) for a, n in self._stock.items()}

    def set_stock(self, address: int, count: int) -> None:
        """Staff loaded or counted a hopper. Raises ValueError for an unknown hopper or count < 0."""
        if address not in self._stock or count < 0:
            raise ValueError(f"no hopper at {address} or negative count {count}")
        self._stock[address] = count

    def refresh(self, source: Callable[[], Mapping[int, int]] | None) -> None:
        """Take the figures ``source`` gives (address → coins, e.g. the journal after a staff refill).
        Never raises: if ``source`` fails, the driver's own figures stay (logged)."""
        if source is None:
            return
        try:
            for address, count in source().items():
                self.set_stock(address, count)
        except Exception:  # the figures we have are still the best we know
            log.exception("hopper stock could not be re-read; keeping the driver's figures")

    def stock_by_value(self) -> dict[int, int]:
        """Coin yen → coins available over all hoppers of that value."""
        stock: dict[int, int] = {}
        for address, count in self._stock.items():
            stock[self._value[address]] = stock.get(self._value[address], 0) + count
        return stock

    def health(self) -> list[DeviceHealth]:
        """Each hopper's identity, test-hopper flags, last payout and level (never raises)."""
        report = []
        for address, device in self._devices.items():
            role = f"hopper {self._value[address]} yen"
            try:
                identity = device.identify()
                flags = cctalk.hopper_flag_names(device.test_hopper())
                status = device.hopper_status()
            except CcTalkError as exc:
                detail = f"not answering: {exc}"
                report.append(DeviceHealth(role, address, False, detail, level=self._stock[address]))
                continue
            bad = tuple(f for f in flags if f != "payout disabled")
            detail = f"last payout paid {status.paid}, unpaid {status.unpaid}"
            report.append(DeviceHealth(role, address, not bad, detail, identity, self._stock[address], flags))
        return report

    def dispense(self, amount: int, booking: PayoutBooking) -> int:
        """Pay exactly ``amount`` yen, journaled as ``booking`` says (whose money, change or refund). When
        a hopper comes up short its stock is set to 0 and the rest is re-planned from the other hoppers.
        Returns ``amount``.

        Raises DispenseError (with the yen actually paid) when it cannot be completed, JournalError when
        the journal hook fails (the coins it was told about are the ones paid), ValueError if < 0.
        """
        if amount < 0:
            raise ValueError(f"cannot dispense a negative amount: {amount}")
        paid = 0
        for _ in range(len(self._devices) + 1):
            if paid == amount:
                break
            try:
                plan = make_change(amount - paid, self.stock_by_value())
            except ChangeError:
                raise DispenseError(amount, paid, "the hoppers cannot make the rest exactly") from None
            paid += self._pay_plan(plan, booking)
        if paid != amount:
            raise DispenseError(amount, paid, "hoppers kept coming up short")
        return paid

    def _pay_plan(self, plan: dict[int, int], booking: PayoutBooking) -> int:
        """Pay a plan hopper by hopper; stops at the first shortfall. Returns yen paid."""
        paid = 0
        for value, count in sorted(plan.items(), reverse=True):
            for address in [a for a, v in self._value.items() if v == value and self._stock[a] > 0]:
                while count:
                    want = min(count, self._stock[address], MAX_PER_DISPENSE)
                    if want == 0:
                        break
                    coins = self._pay_from(address, want, booking)
                    paid += coins * value
                    count -= coins
                    if coins < want:
                        self._stock[address] = 0  # empty or jammed: out of the plan until staff act
                        return paid
            if count:
                return paid
        return paid

    def _pay_from(self, address: int, count: int, booking: PayoutBooking) -> int:
        """One dispense command; returns coins paid (journaled). With a stock log the dispense is journaled
        before (coins asked) and after (coins paid): an exception or a crash in between leaves the coins
        asked counted as paid. Raises JournalError, CcTalkError."""
        log_ = self._stock_log
        if log_ is None:
            return self._dispense(address, count, booking)
        event_id = f"{self._run_id}:payout:{self._payouts + 1}"  # the id its payout is journaled under
        value = self._value[address]
        journaled("hopper dispense", lambda: log_.hopper_dispensing(event_id, address, value, count))
        paid = self._dispense(address, count, booking)
        try:
            journaled("hopper paid", lambda: log_.hopper_dispensed(event_id, paid))
        except JournalError as exc:  # the payout itself is journaled; unresolved, the figure errs low
            log.error("hopper %d: %s", address, exc)
        return paid

    def _dispense(self, address: int, count: int, booking: PayoutBooking) -> int:
        device, value = self._devices[address], self._value[address]
        before = device.hopper_status()
        try:
            counter = device.dispense(self._serials[address], count)
        except NakError:
            self._fault(address, "refused the dispense (NAK)", booking)
            return 0
        except (LinkTimeoutError, FrameError) as exc:
            log.warning("dispense reply from hopper %d lost (%s); checking its status", address, exc)
            status = device.hopper_status()  # never re-send 167: it could pay twice
            if status.counter == before.counter:
                self._fault(address, "dispense not taken (no reply, counter unchanged)", booking)
                return 0
            counter = status.counter
        status = self._wait_done(device, counter, count)
        self._stock[address] = max(0, self._stock[address] - status.paid)
        if status.paid:
            self._payouts += 1
            self._journal_payout(address, status.paid * value, count * value, booking)
        if status.paid < count:
            flags = ", ".join(cctalk.hopper_flag_names(device.test_hopper())) or "no flags"
            self._fault(address, f"paid {status.paid} of {count} coins ({flags})", booking)
        return status.paid

    def _journal_payout(self, address: int, yen: int, requested: int, booking: PayoutBooking) -> None:
        """Journal coins that came out, then publish them. An id the journal holds for another transaction
        is booked under a fresh one with an id_conflict fault (``journal_money``). Raises JournalError."""
        event_id, fault = journal_money(
            self._journal,
            "payout",
            f"{self._run_id}:payout:{self._payouts}",
            lambda i: self._journal.record_payout(i, yen, txn_id=booking.txn_id, purpose=booking.purpose),
            f"hopper {address} ({self._value[address]} yen)",
            txn_id=booking.txn_id,
        )
        paid = CoinsPaid(event_id, yen, requested)
        self._publish([fault, paid] if fault else [paid])

    def _wait_done(self, device: CcTalkDevice, counter: int, count: int) -> HopperStatus:
        """Poll 166 until the payout with ``counter`` has finished; emergency-stop it on timeout."""
        deadline = time.monotonic() + 1.0 + self._per_coin * count
        while True:
            status = device.hopper_status()
            if status.counter == counter and status.remaining == 0:
                return status
            if time.monotonic() > deadline:
                device.emergency_stop()
                status = device.hopper_status()
                return HopperStatus(status.counter, 0, status.paid, count - status.paid)
            time.sleep(self._poll)

    def _fault(self, address: int, detail: str, booking: PayoutBooking) -> None:
        self._payouts += 1
        event_id = f"{self._run_id}:payout-fault:{self._payouts}"
        device = f"hopper {address} ({self._value[address]} yen)"
        journaled(
            "fault",
            lambda: self._journal.record_fault(
                event_id, FaultKind.PAYOUT, device, detail, txn_id=booking.txn_id, counter=None
            ),
        )
        self._publish([Fault(FaultKind.PAYOUT, device, detail)])
