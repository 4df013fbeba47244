"""Place card: an illustration (drawn with Kivy graphics) of the card going onto the reader."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.phone_art import PhoneIllustration
from kiosk.ui.widgets import KioskScreen, load_kv

__all__ = ["CardIllustration", "PhoneIllustration", "PlaceCardScreen"]

CARD_RATIO = 85.60 / 53.98  # ID-1 (ISO/IEC 7810), the My Number card's size


class CardIllustration(Widget):
    """The reader (grey slab with the marked place for the card) and the card (ID-1 proportions, photo on the
    right) above it, with an arrow: down onto the reader, or up off it when ``lifted``. Everything is scaled
    to fit inside the widget, in any orientation."""

    lifted = BooleanProperty(False)
    reader_rect = ListProperty([0, 0, 0, 0])
    slot_rect = ListProperty([0, 0, 0, 0])
    card_rect = ListProperty([0, 0, 0, 0])
    photo_rect = ListProperty([0, 0, 0, 0])
    arrow_points = ListProperty([0, 0, 0, 0])
    arrow_head = ListProperty([0, 0, 0, 0, 0, 0])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._layout, size=self._layout, lifted=self._layout)

    def _layout(self, *_args: object) -> None:
        w, h = max(1.0, self.width), max(1.0, self.height)
        # card width cw: reader 1.4 cw wide and 0.9 cw deep, a 0.3 cw gap, the card cw / 1.586 tall
        cw = max(1.0, min(w / 1.5, h / 1.85))
        ch = cw / CARD_RATIO
        rw, rh = cw * 1.4, cw * 0.9
        total = rh + cw * 0.3 + ch
        bottom = self.y + (h - total) / 2
        cx = self.center_x
        self.reader_rect = [cx - rw / 2, bottom, rw, rh]
        sw, sh = cw * 1.08, ch * 1.08
        slot_y = bottom + (rh - sh) / 2
        self.slot_rect = [cx - sw / 2, slot_y, sw, sh]
        card_y = bottom + rh + cw * 0.3
        self.card_rect = [cx - cw / 2, card_y, cw, ch]
        self.photo_rect = [cx + cw * 0.18, card_y + ch * 0.2, cw * 0.22, ch * 0.58]
        x = cx - rw / 2 - cw * 0.12  # the arrow runs beside the card and the reader
        high, low = card_y + ch * 0.7, slot_y + sh * 0.6
        head = cw * 0.09
        if self.lifted:  # up, off the reader
            self.arrow_points = [x, low, x, high - head]
            self.arrow_head = [x - head, high - head, x + head, high - head, x, high]
        else:  # down, onto the reader
            self.arrow_points = [x, high, x, low + head]
            self.arrow_head = [x - head, low + head, x + head, low + head, x, low]


class PlaceCardScreen(KioskScreen):
    title_text = StringProperty("")
    hint_text = StringProperty("")
    phone_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.hint_text, self.cancel_text = tr("place_title"), tr("place_hint"), tr("cancel")
        self.phone_text = tr("place_phone_hint")


load_kv(__file__)
