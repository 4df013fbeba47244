"""本籍地 利用登録: confirm the registration with the 本籍地 (after the PIN and the card's removal), then the
result: from which day that municipality's 戸籍 can be issued at kiosks, and what to do then."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class HonsekiConfirmScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    register_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("honseki_confirm_title"), tr("cancel")
        self.body_text = tr("honseki_confirm_body", municipality=state.honseki_municipality)
        self.register_text = tr("honseki_confirm_button")


class HonsekiDoneScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    next_text = StringProperty("")
    finish_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.finish_text = tr("honseki_done_title"), tr("finish")
        self.body_text = tr(
            "honseki_done_body", municipality=state.honseki_municipality, date=state.honseki_usable_from
        )
        self.next_text = tr("honseki_done_next")


load_kv(__file__)
