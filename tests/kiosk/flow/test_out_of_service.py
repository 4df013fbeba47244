"""Out of service (the clock is off): the attract screen takes no resident, a transaction in progress runs
to its end, service resumes when the reason clears. And the field log: one line per step of that
transaction, with its id, screens, outcome, staff code, yen and durations, and nothing of the PIN."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flow_fakes import PIN, Kiosk, build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.fieldlog import FieldLog
from kiosk.flow.view import Screen
from kiosk.money import CoinsPaid, Fault, FaultKind
from reader.monitor import CardEvent, EventKind

PIN_TOKEN = re.compile(rf"(?<![0-9A-Za-z]){PIN}(?![0-9A-Za-z])")


def _field_log(k: Kiosk) -> FieldLog:
    field = FieldLog(k.flow, clock=k.clock)
    k.flow.subscribe(field.on_view)
    k.cash.add_observer(field.on_cash)
    return field


def test_out_of_service_the_attract_screen_takes_no_resident_until_it_clears(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.flow.set_out_of_service("clock")
    assert k.flow.view.out_of_service == "clock"
    k.post(ev.Start("ja"))
    assert k.flow.view.screen is Screen.ATTRACT and k.flow.transaction_id is None
    assert k.journal.transactions() == []
    k.flow.set_out_of_service("")
    k.post(ev.Start("ja"))
    assert k.flow.view.screen is Screen.ROUTE and k.flow.view.out_of_service == ""


def test_a_transaction_in_progress_runs_to_its_end_then_the_kiosk_stays_closed(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    k.flow.set_out_of_service("clock")  # the heartbeat found the clock off while the resident pays
    assert k.flow.view.screen is Screen.PAY
    k.cash.insert(500)
    assert k.flow.view.outcome is not None and k.flow.view.outcome.ok
    k.post(ev.CardRemoved(), ev.Finish())
    assert k.flow.view.screen is Screen.ATTRACT and k.flow.view.out_of_service == "clock"
    k.post(ev.Start("ja"))
    assert k.flow.view.screen is Screen.ATTRACT and len(k.journal.transactions()) == 1


def test_the_field_log_follows_a_transaction_step_by_step(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.flow.fieldlog")
    k, _ = build_kiosk(tmp_path)
    field = _field_log(k)
    k.post(ev.Start("ja"), ev.ChooseRoute("residence"))
    txn = k.flow.transaction_id
    assert txn is not None
    k.clock.now += 2.5
    k.post(ev.CardInserted(), ev.PinEntered("9999"))  # wrong first: the fake card says so
    k.post(ev.PinEntered(PIN), ev.CardRemoved(), ev.ChooseType("inkan"), ev.ChooseCopies(1), ev.Confirm())
    k.cash.insert(500)
    field.on_cash(CoinsPaid("e1", 200, 200))
    field.on_cash(Fault(FaultKind.PAYOUT, "hopper 3", "paid less than asked", 5))
    k.post(ev.CardRemoved(), ev.Finish())
    field.on_card(CardEvent(EventKind.INSERTED, "Virtual PCD 00 01", b"\x3b\xe0"))
    lines = [r.getMessage() for r in caplog.records if r.name == "kiosk.flow.fieldlog"]
    assert f"txn={txn} screen=route prev=attract took=0.0s" in lines
    assert f"txn={txn} screen=reading prev=place_card took=2.5s" in lines
    assert f"txn={txn} screen=pin prev=verifying took=0.0s message=pin_incorrect" in lines
    assert f"txn={txn} screen=copies message=pricing" in lines
    assert any(line.startswith(f"txn={txn} cash coin_in yen=500 credit=") for line in lines)
    assert f"txn={txn} cash paid_out yen=200 requested=200" in lines
    assert any(line.startswith(f"txn={txn} cash fault=payout device=hopper 3 code=5") for line in lines)
    (done,) = [line for line in lines if "outcome=" in line]
    assert done.startswith(
        f"txn={txn} outcome=take_certificate reason=completed staff=OK fee=300 inserted=500 change=200"
    )
    assert f"txn={txn} printer page=1/1" in lines
    assert lines[-2] == f"txn={txn} ended total=2.5s"
    assert lines[-1] == 'card inserted reader="Virtual PCD 00 01"'  # no transaction open, no ATR
    assert all(txn in line for line in lines[:-1])
    assert not any(PIN_TOKEN.search(line) or "9999" in line for line in lines)
