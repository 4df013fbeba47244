"""The kiosk window with the test engineer's panel to its right (``kiosk-harness sim``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.ui.launch import run_app

if TYPE_CHECKING:
    from harness.controls import SimControls
    from kiosk.flow.machine import Flow
    from kiosk.staff.diagnostics import StaffAccess
    from kiosk.ui.app import KioskApp


def harness_root(flow: Flow, controls: SimControls, staff: StaffAccess | None = None) -> Any:
    """The kiosk shell on ``flow`` (as ``KioskApp`` wires it) with the harness panel to its right.
    Call on the UI thread after ``prepare_kivy``. Returns the root widget; its ``panel`` attribute is the
    panel (close it when done). Raises FontMissingError."""
    from kivy.clock import Clock
    from kivy.uix.boxlayout import BoxLayout

    from harness.ui.panel import build_panel
    from kiosk.ui.app import build_shell
    from kiosk.ui.bridge import from_view, to_flow_event

    shell = build_shell(on_intent=lambda kind, value: flow.post(to_flow_event(kind, value)), staff=staff)
    flow.subscribe(lambda view: Clock.schedule_once(lambda _dt: shell.show(from_view(view))))
    root = BoxLayout(orientation="horizontal")
    root.shell, root.panel = shell, build_panel(controls)
    root.add_widget(shell)
    root.add_widget(root.panel)
    return root


def harness_app(flow: Flow, controls: SimControls, staff: StaffAccess | None = None) -> KioskApp:
    """A ``KioskApp`` whose window holds the shell and the harness panel. Imports kivy."""
    from kiosk.ui.app import KioskApp

    class HarnessApp(KioskApp):
        """The kiosk app with the harness panel (``kiosk-harness sim``)."""

        title = "myna-kiosk (simulated, test harness)"

        def build(self) -> Any:
            from kiosk.ui.app import freeze_heap

            self.root_box = harness_root(self.flow, controls, self.staff)
            self.attach_guard()
            freeze_heap()
            return self.root_box

        def on_stop(self) -> None:
            self.root_box.panel.close()

    return HarnessApp(flow, staff)


def run_with_panel(
    flow: Flow,
    stop: threading.Event | None,
    controls: SimControls,
    staff: StaffAccess | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the window with the panel until it closes or ``stop`` is set. Raises FontMissingError."""
    run_app(flow, stop, staff, announce, app=harness_app(flow, controls, staff))
