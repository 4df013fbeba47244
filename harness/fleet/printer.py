"""A light IPP printer in this process, for fleets: the subset the kiosk's driver uses, no subprocess.

One ``ippeveprinter`` plus a Python print engine per job is too heavy for 50 kiosks on 2 cores, so each
fleet kiosk prints to a :class:`LightPrinter`: a threaded HTTP server on 127.0.0.1 (port 0) answering
Get-Printer-Attributes, Print-Job, Validate-Job, Get-Job-Attributes, Get-Jobs and Cancel-Job with the
same attributes ippeveprinter reports (printer-state, printer-state-reasons, job-state,
job-impressions-completed, ...). Pages come out one per ``page_seconds`` from the job's start; a jam at
sheet N (``jam_at``) stops the job after N-1 sheets with ``media-jam`` on the printer until :meth:`clear`;
paper out (``paper_left`` sheets, then ``media-empty``) likewise. The tray directory keeps each job's PDF
(``<job id>.pdf``) and, once stopped, what came out of each job (``jobs.jsonl``, :class:`TrayJob`); tests
check the IPP subset with CUPS's ``ipptool``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kiosk.devices.printer import ipp
from kiosk.devices.printer.ipp_constants import GroupTag, JobState, Operation, PrinterState, Status, ValueTag

log = logging.getLogger(__name__)

_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_OPERATIONS = (
    Operation.PRINT_JOB,
    Operation.VALIDATE_JOB,
    Operation.CANCEL_JOB,
    Operation.GET_JOB_ATTRIBUTES,
    Operation.GET_JOBS,
    Operation.GET_PRINTER_ATTRIBUTES,
)


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF written without object streams (reportlab's): its ``/Type /Page`` objects."""
    return len(_PAGE.findall(pdf))


@dataclass
class TrayJob:
    """One job: its name (the document id), the PDF, its pages, and the sheets that came out."""

    job_id: int
    name: str
    pages: int
    started: float
    sheets_out: int = 0
    state: int = JobState.PROCESSING
    fault: str = ""


def _a(name: str, tag: int, *values: ipp.Value) -> ipp.Attribute:
    return ipp.Attribute(name, tag, values)


class LightPrinter:
    """``ipp://127.0.0.1:<port>/ipp/print``; ``start()``/``stop()`` or a context manager."""

    def __init__(self, tray: Path, *, page_seconds: float = 0.05, name: str = "MynaFleetPrinter") -> None:
        self.tray = tray
        self.page_seconds = page_seconds
        self.name = name
        self.jobs: dict[int, TrayJob] = {}
        self.jam_at: int | None = None  # sheet number (from now) that jams
        self.paper_left: int | None = None  # None: endless
        self.fault = ""  # media-jam / media-empty while it stays
        self._sheets = 0  # sheets fed since the last arm
        self._lock = threading.Lock()
        self._ids = iter(range(1, 1 << 31))
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # --- controls ------------------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The printer's IPP URI. Raises RuntimeError before start()."""
        if not self._port:
            raise RuntimeError("the printer has not started")
        return f"ipp://127.0.0.1:{self._port}/ipp/print"

    def arm(self, *, jam_at: int | None = None, paper_left: int | None = None) -> None:
        """Jam at the ``jam_at``-th sheet from now, or run out of paper after ``paper_left`` sheets."""
        with self._lock:
            self.jam_at, self.paper_left, self._sheets = jam_at, paper_left, 0

    def clear(self) -> None:
        """Staff clear the jam and load paper: no fault, nothing armed."""
        with self._lock:
            self.jam_at = self.paper_left = None
            self.fault = ""

    def start(self) -> LightPrinter:
        """Bind 127.0.0.1 port 0 and serve in a daemon thread. Raises OSError."""
        self.tray.mkdir(parents=True, exist_ok=True)
        printer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = printer.answer(self._body())
                self.send_response(200)
                self.send_header("Content-Type", "application/ipp")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                """The request body, sized or chunked (CUPS clients send documents chunked)."""
                if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():  # trailers, up to the blank line
                    pass
                return b"".join(parts)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, name="light-printer", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket, and write what came out of each job to ``tray/jobs.jsonl``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            with self._lock:
                self._tick()
                lines = [json.dumps(dataclasses.asdict(job)) + "\n" for job in self.jobs.values()]
            (self.tray / "jobs.jsonl").write_text("".join(lines), encoding="utf-8")

    def __enter__(self) -> LightPrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the print engine: pages by elapsed time ------------------------------------------------------
    def _advance(self, job: TrayJob, now: float) -> None:
        """Feed the sheets due by ``now`` (under the lock), stopping at a fault."""
        if job.state != JobState.PROCESSING:
            return
        due = min(job.pages, int((now - job.started) / self.page_seconds))
        while job.sheets_out < due and job.state == JobState.PROCESSING:
            if self.fault:
                return
            self._sheets += 1
            if self.paper_left is not None and self.paper_left <= 0:
                self.fault = job.fault = "media-empty"
                return
            if self.jam_at is not None and self._sheets == self.jam_at:
                self.fault = job.fault = "media-jam"
                return
            if self.paper_left is not None:
                self.paper_left -= 1
            job.sheets_out += 1
        if job.sheets_out >= job.pages:
            job.state = JobState.COMPLETED

    def _tick(self) -> None:
        now = time.monotonic()
        for job in self.jobs.values():
            self._advance(job, now)

    # --- IPP -------------------------------------------------------------------------------------------
    def answer(self, raw: bytes) -> bytes:
        """One IPP request → the encoded response (a malformed request gets client-error-bad-request)."""
        try:
            request = ipp.decode(raw)
        except ipp.IppError:
            version = (raw[0], raw[1]) if len(raw) >= 8 and (raw[0], raw[1]) in ((1, 1), (2, 0)) else (2, 0)
            request_id = int.from_bytes(raw[4:8]) if len(raw) >= 8 else 0
            return ipp.encode(ipp.IppMessage(Status.BAD_REQUEST, request_id, self._head(), version))
        with self._lock:
            self._tick()
            code, groups = self._dispatch(request)
        version = request.version if request.version in ((1, 1), (2, 0)) else (2, 0)
        return ipp.encode(ipp.IppMessage(code, request.request_id, self._head() + groups, version))

    @staticmethod
    def _head() -> tuple[ipp.AttributeGroup, ...]:
        return (
            ipp.AttributeGroup(
                GroupTag.OPERATION,
                (
                    _a("attributes-charset", ValueTag.CHARSET, "utf-8"),
                    _a("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en"),
                ),
            ),
        )

    def _dispatch(self, request: ipp.IppMessage) -> tuple[int, tuple[ipp.AttributeGroup, ...]]:
        op = request.code
        if op == Operation.GET_PRINTER_ATTRIBUTES:
            return Status.OK, (ipp.AttributeGroup(GroupTag.PRINTER, self._printer_attributes()),)
        if op == Operation.VALIDATE_JOB:
            return Status.OK, ()
        if op == Operation.PRINT_JOB:
            return self._print_job(request)
        if op == Operation.GET_JOBS:
            jobs = tuple(
                ipp.AttributeGroup(GroupTag.JOB, self._job_attributes(j)) for j in self.jobs.values()
            )
            return Status.OK, jobs
        if op in (Operation.GET_JOB_ATTRIBUTES, Operation.CANCEL_JOB):
            found = request.find("job-id", GroupTag.OPERATION)
            job = self.jobs.get(found.value) if found is not None and isinstance(found.value, int) else None
            if job is None:
                return Status.NOT_FOUND, ()
            if op == Operation.CANCEL_JOB:
                if job.state >= JobState.CANCELED:
                    return Status.NOT_POSSIBLE, ()
                job.state = JobState.CANCELED
                return Status.OK, ()
            return Status.OK, (ipp.AttributeGroup(GroupTag.JOB, self._job_attributes(job)),)
        return Status.OPERATION_NOT_SUPPORTED, ()

    def _print_job(self, request: ipp.IppMessage) -> tuple[int, tuple[ipp.AttributeGroup, ...]]:
        fmt = request.find("document-format", GroupTag.OPERATION)
        if fmt is not None and fmt.value not in ("application/pdf", "application/octet-stream"):
            return Status.DOCUMENT_FORMAT_NOT_SUPPORTED, ()
        if self.fault:
            return Status.NOT_ACCEPTING_JOBS, ()
        if any(j.state == JobState.PROCESSING for j in self.jobs.values()):
            return Status.BUSY, ()
        pages = pdf_pages(request.data)
        if pages < 1:
            return Status.BAD_REQUEST, ()
        name = request.find("job-name", GroupTag.OPERATION)
        job = TrayJob(next(self._ids), str(name.value) if name else "", pages, time.monotonic())
        self.jobs[job.job_id] = job
        pdf = self.tray / f"{job.job_id}.pdf"  # whole or not at all: evidence is read while printing goes on
        pdf.with_suffix(".part").write_bytes(request.data)
        pdf.with_suffix(".part").replace(pdf)
        log.debug("job %d: %s, %d page(s)", job.job_id, job.name, pages)
        return Status.OK, (ipp.AttributeGroup(GroupTag.JOB, self._job_attributes(job)),)

    def _printer_attributes(self) -> tuple[ipp.Attribute, ...]:
        busy = any(j.state == JobState.PROCESSING for j in self.jobs.values())
        state = PrinterState.STOPPED if self.fault else PrinterState.PROCESSING if busy else PrinterState.IDLE
        reasons = f"{self.fault}-error" if self.fault else "none"
        return (
            _a("printer-uri-supported", ValueTag.URI, self.uri),
            _a("printer-name", ValueTag.NAME, self.name),
            _a("printer-make-and-model", ValueTag.TEXT, "Myna Fleet Printer"),
            _a("printer-state", ValueTag.ENUM, int(state)),
            _a("printer-state-reasons", ValueTag.KEYWORD, reasons),
            _a("printer-state-message", ValueTag.TEXT, self.fault or "Ready"),
            _a("printer-is-accepting-jobs", ValueTag.BOOLEAN, not self.fault),
            _a("document-format-supported", ValueTag.MIME_TYPE, "application/pdf"),
            _a("document-format-default", ValueTag.MIME_TYPE, "application/pdf"),
            _a("operations-supported", ValueTag.ENUM, *(int(o) for o in _OPERATIONS)),
            _a("media-ready", ValueTag.KEYWORD, "iso_a4_210x297mm"),
            _a("charset-configured", ValueTag.CHARSET, "utf-8"),
            _a("charset-supported", ValueTag.CHARSET, "utf-8"),
            _a("natural-language-configured", ValueTag.NATURAL_LANGUAGE, "en"),
            _a("generated-natural-language-supported", ValueTag.NATURAL_LANGUAGE, "en"),
            _a("ipp-versions-supported", ValueTag.KEYWORD, "1.1", "2.0"),
            _a("uri-security-supported", ValueTag.KEYWORD, "none"),
            _a("uri-authentication-supported", ValueTag.KEYWORD, "none"),
            _a("pdl-override-supported", ValueTag.KEYWORD, "not-attempted"),
            _a("compression-supported", ValueTag.KEYWORD, "none"),
            _a("printer-up-time", ValueTag.INTEGER, max(1, int(time.monotonic()))),
        )

    def _job_attributes(self, job: TrayJob) -> tuple[ipp.Attribute, ...]:
        table: dict[int, str] = {
            JobState.PROCESSING: f"{job.fault}-error" if job.fault else "job-printing",
            JobState.COMPLETED: "job-completed-successfully",
            JobState.CANCELED: "job-canceled-by-user",
        }
        reasons = table.get(job.state, "none")
        return (
            _a("job-id", ValueTag.INTEGER, job.job_id),
            _a("job-uri", ValueTag.URI, f"{self.uri}/{job.job_id}"),
            _a("job-name", ValueTag.NAME, job.name),
            _a("job-state", ValueTag.ENUM, int(job.state)),
            _a("job-state-reasons", ValueTag.KEYWORD, reasons),
            _a("job-state-message", ValueTag.TEXT, job.fault or ""),
            _a("job-impressions-completed", ValueTag.INTEGER, job.sheets_out),
        )
