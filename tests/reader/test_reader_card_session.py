"""The selected application is state of the connection (``Transport.card_session``), not of a module:
clients on one transport share it, transports never share it, and a card restart (reconnect, reset,
removal) makes the next command SELECT the AP again."""

from __future__ import annotations

import ast
from pathlib import Path

from reader_helpers import ScriptedTransport

from reader.jpki import JpkiClient
from reader.kenmen import KenmenClient
from reader.transport import CardSession

SELECT_JPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
SELECT_KENMEN = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
SELECT_AUTH_PIN = "00 A4 02 0C 02 00 18"
PIN_STATUS = "00 20 00 80"
OK = "90 00"
READER = Path(__file__).resolve().parents[2] / "reader"


def test_a_client_selects_once_then_again_after_the_card_restarts() -> None:
    transport = ScriptedTransport(
        [
            (SELECT_JPKI, OK),
            (SELECT_AUTH_PIN, OK),
            (PIN_STATUS, "63 C3"),
            (SELECT_AUTH_PIN, OK),  # same connection: the AP stays selected
            (PIN_STATUS, "63 C3"),
            (SELECT_JPKI, OK),  # reconnected: SELECT the AP again
            (SELECT_AUTH_PIN, OK),
            (PIN_STATUS, "63 C2"),
        ]
    )
    client = JpkiClient(transport)
    assert client.pin_status("auth") == 3
    assert client.pin_status("auth") == 3
    transport.disconnect()
    transport.connect()
    assert client.pin_status("auth") == 2
    assert transport.done()


def test_clients_on_one_transport_share_the_selection() -> None:
    # The JPKI client must re-SELECT its AP after the 券面 client selected its own on the same card.
    transport = ScriptedTransport(
        [
            (SELECT_JPKI, OK),
            (SELECT_AUTH_PIN, OK),
            (PIN_STATUS, "63 C3"),
            (SELECT_KENMEN, OK),
            ("00 A4 02 0C 02 00 11", OK),
            (PIN_STATUS, "63 C3"),
            (SELECT_JPKI, OK),
            (SELECT_AUTH_PIN, OK),
            (PIN_STATUS, "63 C3"),
        ]
    )
    jpki, kenmen = JpkiClient(transport), KenmenClient(transport)
    assert jpki.pin_status("auth") == 3
    assert kenmen.pin_status() == 3
    assert jpki.pin_status("auth") == 3
    assert transport.done()


def test_transports_never_share_a_selection() -> None:
    first = ScriptedTransport([(SELECT_JPKI, OK), (SELECT_AUTH_PIN, OK), (PIN_STATUS, "63 C3")])
    second = ScriptedTransport([(SELECT_JPKI, OK), (SELECT_AUTH_PIN, OK), (PIN_STATUS, "63 C1")])
    assert JpkiClient(first).pin_status("auth") == 3
    assert JpkiClient(second).pin_status("auth") == 1  # SELECTed on its own card, not skipped
    assert first.done() and second.done()
    assert first.card_session is not second.card_session


def test_a_selection_that_straddles_a_restart_is_not_remembered() -> None:
    session = CardSession()
    before = session.generation
    session.restart()  # the card was reset while the SELECT was on its way
    assert not session.remember(b"\xd3\x92", before)
    assert session.selected is None
    assert session.remember(b"\xd3\x92", session.generation) and session.selected == b"\xd3\x92"
    session.forget()
    assert session.selected is None


def test_transports_never_call_up_into_the_app_client() -> None:
    transports = [READER / "pcsc.py", READER / "loopback.py", READER / "pn532" / "transport.py"]
    for path in transports:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "reader.appclient" not in imported, path.name
