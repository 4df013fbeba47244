"""Owner-only files: the center's data directory holds keys, the admin token, the resident register
and the ledger, so the directory is 0700 and those files are 0600 whatever the umask (an existing
directory or file from an older run is tightened too).

SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's own permissions, so
a database created here 0600 keeps its journal files owner-only as well.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def owner_only_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700. Raises OSError from the file system."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def owner_only_file(path: Path) -> Path:
    """Create ``path`` empty if missing, and make it 0600 (before anything is written into it).

    Raises OSError from the file system.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def owner_only_database(path: Path) -> Path:
    """Make the SQLite file ``path`` (created if missing) and its existing side files 0600.

    Raises OSError from the file system.
    """
    owner_only_file(path)
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, FILE_MODE)
    return path


def write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file (never readable by others, not even briefly).

    Raises OSError from the file system.
    """
    owner_only_file(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
