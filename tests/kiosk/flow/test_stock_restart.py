"""The real-device kiosk takes its hoppers from ``[[cash.hopper]]`` in kiosk.toml and their stock from the
journal: never counted = empty, counted by staff = that figure, and after a resident's change was paid
and the kiosk restarted on the same journal = counted - paid (the simulators as separate components,
reached as a store's devices are; the devices fixture of tests/kiosk/flow/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from real_kiosk_helpers import ROOT, StoreDevices, wait_no_card, write_config

from harness.scenario import Player, load_scenario
from kiosk.app.assemble import RealKiosk
from kiosk.app.config import load_config
from kiosk.journal.hopper_stock import HopperSlot, refill
from kiosk.journal.store import Journal

pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]
HOPPERS = (
    "reply_timeout = 0.5\n"
    "[[cash.hopper]]\naddress = 3\ncoin = 100\ncapacity = 400\n"
    "[[cash.hopper]]\naddress = 6\ncoin = 50\ncapacity = 300"
)


def test_real_kiosk_hoppers_come_from_the_config_and_their_stock_from_the_journal(
    devices: StoreDevices, tmp_path: Path
) -> None:
    config = load_config(write_config(devices, tmp_path, counted=False, reply_timeout=HOPPERS))
    assert config.cash_hoppers == (HopperSlot(3, 100, 400), HopperSlot(6, 50, 300))
    with RealKiosk(config) as kiosk:
        assert kiosk.cash.hoppers.levels() == {3: (100, 0), 6: (50, 0)}  # never counted: exact amounts only
        assert kiosk.cash.config.journal_stock
        cash_line = next(line for line in kiosk.report.lines() if line.startswith("cash: ok"))
        assert "hopper 3 (100 yen) never counted, exact amounts only until `kiosk cash refill --hopper 3" in (
            cash_line
        )
        assert "hopper 6 (50 yen) never counted" in cash_line
    journal = Journal(config.journal)
    loaded = devices.cash.hoppers[3].stock
    refill(journal, config.cash_hoppers, 3, set_to=loaded)
    refill(journal, config.cash_hoppers, 6, set_to=devices.cash.hoppers[6].stock)
    journal.close()
    with RealKiosk(config) as kiosk:
        assert kiosk.cash.hoppers.levels()[3] == (100, loaded)
        assert "never counted" not in " ".join(kiosk.report.lines())  # counted: no warning
        final = Player(kiosk.flow, devices.hands, lambda _: None).play(
            load_scenario(ROOT / "harness" / "scenarios" / "juminhyo.toml"), step_timeout=30
        )
    wait_no_card()
    assert final.change == 300 and devices.cash.hoppers[3].stock == loaded - 3
    with RealKiosk(config) as kiosk:  # the restart: the figure is what is really in the hopper
        assert kiosk.cash.hoppers.levels()[3] == (100, loaded - 3)
