"""APDU traffic logging (level 5, PINs and personal data redacted), sim:// transport, CLI errors."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from card_helpers import SELECT_JPKI, SELECT_KENMEN, sw

from firmware_sim.card.cardos import TRAFFIC, redacted_hex
from firmware_sim.card.mynumber import MyNumberCard
from reader.apdu import h
from reader.errors import TransportError
from reader.transport import open_transport


def test_traffic_level_is_below_debug() -> None:
    assert TRAFFIC < logging.DEBUG
    assert logging.getLevelName(TRAFFIC) == "TRAFFIC"


def test_traffic_logged_with_pins_and_personal_data_redacted(
    card: MyNumberCard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(TRAFFIC, logger="firmware_sim")
    sw(card, SELECT_KENMEN)
    sw(card, "00 A4 02 0C 02 00 11")
    assert sw(card, "00 20 00 80 04 35 36 37 38") == 0x9000  # kenmen PIN 5678
    assert sw(card, "00 24 01 80 04 39 38 37 36") == 0x9000  # new PIN 9876
    my_number = card.image.kenmen_files[1]
    assert card.process(h("00 B0 81 00 00")) == my_number + h("90 00")
    sw(card, SELECT_JPKI)
    text = caplog.text
    assert "> 00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08" in text
    assert "00 20 00 80 <5 bytes redacted>" in text
    assert "00 24 01 80 <5 bytes redacted>" in text
    assert "35 36 37 38" not in text and "39 38 37 36" not in text
    assert my_number.hex(" ").upper() not in text and my_number[3:15].decode() not in text
    assert "<17 bytes redacted> 9000" in text


def test_no_traffic_at_debug(card: MyNumberCard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="firmware_sim")
    sw(card, SELECT_JPKI)
    assert "D3 92 F0" not in caplog.text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("00 20 00 80 04 31 32 33 34", "00 20 00 80 <5 bytes redacted>"),
        ("00 20 00 80", "00 20 00 80"),
        ("00 24 01 80 06 41 42 43 31 32 33", "00 24 01 80 <7 bytes redacted>"),
        ("00 20 00", "00 20 00"),
        ("00 B0 00 00 04", "00 B0 00 00 04"),
    ],
)
def test_redacted_hex(raw: str, shown: str) -> None:
    assert redacted_hex(h(raw)) == shown


# --- sim:// ---------------------------------------------------------------------------------------
def test_sim_transport_through_entry_point(image_path: Path) -> None:
    transport = open_transport(f"sim://{image_path}")
    try:
        transport.connect()
        assert transport.atr == MyNumberCard.from_image(image_path).atr
        assert transport.supports_extended
        assert transport.transmit(h(SELECT_JPKI)) == h("90 00")
        assert transport.transmit(h("00 20 00 98")) == h("63 C3")
    finally:
        transport.disconnect()


def test_sim_transport_options(image_path: Path) -> None:
    transport = open_transport(f"sim://{image_path}?extended=0&fail_first=1")
    try:
        transport.connect()
        assert not transport.supports_extended
        assert transport.transmit(h(SELECT_JPKI)) == h("6F 00")
        assert transport.transmit(h(SELECT_JPKI)) == h("90 00")
    finally:
        transport.disconnect()


@pytest.mark.parametrize("url", ["sim://", "sim:///nonexistent/card.json"])
def test_sim_transport_errors(url: str) -> None:
    with pytest.raises(TransportError):
        open_transport(url)


# --- CLI errors (no pcscd needed) -------------------------------------------------------------------
def test_vpcd_cli_bad_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "firmware_sim.cli.main", "vpcd", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "not a myna-kiosk card image" in result.stderr and "Traceback" not in result.stderr


def test_vpcd_cli_help_documents_signals() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "firmware_sim.cli.main", "vpcd", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for word in ("SIGUSR1", "SIGUSR2", "SIGTERM", "--reader-index", "35964"):
        assert word in result.stdout


def test_vpcd_cli_waits_for_vpcd_and_exits_cleanly(image_path: Path) -> None:
    import signal
    import socket

    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    cmd = [sys.executable, "-m", "firmware_sim.cli.main", "vpcd", str(image_path), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert (
            proc.stderr.readline().strip()
            == f"firmware-sim vpcd: vpcd 127.0.0.1:{port} is not listening; retrying"
        )
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert err == ""  # said once only
    assert out.strip() == f"removed {image_path} from vpcd 127.0.0.1:{port}"
