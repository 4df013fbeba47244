"""本籍地 利用登録: confirm the registration with the 本籍地 (after the PIN and the card's removal), then the
result: from which day that municipality's 戸籍 can be issued at kiosks, and what to do then."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.utils import escape_markup

from kiosk.ui.bridge import UiState
from kiosk.ui.fonts import font_name
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


def japanese(name: str) -> str:
    """A municipality's name as the center gives it (Japanese), in the Japanese font whatever the language's
    font (DejaVu for Vietnamese has no kanji): Kivy markup for a ``markup: True`` label. Never raises."""
    return f"[font={font_name('ja')}]{escape_markup(name)}[/font]"


class HonsekiConfirmScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    register_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("honseki_confirm_title"), tr("cancel")
        self.body_text = escape_markup(tr("honseki_confirm_body", municipality="\0")).replace(
            "\0", japanese(state.honseki_municipality)
        )
        self.register_text = tr("honseki_confirm_button")


class HonsekiDoneScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    next_text = StringProperty("")
    finish_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.finish_text = tr("honseki_done_title"), tr("finish")
        body = tr("honseki_done_body", municipality="\0", date=state.honseki_usable_from)
        self.body_text = escape_markup(body).replace("\0", japanese(state.honseki_municipality))
        self.next_text = tr("honseki_done_next")


load_kv(__file__)
