"""The byte pipe under the PN532 driver: the only reader module that imports pyserial.

``serial.serial_for_url`` opens real ports, ptys, ``loop://`` and ``socket://host:port`` alike.
Input is flushed before every write (both libnfc and nfcpy do this, so a stale reply can never be
taken for the answer to a new command). pyserial's exceptions become TransportError here.
"""

from __future__ import annotations

import logging
import time

import serial

from reader.errors import TransportError

log = logging.getLogger(__name__)
TRAFFIC = 5
DEFAULT_BAUD = 115200


class SerialLink:
    """One serial line (not opened until ``open()``)."""

    def __init__(self, url: str, *, baud: int = DEFAULT_BAUD) -> None:
        self.url = url
        self.baud = baud
        self._port: serial.SerialBase | None = None
        self.bytes_out = self.bytes_in = 0

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        """Open the line (idempotent). Raises TransportError when it cannot be opened."""
        if self._port is not None:
            return
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=0, write_timeout=2.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial line {self.url!r}: {exc}") from exc

    def close(self) -> None:
        """Close the line (idempotent). Never raises."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("closing %s: %s", self.url, exc)

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise TransportError(f"serial line {self.url!r} is not open")
        return self._port

    def write(self, data: bytes) -> None:
        """Discard pending input, then send ``data``. Raises TransportError."""
        port = self._require()
        try:
            port.reset_input_buffer()
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"write to {self.url!r} failed: {exc}") from exc
        self.bytes_out += len(data)
        if log.isEnabledFor(TRAFFIC):
            log.log(TRAFFIC, "%s > %d bytes", self.url, len(data))

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` s (at least one byte unless it expires; b'' then).

        Raises TransportError when the line fails.
        """
        port = self._require()
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            while True:
                waiting = port.in_waiting
                if waiting:
                    data = bytes(port.read(waiting))
                    self.bytes_in += len(data)
                    return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                port.timeout = min(remaining, 0.02)
                first = bytes(port.read(1))
                if first:
                    self.bytes_in += 1
                    return first + self.read(0)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"read from {self.url!r} failed: {exc}") from exc

    def set_baud(self, baud: int) -> None:
        """Switch the line speed. Raises TransportError."""
        self.baud = baud
        if self._port is not None:
            try:
                self._port.baudrate = baud
            except (serial.SerialException, OSError, ValueError) as exc:
                raise TransportError(f"cannot set {baud} baud on {self.url!r}: {exc}") from exc
