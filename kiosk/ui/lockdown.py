"""What the kiosk window refuses: no key leaves, reconfigures or debugs it (Esc, F1 and Kivy's settings
panel, Alt+F4, a window manager's close), a mouse never draws Kivy's multitouch-emulation dots, and Kivy's
configuration is never read from nor written to disk on the resident's path.

Only a stop request (SIGTERM, Ctrl-C on the controlling terminal, ``kiosk run``'s stop event) closes the
window: ``WindowGuard.allow_close()`` is how the app says one arrived.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

# (section, option, value) set in memory before the window opens
LOCKED_SETTINGS = (
    ("kivy", "exit_on_escape", "0"),  # Esc would stop the event loop: the kiosk would exit mid-payment
    ("kivy", "pause_on_minimize", "0"),
    ("input", "mouse", "mouse,disable_multitouch"),  # right / middle click leave no red dot
)


def lock_config() -> None:
    """Set Kivy's configuration for a kiosk, in memory only: Esc does not quit, no mouse emulation of
    multitouch, no Kivy debugging modules (inspector, monitor …). Call before the window's input providers
    start (``App.run``). Never raises."""
    os.environ["KIVY_NO_CONFIG"] = "1"  # if kivy is not imported yet: it neither reads nor writes config.ini
    from kivy.config import Config

    for section, option, value in LOCKED_SETTINGS:
        if not Config.has_section(section):
            Config.add_section(section)
        Config.set(section, option, value)
    if Config.has_section("modules"):
        for name in list(Config.options("modules")):
            Config.remove_option("modules", name)


class WindowGuard:
    """Bound to the window: swallows every key Kivy or a module would act on, and refuses to close until
    ``allow_close()``. The engineer's harness panel listens to ``on_key_down`` and still gets its keys."""

    def __init__(self) -> None:
        self.closing_allowed = False
        self.refused_keys = 0
        self.refused_closes = 0

    def attach(self, window: Any) -> None:
        """Bind to ``window`` (Kivy's ``Window``). Never raises."""
        window.bind(on_keyboard=self.on_keyboard, on_request_close=self.on_request_close)

    def detach(self, window: Any) -> None:
        """Unbind from ``window``. Never raises."""
        window.unbind(on_keyboard=self.on_keyboard, on_request_close=self.on_request_close)

    def allow_close(self) -> None:
        """A stop request arrived: the window may close now."""
        self.closing_allowed = True

    def on_keyboard(self, _window: Any, key: int, *_args: Any, **_kwargs: Any) -> bool:
        """Kivy's keyboard event: consumed, so neither the window (Esc) nor a module ever sees it."""
        self.refused_keys += 1
        log.debug("key %d ignored by the kiosk window", key)
        return True

    def on_request_close(self, *_args: Any, **kwargs: Any) -> bool:
        """Esc or the window manager asked to close: refused (True) unless a stop request arrived."""
        if self.closing_allowed:
            return False
        self.refused_closes += 1
        log.warning("the window was asked to close (%s): refused", kwargs.get("source", "window manager"))
        return True
