"""Money the acceptors take while the kiosk is not listening (issue #17) and the flow-to-driver hand-over
(issue #11), against the simulator on a real pty and a real journal: a killed driver leaves the acceptor
as it was (its link closed, nothing inhibited), a new driver opens on the same journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import CcTalkError
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.flow.recovery import Recovered, cash_lines
from kiosk.journal.store import Journal
from kiosk.money import (
    UNATTENDED_STAFF_CODE,
    CashError,
    DeviceCounter,
    FaultKind,
    OpenReport,
    PayoutPurpose,
    TakenWhileDown,
)
from kiosk.staff.diagnostics import Diagnostics

COIN_SERIAL = 0x0A0B01  # the simulated coin acceptor's serial number


def _open(sim: CashUnitSim, journal: Journal, run_id: str) -> tuple[CashUnit, OpenReport]:
    unit = CashUnit(
        CashLink(sim.path, reply_timeout=0.5), journal, CashUnitConfig(payout_poll=0.002), run_id=run_id
    )
    return unit, unit.open()


def _die(unit: CashUnit) -> None:
    """What SIGKILL leaves: the link gone, the acceptors as they were (nothing inhibited)."""
    unit.link.close()


def _paying(journal: Journal, txn: str) -> None:
    journal.begin(txn)
    journal.stage(txn, "paying", fee=300)


def _left_enabled(sim: CashUnitSim) -> None:
    """An acceptor some earlier kiosk left enabled."""
    with sim.lock:
        sim.coin.mask, sim.coin.master = 0xFFFF, True


def _coin_counter(journal: Journal) -> int:
    return journal.cash_state().counters["coin"].counter


def test_open_inhibits_the_acceptors_before_anything_else(sim: CashUnitSim, tmp_path: Path) -> None:
    _left_enabled(sim)
    seen: list[tuple[int, int, bytes]] = []
    serve = sim.wire._handler

    def record(dest: int, header: int, data: bytes) -> tuple[int, bytes] | None:
        seen.append((dest, header, data))
        return serve(dest, header, data)

    sim.wire._handler = record
    journal = Journal(tmp_path / "j.sqlite")
    unit, _ = _open(sim, journal, "r1")
    unit.close()
    assert seen[0] == (2, 228, b"\x00")  # master inhibit first: one command stops every coin
    assert seen[1] == (2, 231, b"\x00\x00")
    assert not sim.coin.master and sim.insert_coin(100).startswith("rejected")


def test_coins_taken_while_down_are_credited_to_the_transaction_taking_money(
    sim: CashUnitSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    unit, _ = _open(sim, journal, "r1")
    _paying(journal, "T")
    unit.enable_accepting(300, txn_id="T")
    assert sim.insert_coin(100) == "credit"
    unit.poll_once()
    assert _coin_counter(journal) == 1  # journaled with the credit, in the same write
    _die(unit)
    assert sim.insert_coin(100) == "credit" and sim.insert_coin(50) == "credit"  # nobody listening
    again, found = _open(sim, journal, "r2")
    assert found.taken == (TakenWhileDown("coin", "T", 150, False, 0),)
    assert journal.balance("T").inserted == 250 and _coin_counter(journal) == 3
    assert not sim.coin.master  # inhibited: the pay screen is gone
    again.close()
    third, found = _open(sim, journal, "r3")  # a second restart credits nothing twice
    third.close()
    assert found == OpenReport() and journal.balance("T").inserted == 250
    lines = cash_lines(
        OpenReport((TakenWhileDown("coin", "T", 150, False),)),
        [Recovered("T", "cancelled", 250, None, 0, "RC2")],
    )
    assert lines == ["T: 150 yen inserted while the kiosk was down, credited and owed back (RC2)"]


def test_money_taken_with_no_transaction_taking_money_is_owed_for_staff(
    sim: CashUnitSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    unit, _ = _open(sim, journal, "r1")
    _paying(journal, "A")
    unit.enable_accepting(300, txn_id="A")
    assert unit.cancel(txn_id="A") == 0
    journal.finish("A", "cancelled", "C01")
    _die(unit)
    _left_enabled(sim)  # its inhibit never reached the acceptor
    assert sim.insert_coin(500) == "credit"
    again, found = _open(sim, journal, "r2")
    again.close()
    ((taken),) = found.taken
    assert (taken.yen, taken.unattended, taken.txn_id) == (500, True, "down-r2-coin")
    record = journal.transaction("down-r2-coin")
    assert record is not None and record.finished and record.staff_code == UNATTENDED_STAFF_CODE
    balance = journal.balance("down-r2-coin")
    assert (balance.inserted, balance.refund_owed) == (500, 500) and balance.settled
    assert journal.balance("A").inserted == 0
    (item,) = Diagnostics(journal).open_items()
    assert (item.txn_id, item.staff_code, item.yen) == ("down-r2-coin", "M05", 500)
    assert cash_lines(found, []) == [
        "cash: 500 yen inserted while the kiosk was down and no transaction was taking money, owed for staff"
        " (M05, record down-r2-coin)"
    ]


def _journal_at(journal: Journal, counter: int, txn: str | None = "T", serial: int | None = None) -> None:
    journal.record_counters((DeviceCounter("coin", counter, serial), DeviceCounter("bill", 0)))
    if txn:
        _paying(journal, txn)


def test_counter_wrap_from_255_to_1_while_down(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    _journal_at(journal, 253)
    with sim.lock:
        sim.coin.ring.counter = 253
    _left_enabled(sim)
    for _ in range(4):
        sim.insert_coin(100)  # counters 254, 255, 1, 2
    unit, found = _open(sim, journal, "r")
    unit.close()
    assert found.taken == (TakenWhileDown("coin", "T", 400, False, 0),)
    assert _coin_counter(journal) == 2 and journal.balance("T").inserted == 400


def test_a_reset_while_down_is_said_and_credits_nothing(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    _journal_at(journal, 7)
    sim.power_cycle()  # counter 0: power lost; what it took after event 7 is gone from its memory
    unit, found = _open(sim, journal, "r")
    unit.close()
    assert found.taken == () and len(found.notes) == 1
    assert "reset or powered off while the kiosk was down (event counter 7 -> 0)" in found.notes[0]
    assert [k for k, _d, _t in journal.faults("T")] == [FaultKind.DEVICE_RESET]
    assert _coin_counter(journal) == 0 and journal.balance("T").inserted == 0
    assert cash_lines(found, [])[0].startswith("cash: coin acceptor: reset or powered off")


def test_more_events_than_the_buffer_holds_is_at_least_the_amount_seen(
    sim: CashUnitSim, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    _journal_at(journal, 0)
    _left_enabled(sim)
    for _ in range(7):
        sim.insert_coin(10)
    unit, found = _open(sim, journal, "r")
    unit.close()
    assert found.taken == (TakenWhileDown("coin", "T", 50, False, 2),)
    assert [k for k, _d, _t in journal.faults("T")] == [FaultKind.EVENTS_LOST]
    assert journal.balance("T").inserted == 50 and _coin_counter(journal) == 7
    (line,) = cash_lines(found, [Recovered("T", "cancelled", 50, None, 0, "RC2")])
    assert line.startswith("T: at least 50 yen (2 more events fell off the coin buffer: unknown)")


def test_another_acceptor_than_the_journal_knows_is_a_baseline(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    _journal_at(journal, 3, serial=COIN_SERIAL + 1)
    _left_enabled(sim)
    sim.insert_coin(100)
    unit, found = _open(sim, journal, "r")
    unit.close()
    assert found.taken == () and "is not the journaled" in found.notes[0]
    assert [k for k, _d, _t in journal.faults("T")] == [FaultKind.DEVICE_REPLACED]
    assert journal.cash_state().counters["coin"] == DeviceCounter("coin", 1, COIN_SERIAL)


def test_an_older_journal_gets_the_till_and_a_said_baseline(sim: CashUnitSim, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    journal = Journal(path)
    _paying(journal, "OLD")
    journal.close()
    with sqlite3.connect(path) as db:  # as written before counters, the till and schema versions were kept
        db.executescript("DROP TABLE cash_counter; DROP TABLE cash_till; PRAGMA user_version=0;")
    _left_enabled(sim)
    sim.insert_coin(100)
    journal = Journal(path)
    assert journal.cash_state().taking == "OLD" and journal.cash_state().counters == {}
    unit, found = _open(sim, journal, "r")
    unit.close()
    assert found.taken == () and "no journaled event counter" in found.notes[0]
    assert _coin_counter(journal) == 1 and journal.balance("OLD").inserted == 0


def test_the_transaction_is_an_argument_not_journal_state(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert not hasattr(journal, "current") and not hasattr(journal, "payout_purpose")
    unit, _ = _open(sim, journal, "r")
    _paying(journal, "A")
    unit.enable_accepting(100, txn_id="A")
    journal.begin("B")  # the journal's newest open transaction is another one: it does not matter
    sim.insert_coin(500)
    unit.poll_once()
    assert unit.finish_payment(txn_id="A") == 400
    assert unit.dispense(10, txn_id="B", purpose=PayoutPurpose.REFUND) == 10
    a, b = journal.balance("A"), journal.balance("B")
    assert (a.inserted, a.change, b.inserted, b.refunded) == (500, 400, 0, 10)
    with pytest.raises(CashError, match="A has stopped taking money"):
        unit.enable_accepting(100, txn_id="A")  # a late enable after its payment ended
    unit.cancel(txn_id="C")
    with pytest.raises(CashError, match="C has stopped taking money"):
        unit.enable_accepting(100, txn_id="C")  # the accept step lost the race with a cancel
    assert not sim.coin.master
    unit.close()


def test_a_failed_inhibit_is_sent_again_by_the_next_poll(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    unit, _ = _open(sim, journal, "r")
    _paying(journal, "A")
    unit.enable_accepting(300, txn_id="A")
    unit.link.reply_timeout = 0.05
    sim.set_silent(True)
    with pytest.raises(CcTalkError):
        unit.disable_accepting()
    sim.set_silent(False)
    assert sim.coin.master  # still open on the device
    unit.poll_once()
    assert not sim.coin.master
    unit.close()
