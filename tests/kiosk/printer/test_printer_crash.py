"""Issue #17 part 2: a real ``kiosk-harness play`` process is SIGKILLed while its copy prints; the
simulated printer (its own process group) outlives it and goes on. The restarted kiosk asks the printer
what became of the journaled job (Get-Job-Attributes), waits for it or kills it, and reports to the
center and keeps the fee by what came out. The tray is the truth; nothing is printed twice; the books
balance; the center's ledger agrees with the journal.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from crash_play import Run, end_printer, fresh_work, play, printed_jobs, spooled_name, tray_pages

from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import PrinterSim
from harness.cli import SCENARIOS
from harness.clock import service_time
from harness.scenario import load_scenario
from harness.sim import SimKiosk
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow.recovery import Recovered, recover
from kiosk.journal.store import Journal
from mock_relay.faults import JST
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki
from relay_client import IssuanceClient, Reconcile, RetryPolicy
from relay_client import Timeouts as HttpTimeouts

pytestmark = [pytest.mark.slow, pytest.mark.interop]
FEE = 200  # juminhyo: one 200-yen copy of 2 pages, paid with a 500-yen coin (300 change)


@pytest.fixture(scope="module")
def template(dnssd: DnssdServices, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory whose center data, card and terminal exist (made once; copied per case)."""
    path = tmp_path_factory.mktemp("print-crash-template")
    with SimKiosk(path, load_scenario(SCENARIOS / "juminhyo.toml").setup):
        pass
    return path


@pytest.fixture(scope="module")
def points(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """The journal points of the uninterrupted happy path."""
    run = play("juminhyo", fresh_work(template, tmp_path_factory.mktemp("print-crash-baseline") / "kiosk"))
    assert run.returncode == 0, run.tail()
    return run.points


@contextlib.contextmanager
def crashed(scenario: str, work: Path, crash_at: int) -> Iterator[Run]:
    """A run SIGKILLed after journal point ``crash_at``; its printer lives on until the block ends."""
    run = play(scenario, work, crash_at=crash_at, leave_printer=True)
    try:
        assert run.returncode == -signal.SIGKILL and run.printer_uri, run.tail()
        yield run
    finally:
        end_printer(run.printer_pid, run.printer_uri)


@dataclass
class Restarted:
    """The restarted kiosk: its journal, its center client, and what recovery did at start-up."""

    journal: Journal
    client: IssuanceClient
    recovered: list[Recovered]

    def reconcile(self) -> Reconcile:
        (txn,) = self.journal.transactions()
        return self.client.reconcile(txn.started_at - timedelta(hours=1))


@contextlib.contextmanager
def restart(work: Path, printer_uri: str, *, job_wait: float = 60.0) -> Iterator[Restarted]:
    """The kiosk's restart on the same journal, center data and printer: recovery asks the printer."""
    with contextlib.ExitStack() as stack:
        server = RelayServer(work / "center").start()
        stack.callback(server.stop)
        server.clock.set(service_time(datetime.now(JST)))  # as the killed run chose it
        terminal = CenterPki.open(work / "center" / "center").issue_terminal("T-0001", work / "terminal")
        client = IssuanceClient(
            server.api_url,
            terminal / "terminal.pem",
            terminal / "terminal.key",
            terminal / "center-ca.pem",
            retry=RetryPolicy(attempts=2, base=0.05, cap=0.2, deadline=10.0),
            timeouts=HttpTimeouts(connect=3.0, read=15.0),
        )
        stack.callback(client.close)
        journal = Journal(work / "journal.sqlite")
        stack.callback(journal.close)
        printer = IppPrinter(printer_uri, poll_interval=0.1, stop_wait=5.0)
        stack.callback(printer.close)
        yield Restarted(journal, client, recover(journal, client, printer, job_wait=job_wait))


def check_books(kiosk: Restarted, spool: Path) -> tuple[str, int, int]:
    """Money and pages as the paper says; the center agrees; nothing sent twice.
    Returns (copy state, pages journaled, pages in the tray)."""
    (txn,) = kiosk.journal.transactions()
    (doc,) = txn.documents
    jobs = printed_jobs(spool)
    assert all(len(ids) == 1 for ids in jobs.values()), jobs  # nothing printed twice
    out = tray_pages(spool).get(spooled_name(doc.document_id), 0)
    balance = kiosk.journal.balance(txn.id)
    assert txn.finished and balance.settled, (txn, balance)
    assert balance.printed_fees == (FEE if doc.state == "printed" else 0)
    (order,) = [o for o in kiosk.reconcile().orders if o.order_id == txn.order_id]
    assert {d.document_id: d.state for d in order.documents} == {doc.document_id: doc.state}
    assert order.refund_due == balance.refunded + balance.refund_owed
    return doc.state, doc.pages_printed or 0, out


def test_the_printer_finishes_while_the_kiosk_is_down(
    template: Path, points: tuple[str, ...], tmp_path: Path
) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    first_page = points.index("document:page") + 1  # killed right after sheet 1 was confirmed
    with crashed("juminhyo", work, first_page) as run, restart(work, run.printer_uri) as kiosk:
        state, journaled, out = check_books(kiosk, work / "spool")
        assert (state, journaled, out) == ("printed", 2, 2)  # the printer's word: both pages came out
        assert kiosk.recovered[0].kiosk_refund_due == 0
        assert "2/2 page(s) as the printer says" in kiosk.recovered[0].line()  # the start-up report's line


def test_a_jam_at_page_2_while_the_kiosk_is_down(
    template: Path, points: tuple[str, ...], tmp_path: Path
) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    first_page = points.index("document:page") + 1
    with crashed("printer_jam", work, first_page) as run, restart(work, run.printer_uri) as kiosk:
        state, journaled, out = check_books(kiosk, work / "spool")
        assert (state, journaled, out) == ("failed", 1, 1)  # the held job was killed: 1 sheet, fee owed
        assert kiosk.recovered[0].refund_owed == 500 - 300  # the fee back, for staff (nobody at the kiosk)
        assert "1/2 page(s) as the printer says" in kiosk.recovered[0].line()


@pytest.mark.parametrize("point", ["document:printing", "document:job"])
def test_killed_before_the_document_was_sent(
    template: Path, points: tuple[str, ...], tmp_path: Path, point: str
) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    with crashed("juminhyo", work, points.index(point) + 1) as run:
        with restart(work, run.printer_uri) as kiosk:
            state, journaled, out = check_books(kiosk, work / "spool")
            assert (state, journaled, out) == ("failed", 0, 0)  # the job never got its document: killed


def test_a_printer_that_forgot_the_job_leaves_the_journal_figure_unconfirmed(
    template: Path, points: tuple[str, ...], tmp_path: Path
) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    first_page = points.index("document:page") + 1
    with crashed("printer_jam", work, first_page) as run:
        # the printer restarts while the kiosk is down: its history is gone
        end_printer(run.printer_pid, run.printer_uri)
        port = int(run.printer_uri.rsplit(":", 1)[1].split("/")[0])
        with PrinterSim(work / "spool", port=port), restart(work, run.printer_uri) as kiosk:
            state, journaled, out = check_books(kiosk, work / "spool")
            assert (state, journaled, out) == ("failed", 1, 1)
            (txn,) = kiosk.journal.transactions()
            assert (txn.documents[0].error or "").startswith("unconfirmed")  # staff check the tray
