"""Printing: a progress bar by pages, and 'stay until it ends' (it can take two minutes or more)."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class PrintingScreen(KioskScreen):
    title_text = StringProperty("")
    pages_text = StringProperty("")
    stay_text = StringProperty("")
    done = NumericProperty(0)
    total = NumericProperty(0)

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.stay_text = tr("printing_title"), tr("printing_stay")
        self.done, self.total = state.pages_printed, state.pages_total
        pages = tr("printing_pages", done=state.pages_printed, total=state.pages_total)
        self.pages_text = pages if state.pages_total else ""


load_kv(__file__)
