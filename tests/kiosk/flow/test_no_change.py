"""Change the kiosk cannot give. Known up front (the driver's stock is right): the pay screen says "exact
amount only", coins needing change are refused, exact money completes. Not known (the driver's figures
are stale): the coin is taken, the change is owed for staff (M02)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_fakes import build_kiosk
from play_helpers import play_cli

from kiosk.flow.view import Screen
from kiosk.journal.store import Journal


def test_the_pay_screen_says_exact_amount_only_before_anything_is_paid(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.cash.refused = frozenset({500, 1000})
    k.to_pay()
    assert (k.flow.view.screen, k.flow.view.message_key) == (Screen.PAY, "exact_amount_only")
    k.cash.insert(100)
    assert k.flow.view.message_key == "exact_amount_only"  # still shown while paying
    k.cash.insert(100)
    k.cash.insert(100)
    view = k.flow.view
    assert view.screen is Screen.DONE and view.outcome is not None and view.outcome.reason == "completed"
    assert view.change == 0 and view.message_key == "take_certificate"


def test_no_notice_when_the_hoppers_can_change_everything(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    assert (k.flow.view.screen, k.flow.view.message_key) == (Screen.PAY, "")


def _play(name: str, work: Path) -> str:
    run = play_cli(name, work, work / "x")
    output = (run.stdout + run.stderr).decode()
    assert run.returncode == 0, output[-2000:]
    return output


@pytest.mark.slow
@pytest.mark.interop
def test_no_change_known_refuses_the_500_coin_and_completes_on_the_exact_amount(tmp_path: Path) -> None:
    output = _play("no_change_known", tmp_path)
    assert "coin 500: rejected" in output and "exact amount only" in output
    assert "outcome: done message=take_certificate reason=completed staff=OK" in output
    journal = Journal(tmp_path / "journal.sqlite")
    (txn,) = journal.transactions()
    balance = journal.balance(txn.id)
    assert (balance.inserted, balance.change, balance.refund_owed, balance.printed_fees) == (200, 0, 0, 200)
    assert balance.settled and txn.staff_code == "OK"


@pytest.mark.slow
@pytest.mark.interop
def test_no_change_with_stale_driver_figures_owes_the_change(tmp_path: Path) -> None:
    output = _play("no_change", tmp_path)
    assert "reason=change_shortfall staff=M02" in output and "owed=300" in output
    journal = Journal(tmp_path / "journal.sqlite")
    (txn,) = journal.transactions()
    balance = journal.balance(txn.id)
    assert (balance.inserted, balance.change, balance.refund_owed) == (500, 0, 300) and balance.settled
