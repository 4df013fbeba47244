"""One IPP endpoint's queries: printer attributes, one job, the jobs of a name, Cancel-Job (the base of
``kiosk.devices.printer.driver.IppPrinter``)."""

from __future__ import annotations

from kiosk.devices.printer import ipp
from kiosk.devices.printer.errors import PrinterProtocolError
from kiosk.devices.printer.ipp_constants import GroupTag, Operation, ValueTag
from kiosk.devices.printer.status import JobStatus, PrinterStatus
from kiosk.devices.printer.transport import IppTransport, attr

__all__ = ["IppEndpoint", "job_id_of"]

_PRINTER_QUERY = (
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "printer-make-and-model",
    "printer-name",
    *("cups-version", "device-uri", "printer-is-shared"),
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
_JOB_QUERY = ("job-state", "job-state-reasons", "job-state-message", "job-impressions-completed", "job-name")


class IppEndpoint:
    """Requests to one IPP URI (thread-safe, each with a timeout)."""

    def __init__(self, uri: str, *, user: str, request_timeout: float) -> None:
        """Raises ValueError for a URI that is not ipp/ipps/http/https."""
        self.uri = uri
        self._ipp = IppTransport(uri, user=user, request_timeout=request_timeout)
        self._user, self._request_timeout = user, request_timeout

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._ipp.close()

    def _call(
        self,
        operation: Operation,
        attributes: tuple[ipp.Attribute, ...] = (),
        job_attributes: tuple[ipp.Attribute, ...] = (),
        data: bytes = b"",
    ) -> ipp.IppMessage:
        """Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError."""
        return self._ipp.call(operation, attributes, job_attributes, data)

    def _job_target(self, job_id: int) -> tuple[ipp.Attribute, ...]:
        return (attr("job-id", ValueTag.INTEGER, job_id),)

    def get_printer_attributes(self, *, full: bool = True) -> PrinterStatus:
        """Printer state, reasons, formats, operations, make and model.

        Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError.
        """
        names = _PRINTER_QUERY if full else _STATE_QUERY
        response = self._call(
            Operation.GET_PRINTER_ATTRIBUTES, (attr("requested-attributes", ValueTag.KEYWORD, *names),)
        )
        return PrinterStatus.from_response(self.uri, response)

    def get_job(self, job_id: int) -> JobStatus:
        """State, reasons and pages done of one job.

        Raises PrinterRejectedError (client-error-not-found once the printer forgot the job),
        PrinterUnavailableError, PrinterProtocolError.
        """
        query = attr("requested-attributes", ValueTag.KEYWORD, *_JOB_QUERY)
        response = self._call(Operation.GET_JOB_ATTRIBUTES, (*self._job_target(job_id), query))
        return JobStatus.from_response(job_id, response)

    def cancel_job(self, job_id: int) -> None:
        """Ask the printer to cancel the job.

        Raises PrinterRejectedError (e.g. client-error-not-possible: the job already ended),
        PrinterUnavailableError, PrinterProtocolError.
        """
        self._call(Operation.CANCEL_JOB, self._job_target(job_id))

    def find_jobs(self, job_name: str) -> tuple[JobStatus, ...]:
        """The jobs the printer still knows under ``job_name`` (all states).

        Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError.
        """
        response = self._call(
            Operation.GET_JOBS,
            (
                attr("which-jobs", ValueTag.KEYWORD, "all"),
                attr("requested-attributes", ValueTag.KEYWORD, "job-id", *_JOB_QUERY),
            ),
        )
        jobs = []
        for group in response.groups:
            found = group.get("job-id") if group.tag == GroupTag.JOB else None
            if found is not None and type(found.value) is int:
                single = ipp.IppMessage(response.code, response.request_id, (group,))
                job = JobStatus.from_response(found.value, single)
                if job.name == job_name:
                    jobs.append(job)
        return tuple(jobs)


def job_id_of(response: ipp.IppMessage) -> int:
    found = response.find("job-id", GroupTag.JOB)
    if found is None or type(found.value) is not int:
        raise PrinterProtocolError("job accepted but the response has no job-id")
    return found.value
