"""The driver against CUPS's stock ippeveprinter: status, and a multi-page certificate that really spools."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from printer_helpers import make_pdf, pdf_page_count, pdf_page_text

from kiosk.devices.printer.driver import (
    IppPrinter,
    PrintDocumentError,
    PrinterUnavailableError,
    PrintOutcome,
    PrintProgress,
)
from kiosk.devices.printer.ipp_constants import JobState, Operation, PrinterState

pytestmark = pytest.mark.interop


def test_status_of_a_stock_ippeveprinter(plain_printer: tuple[str, Path]) -> None:
    uri, _ = plain_printer
    status = IppPrinter(uri).get_printer_attributes()
    assert status.state in (PrinterState.IDLE, PrinterState.PROCESSING)
    assert status.make_and_model == "Example Printer"
    assert "application/pdf" in status.document_formats
    assert status.supports(Operation.CREATE_JOB) and status.supports(Operation.SEND_DOCUMENT)
    assert status.faults == () and status.paper_state == "ok"
    health = IppPrinter(uri).health()
    assert health.ok and any("Example Printer" in line for line in health.lines)


def test_http_uri_form_reaches_the_same_printer(plain_printer: tuple[str, Path]) -> None:
    uri, _ = plain_printer
    status = IppPrinter(uri.replace("ipp://", "http://")).get_printer_attributes()
    assert status.name == "KioskTest"


def test_three_page_certificate_comes_out_in_order(plain_printer: tuple[str, Path]) -> None:
    uri, spool = plain_printer
    seen: list[PrintProgress] = []
    result = IppPrinter(uri, poll_interval=0.5).print_pdf(
        make_pdf("DOC-1234", 3), job_name="DOC-1234", on_progress=seen.append, timeout=60
    )
    assert result.outcome is PrintOutcome.COMPLETED
    assert (result.pages_printed, result.pages_total) == (3, 3)
    assert seen[-1].state == JobState.COMPLETED and seen[-1].pages_total == 3
    spooled = spool / f"{result.job_id}-doc-1234.pdf"
    assert pdf_page_count(spooled) == 3
    for page in (1, 2, 3):
        assert f"DOC-1234 p{page}/3" in pdf_page_text(spooled, page)


def test_not_a_pdf_is_refused_before_anything_is_sent(plain_printer: tuple[str, Path]) -> None:
    uri, spool = plain_printer
    before = set(spool.iterdir())
    with pytest.raises(PrintDocumentError, match="not a PDF"):
        IppPrinter(uri).print_pdf(b"hello", job_name="x", timeout=5)
    with pytest.raises(PrintDocumentError, match="cannot read"):
        IppPrinter(uri).print_pdf(b"%PDF-1.4\n garbage", job_name="x", timeout=5)
    assert set(spool.iterdir()) == before


def test_no_printer_listening_is_unavailable_quickly() -> None:
    from firmware_sim.printer.ippeve import free_port

    printer = IppPrinter(f"ipp://127.0.0.1:{free_port()}/ipp/print", request_timeout=2)
    started = time.monotonic()
    with pytest.raises(PrinterUnavailableError, match="unreachable"):
        printer.get_printer_attributes()
    assert time.monotonic() - started < 2
    health = printer.health()
    assert not health.ok and health.status is None and "unreachable" in health.summary


@pytest.mark.parametrize("uri", ["lpd://host/queue", "ipp://", "file:///tmp/x", "printer"])
def test_bad_uri_is_a_value_error(uri: str) -> None:
    with pytest.raises(ValueError, match="printer URI"):
        IppPrinter(uri)


def test_real_printer_response_re_encodes_byte_for_byte(plain_printer: tuple[str, Path]) -> None:
    import requests

    from kiosk.devices.printer import ipp
    from kiosk.devices.printer.ipp_constants import GroupTag, ValueTag

    uri, _ = plain_printer
    request = ipp.IppMessage(
        Operation.GET_PRINTER_ATTRIBUTES,
        42,
        (
            ipp.AttributeGroup(
                GroupTag.OPERATION,
                (
                    ipp.Attribute("attributes-charset", ValueTag.CHARSET, ("utf-8",)),
                    ipp.Attribute("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, ("en",)),
                    ipp.Attribute("printer-uri", ValueTag.URI, (uri,)),
                    ipp.Attribute("requested-attributes", ValueTag.KEYWORD, ("all",)),
                ),
            ),
        ),
    )
    raw = requests.post(
        uri.replace("ipp://", "http://"),
        data=ipp.encode(request),
        timeout=5,
        headers={"Content-Type": "application/ipp"},
    ).content
    response = ipp.decode(raw)
    assert response.code == 0 and response.request_id == 42
    media_col = response.find("media-col-default")
    assert media_col is not None and isinstance(media_col.value, ipp.Collection)
    assert media_col.value.get("media-size") is not None
    assert len(response.group(GroupTag.PRINTER).attributes) > 50  # type: ignore[union-attr]
    assert ipp.encode(response) == raw
