"""Process ids come round again (pid_max 32768 here: a test suite goes through them in about two minutes).
The printer simulators and the D-Bus/Avahi record must never signal a process that merely has the number
one of theirs had: such a stray signal ended other tests' printers and cupsd."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.printer import dnssd
from firmware_sim.printer.groups import end_group, signal_group


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """Somebody else's process, leading a group of its own (as another test's cupsd does)."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def _reaped() -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["true"], start_new_session=True)
    process.wait()
    return process


def test_a_reaped_leaders_number_taken_by_another_is_not_signalled(
    stranger: subprocess.Popen[bytes],
) -> None:
    ours = _reaped()
    ours.pid = stranger.pid  # what pid reuse does: the number we hold now leads somebody else's group
    assert signal_group(ours, signal.SIGTERM) is False
    end_group(ours, signal.SIGTERM, grace=1.0)
    time.sleep(0.2)
    assert stranger.poll() is None


def test_what_a_leader_left_in_its_group_is_ended() -> None:
    # ippeveprinter exits and leaves its print engine behind: the engine still carries the group's number.
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!"], start_new_session=True, stdout=subprocess.PIPE
    )
    assert leader.stdout is not None
    engine = int(leader.stdout.readline())
    leader.stdout.close()
    leader.wait()
    end_group(leader, signal.SIGTERM, grace=1.0)
    deadline = time.monotonic() + 5
    while dnssd._alive(engine) and time.monotonic() < deadline:  # gone, or a zombie nobody reaps
        time.sleep(0.05)
    assert not dnssd._alive(engine)


def test_a_daemon_is_known_by_its_name_and_start_time(stranger: subprocess.Popen[bytes]) -> None:
    started = dnssd._started_at(stranger.pid)
    assert started is not None
    assert dnssd._is_daemon("sleep", stranger.pid, started)
    assert not dnssd._is_daemon("sleep", stranger.pid, started + 1)  # the number, but a later process
    assert not dnssd._is_daemon("avahi-daemon", stranger.pid)


def test_the_last_user_does_not_stop_a_process_that_took_a_dead_daemons_number(
    stranger: subprocess.Popen[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "dnssd.json"
    monkeypatch.setattr(dnssd, "RECORD", record)  # a record of our own: the machine's is in use
    pid = stranger.pid
    record.write_text(json.dumps({"users": [], "started": [["avahi-daemon", pid, 0], ["sleep", pid, 1]]}))
    dnssd.DnssdServices().stop()
    time.sleep(0.2)
    assert stranger.poll() is None
    assert json.loads(record.read_text()) == {"users": [], "started": []}
