"""Helpers for the off-screen screen tests (a uniquely named module, not a conftest import)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from kivy.tests.common import GraphicUnitTest, UnitTestTouch

from kiosk.ui.bridge import UiState


class FakeFlow:
    """The flow faked at the seam: records intents, answers PIN entries like a card with PIN 1234."""

    def __init__(self, shell: Any = None, tries: int = 3) -> None:
        self.shell = shell
        self.tries = tries
        self.intents: list[tuple[str, object]] = []

    def __call__(self, kind: str, value: object) -> None:
        self.intents.append((kind, value))
        state = self.shell.state
        if kind == "pin":
            if value == "1234":
                self.shell.show(replace(state, screen="remove_card", message="", tries_left=None))
            else:
                self.tries -= 1
                self.shell.show(
                    replace(
                        state,
                        screen="pin",
                        message="msg_pin_incorrect",
                        tries_left=self.tries,
                        last_try_warning=self.tries == 1,
                    )
                )

    def kinds(self) -> list[str]:
        return [k for k, _ in self.intents]


def walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in widget.children:
        yield from walk(child)


def texts(widget: Any) -> list[str]:
    return [str(w.text) for w in walk(widget) if hasattr(w, "text")]


def pending_state(**changes: Any) -> UiState:
    return replace(UiState(), **changes)


class TouchTest(GraphicUnitTest):  # type: ignore[misc]
    """An off-screen window test that can tap a widget where a finger would: its centre, in window
    coordinates, through Kivy's input dispatch (the widget tree's own hit test decides who gets it)."""

    def tap(self, widget: Any) -> None:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.advance_frames(1)
