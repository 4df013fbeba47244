"""Following and killing a job against a scripted printer (no IPP): a stopped printer is a fault at once;
a given-up job is dead only when the printer says so; a printer that forgot the job prints no more of it."""

from __future__ import annotations

import threading
import time
from collections import deque

import pytest

from kiosk.devices.printer.errors import PrinterRejectedError, PrinterUnavailableError
from kiosk.devices.printer.follow import JobFollower, job_fate, kill_job
from kiosk.devices.printer.ipp_constants import JobState, Status
from kiosk.devices.printer.status import JobStatus, PrintOutcome


class ScriptedPrinter:
    """Answers Get-Job-Attributes from a script (the last answer repeats); records cancels."""

    poll_interval = 0.01
    unavailable_grace = 0.05
    stop_wait = 0.3

    def __init__(
        self, *jobs: JobStatus | Exception, reasons: tuple[str, ...] = (), cups: bool = False
    ) -> None:
        self.script: deque[JobStatus | Exception] = deque(jobs)
        self.reasons = reasons
        self.cancels: list[int] = []
        self.cups = cups
        self.unsettled: dict[int, str] = {}
        self.behind_ok = True

    @property
    def confirms_pages(self) -> bool:
        return not self.cups

    def get_job(self, job_id: int) -> JobStatus:
        answer = self.script.popleft() if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def cancel_job(self, job_id: int) -> None:
        self.cancels.append(job_id)

    def stop_reasons(self) -> tuple[str, ...]:
        return self.reasons

    def kill_behind(self, job_name: str) -> bool:
        return self.behind_ok

    def remember_unsettled(self, job_id: int, job_name: str) -> None:
        self.unsettled[job_id] = job_name


def job(state: JobState, done: int, name: str = "DOC-1") -> JobStatus:
    return JobStatus(1, state, (), "", done, name)


def follow(printer: ScriptedPrinter, *, total: int = 3, timeout: float = 5.0) -> JobFollower:
    return JobFollower(printer, 1, "DOC-1", total, None, time.monotonic() + timeout, threading.Event())


def test_a_stopped_printer_is_a_fault_at_once_and_the_job_is_killed() -> None:
    printer = ScriptedPrinter(
        job(JobState.PROCESSING, 1),
        job(JobState.PROCESSING, 1),
        job(JobState.CANCELED, 1),
        reasons=("paused",),
    )
    started = time.monotonic()
    result = follow(printer, timeout=30).run()
    assert time.monotonic() - started < 2
    assert (result.outcome, result.pages_printed, result.settled) == (PrintOutcome.ABORTED, 1, True)
    assert result.reasons[0] == "paused" and printer.cancels == [1]


def test_a_job_still_printing_after_the_cancel_is_unsettled_and_remembered() -> None:
    printer = ScriptedPrinter(job(JobState.PROCESSING, 1), reasons=("media-jam",))
    result = follow(printer).run()
    assert result.settled is False and printer.unsettled == {1: "DOC-1"}


def test_a_terminal_job_is_dead_only_once_its_impressions_stop_rising() -> None:
    printer = ScriptedPrinter(job(JobState.CANCELED, 1), job(JobState.CANCELED, 2), job(JobState.CANCELED, 3))
    last, settled = kill_job(printer, 1, "DOC-1")
    assert settled and last is not None and last.impressions_completed == 3  # 1 -> 2 -> 3 -> 3
    rising = ScriptedPrinter(*(job(JobState.CANCELED, n) for n in range(1, 200)))
    assert kill_job(rising, 1, "DOC-1")[1] is False  # never two equal looks before stop_wait


def test_a_printer_that_forgot_the_job_or_reused_its_id_prints_no_more_of_it() -> None:
    forgot = ScriptedPrinter(PrinterRejectedError(Status.NOT_FOUND, "gone"))
    assert kill_job(forgot, 1, "DOC-1")[1]
    reused = ScriptedPrinter(job(JobState.PROCESSING, 0, name="DOC-OTHER"))
    assert kill_job(reused, 1, "DOC-1")[1]
    fate = job_fate(reused, 1, "DOC-1", wait=0.1)
    assert (fate.known, fate.pages, fate.settled) == (False, None, True)


def test_an_unreachable_printer_leaves_the_job_unsettled_without_waiting() -> None:
    printer = ScriptedPrinter(PrinterUnavailableError("gone"))
    printer.stop_wait = 30
    started = time.monotonic()
    assert kill_job(printer, 1, "DOC-1")[1] is False
    assert time.monotonic() - started < 1 and 1 in printer.unsettled


def test_through_cups_pages_are_unconfirmed_and_the_printer_behind_must_confirm_the_cancel() -> None:
    done = ScriptedPrinter(job(JobState.PROCESSING, 3), job(JobState.COMPLETED, 3), cups=True)
    result = follow(done).run()
    assert (result.outcome, result.pages_printed, result.confirmed) == (PrintOutcome.COMPLETED, 0, False)
    stuck = ScriptedPrinter(
        job(JobState.PROCESSING, 3), job(JobState.CANCELED, 3), cups=True, reasons=("paused",)
    )
    stuck.behind_ok = False  # the printer behind the queue did not answer
    assert follow(stuck).run().settled is False


def test_recovery_waits_for_a_job_still_printing() -> None:
    printer = ScriptedPrinter(
        job(JobState.PROCESSING, 1), job(JobState.PROCESSING, 2), job(JobState.COMPLETED, 3)
    )
    fate = job_fate(printer, 1, "DOC-1", wait=5)
    assert (fate.known, fate.completed, fate.pages, fate.settled) == (True, True, 3, True)
    assert printer.cancels == []


@pytest.mark.parametrize("state", [JobState.PROCESSING, JobState.PENDING_HELD])
def test_recovery_kills_a_job_that_does_not_end_in_time(state: JobState) -> None:
    printer = ScriptedPrinter(job(state, 1))
    fate = job_fate(printer, 1, "DOC-1", wait=0.1)
    assert printer.cancels == [1] and fate.settled is False and fate.pages == 1


@pytest.mark.parametrize(
    "gone", [PrinterRejectedError(Status.NOT_FOUND, "gone"), job(JobState.PROCESSING, 0, name="DOC-NEW")]
)
def test_a_job_the_printer_forgets_mid_print_ends_with_the_pages_it_confirmed(
    gone: JobStatus | Exception,
) -> None:
    printer = ScriptedPrinter(job(JobState.PROCESSING, 1), gone)
    result = follow(printer).run()
    assert (result.outcome, result.pages_printed, result.settled) == (PrintOutcome.ABORTED, 1, True)
    assert "job-forgotten" in result.reasons and printer.cancels == []


@pytest.mark.parametrize(
    ("state", "reasons"), [(JobState.PENDING_HELD, ()), (JobState.PROCESSING_STOPPED, ("media-jam",))]
)
def test_recovery_does_not_wait_for_a_job_that_cannot_end_by_itself(
    state: JobState, reasons: tuple[str, ...]
) -> None:
    printer = ScriptedPrinter(job(state, 1), reasons=reasons)
    started = time.monotonic()
    fate = job_fate(printer, 1, "DOC-1", wait=30)
    assert time.monotonic() - started < 2 and printer.cancels == [1] and fate.pages == 1
