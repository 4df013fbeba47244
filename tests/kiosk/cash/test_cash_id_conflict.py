"""A cash event id the journal already holds for another transaction (the lost-money bug of fixed run
ids across restarts): the driver still credits the coin and journals the payout for the current
resident, under a fresh id, and reports an id_conflict fault for staff (M03)."""

from __future__ import annotations

from pathlib import Path

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.journal.store import Balance, Journal
from kiosk.money import CashEvent, CoinCredited, CoinsPaid, Fault, FaultKind


def _pay(sim: CashUnitSim, journal: Journal, txn: str, events: list[CashEvent]) -> int:
    """One payment of 100 yen with a 500-yen coin on a driver whose run id is always "fixed"."""
    unit = CashUnit(
        CashLink(sim.path, reply_timeout=0.5), journal, CashUnitConfig(payout_poll=0.002), run_id="fixed"
    )
    unit.add_observer(events.append)
    unit.open()
    try:
        journal.begin(txn)
        unit.enable_accepting(100, txn_id=txn)
        assert sim.insert_coin(500) == "credit"
        unit.poll_once()
        return unit.finish_payment(txn_id=txn)
    finally:
        unit.close()


def test_reused_ids_after_a_restart_lose_no_money(sim: CashUnitSim, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    first_events: list[CashEvent] = []
    assert _pay(sim, journal, "A", first_events) == 400
    journal.finish("A", "completed", "OK")
    events: list[CashEvent] = []
    assert _pay(sim, journal, "B", events) == 400  # the restarted driver: ids fixed:coin:1, fixed:payout:1…
    balance = journal.balance("B")
    assert (balance.inserted, balance.change) == (500, 400)  # credited and paid, nothing dropped
    assert journal.balance("A") == Balance(500, 400, 0, 0, 0)  # the first resident's record untouched
    conflicts = [e for e in events if isinstance(e, Fault) and e.kind is FaultKind.ID_CONFLICT]
    assert conflicts and all(e.detail.startswith("M03:") for e in conflicts)
    credit = next(e for e in events if isinstance(e, CoinCredited))
    assert credit.event_id.startswith("fixed:coin:1~") and credit.total == 500
    assert all(
        e.event_id.startswith("fixed:payout:") and "~" in e.event_id
        for e in events
        if isinstance(e, CoinsPaid)
    )
    kinds = {kind for kind, _device, _detail in journal.faults("B")}
    assert kinds == {FaultKind.ID_CONFLICT} and journal.faults("A") == []
