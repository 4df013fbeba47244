"""Remove card: the flow goes on only once the card is off the reader. The same screen chases a card left on
the reader after a transaction ended (``UiState.chase_card``; the shell plays the reminder meanwhile)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.screens import place_card  # noqa: F401  (registers CardIllustration for the kv rule)
from kiosk.ui.widgets import KioskScreen, load_kv


class RemoveCardScreen(KioskScreen):
    title_text = StringProperty("")
    hint_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text = tr("remove_title")
        self.hint_text = tr("take_card_hint") if state.chase_card else tr("remove_hint")


load_kv(__file__)
