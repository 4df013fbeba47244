"""A kiosk process SIGKILLed on the pay screen while its cash unit, a machine of its own, goes on (issue
#17): the simulators run in this test process and outlive the kiosk, as a store's devices do. The kiosk
(``pay_screen_child.py``: ``RealKiosk`` from a kiosk.toml) is killed (a) right after the acceptor took a
coin and before the kiosk polled it, (b) on the pay screen, then a coin goes in while it is down. The
restart is ``python -m kiosk run --config … --headless``: its start-up report names the money found, the
books balance, the center's ledger agrees, and a further start credits nothing twice."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from real_kiosk_helpers import ROOT, StoreDevices, run_until_open, wait_no_card, write_config

from kiosk.app.assemble import RealKiosk
from kiosk.app.config import load_config
from kiosk.devices.cash.cctalk import Header

pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]
CHILD = Path(__file__).with_name("pay_screen_child.py")
FEE = 200  # one 住民票の写し


@contextlib.contextmanager
def kiosk_on_pay_screen(devices: StoreDevices, config: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A kiosk process on the pay screen, and its transaction id; killed at the end if still alive."""
    err = (config.parent / "child.err").open("w")
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(config)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        for line in child.stdout:
            if line.startswith("pay "):
                yield child, line.split()[1]
                return
            if line == "hands insert_card\n":
                devices.hands.insert_card()
            elif line == "hands remove_card\n":
                devices.hands.remove_card()
                wait_no_card()
            child.stdin.write("done\n")
            child.stdin.flush()
        raise AssertionError(
            "the kiosk never showed the pay screen: " + (config.parent / "child.err").read_text()
        )
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        err.close()


def sigkill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL


def inserted(child: subprocess.Popen[str], yen: int) -> None:
    """Wait until the kiosk's pay screen shows ``yen`` credited."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"inserted {yen}\n")
    child.stdin.flush()
    assert child.stdout.readline() == f"inserted {yen}\n"


def restarted(config: Path, txn: str, yen_while_down: int) -> str:
    """``kiosk run --config --headless`` once: its output, checked to name the money found."""
    run = run_until_open(config, "--headless")
    assert run.opened and run.status == 0, run.out + run.err
    found = f"{yen_while_down} yen inserted while the kiosk was down, credited and owed back (RC2)"
    line = f"start-up recovery: {txn}: {found}"
    assert line in run.out.splitlines(), run.out
    return run.out


def cashbox(devices: StoreDevices) -> int:
    """Yen in the coin acceptor's cashbox, as the device says."""
    return int(str(devices.cash.status()["cashbox_coins"]))


def check_books(config: Path, txn: str, inserted_yen: int) -> None:
    """Another start finds nothing to do (nothing credited twice); the journal balances; the center never
    took the payment and the session is cancelled; everything inserted is owed back for staff."""
    with RealKiosk(load_config(config)) as kiosk:
        assert "recovery: nothing unfinished in the journal" in kiosk.report.lines(), kiosk.report.lines()
        record = kiosk.journal.transaction(txn)
        assert record is not None and record.finished and record.staff_code == "RC2"
        assert (record.outcome, record.fee) == ("recovered_cancelled", FEE)
        balance = kiosk.journal.balance(txn)
        assert balance.settled and (balance.inserted, balance.refund_owed) == (inserted_yen, inserted_yen)
        assert kiosk.journal.transactions(unfinished_only=True) == []
        ledger = {
            o.order_id: o for o in kiosk.client.reconcile(record.started_at - timedelta(hours=1)).orders
        }
        order = ledger[record.order_id or ""]
        assert (order.state, order.paid, order.result_reported) == ("cancelled", 0, False)


def test_killed_after_the_acceptor_took_a_coin_before_the_kiosk_polled_it(
    devices: StoreDevices, tmp_path: Path
) -> None:
    config = write_config(devices, tmp_path)
    before = cashbox(devices)
    with kiosk_on_pay_screen(devices, config) as (child, txn):
        devices.cash.lose_requests(10**6, Header.READ_BUFFERED_CREDIT)  # the kiosk's polls never arrive
        try:
            assert devices.cash.insert_coin(500) == "credit"  # in the cashbox; the kiosk has not seen it
            sigkill(child)
        finally:
            devices.cash.lose_requests(0, Header.READ_BUFFERED_CREDIT)
    restarted(config, txn, 500)
    assert not devices.cash.coin.master  # inhibited again
    assert cashbox(devices) - before == 500  # the money as the device says
    check_books(config, txn, 500)


def test_killed_on_the_pay_screen_then_a_coin_goes_in_while_it_is_down(
    devices: StoreDevices, tmp_path: Path
) -> None:
    config = write_config(devices, tmp_path)
    before = cashbox(devices)
    with kiosk_on_pay_screen(devices, config) as (child, txn):
        assert devices.cash.insert_coin(100) == "credit"
        inserted(child, 100)  # polled, journaled and on the screen
        sigkill(child)
    assert devices.cash.insert_coin(100) == "credit"  # the acceptor was left enabled: this is the problem
    restarted(config, txn, 100)
    assert devices.cash.insert_coin(100).startswith("rejected")  # not any more
    assert cashbox(devices) - before == 200  # the money as the device says
    check_books(config, txn, 200)
