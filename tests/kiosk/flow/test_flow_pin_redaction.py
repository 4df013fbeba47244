"""A PIN never reaches the journal, the logs or the view state (a full transaction, wrong PIN included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_fakes import FakeCard, build_kiosk

from kiosk.flow import events as ev

SECRET = "P1N-S3CRET"  # the fake card takes any text: a sentinel that no id can contain by chance


def test_pin_is_never_journaled_logged_or_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)  # everything, traffic level included
    k, _ = build_kiosk(tmp_path, card=FakeCard(pin=SECRET))
    views = []
    k.flow.subscribe(views.append)
    k.to_pin()
    k.post(
        ev.PinEntered("WRONG-PIN-0"),
        ev.PinEntered(SECRET),
        ev.CardRemoved(),
        ev.ChooseType("inkan"),
        ev.ChooseCopies(1),
        ev.Confirm(),
    )
    k.cash.insert(500)
    assert k.flow.view.outcome is not None and k.flow.view.outcome.ok
    assert SECRET not in repr(ev.PinEntered(SECRET))
    k.journal.close()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert SECRET.encode() not in data and b"WRONG-PIN-0" not in data, path.name
    assert caplog.records and SECRET not in caplog.text and "WRONG-PIN-0" not in caplog.text
    assert all(SECRET not in repr(v) for v in views)
