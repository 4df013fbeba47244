"""``kiosk demo-ui``: a scripted resident played through the real screens by simulated touches on the
real widgets, one screenshot per screen the flow shows.

Nothing here imports kivy at module level: call ``kiosk.ui.launch.prepare_kivy`` first, then ``run_demo``
(it imports kivy). The Kivy event loop owns the main thread; the scripted resident runs on a worker
thread. While recording, the flow waits (on its own thread, inside its observer) until each new screen
has been rendered and saved, so even screens that last a few milliseconds are captured, in order.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from kiosk.flow.scenario import Hands, Player, Scenario, ScenarioError, check_expectations

log = logging.getLogger(__name__)
SETTLE_SECONDS = 0.1  # a few frames at 60 fps before a screenshot
FIRST_FRAME_SECONDS = 0.5  # the window's first layout before the first screenshot
UI_TIMEOUT = 10.0
_SHOT = re.compile(r"^\d\d-[a-z_]+\.png$")
Inspect = Callable[[Any, str], None]  # (shell, label) on the UI thread: after each screenshot / PIN typed


@dataclass(frozen=True)
class Capture:
    """One saved screenshot: the flow's screen and the touchscreen screen that showed it."""

    flow_screen: str
    ui_screen: str
    path: Path


@dataclass(frozen=True)
class DemoResult:
    """How a demo run ended."""

    final_screen: str
    problems: tuple[str, ...]
    captures: tuple[Capture, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class ScreenRecorder:
    """Saves ``NN-<flow screen>.png`` each time the flow's screen changes (a flow observer)."""

    def __init__(self, shell: Any, out: Path, inspect: Inspect | None = None) -> None:
        self.shell, self.out, self.inspect = shell, out, inspect
        self.captures: list[Capture] = []
        self.closed = False
        self._last = ""

    def observe(self, view: Any) -> None:
        """On the flow's thread: on a new screen, wait until it is on the touchscreen and saved."""
        screen = str(getattr(view.screen, "value", view.screen))
        if screen == self._last or self.closed:
            return
        self._last = screen
        from kivy.clock import Clock

        done = threading.Event()
        Clock.schedule_once(lambda _dt: self._shoot(screen, done), SETTLE_SECONDS)
        if not done.wait(UI_TIMEOUT):
            log.warning("no screenshot of %s within %.0f s", screen, UI_TIMEOUT)

    def _shoot(self, screen: str, done: threading.Event) -> None:
        try:
            path = self.out / f"{len(self.captures) + 1:02d}-{screen}.png"
            self.shell.export_to_png(str(path))
            self.captures.append(Capture(screen, str(self.shell.ids.manager.current), path))
            if self.inspect:
                self.inspect(self.shell, path.name)
        except Exception:  # a failed screenshot must not stall the flow
            log.exception("screenshot of %s failed", screen)
        finally:
            done.set()


class TouchPlayer(Player):
    """The scripted resident, tapping the touchscreen: intents go through the shell (the PIN through
    the real keypad); card and cash go through the hands as before."""

    _INTENTS: ClassVar[frozenset[str]] = frozenset(
        {"start", "route", "choose", "options", "copies", "confirm", "cancel", "finish"}
    )

    def __init__(self, flow: Any, hands: Hands, shell: Any, inspect: Inspect | None = None) -> None:
        super().__init__(flow, hands)
        self.shell, self.inspect = shell, inspect

    def _act(self, step: dict[str, Any]) -> None:
        action = step["do"]
        if action == "pin":
            self._type_pin(str(step["pin"]))
        elif action in self._INTENTS:
            kind, value = _intent(step)
            self._on_ui(lambda: self.shell.send(kind, value))
        else:
            super()._act(step)

    def _type_pin(self, pin: str) -> None:
        keypad = self.shell.screens["pin"]
        self._on_ui(lambda: [keypad.press(d) for d in pin], when="pin")
        if self.inspect:
            self._on_ui(lambda: self.inspect(self.shell, "pin-typed") if self.inspect else None)
        self._on_ui(lambda: keypad.press("ok"), when="pin")

    def _on_ui(self, action: Callable[[], object], when: str = "") -> None:
        """Run ``action`` on the UI thread (once the shell shows ``when``) and wait. Raises TimeoutError."""
        from kivy.clock import Clock

        done, failed = threading.Event(), []

        def attempt(_dt: float, tries: int = 100) -> None:
            if when and self.shell.ids.manager.current != when and tries:
                Clock.schedule_once(lambda dt: attempt(dt, tries - 1), 0.05)
                return
            try:
                action()
            except Exception as exc:  # re-raised on the player's thread
                failed.append(exc)
            done.set()

        Clock.schedule_once(attempt)
        if not done.wait(UI_TIMEOUT):
            raise TimeoutError("the touchscreen did not respond")
        if failed:
            raise failed[0]


def _intent(step: dict[str, Any]) -> tuple[str, object]:
    action = step["do"]
    value: object = {
        "start": lambda: str(step.get("language", "ja")),
        "route": lambda: str(step.get("route", "residence")),
        "choose": lambda: str(step["type"]),
        "options": lambda: tuple((k, str(v)) for k, v in step["options"].items()),
        "copies": lambda: int(step["copies"]),
    }.get(action, lambda: None)()
    return ("choose_type" if action == "choose" else action), value


def clear_screenshots(out: Path) -> None:
    """Remove earlier ``NN-screen.png`` files from ``out`` (nothing else). Raises OSError."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if _SHOT.match(old.name):
            old.unlink()


def run_demo(
    scenario: Scenario,
    kiosk: Any,
    out: Path,
    *,
    step_timeout: float = 60.0,
    inspect: Inspect | None = None,
) -> DemoResult:
    """Play ``scenario`` on the running simulated ``kiosk`` (a ``SimKiosk``) through the touchscreen,
    saving a screenshot of every screen to ``out``. Blocks until the scenario ends and the window has
    closed. Raises FontMissingError; the player's TimeoutError / ScenarioError come back as problems."""
    from kivy.clock import Clock

    from kiosk.ui.app import KioskApp

    clear_screenshots(out)
    outcome: dict[str, Any] = {}

    class DemoApp(KioskApp):
        def on_start(self) -> None:
            self.recorder = ScreenRecorder(self.root, out, inspect)
            player = threading.Thread(target=self._play, name="demo-player", daemon=True)
            Clock.schedule_once(lambda _dt: player.start(), FIRST_FRAME_SECONDS)

        def _play(self) -> None:
            try:
                self.recorder.observe(kiosk.flow.view)  # the screen on show before any change
                kiosk.flow.subscribe(self.recorder.observe)
                player = TouchPlayer(kiosk.flow, kiosk.hands, self.root, inspect)
                outcome["final"] = player.play(scenario, step_timeout=step_timeout)
            except (TimeoutError, ScenarioError) as exc:
                outcome["error"] = str(exc)
            finally:
                Clock.schedule_once(lambda _dt: self.stop())

        def on_stop(self) -> None:
            self.recorder.closed = True

    app = DemoApp(kiosk.flow)
    app.run()
    final = outcome.get("final")
    if final is None:
        problems: list[str] = [outcome.get("error", "the window closed before the scenario ended")]
    else:
        problems = check_expectations(scenario, final)
    screen = str(getattr(final.screen, "value", final.screen)) if final is not None else ""
    return DemoResult(screen, tuple(problems), tuple(app.recorder.captures))
