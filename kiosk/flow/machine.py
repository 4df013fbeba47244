"""The headless transaction flow: a plain-code state machine (a table of (screen, event) handlers).

Why plain code rather than python-statemachine: the states carry data (the transaction), most
transitions start blocking work whose result returns as an event, and every failure shares one
abort path; a handler table keeps that explicit, typed (mypy --strict) and free of a dependency.

Rules it enforces: events run one at a time on the scheduler's thread; a job's result is accepted
only if it belongs to the current transaction *generation* (an aborted transaction's late answers
are dropped, never applied to the next resident); any timeout, fault or early card removal aborts
the whole transaction; cancel works at every step before printing (asked once more on the touchscreen
once the PIN was verified or money went in); the PIN goes to one VERIFY and is never stored; a
transaction that read a card ends only once the card is off the reader (the take-card screen); the
resident can ask for more time whenever a countdown shows.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kiosk.flow import events as ev
from kiosk.flow import steps
from kiosk.flow.outcomes import CALL_STAFF, outcome, outcome_for_error, with_staff_flag
from kiosk.flow.ports import CardCheckError, CardRead, Job, Runner, Scheduler
from kiosk.flow.timeouts import CANCELLABLE, Timeouts
from kiosk.flow.view import MenuItem, Outcome, Screen, ViewState
from kiosk.journal.store import Journal
from kiosk.money import BillStacked, CashEvent, CoinCredited
from reader.errors import PinBlockedError, PinIncorrectError
from relay_client import (
    Authenticated,
    CenterError,
    HonsekiRegistration,
    IssuedDocument,
    MenuOption,
    Order,
    Session,
)

log = logging.getLogger(__name__)
Handler = Callable[[Any], None]
_CARD_STEPS = {Screen.READING, Screen.PIN, Screen.VERIFYING, Screen.AUTHENTICATING}
HONSEKI_REGISTRATION = "honseki_registration"  # the 本籍地 利用登録 route: no certificates, a registration
ROUTES = ("residence", "honseki", HONSEKI_REGISTRATION)


class Flow:
    """One kiosk's transaction flow. ``post(event)`` from any thread; ``view`` is the latest state."""

    def __init__(
        self,
        ports: steps.Ports,
        journal: Journal,
        scheduler: Scheduler,
        runner: Runner,
        *,
        timeouts: Timeouts | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ports, self.journal = ports, journal
        self.scheduler, self.runner = scheduler, runner
        self.timeouts = timeouts or Timeouts()
        self.clock = clock
        self._out_of_service = ""  # set_out_of_service: why no new resident is taken now
        self.view = ViewState()
        self._observers: list[Callable[[ViewState], None]] = []
        self._txn: steps.Txn | None = None
        self._generation = 0
        self._job_cancel = threading.Event()
        self._deadline: float | None = None
        self._pending_outcome: Outcome | None = None
        self._card_on = False  # the reader's presence as its events tell it
        self._card_used = False  # this transaction read the card: chase it at the end
        self._pin_verified = False
        ports.cash.add_observer(self._on_cash)
        self._intents: dict[tuple[Screen, type], Handler] = {
            (Screen.ATTRACT, ev.Start): self._start,
            (Screen.ROUTE, ev.ChooseRoute): self._route,
            (Screen.PLACE_CARD, ev.CardInserted): self._card_inserted,
            (Screen.PIN, ev.PinEntered): self._pin,
            (Screen.REMOVE_CARD, ev.CardRemoved): self._card_gone,
            (Screen.CHOOSE_TYPE, ev.ChooseType): self._choose_type,
            (Screen.OPTIONS, ev.ChooseOptions): self._choose_options,
            (Screen.COPIES, ev.ChooseCopies): self._choose_copies,
            (Screen.CONFIRM, ev.Confirm): self._confirm,
            (Screen.PAY, ev.CashCredited): self._credited,
            (Screen.PRINTING, ev.PrintProgressed): self._progress,
            (Screen.DONE, ev.Finish): lambda _e: self._end(),
            (Screen.FAILED, ev.Finish): self._finish_failed,
            (Screen.FAILED, ev.StaffCleared): self._staff_cleared,
            (Screen.TAKE_CARD, ev.CardRemoved): lambda _e: self._wipe(),
            (Screen.HONSEKI_CONFIRM, ev.Confirm): self._register_honseki,
            (Screen.REGISTERED, ev.Finish): lambda _e: self._end(),
        }
        self._results: dict[str, Handler] = {
            "read": self._read_done,
            "verify": self._verify_done,
            "session": self._session_done,
            "authenticate": self._auth_done,
            "order": self._order_done,
            "issue": self._issue_done,
            "accept": self._accept_done,
            "payment": self._payment_done,
            "print": self._print_done,
            "report": self._report_done,
            "register": self._registered,
            "cleanup": self._cleanup_done,
        }

    # --- public -------------------------------------------------------------------------------------
    def subscribe(self, observer: Callable[[ViewState], None]) -> None:
        """Call ``observer(view)`` on every change (on the scheduler's thread)."""
        self._observers.append(observer)

    def post(self, event: ev.Event) -> None:
        """Queue an event for the flow's thread."""
        self.scheduler.call(lambda: self._dispatch(event))

    def set_out_of_service(self, reason: str) -> None:
        """From any thread: take no new resident while ``reason`` (e.g. "clock") is not empty; "" takes
        residents again. A transaction in progress runs to its end. Never raises."""
        self.scheduler.call(lambda: self._set_out_of_service(reason))

    def _set_out_of_service(self, reason: str) -> None:
        if reason != self._out_of_service:
            log.info("kiosk %s", f"out of service: {reason}" if reason else "back in service")
            self._out_of_service = reason
            self._show(out_of_service=reason)

    @property
    def transaction_id(self) -> str | None:
        return self._txn.id if self._txn else None

    # --- dispatch -----------------------------------------------------------------------------------
    def _dispatch(self, event: ev.Event) -> None:
        try:
            self._handle(event)
        except Exception as exc:  # a bug or a journal failure: abort, never a traceback on screen
            log.exception("flow failed on %s in %s", type(event).__name__, self.view.screen)
            if self._txn is not None and self.view.screen not in (Screen.ABORTING, Screen.FAILED):
                self._abort(outcome("journal_failed" if "Journal" in type(exc).__name__ else "kiosk_fault"))

    def _handle(self, event: ev.Event) -> None:
        screen = self.view.screen
        if isinstance(event, ev.CardInserted | ev.CardRemoved):
            self._card_on = isinstance(event, ev.CardInserted)
        if isinstance(event, ev.JobDone):
            if event.generation != self._generation:
                log.info("dropped a late %s result of an ended transaction", event.name)
                return
            self._results[event.name](event.result)
        elif isinstance(event, ev.Tick):
            self._tick()
        elif isinstance(event, ev.Cancel):
            self._cancel(event)
        elif isinstance(event, ev.KeepGoing):
            if self.view.cancel_asked:
                self._show(cancel_asked=False)
        elif isinstance(event, ev.MoreTime):
            self._more_time()
        elif isinstance(event, ev.CardRemoved) and screen in _CARD_STEPS:
            self._abort(outcome("card_removed"))
        elif isinstance(event, ev.Back):
            self._back()
        else:
            handler = self._intents.get((screen, type(event)))
            if handler is None:
                log.debug("%s ignored in %s", type(event).__name__, screen)
                return
            handler(event)

    @property
    def calling_staff(self) -> bool:
        """The outcome screen asks the resident to call staff: it stays until staff clear it
        (``StaffCleared``) or ``Timeouts.call_staff`` passes; the resident cannot end it."""
        return self.view.screen is Screen.FAILED and self.view.message_key == CALL_STAFF

    def _show(self, screen: Screen | None = None, **changes: Any) -> None:
        if screen is not None and screen != self.view.screen:
            calling_staff = changes.get("message_key") == CALL_STAFF
            seconds = self.timeouts.for_screen(screen, calling_staff=calling_staff)
            self._deadline = None if seconds is None else self.clock() + seconds
            changes.setdefault("countdown", None)
            changes.setdefault("countdown_warning", False)
            changes["screen"] = screen
            changes["can_cancel"] = screen in CANCELLABLE
            changes["cancel_asked"] = False
        self.view = dataclasses.replace(self.view, **changes)
        for observer in list(self._observers):
            observer(self.view)

    def _run(self, name: str, job: Job) -> None:
        self._job_cancel = threading.Event()
        generation = self._generation
        self.runner.start(
            name, job, lambda result: self._dispatch(ev.JobDone(generation, name, result)), self._job_cancel
        )

    def _on_cash(self, event: CashEvent) -> None:
        if isinstance(event, CoinCredited | BillStacked):
            self.post(ev.CashCredited(event.total))

    def _cancel(self, event: ev.Cancel) -> None:
        if self.view.screen not in CANCELLABLE or self._txn is None:
            return
        committed = self._pin_verified or self._txn.credited > 0
        if event.ask and committed and not self.view.cancel_asked:
            self._show(cancel_asked=True)  # asked once; a plain Cancel (the answer) goes through
            return
        self._abort(outcome("cancelled"))

    # --- time ---------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - self.clock()
        screen = self.view.screen
        if left > 0:
            warn = left <= self.timeouts.warning and screen in self.timeouts.interactive
            warn = warn and not self.calling_staff  # nothing the resident could do with more time there
            shown = int(left + 0.999) if warn else None
            if shown != self.view.countdown:
                self._show(countdown=shown, countdown_warning=warn)
            return
        self._deadline = None
        if screen in (Screen.DONE, Screen.FAILED, Screen.REGISTERED):
            if self.calling_staff:
                log.warning(
                    "the call-staff screen (%s) was not cleared by staff in %.0f s: back to the start screen,"
                    " the journal keeps the record",
                    self.view.outcome.staff_code if self.view.outcome else "-",
                    self.timeouts.call_staff,
                )
            self._end()
        elif screen is Screen.PRINTING:
            self._job_cancel.set()  # the job stops, reports what came out, refunds the rest
        else:
            self._abort(outcome("timeout"))

    def _more_time(self) -> None:
        """Start the screen's countdown again (only where the resident acts and a deadline runs)."""
        screen = self.view.screen
        seconds = self.timeouts.for_screen(screen)
        if self._deadline is None or seconds is None or screen not in self.timeouts.interactive:
            return
        if self.calling_staff:  # its time is staff's, not the resident's
            return
        self._deadline = self.clock() + seconds
        if self.view.countdown is not None or self.view.countdown_warning:
            self._show(countdown=None, countdown_warning=False)

    # --- steps: start to card ------------------------------------------------------------------------
    def _start(self, event: ev.Start) -> None:
        if self._out_of_service:
            log.info("start refused: out of service (%s)", self._out_of_service)
            return
        if self.ports.printer.unsettled_jobs:  # a given-up job may still print: no new resident
            log.error("printer job(s) %s not confirmed dead: not starting", self.ports.printer.unsettled_jobs)
            return self._abort(outcome("printer_unsettled"))
        if self.journal.out_of_space():  # the last records must fit: out of service until staff free space
            log.error("journal out of space: not starting")
            return self._abort(steps.JOURNAL_FULL)
        self._txn = steps.Txn(uuid.uuid4().hex, language=event.language)
        self._card_used = self._pin_verified = False
        self.journal.begin(self._txn.id)
        self._show(Screen.ROUTE, language=event.language, outcome=None, message_key="")

    def _route(self, event: ev.ChooseRoute) -> None:
        assert self._txn is not None
        self._txn.route = event.route if event.route in ROUTES else "residence"
        self._show(Screen.PLACE_CARD, route=self._txn.route)

    def _card_inserted(self, _event: ev.CardInserted) -> None:
        self._card_used = True
        self._show(Screen.READING)
        self._run("read", self.ports.card.read)

    def _read_done(self, result: object) -> None:
        if isinstance(result, CardCheckError):
            return self._abort(outcome(result.reason))
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, CardRead) and self._txn is not None
        self._txn.card = result
        if result.tries_left <= 0:
            return self._abort(outcome("pin_locked"))
        if not result.asks_pin:  # an iPhone: unlocked on the phone, no PIN at the kiosk
            return self._authenticate()
        self._show(Screen.PIN, tries_left=result.tries_left, last_try_warning=result.tries_left == 1)

    def _pin(self, event: ev.PinEntered) -> None:
        card = self.ports.card
        pin = event.pin
        self._show(Screen.VERIFYING)
        self._run("verify", lambda cancel: card.verify_pin(pin, cancel))

    def _verify_done(self, result: object) -> None:
        if isinstance(result, PinIncorrectError) and not isinstance(result, PinBlockedError):
            if result.tries_left <= 0:
                return self._abort(outcome("pin_locked"))
            return self._show(
                Screen.PIN,
                tries_left=result.tries_left,
                last_try_warning=result.tries_left == 1,
                message_key="pin_incorrect",
            )
        if isinstance(result, CardCheckError):
            return self._abort(outcome(result.reason))
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert self._txn is not None and self._txn.card is not None
        if isinstance(result, bytes):  # a phone's certificate, readable only after the PIN
            self._txn.card = dataclasses.replace(self._txn.card, certificate_der=result)
        self._authenticate()

    def _authenticate(self) -> None:
        """The PIN was verified (or the phone unlocked): open the center session, then authenticate."""
        assert self._txn is not None
        self._pin_verified = True
        txn, center, journal = self._txn, self.ports.center, self.journal
        self._show(Screen.AUTHENTICATING, message_key="", tries_left=None, last_try_warning=False)
        self._run("session", lambda cancel: steps.open_session(center, journal, txn, cancel))

    def _session_done(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, Session) and self._txn is not None
        txn, ports, journal = self._txn, self.ports, self.journal
        txn.session = result
        self._run(
            "authenticate", lambda cancel: steps.authenticate(ports.center, ports.card, journal, txn, cancel)
        )

    def _auth_done(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, Authenticated) and self._txn is not None
        self._txn.auth = result
        self._txn.card = None  # the certificate is not needed any more
        menu = tuple(
            MenuItem(
                m.type,
                m.label,
                m.fee,
                m.max_copies,
                m.available_now,
                m.unavailable_code,
                tuple((o.name, _default_first(o)) for o in m.options if o.kind != "members"),
            )
            for m in result.menu
        )
        self._show(Screen.REMOVE_CARD, menu=menu)

    def _card_gone(self, _event: ev.CardRemoved) -> None:
        if self._txn is not None and self._txn.route == HONSEKI_REGISTRATION and self._txn.auth is not None:
            return self._show(Screen.HONSEKI_CONFIRM, honseki_municipality=self._txn.auth.municipality_name)
        self._show(Screen.CHOOSE_TYPE)

    # --- 本籍地 利用登録 --------------------------------------------------------------------------------
    def _register_honseki(self, _event: ev.Confirm) -> None:
        assert self._txn is not None
        txn, center, journal = self._txn, self.ports.center, self.journal
        self._show(Screen.REGISTERING)
        self._run("register", lambda cancel: steps.register_honseki(center, journal, txn, cancel))

    def _registered(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, HonsekiRegistration) and self._txn is not None
        final = outcome("honseki_registered")
        self.journal.finish(self._txn.id, final.reason, final.staff_code)
        self._show(
            Screen.REGISTERED,
            outcome=final,
            message_key=final.message_key,
            honseki_municipality=result.municipality_name,
            honseki_usable_from=result.usable_from.isoformat(),
        )

    # --- steps: choice -------------------------------------------------------------------------------
    def _menu_item(self, type_: str) -> MenuItem | None:
        return next((m for m in self.view.menu if m.type == type_ and m.available), None)

    def _choose_type(self, event: ev.ChooseType) -> None:
        item = self._menu_item(event.type)
        if item is None or self._txn is None:
            return self._show(message_key="not_available")
        self._txn.chosen, self._txn.options = item.type, ()
        self._show(
            Screen.OPTIONS if item.options else Screen.COPIES,
            chosen_type=item.type,
            message_key="",
            options=(),
            fee=item.fee,
        )

    def _choose_options(self, event: ev.ChooseOptions) -> None:
        assert self._txn is not None and self._txn.auth is not None
        entry = next(m for m in self._txn.auth.menu if m.type == self._txn.chosen)
        chosen = []
        for name, text in event.options:
            option = next((o for o in entry.options if o.name == name and o.kind != "members"), None)
            value = None if option is None else next((v for v in option.values if str(v) == text), None)
            if option is None or value is None:
                return self._show(message_key="option_not_offered")
            chosen.append((name, value))
        self._txn.options = tuple(chosen)
        self._show(Screen.COPIES, options=event.options, message_key="")

    def _choose_copies(self, event: ev.ChooseCopies) -> None:
        item = self._menu_item(self.view.chosen_type)
        if item is None or self._txn is None or not 1 <= event.copies <= item.max_copies:
            return self._show(message_key="copies_out_of_range")
        self._txn.copies = event.copies
        txn, center, journal = self._txn, self.ports.center, self.journal
        self._show(copies=event.copies, message_key="pricing")
        self._run("order", lambda cancel: steps.create_order(center, journal, txn, cancel))

    def _order_done(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, Order) and self._txn is not None
        self._txn.order = result
        self._show(Screen.CONFIRM, fee=result.total, message_key="")

    def _back(self) -> None:
        previous = {Screen.OPTIONS: Screen.CHOOSE_TYPE, Screen.COPIES: Screen.CHOOSE_TYPE}
        if self.view.screen in previous:
            self._show(previous[self.view.screen], message_key="")

    # --- steps: issue, pay, print, report ---------------------------------------------------------
    def _confirm(self, _event: ev.Confirm) -> None:
        assert self._txn is not None
        txn, center, journal = self._txn, self.ports.center, self.journal
        self._show(Screen.ISSUING)
        self._run("issue", lambda cancel: steps.issue(center, journal, txn, cancel))

    def _issue_done(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(outcome_for_error(result))
        assert isinstance(result, tuple) and self._txn is not None
        self._txn.documents = tuple(d for d in result if isinstance(d, IssuedDocument))
        txn, cash, journal = self._txn, self.ports.cash, self.journal
        txn.accepting = True
        self._show(pages_total=sum(d.page_count for d in txn.documents))
        self._run("accept", lambda _cancel: steps.start_accepting(cash, journal, txn))

    def _accept_done(self, result: object) -> None:
        if isinstance(result, steps.JournalFull):
            return self._abort(steps.JOURNAL_FULL)
        if isinstance(result, BaseException):
            return self._abort(outcome("cash_fault"))
        refused = result if isinstance(result, frozenset) else frozenset()
        if refused:  # the hoppers cannot change these: say so before the resident pays
            log.info("exact amount only: %s yen refused for lack of change", sorted(refused))
        self._show(Screen.PAY, amount_inserted=0, message_key="exact_amount_only" if refused else "")

    def _credited(self, event: ev.CashCredited) -> None:
        assert self._txn is not None and self._txn.order is not None
        self._txn.credited = event.total
        self._show(amount_inserted=event.total)
        if event.total >= self._txn.order.total:
            txn, ports, journal = self._txn, self.ports, self.journal
            self._show(Screen.FINISHING_PAYMENT, change=event.total - self._txn.order.total, message_key="")
            self._run(
                "payment", lambda cancel: steps.finish_payment(ports.cash, ports.center, journal, txn, cancel)
            )

    def _payment_done(self, result: object) -> None:
        if isinstance(result, BaseException):
            return self._abort(
                outcome_for_error(result) if isinstance(result, CenterError) else outcome("cash_fault")
            )
        assert isinstance(result, steps.Settled) and self._txn is not None
        txn, printer, journal = self._txn, self.ports.printer, self.journal
        txn.paid, txn.accepting, txn.change, txn.owed = True, False, result.refunded, result.owed
        self._show(Screen.PRINTING, change=result.refunded, pages_printed=0)
        timeout = self.timeouts.for_screen(Screen.PRINTING) or 300.0

        def progress(done: int, total: int) -> None:
            self.post(ev.PrintProgressed(done, total))

        self._run(
            "print",
            lambda cancel: steps.print_all(printer, journal, txn.documents, progress, cancel, timeout),
        )

    def _progress(self, event: ev.PrintProgressed) -> None:
        self._show(pages_printed=event.pages_done, pages_total=event.pages_total)

    def _print_done(self, result: object) -> None:
        if isinstance(result, BaseException):  # the journal failed: the report stays for recovery
            return self._abort(outcome("journal_failed"))
        assert self._txn is not None
        txn, ports, journal = self._txn, self.ports, self.journal
        self._show(Screen.REPORTING)
        self._run("report", lambda cancel: steps.report(ports.center, ports.cash, journal, txn, cancel))

    def _report_done(self, result: object) -> None:
        assert self._txn is not None
        if isinstance(result, BaseException):
            return self._abort(outcome("journal_failed"))
        assert isinstance(result, steps.Settled)
        owed = result.owed + self._txn.owed
        if result.refunded or result.owed:
            final = outcome(
                "print_failed_owed" if owed else "print_failed", refunded=result.refunded, refund_owed=owed
            )
        elif owed:
            final = outcome("change_shortfall", refund_owed=owed)
        else:
            final = outcome("completed")
        final = with_staff_flag(final, steps.staff_flag(self.journal, self._txn.id))
        record = self.journal.transaction(self._txn.id)
        if record is not None and record.report_status == "reported":
            self.journal.finish(self._txn.id, final.reason, final.staff_code)
        self._show(
            Screen.DONE if final.ok else Screen.FAILED,
            outcome=final,
            sound_on=final.ok,
            message_key=final.message_key,
        )

    # --- abort and wipe -----------------------------------------------------------------------------
    def _abort(self, why: Outcome) -> None:
        """End the whole transaction: stale results are dropped from now on, running work is cancelled,
        money goes back, the card is powered off, the center session is cancelled."""
        self._generation += 1
        self._job_cancel.set()
        txn = self._txn
        if txn is None:
            return self._show(Screen.FAILED, outcome=why, message_key=why.message_key)
        log.info("transaction %s aborted: %s (%s)", txn.id, why.reason, why.staff_code)
        self._pending_outcome = why
        ports, journal = self.ports, self.journal
        self._show(Screen.ABORTING, message_key="please_wait")
        self._run("cleanup", lambda _cancel: steps.cleanup(ports, journal, txn, why.reason))

    def _cleanup_done(self, result: object) -> None:
        why = self._pending_outcome or outcome("kiosk_fault")
        settled = result if isinstance(result, steps.Settled) else steps.Settled(0, 0)
        final = why
        if why.reason == "cancelled" and settled.refunded and not settled.owed:
            final = outcome("cancelled_refunded", refunded=settled.refunded)
        elif settled.refunded or settled.owed:
            message = "call_staff" if settled.owed else "take_your_money"
            final = dataclasses.replace(
                why, message_key=message, refunded=settled.refunded, refund_owed=settled.owed
            )
        if self._txn is not None:
            final = with_staff_flag(final, steps.staff_flag(self.journal, self._txn.id))
        if self._txn is not None and not (self._txn.paid and self._report_pending()):
            self.journal.finish(self._txn.id, final.reason, final.staff_code)
        change = self._txn.change if self._txn is not None and self._txn.paid else 0  # change paid out
        self._show(Screen.FAILED, outcome=final, message_key=final.message_key, change=change)

    def _finish_failed(self, event: ev.Finish) -> None:
        if event.resident and self.calling_staff:
            log.info("終了 refused: the call-staff screen waits for staff")
            return
        self._end()

    def _staff_cleared(self, _event: ev.StaffCleared) -> None:
        if not self.calling_staff:
            log.debug("staff cleared nothing: the screen does not call staff")
            return
        code = self.view.outcome.staff_code if self.view.outcome else "-"
        log.info("the call-staff screen (%s) was cleared by staff", code)
        self._end()

    def _report_pending(self) -> bool:
        record = self.journal.transaction(self._txn.id) if self._txn else None
        return record is not None and record.report_status != "reported"

    def _end(self) -> None:
        """The outcome screen is over: chase a card still on the reader (the take-card screen, until it is
        removed), else back to the attract screen."""
        if self._card_used and self._card_on:
            self._generation += 1
            self._job_cancel.set()
            self._txn, self._pending_outcome = None, None
            self.view = ViewState(language=self.view.language)  # nothing of the transaction stays on screen
            self._show(Screen.TAKE_CARD, sound_on=True)
            return
        self._wipe()

    def _wipe(self) -> None:
        """All session data dropped; back to the attract screen."""
        self._card_used = self._pin_verified = False
        self._generation += 1
        self._job_cancel.set()
        self._txn = None
        self._pending_outcome = None
        self._show(Screen.ATTRACT)
        self.view = ViewState(language="ja", out_of_service=self._out_of_service)
        for observer in list(self._observers):
            observer(self.view)


def _default_first(option: MenuOption) -> tuple[str, ...]:
    """An option's values for the touchscreen, the center's default first (the screen preselects it)."""
    values = tuple(str(v) for v in option.values)
    default = str(option.default)
    return (default, *(v for v in values if v != default)) if default in values else values
