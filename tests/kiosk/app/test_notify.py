"""sd_notify spoken to a fake service manager: a datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.app.notify import SystemdNotifier


class FakeManager:
    """systemd's end of ``$NOTIFY_SOCKET``: collects each datagram as a dict of its fields."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(2.0)

    def receive(self) -> dict[str, str]:
        data = self.sock.recv(4096).decode("utf-8")
        return dict(line.split("=", 1) for line in data.split("\n"))

    def nothing_waiting(self) -> bool:
        self.sock.settimeout(0.05)
        try:
            self.sock.recv(4096)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(2.0)
        return False


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[FakeManager, str]]:
    path = str(tmp_path / "notify")
    fake = FakeManager(path)
    yield fake, path
    fake.sock.close()


def test_ready_status_and_stopping_reach_the_manager(manager: tuple[FakeManager, str]) -> None:
    fake, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("kiosk open:\n4 devices ok")
    ready = fake.receive()
    assert ready["READY"] == "1" and ready["STATUS"] == "kiosk open: 4 devices ok"
    assert ready["MAINPID"] == str(os.getpid())
    assert notifier.stopping("stop requested")
    assert fake.receive() == {"STOPPING": "1", "STATUS": "stop requested"}


def test_the_abstract_namespace_is_understood() -> None:
    name = f"myna-kiosk-test-{os.getpid()}"
    fake = FakeManager("\0" + name)
    try:
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert fake.receive() == {"STATUS": "hello"}
    finally:
        fake.sock.close()


def test_the_watchdog_is_fed_at_a_quarter_of_its_interval(manager: tuple[FakeManager, str]) -> None:
    fake, path = manager
    now = [100.0]
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "8000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = SystemdNotifier(env, clock=lambda: now[0])
    assert notifier.watchdog_interval == 8.0
    assert notifier.watchdog() and fake.receive() == {"WATCHDOG": "1"}
    now[0] += 1.0
    assert not notifier.watchdog() and fake.nothing_waiting()  # 1 s < 8 s / 4
    now[0] += 1.5
    assert notifier.watchdog() and fake.receive() == {"WATCHDOG": "1"}


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "5000000", "WATCHDOG_PID": "1"},  # meant for another process
        {"WATCHDOG_USEC": "five"},
    ],
)
def test_no_watchdog_unless_meant_for_us(manager: tuple[FakeManager, str], env: dict[str, str]) -> None:
    fake, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, **env})
    assert notifier.watchdog_interval is None
    assert not notifier.watchdog() and fake.nothing_waiting()


def test_outside_systemd_nothing_is_sent_and_nothing_raises(tmp_path: Path) -> None:
    assert not SystemdNotifier({}).enabled and not SystemdNotifier({}).ready("x")
    assert not SystemdNotifier({"NOTIFY_SOCKET": "relative/path"}).enabled
    gone = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "no-such-socket")})
    assert gone.enabled and not gone.ready("open") and not gone.status("still not")
