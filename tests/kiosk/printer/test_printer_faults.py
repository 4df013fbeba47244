"""The driver against the fault-injecting printer (ippeveprinter + our print engine via -c)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from printer_helpers import make_pdf, pdf_page_text

from firmware_sim.printer.ippeve import PrinterSim
from kiosk.devices.printer.driver import (
    IppPrinter,
    PrinterNotReadyError,
    PrinterUnavailableError,
    PrintOutcome,
    PrintProgress,
)
from kiosk.devices.printer.ipp_constants import PrinterState

pytestmark = pytest.mark.interop
SimFactory = Callable[..., PrinterSim]
DOC = make_pdf("DOC-1234", 3)


def tray_pages(sim: PrinterSim, job_id: int | None) -> list[Path]:
    return sorted(sim.tray.glob(f"{job_id}-page-*"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def test_progress_page_by_page_and_every_page_in_the_tray(sim_printer: SimFactory) -> None:
    sim = sim_printer(page_delay=0.3)
    seen: list[PrintProgress] = []
    printer = IppPrinter(sim.uri, poll_interval=0.1)
    result = printer.print_pdf(DOC, job_name="DOC-1234", on_progress=seen.append)
    assert result.outcome is PrintOutcome.COMPLETED and result.pages_printed == 3
    done = [p.pages_done for p in seen]
    assert done == sorted(done) and {1, 2, 3} <= set(done)
    assert all(p.pages_total == 3 for p in seen)
    pages = tray_pages(sim, result.job_id)
    assert [p.name for p in pages] == [f"{result.job_id}-page-{n}.pdf" for n in (1, 2, 3)]
    for number, page in enumerate(pages, start=1):
        assert f"DOC-1234 p{number}/3" in pdf_page_text(page, 1)


def test_paper_out_at_page_2_of_3(sim_printer: SimFactory) -> None:
    sim = sim_printer(paper_out_at=2)
    printer = IppPrinter(sim.uri, poll_interval=0.1)
    result = printer.print_pdf(DOC, job_name="DOC-1234", timeout=20)
    assert result.outcome is PrintOutcome.ABORTED
    assert (result.pages_printed, result.pages_total) == (1, 3)
    assert result.reasons[0] == "media-empty"
    assert "Out of paper" in result.message
    assert [p.name for p in tray_pages(sim, result.job_id)] == [f"{result.job_id}-page-1.pdf"]
    assert "DOC-1234 p1/3" in pdf_page_text(tray_pages(sim, result.job_id)[0], 1)
    # The printer stays out of paper: the next job is refused before anything is sent.
    assert printer.health().status is not None and printer.get_printer_attributes().paper_state == "empty"
    with pytest.raises(PrinterNotReadyError, match="Out of paper") as refused:
        printer.print_pdf(DOC, job_name="DOC-1235", timeout=5)
    assert "media-empty" in refused.value.status.faults
    sim.refill()
    again = printer.print_pdf(DOC, job_name="DOC-1235", timeout=20)
    assert again.outcome is PrintOutcome.COMPLETED and len(tray_pages(sim, again.job_id)) == 3


def test_jam_at_sheet_3_the_printer_aborts_the_job_itself(sim_printer: SimFactory) -> None:
    sim = sim_printer(jam_at=3, fault_hold=0)
    printer = IppPrinter(sim.uri, poll_interval=0.1)
    result = printer.print_pdf(DOC, job_name="DOC-1234", timeout=20)
    assert result.outcome is PrintOutcome.ABORTED
    assert result.pages_printed == 2
    assert "media-jam" in result.reasons and "Paper jam" in result.message
    assert len(tray_pages(sim, result.job_id)) == 2
    status = printer.get_printer_attributes()
    assert status.paper_state == "jam" and not status.ready


def test_jam_while_the_job_is_held_is_canceled_by_the_kiosk(sim_printer: SimFactory) -> None:
    sim = sim_printer(jam_at=1)  # the engine holds the job (fault_hold 300 s) like a real printer
    started = time.monotonic()
    result = IppPrinter(sim.uri, poll_interval=0.1).print_pdf(DOC, job_name="DOC-1234", timeout=30)
    assert time.monotonic() - started < 10
    assert result.outcome is PrintOutcome.ABORTED and result.pages_printed == 0
    assert result.reasons[0] == "media-jam"


def test_printer_killed_mid_job_is_unavailable_quickly(sim_printer: SimFactory) -> None:
    sim = sim_printer(page_delay=0.5)
    printer = IppPrinter(sim.uri, poll_interval=0.1, request_timeout=2, unavailable_grace=1)
    killed_at: list[float] = []

    def pull_the_plug(progress: PrintProgress) -> None:
        if progress.pages_done >= 1 and not killed_at:
            sim.kill()
            killed_at.append(time.monotonic())

    with pytest.raises(PrinterUnavailableError, match="unreachable") as lost:
        printer.print_pdf(DOC, job_name="DOC-1234", on_progress=pull_the_plug, timeout=60)
    assert time.monotonic() - killed_at[0] < 4
    assert lost.value.pages_confirmed >= 1 and lost.value.job_id is not None


def test_cancel_stops_the_job_between_pages(sim_printer: SimFactory) -> None:
    sim = sim_printer(page_delay=1.0)
    cancel = threading.Event()

    def cancel_after_first_page(progress: PrintProgress) -> None:
        if progress.pages_done >= 1:
            cancel.set()

    printer = IppPrinter(sim.uri, poll_interval=0.1)
    result = printer.print_pdf(
        DOC, job_name="DOC-1234", on_progress=cancel_after_first_page, cancel=cancel, timeout=30
    )
    assert result.outcome is PrintOutcome.CANCELED
    assert result.pages_printed == 1 and "canceled-by-kiosk" in result.reasons
    assert len(tray_pages(sim, result.job_id)) == 1
    assert printer.get_printer_attributes().state == PrinterState.IDLE


def test_cancel_before_the_start_sends_nothing(sim_printer: SimFactory) -> None:
    sim = sim_printer()
    cancel = threading.Event()
    cancel.set()
    result = IppPrinter(sim.uri).print_pdf(DOC, job_name="DOC-1234", cancel=cancel)
    assert result.outcome is PrintOutcome.CANCELED and result.job_id is None and result.pages_printed == 0
    assert not list(sim.jobs.glob("*.pdf"))


def test_timeout_aborts_with_the_pages_that_came_out(sim_printer: SimFactory) -> None:
    sim = sim_printer(page_delay=1.0)  # 3 pages need 3 s; the kiosk gives 1.5 s
    result = IppPrinter(sim.uri, poll_interval=0.1).print_pdf(DOC, job_name="DOC-1234", timeout=1.5)
    assert result.outcome is PrintOutcome.ABORTED and result.reasons[0] == "timeout"
    # How many pages made it depends on the machine's speed; the count must match the tray exactly.
    assert result.pages_printed == len(tray_pages(sim, result.job_id)) < 3


def test_busy_printer_is_retried_until_the_first_job_ends(sim_printer: SimFactory) -> None:
    sim = sim_printer(page_delay=0.3)
    first: list[PrintOutcome] = []
    printing = threading.Event()
    worker = threading.Thread(
        target=lambda: first.append(
            IppPrinter(sim.uri, poll_interval=0.1)
            .print_pdf(DOC, job_name="first", timeout=30, on_progress=lambda _: printing.set())
            .outcome
        )
    )
    worker.start()
    assert printing.wait(10)  # the first job is on the printer: ippeveprinter answers server-error-busy
    second = IppPrinter(sim.uri, poll_interval=0.1).print_pdf(DOC, job_name="second", timeout=30)
    worker.join(timeout=30)
    assert first == [PrintOutcome.COMPLETED]
    assert second.outcome is PrintOutcome.COMPLETED and second.job_id == 2


def test_raster_only_printer_gets_pwg_raster_identical_to_poppler(sim_printer: SimFactory) -> None:
    from firmware_sim.printer.pwg_raster import read_pwg_pages
    from kiosk.devices.printer.render import render_gray_pages

    sim = sim_printer(formats=("image/pwg-raster",))
    result = IppPrinter(sim.uri, poll_interval=0.1).print_pdf(DOC, job_name="DOC-1234", timeout=60)
    assert result.outcome is PrintOutcome.COMPLETED
    spooled = sim.jobs / f"{result.job_id}-doc-1234.pwg"
    pages = list(read_pwg_pages(spooled.read_bytes()))
    expected = render_gray_pages(DOC, dpi=300)
    assert [(p.width, p.height, p.dpi) for p in pages] == [(e.width, e.height, 300) for e in expected]
    assert all(p.pixels == e.pixels for p, e in zip(pages, expected, strict=True))
    assert len(tray_pages(sim, result.job_id)) == 3


def test_two_copies_count_every_impression(sim_printer: SimFactory) -> None:
    sim = sim_printer()
    seen: list[PrintProgress] = []
    printer = IppPrinter(sim.uri, poll_interval=0.1)
    result = printer.print_pdf(make_pdf("DOC-8", 2), job_name="DOC-8", copies=2, on_progress=seen.append)
    assert (result.outcome, result.pages_printed, result.pages_total) == (PrintOutcome.COMPLETED, 4, 4)
    assert len(tray_pages(sim, result.job_id)) == 4 and seen[-1].pages_total == 4
    with pytest.raises(ValueError, match="copies"):
        IppPrinter(sim.uri).print_pdf(DOC, job_name="x", copies=0)
