"""The kiosk on a PN532 reader module: the presence source sharing the serial line with the transaction's
APDUs, ``reader.url = "pn532://…"`` in kiosk.toml, SimKiosk with ``reader = "pn532"`` (the virtual card in
the simulated module's field on a pty), and RealKiosk against a separately started PN532 simulator."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(
    0, str(Path(__file__).resolve().parents[2] / "kiosk" / "flow")
)  # the real-kiosk helpers live there
from real_kiosk_helpers import PIN, ROOT, StoreDevices, run_until_open, start_devices, write_config

from firmware_sim.pn532.module import Pn532Sim
from harness.scenario import Player, load_scenario
from harness.sim import Pn532Slot, SimKiosk
from kiosk.app.assemble import RealKiosk, StartupError
from kiosk.app.config import ConfigError, load_config
from reader.jpki import JpkiClient
from reader.monitor import CardEvent, CardMonitor, EventKind
from reader.pn532.chip import Cmd
from reader.pn532.presence import Pn532Presence
from reader.pn532.transport import Pn532Transport, open_pn532

SCENARIOS = ROOT / "harness" / "scenarios"


# --- the presence source and the shared line --------------------------------------------------------------
def test_presence_polls_between_a_transactions_apdus_without_corrupting_a_frame(
    sim: Pn532Sim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    transport = open_pn532(f"pn532://{sim.wire.path}")
    assert isinstance(transport, Pn532Transport)
    events: list[CardEvent] = []
    monitor = CardMonitor(Pn532Presence(transport, interval=0.001), step=0.01)
    monitor.add_observer(events.append)
    try:
        monitor.start()
        transport.connect()
        client = JpkiClient(transport)
        client.detect()
        first = client.read_certificate_der("auth")
        certificates = []
        for _ in range(6):  # a poll between reads, however busy the machine (the lock is not fair)
            _wait_for_a_poll(sim)
            certificates.append(client.read_certificate_der("auth"))
        atr = transport.atr
    finally:
        monitor.stop()
        transport.close()
    assert certificates == [first] * 6 and len(first) > 500
    codes = sim.commands
    exchanges = [i for i, code in enumerate(codes) if code == Cmd.IN_DATA_EXCHANGE]
    polls_inside = [
        i for i, code in enumerate(codes) if code == Cmd.DIAGNOSE and exchanges[0] < i < exchanges[-1]
    ]
    assert len(polls_inside) >= 3, codes  # the poll really ran between the transaction's APDUs
    assert [(e.kind, e.atr) for e in events] == [(EventKind.INSERTED, atr)]
    noise = [
        r.getMessage() for r in caplog.records if "broken" in r.getMessage() or "checksum" in r.getMessage()
    ]
    assert noise == []  # no frame was ever garbled (no NACK from the driver, no bad checksum at the chip)


def _wait_for_a_poll(sim: Pn532Sim, timeout: float = 5.0) -> None:
    seen = sim.commands.count(Cmd.DIAGNOSE)
    deadline = time.monotonic() + timeout
    while sim.commands.count(Cmd.DIAGNOSE) == seen:
        assert time.monotonic() < deadline, "the presence poll never ran"
        time.sleep(0.002)


def test_a_busy_line_is_answered_from_the_transports_state_without_a_frame(sim: Pn532Sim) -> None:
    transport = Pn532Transport(sim.wire.path)
    presence = Pn532Presence(transport, interval=0.05)
    try:
        transport.connect()
        atr = transport.atr
        sent = len(sim.commands)
        held, release = threading.Event(), threading.Event()

        def exchange_in_progress() -> None:
            with transport.chip.lock:
                held.set()
                release.wait(5)

        worker = threading.Thread(target=exchange_in_progress)
        worker.start()
        held.wait(5)
        started = time.monotonic()
        snapshot = presence.snapshot(0.2)
        elapsed = time.monotonic() - started
        release.set()
        worker.join(5)
        assert snapshot == {transport.name: atr} and presence.busy_polls == 1
        assert len(sim.commands) == sent and elapsed < 0.5  # nothing on the line, no wait for the exchange
        sim.remove_card()
        presence.snapshot(0.01)
        assert presence.snapshot(0.01) == {transport.name: None}
    finally:
        transport.close()


def test_the_slot_moves_and_swaps_the_card_in_the_modules_field(sim: Pn532Sim, card_image: Path) -> None:
    from firmware_sim.card.mynumber import MyNumberCard

    slot = Pn532Slot(sim)
    transport = Pn532Transport(sim.wire.path)
    try:
        transport.connect()
        assert transport.target is not None
        before = transport.target.pupi
        slot.remove()
        assert transport.presence() is None
        card = MyNumberCard.from_image(card_image)
        slot.card = card  # another card object: another PUPI, still outside the field
        assert transport.presence() is None and slot.card is card
        slot.insert()
        assert transport.presence() is not None
        transport.connect()
        assert transport.target is not None and transport.target.pupi != before
        assert sim.card is not None and sim.card.card is card
    finally:
        transport.close()


# --- kiosk.toml -------------------------------------------------------------------------------------------
_BASE = """[reader]
url = "{url}"
[center]
url = "https://127.0.0.1:8443"
terminal_cert = "t.pem"
terminal_key = "t.key"
ca = "ca.pem"
[jpki]
ca_bundle = "jpki.pem"
[cash]
port = "/dev/ttyUSB0"
[printer]
uri = "ipp://127.0.0.1:631/ipp/print"
"""


def _load(tmp_path: Path, url: str) -> str:
    path = tmp_path / "kiosk.toml"
    path.write_text(_BASE.format(url=url), encoding="utf-8")
    return load_config(path, check_certificates=False).reader_url


@pytest.mark.parametrize(
    "url",
    [
        "pn532:///dev/ttyUSB1",
        "pn532:///dev/ttyUSB1?baud=921600&poll=0.05&extended=0",
        "pn532+socket://127.0.0.1:7532",
    ],
)
def test_pn532_reader_urls_are_accepted(tmp_path: Path, url: str) -> None:
    assert _load(tmp_path, url) == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("pn532://", "expected pn532:///dev/<serial port>"),
        ("pn532://dev/ttyUSB1", "expected pn532:///dev/<serial port>"),
        ("pn532:///dev/ttyUSB1?baud=12345", "baud must be one of 9600, 19200"),
        ("pn532:///dev/ttyUSB1?baud=fast", "got 'fast'"),
        ("pn532:///dev/ttyUSB1?poll=-1", "poll must be a positive number of seconds"),
        ("pn532:///dev/ttyUSB1?speed=115200", "unknown option 'speed'"),
        ("pn532:///dev/ttyUSB1?extended=maybe", "extended must be 0 or 1"),
        ("pn532+socket://127.0.0.1", "expected pn532+socket://host:port"),
        ("pn532+socket://127.0.0.1:7532?baud=115200", "unknown option 'baud'"),
        ("pn532+socket://127.0.0.1:99999", "bad URL"),
        ("nfc:///dev/ttyUSB1", "expected a pcsc:// or pn532:// or pn532+socket:// URL"),
    ],
)
def test_bad_pn532_reader_urls_are_one_line_config_errors(tmp_path: Path, url: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, url)
    message = str(caught.value)
    assert words in message and "reader.url" in message and str(tmp_path) in message and "\n" not in message


# --- SimKiosk with reader = "pn532" -----------------------------------------------------------------------
def _play(tmp_path: Path, name: str, setup: dict[str, object] | None = None) -> tuple[SimKiosk, object]:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    with SimKiosk(tmp_path, {**scenario.setup, "reader": "pn532", **(setup or {})}) as kiosk:
        final = Player(kiosk.flow, kiosk.hands, out=lambda _line: None).play(scenario, step_timeout=30)
    return kiosk, final


def test_sim_kiosk_on_pn532_issues_a_juminhyo(tmp_path: Path) -> None:
    kiosk, final = _play(tmp_path, "juminhyo")
    assert isinstance(kiosk.hands.transport, Pn532Slot)
    assert (final.outcome.reason, final.outcome.message_key) == ("completed", "take_certificate")  # type: ignore[attr-defined]
    assert (final.fee, final.amount_inserted, final.change) == (200, 500, 300)  # type: ignore[attr-defined]
    assert Cmd.IN_DATA_EXCHANGE in kiosk.hands.transport.module.commands  # the APDUs went over the module


@pytest.mark.parametrize("when", ["at the PIN screen", "while the certificate is read"])
def test_card_pulled_mid_transaction_over_pn532_ends_card_removed(tmp_path: Path, when: str) -> None:
    if when == "at the PIN screen":
        kiosk, final = _play(tmp_path, "card_removed_early")
    else:
        scenario = load_scenario(SCENARIOS / "juminhyo.toml")
        with SimKiosk(tmp_path, {**scenario.setup, "reader": "pn532"}) as kiosk:
            assert isinstance(kiosk.hands.transport, Pn532Slot)
            kiosk.hands.transport.module.remove_after_blocks = 4  # gone after a few ISO-DEP blocks
            player = Player(kiosk.flow, kiosk.hands, out=lambda _line: None)
            final = player.play(scenario, step_timeout=30)
        assert "reading" in {v.screen.value for v in player.views}
        assert "pin" not in {v.screen.value for v in player.views}  # pulled before the PIN was asked
    outcome = final.outcome  # type: ignore[attr-defined]
    assert (outcome.reason, outcome.message_key, outcome.staff_code) == ("card_removed", "retry", "R01")
    assert final.fee == 0 and final.amount_inserted == 0  # type: ignore[attr-defined]


# --- RealKiosk against a separately started PN532 simulator -----------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreDevices]:
    with contextlib.ExitStack() as stack:
        yield start_devices(tmp_path_factory.mktemp("pn532-store"), stack, pn532=True)


def _pn532_config(store: StoreDevices, folder: Path, url: str | None = None) -> Path:
    assert store.pn532 is not None
    return write_config(store, folder, reader=f'url = "{url or f"pn532://{store.pn532.wire.path}"}"')


def test_real_kiosk_on_a_pn532_reports_the_module_and_completes_a_resident(
    store: StoreDevices, tmp_path: Path
) -> None:
    config = load_config(_pn532_config(store, tmp_path))
    with RealKiosk(config) as kiosk:
        reader_line = kiosk.report.lines()[0]
        assert (
            reader_line.startswith("reader: ok: PN532 firmware 1.6 on /dev/")
            and "no card present" in reader_line
        )
        final = Player(kiosk.flow, store.hands, out=lambda _line: None).play(
            load_scenario(SCENARIOS / "juminhyo.toml"), step_timeout=30
        )
    assert final.outcome is not None and final.outcome.reason == "completed"
    assert (final.fee, final.change) == (200, 300)


def test_real_kiosk_refuses_naming_a_missing_port_or_a_silent_chip(
    store: StoreDevices, tmp_path: Path
) -> None:
    config = load_config(_pn532_config(store, tmp_path / "a", "pn532:///dev/no-such-pn532"))
    with pytest.raises(StartupError) as caught, RealKiosk(config):
        pass
    (failed,) = caught.value.failed
    assert (
        failed.device == "reader" and "PN532 on /dev/no-such-pn532: cannot open serial line" in failed.detail
    )
    master, slave = os.openpty()  # a serial line with nothing on the far end
    port = os.ttyname(slave)
    try:
        config = load_config(_pn532_config(store, tmp_path / "b", f"pn532://{port}"))
        with pytest.raises(StartupError) as caught, RealKiosk(config):
            pass
    finally:
        os.close(master)
        os.close(slave)
    (failed,) = caught.value.failed
    assert failed.device == "reader" and f"no reply from a PN532 on {port}" in failed.detail


def test_kiosk_run_config_on_a_pn532_reaches_kiosk_open(store: StoreDevices, tmp_path: Path) -> None:
    run = run_until_open(_pn532_config(store, tmp_path), "--headless")
    assert run.opened and run.status == 0, run.out + run.err
    assert "start-up reader: ok: PN532 firmware 1.6" in run.out, run.out
    assert PIN not in run.err


def test_the_harness_swaps_the_card_in_the_pn532_slot(tmp_path: Path) -> None:
    from harness.controls import SimControls
    from kiosk.flow import events as ev
    from kiosk.flow.view import Screen

    with SimKiosk(tmp_path, {"reader": "pn532"}) as kiosk:
        controls = SimControls(kiosk)
        controls.use_card("O-001")  # another resident's card into the empty field
        player = Player(kiosk.flow, kiosk.hands, out=lambda _line: None)
        kiosk.flow.post(ev.Start(language="en"))
        player.wait_for(Screen.ROUTE, 5)
        kiosk.flow.post(ev.ChooseRoute(route="residence"))
        player.wait_for(Screen.PLACE_CARD, 5)
        controls.place_card()
        player.wait_for(Screen.PIN, 10)
        kiosk.flow.post(ev.PinEntered(pin=PIN))
        player.wait_for(Screen.REMOVE_CARD, 15)
        controls.remove_card()
        view = player.wait_for(Screen.CHOOSE_TYPE, 10)
    assert {item.type: item.fee for item in view.menu}["juminhyo"] == 300  # 大阪市北区: the swapped card
