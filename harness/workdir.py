"""Where a harness command keeps its work: ``--work DIR`` (kept), or a new temporary folder that is removed
at the end — it holds the mock center's CA private keys — unless ``--keep`` is given or the kiosk stopped
mid-transaction (the journal is needed to recover).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self


class WorkFolder:
    """``with WorkFolder(work, keep=..., prefix=...) as w:`` ``w.path`` is the folder; ``w.hold(why)``
    keeps a temporary one. ``announce`` receives one line when a temporary folder is kept."""

    def __init__(
        self, work: str | None, *, keep: bool, prefix: str, announce: Callable[[str], object] = print
    ) -> None:
        self.temporary = not work
        self.path = Path(work) if work else Path(tempfile.mkdtemp(prefix=prefix))
        self._keep = keep
        self._held: str | None = None
        self._announce = announce

    def hold(self, why: str) -> None:
        """Keep a temporary folder after all, because ``why``."""
        self._held = why

    def __enter__(self) -> Self:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.temporary:
            return
        if self._keep or self._held:
            self._announce(f"work folder kept: {self.path}" + (f" ({self._held})" if self._held else ""))
            return
        shutil.rmtree(self.path, ignore_errors=True)
