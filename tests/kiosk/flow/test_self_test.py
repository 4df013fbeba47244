"""The staff self-test on a real SimKiosk (center health, printer, cash unit self-check, a heartbeat), its
refusal while a transaction is open, a failing center shown as a failed line, and ``kiosk diag
--self-test`` refusing a bare journal with a clear one-line error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sim import SimKiosk, sim_staff
from kiosk.staff.diagnostics import Diagnostics, SettleRefused, live_diagnostics
from mock_relay.faults import FaultRule

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimKiosk]:
    with SimKiosk(tmp_path_factory.mktemp("self_test")) as k:
        yield k


def test_the_self_test_checks_every_part(kiosk: SimKiosk) -> None:
    results = sim_staff(kiosk).diagnostics.self_test()
    by_device = {r.device: r for r in results}
    assert [r.device for r in results][:2] == ["center", "printer"] and results[-1].device == "heartbeat"
    assert {"coin acceptor", "center", "printer", "heartbeat"} <= set(by_device)
    assert all(r.ok for r in results), results
    assert by_device["center"].detail.startswith("ok, version ")
    assert by_device["heartbeat"].detail.startswith("last heartbeat")


def test_a_failing_center_is_a_failed_line_and_the_rest_still_runs(kiosk: SimKiosk) -> None:
    rule = kiosk.server.faults.add(FaultRule.from_json({"kind": "error", "status": 503, "count": 4}))
    try:
        results = live_diagnostics(kiosk).self_test()
    finally:
        kiosk.server.faults.remove(rule.id)
    by_device = {r.device: r for r in results}
    assert not by_device["center"].ok and "503" in by_device["center"].detail
    assert by_device["printer"].ok and by_device["coin acceptor"].ok


def test_refused_while_a_transaction_is_open(kiosk: SimKiosk) -> None:
    diag = live_diagnostics(kiosk)
    kiosk.journal.begin("T-SELFTEST")
    try:
        with pytest.raises(SettleRefused, match=r"in progress \(T-SELFTEST") as refused:
            diag.self_test()
        assert refused.value.code == "busy"
    finally:
        kiosk.journal.finish("T-SELFTEST", "cancelled", "C01")
    assert diag.self_test()


def test_a_journal_alone_has_no_self_test(kiosk: SimKiosk) -> None:
    with pytest.raises(SettleRefused) as refused:
        Diagnostics(kiosk.journal).self_test()
    assert refused.value.code == "no_self_test"


def test_cli_self_test_needs_a_config_not_a_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    journal.write_bytes(b"")
    for args in (["--journal", str(journal)], ["--journal", str(tmp_path / "none.sqlite")]):
        run = subprocess.run(
            [sys.executable, "-m", "kiosk", "diag", *args, "--self-test"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith("kiosk: --self-test needs --config FILE")
        assert "Traceback" not in run.stderr
