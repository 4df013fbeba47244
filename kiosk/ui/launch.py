"""Starting the touchscreen: Kivy's environment (off screen without a display) and the window on a flow.

Nothing here imports kivy at module level: call ``prepare_kivy`` first, then ``run_app`` (it imports kivy).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.ui.env import prepare_environment

if TYPE_CHECKING:
    from kiosk.flow.machine import Flow
    from kiosk.staff.diagnostics import StaffAccess
    from kiosk.ui.app import KioskApp


def prepare_kivy(kivy_home: Path, *, offscreen: bool | None = None, size: str | None = None) -> bool:
    """Set Kivy's environment (off screen when there is no display, unless told) and the window size
    ("800x600"), and lock Kivy's configuration down (``kiosk.ui.lockdown``). Must run before kivy is
    imported. Returns whether it is off screen. Raises OSError, ValueError (bad size)."""
    if offscreen is None:
        offscreen = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")  # Kivy leaves the root logger alone
    prepare_environment(kivy_home, offscreen=offscreen)
    from kiosk.ui.lockdown import lock_config

    try:
        lock_config()  # imports kivy.config (after the environment is set)
    except ImportError:  # no Kivy: the window fails later, with its own one-line error
        return offscreen
    if size:
        match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", size)
        if not match:
            raise ValueError(f"bad window size {size!r} (expected e.g. 800x600)")
        from kivy.config import Config

        Config.set("graphics", "width", match[1])
        Config.set("graphics", "height", match[2])
    return offscreen


def run_app(
    flow: Flow,
    stop: threading.Event | None = None,
    staff: StaffAccess | None = None,
    announce: Callable[[str], None] = print,
    *,
    app: KioskApp | None = None,
) -> None:
    """Show the touchscreen on ``flow`` until the window closes or ``stop`` is set; with ``staff`` (a
    ``kiosk.staff.diagnostics.StaffAccess``) the staff mode opens from the title (held 3 s). ``app`` is a
    ready ``KioskApp`` (subclass) to run instead of the plain one (the harness adds its panel so).
    ``announce`` gets one line when the first frame is on the window and one when it closes.
    Raises FontMissingError (no CJK font)."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.ui.app import KioskApp

    app = app if app is not None else KioskApp(flow, staff)
    if stop is not None:
        Clock.schedule_interval(lambda _dt: app.request_stop() if stop.is_set() else None, 0.2)

    def first_frame(*_args: object) -> None:
        Window.unbind(on_flip=first_frame)
        width, height = Window.size
        announce(f"touchscreen open: {width}x{height}, first frame drawn")

    Window.bind(on_flip=first_frame)
    app.run()
    announce("touchscreen closed")
