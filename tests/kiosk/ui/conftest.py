"""Off-screen Kivy for tests/kiosk/ui: the environment is set here, before anything imports kivy."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kiosk.ui.env import prepare_environment

prepare_environment(Path(tempfile.mkdtemp(prefix="kivy-home-tests-")), offscreen=True)
