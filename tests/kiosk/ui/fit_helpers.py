"""What a resident can read: every label's text inside its box and inside the window, lines broken only
between words (or, in Japanese and Chinese, never before a closing mark or a small kana), every text on its
background at >= 4.5:1 (3:1 for large text). A uniquely named helper module for the screen tests."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.label import Label

from kiosk.ui.theme import THEME, Rgba, contrast
from kiosk.ui.widgets import StepLabel

SPACED = ("en", "pt", "es", "vi", "tl", "ko")
NO_LINE_START = set("ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮーんン、。，．）」』！？：；・％,.)!?:;%")
NO_LINE_END = set("（「『(")
SLACK = 1.5  # pixels of rounding


def settle(frames: int = 3) -> None:
    """Run Kivy's pending layout and texture triggers and canvas rules, as a frame does before it draws,
    without drawing it (fast)."""
    for _ in range(frames):
        Clock.tick()
        Builder.sync()
        Clock.tick_draw()
        Builder.sync()


def visible_labels(root: Any) -> Iterator[Any]:
    """Every label (and button) with text that a resident sees under ``root``."""
    stack = [root]
    while stack:
        widget = stack.pop()
        if getattr(widget, "opacity", 1) <= 0:
            continue
        stack.extend(widget.children)
        if isinstance(widget, Label) and widget.text.strip() and widget.width > 0 and widget.height > 0:
            yield widget


def _lines(label: Any) -> list[str]:
    core = label._label
    lines = getattr(core, "_cached_lines", None) or []
    return ["".join(word.text for word in line.words) for line in lines]


def fit_problems(root: Any, language: str, window: tuple[int, int]) -> list[str]:
    """Why the text under ``root`` does not fit, one line per problem (empty: everything fits)."""
    problems = []
    for label in visible_labels(root):
        label.texture_update()
        name = f"{type(label).__name__} {label.text[:40]!r}"
        tw, th = label.texture_size
        if tw > label.width + SLACK or th > label.height + SLACK:
            problems.append(f"{name}: text {tw:.0f}x{th:.0f} in a {label.width:.0f}x{label.height:.0f} box")
        x0, y0 = label.to_window(label.x, label.y)
        x1, y1 = label.to_window(label.right, label.top)
        if x0 < -SLACK or y0 < -SLACK or x1 > window[0] + SLACK or y1 > window[1] + SLACK:
            problems.append(f"{name}: outside the window at ({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f})")
        lines = [line for line in _lines(label) if line.strip()]
        if language in SPACED:
            words = set(_plain(label).split())
            broken = [w for line in lines for w in line.split() if w not in words]
            if broken:
                problems.append(f"{name}: a word broken inside ({broken[0]!r})")
        else:
            for before, after in itertools.pairwise(lines):
                if after.lstrip()[:1] in NO_LINE_START or before.rstrip()[-1:] in NO_LINE_END:
                    problems.append(f"{name}: a line broken at {before[-3:]!r}/{after[:3]!r}")
                tail, head = re.findall(r"[A-Za-z0-9]*$", before)[0], re.findall(r"^[A-Za-z0-9]*", after)[0]
                if tail and head and tail + head in label.text and tail != before:
                    problems.append(f"{name}: a Latin word broken inside ({tail!r}/{head!r})")
    return problems


def _rgba(value: Any) -> Rgba:
    r, g, b, a = (float(x) for x in value)
    return (r, g, b, a)


def background_of(label: Any) -> Rgba:
    """The colour a label's text sits on: a button's own, a step's, else the screen's."""
    if isinstance(label, Button):
        return _rgba(label.background_color)
    if isinstance(label, StepLabel):
        return _rgba(THEME.accent if label.current else THEME.panel)
    return _rgba(THEME.bg)


def contrast_problems(root: Any) -> list[str]:
    """Every visible text below 4.5:1 on its background (3:1 for large text: >= 24 px, or >= 18.7 px bold)."""
    problems = []
    for label in visible_labels(root):
        colour = _rgba(label.disabled_color if label.disabled else label.color)
        large = label.font_size >= dp(24) or (label.bold and label.font_size >= dp(18.7))
        ratio = contrast(colour, background_of(label))
        if ratio < (3.0 if large else 4.5):
            problems.append(f"{type(label).__name__} {label.text[:30]!r}: {ratio:.1f}:1")
    return problems


_MARKUP = re.compile(
    r"\[/?(?:b|i|u|s|font|size|color|ref|anchor|sub|sup|font_context|font_family|font_features|text_language)(?:=[^\]]*)?\]"
)


def _plain(label: Label) -> str:
    """The label's text as it reads on screen: markup tags out, escapes undone (a markup label's name in
    another font is one word, not a word broken at the tag)."""
    if not label.markup:
        return str(label.text)
    text = _MARKUP.sub("", str(label.text))
    return text.replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")
