"""The serial link: exact request bytes, echo handling, timeouts, garbage, URL schemes (pty, socket, loop)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import ChecksumMode, FrameError, Header
from kiosk.devices.cash.serial_link import CashLink, CcTalkDevice, LinkError, LinkTimeoutError, NakError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


class ScriptedDevice:
    """A TCP peer (pyserial ``socket://``) that records each request and answers from a script."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = replies
        self.received: list[bytes] = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            conn.settimeout(2)
            for reply in self.replies:
                try:
                    head = conn.recv(2)
                    if len(head) < 2:
                        return
                    rest = conn.recv(head[1] + 3)
                except OSError:
                    return
                self.received.append(head + rest)
                conn.sendall(reply)

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=3)


@pytest.fixture
def scripted() -> Iterator[list[ScriptedDevice]]:
    made: list[ScriptedDevice] = []
    yield made
    for device in made:
        device.close()


def _open(scripted: list[ScriptedDevice], replies: list[str]) -> tuple[ScriptedDevice, CashLink]:
    device = ScriptedDevice([h(r) for r in replies])
    scripted.append(device)
    link = CashLink(device.url, reply_timeout=0.3)
    link.open()
    return device, link


def test_exact_request_bytes_and_ack_data(scripted: list[ScriptedDevice]) -> None:
    device, link = _open(scripted, ["01 00 02 00 FD", "01 03 03 00 4E 46 05 60"])
    with link:
        CcTalkDevice(link, 2).set_master_enabled(True)
        assert CcTalkDevice(link, 3).link.command(3, Header.REQUEST_SERIAL_NUMBER) == h("4E 46 05")
    assert device.received == [h("02 01 01 E4 01 17"), h("03 00 01 F2 0A")]


def test_dispense_uses_serial_form_and_is_not_retried(scripted: list[ScriptedDevice]) -> None:
    device, link = _open(scripted, ["01 01 03 00 01 FA"])
    with link:
        assert CcTalkDevice(link, 3).dispense(0x0AD7DF, 1) == 1
    assert device.received == [h("03 04 01 A7 DF D7 0A 01 90")]  # the Flow "ITA serial" example


def test_nak_and_busy_raise(scripted: list[ScriptedDevice]) -> None:
    _, link = _open(scripted, ["01 00 02 05 F8", "01 00 02 06 F7"])
    with link:
        with pytest.raises(NakError, match="NAK"):
            link.command(2, Header.SIMPLE_POLL)
        with pytest.raises(NakError, match="BUSY"):
            link.command(2, Header.SIMPLE_POLL)


def test_reply_from_wrong_address_is_a_frame_error(scripted: list[ScriptedDevice]) -> None:
    _, link = _open(scripted, ["01 00 03 00 FC"])
    with link, pytest.raises(FrameError, match="from 3"):
        link.command(2, Header.SIMPLE_POLL)


def test_read_commands_retry_after_garbage(scripted: list[ScriptedDevice]) -> None:
    device, link = _open(scripted, ["01 00 02 00 00", "01 00 02 00 FD"])
    with link:
        CcTalkDevice(link, 2, retries=1).simple_poll()
    assert len(device.received) == 2


def test_loop_url_echo_is_checked_then_missing_reply_times_out() -> None:
    # loop:// hands our bytes straight back: exactly what an echoing single-wire bus does.
    with CashLink("loop://", echo=True, reply_timeout=0.05) as link:
        with pytest.raises(LinkTimeoutError, match="waiting for 2 bytes"):
            link.transact(2, Header.SIMPLE_POLL)
    with CashLink("loop://", echo=False, reply_timeout=0.05) as link:
        with pytest.raises(FrameError, match="reply to 2"):  # our own request read back as a "reply"
            link.transact(2, Header.SIMPLE_POLL)


def test_cannot_open_and_not_open_errors(tmp_path: object) -> None:
    with pytest.raises(LinkError, match="cannot open"):
        CashLink("/nonexistent/ttyCASH").open()
    with pytest.raises(LinkError, match="not open"):
        CashLink("loop://").transact(2, Header.SIMPLE_POLL)


@pytest.mark.parametrize("echo", [False, True])
def test_pty_with_echo_and_crc_bill_validator(echo: bool) -> None:
    with CashUnitSim(echo=echo, crc_bill=True, watchdogs=(None, None)) as sim:
        link = CashLink(sim.path, echo=echo, checksum={40: ChecksumMode.CRC16}, reply_timeout=0.5)
        with link:
            assert CcTalkDevice(link, 40).identify().category == "Bill Validator"
            assert CcTalkDevice(link, 2).identify().category == "Coin Acceptor"


def test_silent_device_times_out_and_corrupt_reply_is_rejected() -> None:
    with CashUnitSim(watchdogs=(None, None)) as sim, CashLink(sim.path, reply_timeout=0.5) as link:
        sim.corrupt_replies(1)
        with pytest.raises(FrameError, match="checksum"):
            link.command(2, Header.SIMPLE_POLL)
        link.reply_timeout = 0.05
        sim.set_silent(True)
        start = time.monotonic()
        with pytest.raises(LinkTimeoutError):
            link.command(2, Header.SIMPLE_POLL, retries=2)
        assert time.monotonic() - start < 1.0
        sim.set_silent(False)
        link.reply_timeout = 0.5
        link.command(2, Header.SIMPLE_POLL)


def test_simulator_ignores_bad_checksum_and_naks_unknown_header() -> None:
    with CashUnitSim(watchdogs=(None, None)) as sim, CashLink(sim.path, reply_timeout=0.5) as link:
        with pytest.raises(NakError):
            link.command(2, 99)
        port = link._port
        assert port is not None
        port.write(h("02 00 01 FE 00"))  # bad checksum: the device stays silent
        time.sleep(0.1)
        assert port.in_waiting == 0 and sim.wire.garbage_frames == 1
        link.command(2, Header.SIMPLE_POLL)
