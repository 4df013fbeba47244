"""The reader package's exception tree and the one status-word → exception table."""

from __future__ import annotations

from reader.constants import SW


class CardError(Exception):
    """Base of every error the reader package raises."""


# --- transport and presence -------------------------------------------------------------------
class TransportError(CardError):
    """The reader or the link to it failed (not the card's answer)."""


class NoReaderError(TransportError):
    """No reader is attached (or none matches the requested name)."""


class NoCardError(TransportError):
    """The reader has no card in it."""


class CardRemovedError(TransportError):
    """The card left the reader (or the field) during or between exchanges."""


class ReaderTimeoutError(TransportError):
    """The reader or card did not answer within the timeout."""


class CancelledError(CardError):
    """The operation was cancelled through its cancel event."""


# --- the card's answers ----------------------------------------------------------------------
class ProtocolError(CardError):
    """The card answered something that breaks the protocol (truncated, oversized, malformed)."""


class NotMyNumberCardError(CardError):
    """The card is not a My Number card (no JPKI AP, or another token such as a 住基カード)."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


class PinFormatError(ValueError, CardError):
    """The PIN does not have the form the card requires; nothing was sent to the card."""


class CardStatusError(CardError):
    """The card answered a status word other than 90 00."""

    def __init__(self, sw: int, message: str | None = None) -> None:
        self.sw = sw
        super().__init__(message or f"card answered {sw:04X}")


class PinIncorrectError(CardStatusError):
    """Wrong PIN; ``tries_left`` more attempts before the PIN locks (0 = now locked)."""

    def __init__(self, sw: int, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(sw, f"wrong PIN, {tries_left} tries left")


class PinBlockedError(CardStatusError):
    """The PIN is locked (63 C0 or 69 84). Only the municipal office can reset it."""

    tries_left = 0

    def __init__(self, sw: int) -> None:
        super().__init__(sw, "PIN is locked")


class SecurityStatusNotSatisfiedError(CardStatusError):
    """69 82: the file or key needs a PIN that has not been verified."""


class ConditionsNotSatisfiedError(CardStatusError):
    """69 85: conditions of use not satisfied."""


class NoCurrentEfError(CardStatusError):
    """69 86: no file selected."""


class FileNotFoundOnCardError(CardStatusError):
    """6A 82: no such application or file."""


class WrongLengthError(CardStatusError):
    """67 00: wrong Lc or Le."""


class WrongParametersError(CardStatusError):
    """6A 86 / 6B 00 / 6A 80 / 6A 81: bad P1-P2, offset or data."""


class NotSupportedError(CardStatusError):
    """6D 00 / 6E 00 / 68 8x / 69 FC: instruction, class, channel or secure messaging not supported."""


class UnexpectedStatusError(CardStatusError):
    """A status word the table does not know; the word is kept in ``sw``."""


_TABLE: dict[int, type[CardStatusError]] = {
    SW.SECURITY_STATUS_NOT_SATISFIED: SecurityStatusNotSatisfiedError,
    SW.CONDITIONS_NOT_SATISFIED: ConditionsNotSatisfiedError,
    SW.NO_CURRENT_EF: NoCurrentEfError,
    SW.FILE_NOT_FOUND: FileNotFoundOnCardError,
    SW.WRONG_LENGTH: WrongLengthError,
    SW.WRONG_P1P2: WrongParametersError,
    SW.OFFSET_OUTSIDE_EF: WrongParametersError,
    SW.WRONG_DATA: WrongParametersError,
    SW.FUNCTION_NOT_SUPPORTED: WrongParametersError,
    SW.INS_NOT_SUPPORTED: NotSupportedError,
    SW.CLA_NOT_SUPPORTED: NotSupportedError,
    SW.CHANNEL_NOT_SUPPORTED: NotSupportedError,
    SW.SM_NOT_SUPPORTED: NotSupportedError,
    SW.SM_CLA_REFUSED: NotSupportedError,
}


def error_for_status(sw: int) -> CardStatusError:
    """The exception for a non-success status word (the one table)."""
    if sw in (SW.VERIFY_FAILED_BASE, SW.AUTH_METHOD_BLOCKED):
        return PinBlockedError(sw)
    if sw & 0xFFF0 == SW.VERIFY_FAILED_BASE:
        return PinIncorrectError(sw, sw & 0x0F)
    return _TABLE.get(sw, UnexpectedStatusError)(sw)


def check_status(sw: int) -> None:
    """Return on 90 00; raise the table's exception for anything else."""
    if sw != SW.OK:
        raise error_for_status(sw)
