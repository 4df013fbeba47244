"""The blocking work of each step. Each function runs on a Runner thread, journals before and after
money and document steps, and raises on failure (the flow turns exceptions into outcomes).

``Txn`` is the one transaction's data; it lives in memory only and is dropped when the flow wipes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.devices.printer.status import PrintProgress
from kiosk.flow.outcomes import CALL_STAFF
from kiosk.flow.ports import CardPort, CardRead, CashPort, CenterPort, PrinterPort
from kiosk.flow.view import Outcome
from kiosk.journal.store import DISK_FULL_STAFF_CODE, Journal, JournalWriteError
from kiosk.money import ID_CONFLICT_STAFF_CODE, DispenseError, FaultKind, PayoutPurpose
from relay_client import (
    Authenticated,
    CopyOutcome,
    HonsekiRegistration,
    IssuedDocument,
    Order,
    OrderItem,
    Session,
)
from relay_client.fields import OptionValue

log = logging.getLogger(__name__)
# The journal is out of space (``kiosk.journal.space``): no new resident, no money taken (staff: J02).
JOURNAL_FULL = Outcome(CALL_STAFF, "journal_full", DISK_FULL_STAFF_CODE)


class JournalFull(JournalWriteError):
    """The journal is out of space: the transaction must not take money."""


@dataclass(frozen=True)
class Ports:
    """The real parts (or fakes) the flow drives."""

    card: CardPort
    center: CenterPort
    cash: CashPort
    printer: PrinterPort


@dataclass
class Txn:
    """One transaction's working data (ids, menu, documents in memory). Never journaled whole."""

    id: str
    language: str = "ja"
    route: str = "residence"
    card: CardRead | None = None
    session: Session | None = None
    auth: Authenticated | None = None
    chosen: str = ""
    options: tuple[tuple[str, OptionValue], ...] = ()
    copies: int = 1
    order: Order | None = None
    documents: tuple[IssuedDocument, ...] = ()
    accepting: bool = False
    credited: int = 0
    change: int = 0
    paid: bool = False
    collected: int = 0  # the fee kept after change, before the center recorded the payment
    owed: int = 0


@dataclass(frozen=True)
class CopyPrinted:
    document_id: str
    printed: bool
    pages_printed: int
    error: str | None


@dataclass(frozen=True)
class Settled:
    """Money given back by a step: paid out now, and owed (recorded for staff)."""

    refunded: int
    owed: int


def open_session(center: CenterPort, journal: Journal, txn: Txn, cancel: threading.Event) -> Session:
    """POST /v1/sessions with a journaled key; the session id is journaled. Raises CenterError."""
    session = center.open_session(
        language=txn.language, idempotency_key=journal.key(txn.id, "session"), cancel=cancel
    )
    journal.stage(txn.id, "session", session_id=session.session_id)
    return session


def authenticate(
    center: CenterPort, card: CardPort, journal: Journal, txn: Txn, cancel: threading.Event
) -> Authenticated:
    """The card signs the center's challenge; then the card is powered off (its PIN state cleared).

    Raises CenterError, CardError subclasses, ValueError.
    """
    assert txn.session is not None and txn.card is not None
    try:
        auth = center.authenticate(
            txn.session,
            txn.card.certificate_der,
            card.sign,
            txn.route,
            idempotency_key=journal.key(txn.id, "authenticate"),
            cancel=cancel,
        )
    finally:
        card.power_off()
    if auth.session_id != txn.session.session_id:  # never go on with another session's answer
        raise ValueError("authenticated session differs from the open one")
    journal.stage(txn.id, "authenticated")
    return auth


def register_honseki(
    center: CenterPort, journal: Journal, txn: Txn, cancel: threading.Event
) -> HonsekiRegistration:
    """本籍地 利用登録 with a journaled key (a retry after a crash cannot file twice). Raises CenterError."""
    assert txn.auth is not None
    registration = center.register_honseki(
        txn.auth, idempotency_key=journal.key(txn.id, "honseki_registration"), cancel=cancel
    )
    journal.stage(txn.id, "honseki_registered")
    return registration


def create_order(center: CenterPort, journal: Journal, txn: Txn, cancel: threading.Event) -> Order:
    """Price the chosen item. Raises CenterError."""
    assert txn.auth is not None
    item = OrderItem(txn.chosen, txn.copies, dict(txn.options) or None)
    order = center.create_order(txn.auth, [item], idempotency_key=journal.key(txn.id, "order"), cancel=cancel)
    journal.stage(txn.id, "ordered", order_id=order.order_id, fee=order.total, cert_type=txn.chosen)
    return order


def issue(
    center: CenterPort, journal: Journal, txn: Txn, cancel: threading.Event
) -> tuple[IssuedDocument, ...]:
    """Fetch the documents (verified and bound by relay_client) and journal their ids.

    Raises DocumentBindingError, CenterError, ValueError (a document of another order).
    """
    assert txn.order is not None
    documents = center.issue_documents(txn.order, idempotency_key=journal.key(txn.id, "issue"), cancel=cancel)
    unit_fee = {p.item_index: p.unit_fee for p in txn.order.items}
    expected = sum(p.copies for p in txn.order.items)
    if len(documents) != expected or len({d.document_id for d in documents}) != expected:
        raise ValueError(f"{len(documents)} documents for {expected} copies")
    for doc in documents:
        journal.add_document(
            txn.id, doc.document_id, doc.item_index, doc.copy_index, unit_fee[doc.item_index], doc.page_count
        )
    journal.stage(txn.id, "issued")
    return documents


def start_accepting(cash: CashPort, journal: Journal, txn: Txn) -> frozenset[int]:
    """Open the acceptor for the fee. The journal first records that this transaction takes money
    (stage ``paying`` puts it in the cash till, durably), so that money the acceptor takes if the kiosk
    dies is credited to it on the next start. Returns the coins/notes refused for lack of change (the
    resident is told, before paying, to insert the exact amount). Raises JournalFull (out of space: no
    money is taken), CcTalkError, CashError, ValueError."""
    assert txn.order is not None
    if journal.out_of_space():
        raise JournalFull(f"journal {journal.path} is out of space: transaction {txn.id} takes no money")
    journal.stage(txn.id, "paying")
    cash.enable_accepting(txn.order.total, txn_id=txn.id)
    return cash.refused_for_change()


def finish_payment(
    cash: CashPort, center: CenterPort, journal: Journal, txn: Txn, cancel: threading.Event
) -> Settled:
    """Stop accepting, pay the change (journaled by the driver), record the payment with the center.

    A change shortfall is owed (recorded for staff) and the transaction goes on: the fee is covered.
    Raises CashError, CenterError.
    """
    assert txn.order is not None
    received = txn.credited
    try:
        change = cash.finish_payment(txn_id=txn.id)
        owed = 0
    except DispenseError as exc:
        change, owed = exc.paid, exc.requested - exc.paid
        journal.refund_owed(txn.id, owed)
    txn.accepting, txn.collected = False, txn.order.total
    journal.stage(txn.id, "paid_local")
    center.record_payment(
        txn.order,
        received,
        received - txn.order.total,
        idempotency_key=journal.key(txn.id, "payment"),
        cancel=cancel,
    )
    journal.stage(txn.id, "paid")
    return Settled(change, owed)


def print_all(
    printer: PrinterPort,
    journal: Journal,
    documents: tuple[IssuedDocument, ...],
    progress: Callable[[int, int], None],
    cancel: threading.Event,
    timeout: float,
) -> tuple[CopyPrinted, ...]:
    """Print each copy once, page by page; after a fault nothing more is printed. Never reprints.

    Every page the printer confirms is a journal point (``document:page``) before the copy's final
    state, so recovery knows exactly what came out of a job a crash cut short.
    Raises JournalWriteError only (printer errors become failed copies).
    """
    total = sum(d.page_count for d in documents)
    done_before, results = 0, []
    stopped: str | None = None
    for doc in documents:
        if stopped or cancel.is_set():
            results.append(CopyPrinted(doc.document_id, False, 0, stopped or "cancelled"))
            continue
        base = done_before

        def copy_progress(pages: int, base: int = base) -> None:
            progress(base + pages, total)

        result = _print_copy(printer, journal, doc, copy_progress, cancel, timeout)
        results.append(result)
        done_before += result.pages_printed if not result.printed else doc.page_count
        progress(done_before, total)
        stopped = None if result.printed else (result.error or "printer_fault")
    for r in results:  # the journal gets every copy's final state before the report
        journal.document_state(
            r.document_id, "printed" if r.printed else "failed", pages_printed=r.pages_printed, error=r.error
        )
    return tuple(results)


def _print_copy(
    printer: PrinterPort,
    journal: Journal,
    doc: IssuedDocument,
    progress: Callable[[int], None],
    cancel: threading.Event,
    timeout: float,
) -> CopyPrinted:
    """One copy: ``printing`` is journaled before the job is sent, the printer's job id as soon as it
    exists (``document:job``), then one ``document:page`` point per page the printer confirmed (from
    its progress, and at the end for pages it confirmed only then).

    A copy counts as printed only when the printer confirmed every page; where the path cannot
    confirm pages (a CUPS queue), or the printer did not confirm the job dead (``+unsettled``: more
    may come out), the copy is failed with error ``unconfirmed…`` (not charged; staff check the tray).
    Raises JournalWriteError (from the final page points; one failing inside the printer's progress
    callback is logged by the driver and written again here)."""
    journal.document_state(doc.document_id, "printing")
    journaled = [0]
    job: list[int] = []

    def pages_out(upto: int) -> None:
        while journaled[0] < min(upto, doc.page_count):
            journal.page_printed(doc.document_id, journaled[0] + 1)
            journaled[0] += 1

    def on_progress(p: PrintProgress) -> None:
        if not job:
            job.append(p.job_id)
            journal.printer_job(doc.document_id, p.job_id)
        pages_out(p.pages_done)
        progress(p.pages_done)

    try:
        result = printer.print_pdf(
            doc.pdf, job_name=doc.document_id, on_progress=on_progress, timeout=timeout, cancel=cancel
        )
        ok, pages = result.completed and result.confirmed, result.pages_printed
        confirmed, settled, completed = result.confirmed, result.settled, result.completed
        error = None if ok else (",".join(result.reasons) or str(result.outcome))
        if result.job_id is not None and not job:
            journal.printer_job(doc.document_id, result.job_id)
    except Exception as exc:  # every printer error is a failed copy, never a crash
        ok, pages, error = False, int(getattr(exc, "pages_confirmed", 0)), type(exc).__name__
        confirmed, completed = bool(getattr(exc, "confirmed", True)), False
        settled = bool(getattr(exc, "settled", True))
    if not confirmed or not settled:  # the printer cannot say (or has not said) what came out
        error = f"unconfirmed:{error}" if error and not completed else "unconfirmed"
    if not settled:
        error = f"{error}+unsettled"
    pages_out(doc.page_count if ok else pages)
    return CopyPrinted(doc.document_id, ok, pages, error[-64:] if error else None)  # the center keeps 64


def staff_flag(journal: Journal, txn_id: str) -> str | None:
    """The staff codes of the records faults journaled for this transaction (joined by ``+``), or None:
    M03 when a cash event id arrived that the journal held for another transaction (the money was booked
    here under a fresh id); M04 when the center's refund figure differs from the kiosk's (both figures
    are in ``journal.discrepancies``). Never raises (a read)."""
    codes = (
        [ID_CONFLICT_STAFF_CODE]
        if any(kind == FaultKind.ID_CONFLICT for kind, _device, _detail in journal.faults(txn_id))
        else []
    )
    codes += [d.staff_code for d in journal.discrepancies(txn_id)]
    return "+".join(codes) or None


def outcomes_from_journal(journal: Journal, txn_id: str) -> list[CopyOutcome]:
    """The report body, derived from the journal alone (so a repeat after a crash is identical)."""
    record = journal.transaction(txn_id)
    assert record is not None
    return [
        CopyOutcome(d.document_id, True)
        if d.state == "printed"
        else CopyOutcome(d.document_id, False, d.pages_printed or 0, d.error or "not_printed")
        for d in record.documents
    ]


def report(
    center: CenterPort, cash: CashPort, journal: Journal, txn: Txn, cancel: threading.Event
) -> Settled:
    """Report printed/failed copies (journaled key), then refund the unprinted copies' fees.

    If the center cannot be reached the report stays pending (recovery sends it) and the refund is
    still paid from the journal's own figures. Raises JournalWriteError.
    """
    assert txn.order is not None
    journal.report_status(txn.id, "pending")
    try:
        result = center.report_result(
            txn.order,
            outcomes_from_journal(journal, txn.id),
            idempotency_key=journal.key(txn.id, "report"),
            cancel=cancel,
        )
        journal.report_status(txn.id, "reported")
        center_refund: int | None = result.refund_due
    except Exception as exc:
        log.warning("report of transaction %s pending: %s", txn.id, type(exc).__name__)
        center_refund = None
    record = journal.transaction(txn.id)
    assert record is not None
    refund = sum(d.unit_fee for d in record.documents if d.state != "printed")
    if center_refund is not None and center_refund != refund:  # kept for staff, not only logged
        log.warning("transaction %s: center refund %d, kiosk %d (M04)", txn.id, center_refund, refund)
        journal.refund_mismatch(txn.id, center_refund, refund)
    return pay_back(cash, journal, txn.id, refund)


def pay_back(cash: CashPort, journal: Journal, txn_id: str, amount: int) -> Settled:
    """Refund ``amount`` from the hoppers; what cannot be paid is owed (recorded for staff)."""
    if amount <= 0:
        return Settled(0, 0)
    try:
        paid = cash.dispense(amount, txn_id=txn_id, purpose=PayoutPurpose.REFUND)
    except Exception as exc:
        paid = int(getattr(exc, "paid", 0))
        log.warning("refund shortfall on %s: %s", txn_id, type(exc).__name__)
    if paid < amount:
        journal.refund_owed(txn_id, amount - paid)
    return Settled(paid, amount - paid)


def cleanup(ports: Ports, journal: Journal, txn: Txn, reason: str) -> Settled:
    """After an abort: power the card off, give back the money taken (the acceptors inhibited on every
    path: a failed cancel is followed by another inhibit), cancel the center session (which voids its
    documents) unless it was paid. Never raises."""
    ports.card.power_off()
    settled = Settled(0, 0)
    if txn.collected and not txn.paid:  # change was given but the center never took the payment
        settled = pay_back(ports.cash, journal, txn.id, txn.collected)
    elif txn.accepting and not txn.paid:
        try:
            settled = Settled(ports.cash.cancel(txn_id=txn.id), 0)
        except Exception as exc:
            paid = int(getattr(exc, "paid", 0))
            owed = journal.balance(txn.id).inserted - paid
            journal.refund_owed(txn.id, owed)
            settled = Settled(paid, owed)
            _inhibit(ports.cash, txn.id)
    if txn.session is not None and not txn.paid:
        try:
            ports.center.cancel(
                txn.session.session_id,
                "timeout" if reason == "timeout" else "resident",
                idempotency_key=journal.key(txn.id, "cancel"),
            )
        except Exception as exc:  # the center voids unpaid sessions on expiry anyway
            log.warning("cancel of session for %s failed: %s", txn.id, type(exc).__name__)
    return settled


def _inhibit(cash: CashPort, txn_id: str) -> None:
    """Inhibit the acceptors once more after a cancel that failed (the driver keeps trying on its polls
    when the link is down). Never raises."""
    try:
        cash.disable_accepting()
    except Exception as exc:
        log.error(
            "acceptors of %s could not be inhibited (the driver retries): %s", txn_id, type(exc).__name__
        )
