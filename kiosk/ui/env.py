"""Environment Kivy reads at import time: set it before anything imports ``kivy``."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_environment(kivy_home: Path, *, offscreen: bool = False, quiet: bool = True) -> None:
    """Point KIVY_HOME at ``kivy_home`` (never ``~/.kivy``), stop Kivy parsing argv and touching its config
    file, and optionally
    force the off-screen SDL2 window (llvmpipe) with a silent audio driver. Raises OSError."""
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_HOME"] = str(kivy_home)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_NO_CONFIG"] = "1"  # Kivy's config.ini is neither read nor written (kiosk.ui.lockdown)
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # the screens draw no image files: SDL2's loader (PNG screenshots too) without PIL's (~2 MiB of RSS)
    os.environ.setdefault("KIVY_IMAGE", "sdl2")
    if quiet:
        os.environ["KIVY_NO_CONSOLELOG"] = "1"
    if offscreen:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
