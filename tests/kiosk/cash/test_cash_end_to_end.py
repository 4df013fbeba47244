"""The whole cash unit end to end: the driver's polling thread against the simulator on a real pty
(and through the ``firmware-sim cash`` command), with the simulator's missing-poll watchdogs on."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cash_helpers import TXN, RecordingJournal

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import ChecksumMode
from kiosk.devices.cash.serial_link import CashLink, CcTalkDevice
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.money import BillStacked, CashEvent, CoinCredited, Fault, FaultKind

REPO = Path(__file__).resolve().parents[3]


class Recorder:
    def __init__(self) -> None:
        self.events: list[CashEvent] = []
        self.changed = threading.Condition()

    def __call__(self, event: CashEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(self, test: Callable[[list[CashEvent]], bool], timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: test(self.events), timeout), f"not seen in {self.events}"


def _open_unit(path: str, journal: RecordingJournal, *, echo: bool, crc: bool) -> tuple[CashUnit, Recorder]:
    checksum = {40: ChecksumMode.CRC16} if crc else {}
    link = CashLink(path, echo=echo, checksum=checksum, reply_timeout=0.5)
    unit = CashUnit(link, journal, CashUnitConfig(poll_interval=0.05, payout_poll=0.005), run_id="e2e")
    recorder = Recorder()
    unit.add_observer(recorder)
    unit.open()
    unit.start_polling()
    return unit, recorder


def _stacked(events: list[CashEvent]) -> bool:
    return any(isinstance(e, BillStacked) for e in events)


def _coins(n: int) -> Callable[[list[CashEvent]], bool]:
    return lambda events: sum(isinstance(e, CoinCredited) for e in events) >= n


@pytest.mark.parametrize(("echo", "crc"), [(False, False), (True, True)])
def test_300_yen_fee_paid_with_100_100_1000_gives_900_change(
    journal: RecordingJournal, echo: bool, crc: bool
) -> None:
    with CashUnitSim(echo=echo, crc_bill=crc, coin_interval=0.002) as sim:  # watchdogs on (1 s / 5 s)
        unit, recorder = _open_unit(sim.path, journal, echo=echo, crc=crc)
        try:
            unit.enable_accepting(300, txn_id=TXN)
            assert sim.insert_coin(100) == "credit"
            recorder.wait_for(_coins(1))
            assert sim.insert_coin(100) == "credit"
            recorder.wait_for(_coins(2))
            assert sim.insert_note(1000) == "escrow"
            recorder.wait_for(_stacked)
            assert unit.credited == 1200
            assert sim.insert_coin(10).startswith("rejected")  # fee covered: acceptance stopped
            assert unit.finish_payment(txn_id=TXN) == 900
        finally:
            unit.close()
        assert journal.records == [
            ("credit", "e2e:coin:1", 100, "coin"),
            ("credit", "e2e:coin:2", 100, "coin"),
            ("credit", "e2e:bill:2", 1000, "bill"),
            ("payout", "e2e:payout:1", 500),
            ("payout", "e2e:payout:2", 400),
        ]
        status = sim.status()
        assert (status["paid_out"], status["cashbox_coins"], status["stacked_notes"]) == (900, 200, 1000)
        assert unit.credited == 0 and not sim.coin.master


def test_cancel_mid_payment_refunds_exactly(journal: RecordingJournal) -> None:
    with CashUnitSim(coin_interval=0.002) as sim:
        unit, recorder = _open_unit(sim.path, journal, echo=False, crc=False)
        try:
            unit.enable_accepting(450, txn_id=TXN)
            for coin in (100, 50, 10):
                sim.insert_coin(coin)
            recorder.wait_for(_coins(3))
            assert unit.cancel(txn_id=TXN) == 160
        finally:
            unit.close()
        assert journal.total("credit") == journal.total("payout") == 160 == sim.status()["paid_out"]


def test_polling_thread_reports_a_silent_unit_and_a_journal_failure(journal: RecordingJournal) -> None:
    with CashUnitSim() as sim:
        unit, recorder = _open_unit(sim.path, journal, echo=False, crc=False)
        try:
            unit.enable_accepting(300, txn_id=TXN)
            unit.link.reply_timeout = 0.05
            sim.set_silent(True)
            recorder.wait_for(lambda ev: any(isinstance(e, Fault) and e.kind is FaultKind.LINK for e in ev))
            resumed = time.monotonic()
            sim.set_silent(False)
            journal.fail_next["credit"] = 1
            deadline = resumed + 5
            while (sim.coin.last_poll or 0) <= resumed and time.monotonic() < deadline:
                time.sleep(0.01)  # the acceptor's own watchdog wants a fresh poll before it takes coins
            assert sim.insert_coin(100) == "credit"
            recorder.wait_for(lambda ev: any(getattr(e, "kind", None) is FaultKind.JOURNAL for e in ev))
            assert unit.credited == 0 and isinstance(unit.last_error, Exception)
            assert not sim.coin.master  # it stopped taking money it cannot journal
            assert [e.yen for e in unit.poll_once() if isinstance(e, CoinCredited)] == [100]  # retried once
            assert {f.kind for f in unit.recent_faults} == {FaultKind.LINK, FaultKind.JOURNAL}
        finally:
            unit.close()


def test_unpolled_acceptors_take_no_money() -> None:
    with CashUnitSim(watchdogs=(0.2, 0.2)) as sim, CashLink(sim.path) as link:
        with sim.lock:
            sim.coin.mask, sim.coin.master = 0xFFFF, True
            sim.bill.mask, sim.bill.master = 0xFFFF, True
        assert sim.insert_coin(100).startswith("rejected")  # never polled since reset
        assert sim.insert_note(1000) == "rejected: master inhibit"
        CcTalkDevice(link, 2).read_credit()
        assert sim.insert_coin(100) == "credit"
        time.sleep(0.3)
        assert sim.insert_coin(100).startswith("rejected")  # polling stopped: the acceptor inhibits itself


@pytest.fixture
def cli_sim(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    link = tmp_path / "ttyCASH"
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim.cli.main", "cash", "--link", str(link)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("/dev/pts/")
        yield proc, link
    finally:
        proc.kill()
        proc.wait(timeout=5)


def _say(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_cli_simulator_through_its_stable_link(
    cli_sim: tuple[subprocess.Popen[str], Path], journal: RecordingJournal
) -> None:
    proc, link = cli_sim
    assert link.is_symlink()
    unit, recorder = _open_unit(str(link), journal, echo=False, crc=False)
    try:
        unit.enable_accepting(200, txn_id=TXN)
        assert _say(proc, "coin 100") == "credit"
        assert _say(proc, "coin 500") == "credit"
        recorder.wait_for(_coins(2))
        assert _say(proc, "hopper empty 3").startswith("hopper empty")
        assert _say(proc, "bogus").startswith("error: unknown command")
        assert unit.finish_payment(txn_id=TXN) == 400  # 100-yen hopper empty: 4 × 100 becomes 50s and 10s
        assert "paid_out=400" in _say(proc, "status")
    finally:
        unit.close()
    assert _say(proc, "quit") == ""
    assert proc.wait(timeout=5) == 0
    assert not link.exists()


def test_layering_serial_only_in_cash_link_and_simulator_independent_of_kiosk() -> None:
    mine = [
        "kiosk/devices/cash/cctalk.py",
        "kiosk/devices/cash/unit.py",
        "kiosk/devices/cash/hopper.py",
        "kiosk/devices/cash/change.py",
        "kiosk/money.py",
        "kiosk/devices/cash/serial_link.py",
        "firmware_sim/cash/unit.py",
        "firmware_sim/cash/serial_link.py",
        "firmware_sim/cli/cash.py",
    ]
    for name in mine:
        tree = ast.parse((REPO / name).read_text())
        nodes = list(ast.walk(tree))
        imported = {a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in nodes if isinstance(n, ast.ImportFrom)}
        assert ("serial" in imported) == (name == "kiosk/devices/cash/serial_link.py"), name
        if name.startswith("firmware_sim"):
            assert "kiosk" not in imported, name
