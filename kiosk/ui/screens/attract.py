"""Attract / start: 行政サービス, and the way to the language list; out of service, it says so and takes
no start."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class AttractScreen(KioskScreen):
    title_text = StringProperty("")
    subtitle_text = StringProperty("")
    start_text = StringProperty("")
    language_text = StringProperty("")
    closed = BooleanProperty(False)

    def render(self, state: UiState, tr: Translator) -> None:
        self.closed = state.out_of_service
        subtitle = "attract_out_of_service" if self.closed else "attract_subtitle"
        self.title_text, self.subtitle_text = tr("app_title"), tr(subtitle)
        self.start_text, self.language_text = tr("attract_start"), tr("attract_language")

    def start(self) -> None:
        if not self.closed:
            self.send("start", self.shell.language)

    def choose_language(self) -> None:
        self.shell.open_language()


load_kv(__file__)
