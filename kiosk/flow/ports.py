"""The seams the flow talks through (fakes in tests, the real parts in ``kiosk run``).

Card, center, cash unit and printer are Protocols; the blocking work they do runs on a Runner and
its results come back through one Scheduler (immediate in tests, a dispatcher thread in the app).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kiosk.devices.printer.status import PrintProgress, PrintResult
from kiosk.money import CashEvent, PayoutPurpose
from relay_client import (
    Authenticated,
    Cancelled,
    CopyOutcome,
    HonsekiRegistration,
    IssuedDocument,
    Order,
    OrderItem,
    Payment,
    Reconcile,
    Result,
    Session,
)

log = logging.getLogger(__name__)
Job = Callable[[threading.Event], object]


@dataclass(frozen=True)
class CardRead:
    """What is read from a card before the PIN: the auth certificate (DER) and the tries left.

    ``form`` is ``card``, ``android`` or ``iphone`` (by the token). An Android phone shows its certificate
    only after the PIN: ``certificate_der`` is empty until ``CardPort.verify_pin`` returns it. An iPhone
    was unlocked on the phone (no PIN at the kiosk): ``tries_left`` is what the phone reports.
    """

    certificate_der: bytes
    tries_left: int
    form: str = "card"

    @property
    def asks_pin(self) -> bool:
        """The kiosk asks the resident's PIN (card and Android; never for an iPhone)."""
        return self.form != "iphone"


class CardCheckError(Exception):
    """A local check of the card's certificate failed; ``reason`` is an outcome reason key."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class CardPort(Protocol):
    """The card in the reader (one transaction at a time)."""

    def read(self, cancel: threading.Event) -> CardRead:
        """Detect, read the auth certificate, check it locally, query the PIN tries left.
        Raises CardCheckError, reader CardError subclasses."""

    def verify_pin(self, pin: str, cancel: threading.Event) -> bytes | None:
        """VERIFY once; for a phone whose certificate needs the PIN, then read and check it and return its
        DER (None otherwise). Raises PinIncorrectError, PinBlockedError, CardCheckError, CardError
        subclasses."""

    def sign(self, message: bytes) -> bytes:
        """The user-auth signature of ``message``. Raises CardError subclasses."""

    def power_off(self) -> None:
        """Release and unpower the card (clears its PIN state). Never raises."""


class CenterPort(Protocol):
    """The subset of relay_client.IssuanceClient the flow uses."""

    def register_honseki(
        self,
        auth: Authenticated,
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> HonsekiRegistration:
        """本籍地 利用登録 on a session authenticated on that route. Raises CenterError subclasses."""

    def open_session(
        self,
        *,
        language: str = "ja",
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Session: ...

    def authenticate(
        self,
        session: Session,
        certificate_der: bytes,
        sign: Callable[[bytes], bytes],
        route: str = "residence",
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Authenticated: ...

    def cancel(
        self,
        session: Session | Authenticated | str,
        reason: str = "resident",
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Cancelled: ...

    def create_order(
        self,
        session: Authenticated,
        items: Sequence[OrderItem],
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Order: ...

    def issue_documents(
        self, order: Order, *, idempotency_key: str | None = None, cancel: threading.Event | None = None
    ) -> tuple[IssuedDocument, ...]: ...

    def record_payment(
        self,
        order: Order | str,
        received: int,
        change: int,
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Payment: ...

    def report_result(
        self,
        order: Order | str,
        outcomes: Sequence[CopyOutcome],
        *,
        idempotency_key: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Result: ...

    def reconcile(
        self, since: datetime, *, limit: int = 100, cancel: threading.Event | None = None
    ) -> Reconcile: ...


class CashPort(Protocol):
    """The subset of kiosk.devices.cash.unit.CashUnit the flow uses."""

    def add_observer(self, observer: Callable[[CashEvent], None]) -> None: ...

    def enable_accepting(self, amount_due: int, *, txn_id: str) -> None: ...

    def disable_accepting(self) -> None: ...

    def finish_payment(self, *, txn_id: str) -> int: ...

    def cancel(self, *, txn_id: str) -> int: ...

    def dispense(self, amount: int, *, txn_id: str, purpose: PayoutPurpose) -> int: ...

    def refused_for_change(self) -> frozenset[int]:
        """Coins/notes refused now because their change cannot be paid (exact amount only)."""


class PrinterPort(Protocol):
    """The subset of kiosk.devices.printer.driver.IppPrinter the flow uses."""

    def print_pdf(
        self,
        pdf: bytes,
        *,
        job_name: str,
        copies: int = 1,
        on_progress: Callable[[PrintProgress], None] | None = None,
        timeout: float = 120.0,
        cancel: threading.Event | None = None,
    ) -> PrintResult: ...

    @property
    def unsettled_jobs(self) -> tuple[int, ...]:
        """Jobs the kiosk gave up on that the printer has not confirmed dead (no I/O)."""
        ...


# --- scheduling -------------------------------------------------------------------------------------
class Scheduler(Protocol):
    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the flow's thread, after whatever is already queued."""


class ImmediateScheduler:
    """Tests: run on the caller's thread, first in first out, never re-entrant."""

    def __init__(self) -> None:
        self._queue: deque[Callable[[], None]] = deque()
        self._running = False
        self._lock = threading.RLock()

    def call(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` and drain the queue unless already draining."""
        with self._lock:
            self._queue.append(fn)
            if self._running:
                return
            self._running = True
            try:
                while self._queue:
                    self._queue.popleft()()
            finally:
                self._running = False


class ThreadScheduler:
    """The headless app: one dispatcher thread runs every event in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="flow-dispatch", daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` for the dispatcher thread."""
        self._queue.put(fn)

    def _run(self) -> None:
        while (fn := self._queue.get()) is not None:
            try:
                fn()
            except Exception:  # a bug in one event must not stop the kiosk
                log.exception("flow event failed")

    def close(self) -> None:
        """Stop the dispatcher after what is queued."""
        self._queue.put(None)
        self._thread.join(timeout=5)


class Runner(Protocol):
    def start(self, name: str, job: Job, deliver: Callable[[object], None], cancel: threading.Event) -> None:
        """Run ``job(cancel)``; hand its value or exception to ``deliver`` through the scheduler."""


class InlineRunner:
    """Tests: run the job at once on the caller's thread; deliver through the scheduler."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def start(self, name: str, job: Job, deliver: Callable[[object], None], cancel: threading.Event) -> None:
        """Run now; exceptions are delivered, not raised."""
        result = _run_job(name, job, cancel)
        self.scheduler.call(lambda: deliver(result))


class ThreadRunner:
    """The app: each job on its own daemon thread (card, center and devices block)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def start(self, name: str, job: Job, deliver: Callable[[object], None], cancel: threading.Event) -> None:
        """Start the thread; the result is delivered through the scheduler."""

        def run() -> None:
            result = _run_job(name, job, cancel)
            self.scheduler.call(lambda: deliver(result))

        threading.Thread(target=run, name=f"job-{name}", daemon=True).start()


def _run_job(name: str, job: Job, cancel: threading.Event) -> object:
    try:
        return job(cancel)
    except Exception as exc:  # delivered to the flow, which turns it into an outcome
        log.info("job %s failed: %s: %s", name, type(exc).__name__, exc)
        return exc
