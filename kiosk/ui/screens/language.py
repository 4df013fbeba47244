"""Language list: each language named in its own words and its own font (UI-local until start)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.fonts import font_name
from kiosk.ui.i18n import LANGUAGES, Translator
from kiosk.ui.widgets import KButton, KioskScreen, load_kv


class LanguageScreen(KioskScreen):
    title_text = StringProperty("")
    back_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.back_text = tr("language_title"), tr("back")
        grid = self.ids.grid
        grid.clear_widgets()
        for language in LANGUAGES:
            button = KButton(text=Translator(language)("language_name"))
            button.font_name = font_name(language)  # after kv applied the theme font
            button.language = language
            button.bind(on_release=lambda b: self.pick(b.language))
            grid.add_widget(button)

    def pick(self, language: str) -> None:
        self.shell.pick_language(language)

    def back(self) -> None:
        self.shell.pick_language(self.shell.language)


load_kv(__file__)
