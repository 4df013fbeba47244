"""The locked-down window: no key leaves or reconfigures it, Kivy's settings panel never opens, the window
closes only after a stop request, Kivy's config stays in memory, and ``kiosk run`` exits non-zero when the
window goes away without a stop request. (The real window under Xvfb with X key events:
tests/kiosk/desktop/.)"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.app import run
from kiosk.ui.lockdown import LOCKED_SETTINGS, WindowGuard, lock_config

ESC, F1, F4 = 27, 282, 285


class FakeWindow:
    def __init__(self) -> None:
        self.bound: dict[str, Any] = {}

    def bind(self, **handlers: Any) -> None:
        self.bound.update(handlers)

    def unbind(self, **handlers: Any) -> None:
        for name in handlers:
            self.bound.pop(name, None)


def test_every_key_is_swallowed_and_closing_waits_for_a_stop_request() -> None:
    window, guard = FakeWindow(), WindowGuard()
    guard.attach(window)
    for key, modifiers in ((ESC, []), (F1, []), (F4, ["alt"]), (ord("c"), ["ctrl"]), (ord("e"), ["ctrl"])):
        assert window.bound["on_keyboard"](window, key, 0, None, modifiers) is True
    assert window.bound["on_request_close"](window, source="keyboard") is True  # refused
    assert window.bound["on_request_close"](window) is True  # a window manager's close too
    assert (guard.refused_keys, guard.refused_closes) == (5, 2)
    guard.allow_close()
    assert window.bound["on_request_close"](window) is False
    guard.detach(window)
    assert window.bound == {}


def test_kivy_is_configured_for_a_kiosk_in_memory_only() -> None:
    from kivy.config import Config

    lock_config()
    for section, option, value in LOCKED_SETTINGS:
        assert Config.get(section, option) == value
    assert Config.get("input", "mouse") == "mouse,disable_multitouch"  # no red dots on right click
    assert not Config.getboolean("kivy", "exit_on_escape")
    assert Config.options("modules") == []
    assert os.environ["KIVY_NO_CONFIG"] == "1"


def test_the_settings_panel_never_opens() -> None:
    from kiosk.ui.app import KioskApp

    app = KioskApp(SimpleNamespace())  # type: ignore[arg-type]
    assert app.open_settings() is False and app.close_settings() is False and not app.use_kivy_settings


@pytest.mark.parametrize("stopped", [True, False])
def test_kiosk_run_exits_non_zero_when_the_window_goes_without_a_stop_request(
    stopped: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stop = threading.Event()

    def window(*_args: object, **_kwargs: object) -> None:  # the window closes at once
        if stopped:
            stop.set()

    monkeypatch.setattr("kiosk.ui.launch.run_app", window)
    kiosk = SimpleNamespace(flow=None, config=SimpleNamespace(staff_passcode_hash=None))
    status = run._serve(kiosk, stop, headless=False)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    if stopped:
        assert status == 0 and err == ""
    else:
        assert status == run.EXIT_WINDOW and "closed without a stop request" in err


def test_the_touchscreen_reaches_the_journal_only_through_kiosk_staff() -> None:
    """kiosk/ui imports no kiosk.journal module (the staff screen uses kiosk.staff's error type), not even
    inside a function."""
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[3] / "kiosk" / "ui"
    found = []
    for path in ui.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [
                f"{path.name}: {n}" for n in names if n == "kiosk.journal" or n.startswith("kiosk.journal.")
            ]
    assert found == []
