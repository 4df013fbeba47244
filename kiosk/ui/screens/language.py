"""Language list: each language named in its own words and its own font (UI-local until start).

The buttons are made once (their names never change); only the title and 戻る follow the language."""

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
        if not grid.children:
            for language in LANGUAGES:
                button = KButton(text=Translator(language)("language_name"))
                button.language = language
                button.bind(on_release=lambda b: self.pick(b.language))
                grid.add_widget(button)
        for button in grid.children:
            # each name in its own font: set again after the theme's font changed (the kv rule follows it)
            button.font_name = font_name(button.language)

    def pick(self, language: str) -> None:
        self.shell.pick_language(language)

    def back(self) -> None:
        self.shell.pick_language(self.shell.language)


load_kv(__file__)
