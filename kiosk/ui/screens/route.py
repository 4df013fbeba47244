"""Route: certificates of the municipality of residence, or of the 本籍地 (needs 利用登録)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class RouteScreen(KioskScreen):
    title_text = StringProperty("")
    residence_text = StringProperty("")
    honseki_text = StringProperty("")
    registration_text = StringProperty("")  # 本籍地 利用登録
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("route_title"), tr("cancel")
        self.residence_text, self.honseki_text = tr("route_residence"), tr("route_honseki")
        self.registration_text = tr("route_honseki_registration")


load_kv(__file__)
