"""APDU traffic logging below DEBUG, always through the redaction helpers in reader.pin."""

from __future__ import annotations

import logging

from reader.pin import redact_apdu, redact_response

TRAFFIC = 5  # below DEBUG: enable with logging level 5 to see every APDU
logging.addLevelName(TRAFFIC, "TRAFFIC")


def log_command(logger: logging.Logger, reader: str, apdu: bytes) -> None:
    """Log one command APDU (PIN data masked)."""
    if logger.isEnabledFor(TRAFFIC):
        logger.log(TRAFFIC, "%s > %s", reader, redact_apdu(apdu))


def log_response(logger: logging.Logger, reader: str, response: bytes, elapsed: float) -> None:
    """Log one response APDU (length and status word only) with its round-trip time."""
    if logger.isEnabledFor(TRAFFIC):
        logger.log(TRAFFIC, "%s < %s (%.2f ms)", reader, redact_response(response), elapsed * 1000)
