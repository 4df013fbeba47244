"""本籍地 利用登録: confirm the registration with the 本籍地 (after the PIN and the card's removal), then the
result: from which day that municipality's 戸籍 can be issued at kiosks, and what to do then."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.utils import escape_markup

from kiosk.ui.bridge import UiState
from kiosk.ui.fonts import font_name
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv

KANJI_FONTS = frozenset({"ja", "zh-Hans"})  # languages whose own font draws the municipality's kanji


def body_with_name(template: str, name: str, language: str) -> tuple[str, bool]:
    """``template`` (a catalog text holding ``\0`` where the name goes) with the municipality's name as the
    center gives it (Japanese), and whether the label needs markup: the name in the Japanese font where the
    language's font has no kanji (DejaVu for Vietnamese); plain text otherwise, so that the label's
    Japanese line breaking (禁則) applies. Never raises."""
    if language in KANJI_FONTS:
        return template.replace("\0", name), False
    marked = f"[font={font_name('ja')}]{escape_markup(name)}[/font]"
    return escape_markup(template).replace("\0", marked), True


class HonsekiConfirmScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    body_markup = BooleanProperty(False)
    register_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("honseki_confirm_title"), tr("cancel")
        body = tr("honseki_confirm_body", municipality="\0")
        self.body_text, self.body_markup = body_with_name(body, state.honseki_municipality, tr.language)
        self.register_text = tr("honseki_confirm_button")


class HonsekiDoneScreen(KioskScreen):
    title_text = StringProperty("")
    body_text = StringProperty("")
    body_markup = BooleanProperty(False)
    next_text = StringProperty("")
    finish_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.finish_text = tr("honseki_done_title"), tr("finish")
        body = tr("honseki_done_body", municipality="\0", date=state.honseki_usable_from)
        self.body_text, self.body_markup = body_with_name(body, state.honseki_municipality, tr.language)
        self.next_text = tr("honseki_done_next")


load_kv(__file__)
