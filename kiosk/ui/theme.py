"""Sizes, colours and the current font, as one Kivy object the kv rules bind to.

Sizes follow the window (``fit_window``): text and touch targets grow with the shorter side of the screen
(800x600 is the reference), never below the 12 mm touch target; large text scales text and keys up again.
Every text / background pair a screen uses is listed in ``TEXT_PAIRS`` (tests check each is >= 4.5:1).
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, mm
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty

from kiosk.ui.fonts import font_name

TOUCH_MM = 12  # smallest touch target, millimetres at the configured DPI
LARGE_SCALE = 1.3
REFERENCE_SIDE = 600  # the shorter side of the reference 800x600 screen, in dp
MIN_SCALE, MAX_SCALE = 1.0, 2.0
Rgba = tuple[float, float, float, float]


def relative_luminance(colour: Rgba) -> float:
    """WCAG 2 relative luminance of an sRGB colour (alpha ignored). Never raises."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Rgba, b: Rgba) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21). Never raises."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class Theme(EventDispatcher):
    """High-contrast palette (white on navy, black on yellow) and sizes; ``large`` scales text and keys up."""

    large = BooleanProperty(False)
    scale = NumericProperty(1.0)  # the window's size against the 800x600 reference (fit_window)
    font = StringProperty("KioskJa")
    # Five text sizes and no others (each size x bold x font is one opened font: few sizes draw fast and
    # keep memory down): small (step indicator, header keys, notes), body (= buttons), title, display.
    fs_small = NumericProperty(dp(16))
    fs_body = NumericProperty(dp(21))
    fs_button = NumericProperty(dp(21))
    fs_title = NumericProperty(dp(28))
    fs_display = NumericProperty(dp(42))
    touch = NumericProperty(mm(TOUCH_MM))  # the smallest touch target
    key = NumericProperty(mm(TOUCH_MM))  # keypad / stepper keys: above touch, larger again in large text
    gap = NumericProperty(dp(12))
    bg = ColorProperty((0.04, 0.09, 0.2, 1))
    fg = ColorProperty((1, 1, 1, 1))
    accent = ColorProperty((1, 0.84, 0, 1))
    accent_down = ColorProperty((0.7, 0.55, 0, 1))  # a pressed button: visibly darker while held
    on_accent = ColorProperty((0, 0, 0, 1))
    secondary = ColorProperty((0.93, 0.95, 1, 1))
    secondary_down = ColorProperty((0.55, 0.62, 0.78, 1))
    warn = ColorProperty((1, 0.72, 0.3, 1))
    muted_bg = ColorProperty((0.2, 0.24, 0.33, 1))  # a button that cannot be used now (not available, 1 copy)
    muted_fg = ColorProperty((0.85, 0.87, 0.9, 1))
    panel = ColorProperty((0.1, 0.17, 0.32, 1))  # step indicator, summary panels
    selected = ColorProperty((1, 0.84, 0, 1))  # a chosen option: yellow with a drawn mark, black text

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._resize()

    def on_large(self, _instance: object, _large: bool) -> None:
        self._resize()

    def on_scale(self, _instance: object, _scale: float) -> None:
        self._resize()

    def _resize(self) -> None:
        # the sizes that lay widgets out first, then the texts: Kivy's clock runs a frame's layouts and texts
        # in the order they were asked for, and a text measured before its layout changes its width is
        # measured again after it (the PIN keys, whose width follows ``key``)
        self.touch = max(mm(TOUCH_MM), dp(48) * self.scale)
        self.key = self.key_normal() * (1.2 if self.large else 1.0)
        self.gap = dp(12) * self.scale
        small, body, title, display = self.text_sizes(self.large)
        self.fs_body = self.fs_button = body
        self.fs_title, self.fs_display, self.fs_small = title, display, small

    def text_sizes(self, large: bool) -> tuple[int, int, int, int]:
        """The text sizes (small, body = button, title, display) at the current window scale, in larger
        text or not: the very values the labels are given. Never raises."""
        text = self.scale * (LARGE_SCALE if large else 1.0)
        small = round(dp(16) * self.scale * (1.15 if large else 1.0))
        return small, round(dp(21) * text), round(dp(28) * text), round(dp(42) * text)

    def fs_body_normal(self) -> float:
        """The body text size without large text at the current window scale. Never raises."""
        return float(self.text_sizes(False)[1])

    def key_normal(self) -> float:
        """The keypad key's height without large text at the current window scale. Never raises."""
        return float(max(mm(TOUCH_MM), dp(60) * self.scale))

    def fit_window(self, width: float, height: float) -> None:
        """Scale sizes to a window of ``width`` x ``height`` pixels. Never raises."""
        side = min(width, height) / max(dp(1), 1.0)
        self.scale = min(MAX_SCALE, max(MIN_SCALE, side / REFERENCE_SIDE))

    def use_language(self, language: str) -> None:
        """Switch every bound label to the font for ``language``. Never raises."""
        self.font = font_name(language)

    def refresh_metrics(self) -> None:
        """Recompute the touch size after the DPI is known (window created). Never raises."""
        self._resize()

    def text_pairs(self) -> dict[str, tuple[Rgba, Rgba]]:
        """Every text colour on its background the screens use, by name. Never raises."""

        def c(value: object) -> Rgba:
            r, g, b, a = (float(x) for x in value)  # type: ignore[attr-defined]
            return (r, g, b, a)

        return {
            "text": (c(self.fg), c(self.bg)),
            "warning": (c(self.warn), c(self.bg)),
            "highlight": (c(self.accent), c(self.bg)),
            "button": (c(self.on_accent), c(self.accent)),
            "button pressed": (c(self.on_accent), c(self.accent_down)),
            "secondary": (c(self.on_accent), c(self.secondary)),
            "secondary pressed": (c(self.on_accent), c(self.secondary_down)),
            "not available": (c(self.muted_fg), c(self.muted_bg)),
            "selected option": (c(self.on_accent), c(self.selected)),
            "step": (c(self.fg), c(self.panel)),
            "current step": (c(self.on_accent), c(self.accent)),
        }


THEME = Theme()
