"""Driver edge cases at the HTTP seam, with a scripted stand-in printer: bad answers, silence, IPP/1.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.devices.printer import ipp
from kiosk.devices.printer.driver import (
    IppPrinter,
    PrinterProtocolError,
    PrinterRejectedError,
    PrinterUnavailableError,
)
from kiosk.devices.printer.ipp_constants import GroupTag, Status, ValueTag
from reader.apdu import h

Answer = Callable[[bytes], tuple[int, bytes]]


@pytest.fixture
def fake_printer() -> Iterator[Callable[[Answer], str]]:
    """A one-shot HTTP server on 127.0.0.1:0 whose answer to each POST body is scripted."""
    servers: list[ThreadingHTTPServer] = []

    def serve(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, body = answer(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(status)
                self.send_header("Content-Type", "application/ipp")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"ipp://127.0.0.1:{server.server_address[1]}/ipp/print"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(request: bytes, status: int, *printer: ipp.Attribute) -> bytes:
    groups = (
        ipp.AttributeGroup(
            GroupTag.OPERATION,
            (
                ipp.Attribute("attributes-charset", ValueTag.CHARSET, ("utf-8",)),
                ipp.Attribute("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, ("en",)),
            ),
        ),
        ipp.AttributeGroup(GroupTag.PRINTER, printer),
    )
    return ipp.encode(ipp.IppMessage(status, ipp.decode(request).request_id, groups, (1, 1)))


def test_ipp_1_1_only_printer_is_asked_again_in_1_1(fake_printer: Callable[[Answer], str]) -> None:
    versions: list[tuple[int, int]] = []

    def answer(body: bytes) -> tuple[int, bytes]:
        versions.append(ipp.decode(body).version)
        if versions[-1] == (2, 0):
            return 200, reply(body, Status.VERSION_NOT_SUPPORTED)
        return 200, reply(
            body,
            Status.OK,
            ipp.Attribute("printer-state", ValueTag.ENUM, (3,)),
            ipp.Attribute("printer-state-reasons", ValueTag.KEYWORD, ("media-low-report",)),
        )

    printer = IppPrinter(fake_printer(answer))
    status = printer.get_printer_attributes()
    printer.get_printer_attributes()
    assert versions == [(2, 0), (1, 1), (1, 1)]
    assert status.state_reasons == ("media-low",) and status.paper_state == "low"
    assert status.make_and_model == "unknown printer" and not status.accepting_jobs


@pytest.mark.parametrize(
    ("http_status", "body", "error", "complaint"),
    [
        (500, b"", PrinterProtocolError, "HTTP 500"),
        (200, b"<html>hello</html>", PrinterProtocolError, "malformed IPP"),
        (200, h("02 00 0000 00000001"), PrinterProtocolError, "malformed IPP"),
        (200, h("02 00 0000 7FFFFFFF 03"), PrinterProtocolError, "request-id"),
    ],
)
def test_bad_answers_are_protocol_errors(
    fake_printer: Callable[[Answer], str],
    http_status: int,
    body: bytes,
    error: type[Exception],
    complaint: str,
) -> None:
    printer = IppPrinter(fake_printer(lambda _: (http_status, body)))
    with pytest.raises(error, match=complaint):
        printer.get_printer_attributes()
    assert not printer.health().ok


def test_error_status_keeps_its_code_and_message(fake_printer: Callable[[Answer], str]) -> None:
    def answer(body: bytes) -> tuple[int, bytes]:
        return 200, reply(body, 0x04FF)

    with pytest.raises(PrinterRejectedError, match="0x04FF unknown") as refused:
        IppPrinter(fake_printer(answer)).cancel_job(3)
    assert refused.value.status == 0x04FF


def test_a_printer_that_never_answers_times_out(fake_printer: Callable[[Answer], str]) -> None:
    release = threading.Event()

    def answer(body: bytes) -> tuple[int, bytes]:
        release.wait(10)
        return 200, reply(body, Status.OK)

    printer = IppPrinter(fake_printer(answer), request_timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(PrinterUnavailableError, match="Timeout"):
            printer.get_printer_attributes()
    finally:
        release.set()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("reasons", "faults", "summary"),
    [
        (("cover-open-error",), ("cover-open",), "cover is open"),
        (
            ("marker-supply-empty-error", "media-low-report"),
            ("marker-supply-empty",),
            "Toner or ink is empty",
        ),
        (("media-jam-error",), ("media-jam",), "Paper jam"),
        (("toner-low-report",), (), "ready; Toner is low."),
        (("none",), (), "ready"),
    ],
)
def test_reasons_become_faults_and_staff_text(
    fake_printer: Callable[[Answer], str], reasons: tuple[str, ...], faults: tuple[str, ...], summary: str
) -> None:
    from printer_helpers import make_pdf

    from kiosk.devices.printer.driver import PrinterNotReadyError

    def answer(body: bytes) -> tuple[int, bytes]:
        return 200, reply(
            body,
            Status.OK,
            ipp.Attribute("printer-state", ValueTag.ENUM, (5 if faults else 3,)),
            ipp.Attribute("printer-state-reasons", ValueTag.KEYWORD, reasons),
            ipp.Attribute("printer-is-accepting-jobs", ValueTag.BOOLEAN, (True,)),
            ipp.Attribute("document-format-supported", ValueTag.MIME_TYPE, ("application/pdf",)),
        )

    printer = IppPrinter(fake_printer(answer))
    assert printer.get_printer_attributes().faults == faults
    health = printer.health()
    assert health.ok is not faults and summary in health.summary
    if faults:
        with pytest.raises(PrinterNotReadyError, match=faults[0]):
            printer.print_pdf(make_pdf("DOC-1", 1), job_name="DOC-1", timeout=5)
