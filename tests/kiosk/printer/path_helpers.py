"""Printing one copy the way the kiosk does (steps.print_all with a real journal) on a path to the
simulated printer: straight to it, or through a CUPS queue in front of it. The sim's tray is the truth."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from printer_helpers import make_pdf

from firmware_sim.printer.cupsd import CupsServer
from firmware_sim.printer.ippeve import PrinterSim
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow import steps
from kiosk.journal.store import DocRecord, Journal
from kiosk.staff.diagnostics import Diagnostics
from relay_client import IssuedDocument

FEE = 300


@dataclass
class Route:
    """One path to the simulated printer: ``uri`` is what the kiosk is configured with."""

    name: str  # direct | cups
    sim: PrinterSim
    uri: str
    cups: CupsServer | None = None
    queue: str = ""

    def printer(self, **options: float) -> IppPrinter:
        return IppPrinter(
            self.uri,
            poll_interval=options.pop("poll_interval", 0.1),
            unavailable_grace=options.pop("unavailable_grace", 1.0),
            stop_wait=options.pop("stop_wait", 8.0),
            request_timeout=options.pop("request_timeout", 2.0),
            through_cups=self.cups is not None,
        )

    def tray(self) -> list[Path]:
        return sorted(self.sim.tray.iterdir()) if self.sim.tray.exists() else []


@dataclass(frozen=True)
class Copy:
    record: DocRecord
    fee_kept: int
    seconds: float
    tray_items: tuple[tuple[int, int], ...]  # staff's "take it from the tray" items: (pages out, of pages)


def print_copy(printer: IppPrinter, journal_path: Path, doc_id: str, pages: int, timeout: float = 30) -> Copy:
    """Print one copy of ``pages`` pages through the kiosk's print step; its journal record afterwards."""
    journal = Journal(journal_path)
    try:
        txn = f"T-{doc_id}"
        journal.begin(txn)
        journal.add_document(txn, doc_id, 0, 0, FEE, pages)
        doc = IssuedDocument(doc_id, 0, 0, "juminhyo", pages, "", make_pdf(doc_id, pages), "")
        started = time.monotonic()
        steps.print_all(printer, journal, (doc,), lambda _d, _t: None, threading.Event(), timeout)
        seconds = time.monotonic() - started
        record = journal.transaction(txn)
        assert record is not None
        fee = journal.balance(txn).printed_fees
        items = tuple(
            (i.yen, i.other) for i in Diagnostics(journal).open_items() if i.kind == "partial_print"
        )
        return Copy(record.documents[0], fee, seconds, items)
    finally:
        journal.close()


def when_sheets(
    route: Route, count: int, action: Callable[[], None], *, within: float = 30
) -> threading.Thread:
    """Run ``action`` (on a thread) as soon as ``count`` sheets lie in the tray."""

    def watch() -> None:
        until = time.monotonic() + within
        while len(route.tray()) < count and time.monotonic() < until:
            time.sleep(0.02)
        action()

    threading.Thread(target=watch, daemon=True).start()


def settles(printer: IppPrinter, within: float = 20) -> bool:
    """Whether every given-up job is confirmed dead within ``within`` seconds."""
    until = time.monotonic() + within
    while printer.settle_given_up():
        if time.monotonic() > until:
            return False
        time.sleep(0.3)
    return True


def tray_stays(route: Route, count: int, seconds: float) -> bool:
    """Whether the tray keeps exactly ``count`` sheets for ``seconds`` (nothing printed after giving up)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if len(route.tray()) != count:
            return False
        time.sleep(0.1)
    return True
