"""``kiosk-harness demo-ui``: a scripted resident played through the real screens by simulated touches on the
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
from typing import Any, TypeVar

from harness.scenario import Hands, Player, Scenario, ScenarioError, check_expectations

log = logging.getLogger(__name__)
SETTLE_SECONDS = 0.1  # a few frames at 60 fps before a screenshot
FIRST_FRAME_SECONDS = 0.5  # the window's first layout before the first screenshot
UI_TIMEOUT = 10.0
_SHOT = re.compile(r"^\d\d-[a-z_]+\.png$")
T = TypeVar("T")
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
    taps: tuple[Any, ...] = ()  # harness.ui.touch.Tap, in order

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

    def _shoot(self, screen: str, done: threading.Event, tries: int = 50) -> None:
        manager = self.shell.ids.manager
        if (manager.transition.is_active or len(manager.children) != 1) and tries:
            from kivy.clock import Clock  # the old screen is still attached: one more frame

            Clock.schedule_once(lambda _dt: self._shoot(screen, done, tries - 1), SETTLE_SECONDS / 2)
            return
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
    """The scripted resident on the touchscreen: every intent is a simulated finger tap on the real widget
    (buttons, the language list, option toggles, the copies -/+ keys, the PIN keypad), through Kivy's input
    path; the card and cash go through the hands as before. Nothing is sent to the shell or the flow
    directly: a step whose widget cannot be tapped fails with TapMissed."""

    def __init__(
        self, flow: Any, hands: Hands, shell: Any, hand: Any, inspect: Inspect | None = None
    ) -> None:
        super().__init__(flow, hands)
        self.shell, self.hand, self.inspect = shell, hand, inspect

    def _act(self, step: dict[str, Any]) -> None:
        actions: dict[str, Callable[[dict[str, Any]], None]] = {
            "start": self._start,
            "route": self._route,
            "pin": self._pin,
            "choose": self._choose,
            "options": self._options,
            "copies": self._copies,
            "confirm": self._confirm,
            "cancel": self._cancel,
            "finish": self._finish,
        }
        act = actions.get(step["do"])
        if act is None:
            super()._act(step)  # card, cash, idle: the resident's hands, not the touchscreen
        else:
            act(step)

    def _start(self, step: dict[str, Any]) -> None:
        language = str(step.get("language", "ja"))
        if self._ui(lambda: self.shell.language) != language:
            self.hand.tap("attract", "language", lambda s: s.ids.language)
            pick = f"language {language}"
            self.hand.tap("language", pick, lambda s: _child(s.ids.grid, "language", language))
        self.hand.tap("attract", "start", lambda s: s.ids.start)

    def _route(self, step: dict[str, Any]) -> None:
        route = str(step.get("route", "residence"))
        self.hand.tap("route", route, lambda s: s.ids.get(route))

    def _pin(self, step: dict[str, Any]) -> None:
        for digit in str(step["pin"]):
            self.hand.tap("pin", "a digit key", lambda s, d=digit: s.key(d))  # the log never names the digit
        if self.inspect:
            inspect = self.inspect
            self._ui(lambda: inspect(self.shell, "pin-typed"))
        self.hand.tap("pin", "ok", lambda s: s.key("ok"))

    def _choose(self, step: dict[str, Any]) -> None:
        kind = str(step["type"])
        self.hand.tap("choose_type", kind, lambda s: _child(s.ids.grid, "cert_type", kind))

    def _options(self, step: dict[str, Any]) -> None:
        for name, value in step["options"].items():
            option = (str(name), str(value))
            self.hand.tap("options", f"{name}={value}", lambda s, o=option: _child(s.ids.rows, "option", o))
        self.hand.tap("options", "next", lambda s: s.ids.next_button)

    def _copies(self, step: dict[str, Any]) -> None:
        wanted = int(step["copies"])
        for _ in range(20):
            shown = int(self._ui(lambda: self.shell.screens["copies"].copies, when="copies"))
            if shown == wanted:
                break
            key = "more" if shown < wanted else "fewer"
            self.hand.tap("copies", key, lambda s, k=key: s.ids[k])
        self.hand.tap("copies", "next", lambda s: s.ids.next_button)

    def _confirm(self, step: dict[str, Any]) -> None:
        if step.get("wait") == "honseki_confirm":  # 本籍地 利用登録: 登録する
            self.hand.tap("honseki_confirm", "register", lambda s: s.ids.register)
            return
        self.hand.tap("confirm", "ok", lambda s: s.ids.ok_button)

    def _cancel(self, _step: dict[str, Any]) -> None:
        from harness.ui.touch import NotYet

        screen = str(self._ui(lambda: self.shell.ids.manager.current))
        self.hand.tap(screen, "cancel", lambda s: s.ids.get("cancel"))

        def moved_on() -> str:
            current = str(self.shell.ids.manager.current)
            if current == screen:
                raise NotYet
            return current

        if self._ui(moved_on) == "cancel_ask":  # the PIN was verified or money went in: asked once more
            self.hand.tap("cancel_ask", "yes, cancel", lambda s: s.ids.cancel)

    def _finish(self, _step: dict[str, Any]) -> None:
        screen = str(self._ui(lambda: self.shell.ids.manager.current))
        self.hand.tap(screen, "finish", lambda s: s.ids.get("finish"))

    def _ui(self, read: Callable[[], T], when: str = "") -> T:
        """Read something on the UI thread (once the shell shows ``when``). Raises TimeoutError."""
        from harness.ui.touch import NotYet, on_ui

        def attempt() -> T:
            if when and self.shell.ids.manager.current != when:
                raise NotYet
            return read()

        return on_ui(attempt)


def _child(parent: Any, attribute: str, value: object) -> Any:
    """The child of ``parent`` (at any depth) whose ``attribute`` equals ``value``, or None."""
    stack = list(parent.children)
    while stack:
        widget = stack.pop()
        if getattr(widget, attribute, None) == value:
            return widget
        stack.extend(widget.children)
    return None


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
    closed. Raises FontMissingError; the player's TimeoutError / ScenarioError / TapMissed come back as
    problems."""
    from kivy.clock import Clock

    from harness.ui.touch import TapMissed
    from kiosk.ui.app import KioskApp

    clear_screenshots(out)
    outcome: dict[str, Any] = {}

    class DemoApp(KioskApp):
        def on_start(self) -> None:
            from harness.ui.touch import Hand, attach_provider

            self.recorder = ScreenRecorder(self.root, out, inspect)
            self.hand = Hand(self.root, attach_provider())
            player = threading.Thread(target=self._play, name="demo-player", daemon=True)
            Clock.schedule_once(lambda _dt: player.start(), FIRST_FRAME_SECONDS)

        def _play(self) -> None:
            try:
                self.recorder.observe(kiosk.flow.view)  # the screen on show before any change
                kiosk.flow.subscribe(self.recorder.observe)
                player = TouchPlayer(kiosk.flow, kiosk.hands, self.root, self.hand, inspect)
                outcome["final"] = player.play(scenario, step_timeout=step_timeout)
            except (TimeoutError, ScenarioError, TapMissed) as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                # the scenario's screens only: a screen the flow moves on to after its last step (the start
                # screen after 終了) raced the window's closing and was captured in some runs, not others
                self.recorder.closed = True
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
    return DemoResult(screen, tuple(problems), tuple(app.recorder.captures), tuple(app.hand.taps))
