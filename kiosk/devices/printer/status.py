"""Printer and job status as frozen values, built from IPP responses; staff-readable fault texts.

``printer-state-reasons`` keywords arrive with a severity suffix (``media-empty-error``,
``-warning``, ``-report``; RFC 8011 §5.4.12, and ippeveprinter always adds one); they are stripped
here, once, so the rest of the kiosk matches plain keywords.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.devices.printer import ipp
from kiosk.devices.printer.ipp_constants import GroupTag, JobState, Operation, PrinterState

__all__ = [
    "FAULT_MESSAGES",
    "JobFate",
    "JobStatus",
    "PrintOutcome",
    "PrintProgress",
    "PrintResult",
    "PrinterHealth",
    "PrinterStatus",
    "fault_message",
    "strip_severity",
]

# Reasons that stop paper coming out until a person fixes the printer.
FAULT_MESSAGES: dict[str, str] = {
    "media-empty": "Out of paper: load paper into the tray.",
    "media-needed": "The printer is waiting for paper: load paper into the tray.",
    "media-jam": "Paper jam: open the printer, remove the jammed sheet, close it.",
    "cover-open": "A printer cover is open: close it.",
    "door-open": "A printer door is open: close it.",
    "interlock-open": "A printer interlock is open: close all covers.",
    "input-tray-missing": "The paper tray is missing: put it back.",
    "marker-supply-empty": "Toner or ink is empty: replace the cartridge.",
    "toner-empty": "Toner is empty: replace the toner cartridge.",
    "marker-waste-full": "The waste toner box is full: replace it.",
    "output-area-full": "The output tray is full: take the printed sheets out.",
    "output-tray-missing": "The output tray is missing: put it back.",
    "marker-supply-missing": "The toner or ink cartridge is missing: insert it.",
    "spool-area-full": "The printer's job memory is full: restart the printer.",
    "paused": "The printer (or its print queue) is paused: resume it.",
}
WARNING_MESSAGES: dict[str, str] = {
    "media-low": "Paper is low.",
    "toner-low": "Toner is low.",
    "marker-supply-low": "Toner or ink is low.",
    "marker-waste-almost-full": "The waste toner box is almost full.",
}
_SEVERITIES = ("-error", "-warning", "-report")


def strip_severity(keyword: str) -> str:
    """``media-empty-error`` → ``media-empty``."""
    for suffix in _SEVERITIES:
        if keyword.endswith(suffix):
            return keyword[: -len(suffix)]
    return keyword


def fault_message(reasons: tuple[str, ...]) -> str:
    """Staff-readable text for the first fault (or warning) among ``reasons``; '' if none."""
    for table in (FAULT_MESSAGES, WARNING_MESSAGES):
        for reason in reasons:
            if reason in table:
                return table[reason]
    return ""


def _strings(attribute: ipp.Attribute | None) -> tuple[str, ...]:
    values = attribute.values if attribute is not None else ()
    return tuple(
        v.text if isinstance(v, ipp.TextWithLanguage) else v
        for v in values
        if isinstance(v, str | ipp.TextWithLanguage)
    )


def _ints(attribute: ipp.Attribute | None) -> tuple[int, ...]:
    values = attribute.values if attribute is not None else ()
    return tuple(v for v in values if type(v) is int)


def _reasons(attribute: ipp.Attribute | None) -> tuple[str, ...]:
    return tuple(strip_severity(k) for k in _strings(attribute) if k != "none")


def _bool(attribute: ipp.Attribute | None) -> bool | None:
    return attribute.value if attribute is not None and isinstance(attribute.value, bool) else None


def _first(attribute: ipp.Attribute | None, default: str = "") -> str:
    strings = _strings(attribute)
    return strings[0] if strings else default


@dataclass(frozen=True)
class PrinterStatus:
    """What ``Get-Printer-Attributes`` said. Reasons are plain keywords (severity stripped, no 'none')."""

    uri: str
    state: PrinterState | int
    state_reasons: tuple[str, ...]
    state_message: str
    accepting_jobs: bool
    make_and_model: str
    name: str
    document_formats: tuple[str, ...]
    operations: tuple[int, ...]
    media_ready: tuple[str, ...]
    raster_resolutions: tuple[int, ...]  # pwg-raster-document-resolution-supported, dpi
    raster_types: tuple[str, ...]  # pwg-raster-document-type-supported (sgray_8, …)
    # What a CUPS scheduler says about itself and the queue ('' / False from a printer's own endpoint).
    cups_version: str = ""
    device_uri: str = ""  # the printer behind a CUPS queue
    shared: bool | None = None  # printer-is-shared: only CUPS queues have it

    @property
    def is_cups_queue(self) -> bool:
        """A CUPS queue, not a printer: the scheduler names its version or the device behind the queue."""
        return bool(self.cups_version or self.device_uri)

    @classmethod
    def from_response(cls, uri: str, response: ipp.IppMessage) -> PrinterStatus:
        """Build from a Get-Printer-Attributes response (missing attributes become empty)."""

        def get(name: str) -> ipp.Attribute | None:
            return response.find(name, GroupTag.PRINTER)

        state = _ints(get("printer-state"))
        accepting = get("printer-is-accepting-jobs")
        resolutions = get("pwg-raster-document-resolution-supported")
        return cls(
            uri=uri,
            state=_state(state[0]) if state else PrinterState.STOPPED,
            state_reasons=_reasons(get("printer-state-reasons")),
            state_message=_first(get("printer-state-message")),
            accepting_jobs=accepting is not None and accepting.value is True,
            make_and_model=_first(get("printer-make-and-model"), "unknown printer"),
            name=_first(get("printer-name")),
            document_formats=_strings(get("document-format-supported")),
            operations=_ints(get("operations-supported")),
            media_ready=_strings(get("media-ready")),
            raster_resolutions=tuple(
                r.x
                for r in (resolutions.values if resolutions else ())
                if isinstance(r, ipp.Resolution) and r.units == 3 and r.x == r.y
            ),
            raster_types=_strings(get("pwg-raster-document-type-supported")),
            cups_version=_first(get("cups-version")),
            device_uri=_first(get("device-uri")),
            shared=_bool(get("printer-is-shared")),
        )

    @property
    def faults(self) -> tuple[str, ...]:
        """Reasons that stop printing until a person acts (media-empty, media-jam, cover-open, …)."""
        return tuple(r for r in self.state_reasons if r in FAULT_MESSAGES)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(r for r in self.state_reasons if r in WARNING_MESSAGES)

    @property
    def stopped(self) -> bool:
        """``printer-state`` stopped or ``paused``: nothing comes out until a person resumes the printer."""
        return self.state == PrinterState.STOPPED or "paused" in self.state_reasons

    @property
    def stop_reasons(self) -> tuple[str, ...]:
        """The faults, plus ``paused`` for a stopped printer that names no fault."""
        if self.stopped and not self.faults:
            return ("paused",)
        return self.faults

    @property
    def ready(self) -> bool:
        """Accepting jobs, not stopped, and no fault reason."""
        return self.accepting_jobs and not self.stopped and not self.faults

    @property
    def paper_state(self) -> str:
        """'jam', 'empty', 'low' or 'ok'."""
        reasons = set(self.state_reasons)
        if "media-jam" in reasons:
            return "jam"
        if reasons & {"media-empty", "media-needed", "input-tray-missing"}:
            return "empty"
        return "low" if "media-low" in reasons else "ok"

    def supports(self, operation: Operation) -> bool:
        return int(operation) in self.operations


def _state(value: int) -> PrinterState | int:
    try:
        return PrinterState(value)
    except ValueError:
        return value


def job_state(value: int) -> JobState | int:
    """``job-state`` as a JobState when known, else the raw number."""
    try:
        return JobState(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class JobStatus:
    """What ``Get-Job-Attributes`` said about one job."""

    job_id: int
    state: JobState | int
    reasons: tuple[str, ...]
    message: str
    impressions_completed: int
    name: str = ""  # job-name, when the printer gave it

    @property
    def terminal(self) -> bool:
        return int(self.state) >= JobState.CANCELED

    @classmethod
    def from_response(cls, job_id: int, response: ipp.IppMessage) -> JobStatus:
        def get(name: str) -> ipp.Attribute | None:
            return response.find(name, GroupTag.JOB)

        state = _ints(get("job-state"))
        done = _ints(get("job-impressions-completed"))
        return cls(
            job_id,
            job_state(state[0]) if state else JobState.PENDING,
            _reasons(get("job-state-reasons")),
            _first(get("job-state-message")).strip(),
            max(done[0], 0) if done else 0,
            _first(get("job-name")),
        )


class PrintOutcome(StrEnum):
    COMPLETED = "completed"
    ABORTED = "aborted"
    CANCELED = "canceled"


@dataclass(frozen=True)
class PrintProgress:
    """Reported while a job runs: pages out so far (``job-impressions-completed``) of the total."""

    job_id: int
    state: JobState | int
    pages_done: int
    pages_total: int
    reasons: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class PrintResult:
    """How a job ended. ``pages_printed`` is what the printer confirmed (all pages if completed).

    ``confirmed`` False: the path cannot confirm pages (a CUPS queue counts pages when its filters
    convert the document, not when sheets come out), so ``pages_printed`` is 0 and the copy must not
    be charged as printed; staff check the tray. ``settled`` False: the kiosk gave up on the job but
    the printer did not confirm it dead (cancelled or aborted, no further impressions): it may still
    print, so the kiosk takes no new job until :meth:`IppPrinter.settle_given_up` confirms it.
    """

    outcome: PrintOutcome
    pages_printed: int
    pages_total: int
    reasons: tuple[str, ...]
    message: str
    job_id: int | None
    confirmed: bool = True
    settled: bool = True

    @property
    def completed(self) -> bool:
        return self.outcome is PrintOutcome.COMPLETED


@dataclass(frozen=True)
class JobFate:
    """What the printer says became of a job the kiosk lost sight of (crash recovery).

    ``known`` False: the printer no longer knows the job (restarted, history purged, unreachable).
    ``pages`` the impressions the printer confirms (None when unknown, or through a CUPS queue).
    ``settled`` the job is over and will print nothing more.
    """

    known: bool
    state: JobState | int | None
    pages: int | None
    settled: bool

    @property
    def completed(self) -> bool:
        return self.state == JobState.COMPLETED


@dataclass(frozen=True)
class PrinterHealth:
    """Staff diagnostics: ``ok`` plus readable lines; ``status`` is None if the printer did not answer."""

    ok: bool
    summary: str
    lines: tuple[str, ...]
    status: PrinterStatus | None

    @classmethod
    def from_status(cls, status: PrinterStatus) -> PrinterHealth:
        state = status.state.name.lower() if isinstance(status.state, PrinterState) else str(status.state)
        problems = fault_message(status.state_reasons)
        lines = (
            f"printer: {status.make_and_model} ({status.uri})",
            f"state: {state}, accepting jobs: {'yes' if status.accepting_jobs else 'no'}",
            f"reasons: {', '.join(status.state_reasons) or 'none'}",
            f"paper: {status.paper_state}; loaded: {', '.join(status.media_ready) or 'unknown'}",
            f"formats: {', '.join(status.document_formats) or 'none listed'}",
        )
        summary = "ready" if status.ready else (problems or status.state_message or "not ready")
        if status.ready and status.warnings:
            summary = "ready; " + fault_message(status.warnings)
        return cls(status.ready, summary, lines, status)
