"""Following one print job to its end, and killing a job the kiosk gives up on.

A given-up job is dead only when the printer says so: the kiosk cancels it and then waits for the
job to reach canceled, aborted or completed with no further impressions (a second look one poll
later). Until then it is *unsettled*: the driver remembers it and sends no new job (see
``IppPrinter.settle_given_up``). A printer that no longer knows the job (restarted, history purged,
or its id now names another job) will print nothing more of it.

Pages count when the printer confirms them (``job-impressions-completed`` from the printer itself).
Through a CUPS queue the count is the scheduler's filters' count, not the paper's: the follower keeps
no page count there (``confirmed`` False in the result).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kiosk.devices.printer.errors import PrinterError, PrinterRejectedError, PrinterUnavailableError
from kiosk.devices.printer.ipp_constants import JobState, Status
from kiosk.devices.printer.status import (
    JobFate,
    JobStatus,
    PrintOutcome,
    PrintProgress,
    PrintResult,
    fault_message,
)

__all__ = ["JobControl", "JobFollower", "job_fate", "kill_job"]

log = logging.getLogger(__name__)


class JobControl(Protocol):
    """What following and killing a job needs from the driver (``IppPrinter``)."""

    poll_interval: float
    unavailable_grace: float
    stop_wait: float

    @property
    def confirms_pages(self) -> bool:
        """False through a CUPS queue: its page counts are not the paper's."""

    def get_job(self, job_id: int) -> JobStatus:
        """Raises PrinterError."""

    def cancel_job(self, job_id: int) -> None:
        """Raises PrinterError."""

    def stop_reasons(self) -> tuple[str, ...]:
        """Why paper cannot come out now (faults, ``paused``); () if none. Raises PrinterError."""

    def kill_behind(self, job_name: str) -> bool:
        """Through a CUPS queue: cancel the job at the printer behind it and confirm; True if confirmed
        (or there is no queue). Never raises."""

    def remember_unsettled(self, job_id: int, job_name: str) -> None:
        """A given-up job the printer has not confirmed dead."""


def kill_job(printer: JobControl, job_id: int, job_name: str) -> tuple[JobStatus | None, bool]:
    """Cancel ``job_id`` and wait (``stop_wait``) for the printer to confirm it dead.

    Returns (the job's last status or None, settled). Never raises: an unreachable printer leaves the
    job unsettled.
    """
    try:
        printer.cancel_job(job_id)
    except PrinterRejectedError as exc:
        log.info("Cancel-Job %d refused (the job probably ended): %s", job_id, exc)
    except PrinterError as exc:
        log.warning("Cancel-Job %d failed: %s", job_id, exc)
    until = time.monotonic() + printer.stop_wait
    job: JobStatus | None = None
    settled = False
    while not settled:
        try:
            job, settled = _dead(printer, job_id, job_name)
        except PrinterRejectedError as exc:
            settled = exc.status == Status.NOT_FOUND  # forgotten: nothing more of it will print
        except PrinterUnavailableError as exc:  # gone: settle_given_up asks again later
            log.info("job %d: no answer while confirming the cancel: %s", job_id, exc)
            break
        except PrinterError as exc:
            log.info("job %d: bad answer while confirming the cancel: %s", job_id, exc)
        if settled or time.monotonic() >= until:
            break
        time.sleep(printer.poll_interval)
    behind = printer.kill_behind(job_name)  # even when the queue cannot confirm: stop the paper
    settled = settled and behind
    if not settled:
        printer.remember_unsettled(job_id, job_name)
        log.error("printer job %d (%s) given up but not confirmed dead", job_id, job_name)
    return job, settled


def _dead(printer: JobControl, job_id: int, job_name: str) -> tuple[JobStatus | None, bool]:
    """(status, True) once the job is terminal and its impressions stay put one poll later."""
    job = printer.get_job(job_id)
    if job.name and job.name != job_name:
        return None, True  # the printer restarted and reuses the id: ours is gone
    if not job.terminal:
        return job, False
    time.sleep(printer.poll_interval)
    again = printer.get_job(job_id)
    return again, again.terminal and again.impressions_completed == job.impressions_completed


def _faulted(printer: JobControl) -> bool:
    """A fault or a stopped printer: a held job will not finish by itself. Never raises."""
    try:
        return bool(printer.stop_reasons())
    except PrinterError:
        return False


def job_fate(printer: JobControl, job_id: int, job_name: str, wait: float) -> JobFate:
    """Ask the printer what became of a job: wait up to ``wait`` seconds for it to end (not while the
    printer reports a fault, nor for a job held for its document: neither ends by itself), then kill
    it. A job the printer no longer knows is ``known`` False. Never raises."""
    until = time.monotonic() + wait
    while True:
        try:
            job: JobStatus | None = printer.get_job(job_id)
        except PrinterRejectedError as exc:
            if exc.status != Status.NOT_FOUND:
                log.warning("job %d: the printer refused to say: %s", job_id, exc)
            job = None
        except PrinterError as exc:
            log.warning("job %d: no answer from the printer: %s", job_id, exc)
            printer.remember_unsettled(job_id, job_name)
            return JobFate(False, None, None, False)
        if job is None or (job.name and job.name != job_name):  # forgotten, or the id reused after a restart
            return JobFate(False, None, None, printer.kill_behind(job_name))
        held = job.state == JobState.PENDING_HELD  # waiting for a document the dead kiosk never sent
        if job.terminal or held or time.monotonic() >= until or _faulted(printer):
            break
        time.sleep(printer.poll_interval)
    settled = printer.kill_behind(job_name)
    if not job.terminal:
        last, settled = kill_job(printer, job_id, job_name)
        job = last or job
    pages = job.impressions_completed if printer.confirms_pages else None
    return JobFate(True, job.state, pages, settled)


class JobFollower:
    """Polls one job to its end, reporting progress and killing it on cancel, fault or timeout."""

    def __init__(
        self,
        printer: JobControl,
        job_id: int,
        job_name: str,
        total: int,
        on_progress: Callable[[PrintProgress], None] | None,
        deadline: float,
        cancel: threading.Event,
    ) -> None:
        self.printer, self.job_id, self.job_name, self.total = printer, job_id, job_name, total
        self.on_progress, self.deadline, self.cancel = on_progress, deadline, cancel
        self.pages = 0  # confirmed by the printer (stays 0 where the path cannot confirm)
        self.faults: tuple[str, ...] = ()
        self.last: PrintProgress | None = None
        self.failing_since: float | None = None

    def run(self) -> PrintResult:
        """Follow the job to its end. Raises PrinterUnavailableError (printer gone; the job is killed
        as far as possible, ``settled`` says whether that was confirmed)."""
        while True:
            job = self._poll()
            if job is not None:
                self._report(job)
                if job.terminal:
                    return self._result(job, None, settled=True)
                if self.cancel.is_set():
                    return self._stop(PrintOutcome.CANCELED, ("canceled-by-kiosk",), "Canceled.")
                if self.faults:  # a stopped printer is a fault at once: nothing comes out until staff act
                    return self._stop(PrintOutcome.ABORTED, self.faults, fault_message(self.faults))
            if time.monotonic() >= self.deadline:
                return self._stop(PrintOutcome.ABORTED, ("timeout",), "The printer did not finish in time.")
            self.cancel.wait(self.printer.poll_interval)

    def _poll(self) -> JobStatus | None:
        """Job status plus printer faults; None on a transient failure (raises after the grace time)."""
        try:
            job = self.printer.get_job(self.job_id)
            self.faults = self.printer.stop_reasons()
        except PrinterRejectedError as exc:
            if exc.status != Status.NOT_FOUND:
                raise
            return self._forgotten()
        except PrinterUnavailableError as exc:
            now = time.monotonic()
            self.failing_since = self.failing_since or now
            if now - self.failing_since < self.printer.unavailable_grace:
                return None
            _job, settled = kill_job(self.printer, self.job_id, self.job_name)
            raise PrinterUnavailableError(
                f"{exc} during job {self.job_id} after {self.pages} confirmed page(s)",
                job_id=self.job_id,
                pages_confirmed=self.pages,
                settled=settled,
                confirmed=self.printer.confirms_pages,
            ) from exc
        self.failing_since = None
        if job.name and job.name != self.job_name:
            return self._forgotten()
        self._count(job)
        return job

    def _forgotten(self) -> JobStatus:
        """The printer restarted or purged the job (not found, or its id names another job now): nothing
        more of it will print, and what came out is what it confirmed before."""
        log.warning("printer job %d: the printer no longer knows it", self.job_id)
        message = "The printer no longer knows the job."
        return JobStatus(
            self.job_id, JobState.ABORTED, ("job-forgotten",), message, self.pages, self.job_name
        )

    def _count(self, job: JobStatus | None) -> None:
        if job is not None and self.printer.confirms_pages:
            self.pages = min(max(self.pages, job.impressions_completed), self.total)

    def _report(self, job: JobStatus) -> None:
        progress = PrintProgress(
            self.job_id, job.state, self.pages, self.total, self.faults + job.reasons, job.message
        )
        if self.on_progress is None or progress == self.last:
            return
        self.last = progress
        try:
            self.on_progress(progress)
        except Exception:  # a broken UI callback must not leave the job running unwatched
            log.exception("printer progress callback failed")

    def _stop(self, outcome: PrintOutcome, reasons: tuple[str, ...], message: str) -> PrintResult:
        """Kill the job (confirmed, or remembered as unsettled), then report ``outcome``."""
        log.warning("printer job %d: giving up (%s)", self.job_id, ", ".join(reasons))
        job, settled = kill_job(self.printer, self.job_id, self.job_name)
        self._count(job)
        if job is not None and job.state == JobState.COMPLETED and settled:
            return self._result(job, None, settled=True)
        return self._result(job, (outcome, reasons, message), settled=settled)

    def _result(
        self,
        job: JobStatus | None,
        override: tuple[PrintOutcome, tuple[str, ...], str] | None,
        *,
        settled: bool,
    ) -> PrintResult:
        job_reasons = job.reasons if job is not None else ()
        reasons = tuple(dict.fromkeys(self.faults + job_reasons))
        if override is not None:
            outcome, first, message = override
            reasons = tuple(dict.fromkeys(first + reasons))
        else:
            state = job.state if job is not None else JobState.ABORTED
            outcome = _OUTCOMES.get(state, PrintOutcome.ABORTED)
            message = fault_message(reasons) or (job.message if job is not None else "")
        confirmed = self.printer.confirms_pages
        pages = self.total if outcome is PrintOutcome.COMPLETED and confirmed else self.pages
        log.info(
            "printer job %d: %s, %d/%d page(s)%s (%s)",
            self.job_id,
            outcome.value,
            pages,
            self.total,
            "" if confirmed else " unconfirmed",
            ", ".join(reasons) or "-",
        )
        message = message or outcome.value
        return PrintResult(outcome, pages, self.total, reasons, message, self.job_id, confirmed, settled)


_OUTCOMES: dict[int, PrintOutcome] = {
    JobState.COMPLETED: PrintOutcome.COMPLETED,
    JobState.CANCELED: PrintOutcome.CANCELED,
}
