"""Crash recovery: on start, finish every transaction the journal left unfinished, against the
center's reconcile view.

Rules: nothing is printed again (documents lived in memory only). A copy caught mid-print is judged
by what the printer says became of its job (the journaled job id, or the printer's job of the copy's
name if the kiosk died before journaling it; a job still printing is waited for, then killed): every
page out = printed (the resident has it, the fee is kept); fewer = failed, with the printer's page
count reported to the center (an incomplete certificate is no certificate: its fee is owed back). A
printer that no longer knows the job (or none given) leaves the journaled pages (one journal point per
page the printer confirmed) as the figure, and a copy short of its pages is marked unconfirmed for
staff to check the tray (error ``unconfirmed:kiosk_restart``). A result not yet reported is reported
with the SAME idempotency key and a body rebuilt from the journal alone; an unpaid session is
cancelled; money the kiosk still holds for the resident is recorded as owed, for staff (nobody is at
the kiosk to take it). That includes money the acceptors took while the kiosk was down: the cash unit
credits it to the transaction that was taking money as it opens, before recovery runs
(``kiosk.devices.cash.counters``); ``cash_lines`` says so in the start-up report.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from kiosk.devices.printer.status import JobFate
from kiosk.flow.outcomes import flagged_code
from kiosk.flow.ports import CenterPort
from kiosk.flow.steps import outcomes_from_journal, staff_flag
from kiosk.journal.store import DocRecord, Journal, TxnRecord
from kiosk.money import UNATTENDED_STAFF_CODE, OpenReport, TakenWhileDown
from relay_client import ReconcileOrder, RelayError

log = logging.getLogger(__name__)
_PAID_STATES = {"paid", "completed", "partially_failed", "failed"}
JOB_WAIT = 120.0  # seconds recovery waits for a job still printing before it kills it


class PrinterJobs(Protocol):
    """What recovery asks the printer (``IppPrinter.job_fate``)."""

    def job_fate(self, job_id: int | None, job_name: str, *, wait: float) -> JobFate:
        """What became of the job (``job_id`` None: found by its name); never raises."""


@dataclass(frozen=True)
class Recovered:
    """What recovery did with one transaction."""

    txn_id: str
    action: str  # reported | cancelled | finished
    refund_owed: int
    center_refund_due: int | None  # the center's reconcile view before recovery (None: no order there)
    kiosk_refund_due: int  # fees of copies not printed, by the journal
    staff_code: str = ""  # as journaled at finish (RC1/RC2, +M03/+M04 for records faults)
    pages: tuple[str, ...] = ()  # what became of each copy caught mid-print, and who said so

    def line(self) -> str:
        """The start-up report's line (transaction ids, yen and pages only). Never raises."""
        text = f"recovered {self.txn_id}: {self.action}, owed {self.refund_owed} yen"
        return text + "".join(f"; {page}" for page in self.pages)


def recover(
    journal: Journal, center: CenterPort, printer: PrinterJobs | None = None, *, job_wait: float = JOB_WAIT
) -> list[Recovered]:
    """Finish the unfinished transactions; ``printer`` is asked about copies caught mid-print (None:
    the journal's figures, as unconfirmed when the printer had the job). A transaction whose center
    step fails stays unfinished (tried again at the next start). Raises nothing for center errors;
    JournalWriteError if the journal cannot be written."""
    unfinished = journal.transactions(unfinished_only=True)
    if not unfinished:
        return []
    since = min(t.started_at for t in unfinished) - timedelta(hours=1)
    try:
        view = {o.order_id: o for o in center.reconcile(since).orders}
    except RelayError as exc:
        log.warning("recovery postponed: reconcile failed: %s", exc)
        return []
    done = []
    for txn in unfinished:
        try:
            pages = _settle_documents(journal, txn, printer, job_wait)
            done.append(dataclasses.replace(_recover_one(journal, center, txn, view), pages=tuple(pages)))
        except RelayError as exc:
            log.warning("recovery of %s postponed: %s", txn.id, exc)
    return done


def _recover_one(
    journal: Journal, center: CenterPort, txn: TxnRecord, view: dict[str, ReconcileOrder]
) -> Recovered:
    order = view.get(txn.order_id or "")
    paid = order is not None and (order.paid > 0 or order.state in _PAID_STATES)
    center_due = order.refund_due if order is not None and order.result_reported else None
    if paid and txn.order_id:
        action = "finished"
        if not (order is not None and order.result_reported) and txn.documents:
            journal.report_status(txn.id, "pending")
            center_due = center.report_result(
                txn.order_id,
                outcomes_from_journal(journal, txn.id),
                idempotency_key=journal.key(txn.id, "report"),
            ).refund_due
            action = "reported"
        journal.report_status(txn.id, "reported")
    elif txn.stage == "honseki_registered":  # a 本籍地 利用登録 the center completed: nothing to cancel
        action = "finished"
    else:
        action = "cancelled"
        if txn.session_id:
            center.cancel(txn.session_id, "fault", idempotency_key=journal.key(txn.id, "cancel"))
    balance = journal.balance(txn.id)
    owed = balance.inserted - balance.change - balance.refunded - balance.printed_fees - balance.refund_owed
    if owed > 0:
        journal.refund_owed(txn.id, owed)
    kiosk_due = _kiosk_refund_due(journal, txn.id) if paid else 0
    if paid and center_due is not None and center_due != kiosk_due:  # kept for staff, not only logged
        log.warning(
            "recovered transaction %s: center refund %d, kiosk %d (M04)", txn.id, center_due, kiosk_due
        )
        journal.refund_mismatch(txn.id, center_due, kiosk_due)
    code = flagged_code("RC1" if owed <= 0 else "RC2", staff_flag(journal, txn.id))
    journal.finish(txn.id, f"recovered_{action}", code)
    log.info("recovered transaction %s: %s, owed %d (%s)", txn.id, action, max(owed, 0), code)
    return Recovered(txn.id, action, max(owed, 0), order.refund_due if order else None, kiosk_due, code)


def _kiosk_refund_due(journal: Journal, txn_id: str) -> int:
    """Fees of the copies not printed, by the journal."""
    record = journal.transaction(txn_id)
    return sum(d.unit_fee for d in record.documents if d.state != "printed") if record else 0


def _settle_documents(
    journal: Journal, txn: TxnRecord, printer: PrinterJobs | None, job_wait: float
) -> list[str]:
    """Give every copy left issued/printing its final state (never printed twice): from the printer's
    word on its job when it knows it, else from the journaled pages. Returns one line per copy caught
    mid-print saying what came out and who said so. Raises JournalWriteError."""
    said: list[str] = []
    for doc in txn.documents:
        if doc.state not in ("issued", "printing"):
            continue
        fate = _ask_printer(printer, doc, job_wait)
        out = doc.pages_printed or 0
        error = "kiosk_restart"
        if fate is not None and fate.known and fate.pages is not None:
            out = doc.pages if fate.completed else min(fate.pages, doc.pages)
            for page in range(doc.pages_printed or 0, out):  # the pages the crash kept from the journal
                journal.page_printed(doc.document_id, page + 1)
        elif fate is not None and out < doc.pages:  # the printer had the job but cannot say: check the tray
            error = "unconfirmed:kiosk_restart"
        if fate is not None and not fate.settled:
            error += "+unsettled"
        if doc.state == "printing" and out >= doc.pages and not error.startswith("unconfirmed"):
            journal.document_state(doc.document_id, "printed", pages_printed=doc.pages)
        else:
            journal.document_state(doc.document_id, "failed", pages_printed=out, error=error)
        if doc.state == "printing":
            said.append(_pages_said(doc, out, fate))
    return said


def _pages_said(doc: DocRecord, out: int, fate: JobFate | None) -> str:
    if fate is not None and fate.known and fate.pages is not None:
        source = "as the printer says"
    elif fate is not None:
        source = "by the journal, unconfirmed: the printer no longer knows the job"
    else:
        source = "by the journal"
    return f"copy {doc.document_id}: {out}/{doc.pages} page(s) {source}"


def _ask_printer(printer: PrinterJobs | None, doc: DocRecord, job_wait: float) -> JobFate | None:
    if printer is None or doc.state != "printing":
        return None
    fate = printer.job_fate(doc.printer_job, doc.document_id, wait=job_wait)
    log.info("recovery: printer job %s of %s: %s", doc.printer_job, doc.document_id, fate)
    return fate


def cash_lines(found: OpenReport, recovered: Sequence[Recovered]) -> list[str]:
    """The start-up report's lines for what the cash unit found as it opened: money the acceptors took
    while the kiosk was down (whose it is and how recovery settled it) and what it must say (resets,
    baselines). No personal data: transaction ids and yen only. Never raises."""
    settled = {r.txn_id: r for r in recovered}
    lines = []
    for taken in found.taken:
        amount = _amount(taken)
        if taken.unattended:
            lines.append(
                f"cash: {amount} inserted while the kiosk was down and no transaction was taking money,"
                f" owed for staff ({UNATTENDED_STAFF_CODE}, record {taken.txn_id})"
            )
            continue
        done = settled.get(taken.txn_id)
        if done is None:
            what = "credited; its recovery is postponed"
        else:
            what = f"credited{' and owed back' if done.refund_owed else ''} ({done.staff_code})"
        lines.append(f"{taken.txn_id}: {amount} inserted while the kiosk was down, {what}")
    return lines + [f"cash: {note}" for note in found.notes]


def _amount(taken: TakenWhileDown) -> str:
    if not taken.lost:
        return f"{taken.yen} yen"
    return f"at least {taken.yen} yen ({taken.lost} more events fell off the {taken.device} buffer: unknown)"
