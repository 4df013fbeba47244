"""The vpcd bridge against a scripted vpcd (a local TCP server on port 0): framing, control codes,
QUICKACK after every recv, reconnects, removal, protocol violations."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from card_helpers import SELECT_JPKI

from firmware_sim import vpcd
from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.vpcd import VpcdBridge
from reader.apdu import h


class FakeVpcd:
    """The pcscd side: listens, accepts the card, sends frames."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)
        return self.conn

    def send(self, payload: bytes, *, split: bool = True) -> None:
        assert self.conn is not None
        frame = len(payload).to_bytes(2, "big")
        if split:  # like Debian's vpcd: length and payload in two writes
            self.conn.sendall(frame)
            self.conn.sendall(payload)
        else:
            self.conn.sendall(frame + payload)

    def recv(self) -> bytes:
        assert self.conn is not None
        size = int.from_bytes(self._exact(2), "big")
        return self._exact(size)

    def _exact(self, size: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("card closed the link")
            data += chunk
        return data

    def closed_by_card(self) -> bool:
        assert self.conn is not None
        try:
            return self.conn.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


@pytest.fixture
def fake() -> Iterator[FakeVpcd]:
    server = FakeVpcd()
    yield server
    server.close()


@pytest.fixture
def bridge(fake: FakeVpcd, image_path: Path) -> Iterator[VpcdBridge]:
    b = VpcdBridge(MyNumberCard.from_image(image_path), "127.0.0.1", fake.port)
    b.min_out_time = 0.0
    b.start()
    yield b
    b.stop()


def test_atr_power_and_apdus(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    fake.accept()
    fake.send(b"\x04")
    assert fake.recv() == bridge.card.atr
    assert bridge.wait_connected(2)
    fake.send(b"\x01")  # power on: no reply
    fake.send(h(SELECT_JPKI))
    assert fake.recv() == h("90 00")
    fake.send(h("00 A4 02 0C 02 00 0A"), split=False)
    assert fake.recv() == h("90 00")
    fake.send(h("00 B0 00 00 00 00 00"))
    response = fake.recv()
    assert response[-2:] == h("90 00") and response[:2] == h("30 82") and len(response) > 1000
    fake.send(b"\x02")  # reset: no reply, state back to power-on
    fake.send(h("00 A4 02 0C 02 00 0A"))
    assert fake.recv() == h("69 86")
    fake.send(b"\x00")  # power off
    fake.send(b"\x04")
    assert fake.recv() == bridge.card.atr


def test_quickack_after_every_recv(fake: FakeVpcd, image_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_recv_exact = vpcd._recv_exact
    recvs: list[int] = []

    def counting_quickack(sock: socket.socket) -> None:
        calls.append(1)

    def counting_recv_exact(sock: socket.socket, size: int) -> bytes:
        data = real_recv_exact(sock, size)
        recvs.append(1)
        return data

    monkeypatch.setattr(vpcd, "_quickack", counting_quickack)
    monkeypatch.setattr(vpcd, "_recv_exact", counting_recv_exact)
    b = VpcdBridge(MyNumberCard.from_image(image_path), "127.0.0.1", fake.port)
    b.start()
    try:
        fake.accept()
        for _ in range(5):
            fake.send(b"\x04")
            fake.recv()
        assert b._sock is not None and b._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        # one quickack at connect, then at least one per recv call (length and payload each)
        assert len(calls) >= 1 + len(recvs) and len(recvs) >= 10
    finally:
        b.stop()


def test_quickack_really_set_on_linux_socket() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname()) as client:
        vpcd._quickack(client)
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1


def test_remove_closes_and_insert_reconnects(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    fake.accept()
    fake.send(b"\x04")
    fake.recv()
    bridge.remove()
    assert fake.closed_by_card()
    assert not bridge.connected.is_set()
    bridge.insert()
    fake.accept()
    fake.send(b"\x04")
    assert fake.recv() == bridge.card.atr
    assert bridge.wait_connected(2)


def test_pcscd_side_disconnect_reconnects(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    first = fake.accept()
    fake.send(b"\x04")
    fake.recv()
    first.close()
    fake.accept()  # the bridge comes back by itself while "inserted"
    fake.send(b"\x04")
    assert fake.recv() == bridge.card.atr


@pytest.mark.parametrize("garbage", [b"\x07", b""], ids=["unknown-control", "empty-frame"])
def test_garbage_closes_and_reconnects(fake: FakeVpcd, bridge: VpcdBridge, garbage: bytes) -> None:
    fake.accept()
    fake.send(garbage)
    assert fake.closed_by_card()
    fake.accept()
    fake.send(b"\x04")
    assert fake.recv() == bridge.card.atr


def test_oversized_response_closes_link(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    class HugeCard(MyNumberCard):
        def process(self, apdu: bytes) -> bytes:
            return bytes(70000)

    assert isinstance(bridge.card, MyNumberCard)
    bridge.card.__class__ = HugeCard
    fake.accept()
    fake.send(h("00 84 00 00 08"))
    assert fake.closed_by_card()
    fake.accept()


def test_idle_link_is_dropped(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    bridge.idle_timeout = 0.2
    fake.accept()
    assert fake.closed_by_card()  # nothing sent for 0.2 s: the bridge gives up and reconnects
    fake.accept()


def test_not_listening_retries_then_connects(image_path: Path) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on `port` now
    b = VpcdBridge(MyNumberCard.from_image(image_path), "127.0.0.1", port)
    b.start()
    try:
        import time

        deadline = time.monotonic() + 2
        while b.connect_failures == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b.connect_failures >= 1
        server = socket.create_server(("127.0.0.1", port))
        server.settimeout(5)
        with server:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"\x00\x01\x04")
                assert conn.recv(64)[2:] == b.card.atr
    finally:
        b.stop()


def test_stop_before_connect_is_clean(image_path: Path) -> None:
    b = VpcdBridge(MyNumberCard.from_image(image_path), "127.0.0.1", 9)
    b.start(inserted=False)
    b.stop(timeout=2)
    assert b._thread is not None and not b._thread.is_alive()
    with pytest.raises(RuntimeError):
        b.start()
