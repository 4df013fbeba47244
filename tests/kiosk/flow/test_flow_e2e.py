"""`kiosk play` end to end through the real pieces: virtual card over sim://, relay client against the
mock center (mutual TLS), ccTalk cash driver on the simulator's pty, IPP driver to ippeveprinter."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from play_helpers import play_cli

from kiosk.journal.store import Journal

pytestmark = [pytest.mark.slow, pytest.mark.interop]
PIN_TOKEN = re.compile(rb"(?<![0-9A-Za-z])1234(?![0-9A-Za-z])")  # the card's PIN, not part of a hex id


def _play(name: str, work: Path) -> subprocess.CompletedProcess[bytes]:
    return play_cli(name, work, work / "out")


def test_happy_path_prints_settles_and_never_leaks_the_pin(tmp_path: Path) -> None:
    run = _play("juminhyo", tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output.decode(errors="replace")[-2000:]
    assert b"outcome: done message=take_certificate" in run.stdout and b"pin ****" in run.stdout
    pages = sorted((tmp_path / "out" / "juminhyo").iterdir())
    assert pages and all(p.stat().st_size > 0 for p in pages)
    assert not PIN_TOKEN.search(output)
    for path in tmp_path.glob("journal.sqlite*"):
        assert not PIN_TOKEN.search(path.read_bytes()), path.name
    journal = Journal(tmp_path / "journal.sqlite")
    (txn,) = journal.transactions()
    assert (
        txn.finished and txn.report_status == "reported" and all(d.state == "printed" for d in txn.documents)
    )
    balance = journal.balance(txn.id)
    assert balance.settled and (balance.inserted, balance.change, balance.printed_fees) == (500, 300, 200)


def test_printer_jam_refunds_the_copy_and_the_ledger_agrees(tmp_path: Path) -> None:
    run = _play("printer_jam", tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr).decode(errors="replace")[-2000:]
    journal = Journal(tmp_path / "journal.sqlite")
    (txn,) = journal.transactions()
    balance = journal.balance(txn.id)
    assert balance.settled and balance.refunded == 200 and balance.printed_fees == 0
    assert [d.state for d in txn.documents] == ["failed"]
