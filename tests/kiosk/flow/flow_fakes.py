"""Fakes at the flow's seams (card, center, cash unit, printer) and a clock, for headless tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kiosk.devices.printer.status import PrintOutcome, PrintProgress, PrintResult
from kiosk.flow import events as ev
from kiosk.flow.machine import Flow
from kiosk.flow.ports import CardRead, ImmediateScheduler, InlineRunner, Job
from kiosk.flow.steps import Ports
from kiosk.flow.timeouts import Timeouts
from kiosk.journal.store import Journal
from kiosk.money import CashEvent, CoinCredited, CreditSource, DispenseError, PayoutPurpose, journal_money
from reader.errors import CardRemovedError, PinBlockedError, PinIncorrectError
from relay_client import (
    Authenticated,
    Cancelled,
    CopyOutcome,
    HonsekiRegistration,
    IssuedDocument,
    MenuEntry,
    MenuOption,
    Order,
    OrderItem,
    Payment,
    PricedItem,
    Reconcile,
    ReconcileOrder,
    Result,
    Session,
)

PIN = "1234"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class FakeCard:
    def __init__(self, *, tries: int = 3, pin: str = PIN) -> None:
        self.tries, self.pin = tries, pin
        self.verified = False
        self.powered_off = 0
        self.removed = False
        self.verify_calls = 0

    def read(self, cancel: threading.Event) -> CardRead:
        if self.removed:
            raise CardRemovedError("gone")
        return CardRead(b"certificate-der", self.tries)

    def verify_pin(self, pin: str, cancel: threading.Event) -> None:
        self.verify_calls += 1
        if self.tries == 0:
            raise PinBlockedError(0x6984)
        if pin != self.pin:
            self.tries -= 1
            raise PinIncorrectError(0x63C0 | self.tries, self.tries)
        self.tries, self.verified = 3, True

    def sign(self, message: bytes) -> bytes:
        assert self.verified
        return b"signature"

    def power_off(self) -> None:
        self.powered_off += 1
        self.verified = False


@dataclass
class FakeCenter:
    fee: int = 300
    pages: int = 1
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    reports: list[list[CopyOutcome]] = field(default_factory=list)
    payments: list[tuple[int, int]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    refund_skew: int = 0  # added to the refund the center reports (a center that disagrees)

    def _call(self, name: str, key: str | None) -> None:
        self.calls.append((name, key))
        if name in self.fail:
            raise self.fail[name]

    def open_session(
        self,
        *,
        language: str = "ja",
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Session:
        self._call("open_session", idempotency_key)
        return Session(f"S-{uuid.uuid4().hex[:8]}", b"c" * 32, NOW, "T-0001", "myna-kiosk-auth/1")

    def authenticate(
        self,
        session: Session,
        certificate_der: bytes,
        sign: Callable[[bytes], bytes],
        route: str = "residence",
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Authenticated:
        self._call("authenticate", idempotency_key)
        sign(b"message")
        options = (MenuOption("scope", "choice", "", ("all", "selected"), "all"),)
        menu = (
            MenuEntry("juminhyo", "住民票の写し", self.fee, 3, True, None, options),
            MenuEntry("inkan", "印鑑登録証明書", self.fee, 3, True, None, ()),
            MenuEntry("koseki_zenbu", "戸籍全部事項証明書", 450, 1, False, "koseki_out_of_hours", ()),
        )
        return Authenticated(session.session_id, route, "R-1", "a" * 64, "131016", "千代田区", menu, NOW)

    def register_honseki(
        self,
        auth: Authenticated,
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> HonsekiRegistration:
        self._call("register_honseki", idempotency_key)
        return HonsekiRegistration(auth.session_id, "141011", "横浜市中区", NOW.date(), NOW.date())

    def cancel(
        self,
        session: Session | Authenticated | str,
        reason: str = "resident",
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Cancelled:
        self._call("cancel", idempotency_key)
        sid = session if isinstance(session, str) else session.session_id
        self.cancelled.append(sid)
        return Cancelled(sid, "cancelled", 0)

    def create_order(
        self,
        session: Authenticated,
        items: Sequence[OrderItem],
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Order:
        self._call("create_order", idempotency_key)
        priced = tuple(
            PricedItem(i, it.type, it.type, (), it.copies, self.fee, self.fee * it.copies)
            for i, it in enumerate(items)
        )
        order = Order(
            f"O-{uuid.uuid4().hex[:8]}",
            session.session_id,
            priced,
            sum(p.fee for p in priced),
            "JPY",
            "priced",
            "T-0001",
            "a" * 64,
        )
        self.orders[order.order_id] = order
        return order

    def issue_documents(
        self, order: Order, *, idempotency_key: str | None = None, cancel: threading.Event | None = None
    ) -> tuple[IssuedDocument, ...]:
        self._call("issue_documents", idempotency_key)
        return tuple(
            IssuedDocument(
                f"D-{order.order_id}-{p.item_index}-{c}",
                p.item_index,
                c,
                p.type,
                self.pages,
                "0" * 64,
                b"%%PDF-fake pages=%d" % self.pages,
                f"V{c}",
            )
            for p in order.items
            for c in range(p.copies)
        )

    def record_payment(
        self,
        order: Order | str,
        received: int,
        change: int,
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Payment:
        self._call("record_payment", idempotency_key)
        self.payments.append((received, change))
        oid = order if isinstance(order, str) else order.order_id
        return Payment(oid, received - change, received, change, "paid")

    def report_result(
        self,
        order: Order | str,
        outcomes: Sequence[CopyOutcome],
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Result:
        self._call("report_result", idempotency_key)
        oid = order if isinstance(order, str) else order.order_id
        if oid in self.results:  # idempotent by order in this fake
            return self.results[oid]
        self.reports.append(list(outcomes))
        failed = sum(not o.printed for o in outcomes)
        result = Result(
            oid,
            "completed" if not failed else "partially_failed",
            len(outcomes) - failed,
            failed,
            failed * self.fee + self.refund_skew,
        )
        self.results[oid] = result
        return result

    def reconcile(
        self, since: datetime, *, limit: int = 100, cancel: threading.Event | None = None
    ) -> Reconcile:
        self._call("reconcile", None)
        paid = sum(r - c for r, c in self.payments)
        orders = tuple(
            ReconcileOrder(
                o.order_id,
                o.session_id,
                NOW,
                "paid" if paid else "priced",
                o.total,
                paid,
                self.results[o.order_id].refund_due if o.order_id in self.results else 0,
                o.order_id in self.results,
                (),
            )
            for o in self.orders.values()
        )
        return Reconcile("T-0001", NOW, orders)


class FakeCash:
    """Money goes through the journal hook exactly as the real driver does it."""

    def __init__(self, journal: Journal, *, hopper: int = 10_000) -> None:
        self.journal, self.hopper = journal, hopper
        self.observers: list[Callable[[CashEvent], None]] = []
        self.due = self.credited = 0
        self.accepting = False
        self.txn_id = ""  # the transaction taking money, as the flow hands it over
        self.fail_finish = False
        self.refused: frozenset[int] = frozenset()  # what the hoppers cannot change (exact amount only)

    def add_observer(self, observer: Callable[[CashEvent], None]) -> None:
        self.observers.append(observer)

    def enable_accepting(self, amount_due: int, *, txn_id: str) -> None:
        self.due, self.accepting, self.txn_id = amount_due, True, txn_id

    def disable_accepting(self) -> None:
        self.accepting = False

    def refused_for_change(self) -> frozenset[int]:
        return self.refused if self.accepting else frozenset()

    def insert(self, yen: int, *, event_id: str | None = None) -> None:
        """A coin credited under ``event_id`` (a fresh one by default), journaled as the driver does it."""
        assert self.accepting, "coin inserted while the acceptor is inhibited"
        used, fault = journal_money(
            self.journal,
            "coin credit",
            event_id or uuid.uuid4().hex,
            lambda i: self.journal.record_credit(i, yen, CreditSource.COIN, txn_id=self.txn_id),
            "coin",
            txn_id=self.txn_id,
        )
        self.credited += yen
        for observer in self.observers:
            if fault is not None:
                observer(fault)
            observer(CoinCredited(used, yen, 1, self.credited))

    def dispense(self, amount: int, *, txn_id: str, purpose: PayoutPurpose) -> int:
        paid = min(amount, self.hopper)
        if paid:
            self.journal.record_payout(uuid.uuid4().hex, paid, txn_id=txn_id, purpose=purpose)
        self.hopper -= paid
        if paid < amount:
            raise DispenseError(amount, paid, "hopper empty")
        return paid

    def finish_payment(self, *, txn_id: str) -> int:
        self.accepting = False
        change = self.credited - self.due
        self.due = self.credited = 0
        return self.dispense(change, txn_id=txn_id, purpose=PayoutPurpose.CHANGE)

    def cancel(self, *, txn_id: str) -> int:
        self.accepting = False
        refund, self.credited, self.due = self.credited, 0, 0
        return self.dispense(refund, txn_id=txn_id, purpose=PayoutPurpose.REFUND)


class FakePrinter:
    def __init__(self, *, jam_at_page: int | None = None) -> None:
        self.jam_at_page = jam_at_page
        self.pages_out = 0
        self.jobs: list[str] = []
        self.unsettled_jobs: tuple[int, ...] = ()

    def print_pdf(
        self,
        pdf: bytes,
        *,
        job_name: str,
        copies: int = 1,
        on_progress: Callable[[PrintProgress], None] | None = None,
        timeout: float = 120.0,
        cancel: threading.Event | None = None,
    ) -> PrintResult:
        self.jobs.append(job_name)
        total = int(pdf.rsplit(b"pages=", 1)[1])
        done = 0
        for _ in range(total):
            if self.jam_at_page is not None and self.pages_out + 1 >= self.jam_at_page:
                return PrintResult(PrintOutcome.ABORTED, done, total, ("media-jam",), "jam", 1)
            done += 1
            self.pages_out += 1
            if on_progress:
                on_progress(PrintProgress(1, 5, done, total, (), ""))
        return PrintResult(PrintOutcome.COMPLETED, total, total, (), "", 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ManualRunner:
    """Holds jobs until the test releases them (to test late answers)."""

    def __init__(self, scheduler: ImmediateScheduler) -> None:
        self.scheduler = scheduler
        self.jobs: list[tuple[str, Job, Callable[[object], None], threading.Event]] = []

    def start(self, name: str, job: Job, deliver: Callable[[object], None], cancel: threading.Event) -> None:
        self.jobs.append((name, job, deliver, cancel))

    def release(self, name: str) -> None:
        index = next(i for i, j in enumerate(self.jobs) if j[0] == name)
        _, job, deliver, cancel = self.jobs.pop(index)
        try:
            result: object = job(cancel)
        except Exception as exc:
            result = exc
        self.scheduler.call(lambda: deliver(result))


@dataclass
class Kiosk:
    flow: Flow
    journal: Journal
    card: FakeCard
    center: FakeCenter
    cash: FakeCash
    printer: FakePrinter
    clock: FakeClock
    screens: list[str]

    def post(self, *events: ev.Event) -> None:
        for event in events:
            self.flow.post(event)

    def to_pin(self) -> None:
        self.post(ev.Start("ja"), ev.ChooseRoute("residence"), ev.CardInserted())

    def to_pay(self, type_: str = "inkan", copies: int = 1) -> None:
        self.to_pin()
        self.post(
            ev.PinEntered(PIN), ev.CardRemoved(), ev.ChooseType(type_), ev.ChooseCopies(copies), ev.Confirm()
        )


def build_kiosk(
    tmp_path: Path,
    *,
    card: FakeCard | None = None,
    center: FakeCenter | None = None,
    printer: FakePrinter | None = None,
    manual: bool = False,
) -> tuple[Kiosk, ManualRunner | None]:
    journal = Journal(tmp_path / "journal.sqlite")
    scheduler = ImmediateScheduler()
    manual_runner = ManualRunner(scheduler) if manual else None
    runner = manual_runner or InlineRunner(scheduler)
    kiosk_card, kiosk_center = card or FakeCard(), center or FakeCenter()
    cash, kiosk_printer, clock = FakeCash(journal), printer or FakePrinter(), FakeClock()
    flow = Flow(
        Ports(kiosk_card, kiosk_center, cash, kiosk_printer),
        journal,
        scheduler,
        runner,
        timeouts=Timeouts(),
        clock=clock,
    )
    screens: list[str] = []
    flow.subscribe(
        lambda view: screens.append(str(view.screen)) if not screens or screens[-1] != view.screen else None
    )
    return Kiosk(flow, journal, kiosk_card, kiosk_center, cash, kiosk_printer, clock, screens), manual_runner
