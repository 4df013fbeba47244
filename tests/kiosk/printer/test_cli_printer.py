"""``firmware-sim printer``: prints the URI, serves IPP with the scripted fault, stops cleanly on SIGTERM and
then leaves no spooled job or printed page behind unless ``--keep`` (issue #14)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from printer_helpers import make_pdf

from firmware_sim.printer.dnssd import RECORD, DnssdServices
from kiosk.devices.printer.driver import IppPrinter, PrintOutcome

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("keep", [[], ["--keep"]], ids=["default", "keep"])
def test_cli_runs_until_sigterm(dnssd: DnssdServices, tmp_path: Path, keep: list[str]) -> None:
    spool = tmp_path / "spool"
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "firmware_sim.cli.main",
            "printer",
            "--spool",
            str(spool),
            "--paper-out-at",
            "2",
            "--fault-hold",
            "0",
            *keep,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None
        uri = cli.stdout.readline().strip()
        assert uri.startswith("ipp://127.0.0.1:") and uri.endswith("/ipp/print")
        printer = IppPrinter(uri, poll_interval=0.1)
        result = printer.print_pdf(make_pdf("DOC-7", 2), job_name="DOC-7", timeout=20)
        assert (result.outcome, result.pages_printed) == (PrintOutcome.ABORTED, 1)
        assert result.reasons[0] == "media-empty"
        printed = [f"jobs/{result.job_id}-doc-7.pdf", f"tray/{result.job_id}-page-1.pdf"]
        assert sorted(str(p.relative_to(spool)) for p in spool.rglob("*.pdf")) == printed
    finally:
        cli.send_signal(signal.SIGTERM)
        cli.communicate(timeout=10)  # and closes the pipes
        assert cli.returncode == 0
    leftovers = [cmd for cmd in command_lines() if "ippeveprinter" in cmd and str(spool) in cmd]
    assert leftovers == []
    assert sorted(str(p.relative_to(spool)) for p in spool.rglob("*.pdf")) == (printed if keep else [])


def command_lines() -> list[str]:
    """Every process's command line (procps may not be installed, so read /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


@pytest.mark.parametrize(
    "args", [["--jam-at", "0"], ["--jam-at", "2", "--paper-out-at", "3"], ["--page-delay", "-1"], []]
)
def test_cli_rejects_bad_arguments(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "firmware_sim.cli.main", "printer", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "usage:" in done.stderr


def test_cli_reports_a_port_it_cannot_use(dnssd: DnssdServices, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "firmware_sim.cli.main",
            "printer",
            "--spool",
            str(tmp_path),
            "--port",
            "70000",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--port" in done.stderr and "Traceback" not in done.stderr


def test_dnssd_stays_up_while_another_user_remains(dnssd: DnssdServices) -> None:
    code = "from firmware_sim.printer.dnssd import DnssdServices as D; d = D(); d.ensure(); d.stop()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    avahi = int(Path("/run/avahi-daemon/pid").read_text().split()[0])
    assert Path(f"/proc/{avahi}").exists()
    assert Path("/run/dbus/system_bus_socket").exists()


def test_dnssd_users_in_one_process_do_not_unregister_each_other(dnssd: DnssdServices) -> None:
    other = DnssdServices()
    other.ensure()
    other.stop()  # the session's own registration (the fixture) must survive this
    assert Path("/run/dbus/system_bus_socket").exists()
    avahi = int(Path("/run/avahi-daemon/pid").read_text().split()[0])
    assert Path(f"/proc/{avahi}").exists()
    record = json.loads(RECORD.read_text())
    assert any(user[0] == os.getpid() for user in record["users"])


def test_a_process_with_its_own_tmpdir_shares_the_record(dnssd: DnssdServices, tmp_path: Path) -> None:
    # A record under TMPDIR made such a process a stranger to the others: it started the daemons it found
    # missing and stopped them when it left, under everybody else's feet ("Avahi server crashed").
    code = (
        "import sys; from firmware_sim.printer.dnssd import DnssdServices as D; d = D(); d.ensure(); "
        "print('registered', flush=True); sys.stdin.readline(); d.stop()"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "registered\n"
        assert any(user[0] == child.pid for user in json.loads(RECORD.read_text())["users"])
    finally:
        child.communicate("\n", timeout=30)
    assert child.returncode == 0
    assert not any(user[0] == child.pid for user in json.loads(RECORD.read_text())["users"])
    assert list(tmp_path.iterdir()) == []
