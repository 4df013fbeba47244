"""Simulated fingers on the real touchscreen.

``FingerProvider`` is a Kivy input provider — the same door a touchscreen driver uses — so a simulated tap
goes through Kivy's event loop, its input post-processing, the window and the widget tree's hit test like
a real one. ``Hand`` aims taps at real widgets from a worker thread: it finds the widget on the UI thread
(once the expected screen is up), taps the centre of it, and confirms the tap by the widget's own
``on_release``; a tap that lands elsewhere is a ``TapMissed``, never a silent success.

Import after ``kiosk.ui.launch.prepare_kivy`` (this module imports kivy).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.input.motionevent import MotionEvent
from kivy.input.provider import MotionEventProvider

T = TypeVar("T")
HOLD_SECONDS = 0.06  # a quick finger tap
UI_TIMEOUT = 10.0  # waiting for the screen / the widget's release
POLL_SECONDS = 0.05


class TapMissed(RuntimeError):
    """A tap did not reach the widget it was aimed at (covered, disabled, off screen, not shown)."""


class NotYet(Exception):
    """Raised inside an ``on_ui`` action to try again on a later frame (the screen is still coming)."""


@dataclass(frozen=True)
class Tap:
    """One tap that reached its widget: the touchscreen screen, what was tapped, where (window pixels)."""

    screen: str
    target: str
    x: float
    y: float


class Finger(MotionEvent):
    """One finger's touch, positioned like a touchscreen's: 0..1 across the window."""

    def __init__(self, uid: int, sx: float, sy: float) -> None:
        super().__init__("finger", uid, {"sx": sx, "sy": sy}, is_touch=True, type_id="touch")

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["sx"], args["sy"]
        self.profile = ["pos"]
        super().depack(args)


class FingerProvider(MotionEventProvider):
    """Touches queued from any thread, handed to Kivy's event loop on the UI thread."""

    def __init__(self) -> None:
        super().__init__("finger", None)
        self._events: queue.SimpleQueue[tuple[str, Finger]] = queue.SimpleQueue()
        self._ids = itertools.count(1)

    def update(self, dispatch_fn: Callable[[str, Finger], None]) -> None:
        """Kivy's loop: dispatch what is queued. Never raises."""
        while True:
            try:
                etype, touch = self._events.get_nowait()
            except queue.Empty:
                return
            dispatch_fn(etype, touch)

    def tap(self, x: float, y: float, width: int, height: int, hold: float = HOLD_SECONDS) -> None:
        """Press at window pixel (x, y) of a ``width`` x ``height`` window, hold, lift (blocks for
        ``hold``). Never raises."""
        finger = Finger(next(self._ids), x / max(1, width - 1), y / max(1, height - 1))
        self._events.put(("begin", finger))
        time.sleep(hold)
        self._events.put(("end", finger))


def on_ui(action: Callable[[], T], timeout: float = UI_TIMEOUT) -> T:
    """Run ``action`` on the UI thread and wait for its result (from a worker thread). ``action`` may raise
    NotYet to be retried on a later frame. Raises TimeoutError, or what ``action`` raised."""
    done = threading.Event()
    result: list[T] = []
    failed: list[BaseException] = []
    deadline = time.monotonic() + timeout

    def attempt(_dt: float) -> None:
        try:
            result.append(action())
        except NotYet:
            if time.monotonic() < deadline:
                Clock.schedule_once(attempt, POLL_SECONDS)
                return
            failed.append(TimeoutError("the touchscreen did not get there in time"))
        except Exception as exc:  # re-raised on the caller's thread
            failed.append(exc)
        done.set()

    Clock.schedule_once(attempt)
    if not done.wait(timeout + 1.0):
        raise TimeoutError("the touchscreen did not respond")
    if failed:
        raise failed[0]
    return result[0]


class Hand:
    """Taps real widgets of ``shell`` (a ``KioskShell``) through ``provider``; keeps a log of taps."""

    def __init__(self, shell: Any, provider: FingerProvider) -> None:
        self.shell, self.provider = shell, provider
        self.taps: list[Tap] = []

    def tap(self, screen: str, target: str, find: Callable[[Any], Any]) -> Tap:
        """Wait until the shell shows ``screen``, find the widget (``find(screen_widget)``), tap its centre
        and wait until the widget itself reports the release. Raises TapMissed, TimeoutError."""
        released = threading.Event()
        seen: list[tuple[float, float]] = []

        def aim() -> tuple[Any, Tap, tuple[int, int]]:
            if self.shell.ids.manager.current != screen or not self.shell.taps_open():
                raise NotYet  # not there yet, or too soon after it appeared to take a tap
            widget = find(self.shell.screens[screen])
            if widget is None or widget.get_root_window() is None:
                raise NotYet
            if widget.disabled:
                raise TapMissed(f"{target} on {screen} is disabled")
            x, y = widget.to_window(*widget.center)
            if seen[-1:] != [(x, y)]:  # laid out and still for two frames, as an eye would see it
                seen.append((x, y))
                raise NotYet
            widget.bind(on_release=mark)
            return widget, Tap(screen, target, x, y), EventLoop.window.size

        def mark(*_args: object) -> None:
            Clock.schedule_once(lambda _dt: released.set())  # after the widget's own handlers

        widget, tap, size = on_ui(aim)
        try:
            self.provider.tap(tap.x, tap.y, *size)
            if not released.wait(UI_TIMEOUT):
                raise TapMissed(f"the tap at ({tap.x:.0f}, {tap.y:.0f}) did not reach {target} on {screen}")
        finally:
            on_ui(lambda: widget.unbind(on_release=mark))
        self.taps.append(tap)
        return tap


def attach_provider() -> FingerProvider:
    """Add a finger provider to the running event loop (UI thread). Never raises."""
    provider = FingerProvider()
    EventLoop.add_input_provider(provider)
    return provider
