"""Crash recovery: on start, finish every transaction the journal left unfinished, against the
center's reconcile view.

Rules: nothing is printed again (documents lived in memory only). A copy caught mid-print is judged by
its journaled pages (one journal point per page the printer confirmed): every page out = printed (the
resident has it, the fee is kept); fewer = failed, with the exact page count reported to the center
(an incomplete certificate is no certificate: its fee is owed back). A result not yet reported is
reported with the SAME idempotency key and a body rebuilt from the journal alone; an unpaid session is
cancelled; money the kiosk still holds for the resident is recorded as owed, for staff (nobody is at
the kiosk to take it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from kiosk.flow.outcomes import flagged_code
from kiosk.flow.ports import CenterPort
from kiosk.flow.steps import outcomes_from_journal, staff_flag
from kiosk.journal.store import Journal, TxnRecord
from relay_client import ReconcileOrder, RelayError

log = logging.getLogger(__name__)
_PAID_STATES = {"paid", "completed", "partially_failed", "failed"}


@dataclass(frozen=True)
class Recovered:
    """What recovery did with one transaction."""

    txn_id: str
    action: str  # reported | cancelled | finished
    refund_owed: int
    center_refund_due: int | None  # the center's reconcile view before recovery (None: no order there)
    kiosk_refund_due: int  # fees of copies not printed, by the journal
    staff_code: str = ""  # as journaled at finish (RC1/RC2, +M03/+M04 for records faults)


def recover(journal: Journal, center: CenterPort) -> list[Recovered]:
    """Finish the unfinished transactions. A transaction whose center step fails stays unfinished
    (tried again at the next start). Raises nothing for center errors; JournalWriteError if the
    journal cannot be written."""
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
            done.append(_recover_one(journal, center, txn, view))
        except RelayError as exc:
            log.warning("recovery of %s postponed: %s", txn.id, exc)
    return done


def _recover_one(
    journal: Journal, center: CenterPort, txn: TxnRecord, view: dict[str, ReconcileOrder]
) -> Recovered:
    order = view.get(txn.order_id or "")
    paid = order is not None and (order.paid > 0 or order.state in _PAID_STATES)
    _settle_documents(journal, txn)
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


def _settle_documents(journal: Journal, txn: TxnRecord) -> None:
    """Give every copy left issued/printing its final state from its journaled pages (never printed
    twice). Raises JournalWriteError."""
    for doc in txn.documents:
        if doc.state not in ("issued", "printing"):
            continue
        out = doc.pages_printed or 0
        if doc.state == "printing" and out >= doc.pages:
            journal.document_state(doc.document_id, "printed", pages_printed=doc.pages)
        else:
            journal.document_state(doc.document_id, "failed", pages_printed=out, error="kiosk_restart")
