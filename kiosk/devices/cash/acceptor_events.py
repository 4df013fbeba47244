"""The acceptors' events, split from ``kiosk.devices.cash.unit``: reading both event buffers by their
counters, crediting (journaled first, with the counter), faults, escrow, and on open the events the
acceptors took while the kiosk was down (``counters.CashStateJournal``).

``AcceptorEvents`` is mixed into ``CashUnit``, which provides the devices, the journal and the open
payment (``Till``), and calls these methods with its lock held.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from kiosk.devices.cash import cctalk
from kiosk.devices.cash.cctalk import EventBuffer
from kiosk.devices.cash.change import acceptable_denominations
from kiosk.devices.cash.counters import CashStateJournal
from kiosk.devices.cash.hopper import HopperBank
from kiosk.devices.cash.policy import CashUnitConfig, Track, bill_fault_kind, coin_fault_kind, route_escrow
from kiosk.devices.cash.serial_link import CcTalkDevice
from kiosk.devices.cash.till import CreditTo, Till, resync
from kiosk.money import (
    BillEscrowed,
    BillRejected,
    BillReturned,
    BillStacked,
    CashEvent,
    CashJournal,
    CoinCredited,
    CoinRejected,
    CreditSource,
    DeviceCounter,
    Fault,
    FaultKind,
    JournalError,
    OpenReport,
    TakenWhileDown,
    journal_money,
    journaled,
)

__all__ = ["AcceptorEvents", "Handle"]

log = logging.getLogger(__name__)
Handle = Callable[[int, int, str, DeviceCounter, CreditTo], CashEvent | None]
ROLES = {"coin": "coin acceptor", "bill": "bill validator"}


class AcceptorEvents:
    """The event half of ``CashUnit`` (which provides these attributes and ``_publish``/``_accepting``)."""

    journal: CashJournal
    config: CashUnitConfig
    run_id: str
    _coin: CcTalkDevice
    _bill: CcTalkDevice | None
    _coins: Track
    _bills: Track
    _bank: HopperBank
    _state: CashStateJournal | None
    _till: Till | None
    _escrow: tuple[int, int, bool] | None

    def _publish(self, events: list[CashEvent]) -> None:
        raise NotImplementedError  # CashUnit._publish

    def _accepting(self) -> Till | None:
        raise NotImplementedError  # CashUnit._accepting

    def _journal_baselines(self) -> None:
        """A fresh journal and fresh devices (counter 0): the counters are journaled before the acceptors
        are first enabled (they take nothing while inhibited), not at open. Raises JournalError."""
        state = self._state
        tracks = [t for t, _read, _handle in self._tracks() if t.journaled is None and t.last is not None]
        if state is None or not tracks:
            return
        counters = tuple(DeviceCounter(t.name, t.last or 0, t.serial) for t in tracks)
        journaled("event counters", lambda: state.record_counters(counters))
        for track in tracks:
            track.journaled = track.last

    def _tracks(self) -> list[tuple[Track, Callable[[], EventBuffer], Handle]]:
        tracks: list[tuple[Track, Callable[[], EventBuffer], Handle]] = [
            (self._coins, self._coin.read_credit, self._coin_event)
        ]
        if self._bill is not None:
            tracks.append((self._bills, self._bill.read_bill_events, self._bill_event))
        return tracks

    def _poll_events(self) -> list[CashEvent]:
        events: list[CashEvent] = []
        try:
            for track, read, handle in self._tracks():
                self._take(track, read(), handle, events)
            if self._escrow is not None and not any(isinstance(e, BillEscrowed) for e in events):
                self._route_escrow()  # the route reply was lost and nothing happened: send it again
        except JournalError:
            self._publish(events)  # what was counted before the failure is real
            raise
        return events

    def _credit_to(self, track: Track) -> CreditTo:
        """Whose a credit read now is: the open payment's transaction, else nobody's (unattended)."""
        txn = self._till.txn_id if self._till else ""
        return CreditTo(txn, f"unattended-{self.run_id}-{track.name}-{track.seq + 1}")

    def _take(self, track: Track, buffer: EventBuffer, handle: Handle, events: list[CashEvent]) -> None:
        if buffer.counter == 0:
            track.mask = None  # a device fresh from reset may have forgotten our inhibits: send them again
        if track.last is None:
            track.last = buffer.counter  # baseline: those events belong to before we were listening
            return
        news = cctalk.new_events(track.last, buffer)
        to = self._credit_to(track)
        if news.reset:
            track.last, track.mask = 0, None  # re-send the inhibits: the device forgot them
            detail = "event counter back to 0 (power loss)"
            events.append(self._fault(track, FaultKind.DEVICE_RESET, detail, to, counter=0))
            return
        self._process(track, news, handle, events, to, "between polls")

    def _process(
        self,
        track: Track,
        news: cctalk.NewEvents,
        handle: Handle,
        events: list[CashEvent],
        to: CreditTo,
        when: str,
    ) -> None:
        """Act on new events oldest first, each journaled with its counter; then journal the counter alone
        if the last events needed no record. Raises JournalError."""
        if news.lost:
            before = cctalk.previous_counter(news.counters[0])  # events up to here are gone for good
            detail = f"{news.lost} events lost {when}"
            events.append(self._fault(track, FaultKind.EVENTS_LOST, detail, to, counter=before))
        for (a, b), counter in zip(news.pairs, news.counters, strict=True):
            where = DeviceCounter(track.name, counter, track.serial)
            event = handle(a, b, f"{self.run_id}:{track.name}:{track.seq + 1}", where, to)
            track.last, track.seq = counter, track.seq + 1
            if event is not None:
                events.append(event)
        if news.counters and track.last is not None and track.journaled != track.last:
            self._journal_counter(track, track.last)

    def _journal_counter(self, track: Track, counter: int) -> None:
        """Journal ``track``'s counter alone (with a journal that keeps cash state). Raises JournalError."""
        state, where = self._state, (DeviceCounter(track.name, counter, track.serial),)
        if state is not None:
            journaled("event counter", lambda: state.record_counters(where))
            track.journaled = counter

    def _catch_up(self) -> OpenReport:
        """On open: each acceptor's events since the journaled counter, credited to the transaction that
        was taking money (or booked unattended); resets and baselines said. Raises CcTalkError,
        JournalError."""
        books = self._state
        if books is None:
            for track, read, _handle in self._tracks():
                track.last = read().counter  # baseline: those events belong to before we were listening
            return OpenReport()
        state = books.cash_state()
        taken: list[TakenWhileDown] = []
        notes: list[str] = []
        baselines: list[DeviceCounter] = []
        for track, read, handle in self._tracks():
            buffer = read()
            known = state.counters.get(track.name)
            plan = resync(ROLES[track.name], known, buffer, track.serial)
            notes += [plan.note] if plan.note else []
            to = CreditTo(state.taking, f"down-{self.run_id}-{track.name}")
            track.last = track.journaled = buffer.counter
            if plan.kind == "events" and known is not None:
                taken += self._taken_while_down(track, known.counter, buffer, handle, to)
            elif plan.kind == "reset" or plan.replaced:
                kind = FaultKind.DEVICE_RESET if plan.kind == "reset" else FaultKind.DEVICE_REPLACED
                self._fault(track, kind, plan.note, to, counter=buffer.counter)
            elif plan.kind == "baseline" and (buffer.counter or known is not None):
                baselines.append(DeviceCounter(track.name, buffer.counter, track.serial))
            elif plan.kind == "baseline":
                track.journaled = None  # 0 on a fresh journal: journaled before the acceptors are enabled
        if baselines:  # from now on the journal knows where each buffer stood: one write for all
            journaled("event counters", lambda: books.record_counters(tuple(baselines)))
        return OpenReport(tuple(taken), tuple(notes))

    def _taken_while_down(
        self, track: Track, known: int, buffer: EventBuffer, handle: Handle, to: CreditTo
    ) -> list[TakenWhileDown]:
        """Process the events after the journaled counter ``known``; what they credited, if anything.
        Raises JournalError."""
        events: list[CashEvent] = []
        track.last = track.journaled = known
        news = cctalk.new_events(known, buffer)
        try:
            self._process(track, news, handle, events, to, "while the kiosk was down")
        finally:
            self._publish(events)
        yen = sum(e.yen for e in events if isinstance(e, CoinCredited | BillStacked))
        if not yen and not news.lost:
            return []
        return [TakenWhileDown(track.name, to.txn_id or to.unattended, yen, not to.txn_id, news.lost)]

    def _fault(
        self,
        track: Track,
        kind: FaultKind,
        detail: str,
        to: CreditTo,
        code: int | None = None,
        *,
        counter: int | None = None,
    ) -> Fault:
        """Journal a fault of ``track`` (with the event counter it was read at, if any), booked to the
        transaction taking money. Raises JournalError."""
        event_id = f"{self.run_id}:{track.name}-fault:{track.seq}:{kind}"
        where = None if counter is None else DeviceCounter(track.name, counter, track.serial)
        journaled(
            "fault",
            lambda: self.journal.record_fault(
                event_id, kind, track.name, detail, txn_id=to.txn_id, counter=where
            ),
        )
        if counter is not None:
            track.journaled = counter
        return Fault(kind, track.name, detail, code)

    def _credit(
        self, track: Track, event_id: str, yen: int, source: CreditSource, where: DeviceCounter, to: CreditTo
    ) -> tuple[str, int]:
        """Journal, then count, one credit (with its event counter). Returns (the id it was journaled
        under, the open payment's credit total, 0 if the money is not its). With no transaction taking
        money and a journal keeping cash state, the money is booked unattended (owed for staff, M05).
        An id the journal holds elsewhere is booked under a fresh one (``journal_money``): the money is
        kept and staff get an id_conflict fault. Raises JournalError."""
        state = self._state
        if to.txn_id or state is None:
            record = to.txn_id

            def write(i: str) -> None:
                self.journal.record_credit(i, yen, source, txn_id=to.txn_id, counter=where)
        else:
            record = to.unattended
            log.error(
                "%d yen %s credit with no transaction taking money: owed for staff as %s", yen, source, record
            )

            def write(i: str) -> None:
                state.record_unattended(i, yen, source, record_id=to.unattended, counter=where)

        used, fault = journal_money(
            self.journal, f"{source} credit", event_id, write, str(source), txn_id=record
        )
        track.journaled = where.counter
        self._publish([fault] if fault else [])  # staff see it at once; the credit is published after
        if self._till is None or self._till.txn_id != to.txn_id or not to.txn_id:
            return used, 0
        self._till = dataclasses.replace(self._till, credited=self._till.credited + yen)
        return used, self._till.credited

    def _coin_event(
        self, a: int, b: int, event_id: str, where: DeviceCounter, to: CreditTo
    ) -> CashEvent | None:
        if a:
            yen = self._coins.values.get(a)
            if yen is None:
                detail = f"unknown coin type {a}"
                return self._fault(
                    self._coins, FaultKind.UNKNOWN_DENOMINATION, detail, to, a, counter=where.counter
                )
            used, total = self._credit(self._coins, event_id, yen, CreditSource.COIN, where, to)
            return CoinCredited(used, yen, a, total)
        name, kind = cctalk.coin_error_name(b), coin_fault_kind(b)
        if kind is not None:
            return self._fault(self._coins, kind, name, to, b, counter=where.counter)
        return CoinRejected(b, name) if b else None

    def _bill_event(
        self, a: int, b: int, event_id: str, where: DeviceCounter, to: CreditTo
    ) -> CashEvent | None:
        if a:
            yen = self._bills.values.get(a)
            if yen is None:
                detail = f"unknown note type {a}"
                return self._fault(
                    self._bills, FaultKind.UNKNOWN_DENOMINATION, detail, to, a, counter=where.counter
                )
            if b == 1:
                return self._escrowed(a, yen)
            self._escrow = None
            used, total = self._credit(self._bills, event_id, yen, CreditSource.BILL, where, to)
            return BillStacked(used, yen, a, total)
        name = cctalk.bill_status_name(b)
        if b == cctalk.BILL_RETURNED:
            yen = self._escrow[1] if self._escrow else 0
            self._escrow = None
            return BillReturned(yen, name)
        if b == 0 and self._accepting() is not None:
            self._bills.mask = None  # the validator disabled itself (not polled): enable it again
        if b in cctalk.BILL_REJECT_CODES:
            return BillRejected(b, name)
        if b in cctalk.BILL_INFO_CODES:
            return None
        return self._fault(self._bills, bill_fault_kind(b), name, to, b, counter=where.counter)

    def _escrowed(self, position: int, yen: int) -> BillEscrowed:
        """A note waits in escrow: stack it if still wanted and its change can be paid, else return it."""
        till = self._accepting()
        accepted = False
        if till is not None and yen not in self.config.refused_notes:
            stock = self._bank.stock_by_value()
            accepted = yen in acceptable_denominations(till.due, till.credited, (yen,), stock)
        self._escrow = (position, yen, accepted)
        self._route_escrow()
        return BillEscrowed(yen, position, accepted)

    def _route_escrow(self) -> None:
        if self._escrow is not None and self._bill is not None:
            emptied, fault = route_escrow(self._bill, stack=self._escrow[2])
            self._escrow = None if emptied else self._escrow
            self._publish([fault] if fault else [])
