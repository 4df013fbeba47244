"""Fixtures for the cash unit: the simulator on a real pty, a recording journal, an opened driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cash_helpers import RecordingJournal

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.money import CashEvent


@pytest.fixture
def journal() -> RecordingJournal:
    return RecordingJournal()


@pytest.fixture
def sim() -> Iterator[CashUnitSim]:
    # Watchdogs off: these tests poll by hand, at their own pace.
    with CashUnitSim(watchdogs=(None, None), coin_interval=0.001) as simulator:
        yield simulator


@pytest.fixture
def events() -> list[CashEvent]:
    return []


@pytest.fixture
def unit(sim: CashUnitSim, journal: RecordingJournal, events: list[CashEvent]) -> Iterator[CashUnit]:
    config = CashUnitConfig(payout_poll=0.002, poll_interval=0.02)
    # A generous reply timeout: other suites may load the machine; tests that time out on purpose lower it.
    cash = CashUnit(CashLink(sim.path, reply_timeout=0.5), journal, config, run_id="t")
    cash.add_observer(events.append)
    cash.open()
    yield cash
    cash.close()
