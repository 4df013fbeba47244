"""The kiosk's control socket (``kiosk.app.control.ControlServer``, ``[bench] control_socket``) on a simulated
kiosk (loopback reader, mock center, cash and printer simulators), driven by ``harness.drive``'s client
and player: mode 0600, taps refused off their screen, the outcome of the transaction, no PIN in any
answer or log line."""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from harness.cli import SCENARIOS
from harness.drive import DriveError, Driver, LineClient, PromptHands, check_outcome, outcome_fields
from harness.scenario import load_scenario
from harness.sim import SimKiosk
from kiosk.app.control import ControlServer
from mock_relay.faults import JST

CLOCK = datetime(2027, 3, 3, 10, 0, tzinfo=JST)
PINS = re.compile(r"(?<![0-9A-Za-z])(1234|0000)(?![0-9A-Za-z])")  # the scenario's PINs, as words


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[SimKiosk]:
    setup = {"reader": "loopback", "timeouts": {"outcome": 3.0}}  # the done screen returns to the start soon
    with SimKiosk(tmp_path / "work", setup, clock=CLOCK) as running:
        yield running


@pytest.fixture
def server(kiosk: SimKiosk, tmp_path: Path) -> Iterator[ControlServer]:
    path = Path(os.path.relpath(tmp_path / "kiosk.sock"))  # unix socket paths are short (108 bytes)
    control = ControlServer(path, kiosk.flow, wait=20).start()
    yield control
    control.stop()


def test_the_socket_is_0600_replaces_a_stale_one_and_refuses_anything_else(
    kiosk: SimKiosk, tmp_path: Path
) -> None:
    path = Path(os.path.relpath(tmp_path / "k.sock"))
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # a kiosk that died left its socket file
    stale.close()
    control = ControlServer(path, kiosk.flow).start()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_ISSOCK(path.stat().st_mode)
    control.stop()
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(OSError, match="something other than a socket"):
        ControlServer(path, kiosk.flow).start()
    assert path.read_text() == "not a socket"


def test_answers_one_line_each_and_refuses_taps_off_their_screen(server: ControlServer) -> None:
    client = LineClient(server.path, "kiosk")
    try:
        assert client.call("view", 5) == "screen attract"
        with pytest.raises(DriveError, match=r"confirm: not on the confirm screen \(now: attract\)"):
            client.call("confirm", 5)
        with pytest.raises(DriveError, match="unknown tap 'dance'"):
            client.call("dance", 5)
        with pytest.raises(DriveError, match="usage: wait SCREEN"):
            client.call("wait nowhere", 5)
        assert client.call("start en", 5) == "tapped start en -> route"
        assert client.call("wait route 5", 5) == "screen route"
        with pytest.raises(DriveError, match=r"screen pin not reached in 1 s \(now: route\)"):
            client.call("wait pin 1", 5)
        assert "taps: start" in client.call("help", 5)
    finally:
        client.close()


def test_drive_plays_a_scenario_through_the_socket_without_a_pin_anywhere(
    kiosk: SimKiosk, server: ControlServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = LineClient(server.path, "kiosk")
    try:  # a resident before: their done screen is still up when the next drive connects
        done = Driver(first, kiosk.hands, lambda _l: None).play(load_scenario(SCENARIOS / "juminhyo.toml"))
    finally:
        first.close()
    assert done.startswith("outcome: done message=take_certificate")
    scenario = load_scenario(SCENARIOS / "wrong_pin_once.toml")
    lines: list[str] = []
    client = LineClient(server.path, "kiosk")
    try:
        outcome = Driver(client, kiosk.hands, lines.append).play(scenario, step_timeout=30)
    finally:
        client.close()
    assert outcome.startswith("outcome: done message=take_certificate reason=completed"), lines
    assert check_outcome(scenario, outcome) == []
    assert outcome_fields(outcome)["pages"] == kiosk.pages_printed() - 2  # the first resident's 住民票: 2
    assert lines[3:5] == ["[ 4] pin: pin ****", "[ 5] pin: pin ****"]
    assert not PINS.search("\n".join(lines) + caplog.text)


def test_prompt_hands_ask_the_person_and_stop_when_no_one_answers() -> None:
    asked: list[str] = []
    hands = PromptHands(ask=lambda prompt: asked.append(prompt) or "")
    hands.insert_card()
    hands.insert_coin(500)
    assert asked == [
        "place the card on the reader now, then press Enter ",
        "insert a 500 yen coin now, then press Enter ",
    ]

    def closed(_prompt: str) -> str:
        raise EOFError

    with pytest.raises(DriveError, match="stdin closed"):
        PromptHands(ask=closed).remove_card()
