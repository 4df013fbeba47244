"""The kiosk's printer driver: certificates to a network printer over IPP (HTTP POST, ``application/ipp``).

Decisions:
- **Job submission** follows ``operations-supported``: Create-Job + Send-Document when both are
  listed (the job id exists before the document is sent, so a failed transfer can still be
  canceled), else Print-Job. ``server-error-busy`` (ippeveprinter prints one job at a time) is
  retried until the caller's timeout.
- **Document format**: ``application/pdf`` when the printer lists it (office MFPs and laser
  printers, and ippeveprinter with ``-f application/pdf``), otherwise ``image/pwg-raster`` (sgray_8,
  300 dpi) rendered locally with poppler (:mod:`kiosk.devices.printer.render`): PWG raster is the one
  format every IPP Everywhere printer must take, and ippeveprinter's default formats are PWG
  raster and URF, not PDF. Printers with neither (URF-only) are refused with a clear error.
- **Progress** is ``job-impressions-completed`` (Get-Job-Attributes polling) against the total
  from the PDF page count (``pdfinfo``; see print_render). A completed job counts as every page
  printed; an aborted or canceled job counts only what the printer confirmed, which errs towards
  refunding the resident.
- **Faults**: a fault reason on the printer while our job runs (media-empty, media-jam,
  cover-open, marker-supply-empty, …) ends the job: real printers hold the job and wait for
  staff, which a kiosk cannot, so we cancel it and report ``aborted`` with the pages that came out.
- **A vanished printer** (connection refused/reset, read timeout) raises PrinterUnavailableError
  once requests have failed for ``unavailable_grace`` seconds; every request has a timeout, so
  nothing waits forever.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable

import requests

from kiosk.devices.printer import ipp
from kiosk.devices.printer.ipp_constants import GroupTag, JobState, Operation, Status, ValueTag
from kiosk.devices.printer.render import PrintDocumentError, count_pdf_pages, pdf_to_pwg_raster
from kiosk.devices.printer.status import (
    JobStatus,
    PrinterHealth,
    PrinterStatus,
    PrintOutcome,
    PrintProgress,
    PrintResult,
    fault_message,
)

__all__ = [
    "IppPrinter",
    "JobStatus",
    "PrintDocumentError",
    "PrintOutcome",
    "PrintProgress",
    "PrintResult",
    "PrinterError",
    "PrinterHealth",
    "PrinterNotReadyError",
    "PrinterProtocolError",
    "PrinterRejectedError",
    "PrinterStatus",
    "PrinterUnavailableError",
]

log = logging.getLogger(__name__)

PDF = "application/pdf"
PWG_RASTER = "image/pwg-raster"
_PRINTER_QUERY = (
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "printer-make-and-model",
    "printer-name",
    "document-format-supported",
    "operations-supported",
    "media-ready",
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-type-supported",
)
_STATE_QUERY = (
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
)
_JOB_QUERY = ("job-state", "job-state-reasons", "job-state-message", "job-impressions-completed")
_RETRY_STATUSES = (Status.BUSY, Status.SERVICE_UNAVAILABLE, Status.TEMPORARY_ERROR)


class PrinterError(Exception):
    """Base of the printer driver's errors."""


class PrinterUnavailableError(PrinterError):
    """The printer cannot be reached or stopped answering. ``pages_confirmed`` were out before that."""

    def __init__(self, message: str, *, job_id: int | None = None, pages_confirmed: int = 0) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.pages_confirmed = pages_confirmed


class PrinterProtocolError(PrinterError):
    """The printer answered something that is not a valid IPP response (or not HTTP 200)."""


class PrinterRejectedError(PrinterError):
    """The printer answered with an IPP error status (kept in ``status``, unknown codes included)."""

    def __init__(self, status: int, message: str) -> None:
        name = Status(status).name if status in Status._value2member_map_ else "unknown"
        super().__init__(f"printer refused: 0x{status:04X} {name}{': ' + message if message else ''}")
        self.status = status


class PrinterNotReadyError(PrinterError):
    """The printer has a fault or does not accept jobs, so nothing was sent. ``status`` says why."""

    def __init__(self, status: PrinterStatus) -> None:
        reason = fault_message(status.faults) or status.state_message or "not accepting jobs"
        super().__init__(f"printer not ready: {reason} ({', '.join(status.state_reasons) or 'no reasons'})")
        self.status = status


def _endpoints(uri: str) -> tuple[str, str]:
    """(HTTP URL to POST to, ipp/ipps URI for ``printer-uri``); raises ValueError for other schemes."""
    parts = urllib.parse.urlsplit(uri)
    schemes = {
        "ipp": ("http", "ipp"),
        "http": ("http", "ipp"),
        "ipps": ("https", "ipps"),
        "https": ("https", "ipps"),
    }
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"not an ipp://, ipps://, http:// or https:// printer URI: {uri!r}")
    http_scheme, ipp_scheme = schemes[parts.scheme]
    netloc = parts.netloc if parts.port or parts.scheme.startswith("http") else f"{parts.netloc}:631"
    path = parts.path or "/ipp/print"
    return (
        urllib.parse.urlunsplit((http_scheme, netloc, path, "", "")),
        urllib.parse.urlunsplit((ipp_scheme, netloc, path, "", "")),
    )


def _attr(name: str, tag: ValueTag, *values: ipp.Value) -> ipp.Attribute:
    return ipp.Attribute(name, tag, values)


class IppPrinter:
    """One IPP printer. Methods block the calling thread (with timeouts); use one thread per printer."""

    def __init__(
        self,
        uri: str,
        *,
        user: str = "myna-kiosk",
        request_timeout: float = 5.0,
        poll_interval: float = 0.25,
        unavailable_grace: float = 2.0,
        stop_wait: float = 10.0,
    ) -> None:
        """Raises ValueError for a URI that is not ipp/ipps/http/https."""
        self.uri = uri
        self._http_url, self._printer_uri = _endpoints(uri)
        self._user = user
        self._request_timeout = request_timeout
        self._poll = poll_interval
        self._grace = unavailable_grace
        self._stop_wait = stop_wait
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._version = (2, 0)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._session.close()

    # ------------------------------------------------------------------------------- transport

    def _call(
        self,
        operation: Operation,
        attributes: tuple[ipp.Attribute, ...] = (),
        job_attributes: tuple[ipp.Attribute, ...] = (),
        data: bytes = b"",
    ) -> ipp.IppMessage:
        """One IPP request. Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError."""
        request_id = next(self._ids)
        head = (
            _attr("attributes-charset", ValueTag.CHARSET, "utf-8"),
            _attr("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en"),
            _attr("printer-uri", ValueTag.URI, self._printer_uri),
            _attr("requesting-user-name", ValueTag.NAME, self._user),
        )
        groups = [ipp.AttributeGroup(GroupTag.OPERATION, head + attributes)]
        if job_attributes:
            groups.append(ipp.AttributeGroup(GroupTag.JOB, job_attributes))
        body = ipp.encode(ipp.IppMessage(operation, request_id, tuple(groups), self._version, data))
        log.debug("IPP %s request %d (%d bytes)", operation.name, request_id, len(body))
        try:
            with self._lock:
                reply = self._session.post(
                    self._http_url,
                    data=body,
                    timeout=self._request_timeout,
                    headers={"Content-Type": "application/ipp"},
                )
        except requests.RequestException as exc:
            raise PrinterUnavailableError(f"printer {self.uri} unreachable: {type(exc).__name__}") from exc
        if reply.status_code != 200:
            raise PrinterProtocolError(f"printer {self.uri} answered HTTP {reply.status_code}")
        try:
            response = ipp.decode(reply.content)
        except ipp.IppError as exc:
            raise PrinterProtocolError(f"printer {self.uri} sent a malformed IPP response: {exc}") from exc
        if response.request_id != request_id:
            raise PrinterProtocolError(f"response request-id {response.request_id} != {request_id}")
        if response.code == Status.VERSION_NOT_SUPPORTED and self._version != (1, 1):
            self._version = (1, 1)  # an IPP/1.1-only printer: ask again in 1.1
            return self._call(operation, attributes, job_attributes, data)
        if response.code >= 0x0400:
            message = response.find("status-message", GroupTag.OPERATION)
            raise PrinterRejectedError(response.code, str(message.value) if message else "")
        return response

    def _job_target(self, job_id: int) -> tuple[ipp.Attribute, ...]:
        return (_attr("job-id", ValueTag.INTEGER, job_id),)

    # ------------------------------------------------------------------------------- status

    def get_printer_attributes(self, *, full: bool = True) -> PrinterStatus:
        """Printer state, reasons, formats, operations, make and model.

        Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError.
        """
        names = _PRINTER_QUERY if full else _STATE_QUERY
        response = self._call(
            Operation.GET_PRINTER_ATTRIBUTES, (_attr("requested-attributes", ValueTag.KEYWORD, *names),)
        )
        return PrinterStatus.from_response(self.uri, response)

    def health(self) -> PrinterHealth:
        """Staff diagnostics; never raises: an unreachable or broken printer gives ``ok=False``."""
        try:
            return PrinterHealth.from_status(self.get_printer_attributes())
        except PrinterError as exc:
            return PrinterHealth(False, str(exc), (f"printer: {self.uri}", f"error: {exc}"), None)

    def get_job(self, job_id: int) -> JobStatus:
        """State, reasons and pages done of one job.

        Raises PrinterRejectedError (client-error-not-found once the printer forgot the job),
        PrinterUnavailableError, PrinterProtocolError.
        """
        query = _attr("requested-attributes", ValueTag.KEYWORD, *_JOB_QUERY)
        response = self._call(Operation.GET_JOB_ATTRIBUTES, (*self._job_target(job_id), query))
        return JobStatus.from_response(job_id, response)

    def cancel_job(self, job_id: int) -> None:
        """Ask the printer to cancel the job.

        Raises PrinterRejectedError (e.g. client-error-not-possible: the job already ended),
        PrinterUnavailableError, PrinterProtocolError.
        """
        self._call(Operation.CANCEL_JOB, self._job_target(job_id))

    # ------------------------------------------------------------------------------- printing

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
        """Print ``pdf`` and follow the job to its end; ``on_progress`` runs on this thread per change.

        ``job_name`` is logged and shown on the printer's panel: a document/order id, never personal data.

        Returns the PrintResult once the job ended (completed, aborted by a fault or timeout, canceled
        through ``cancel``). Raises PrintDocumentError (not a readable PDF), PrinterNotReadyError
        (fault before the start, nothing sent), PrinterRejectedError (job refused, nothing printed),
        PrinterUnavailableError (printer gone; ``pages_confirmed`` tells what came out),
        PrinterProtocolError, ValueError (copies < 1).
        """
        if copies < 1:
            raise ValueError("copies must be at least 1")
        cancel = cancel or threading.Event()
        deadline = time.monotonic() + timeout
        total = count_pdf_pages(pdf) * copies
        status = self.get_printer_attributes()
        if not status.ready:
            raise PrinterNotReadyError(status)
        document_format, document = self._prepare(pdf, status)
        job_id = self._submit(document, document_format, job_name, copies, status, deadline, cancel)
        if job_id is None:
            return PrintResult(PrintOutcome.CANCELED, 0, total, ("canceled-before-start",), "Canceled.", None)
        log.info("printer job %d: %s, %d page(s), %s", job_id, job_name, total, document_format)
        return _JobFollower(self, job_id, total, on_progress, deadline, cancel).run()

    def _prepare(self, pdf: bytes, status: PrinterStatus) -> tuple[str, bytes]:
        if PDF in status.document_formats:
            return PDF, pdf
        gray_ok = not status.raster_types or "sgray_8" in status.raster_types
        if PWG_RASTER in status.document_formats and gray_ok:
            resolutions = status.raster_resolutions
            dpi = 300 if 300 in resolutions or not resolutions else min(resolutions)
            return PWG_RASTER, pdf_to_pwg_raster(pdf, dpi=dpi)
        raise PrinterRejectedError(
            Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
            f"printer takes neither PDF nor sgray_8 PWG raster: {', '.join(status.document_formats)}",
        )

    def _submit(
        self,
        document: bytes,
        document_format: str,
        job_name: str,
        copies: int,
        status: PrinterStatus,
        deadline: float,
        cancel: threading.Event,
    ) -> int | None:
        """Send the job, retrying while the printer is busy; the job id, or None if canceled first."""
        job_attributes = (_attr("copies", ValueTag.INTEGER, copies),) if copies > 1 else ()
        name = (_attr("job-name", ValueTag.NAME, job_name),)
        fmt = (_attr("document-format", ValueTag.MIME_TYPE, document_format),)
        two_step = status.supports(Operation.CREATE_JOB) and status.supports(Operation.SEND_DOCUMENT)
        while not cancel.is_set():
            try:
                if not two_step:
                    response = self._call(Operation.PRINT_JOB, name + fmt, job_attributes, document)
                    return _job_id(response)
                job_id = _job_id(self._call(Operation.CREATE_JOB, name, job_attributes))
                self._send_document(job_id, fmt, document)
                return job_id
            except PrinterRejectedError as exc:
                if exc.status not in _RETRY_STATUSES or time.monotonic() + self._poll >= deadline:
                    raise
                log.info("printer busy (0x%04X), retrying", exc.status)
                cancel.wait(self._poll)
        return None

    def _send_document(self, job_id: int, fmt: tuple[ipp.Attribute, ...], document: bytes) -> None:
        try:
            self._call(
                Operation.SEND_DOCUMENT,
                (*self._job_target(job_id), *fmt, _attr("last-document", ValueTag.BOOLEAN, True)),
                data=document,
            )
        except PrinterError:
            try:  # do not leave a job without its document holding the printer
                self.cancel_job(job_id)
            except PrinterError:
                log.warning("could not cancel job %d after a failed Send-Document", job_id)
            raise


def _job_id(response: ipp.IppMessage) -> int:
    found = response.find("job-id", GroupTag.JOB)
    if found is None or type(found.value) is not int:
        raise PrinterProtocolError("job accepted but the response has no job-id")
    return found.value


class _JobFollower:
    """Polls one job to its end, reporting progress and stopping it on cancel, fault or timeout."""

    def __init__(
        self,
        printer: IppPrinter,
        job_id: int,
        total: int,
        on_progress: Callable[[PrintProgress], None] | None,
        deadline: float,
        cancel: threading.Event,
    ) -> None:
        self.printer, self.job_id, self.total = printer, job_id, total
        self.on_progress, self.deadline, self.cancel = on_progress, deadline, cancel
        self.pages = 0
        self.faults: tuple[str, ...] = ()
        self.last: PrintProgress | None = None
        self.failing_since: float | None = None

    def run(self) -> PrintResult:
        while True:
            job = self._poll()
            if job is not None:
                self._report(job)
                if job.terminal:
                    return self._result(job, None)
                if self.cancel.is_set():
                    return self._stop(PrintOutcome.CANCELED, ("canceled-by-kiosk",), "Canceled.")
                if self.faults:
                    return self._stop(PrintOutcome.ABORTED, self.faults, fault_message(self.faults))
            if time.monotonic() >= self.deadline:
                return self._stop(PrintOutcome.ABORTED, ("timeout",), "The printer did not finish in time.")
            self.cancel.wait(self.printer._poll)

    def _poll(self) -> JobStatus | None:
        """Job status plus printer faults; None on a transient failure (raises after the grace time)."""
        try:
            job = self.printer.get_job(self.job_id)
            self.faults = self.printer.get_printer_attributes(full=False).faults
        except PrinterUnavailableError as exc:
            now = time.monotonic()
            self.failing_since = self.failing_since or now
            if now - self.failing_since < self.printer._grace:
                return None
            raise PrinterUnavailableError(
                f"{exc} during job {self.job_id} after {self.pages} page(s)",
                job_id=self.job_id,
                pages_confirmed=self.pages,
            ) from exc
        self.failing_since = None
        self.pages = min(max(self.pages, job.impressions_completed), self.total)
        return job

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
        """Cancel the job, wait (briefly) for the printer to confirm, then report ``outcome``."""
        log.warning("printer job %d: stopping (%s)", self.job_id, ", ".join(reasons))
        try:
            job = self._cancel_and_wait()
        except PrinterUnavailableError as exc:
            raise PrinterUnavailableError(
                f"{exc} while stopping job {self.job_id}", job_id=self.job_id, pages_confirmed=self.pages
            ) from exc
        if job is not None and job.state == JobState.COMPLETED:
            return self._result(job, None)
        return self._result(job, (outcome, reasons, message))

    def _cancel_and_wait(self) -> JobStatus | None:
        try:
            self.printer.cancel_job(self.job_id)
        except PrinterRejectedError as exc:
            log.info("Cancel-Job refused (job probably ended): %s", exc)
        until = time.monotonic() + self.printer._stop_wait
        job: JobStatus | None = None
        while time.monotonic() < until:
            job = self.printer.get_job(self.job_id)
            self.pages = min(max(self.pages, job.impressions_completed), self.total)
            if job.terminal:
                break
            time.sleep(self.printer._poll)
        return job

    def _result(
        self, job: JobStatus | None, override: tuple[PrintOutcome, tuple[str, ...], str] | None
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
        pages = self.total if outcome is PrintOutcome.COMPLETED else self.pages
        log.info(
            "printer job %d: %s, %d/%d page(s) (%s)",
            self.job_id,
            outcome.value,
            pages,
            self.total,
            ", ".join(reasons) or "-",
        )
        return PrintResult(outcome, pages, self.total, reasons, message or outcome.value, self.job_id)


_OUTCOMES: dict[int, PrintOutcome] = {
    JobState.COMPLETED: PrintOutcome.COMPLETED,
    JobState.CANCELED: PrintOutcome.CANCELED,
}
