"""Write a screenshot of every touchscreen screen (off screen, 800x600) to out/screens/<screen>-<lang>.png.

Renders the sample view state of each screen (``harness.ui.samples``) in each asked language; used for the
README pictures. Run as ``python -m harness.ui.gallery`` or ``scripts/ui-screenshots.py``. ``staff_board``
renders the staff screen for the README (``scripts/staff-screenshot.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.ui.env import prepare_environment

if TYPE_CHECKING:
    from kiosk.staff.diagnostics import DeviceStatus
    from kiosk.ui.bridge import UiState


def main(argv: Sequence[str] | None = None) -> int:
    """Render each sample state in each asked language (and size, and text mode); exit 1 with a message if a
    font is missing. Writes only under ``--out`` (out/screens by default, never docs/ unless asked)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out") / "screens")
    parser.add_argument("--languages", default="ja,en", help="comma-separated, or 'all'")
    parser.add_argument("--size", default="800x600", help="WxH, or several comma-separated (names get -WxH)")
    parser.add_argument("--screens", default="", help="comma-separated screen names (default: every screen)")
    parser.add_argument("--large", action="store_true", help="large text too (names get -large)")
    args = parser.parse_args(argv)
    languages = _languages(parser, args.languages)
    sizes = _sizes(parser, args.size)
    wanted = _screens(parser, args.screens)
    prepare_environment(Path(tempfile.mkdtemp(prefix="kivy-home-")), offscreen=True)
    from kivy.config import Config

    Config.set("graphics", "width", str(sizes[0][0]))
    Config.set("graphics", "height", str(sizes[0][1]))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from harness.ui.samples import sample_states
    from kiosk.ui.app import build_shell
    from kiosk.ui.fonts import FontMissingError
    from kiosk.ui.theme import THEME

    try:
        shell = build_shell()
    except FontMissingError as exc:
        print(f"ui-screenshots: {exc}", file=sys.stderr)
        return 1
    Window.add_widget(shell)
    args.out.mkdir(parents=True, exist_ok=True)
    count = 0
    for width, height in sizes:
        Window.size = (width, height)
        for large in (False, True) if args.large else (False,):
            for language in languages:
                for name, state in sample_states(language).items():
                    if wanted is not None and name not in wanted:
                        continue
                    render_sample(shell, name, state, language)
                    THEME.large = large
                    for _ in range(3):
                        EventLoop.idle()
                    suffix = (f"-{width}x{height}" if len(sizes) > 1 else "") + ("-large" if large else "")
                    shell.export_to_png(str(args.out / f"{name}-{language}{suffix}.png"))
                    count += 1
    THEME.large = False
    shell.sound.stop_reminder()
    print(f"ui-screenshots: {count} screenshot(s) in {args.out}")
    return 0


def _languages(parser: argparse.ArgumentParser, asked: str) -> tuple[str, ...]:
    """The asked language tags, or exit 2 naming an unknown one and the tags there are (``zh_Hans`` is not a
    tag: it would have rendered Japanese under a Chinese file name)."""
    from kiosk.ui.i18n import LANGUAGES

    if asked == "all":
        return LANGUAGES
    languages = tuple(tag.strip() for tag in asked.split(",") if tag.strip())
    unknown = [tag for tag in languages if tag not in LANGUAGES]
    if unknown or not languages:
        parser.error(
            f"unknown language {', '.join(unknown) or repr(asked)}; "
            f"the languages are {', '.join(LANGUAGES)} (or all)"
        )
    return languages


def _screens(parser: argparse.ArgumentParser, asked: str) -> set[str] | None:
    """The asked screen names (None: every screen), or exit 2 naming an unknown one and the screens there
    are."""
    from harness.ui.samples import sample_states

    if not asked:
        return None
    names = sample_states("ja").keys()
    wanted = {name.strip() for name in asked.split(",") if name.strip()}
    unknown = sorted(wanted - set(names))
    if unknown or not wanted:
        parser.error(
            f"unknown screen {', '.join(unknown) or repr(asked)}; the screens are {', '.join(names)}"
        )
    return wanted


def _sizes(parser: argparse.ArgumentParser, asked: str) -> list[tuple[int, int]]:
    """The asked window sizes (``WxH``, comma-separated), or exit 2 naming the one that is not a size."""
    sizes = []
    for size in asked.split(","):
        width, _, height = size.strip().partition("x")
        if not (width.isdigit() and height.isdigit() and int(width) >= 320 and int(height) >= 320):
            parser.error(f"--size {size!r} is not WxH with both sides at least 320 pixels (e.g. 1920x1080)")
        sizes.append((int(width), int(height)))
    return sizes


def render_sample(shell: Any, name: str, state: UiState, language: str) -> None:
    """Show the sample ``state`` of screen ``name`` in ``language`` (the attract screen and the language list
    are UI-local: the language is picked after the state is shown). Never raises for a sample state."""
    shell.show(state)
    if state.screen == "attract":
        shell.pick_language(language)
        if name == "language":
            shell.open_language()


STAFF_PASSCODE = "2468"


class _Devices:
    """A fixed device probe: what a store's kiosk typically shows (one hopper needing staff)."""

    def __init__(self, statuses: list[DeviceStatus]) -> None:
        self.statuses = statuses

    def status(self) -> list[DeviceStatus]:
        return self.statuses


def staff_board(out: Path) -> None:
    """Render the staff screen (Japanese, off screen, 800x600) to ``out``: a journal holding an 印鑑登録証明書
    transaction that owes 300 yen change (as the no_change scenario leaves it), typical device lines, the
    passcode typed on the keypad. Raises FontMissingError, OSError."""
    work = Path(tempfile.mkdtemp(prefix="staff-shot-"))
    prepare_environment(work / "kivy-home", offscreen=True)
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "600")
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.journal.hopper_stock import HopperSlot
    from kiosk.journal.store import Journal
    from kiosk.staff.diagnostics import DeviceStatus, Diagnostics, StaffAccess
    from kiosk.staff.passcode import PasscodeVerifier
    from kiosk.ui.app import build_shell

    journal = Journal(work / "journal.sqlite")
    journal.begin("T-3f9c2a")
    journal.stage("T-3f9c2a", "ordered", order_id="O-1", fee=200, cert_type="inkan")
    journal.record_credit("E-1", 500, "coin")  # type: ignore[arg-type]
    journal.add_document("T-3f9c2a", "D-1", 0, 0, 200, 1)
    journal.document_state("D-1", "printed", pages_printed=1)
    journal.refund_owed("T-3f9c2a", 300)
    journal.finish("T-3f9c2a", "change_shortfall", "M02")
    devices = _Devices(
        [
            DeviceStatus("reader", True, "Virtual PCD 00 00"),
            DeviceStatus("center", True, "last heartbeat 12 s ago"),
            DeviceStatus("printer", True, "ready"),
            DeviceStatus("coin acceptor", True, "ok"),
            DeviceStatus("hopper 100 yen", False, "empty: count it"),
        ]
    )
    hoppers = [  # as a store's kiosk is set up; the 100-yen hopper empty, as its device line says
        HopperSlot(6, 500, 300, 40),
        HopperSlot(3, 10, 500, 120),
        HopperSlot(5, 100, 500, 0),
        HopperSlot(4, 50, 500, 80),
    ]
    diagnostics = Diagnostics(journal, devices=devices, hoppers=hoppers)
    access = StaffAccess(diagnostics, PasscodeVerifier.for_passcode(STAFF_PASSCODE))
    shell = build_shell(staff=access)
    Window.add_widget(shell)
    shell.open_staff()
    staff = shell.screens["staff"]
    for key in (*STAFF_PASSCODE, "ok"):
        staff.press_passcode(key)
    for _ in range(30):  # the device check runs off the UI thread; a few frames for the layout
        EventLoop.idle()
    out.parent.mkdir(parents=True, exist_ok=True)
    shell.export_to_png(str(out))
    shell.sound.stop_reminder()
    journal.close()


if __name__ == "__main__":
    sys.exit(main())
