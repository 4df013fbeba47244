"""One IPP request over HTTP (``requests``, imported here only): the printer driver's byte pipe."""

from __future__ import annotations

import itertools
import logging
import threading
import urllib.parse

import requests

from kiosk.devices.printer import ipp
from kiosk.devices.printer.errors import PrinterProtocolError, PrinterRejectedError, PrinterUnavailableError
from kiosk.devices.printer.ipp_constants import GroupTag, Operation, Status, ValueTag

__all__ = ["IppTransport", "attr", "endpoints"]

log = logging.getLogger(__name__)


def endpoints(uri: str) -> tuple[str, str]:
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


def attr(name: str, tag: ValueTag, *values: ipp.Value) -> ipp.Attribute:
    return ipp.Attribute(name, tag, values)


class IppTransport:
    """POSTs IPP requests to one printer URI, one at a time (thread-safe), each with a timeout."""

    def __init__(self, uri: str, *, user: str, request_timeout: float) -> None:
        """Raises ValueError for a URI that is not ipp/ipps/http/https."""
        self.uri = uri
        self._http_url, self._printer_uri = endpoints(uri)
        self._user = user
        self._request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._version = (2, 0)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._session.close()

    def call(
        self,
        operation: Operation,
        attributes: tuple[ipp.Attribute, ...] = (),
        job_attributes: tuple[ipp.Attribute, ...] = (),
        data: bytes = b"",
    ) -> ipp.IppMessage:
        """One IPP request. Raises PrinterUnavailableError, PrinterProtocolError, PrinterRejectedError."""
        request_id = next(self._ids)
        head = (
            attr("attributes-charset", ValueTag.CHARSET, "utf-8"),
            attr("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en"),
            attr("printer-uri", ValueTag.URI, self._printer_uri),
            attr("requesting-user-name", ValueTag.NAME, self._user),
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
            return self.call(operation, attributes, job_attributes, data)
        if response.code >= 0x0400:
            message = response.find("status-message", GroupTag.OPERATION)
            raise PrinterRejectedError(response.code, str(message.value) if message else "")
        return response
