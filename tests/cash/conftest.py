"""Fixtures for the cash unit: the simulator on a real pty, a recording journal, an opened driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_sim.cash_sim import CashUnitSim
from kiosk.devices.cash import CashUnit, CashUnitConfig
from kiosk.devices.cash_link import CashLink
from kiosk.devices.money import CashEvent, CreditSource, FaultKind


class RecordingJournal:
    """Keeps every record in order; ``fail_next`` makes the next call of a kind raise."""

    def __init__(self) -> None:
        self.records: list[tuple[object, ...]] = []
        self.fail_next: dict[str, int] = {}

    def _maybe_fail(self, kind: str) -> None:
        if self.fail_next.get(kind, 0):
            self.fail_next[kind] -= 1
            raise OSError(f"disk full while recording {kind}")

    def record_credit(self, event_id: str, yen: int, source: CreditSource) -> None:
        self._maybe_fail("credit")
        self.records.append(("credit", event_id, yen, str(source)))

    def record_payout(self, event_id: str, yen: int) -> None:
        self._maybe_fail("payout")
        self.records.append(("payout", event_id, yen))

    def record_fault(self, event_id: str, kind: FaultKind, device: str, detail: str) -> None:
        self._maybe_fail("fault")
        self.records.append(("fault", event_id, str(kind), device, detail))

    def of(self, kind: str) -> list[tuple[object, ...]]:
        return [r for r in self.records if r[0] == kind]

    def total(self, kind: str) -> int:
        return sum(int(str(r[2])) for r in self.of(kind))


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
