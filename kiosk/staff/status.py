"""What staff tools say about devices, and what they need of a kiosk's parts (no kivy, no device library).

``DeviceStatus`` is one line of staff diagnostics; ``DeviceProbe`` and ``SelfTester`` give lists of them.
The other protocols say what the staff tools (``kiosk.staff.diagnostics``, ``kiosk.staff.self_test``,
``kiosk.staff.heartbeat``) need of a running kiosk and its drivers: ``StaffKiosk`` is what
``kiosk.app.assemble.RealKiosk`` and the harness's simulated kiosk both offer (mypy checks both where
they are handed to ``kiosk.staff.diagnostics.live_diagnostics``). This module sits below every other
staff module and imports none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kiosk.journal.store import Journal

__all__ = [
    "CashDeviceHealth",
    "CashDevices",
    "CenterHealth",
    "CenterLink",
    "CenterService",
    "CheckLine",
    "DeviceProbe",
    "DeviceStatus",
    "PrinterDevice",
    "PrinterHealth",
    "SelfTester",
    "StaffKiosk",
]


@dataclass(frozen=True)
class DeviceStatus:
    """One device as staff see it: ``device`` reader, cash, printer, center, or a cash device's role."""

    device: str
    ok: bool
    detail: str


class DeviceProbe(Protocol):
    """Anything that can say how the devices are (the simulated or the real kiosk)."""

    def status(self) -> list[DeviceStatus]: ...


class SelfTester(Protocol):
    """Anything that runs the staff self-test (``kiosk.staff.self_test.LiveSelfTest``); ``run`` never
    raises."""

    def run(self) -> list[DeviceStatus]: ...


class CheckLine(Protocol):
    """A line with a device, ok and detail: a ``DeviceStatus`` or a start-up check
    (``kiosk.app.assemble.DeviceCheck``)."""

    @property
    def device(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def detail(self) -> str: ...


class CashDeviceHealth(Protocol):
    """One device of the cash unit (``kiosk.devices.cash.serial_link.DeviceHealth``)."""

    @property
    def role(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def detail(self) -> str: ...


class CashDevices(Protocol):
    """The cash unit's driver (``kiosk.devices.cash.unit.CashUnit``): ``health`` never raises;
    ``self_test`` re-identifies the devices first and raises what the bus raises."""

    def health(self) -> Sequence[CashDeviceHealth]: ...
    def self_test(self) -> Sequence[CashDeviceHealth]: ...


class PrinterHealth(Protocol):
    """The printer's state (``kiosk.devices.printer.status.PrinterHealth``)."""

    @property
    def ok(self) -> bool: ...
    @property
    def summary(self) -> str: ...


class PrinterDevice(Protocol):
    """The printer's driver (``kiosk.devices.printer.driver.IppPrinter``); ``health`` never raises."""

    def health(self) -> PrinterHealth: ...


class CenterHealth(Protocol):
    """The center's answer to GET /v1/health (``relay_client.Health``)."""

    @property
    def status(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def server_time(self) -> datetime: ...


class CenterService(Protocol):
    """The center as the self-test asks it (``relay_client.IssuanceClient``); ``health`` raises the
    client's errors."""

    def health(self) -> CenterHealth: ...


class CenterLink(Protocol):
    """The terminal heartbeat (``kiosk.staff.heartbeat.Heartbeat``): the live "center" line and one
    heartbeat now; neither raises."""

    def link_status(self) -> DeviceStatus: ...
    def beat_now(self) -> DeviceStatus: ...


class StaffKiosk(Protocol):
    """What a running kiosk offers its staff tools: its journal, cash unit, printer, center client and
    heartbeat (``kiosk.app.assemble.RealKiosk``, ``harness.sim.SimKiosk``)."""

    @property
    def journal(self) -> Journal: ...
    @property
    def cash(self) -> CashDevices: ...
    @property
    def printer(self) -> PrinterDevice: ...
    @property
    def client(self) -> CenterService: ...
    @property
    def heartbeat(self) -> CenterLink: ...
