"""The staff self-test, run on demand from the staff screen or ``kiosk diag --self-test`` (no kivy).

``LiveSelfTest(client, cash, printer, heartbeat)`` checks, in order: the center (GET /v1/health), the
printer (``health()``), the cash unit (``self_test()``: the devices re-identified, then their health)
and the center link (one heartbeat now). Each check gives ``DeviceStatus`` lines; a check that raises
gives one failed line: the self-test itself never raises.
``kiosk.staff.diagnostics.Diagnostics.self_test`` refuses to run it while a transaction is open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from kiosk.staff.clock import staff_time
from kiosk.staff.status import CashDevices, CenterLink, CenterService, DeviceStatus, PrinterDevice

__all__ = ["LiveSelfTest"]

log = logging.getLogger(__name__)


def _guarded(device: str, check: Callable[[], list[DeviceStatus]]) -> list[DeviceStatus]:
    try:
        return check()
    except Exception as exc:  # one broken device must not hide the others' results
        log.warning("self-test of %s failed: %s: %s", device, type(exc).__name__, exc)
        return [DeviceStatus(device, False, f"{type(exc).__name__}: {exc}")]


class LiveSelfTest:
    """A ``kiosk.staff.status.SelfTester`` over running parts; any of them may be None (not tested)."""

    def __init__(
        self,
        client: CenterService | None = None,
        cash: CashDevices | None = None,
        printer: PrinterDevice | None = None,
        heartbeat: CenterLink | None = None,
    ) -> None:
        self.client, self.cash, self.printer, self.heartbeat = client, cash, printer, heartbeat

    def run(self) -> list[DeviceStatus]:
        """Every check's lines, in order. Never raises (a failing check gives a failed line)."""
        out: list[DeviceStatus] = []
        if self.client is not None:
            out += _guarded("center", partial(_center, self.client))
        if self.printer is not None:
            out += _guarded("printer", partial(_printer, self.printer))
        if self.cash is not None:
            out += _guarded("cash", partial(_cash, self.cash))
        if self.heartbeat is not None:
            out += _guarded("heartbeat", partial(_heartbeat, self.heartbeat))
        return out


def _center(client: CenterService) -> list[DeviceStatus]:
    h = client.health()
    detail = f"{h.status}, version {h.version}, center time {staff_time(h.server_time)}"
    return [DeviceStatus("center", h.status == "ok", detail)]


def _printer(printer: PrinterDevice) -> list[DeviceStatus]:
    health = printer.health()
    return [DeviceStatus("printer", health.ok, health.summary)]


def _cash(cash: CashDevices) -> list[DeviceStatus]:
    return [DeviceStatus(h.role, h.ok, h.detail) for h in cash.self_test()]


def _heartbeat(link: CenterLink) -> list[DeviceStatus]:
    line = link.beat_now()
    return [DeviceStatus("heartbeat", line.ok, line.detail)]
