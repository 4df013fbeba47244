"""Sizes, colours and the current font, as one Kivy object the kv rules bind to."""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, mm
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty

from kiosk.ui.fonts import font_name

TOUCH_MM = 12  # smallest touch target, millimetres at the configured DPI
LARGE_SCALE = 1.3


class Theme(EventDispatcher):
    """High-contrast palette (white on navy, black on yellow) and text sizes; ``large`` scales text up."""

    large = BooleanProperty(False)
    font = StringProperty("KioskJa")
    fs_title = NumericProperty(dp(28))
    fs_body = NumericProperty(dp(20))
    fs_button = NumericProperty(dp(22))
    touch = NumericProperty(mm(TOUCH_MM))
    bg = ColorProperty((0.04, 0.09, 0.2, 1))
    fg = ColorProperty((1, 1, 1, 1))
    accent = ColorProperty((1, 0.84, 0, 1))
    accent_down = ColorProperty((0.7, 0.55, 0, 1))  # a pressed button: visibly darker while held
    on_accent = ColorProperty((0, 0, 0, 1))
    secondary = ColorProperty((0.93, 0.95, 1, 1))
    secondary_down = ColorProperty((0.55, 0.62, 0.78, 1))
    warn = ColorProperty((1, 0.72, 0.3, 1))

    def on_large(self, _instance: object, large: bool) -> None:
        scale = LARGE_SCALE if large else 1.0
        self.fs_title, self.fs_body, self.fs_button = dp(28) * scale, dp(20) * scale, dp(22) * scale

    def use_language(self, language: str) -> None:
        """Switch every bound label to the font for ``language``. Never raises."""
        self.font = font_name(language)

    def refresh_metrics(self) -> None:
        """Recompute the touch size after the DPI is known (window created). Never raises."""
        self.touch = mm(TOUCH_MM)


THEME = Theme()
