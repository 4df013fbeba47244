#!/usr/bin/env python3
"""Render the staff screen (Japanese, off screen, 800x600) with one open item to docs/screens/staff-ja.png:
a journal holding an 印鑑登録証明書 transaction that owes 300 yen change (as the no_change scenario leaves
it), the passcode typed on the keypad. Run: .venv/bin/python scripts/staff-screenshot.py [OUT.png]"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kiosk.ui.env import prepare_environment

PASSCODE = "2468"


class _Devices:
    """A fixed device probe: what a store's kiosk typically shows (one hopper needing staff)."""

    def __init__(self, statuses: list[object]) -> None:
        self.statuses = statuses

    def status(self) -> list[object]:
        return self.statuses


def main(out: Path) -> int:
    """Write the screenshot; exit 1 with a message if a font is missing."""
    work = Path(tempfile.mkdtemp(prefix="staff-shot-"))
    prepare_environment(work / "kivy-home", offscreen=True)
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "600")
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.diagnostics import DeviceStatus, Diagnostics, StaffAccess
    from kiosk.journal import Journal
    from kiosk.staff_passcode import PasscodeVerifier
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
    access = StaffAccess(Diagnostics(journal, devices=devices), PasscodeVerifier.for_passcode(PASSCODE))
    shell = build_shell(staff=access)
    Window.add_widget(shell)
    shell.open_staff()
    staff = shell.screens["staff"]
    for key in (*PASSCODE, "ok"):
        staff.press_passcode(key)
    for _ in range(30):  # the device check runs off the UI thread; a few frames for the layout
        EventLoop.idle()
    out.parent.mkdir(parents=True, exist_ok=True)
    shell.export_to_png(str(out))
    shell.sound.stop_reminder()
    journal.close()
    print(f"staff-screenshot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screens/staff-ja.png")))
