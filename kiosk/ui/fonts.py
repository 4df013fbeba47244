"""Which font shows which language, and registering them with Kivy.

IPAex Gothic is the default (Japanese); it has no Hangul and few simplified hanzi, so zh-Hans and ko
use WenQuanYi Micro Hei, and Vietnamese (stacked diacritics) uses DejaVu Sans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

IPAEX_GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
WQY_MICROHEI = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# Kivy font name -> file (in order of preference for the language).
FONT_FILES: dict[str, Path] = {"KioskJa": IPAEX_GOTHIC, "KioskCjk": WQY_MICROHEI, "KioskLatin": DEJAVU_SANS}
_FONT_FOR_LANGUAGE = {"ja": "KioskJa", "zh-Hans": "KioskCjk", "ko": "KioskCjk", "vi": "KioskLatin"}


class FontMissingError(RuntimeError):
    """A font the touchscreen needs is not installed (scripts/setup.sh installs them)."""


def font_name(language: str) -> str:
    """The registered Kivy font name for a language (Japanese font for unknown ones). Never raises."""
    return _FONT_FOR_LANGUAGE.get(language, "KioskJa")


def font_file(language: str) -> Path:
    """The font file that shows ``language``. Never raises (the path may not exist)."""
    return FONT_FILES[font_name(language)]


def register_fonts() -> None:
    """Register the kiosk fonts with Kivy and make IPAex Gothic the default font.

    Raises FontMissingError naming the missing file and the package that installs it.
    """
    from kivy.core.text import DEFAULT_FONT, LabelBase

    for path in FONT_FILES.values():
        if not path.exists():
            raise FontMissingError(f"font {path} is missing: run scripts/setup.sh (fonts-* packages)")
    for name, path in FONT_FILES.items():
        LabelBase.register(name, str(path))
    LabelBase.register(DEFAULT_FONT, str(IPAEX_GOTHIC))


def _sdl2_provider() -> Any:
    """Kivy's SDL2 text provider class when it is the one in use, else None (another provider keeps no
    surface of ours and opens its faces its own way). Never raises."""
    from kivy.core.text import Label as CoreLabel

    try:
        from kivy.core.text.text_sdl2 import LabelSDL2
    except ImportError:
        return None
    return LabelSDL2 if issubclass(CoreLabel, LabelSDL2) else None


def _render_end_releasing(label: Any) -> Any:
    """Kivy's ``LabelSDL2._render_end`` without keeping the surface: the text's pixels, copied out of it."""
    surface, label._surface = label._surface, None
    return surface.get_data()


def release_text_surfaces() -> None:
    """Make Kivy's SDL2 text provider let go of a text's SDL surface once its pixels are copied out.

    Kivy draws a label's text into an SDL surface, copies the pixels into the label's texture and keeps the
    surface until the label's next text: a second copy of every text on every screen, ~5 MiB at 800x600
    once every screen is drawn. Nothing reads the surface after the copy (a new text gets a new one).
    Does nothing under another text provider; calling it again changes nothing. Never raises."""
    provider = _sdl2_provider()
    if provider is not None:
        provider._render_end = _render_end_releasing


def _font_id_by_file(label: Any) -> str:
    """Kivy's ``LabelSDL2._get_font_id`` without the bold and italic flags, and with the size it opens the
    face at (a whole number of pixels: 18, 18.0 and 18.6 are one face), see ``share_font_faces``."""
    options = label.options
    size = int(float(options["font_size"]))
    return "|".join(
        str(x) for x in (size, options["font_name_r"], options["underline"], options["strikethrough"])
    )


def share_font_faces() -> None:
    """Make Kivy's SDL2 text provider open one font face per file and size, not one more for bold text, nor
    one more for the same size written another way.

    The provider keeps an opened face per font id, and its id names the bold and italic flags besides the
    file they chose (``font_name_r``); but it applies neither to the face (only underline and strikethrough):
    a bold text of a font registered without a bold file is drawn from the very same file, at the same size,
    with the same pixels. Each IPAex face holds ~0.9 MiB (its tables, read in, and HarfBuzz's); the screens'
    bold texts at 16 and 21 px opened two more at normal text, and more at large text. Its id also names the
    size as the label holds it, though it opens the face at the whole number of pixels: a label's size of
    16.0 (the theme's first value) and of 16 (the same size set again after larger text) opened two faces.
    Does nothing under another text provider; calling it again changes nothing. Never raises."""
    provider = _sdl2_provider()
    if provider is not None:
        provider._get_font_id = _font_id_by_file
