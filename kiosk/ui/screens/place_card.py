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


class CardIllustration(Widget):
    """The reader (grey slab with a marked slot) and the card above it, or lifted off when ``lifted``."""

    lifted = BooleanProperty(False)
    reader_rect = ListProperty([0, 0, 0, 0])
    slot_rect = ListProperty([0, 0, 0, 0])
    card_rect = ListProperty([0, 0, 0, 0])
    photo_rect = ListProperty([0, 0, 0, 0])
    arrow_points = ListProperty([0, 0, 0, 0])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._layout, size=self._layout, lifted=self._layout)

    def _layout(self, *_args: object) -> None:
        cx, w, h = self.center_x, self.width, self.height
        rw, rh = min(w * 0.6, h * 1.2), h * 0.35
        self.reader_rect = [cx - rw / 2, self.y, rw, rh]
        cw, ch = rw * 0.6, rw * 0.6 * 0.63
        self.slot_rect = [cx - cw / 2 - 6, self.y + rh * 0.2, cw + 12, rh * 0.7]
        card_y = self.y + (h - ch * 0.5 if self.lifted else rh * 0.55 + h * 0.25)
        card_y = min(card_y, self.top - ch * 0.5)
        self.card_rect = [cx - cw / 2, card_y - ch * 0.5, cw, ch * 0.5]
        self.photo_rect = [cx + cw * 0.2, card_y - ch * 0.42, cw * 0.2, ch * 0.34]
        tip = self.y + rh if not self.lifted else self.top
        base = card_y - ch * 0.55 if not self.lifted else card_y
        side = cx - cw / 2 - 30
        self.arrow_points = [side, base, side, tip - 8] if not self.lifted else [side, base, side, tip - 4]


class PlaceCardScreen(KioskScreen):
    title_text = StringProperty("")
    hint_text = StringProperty("")
    phone_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.hint_text, self.cancel_text = tr("place_title"), tr("place_hint"), tr("cancel")
        self.phone_text = tr("place_phone_hint")


load_kv(__file__)
