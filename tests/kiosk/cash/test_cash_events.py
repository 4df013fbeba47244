"""Driver against the simulator over a real pty: event counters, lost/repeated replies, faults, journal."""

from __future__ import annotations

import pytest
from cash_helpers import TXN, RecordingJournal

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import Header
from kiosk.devices.cash.serial_link import CashLink, LinkTimeoutError
from kiosk.devices.cash.unit import CashUnit, JournalError
from kiosk.money import CashEvent, CoinCredited, CoinRejected, Fault, FaultKind


def credits(events: list[CashEvent]) -> list[int]:
    return [e.yen for e in events if isinstance(e, CoinCredited)]


def faults(events: list[CashEvent]) -> list[Fault]:
    return [e for e in events if isinstance(e, Fault)]


def test_coins_credited_once(unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    assert sim.insert_coin(100) == "credit"
    assert sim.insert_coin(50) == "credit"
    events = unit.poll_once()
    assert credits(events) == [100, 50]
    assert unit.poll_once() == []  # nothing new: the same buffer read again counts nothing
    assert unit.credited == 150
    assert journal.of("credit") == [("credit", "t:coin:1", 100, "coin"), ("credit", "t:coin:2", 50, "coin")]


@pytest.mark.parametrize("fault", ["drop", "corrupt"])
def test_lost_or_corrupt_poll_reply_is_repeated_and_counted_once(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, fault: str
) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(500)
    getattr(sim, f"{fault}_replies")(1, Header.READ_BUFFERED_CREDIT)  # the device answered; the host lost it
    assert credits(unit.poll_once()) == [500]
    sim.drop_replies(1, Header.READ_BUFFERED_CREDIT)
    assert unit.poll_once() == []
    assert unit.credited == 500 and journal.total("credit") == 500


def test_poll_that_keeps_failing_raises_and_loses_nothing(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(10)
    unit.link.reply_timeout = 0.05
    sim.drop_replies(3, Header.READ_BUFFERED_CREDIT)  # 1 try + 2 retries
    with pytest.raises(LinkTimeoutError):
        unit.poll_once()
    assert unit.credited == 0
    assert credits(unit.poll_once()) == [10]


def test_counter_wraps_from_255_to_1(unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal) -> None:
    unit.enable_accepting(5000, txn_id=TXN)
    with sim.lock:
        sim.coin.ring.counter = 253
    unit.poll_once()  # after a reset the driver takes whatever is there (counter 253 here) as new…
    journal.records.clear()
    before = unit.credited
    for _ in range(4):
        sim.insert_coin(100)  # counters 254, 255, 1, 2
    assert sim.coin.ring.counter == 2
    assert credits(unit.poll_once()) == [100] * 4
    assert unit.credited - before == 400
    assert faults(unit.poll_once()) == []


def test_baseline_events_from_before_open_not_credited(sim: CashUnitSim, journal: RecordingJournal) -> None:
    with sim.lock:
        sim.coin.mask, sim.coin.master = 0xFFFF, True
    sim.insert_coin(100)  # happened before this driver was listening: cannot know if it was processed
    cash = CashUnit(CashLink(sim.path), journal, run_id="b")
    cash.open()
    try:
        cash.enable_accepting(300, txn_id=TXN)
        assert cash.poll_once() == [] and cash.credited == 0
        sim.insert_coin(50)
        assert credits(cash.poll_once()) == [50]
    finally:
        cash.close()


def test_more_events_than_the_buffer_holds_is_a_fault(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, events: list[CashEvent]
) -> None:
    unit.enable_accepting(5000, txn_id=TXN)
    for _ in range(7):
        sim.insert_coin(10)
    polled = unit.poll_once()
    assert credits(polled) == [10] * 5
    lost = faults(polled)
    assert [(f.kind, f.detail) for f in lost] == [(FaultKind.EVENTS_LOST, "2 events lost between polls")]
    assert [r[2] for r in journal.of("fault")] == ["events_lost"]
    assert lost[0] in events  # observers were told too


def test_device_reset_is_a_fault_and_inhibits_are_sent_again(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(10)
    unit.poll_once()
    sim.power_cycle()
    assert [f.kind for f in faults(unit.poll_once())] == [FaultKind.DEVICE_RESET]
    assert sim.coin.mask != 0 and sim.coin.master  # the driver re-enabled what the reset inhibited
    assert sim.insert_coin(100) == "credit"
    assert credits(unit.poll_once()) == [100]
    assert journal.total("credit") == 110


def test_jam_fraud_and_rejects_are_reported(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(7)  # no such coin
    sim.coin_error(20)  # coin on a string
    sim.jam("coin")
    polled = unit.poll_once()
    assert [e for e in polled if isinstance(e, CoinRejected)] == [CoinRejected(1, "reject coin")]
    assert [(f.kind, f.code) for f in faults(polled)] == [(FaultKind.FRAUD, 20), (FaultKind.JAM, 14)]
    assert sim.insert_coin(100).startswith("rejected")


def test_inhibits_follow_what_is_due(unit: CashUnit, sim: CashUnitSim) -> None:
    assert sim.coin.mask == 0 and not sim.coin.master  # after open: nothing accepted
    unit.enable_accepting(120, txn_id=TXN)
    assert sim.coin.mask == 0b1111 and sim.coin.master
    sim.insert_coin(100)
    unit.poll_once()
    sim.insert_coin(50)
    unit.poll_once()
    assert unit.credited == 150 and sim.coin.mask == 0 and not sim.coin.master  # covered: stop taking money
    assert sim.insert_coin(10).startswith("rejected")


def test_journal_failure_stops_counting_and_retry_counts_once(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(100)
    sim.insert_coin(500)
    journal.fail_next["credit"] = 1
    with pytest.raises(JournalError, match="disk full"):
        unit.poll_once()
    assert unit.credited == 0 and journal.of("credit") == []
    assert credits(unit.poll_once()) == [100, 500]  # same event ids, each once
    assert journal.of("credit") == [("credit", "t:coin:1", 100, "coin"), ("credit", "t:coin:2", 500, "coin")]


def test_journal_failure_midway_keeps_what_was_counted(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.insert_coin(100)
    unit.poll_once()
    sim.insert_coin(50)
    sim.insert_coin(10)

    calls = {"n": 0}
    original = journal.record_credit

    def second_fails(event_id: str, yen: int, source: object, **where: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("power lost")
        original(event_id, yen, source, **where)  # type: ignore[arg-type]

    journal.record_credit = second_fails  # type: ignore[method-assign]
    with pytest.raises(JournalError):
        unit.poll_once()
    assert unit.credited == 150
    journal.record_credit = original  # type: ignore[method-assign]
    assert credits(unit.poll_once()) == [10]
    assert [r[1:3] for r in journal.of("credit")] == [("t:coin:1", 100), ("t:coin:2", 50), ("t:coin:3", 10)]


def test_reset_before_any_event_still_restores_inhibits(unit: CashUnit, sim: CashUnitSim) -> None:
    unit.enable_accepting(1000, txn_id=TXN)
    sim.power_cycle()  # counter 0 before and after: no evidence in the buffer, but inhibits are gone
    assert unit.poll_once() == []
    assert sim.coin.master and sim.insert_coin(100) == "credit"
    assert credits(unit.poll_once()) == [100]
