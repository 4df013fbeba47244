"""Hopper payouts: exact amounts, shortfalls with what WAS paid, lost dispense replies, journal first."""

from __future__ import annotations

import pytest
from cash_helpers import CHANGE, TXN, RecordingJournal

from firmware_sim.cash.unit import CashUnitSim, HopperSpec
from kiosk.devices.cash.cctalk import Header
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig, DispenseError, HopperConfig, JournalError
from kiosk.money import CashEvent, CoinsPaid, Fault, FaultKind


def paid_out(sim: CashUnitSim) -> int:
    return int(str(sim.status()["paid_out"]))


def test_dispense_exact_amount_over_several_hoppers(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    assert unit.dispense(1860, txn_id=TXN, purpose=CHANGE) == 1860
    assert paid_out(sim) == 1860 and journal.total("payout") == 1860
    assert sim.hoppers[5].total_paid == 3 and sim.hoppers[3].total_paid == 3  # 3×500 + 3×100 + 50 + 10
    assert unit.hoppers.levels() == {3: (100, 47), 4: (10, 49), 5: (500, 17), 6: (50, 19)}


def test_hopper_empty_mid_dispense_is_made_up_from_other_hoppers(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, events: list[CashEvent]
) -> None:
    sim.set_hopper_stock(3, address=3)  # the driver believes 50 × 100 yen; only 3 are really there
    assert (
        unit.dispense(900, txn_id=TXN, purpose=CHANGE) == 900
    )  # 500 + 3 × 100, then the missing 100 as 50 + 5 × 10
    assert paid_out(sim) == 900 and journal.total("payout") == 900
    assert unit.hoppers.levels()[3] == (100, 0)
    assert [f.kind for f in events if isinstance(f, Fault)] == [FaultKind.PAYOUT]


def _single_hopper_unit(sim: CashUnitSim, journal: RecordingJournal) -> CashUnit:
    config = CashUnitConfig(bill_address=None, hoppers=(HopperConfig(3, 100, 50),), payout_poll=0.002)
    cash = CashUnit(CashLink(sim.path, reply_timeout=0.5), journal, config, run_id="s")
    cash.open()
    return cash


def test_shortfall_reports_exactly_what_was_paid(journal: RecordingJournal) -> None:
    with CashUnitSim(hoppers=(HopperSpec(3, 100, 3),), watchdogs=(None, None), coin_interval=0.001) as sim:
        cash = _single_hopper_unit(sim, journal)
        try:
            with pytest.raises(DispenseError) as info:
                cash.dispense(500, txn_id=TXN, purpose=CHANGE)
            assert (info.value.requested, info.value.paid) == (500, 300)
            assert "paid 300 of 500 yen" in str(info.value)
            assert journal.of("payout") == [("payout", "s:payout:1", 300)]
            assert "payout timeout" in str(journal.of("fault")[0][4])
            assert paid_out(sim) == 300
        finally:
            cash.close()


def test_jammed_hopper_stops_with_paid_amount(journal: RecordingJournal) -> None:
    with CashUnitSim(hoppers=(HopperSpec(3, 100, 50),), watchdogs=(None, None), coin_interval=0.001) as sim:
        cash = _single_hopper_unit(sim, journal)
        try:
            sim.jam("hopper", after_coins=2)
            with pytest.raises(DispenseError) as info:
                cash.dispense(400, txn_id=TXN, purpose=CHANGE)
            assert info.value.paid == 200 == paid_out(sim) == journal.total("payout")
            assert "opto blocked" in str(journal.of("fault")[0][4])
        finally:
            cash.close()


@pytest.mark.parametrize("fault", ["drop", "corrupt"])
def test_lost_dispense_reply_is_never_resent(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, fault: str
) -> None:
    getattr(sim, f"{fault}_replies")(1, Header.DISPENSE_HOPPER_COINS)
    assert unit.dispense(300, txn_id=TXN, purpose=CHANGE) == 300
    assert paid_out(sim) == 300 and sim.hoppers[3].counter == 1  # one dispense command, not two
    assert journal.total("payout") == 300


def test_dispense_request_lost_on_the_way_pays_from_elsewhere(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal
) -> None:
    sim.lose_requests(1, Header.DISPENSE_HOPPER_COINS)  # the hopper never saw it: counter unchanged
    assert unit.dispense(100, txn_id=TXN, purpose=CHANGE) == 100
    assert paid_out(sim) == 100 and journal.total("payout") == 100
    assert sim.hoppers[3].total_paid == 0  # the 100-yen hopper is out of the plan; 50 + 5 × 10 paid it


def test_disabled_hoppers_refuse_and_nothing_is_paid(unit: CashUnit, sim: CashUnitSim) -> None:
    sim.power_cycle()  # hoppers come back disabled: every dispense is NAKed
    with pytest.raises(DispenseError) as info:
        unit.dispense(160, txn_id=TXN, purpose=CHANGE)
    assert info.value.paid == 0 == paid_out(sim)


def test_journal_failure_on_payout_stops_and_never_pays_twice(
    unit: CashUnit, sim: CashUnitSim, journal: RecordingJournal, events: list[CashEvent]
) -> None:
    journal.fail_next["payout"] = 1
    with pytest.raises(JournalError, match="payout"):
        unit.dispense(600, txn_id=TXN, purpose=CHANGE)
    first = paid_out(sim)
    assert first == 500  # the 500-yen coin left the hopper; the journal failed; we stopped there
    assert not [e for e in events if isinstance(e, CoinsPaid)]  # nothing reported that is not journaled


def test_negative_or_impossible_amounts(unit: CashUnit) -> None:
    with pytest.raises(ValueError, match="negative"):
        unit.dispense(-10, txn_id=TXN, purpose=CHANGE)
    with pytest.raises(DispenseError, match="cannot make"):
        unit.dispense(5, txn_id=TXN, purpose=CHANGE)
    assert unit.dispense(0, txn_id=TXN, purpose=CHANGE) == 0


def test_health_reports_levels_and_flags(unit: CashUnit, sim: CashUnitSim) -> None:
    sim.set_hopper_stock(0, address=4)
    with pytest.raises(DispenseError):
        unit.dispense(10, txn_id=TXN, purpose=CHANGE)  # the only 10-yen hopper is really empty
    report = {h.address: h for h in unit.health()}
    assert report[2].ok and report[2].identity is not None and report[2].identity.category == "Coin Acceptor"
    assert report[40].ok
    assert not report[4].ok and "payout timeout" in report[4].flags and report[4].level == 0
    assert report[3].ok and report[3].level == 50
    unit.link.reply_timeout = 0.05
    sim.set_silent(True)
    assert not any(h.ok for h in unit.health())
