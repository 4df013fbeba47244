"""The journal's errors (split from ``kiosk.journal.store``, which re-exports them)."""

from __future__ import annotations

__all__ = ["JournalDamaged", "JournalRefused", "JournalTooNew", "JournalWriteError"]


class JournalWriteError(Exception):
    """The journal could not record something (disk full, corrupt file)."""


class JournalRefused(JournalWriteError):
    """The kiosk will not open this journal file at all; ``str()`` is one line naming the file and what
    to do. The file is left exactly as it was."""


class JournalTooNew(JournalRefused):
    """The journal was written by a newer kiosk (a higher schema version than this one knows)."""

    def __init__(self, path: object, found: int, latest: int) -> None:
        self.found, self.latest = found, latest
        super().__init__(
            f"journal {path}: journal schema {found} is newer than this kiosk ({latest}): upgrade the kiosk"
        )


class JournalDamaged(JournalRefused):
    """The journal's main file is not a SQLite database, or SQLite finds it corrupt."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(
            f"journal {path} is not a readable journal ({why}): move it aside (keep it: it holds the books)"
            " and start the kiosk again; the kiosk never overwrites it"
        )
