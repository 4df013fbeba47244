"""Change the hoppers cannot give: the driver, knowing its stock, refuses the coins and notes whose change
it cannot pay (they come straight back) and says which (``refused_for_change``); exact money still pays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cash_helpers import TXN, RecordingJournal

from firmware_sim.cash.unit import DEFAULT_HOPPERS, CashUnitSim, HopperSpec
from kiosk.devices.cash.policy import refused_for_change
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.money import CoinCredited, CoinRejected

EMPTY = {h.address: 0 for h in DEFAULT_HOPPERS}


@pytest.fixture
def empty_unit(journal: RecordingJournal) -> Iterator[tuple[CashUnit, CashUnitSim]]:
    hoppers = tuple(HopperSpec(h.address, h.coin_yen, 0) for h in DEFAULT_HOPPERS)
    with CashUnitSim(hoppers=hoppers, watchdogs=(None, None), coin_interval=0.001) as sim:
        config = CashUnitConfig(payout_poll=0.002).with_stock(EMPTY)
        unit = CashUnit(CashLink(sim.path, reply_timeout=0.5), journal, config, run_id="x")
        unit.open()
        yield unit, sim
        unit.close()


def test_empty_hoppers_refuse_coins_that_need_change_and_take_the_exact_amount(
    empty_unit: tuple[CashUnit, CashUnitSim], journal: RecordingJournal
) -> None:
    unit, sim = empty_unit
    assert unit.refused_for_change() == frozenset()  # not accepting: nothing to say
    unit.enable_accepting(200, txn_id=TXN)
    assert unit.refused_for_change() == {500, 1000, 5000, 10000}
    assert sim.insert_coin(500) != "credit"  # inhibited: returned to the resident at once
    events = unit.poll_once()
    assert not any(isinstance(e, CoinCredited) for e in events) and unit.credited == 0
    for _ in range(2):
        assert sim.insert_coin(100) == "credit"
    credits = [e.yen for e in unit.poll_once() if isinstance(e, CoinCredited)]
    assert credits == [100, 100] and unit.finish_payment(txn_id=TXN) == 0
    assert journal.total("credit") == 200 and journal.of("payout") == []


def test_a_refused_coin_on_a_polled_acceptor_is_reported_as_rejected(
    empty_unit: tuple[CashUnit, CashUnitSim],
) -> None:
    unit, sim = empty_unit
    unit.enable_accepting(200, txn_id=TXN)
    unit.poll_once()  # the inhibits are on the device
    sim.insert_coin(500)
    assert any(isinstance(e, CoinRejected) for e in unit.poll_once())


def test_with_full_hoppers_nothing_is_refused_for_change(unit: CashUnit) -> None:
    unit.enable_accepting(200, txn_id=TXN)
    assert unit.refused_for_change() == frozenset()


@pytest.mark.parametrize(
    ("due", "credited", "stock", "refused"),
    [
        (200, 0, {100: 0, 500: 0}, {500, 1000}),
        (200, 0, {100: 3, 500: 0}, {1000}),  # 500 -> 300 change is fine; 1000 -> 800 is not
        (200, 100, {100: 0}, {500, 1000}),
        (200, 0, {100: 20, 500: 5}, set()),
        (200, 200, {}, set()),  # nothing due: nothing refused
    ],
)
def test_refused_for_change_table(due: int, credited: int, stock: dict[int, int], refused: set[int]) -> None:
    assert refused_for_change((100, 500, 1000), due, credited, stock) == refused


def test_with_stock_rejects_an_unknown_hopper_or_a_negative_count() -> None:
    with pytest.raises(ValueError, match="no hopper"):
        CashUnitConfig().with_stock({99: 1})
    with pytest.raises(ValueError, match="negative"):
        CashUnitConfig().with_stock({3: -1})
    assert [h.stock for h in CashUnitConfig().with_stock({3: 7}).hoppers] == [7, 50, 20, 20]
