"""Write a screenshot of every touchscreen screen (off screen, 800x600) to out/screens/<screen>-<lang>.png.

Renders the sample view state of each screen (``kiosk.ui.samples``) in each asked language; used for the
README pictures. Run as ``python -m kiosk.ui.gallery`` or ``scripts/ui-screenshots.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kiosk.ui.env import prepare_environment


def main(argv: Sequence[str] | None = None) -> int:
    """Render each sample state in each asked language; exit 1 with a message if a font is missing."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out") / "screens")
    parser.add_argument("--languages", default="ja,en", help="comma-separated, or 'all'")
    parser.add_argument("--size", default="800x600")
    args = parser.parse_args(argv)
    prepare_environment(Path(tempfile.mkdtemp(prefix="kivy-home-")), offscreen=True)
    width, height = args.size.split("x")
    from kivy.config import Config

    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.ui.app import build_shell
    from kiosk.ui.fonts import FontMissingError
    from kiosk.ui.i18n import LANGUAGES
    from kiosk.ui.samples import sample_states

    try:
        shell = build_shell()
    except FontMissingError as exc:
        print(f"ui-screenshots: {exc}", file=sys.stderr)
        return 1
    Window.add_widget(shell)
    languages = LANGUAGES if args.languages == "all" else tuple(args.languages.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    count = 0
    for language in languages:
        for name, state in sample_states(language).items():
            shell.pick_language(language)
            if name == "language":
                shell.open_language()
            shell.show(state)
            for _ in range(3):
                EventLoop.idle()
            shell.export_to_png(str(args.out / f"{name}-{language}.png"))
            count += 1
    shell.sound.stop_reminder()
    print(f"ui-screenshots: {count} screenshot(s) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
