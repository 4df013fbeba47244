"""The same copy and the same faults on each path a printer comes by: straight to the (simulated)
printer, and through a real CUPS 2.4 queue in front of it (``lpadmin -m everywhere``, opt-in).

Each case ends with money and pages as the paper says (the sim's tray is the truth): a copy is charged
only when the printer confirmed every page; through CUPS nothing is confirmed (the copy is refunded and
staff check the tray); and nothing prints after the kiosk gave up.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from path_helpers import Copy, Route, print_copy, settles, tray_stays, when_sheets

from kiosk.devices.printer.driver import CupsQueueError, IppPrinter

pytestmark = pytest.mark.interop


def expect_failed(route: Route, copy: Copy, fault: str) -> None:
    """A failed copy, refunded, with a staff item to take it from the tray: direct, the journal has the
    tray's page count; through CUPS, it is unconfirmed (0 pages confirmed)."""
    sheets, error, pages = len(route.tray()), copy.record.error or "", copy.record.pages_printed or 0
    assert copy.record.state == "failed" and copy.fee_kept == 0
    if route.name == "direct":
        assert pages == sheets and fault in error and "unconfirmed" not in error
    else:
        assert error.startswith("unconfirmed") and pages == 0
    assert copy.tray_items == ((pages, copy.record.pages),)


def test_a_completed_copy(route: Route, tmp_path: Path) -> None:
    copy = print_copy(route.printer(), tmp_path / "j.sqlite", "DOC-OK", 3)
    assert len(route.tray()) == 3
    if route.name == "direct":
        assert (copy.record.state, copy.record.pages_printed, copy.fee_kept) == ("printed", 3, 300)
        assert copy.tray_items == ()
    else:  # CUPS said completed, but its count is not the paper's: refunded, staff check the tray
        assert (copy.record.state, copy.record.error, copy.fee_kept) == ("failed", "unconfirmed", 0)
        assert copy.tray_items == ((0, 3),)
    assert copy.record.printer_job is not None


@pytest.mark.parametrize(
    ("fault", "options"), [("media-jam", {"jam_at": 2}), ("media-empty", {"paper_left": 1})]
)
def test_a_fault_at_sheet_2(route: Route, tmp_path: Path, fault: str, options: dict[str, int]) -> None:
    route.sim.configure(**options)  # the printer holds the job (fault_hold 300 s): the kiosk must kill it
    printer = route.printer()
    copy = print_copy(printer, tmp_path / "j.sqlite", "DOC-F", 3)
    assert len(route.tray()) == 1
    expect_failed(route, copy, fault)
    assert "unsettled" not in (copy.record.error or "") and printer.settle_given_up() == ()
    assert copy.seconds < 15  # a fault at once, not the job timeout
    assert tray_stays(route, 1, 2.0)


def test_a_stale_fault_after_the_fix_is_forgotten(route: Route, tmp_path: Path) -> None:
    route.sim.configure(jam_at=1, fault_hold=0)  # the printer aborts the job itself; media-jam stays
    printer = route.printer()
    jammed = print_copy(printer, tmp_path / "j.sqlite", "DOC-J", 2)
    assert jammed.record.state == "failed" and not route.tray()
    assert not printer.health().ok
    route.sim.restart()  # the fix: open, clear, close (a jam clears when the printer restarts)
    assert printer.health().ok, printer.health().summary
    again = print_copy(printer, tmp_path / "j2.sqlite", "DOC-J2", 2)
    assert len(route.tray()) == 2
    assert again.record.state == ("printed" if route.name == "direct" else "failed")


def test_power_cut_mid_job_and_back(route: Route, tmp_path: Path) -> None:
    route.sim.configure(page_delay=0.8)
    printer = route.printer()
    when_sheets(route, 1, route.sim.kill)
    copy = print_copy(printer, tmp_path / "j.sqlite", "DOC-P", 3)
    sheets = len(route.tray())
    assert sheets >= 1 and copy.fee_kept == 0 and copy.record.state == "failed"
    if route.name == "direct":  # what the printer confirmed before it went (it may have put out more)
        assert (copy.record.pages_printed or 0) <= sheets
    assert "unsettled" in (copy.record.error or "")  # nobody confirmed the job dead: no new job yet
    assert (copy.record.error or "").startswith("unconfirmed")  # staff check the tray
    assert copy.tray_items == ((copy.record.pages_printed or 0, 3),)
    assert printer.settle_given_up() != ()
    route.sim.start()  # power back (same port, same tray)
    assert settles(printer)
    assert tray_stays(route, sheets, 3.0)
    assert printer.health().ok


def test_cups_queue_refused_by_default_naming_the_printer_behind(route: Route) -> None:
    if route.name == "direct":
        assert IppPrinter(route.uri).check_path().is_cups_queue is False
        return
    with pytest.raises(CupsQueueError) as refused:
        IppPrinter(route.uri).check_path()
    message = str(refused.value)
    assert route.sim.uri in message and "CUPS 2.4" in message and "through_cups" in message
    assert not IppPrinter(route.uri).health().ok


@pytest.mark.parametrize("route", ["cups"], indirect=True)
def test_cups_queue_paused_mid_job_then_resumed(route: Route, tmp_path: Path) -> None:
    assert route.cups is not None
    route.sim.configure(page_delay=0.8)
    printer = route.printer()
    paused: list[float] = []

    def pause() -> None:
        assert route.cups is not None
        route.cups.pause(route.queue)
        paused.append(time.monotonic())

    when_sheets(route, 1, pause)
    copy = print_copy(printer, tmp_path / "j.sqlite", "DOC-Z", 3, timeout=60)
    assert paused and time.monotonic() - paused[0] < 15  # a fault at once, not the 60 s job timeout
    assert copy.record.state == "failed" and copy.fee_kept == 0
    assert (copy.record.error or "").startswith("unconfirmed") and "paused" in (copy.record.error or "")
    assert copy.tray_items == ((0, 3),)
    sheets = len(route.tray())
    route.cups.resume(route.queue)
    assert tray_stays(route, sheets, 5.0)  # CUPS does not send the given-up job again
    assert sheets < 3


@pytest.mark.parametrize("route", ["cups"], indirect=True)
def test_cupsd_stopped_mid_job(route: Route, tmp_path: Path) -> None:
    assert route.cups is not None
    route.sim.configure(page_delay=0.8)
    printer = route.printer()
    when_sheets(route, 1, route.cups.stop)
    copy = print_copy(printer, tmp_path / "j.sqlite", "DOC-S", 3, timeout=60)
    assert copy.record.state == "failed" and copy.fee_kept == 0
    assert (copy.record.error or "").startswith("unconfirmed") and copy.tray_items == ((0, 3),)
    sheets = len(route.tray())
    assert tray_stays(route, sheets, 3.0)  # the printer behind the queue was told to stop
    route.cups.start()
    assert settles(printer)
    assert tray_stays(route, sheets, 5.0)  # and cupsd, back, does not send it again
