"""A printer simulator is given a port number (ippeveprinter and cupsd cannot take port 0), so another
process may take that port between choosing and binding. Found in CI: the simulator exited, the stranger
on the port answered the readiness check, and the kiosk's certificate went to another test's printer
(print failed at once). The simulator must only call itself ready on a port it holds itself."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.printer import cupsd, ippeve
from firmware_sim.printer.cupsd import CupsServer
from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import PrinterSim, PrinterSimError
from firmware_sim.printer.ports import free_port, owns_listening_port

pytestmark = pytest.mark.interop


@pytest.fixture
def stranger() -> Iterator[int]:
    """An HTTP server of somebody else's on 127.0.0.1 (it answers every GET with 200); its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_kernel_says_who_listens_on_a_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not owns_listening_port(os.getpid(), port)  # bound, not listening
        sock.listen()
        assert owns_listening_port(os.getpid(), port)
        assert not owns_listening_port(1, port)  # somebody else
    assert not owns_listening_port(os.getpid(), port)  # closed


def test_a_printer_given_a_port_held_by_another_process_says_so(
    dnssd: DnssdServices, tmp_path: Path, stranger: int
) -> None:
    sim = PrinterSim(tmp_path / "spool", port=stranger)
    with pytest.raises(PrinterSimError, match=f"port {stranger} is held by another process"):
        sim.start()
    assert sim.process is None


def test_a_printer_whose_chosen_port_was_taken_moves_to_another(
    dnssd: DnssdServices, tmp_path: Path, stranger: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([stranger, free_port()])
    monkeypatch.setattr(ippeve, "free_port", lambda: next(ports))
    with PrinterSim(tmp_path / "spool") as sim:
        assert sim.port != stranger and sim.process is not None
        assert owns_listening_port(sim.process.pid, sim.port)
        assert sim.uri == f"ipp://127.0.0.1:{sim.port}/ipp/print"


def test_a_cups_server_whose_chosen_port_was_taken_moves_to_another(
    dnssd: DnssdServices, stranger: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cupsd does not exit when it cannot bind its port (it keeps its local socket), so the stranger's
    answer must not pass for cupsd's."""
    ports = iter([stranger, free_port()])
    monkeypatch.setattr(cupsd, "free_port", lambda: next(ports))
    with CupsServer() as server:
        assert server.port != stranger and server.process is not None
        assert owns_listening_port(server.process.pid, server.port)
        assert f"127.0.0.1:{server.port}" in (server.root / "etc/cupsd.conf").read_text()


def test_a_printer_whose_avahi_went_away_at_start_revives_it_and_starts_again(
    dnssd: DnssdServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in CI: the shared avahi-daemon went away while a test's ippeveprinter started ("Avahi server
    crashed, exiting."); the simulator failed the test instead of starting Avahi and itself again."""
    real, flag = ippeve.IPPEVEPRINTER, tmp_path / "crashed-once"
    fake = tmp_path / "ippeveprinter"
    fake.write_text(
        f'#!/bin/sh\nif [ ! -e "{flag}" ]; then touch "{flag}"; echo "Ignored Avahi state 2."; '
        f'echo "Avahi server crashed, exiting."; exit 1; fi\nexec "{real}" "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr(ippeve, "IPPEVEPRINTER", str(fake))
    revived: list[bool] = []
    monkeypatch.setattr(DnssdServices, "revive", classmethod(lambda cls: revived.append(True)))
    sim = PrinterSim(tmp_path / "spool")
    try:
        sim.start()
        assert revived == [True] and sim.process is not None
        assert owns_listening_port(sim.process.pid, sim.port)
    finally:
        sim.stop()
