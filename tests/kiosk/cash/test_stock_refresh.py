"""A refill counts without a restart: the driver re-reads the hoppers' figures (``stock_source``) as each
payment starts, so coins it refused for want of change are taken once staff have loaded the hoppers; a
source that fails leaves the driver's own figures (and the kiosk running)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cash_helpers import TXN, RecordingJournal

from firmware_sim.cash.unit import DEFAULT_HOPPERS, CashUnitSim, HopperSpec
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.journal.hopper_stock import HopperSlot, refill, stock_source
from kiosk.journal.store import Journal

EMPTY = {h.address: 0 for h in DEFAULT_HOPPERS}
HUNDREDS = next(h.address for h in DEFAULT_HOPPERS if h.coin_yen == 100)


@pytest.fixture
def refillable(journal: RecordingJournal) -> Iterator[tuple[CashUnit, CashUnitSim, dict[int, int]]]:
    figures = dict(EMPTY)  # what staff have recorded (the journal, in the real kiosk)
    hoppers = tuple(HopperSpec(h.address, h.coin_yen, 20 * (h.coin_yen == 100)) for h in DEFAULT_HOPPERS)
    with CashUnitSim(hoppers=hoppers, watchdogs=(None, None), coin_interval=0.001) as sim:
        config = CashUnitConfig(payout_poll=0.002).with_stock(EMPTY)
        unit = CashUnit(
            CashLink(sim.path, reply_timeout=0.5), journal, config, run_id="r", stock_source=lambda: figures
        )
        unit.open()
        yield unit, sim, figures
        unit.close()


def test_a_refill_recorded_between_payments_is_used_by_the_next_one(
    refillable: tuple[CashUnit, CashUnitSim, dict[int, int]], journal: RecordingJournal
) -> None:
    unit, sim, figures = refillable
    unit.enable_accepting(200, txn_id=TXN)
    assert 500 in unit.refused_for_change()  # nothing to give 300 yen change from
    unit.cancel(txn_id=TXN)
    figures[HUNDREDS] = 20  # staff load twenty 100-yen coins: `kiosk cash refill --hopper 3 --add 20`
    unit.enable_accepting(200, txn_id="T-2")
    assert 500 not in unit.refused_for_change()
    assert sim.insert_coin(500) == "credit"
    unit.poll_once()
    assert unit.credited == 500 and unit.finish_payment(txn_id="T-2") == 300
    assert journal.total("payout") == 300


def test_a_failing_source_keeps_the_drivers_figures(
    refillable: tuple[CashUnit, CashUnitSim, dict[int, int]], caplog: pytest.LogCaptureFixture
) -> None:
    unit, _sim, _figures = refillable

    def broken() -> dict[int, int]:
        raise OSError("journal unreadable")

    unit.stock_source = broken
    unit.enable_accepting(200, txn_id=TXN)  # does not raise: the payment goes on with what the driver knows
    assert 500 in unit.refused_for_change()
    assert "could not be re-read" in caplog.text


def test_the_real_kiosks_source_reads_staff_refills_from_the_journal(tmp_path: Path) -> None:
    slots = (HopperSlot(3, 100, 400), HopperSlot(4, 10, 100))
    journal = Journal(tmp_path / "j.sqlite")
    source = stock_source(slots, journal)
    assert source() == {3: 0, 4: 0}  # never counted: empty
    refill(journal, slots, 3, set_to=120)
    refill(journal, slots, 4, add=30)
    assert source() == {3: 120, 4: 30}  # the next payment sees it, no restart
    journal.close()
