"""A smartphone held to the reader (drawn with Kivy graphics), beside the card on the place-card screen:
the reader, the phone with its screen and the JPKI mark, and an arrow down onto the reader."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty
from kivy.uix.widget import Widget

from kiosk.ui.widgets import load_kv


class PhoneIllustration(Widget):
    """The reader (grey slab, marked area) with a phone held flat above it, back to the reader."""

    reader_rect = ListProperty([0, 0, 0, 0])
    slot_rect = ListProperty([0, 0, 0, 0])
    phone_rect = ListProperty([0, 0, 0, 0])
    screen_rect = ListProperty([0, 0, 0, 0])
    mark_circle = ListProperty([0, 0, 0])
    arrow_points = ListProperty([0, 0, 0, 0])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._layout, size=self._layout)

    def _layout(self, *_args: object) -> None:
        cx, w, h = self.center_x, self.width, self.height
        rw, rh = min(w * 0.8, h * 1.0), h * 0.3
        self.reader_rect = [cx - rw / 2, self.y, rw, rh]
        self.slot_rect = [cx - rw * 0.3, self.y + rh * 0.2, rw * 0.6, rh * 0.6]
        pw = min(rw * 0.42, h * 0.3)
        ph = min(pw * 2.0, h * 0.6)
        py = self.y + rh + h * 0.08
        self.phone_rect = [cx - pw / 2, py, pw, ph]
        self.screen_rect = [cx - pw * 0.4, py + ph * 0.08, pw * 0.8, ph * 0.82]
        self.mark_circle = [cx, py + ph * 0.5, pw * 0.18]
        side = cx + pw / 2 + 18
        self.arrow_points = [side, py + ph * 0.6, side, self.y + rh + 4]


load_kv(__file__)
