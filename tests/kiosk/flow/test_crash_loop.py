"""The crash test: a real ``kiosk-harness play juminhyo`` process is SIGKILLed right after each journal
point of
the happy path in turn (``--crash-at N``), then the kiosk is restarted on the same journal and
the same center data directory so recovery runs. After each: the money balances (inserted = fees of
printed documents + change + refunds + money owed to the resident for staff), the center's reconcile
view agrees with the journal, and no document went to the printer twice (counted in the printer's spool
and tray, not taken from the journal).

The mock center lives inside the kiosk process (``harness.sim`` always starts its own), so it dies with
the kiosk; its data directory (ledger, PKI, card registry) is what survives, as a real center would.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from crash_play import Run, fresh_work, play, printed_jobs, spooled_name, tray_pages

from firmware_sim.card.image import CardImage
from firmware_sim.printer.dnssd import DnssdServices
from harness.cli import SCENARIOS
from harness.scenario import load_scenario
from harness.sim import SimKiosk
from kiosk.flow.recovery import recover
from kiosk.journal.store import Balance, Journal, TxnRecord
from relay_client import Reconcile

pytestmark = [pytest.mark.slow, pytest.mark.interop]
SCENARIO = "juminhyo"  # one 200-yen copy (2 pages), paid with a 500-yen coin: 300 change
# Point 18 (document:job) is the printer's job id; points 19-20 (document:page) are the pages the printer
# confirmed: a crash after page 1 is a failed copy
# reported with 1 page (fee owed back); after page 2 the copy is printed (the resident has it).
SETUP = load_scenario(SCENARIOS / f"{SCENARIO}.toml").setup
# The journal points of that transaction, in order. If the flow changes, update this list: every
# point in it is a crash case below.
POINTS = (
    "begin",
    "key:session",
    "stage:session",
    "key:authenticate",
    "stage:authenticated",
    "key:order",
    "stage:ordered",
    "key:issue",
    "document:issued",
    "stage:issued",
    "stage:paying",
    "cash:counter",  # a fresh journal: where the acceptors' event buffers stand, before they are enabled
    "money:credit",
    "money:change",
    "stage:paid_local",
    "key:payment",
    "stage:paid",
    "document:printing",
    "document:job",
    "document:page",
    "document:page",
    "document:printed",
    "report:pending",
    "key:report",
    "report:reported",
    "finish",
)


@pytest.fixture(scope="module")
def dnssd() -> Iterator[None]:
    """Keep D-Bus/Avahi up for the whole module instead of once per kiosk process."""
    services = DnssdServices()
    services.ensure()
    yield
    services.stop()


@pytest.fixture(scope="module")
def template(dnssd: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kiosk work directory whose center data, card and terminal exist (made once; copied per case)."""
    path = tmp_path_factory.mktemp("crash-template")
    with SimKiosk(path, SETUP):
        pass
    return path


@pytest.fixture(scope="module")
def baseline(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The happy path once, uninterrupted, with its journal points counted."""
    return play(SCENARIO, fresh_work(template, tmp_path_factory.mktemp("crash-baseline") / "kiosk"))


def test_the_happy_path_writes_the_listed_journal_points(baseline: Run) -> None:
    assert baseline.returncode == 0, baseline.tail()
    assert "outcome: done message=take_certificate" in baseline.stdout
    assert baseline.points == POINTS


@pytest.mark.parametrize("n", range(1, len(POINTS) + 1), ids=lambda n: f"{n:02}-{POINTS[n - 1]}")
def test_sigkill_at_every_journal_point_then_recovery_settles(n: int, template: Path, tmp_path: Path) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    run = play(SCENARIO, work, crash_at=n)
    assert run.returncode == -signal.SIGKILL, run.tail()
    assert run.points == POINTS[:n], run.tail()
    with SimKiosk(work, SETUP) as kiosk:  # the restart: recovery runs on start
        (txn,) = kiosk.journal.transactions()
        assert [r.txn_id for r in kiosk.recovered] == ([txn.id] if n < len(POINTS) else [])
        ledger = kiosk.client.reconcile(txn.started_at - timedelta(hours=1))
        _check_money(kiosk.journal, txn)
        _check_ledger(kiosk.journal, txn, ledger)
        _check_printed_once(txn, work / "spool")
        assert recover(kiosk.journal, kiosk.client) == []  # nothing left for a second restart


def test_after_a_crash_mid_print_the_restarted_kiosk_serves_the_next_resident(
    template: Path, tmp_path: Path
) -> None:
    work = fresh_work(template, tmp_path / "kiosk")
    crashed = play(SCENARIO, work, crash_at=POINTS.index("document:printing") + 1)
    assert crashed.returncode == -signal.SIGKILL, crashed.tail()
    again = play(SCENARIO, work)  # a real process restart: recovery, then the next resident
    assert again.returncode == 0, again.tail()
    journal = Journal(work / "journal.sqlite")
    first, second = journal.transactions()
    assert f"recovered {first.id}: reported, owed 200" in again.stdout, again.tail()
    assert (first.outcome, [d.state for d in first.documents]) == ("recovered_reported", ["failed"])
    assert (second.outcome, [d.state for d in second.documents]) == ("completed", ["printed"])
    assert all(journal.balance(t.id).settled for t in (first, second))
    new_doc = spooled_name(second.documents[0].document_id)
    assert printed_jobs(work / "spool") == {new_doc: [printed_jobs(work / "spool")[new_doc][0]]}


def _check_money(journal: Journal, txn: TxnRecord) -> None:
    balance = journal.balance(txn.id)
    assert txn.finished and balance.settled, (txn, balance)
    assert balance.inserted in (0, 500), balance  # the one coin, journaled once
    assert balance.change in (0, 300) and balance.refunded == 0, balance


def _check_ledger(journal: Journal, txn: TxnRecord, ledger: Reconcile) -> None:
    orders = {o.order_id: o for o in ledger.orders}
    balance = journal.balance(txn.id)
    if txn.order_id is None:  # crashed before the order: no money taken, nothing issued
        assert balance.inserted == 0 and not txn.documents, (txn, balance)
        assert all(o.session_id != txn.session_id for o in orders.values())
        return
    order = orders[txn.order_id]
    docs = {d.document_id: d.state for d in txn.documents}
    if order.paid > 0:
        assert order.paid == txn.fee and order.result_reported, order
        assert {d.document_id: d.state for d in order.documents} == docs, (order, txn)
        assert set(docs.values()) <= {"printed", "failed"}
        assert order.refund_due == balance.refunded + balance.refund_owed, (order, balance)
    else:  # never paid at the center: the session was cancelled, every coin is owed back
        assert order.state == "cancelled" and not order.result_reported, order
        assert "printed" not in docs.values() and balance.printed_fees == 0, (order, txn)
        assert balance.change + balance.refund_owed == balance.inserted, balance


def _check_printed_once(txn: TxnRecord, spool: Path) -> None:
    jobs = printed_jobs(spool)
    assert all(len(ids) == 1 for ids in jobs.values()), jobs  # no document sent twice
    pages = tray_pages(spool)
    ours = {spooled_name(d.document_id): d for d in txn.documents}
    assert set(pages) <= set(ours), pages
    for doc_id, doc in ours.items():
        out = pages.get(doc_id, 0)
        if doc.state == "printed":  # every page journaled as out (also when recovery decided it)
            assert out == doc.pages == doc.pages_printed, (doc, pages)
        else:  # the journal never claims a page that did not come out (the printer may finish one more
            # after the kiosk died), and a copy cut short is reported with its exact journaled pages
            assert (doc.pages_printed or 0) <= out <= doc.pages and (doc.pages_printed or 0) < doc.pages, (
                doc,
                pages,
            )


# --- a card locked before it reaches the kiosk (not a crash case; it shares the module's simulators) --
def test_locked_card_sends_the_resident_to_the_city_hall_and_charges_nothing(
    dnssd: None, tmp_path: Path
) -> None:
    work = tmp_path / "kiosk"
    run = play("locked_card", work)
    assert run.returncode == 0, run.tail()
    assert "message=go_to_city_hall reason=pin_locked staff=P01" in run.stdout, run.tail()
    assert "-> pin" not in run.stdout  # never asked for a PIN it cannot check
    assert CardImage.load(work / "card.json").tries_left("auth") == 0  # still locked, no VERIFY sent
    journal = Journal(work / "journal.sqlite")
    (txn,) = journal.transactions()
    assert txn.finished and (txn.outcome, txn.staff_code) == ("pin_locked", "P01")
    assert txn.session_id is None and txn.order_id is None and not txn.documents
    assert journal.balance(txn.id) == Balance(0, 0, 0, 0, 0)
    assert not printed_jobs(work / "spool") and not tray_pages(work / "spool")
