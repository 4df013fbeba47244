"""The kiosk window on the simulators, for a driver outside the process (``python -m harness.ui.desktop``).

The window is the resident's (``KioskApp``, locked down, no harness panel): whatever drives it uses the
display's own pointer and keyboard (e.g. ``xdotool`` on Xvfb), never Kivy's input path. The card and the
cash come from the harness's stdin commands (``card``, ``remove``, ``coin 500`` …, see
``harness.commands``), and two more lines help a driver aim:

- ``where SCREEN TARGET`` answers ``at SCREEN TARGET X Y`` (the centre of the widget, in window pixels from
  the top-left, as X11 counts them) or ``at SCREEN TARGET none`` when that screen is not on display or has
  no such widget; TARGET is an id of the screen (``ok_button``), ``key:N`` on the PIN or staff keypad,
  ``type:juminhyo`` on the certificate list, or ``header:title`` / ``header:more_time``;
- ``showing`` answers ``showing SCREEN PAGE`` (PAGE: the staff screen's page, else ``-``);
- ``quit`` is the stop request (the window closes, exit 0).

Stdout: ``screen <flow screen> <message>`` for every view the flow publishes, ``ui <screen>`` each time the
window shows another screen (it takes taps ``TAP_GUARD`` seconds later), and ``touchscreen open …`` /
``touchscreen closed``. Exit status 0 after ``quit`` or SIGTERM, 1 when the window went away otherwise.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.controls import SimControls
    from kiosk.ui.app import KioskShell


def _find(shell: KioskShell, screen: str, target: str) -> Any:
    """The widget ``target`` names on ``screen`` (UI thread), or None."""
    if target.startswith("header:"):
        return shell.ids.get(target.partition(":")[2])
    if shell.ids.manager.current != screen:
        return None
    widget = shell.screens[screen]
    kind, _, value = target.partition(":")
    if kind == "key" and screen == "pin":
        return widget.key(value)
    if kind == "key" and screen == "staff":
        return widget.passcode_keys.get(value)
    if kind == "type":
        return next((b for b in widget.ids.grid.children if getattr(b, "cert_type", None) == value), None)
    return widget.ids.get(target)


def _where(shell: KioskShell, screen: str, target: str) -> str:
    """The ``at …`` answer for ``where SCREEN TARGET`` (UI thread). Never raises."""
    from kivy.core.window import Window

    widget = _find(shell, screen, target)
    if widget is None or widget.get_root_window() is None or widget.disabled:
        return f"at {screen} {target} none"
    x, y = widget.to_window(*widget.center)
    scale = Window.system_size[1] / max(1, Window.height)  # Kivy pixels -> X pixels (1 without HiDPI)
    return f"at {screen} {target} {round(x * scale)} {round((Window.height - y) * scale)}"


def _showing(shell_of: Any) -> str:
    shell = shell_of()
    current = str(shell.ids.manager.current)
    page = shell.screens[current].page if current == "staff" else "-"
    return f"showing {current} {page}"


def _where_now(shell_of: Any, screen: str, target: str) -> str:
    return _where(shell_of(), screen, target)


def serve_driver(controls: SimControls, shell_of: Any, stop: threading.Event) -> None:
    """Answer stdin's lines until ``quit`` or its end: ``where`` here (on the UI thread), the rest as harness
    commands. Never raises for bad input."""
    from harness.commands import execute
    from harness.ui.touch import on_ui

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] in ("quit", "exit"):
            stop.set()
            return
        if words[0] == "showing":
            answer = on_ui(functools.partial(_showing, shell_of))
        elif words[0] == "where" and len(words) == 3:
            screen, target = words[1], words[2]
            try:
                answer = on_ui(functools.partial(_where_now, shell_of, screen, target))
            except TimeoutError:
                answer = f"at {screen} {target} none"
        else:
            answer = execute(controls, line)
        _say(answer)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the window on the simulators until ``quit`` / SIGTERM; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m harness.ui.desktop", description=__doc__)
    parser.add_argument("--work", help="working directory (default: a new temporary one)")
    parser.add_argument("--size", default="800x600")
    parser.add_argument("--resident", help="the resident whose card is used (default C-001)")
    args = parser.parse_args(argv)
    from harness.controls import SimControls, run_setup
    from harness.sim import SimKiosk, sim_staff
    from kiosk.ui.launch import prepare_kivy

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-desktop-"))
    prepare_kivy(work / "kivy-home", offscreen=False, size=args.size)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SimKiosk(work, run_setup(None, args.resident)) as kiosk:
        controls = SimControls(kiosk)
        kiosk.flow.subscribe(lambda view: _say(f"screen {view.screen} {view.message_key}"))
        app = _app(kiosk, sim_staff(kiosk))
        threading.Thread(target=serve_driver, args=(controls, lambda: app.root, stop), daemon=True).start()
        from kiosk.ui.launch import run_app

        run_app(kiosk.flow, stop, app=app)
    if not stop.is_set():
        print("desktop: the window closed without a stop request", file=sys.stderr, flush=True)
        return 1
    return 0


def _app(kiosk: Any, staff: Any) -> Any:
    """The resident's app, printing ``ui <screen>`` whenever the window shows another screen."""
    from kiosk.ui.app import KioskApp

    class DesktopApp(KioskApp):
        def build(self) -> Any:
            shell = super().build()
            shell.ids.manager.bind(current=lambda _m, name: _say(f"ui {name}"))
            _say(f"ui {shell.ids.manager.current}")
            return shell

    return DesktopApp(kiosk.flow, staff)


def _say(line: str) -> None:
    """One line on stdout in one write: the window's, the flow's and the driver's threads all print, and
    ``print(line)`` writes the line and its newline apart, so another thread's line could land between
    them ("ui donescreen attract …")."""
    print(f"{line}\n", end="", flush=True)


if __name__ == "__main__":
    sys.exit(main())
