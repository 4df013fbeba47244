"""Shared widgets: text styles, the big button, option toggles, the step indicator, and the base class every
screen derives from."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen, ScreenManager
from kivy.uix.togglebutton import ToggleButton

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.theme import THEME

HERE = Path(__file__).resolve().parent


def load_kv(source: str | Path) -> None:
    """Load a kv file once (kv lays out and binds; logic stays in Python): ``source`` is the .kv file, or a
    module's ``__file__`` whose sibling ``<stem>.kv`` is meant. Raises OSError."""
    path = str(Path(source).with_suffix(".kv"))
    if path not in Builder.files:
        Builder.load_file(path)


# Japanese and Chinese line-breaking rules (禁則処理): never start a line with a closing mark, a small kana or
# ん, never end one with an opening bracket. Kivy wraps a run without spaces anywhere; these fix its lines.
# (code points, so that no text but the catalogs' is written here)
_NO_START = (
    "3041 3043 3045 3047 3049 3063 3083 3085 3087 308e 30a1 30a3 30a5 30a7 30a9 30c3 30e3 30e5 30e7 "
    "30ee 30fc 3093 30f3 3001 3002 ff0c ff0e ff09 300d 300f ff01 ff1f ff1a ff1b 30fb ff05 002c 002e "
    "0029 0021 003f 003a 003b 0025 "
)  # small kana, ー, ん, closing marks and punctuation
_NO_END = "ff08 300c 300e 0028"  # opening brackets
NO_LINE_START = frozenset(chr(int(code, 16)) for code in _NO_START.split())
NO_LINE_END = frozenset(chr(int(code, 16)) for code in _NO_END.split())


_LATIN = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def kinsoku(lines: list[str], text: str = "") -> list[str] | None:
    """``lines`` with characters carried to the next line where a line would start with a closing mark
    (or end with an opening one), or, given the ``text`` they were laid out from, where a Latin word inside
    Japanese or Chinese text (iPhone, Face ID) was cut in two; None when nothing needs to change. Never
    raises."""
    fixed, changed = list(lines), False
    cjk = any(0x3000 <= ord(c) <= 0x9FFF or 0xFF00 <= ord(c) <= 0xFFEF for c in text)  # not spaced text
    for i in range(1, len(fixed)):
        for _ in range(3):  # e.g. 「せん。」: carry up to three characters
            before, after = fixed[i - 1], fixed[i]
            if len(before) < 2 or not (after[:1] in NO_LINE_START or before[-1:] in NO_LINE_END):
                break
            fixed[i - 1], fixed[i], changed = before[:-1], before[-1] + after, True
        before, after = fixed[i - 1], fixed[i]
        head = len(before.rstrip(_LATIN))
        word = before[head:] + after[: len(after) - len(after.lstrip(_LATIN))]
        if cjk and head > 0 and before[head:] and word != before[head:] and word in text:
            fixed[i - 1], fixed[i], changed = before[:head], before[head:] + after, True  # the whole word
    return fixed if changed else None


class Kinsoku:
    """Mixed into a wrapping label: after Kivy lays the text out, lines that break against 禁則 are
    re-broken (the label's ``text`` is untouched; only the drawn lines change)."""

    _label: Any

    def texture_update(self, *largs: Any) -> None:
        super().texture_update(*largs)  # type: ignore[misc]
        core = self._label
        lines = ["".join(word.text for word in line.words) for line in getattr(core, "_cached_lines", [])]
        fixed = kinsoku(lines, core.text) if len(lines) > 1 else None
        if fixed is None:
            return
        original = core.text
        core.text = "\n".join(fixed)
        try:
            super().texture_update(*largs)  # type: ignore[misc]
        finally:
            core.text = original


class KTitle(Kinsoku, Label):
    """A screen's heading."""


class KText(Kinsoku, Label):
    """Body text that wraps to the width."""


class KWarn(KText):
    """A warning line (PIN tries, countdown)."""


class KValue(Kinsoku, Label):
    """One line of a label / value table (pay, confirm): no wrap inside a row's cell."""


class KButton(Kinsoku, Button):
    """A primary touch target, never smaller than the theme's 12 mm."""


class KSecondary(KButton):
    """A secondary action (back, cancel)."""


class KHeaderButton(Button):
    """A header control (larger text, more time): as wide as its words, one line."""


class KToggle(ToggleButton):
    """An option value: selected shows yellow with a drawn mark (never colour alone)."""


class TextureCache:
    """Rendered text textures by everything that decides their pixels, the least recently used dropped past
    ``size`` entries. Each entry keeps the lines Kivy laid out (the fit checks read them). Never raises."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], tuple[Any, list[Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[object, ...]) -> tuple[Any, list[Any]] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[object, ...], texture: Any, lines: list[Any]) -> None:
        self._entries[key] = (texture, lines)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


# Six steps, each current or not, in full or as a number: a few dozen small textures per language and size.
STEP_TEXTURES = TextureCache(48)


class StepLabel(Label):
    """One step of the step indicator; ``current`` is highlighted with a mark, ``passed`` dimmed.

    Moving the mark changes two labels' colour and weight (and, when narrow, their words): their textures
    come from ``STEP_TEXTURES`` once drawn, so a tap to the next step draws no text."""

    current = BooleanProperty(False)
    passed = BooleanProperty(False)

    def _texture_key(self) -> tuple[object, ...]:
        return (
            self.text,
            self.font_name,
            self.font_size,
            self.bold,
            tuple(self.color),
            tuple(self.text_size),
            self.halign,
            self.valign,
        )

    def texture_update(self, *largs: Any) -> None:
        key = self._texture_key()
        hit = STEP_TEXTURES.get(key)
        if hit is not None:
            texture, lines = hit
            self._label._cached_lines = lines
            self.texture, self.texture_size = texture, list(texture.size)
            return
        super().texture_update(*largs)
        core, texture = self._label, self.texture
        if texture is None or core.texture is not texture or min(texture.size) <= 1:
            return  # no text, or Kivy's shared 1-pixel texture: nothing worth keeping
        texture.bind()  # fill it now, from this text (Kivy fills a text texture at its first draw)
        core.texture = None  # this label's next text gets a texture of its own: this one stays as it is
        STEP_TEXTURES.put(key, texture, list(getattr(core, "_cached_lines", [])))


def step_mark_room() -> float:
    """Room under (and over) a step's text: the current step's mark fits in it without touching the text at
    every window size. Never raises."""
    return float(dp(9) * THEME.scale)


class StepBar(BoxLayout):
    """The step indicator: the transaction's steps in order, the current one highlighted."""

    index = NumericProperty(-1)
    _names: tuple[str, ...] = ()

    def on_width(self, _instance: object, _width: float) -> None:
        if self.index >= 0:
            self.show(list(self._names), int(self.index))

    def show(self, names: list[str], index: int | None) -> None:
        """Show ``names`` with step ``index`` current (None: hide the bar). Never raises."""
        self._names = tuple(names)
        if index is None:  # hidden, its room kept: no relayout (and no text redrawn) between screens
            self.index, self.opacity = -1, 0
            return
        self.opacity, self.index = 1, index
        if len(self.children) != len(names):
            self.clear_widgets()
            for _ in names:
                label = StepLabel()
                label.bind(texture_size=self._fit)
                self.add_widget(label)
        # a narrow screen names only the current step (the others keep their numbers): no word is broken
        longest = max((len(word) for name in names for word in name.split()), default=0)
        compact = longest * THEME.fs_small * 0.62 > self.width / max(1, len(names)) - dp(16)
        for i, (label, name) in enumerate(zip(reversed(self.children), names, strict=True)):
            label.current, label.passed = i == index, i < index
            label.text = f"{i + 1} {name}" if label.current or not compact else str(i + 1)
            label.size_hint_x = 3 if label.current and compact else 1
        self.do_layout()  # the labels' widths now: their texts are drawn once, at the width they are shown
        self._fit()

    def _fit(self, *_args: object) -> None:
        tallest = max((c.texture_size[1] for c in self.children), default=0)
        self.height = tallest + 2 * step_mark_room()


class ScreenStack(ScreenManager):
    """The shell's screens, one at a time, switched without a transition. Kivy's ScreenManager clips its
    screens with a stencil, which a software renderer (llvmpipe) pays for on every frame: the stencil is
    filled and emptied across the whole area and every pixel drawn is tested against it (about half the cost
    of a 1920x1080 frame). A screen that appears at once and lays itself out inside its area needs no clip,
    so this manager's kv rule (widgets.kv) drops Kivy's."""


class KioskScreen(Screen):
    """A thin view over ``UiState``: ``render`` copies text in; taps call ``send`` with an intent."""

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shell = shell

    def render(self, state: UiState, tr: Translator) -> None:
        """Show ``state`` in the translator's language. Never raises for a well-formed state."""

    def clear(self) -> None:
        """Forget anything typed on this screen (called whenever the screen is left)."""

    def send(self, kind: str, value: object = None) -> None:
        """Hand an intent to the shell (which passes it to the flow), only while this screen is on display: a
        release that arrives after the screen changed (a press held across the change) says nothing."""
        if self.shell.ids.manager.current != self.name:
            return
        self.shell.send(kind, value)


load_kv(__file__)
