"""Power loss: the journal's write-ahead log as a power cut can leave it (torn last frame, garbage after
it, a frame failing its checksum, a damaged header). The journal opens, recovery finishes the transaction,
and staff are told what the kiosk could not prove: an open item (J03) naming the transaction whose last
step may be lost. A main file that is not SQLite, or is corrupt, is refused with one line naming it and
what to do, and is never overwritten."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from journal_helpers import FixtureCenter, copy_fixture

from kiosk.app.cli import main
from kiosk.flow.recovery import recover
from kiosk.journal.store import Journal, JournalDamaged
from kiosk.journal.wal import lost_tail, open_elsewhere
from kiosk.money import CreditSource
from kiosk.staff.diagnostics import Diagnostics

ROOT = Path(__file__).resolve().parents[3]
ORDERS = {"O-CUT": ("S-CUT", 300, 1, 0, False)}


def _cut_power(tmp_path: Path) -> tuple[Path, Path]:
    """A transaction on the pay screen with two coins journaled, and the disk as a power cut leaves it:
    the main file and its log copied while the journal is still open (never checkpointed)."""
    live = tmp_path / "live" / "journal.sqlite"
    journal = Journal(live)
    journal.begin("T-CUT")
    journal.stage("T-CUT", "session", session_id="S-CUT")
    journal.stage("T-CUT", "ordered", order_id="O-CUT", fee=300)
    journal.stage("T-CUT", "paying")
    journal.record_credit("coin:1", 100, CreditSource.COIN, txn_id="T-CUT")
    journal.record_credit("coin:2", 100, CreditSource.COIN, txn_id="T-CUT")  # the last write
    disk = tmp_path / "disk" / "journal.sqlite"
    disk.parent.mkdir()
    shutil.copyfile(live, disk)
    shutil.copyfile(live.with_name("journal.sqlite-wal"), disk.with_name("journal.sqlite-wal"))
    journal.close()
    return disk, disk.with_name("journal.sqlite-wal")


def _page_size(wal: Path) -> int:
    return int(struct.unpack(">I", wal.read_bytes()[8:12])[0])


def _torn(wal: Path) -> None:
    data = wal.read_bytes()
    wal.write_bytes(data[: len(data) - (24 + _page_size(wal)) // 2])  # half of the last frame


def _garbage(wal: Path) -> None:
    wal.write_bytes(wal.read_bytes() + bytes(range(256)) * 3)


def _bad_checksum(wal: Path) -> None:
    data = bytearray(wal.read_bytes())
    data[-100] ^= 0xFF  # inside the last frame's page
    wal.write_bytes(bytes(data))


def _bad_header(wal: Path) -> None:
    data = bytearray(wal.read_bytes())
    data[12] ^= 0x01  # the checkpoint sequence: the header checksum fails
    wal.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "inserted"),
    [(_torn, 100), (_garbage, 200), (_bad_checksum, 100), (_bad_header, None)],
    ids=["torn-last-frame", "garbage-appended", "bad-checksum", "bad-header"],
)
def test_a_damaged_log_tail_opens_recovers_and_tells_staff(
    tmp_path: Path, damage: Callable[[Path], None], inserted: int | None
) -> None:
    path, wal = _cut_power(tmp_path)
    assert lost_tail(path) is None  # the log as the cut left it, intact: nothing to tell
    damage(wal)
    assert lost_tail(path) is not None
    journal = Journal(path)
    try:
        (incident,) = journal.incidents()
        assert incident.kind == "tail_lost" and "write-ahead log" in incident.detail
        if inserted is None:  # the whole log is dropped: the transaction never reached the main file
            assert incident.txn_id == "" and journal.transactions() == []
            return
        assert incident.txn_id == "T-CUT"
        assert journal.balance("T-CUT").inserted == inserted  # what SQLite could prove
        center = FixtureCenter(dict(ORDERS))
        ((done),) = recover(journal, center)
        assert (done.txn_id, done.action, done.refund_owed, done.staff_code) == (
            "T-CUT",
            "cancelled",
            inserted,
            "RC2",
        )
        diag = Diagnostics(journal)
        assert diag.books("T-CUT").balanced
        items = {(i.txn_id, i.item, i.kind, i.staff_code) for i in diag.open_items()}
        assert items == {
            ("T-CUT", "owed", "owed", "RC2"),
            ("T-CUT", f"journal:tail_lost:{incident.seq}", "tail_lost", "J03"),
        }
        closed = diag.check("T-CUT", f"journal:tail_lost:{incident.seq}", staff_id="017")
        assert closed.kind == "checked"
    finally:
        journal.close()
    journal = Journal(path)  # the next start: the item stays closed, no new incident
    try:
        assert len(journal.incidents()) == 1
        assert {i.kind for i in Diagnostics(journal).open_items()} == {"owed"}
    finally:
        journal.close()


def test_an_intact_log_after_a_crash_tells_staff_nothing(tmp_path: Path) -> None:
    path, _wal = _cut_power(tmp_path)
    journal = Journal(path)
    try:
        assert journal.incidents() == [] and journal.balance("T-CUT").inserted == 200
    finally:
        journal.close()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p.write_bytes(b"these are not the books\n" * 100),
        lambda p: p.write_bytes(p.read_bytes()[:4096] + b"\xa5" * (p.stat().st_size - 4096)),
    ],
    ids=["not-sqlite", "corrupt-pages"],
)
def test_a_main_file_that_is_not_a_journal_is_refused_untouched(
    tmp_path: Path, spoil: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy_fixture("journal-v8.sqlite", tmp_path)
    spoil(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(JournalDamaged) as caught:
        Journal(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"journal {path} is not a readable journal (")
    assert line.endswith(
        "move it aside (keep it: it holds the books) and start the kiosk again; the kiosk never overwrites it"
    )
    assert main(["diag", "--journal", str(path)]) == 2
    assert capsys.readouterr().err == f"kiosk: {line}\n"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.sqlite"]


def test_a_log_another_process_has_open_is_not_judged(tmp_path: Path) -> None:
    """``kiosk diag`` while the kiosk runs: the log's tail may be a write in progress, not a loss."""
    path = tmp_path / "journal.sqlite"
    child = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kiosk.journal.store import Journal\n"
        "j = Journal(Path(sys.argv[1]))\n"
        "j.begin('T-LIVE')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
        "j.close()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", child, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as kiosk:
        try:
            assert kiosk.stdout is not None and kiosk.stdout.readline() == "ready\n"
            assert open_elsewhere(path)
            _garbage(path.with_name("journal.sqlite-wal"))  # as a write the kiosk is making now
            assert lost_tail(path) is None
            journal = Journal(path)
            try:
                assert journal.incidents() == [] and [t.id for t in journal.transactions()] == ["T-LIVE"]
            finally:
                journal.close()
        finally:
            kiosk.communicate("", timeout=30)
    assert kiosk.returncode == 0 and not open_elsewhere(path)


def test_kiosk_diag_lists_the_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, wal = _cut_power(tmp_path)
    _torn(wal)
    Journal(path).close()
    assert main(["diag", "--journal", str(path)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "journal:tail_lost:1" in x]
    assert "T-CUT" in line and "J03" in line
    assert line.endswith(
        "a power cut may have cost this transaction's last journaled step: check its cash and the tray"
    )
