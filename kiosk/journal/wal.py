"""What a power cut may have cost the journal: a look at its write-ahead log before SQLite opens it.

SQLite (WAL mode, ``synchronous=FULL``) keeps every committed write in ``<journal>-wal`` until it is
copied into the main file. After a power cut the log's tail can be torn (a frame half written), hold
garbage, or fail its checksum: SQLite then keeps the frames up to the last intact commit and silently
drops the rest. A write is a journal point only once its commit returned, so normally nothing that
counted is lost; but a disk that lied about flushing, or a cut in the middle of the last write, means the
journal may lack its last step. The kiosk cannot prove what that step was, so it tells staff
(``Journal`` records a ``tail_lost`` incident naming the transaction, staff code J03).

``lost_tail(path)`` reads the log (never writes it) and says whether SQLite will drop part of it.
Frames after the last commit that belong to an older generation of the log (other salts, whole frames:
a log restarted after a checkpoint reuses the file) are not a loss. Nor is a log another process has
open (``kiosk diag`` while the kiosk runs): its tail may be a write in progress, and SQLite drops
nothing there; SQLite's lock on the shared-memory file says so (``/proc/locks``, Linux).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["lost_tail"]

_MAGIC = (0x377F0682, 0x377F0683)  # checksums in little-/big-endian words
_HEADER, _FRAME_HEADER = 32, 24


def _checksum(data: bytes, big: bool, s0: int, s1: int) -> tuple[int, int]:
    """SQLite's WAL checksum over ``data`` (a multiple of 8 bytes), continuing from (s0, s1)."""
    words = struct.unpack(f"{'>' if big else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


_SHM_DMS = 128  # the byte of <journal>-shm every SQLite connection to the journal holds a lock on


def open_elsewhere(journal: Path, locks: Path = Path("/proc/locks")) -> bool:
    """Whether another process has the journal open (holds SQLite's lock on ``<journal>-shm``), read from
    the kernel's lock table ``locks``; False where it cannot be read. Never raises."""
    try:
        st = os.stat(journal.with_name(journal.name + "-shm"))
        table = locks.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        try:
            pid, where, start, end = int(fields[4]), fields[5], fields[6], fields[7]
        except (IndexError, ValueError):
            continue
        held = start.isdigit() and int(start) <= _SHM_DMS and (end == "EOF" or int(end) >= _SHM_DMS)
        if where == device and held and pid != os.getpid():
            return True
    return False


def lost_tail(journal: Path) -> str | None:
    """What SQLite will drop from ``<journal>-wal`` as it opens the journal, as one line; None when
    nothing (no log, an empty one, or every byte after the last commit is an older generation's).
    Never raises (an unreadable log is reported as a loss)."""
    wal = journal.with_name(journal.name + "-wal")
    if open_elsewhere(journal):
        return None
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the write-ahead log {wal.name} cannot be read ({exc})"
    if not data:
        return None
    if len(data) < _HEADER:
        return f"the write-ahead log {wal.name} is cut short ({len(data)} bytes)"
    magic, _fmt, page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_HEADER])
    big = magic == _MAGIC[1]
    if magic not in _MAGIC or page_size < 512 or page_size & (page_size - 1):
        return f"the write-ahead log {wal.name} has a damaged header: all {len(data)} bytes dropped"
    s = _checksum(data[:24], big, 0, 0)
    if s != (c1, c2):
        return f"the write-ahead log {wal.name} fails its header checksum: all {len(data)} bytes dropped"
    frame = _FRAME_HEADER + page_size
    offset, committed = _HEADER, _HEADER
    while offset + frame <= len(data):
        _page, commit, f1, f2, k1, k2 = struct.unpack(">6I", data[offset : offset + _FRAME_HEADER])
        if (f1, f2) != (salt1, salt2):
            break
        s = _checksum(data[offset : offset + 8] + data[offset + _FRAME_HEADER : offset + frame], big, *s)
        if s != (k1, k2):
            break
        offset += frame
        if commit:
            committed = offset
    rest = len(data) - committed
    if not rest:
        return None
    if rest % frame == 0 and all(
        data[o + 8 : o + 16] != data[16:24] for o in range(committed, len(data), frame)
    ):
        return None  # whole frames of an older generation of the log: not ours to lose
    return (
        f"the write-ahead log {wal.name} ends in {rest} bytes after its last intact commit"
        f" (a torn, damaged or half-written last write): SQLite drops them"
    )
