"""The staff self-test, run on demand from the staff screen or ``kiosk diag --self-test`` (no kivy).

``LiveSelfTest(client, cash, printer, heartbeat)`` checks, in order: the center (GET /v1/health), the
printer (``health()``), the cash unit (``self_test()``: the devices re-identified, then their health; or
``health()`` for a driver without it) and the center link (one heartbeat now). Each check gives
``DeviceStatus`` lines; a check that raises gives one failed line: the self-test itself never raises.
``kiosk.staff.diagnostics.Diagnostics.self_test`` refuses to run it while a transaction is open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.staff.diagnostics import DeviceStatus

__all__ = ["LiveSelfTest"]

log = logging.getLogger(__name__)


def _guarded(device: str, check: Callable[[], list[DeviceStatus]]) -> list[DeviceStatus]:
    try:
        return check()
    except Exception as exc:  # one broken device must not hide the others' results
        log.warning("self-test of %s failed: %s: %s", device, type(exc).__name__, exc)
        return [DeviceStatus(device, False, f"{type(exc).__name__}: {exc}")]


class LiveSelfTest:
    """A ``kiosk.staff.diagnostics.SelfTester`` over running parts; any of them may be None (not tested)."""

    def __init__(
        self, client: Any = None, cash: Any = None, printer: Any = None, heartbeat: Any = None
    ) -> None:
        self.client, self.cash, self.printer, self.heartbeat = client, cash, printer, heartbeat

    def run(self) -> list[DeviceStatus]:
        """Every check's lines, in order. Never raises (a failing check gives a failed line)."""
        checks: list[tuple[str, Any, Callable[[], list[DeviceStatus]]]] = [
            ("center", self.client, self._center),
            ("printer", self.printer, self._printer),
            ("cash", self.cash, self._cash),
            ("heartbeat", self.heartbeat, self._heartbeat),
        ]
        return [line for name, part, check in checks if part is not None for line in _guarded(name, check)]

    def _center(self) -> list[DeviceStatus]:
        h = self.client.health()
        detail = f"{h.status}, version {h.version}, center time {h.server_time:%Y-%m-%d %H:%M}"
        return [DeviceStatus("center", h.status == "ok", detail)]

    def _printer(self) -> list[DeviceStatus]:
        health = self.printer.health()
        return [DeviceStatus("printer", bool(health.ok), str(health.summary))]

    def _cash(self) -> list[DeviceStatus]:
        run = getattr(self.cash, "self_test", None) or self.cash.health
        return [DeviceStatus(str(h.role), bool(h.ok), str(h.detail)) for h in run()]

    def _heartbeat(self) -> list[DeviceStatus]:
        line = self.heartbeat.beat_now()
        return [DeviceStatus("heartbeat", bool(line.ok), str(line.detail))]
