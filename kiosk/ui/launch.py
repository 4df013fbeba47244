"""Starting the touchscreen: Kivy's environment (off screen without a display) and the window on a flow
(``kiosk run --sim``).

Nothing here imports kivy at module level: call ``prepare_kivy`` first, then ``run_app`` (it imports kivy).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.flow.scenario import ScenarioError
from kiosk.ui.env import prepare_environment


def prepare_kivy(kivy_home: Path, *, offscreen: bool | None = None, size: str | None = None) -> bool:
    """Set Kivy's environment (off screen when there is no display, unless told) and the window size
    ("800x600"). Must run before kivy is imported. Returns whether it is off screen. Raises OSError,
    ScenarioError (bad size)."""
    if offscreen is None:
        offscreen = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")  # Kivy leaves the root logger alone
    prepare_environment(kivy_home, offscreen=offscreen)
    if size:
        match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", size)
        if not match:
            raise ScenarioError(f"bad window size {size!r} (expected e.g. 800x600)")
        from kivy.config import Config

        Config.set("graphics", "width", match[1])
        Config.set("graphics", "height", match[2])
    return offscreen


def run_app(
    flow: Any,
    stop: threading.Event | None = None,
    controls: Any = None,
    staff: Any = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Show the touchscreen on ``flow`` until the window closes or ``stop`` is set; with ``controls`` (a
    ``kiosk.sim_controls.SimControls``) the test engineer's harness panel sits to the right of it; with
    ``staff`` (a ``kiosk.diagnostics.StaffAccess``) the staff mode opens from the title (held 3 s).
    ``announce`` gets one line when the first frame is on the window and one when it closes.
    Raises FontMissingError (no CJK font)."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.ui.app import KioskApp

    app = KioskApp(flow, staff) if controls is None else _harness_app(flow, controls, staff)
    if stop is not None:
        Clock.schedule_interval(lambda _dt: app.stop() if stop.is_set() else None, 0.2)

    def first_frame(*_args: object) -> None:
        Window.unbind(on_flip=first_frame)
        width, height = Window.size
        announce(f"touchscreen open: {width}x{height}, first frame drawn")

    Window.bind(on_flip=first_frame)
    app.run()
    announce("touchscreen closed")


def harness_root(flow: Any, controls: Any, staff: Any = None) -> Any:
    """The kiosk shell on ``flow`` (as ``KioskApp`` wires it) with the harness panel to its right.
    Call on the UI thread after ``prepare_kivy``. Returns the root widget; its ``panel`` attribute is the
    panel (close it when done). Raises FontMissingError."""
    from kivy.clock import Clock
    from kivy.uix.boxlayout import BoxLayout

    from kiosk.ui.app import build_shell
    from kiosk.ui.bridge import from_view, to_flow_event
    from kiosk.ui.harness import build_panel

    shell = build_shell(on_intent=lambda kind, value: flow.post(to_flow_event(kind, value)), staff=staff)
    flow.subscribe(lambda view: Clock.schedule_once(lambda _dt: shell.show(from_view(view))))
    root = BoxLayout(orientation="horizontal")
    root.shell, root.panel = shell, build_panel(controls)
    root.add_widget(shell)
    root.add_widget(root.panel)
    return root


def _harness_app(flow: Any, controls: Any, staff: Any = None) -> Any:
    from kiosk.ui.app import KioskApp

    class HarnessApp(KioskApp):  # type: ignore[misc]
        """The kiosk app with the harness panel (``kiosk run --sim``)."""

        title = "myna-kiosk (simulated, test harness)"

        def build(self) -> Any:
            self.root_box = harness_root(self.flow, controls, self.staff)
            return self.root_box

        def on_stop(self) -> None:
            self.root_box.panel.close()

    return HarnessApp(flow, staff)
