"""The printer driver's errors (split from ``kiosk.devices.printer.driver``, which re-exports them)."""

from __future__ import annotations

from kiosk.devices.printer.ipp_constants import Status
from kiosk.devices.printer.status import PrinterStatus, fault_message

__all__ = [
    "CupsQueueError",
    "PrinterError",
    "PrinterJobUnsettledError",
    "PrinterNotReadyError",
    "PrinterProtocolError",
    "PrinterRejectedError",
    "PrinterUnavailableError",
]


class PrinterError(Exception):
    """Base of the printer driver's errors."""


class PrinterUnavailableError(PrinterError):
    """The printer cannot be reached or stopped answering. ``pages_confirmed`` were out before that
    (``confirmed`` False: the path cannot confirm pages, see PrintResult); ``settled`` False: a job
    was under way and the printer has not confirmed it dead."""

    def __init__(
        self,
        message: str,
        *,
        job_id: int | None = None,
        pages_confirmed: int = 0,
        settled: bool = True,
        confirmed: bool = True,
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.pages_confirmed = pages_confirmed
        self.settled = settled
        self.confirmed = confirmed


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
        reasons = status.stop_reasons
        reason = fault_message(reasons) or status.state_message or "not accepting jobs"
        super().__init__(f"printer not ready: {reason} ({', '.join(status.state_reasons) or 'no reasons'})")
        self.status = status


class PrinterJobUnsettledError(PrinterError):
    """A job the kiosk gave up on is not confirmed dead at the printer (it may still print), so no new
    job is sent. ``job_ids`` are the printer's ids of those jobs."""

    def __init__(self, job_ids: tuple[int, ...]) -> None:
        jobs = ", ".join(str(j) for j in job_ids)
        super().__init__(
            f"printer job {jobs} was given up but the printer has not confirmed it cancelled:"
            " check the printer and its output tray"
        )
        self.job_ids = job_ids


class CupsQueueError(PrinterError):
    """The configured URI is a CUPS queue, refused by default: CUPS counts pages when its filters convert
    the document, not when sheets come out. ``device_uri`` is the printer behind the queue."""

    def __init__(self, uri: str, status: PrinterStatus) -> None:
        behind = status.device_uri or "the printer behind it (CUPS did not say which)"
        version = f"CUPS {status.cups_version} " if status.cups_version else "CUPS "
        super().__init__(
            f"printer {uri} is a {version}queue in front of {behind}: set printer.uri to that printer's"
            " own IPP endpoint (or printer.through_cups = true to accept unconfirmed page counts)"
        )
        self.device_uri = status.device_uri
