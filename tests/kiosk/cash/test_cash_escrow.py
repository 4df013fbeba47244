"""Notes: credited only once stacked; refused notes returned from escrow; cancel gives the money back."""

from __future__ import annotations

from cash_helpers import TXN, RecordingJournal

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import Header
from kiosk.devices.cash.unit import CashUnit
from kiosk.money import BillEscrowed, BillRejected, BillReturned, BillStacked, CashEvent, CoinCredited


def kinds(events: list[CashEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_note_credited_only_when_stacked(unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal) -> None:
    unit.enable_accepting(300, txn_id=TXN)
    assert sim.insert_note(1000) == "escrow"
    first = unit.poll_once()
    assert first == [BillEscrowed(1000, 1, accepted=True)]
    assert unit.credited == 0 and journal.of("credit") == []  # in escrow: not money yet
    second = unit.poll_once()
    assert second == [BillStacked("t:bill:2", 1000, 1, 1000)]
    assert sim.status()["stacked_notes"] == 1000
    assert journal.of("credit") == [("credit", "t:bill:2", 1000, "bill")]


def test_refused_and_unaffordable_notes_are_inhibited(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.hoppers.set_stock(5, 0)  # no 500-yen coins: 10000 - 300 = 9700 would need 97 × 100 (we have 50)
    unit.enable_accepting(300, txn_id=TXN)
    assert sim.bill.mask == 0b0101  # 1000, 5000 (4700 = 47 × 100); 2000 refused by config; 10000 unaffordable
    assert sim.insert_note(10000) == "rejected: inhibited"
    assert sim.insert_note(2000) == "rejected: inhibited"
    assert kinds(unit.poll_once()) == ["BillRejected", "BillRejected"]


def test_escrow_guard_returns_a_note_whose_change_cannot_be_paid(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(300, txn_id=TXN)
    for address in (3, 4, 5, 6):
        unit.hoppers.set_stock(address, 0)  # stock gone after the inhibits were set (another payout)
    with sim.lock:
        sim.bill.mask = 0xFFFF  # the validator still takes it
    sim.insert_note(1000)
    assert unit.poll_once() == [BillEscrowed(1000, 1, accepted=False)]
    assert unit.poll_once() == [BillReturned(1000, "bill returned from escrow")]
    assert unit.credited == 0 and sim.status()["returned_notes"] == [1000]


def test_lost_route_command_is_sent_again_and_counted_once(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    unit.enable_accepting(300, txn_id=TXN)
    sim.insert_note(1000)
    sim.lose_requests(1, Header.ROUTE_BILL)
    assert kinds(unit.poll_once()) == ["BillEscrowed"]
    assert sim.status()["escrow"] == 1000  # the stack command never arrived
    assert unit.poll_once() == []  # nothing new: the driver routes the escrow again
    assert kinds(unit.poll_once()) == ["BillStacked"]
    assert unit.poll_once() == [] and journal.total("credit") == 1000


def test_cancel_returns_the_escrowed_note_and_refunds_coins(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, events: list[CashEvent]
) -> None:
    unit.enable_accepting(300, txn_id=TXN)
    sim.insert_coin(100)
    sim.insert_coin(50)
    sim.insert_note(1000)
    sim.lose_requests(1, Header.ROUTE_BILL)  # the note stays in escrow
    unit.poll_once()
    assert sim.status()["escrow"] == 1000
    refunded = unit.cancel(txn_id=TXN)
    assert refunded == 150
    status = sim.status()
    assert status["escrow"] == 0 and status["returned_notes"] == [1000] and status["stacked_notes"] == 0
    assert status["paid_out"] == 150
    assert journal.total("credit") == 150 and journal.total("payout") == 150
    assert any(isinstance(e, BillReturned) and e.yen == 1000 for e in events)
    assert unit.credited == 0 and sim.coin.mask == 0 and not sim.bill.master


def test_cancel_refunds_stacked_note(unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal) -> None:
    unit.enable_accepting(1500, txn_id=TXN)
    sim.insert_note(1000)
    unit.poll_once()
    unit.poll_once()
    assert unit.credited == 1000
    assert unit.cancel(txn_id=TXN) == 1000
    assert sim.status()["paid_out"] == 1000 and journal.total("payout") == 1000


def test_validator_disabled_by_missing_polls_is_enabled_again(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(300, txn_id=TXN)
    with sim.lock:
        sim.bill.master = False  # the validator inhibited itself (not polled for 5 s)
    assert sim.insert_note(1000) == "rejected: master inhibit"
    assert unit.poll_once() == [BillRejected(0, "master inhibit active")]
    assert sim.bill.master
    assert sim.insert_note(1000) == "escrow"


def test_coin_and_note_in_one_poll(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(1200, txn_id=TXN)
    sim.insert_coin(100)
    sim.insert_note(1000)
    polled = unit.poll_once()
    assert [type(e) for e in polled] == [CoinCredited, BillEscrowed]
