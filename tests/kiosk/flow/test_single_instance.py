"""One kiosk per journal and per serial line (kiosk.app.instance): the running ``kiosk run`` holds its
journal and its cash port; a second ``kiosk run``, ``kiosk diag --probe`` and ``--self-test`` refuse in one
line naming the holder's pid and command, while reading the journal (``kiosk diag``) and staff records
(``kiosk cash refill``) go on; the kernel drops the locks when the holder dies, even by SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from real_kiosk_helpers import ROOT, StoreDevices, running_kiosk, write_config

from kiosk.app.instance import InUse, command_line, hold_device, hold_journal, journal_lock_path

PYTHON = os.path.basename(sys.executable)
HOLDER = (
    "import sys\nfrom pathlib import Path\nfrom kiosk.app.instance import hold_device, hold_journal\n"
    "lock = hold_journal(Path(sys.argv[1])) if sys.argv[2] == 'journal' else hold_device(sys.argv[1], 'x')\n"
    "print('held', flush=True)\nsys.stdin.read()\n"
)


def _holder(target: str, kind: str) -> subprocess.Popen[str]:
    """A process holding the lock of ``target`` until its stdin closes."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, target, kind],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_a_held_journal_is_refused_naming_the_holder_and_freed_when_it_dies(tmp_path: Path) -> None:
    journal = tmp_path / "var" / "journal.sqlite"
    child = _holder(str(journal), "journal")
    try:
        with pytest.raises(InUse) as refused:
            hold_journal(journal)
        message = str(refused.value)
        assert message == f"the journal {journal} is in use by pid {child.pid} ({command_line(child.pid)})"
        assert command_line(child.pid).startswith(f"{PYTHON} -c ")
        assert journal_lock_path(journal).read_text().startswith(f"{child.pid} ")
    finally:
        child.kill()  # no clean exit: the kernel drops the lock all the same
        child.communicate()
    lock = hold_journal(journal)
    try:
        assert journal_lock_path(journal).read_text().split()[0] == str(os.getpid())
        with pytest.raises(InUse, match=rf"is in use by pid {os.getpid()} "):
            hold_journal(journal)  # one holder per open file, within a process too
    finally:
        lock.release()
    hold_journal(journal).release()


def test_a_held_serial_device_is_refused_naming_the_holder(tmp_path: Path) -> None:
    master, slave = os.openpty()
    port = os.ttyname(slave)
    try:
        child = _holder(port, "device")
        try:
            with pytest.raises(InUse) as refused:
                hold_device(port, f"the cash port {port}")
            assert str(refused.value).startswith(
                f"the cash port {port} is in use by pid {child.pid} ({PYTHON} -c "
            )
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(10)
        lock = hold_device(port, "the cash port")  # the holder is gone: free
        assert lock is not None
        lock.release()
    finally:
        os.close(master)
        os.close(slave)
    assert hold_device("socket://127.0.0.1:4001", "x") is None  # nothing local to lock
    assert hold_device(str(tmp_path / "no-such-port"), "x") is None  # the device's own check says why


def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.interop
@pytest.mark.pcsc
def test_a_running_kiosk_holds_its_journal_and_cash_port(devices: StoreDevices, tmp_path: Path) -> None:
    path = write_config(devices, tmp_path / "a")
    with running_kiosk(path) as kiosk:
        holder = f"pid {kiosk.pid} ({PYTHON} -m kiosk run --config {path} --headless)"
        journal = tmp_path / "a" / "var" / "journal.sqlite"
        second = _kiosk("run", "--config", str(path), "--headless")
        assert second.returncode == 3 and second.stdout.count("start-up") == 0
        assert second.stderr == f"kiosk: cannot open: the journal {journal} is in use by {holder}\n"
        for flag in ("--probe", "--self-test"):
            refused = _kiosk("diag", "--config", str(path), flag)
            assert refused.returncode == 3, refused.stdout + refused.stderr
            assert refused.stderr == (
                f"kiosk: refused: the journal {journal} is in use by {holder};"
                f" {flag} opens the devices: not while the kiosk runs\n"
            )
            assert refused.stdout == ""
        report = _kiosk("diag", "--config", str(path))  # reading the journal is fine
        assert report.returncode == 0 and "OPEN ITEMS (0)" in report.stdout, report.stderr
        refill = _kiosk("cash", "refill", "--config", str(path), "--hopper", "3", "--add", "1")
        assert refill.returncode == 0 and "from its next payment" in refill.stdout, refill.stderr
        other = write_config(devices, tmp_path / "b")  # another journal, the same cash line
        also = _kiosk("run", "--config", str(other), "--headless")
        assert also.returncode == 3
        port = devices.cash.path
        assert (
            f"kiosk: cannot open: cash: FAILED: the cash port {port} is in use by {holder}\n" in also.stderr
        )
        assert kiosk.poll() is None  # the running kiosk never noticed
    probe = _kiosk("diag", "--config", str(path), "--probe")  # stopped: the devices are free again
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert "cash: ok: " in probe.stdout
