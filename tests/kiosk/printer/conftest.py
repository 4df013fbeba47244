"""Fixtures for the printer tests: D-Bus + Avahi (started only if absent), real ippeveprinter, simulators."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from path_helpers import Route

from firmware_sim.printer.cupsd import CupsServer
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


@pytest.fixture(scope="module")
def cups(dnssd: DnssdServices) -> Iterator[CupsServer]:
    """A private cupsd (its own configuration and spool, 127.0.0.1, a free port), removed at the end."""
    with CupsServer() as server:
        yield server


@pytest.fixture(params=["direct", "cups"])
def route(request: pytest.FixtureRequest, sim_printer: Callable[..., PrinterSim]) -> Iterator[Route]:
    """Factory-free path to a fresh simulated printer (page_delay 0.4 s, faults via ``configure``):
    straight to it, or through an IPP Everywhere CUPS queue in front of it."""
    sim = sim_printer(page_delay=0.4)
    if request.param == "direct":
        yield Route("direct", sim, sim.uri)
        return
    server: CupsServer = request.getfixturevalue("cups")
    if server.process is None:  # a test stopped it
        server.start()
    queue = f"Q{sim.port}"
    uri = server.add_queue(queue, sim.uri)
    yield Route("cups", sim, uri, server, queue)
    if server.process is None:
        server.start()
    server.remove_queue(queue)
