"""Fixtures for the printer tests: D-Bus + Avahi (started only if absent), real ippeveprinter, simulators."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import IPPEVEPRINTER, PrinterSim, free_port


@pytest.fixture(scope="session")
def dnssd() -> Iterator[DnssdServices]:
    """The system D-Bus and Avahi that ippeveprinter needs; stops only what it started."""
    services = DnssdServices()
    services.ensure()
    yield services
    services.stop()


@pytest.fixture(scope="session")
def plain_printer(
    dnssd: DnssdServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """Stock ippeveprinter (no -c): (URI, spool dir). Jobs complete after its built-in 5–15 s."""
    spool = tmp_path_factory.mktemp("plain-spool")
    port = free_port()
    log = (spool.parent / "plain-ippeveprinter.log").open("wb")
    args = [
        IPPEVEPRINTER,
        "-r",
        "off",
        "-n",
        "localhost",
        "-p",
        str(port),
        "-f",
        "application/pdf,image/pwg-raster",
        "-k",
        "-d",
        str(spool),
        "KioskTest",
    ]
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    uri = f"ipp://127.0.0.1:{port}/ipp/print"
    try:
        _wait_http(port, process)
        yield uri, spool
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_http(port: int, process: subprocess.Popen[bytes]) -> None:
    until = time.monotonic() + 10
    while time.monotonic() < until:
        assert process.poll() is None, "ippeveprinter exited during start-up"
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("ippeveprinter did not come up")


@pytest.fixture
def sim_printer(dnssd: DnssdServices, tmp_path: Path) -> Iterator[Callable[..., PrinterSim]]:
    """Factory for simulated printers (ippeveprinter + our print engine); all stopped at the end."""
    started: list[PrinterSim] = []

    def start(**options: object) -> PrinterSim:
        sim = PrinterSim(tmp_path / f"spool{len(started)}", **options)  # type: ignore[arg-type]
        started.append(sim)
        return sim.start()

    yield start
    for sim in started:
        sim.stop()
        assert sim.process is None
