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
    # A window without multisampling (Kivy asks for 2 samples; Mesa's llvmpipe makes that 4): the 4-sample
    # colour and depth-stencil buffers are 15 MiB of RSS at 800x600, 63 MiB at 1920x1080, and every frame
    # is drawn at 4 samples. On llvmpipe they smooth nothing: the screens' edges are drawn with the same
    # colours either way (a rectangle's edge on a half pixel may fall one pixel over).
    os.environ.setdefault("KCFG_GRAPHICS_MULTISAMPLES", "0")
    if quiet:
        os.environ["KIVY_NO_CONSOLELOG"] = "1"
    if offscreen:
        os.environ.pop("DISPLAY", None)
        os.environ.pop("WAYLAND_DISPLAY", None)
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
