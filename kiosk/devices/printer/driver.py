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
  refunding the resident. The job id is reported (a progress of 0 pages) as soon as it exists, so
  the caller can journal it before any page can come out.
- **Faults**: a fault reason on the printer while our job runs (media-empty, media-jam,
  cover-open, marker-supply-empty, …), or a stopped/paused printer, ends the job at once: real
  printers hold the job and wait for staff, which a kiosk cannot.
- **A given-up job is dead** (:mod:`kiosk.devices.printer.follow`): cancelled, and confirmed
  canceled/aborted with no further impressions; until then no new job is sent.
- **The path**: a CUPS queue (it names ``cups-version`` and its ``device-uri``) is refused unless
  ``through_cups``; through it, page counts are the scheduler's, so they are unconfirmed.
- **A vanished printer** (connection refused/reset, read timeout) raises PrinterUnavailableError
  once requests have failed for ``unavailable_grace`` seconds; every request has a timeout, so
  nothing waits forever.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable

from kiosk.devices.printer import ipp
from kiosk.devices.printer.endpoint import IppEndpoint, job_id_of
from kiosk.devices.printer.errors import (
    CupsQueueError,
    PrinterError,
    PrinterJobUnsettledError,
    PrinterNotReadyError,
    PrinterProtocolError,
    PrinterRejectedError,
    PrinterUnavailableError,
)
from kiosk.devices.printer.follow import JobFollower, job_fate, kill_job
from kiosk.devices.printer.ipp_constants import JobState, Operation, Status, ValueTag
from kiosk.devices.printer.render import PrintDocumentError, count_pdf_pages, pdf_to_pwg_raster
from kiosk.devices.printer.status import (
    JobFate,
    JobStatus,
    PrinterHealth,
    PrinterStatus,
    PrintOutcome,
    PrintProgress,
    PrintResult,
)
from kiosk.devices.printer.transport import attr

__all__ = [
    "CupsQueueError",
    "IppPrinter",
    "JobStatus",
    "PrintDocumentError",
    "PrintOutcome",
    "PrintProgress",
    "PrintResult",
    "PrinterError",
    "PrinterHealth",
    "PrinterJobUnsettledError",
    "PrinterNotReadyError",
    "PrinterProtocolError",
    "PrinterRejectedError",
    "PrinterStatus",
    "PrinterUnavailableError",
]

log = logging.getLogger(__name__)

PDF = "application/pdf"
PWG_RASTER = "image/pwg-raster"
_RETRY_STATUSES = (Status.BUSY, Status.SERVICE_UNAVAILABLE, Status.TEMPORARY_ERROR)


class IppPrinter(IppEndpoint):
    """One IPP printer. Methods block the calling thread (with timeouts); use one thread per printer.

    ``through_cups`` False (the default): a CUPS queue is refused (CupsQueueError) when first asked,
    naming the printer behind it. True: the queue is used, its page counts are unconfirmed, and the
    printer behind it (its ``device-uri``, when that is an IPP URI) is asked for faults and told to
    cancel a given-up job too.
    """

    def __init__(
        self,
        uri: str,
        *,
        user: str = "myna-kiosk",
        request_timeout: float = 5.0,
        poll_interval: float = 0.25,
        unavailable_grace: float = 2.0,
        stop_wait: float = 10.0,
        through_cups: bool = False,
    ) -> None:
        """Raises ValueError for a URI that is not ipp/ipps/http/https."""
        super().__init__(uri, user=user, request_timeout=request_timeout)
        self.poll_interval = poll_interval
        self.unavailable_grace = unavailable_grace
        self.stop_wait = stop_wait
        self.through_cups = through_cups
        self.queue: PrinterStatus | None = None  # set once the URI turned out to be a CUPS queue
        self._behind: IppPrinter | None = None  # the IPP printer behind that queue
        self._unsettled: dict[int, str] = {}  # given-up job id -> job name, not confirmed dead
        self._settling = threading.Lock()

    def close(self) -> None:
        """Close the HTTP connection pools."""
        super().close()
        if self._behind is not None:
            self._behind.close()

    # ------------------------------------------------------------------------------- path

    @property
    def confirms_pages(self) -> bool:
        """Whether page counts are the printer's own (False through a CUPS queue)."""
        return self.queue is None

    def check_path(self, status: PrinterStatus | None = None) -> PrinterStatus:
        """Ask what answers at the URI; a CUPS queue is refused unless ``through_cups``.

        Raises CupsQueueError, PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError.
        """
        status = status or self.get_printer_attributes()
        if not status.is_cups_queue:
            return status
        if not self.through_cups:
            raise CupsQueueError(self.uri, status)
        if self.queue is None:
            self.queue = status
            behind = urllib.parse.urlsplit(status.device_uri).scheme in ("ipp", "ipps", "http", "https")
            if behind:
                self._behind = IppPrinter(
                    status.device_uri,
                    user=self._user,
                    request_timeout=self._request_timeout,
                    poll_interval=self.poll_interval,
                    stop_wait=self.stop_wait,
                )
            log.warning(
                "printing through the CUPS %s queue %s (printer behind: %s): page counts unconfirmed",
                status.cups_version or "?",
                self.uri,
                status.device_uri or "unknown",
            )
        return status

    def stop_reasons(self) -> tuple[str, ...]:
        """Why paper cannot come out now: faults, or ``paused`` for a stopped printer or queue; () if
        none. Through a CUPS queue the faults are the printer's behind it (the queue keeps reasons its
        backend reported long after they are fixed). Raises PrinterError."""
        status = self.get_printer_attributes(full=False)
        if self._behind is None:
            return status.stop_reasons
        queue = ("paused",) if status.stopped else ()
        return tuple(dict.fromkeys(queue + self._behind.stop_reasons()))

    def kill_behind(self, job_name: str) -> bool:
        """Through a CUPS queue: cancel what the printer behind it still runs under ``job_name`` and
        confirm it dead; True if confirmed or there is no queue. Never raises."""
        if self.queue is None:
            return True
        if self._behind is None:
            return False  # a USB or socket printer behind the queue cannot be asked
        try:
            alive = [j for j in self._behind.find_jobs(job_name) if not j.terminal]
        except PrinterError as exc:
            log.warning("printer behind the queue: no answer about %s: %s", job_name, exc)
            return False
        return all(kill_job(self._behind, job.job_id, job_name)[1] for job in alive)

    @property
    def unsettled_jobs(self) -> tuple[int, ...]:
        """Given-up jobs not (yet) confirmed dead; no I/O (``settle_given_up`` asks the printer)."""
        return tuple(self._unsettled)

    def remember_unsettled(self, job_id: int, job_name: str) -> None:
        """A given-up job the printer has not confirmed dead: no new job until it is."""
        self._unsettled[job_id] = job_name

    def job_fate(self, job_id: int | None, job_name: str, *, wait: float) -> JobFate:
        """What became of a job the kiosk lost sight of (crash recovery): waits up to ``wait`` seconds
        for it to end, then kills it. ``job_id`` None (the kiosk died before it recorded the id): the
        printer's latest job of ``job_name``, if it has one. Never raises."""
        try:
            self.check_path()
            if job_id is None:
                jobs = self.find_jobs(job_name)
                if not jobs:
                    return JobFate(False, None, None, self.kill_behind(job_name))
                job_id = max(j.job_id for j in jobs)
        except PrinterError as exc:
            log.warning("printer job %s of %s: cannot ask %s: %s", job_id, job_name, self.uri, exc)
            if job_id is not None:
                self.remember_unsettled(job_id, job_name)
            return JobFate(False, None, None, False)
        return job_fate(self, job_id, job_name, wait)

    def settle_given_up(self) -> tuple[int, ...]:
        """Try again to confirm every given-up job dead; the ids still unconfirmed. Never raises.
        Thread-safe (the heartbeat's health check and a print may both ask)."""
        with self._settling:
            for job_id, name in list(self._unsettled.items()):
                self._unsettled.pop(job_id, None)
                kill_job(self, job_id, name)  # puts it back if still unconfirmed
            return tuple(self._unsettled)

    # ------------------------------------------------------------------------------- status

    def health(self) -> PrinterHealth:
        """Staff diagnostics; never raises: an unreachable or broken printer, a refused CUPS queue or a
        given-up job not confirmed dead gives ``ok=False``."""
        try:
            status = self.check_path()
            unsettled = self.settle_given_up()
            if unsettled:
                raise PrinterJobUnsettledError(unsettled)
            if self._behind is not None:  # the queue's own reasons go stale: the printer's instead
                status = dataclasses.replace(
                    status, state_reasons=self._behind.get_printer_attributes(full=False).state_reasons
                )
            return PrinterHealth.from_status(status)
        except PrinterError as exc:
            return PrinterHealth(False, str(exc), (f"printer: {self.uri}", f"error: {exc}"), None)

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

        The job id is reported first (``on_progress`` with 0 pages, state pending) as soon as the
        printer gave it, before the document is sent when the printer takes Create-Job.

        Returns the PrintResult once the job ended (completed, aborted by a fault or timeout, canceled
        through ``cancel``; a job given up is killed, ``settled`` says whether the printer confirmed it).
        Raises PrintDocumentError (not a readable PDF), CupsQueueError (a CUPS queue without
        ``through_cups``), PrinterJobUnsettledError (an earlier given-up job may still print, nothing
        sent), PrinterNotReadyError (fault or stopped printer before the start, nothing sent),
        PrinterRejectedError (job refused, nothing printed), PrinterUnavailableError (printer gone;
        ``pages_confirmed`` tells what it confirmed, ``settled`` whether the job is known dead),
        PrinterProtocolError, ValueError (copies < 1).
        """
        if copies < 1:
            raise ValueError("copies must be at least 1")
        cancel = cancel or threading.Event()
        deadline = time.monotonic() + timeout
        total = count_pdf_pages(pdf) * copies
        status = self.check_path()
        unsettled = self.settle_given_up()
        if unsettled:
            raise PrinterJobUnsettledError(unsettled)
        reasons = self.stop_reasons() if self._behind is not None else status.stop_reasons
        if not status.accepting_jobs or reasons:
            raise PrinterNotReadyError(
                dataclasses.replace(status, state_reasons=reasons or status.state_reasons)
            )
        document_format, document = self._prepare(pdf, status)

        def created(job_id: int) -> None:  # the job id reaches the caller before any page can print
            if on_progress is not None:
                on_progress(PrintProgress(job_id, JobState.PENDING, 0, total, (), ""))

        job_id = self._submit(document, document_format, job_name, copies, status, deadline, cancel, created)
        if job_id is None:
            return PrintResult(PrintOutcome.CANCELED, 0, total, ("canceled-before-start",), "Canceled.", None)
        log.info("printer job %d: %s, %d page(s), %s", job_id, job_name, total, document_format)
        return JobFollower(self, job_id, job_name, total, on_progress, deadline, cancel).run()

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
        created: Callable[[int], None],
    ) -> int | None:
        """Send the job, retrying while the printer is busy; the job id (given to ``created`` as soon as
        it exists), or None if canceled first."""
        job_attributes = (attr("copies", ValueTag.INTEGER, copies),) if copies > 1 else ()
        name = (attr("job-name", ValueTag.NAME, job_name),)
        fmt = (attr("document-format", ValueTag.MIME_TYPE, document_format),)
        two_step = status.supports(Operation.CREATE_JOB) and status.supports(Operation.SEND_DOCUMENT)
        while not cancel.is_set():
            try:
                if not two_step:
                    job_id = job_id_of(self._call(Operation.PRINT_JOB, name + fmt, job_attributes, document))
                    try:
                        created(job_id)
                    except Exception:  # it prints already: follow it, the pages are journaled as they come
                        log.exception("job %d: the caller could not record the job id", job_id)
                    return job_id
                job_id = job_id_of(self._call(Operation.CREATE_JOB, name, job_attributes))
                try:
                    created(job_id)
                except Exception:  # not recorded (journal): nothing may print that recovery cannot find
                    kill_job(self, job_id, job_name)
                    raise
                self._send_document(job_id, fmt, document)
                return job_id
            except PrinterRejectedError as exc:
                if exc.status not in _RETRY_STATUSES or time.monotonic() + self.poll_interval >= deadline:
                    raise
                log.info("printer busy (0x%04X), retrying", exc.status)
                cancel.wait(self.poll_interval)
        return None

    def _send_document(self, job_id: int, fmt: tuple[ipp.Attribute, ...], document: bytes) -> None:
        try:
            self._call(
                Operation.SEND_DOCUMENT,
                (*self._job_target(job_id), *fmt, attr("last-document", ValueTag.BOOLEAN, True)),
                data=document,
            )
        except PrinterError:
            try:  # do not leave a job without its document holding the printer
                self.cancel_job(job_id)
            except PrinterError:
                log.warning("could not cancel job %d after a failed Send-Document", job_id)
            raise
