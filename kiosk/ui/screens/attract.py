"""Attract / start: 行政サービス, and the way to the language list."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class AttractScreen(KioskScreen):
    title_text = StringProperty("")
    subtitle_text = StringProperty("")
    start_text = StringProperty("")
    language_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.subtitle_text = tr("app_title"), tr("attract_subtitle")
        self.start_text, self.language_text = tr("attract_start"), tr("attract_language")

    def start(self) -> None:
        self.send("start", self.shell.language)

    def choose_language(self) -> None:
        self.shell.open_language()


load_kv(__file__)
