"""PIN format checks (run BEFORE anything is sent to the card) and the one redaction helper.

A PIN is only ever a local variable: these functions return the bytes to send and keep nothing.
Error messages never contain the PIN.
"""

from __future__ import annotations

import re

from reader.constants import Ins
from reader.errors import PinFormatError

_FOUR_DIGITS = re.compile(r"[0-9]{4}", re.ASCII)
_SIGN_PASSWORD = re.compile(r"[A-Z0-9]{6,16}", re.ASCII)
MASK = "****"


def check_auth_pin(pin: str) -> bytes:
    """The 利用者証明用 PIN as sent: exactly 4 ASCII digits. Raises PinFormatError."""
    if not isinstance(pin, str) or not _FOUR_DIGITS.fullmatch(pin):
        raise PinFormatError("the user-authentication PIN is exactly 4 digits (0-9)")
    return pin.encode("ascii")


def check_kenmen_pin(pin: str) -> bytes:
    """The 券面事項入力補助用 PIN as sent: exactly 4 ASCII digits. Raises PinFormatError."""
    if not isinstance(pin, str) or not _FOUR_DIGITS.fullmatch(pin):
        raise PinFormatError("the 券面事項入力補助 PIN is exactly 4 digits (0-9)")
    return pin.encode("ascii")


def check_sign_pin(pin: str) -> bytes:
    """The 署名用 password as sent: 6–16 of A–Z, 0–9, upper-cased first (the card stores upper
    case; lower case sent as-is would count as a wrong try). Raises PinFormatError."""
    if not isinstance(pin, str):
        raise PinFormatError("the signature password must be text")
    upper = pin.upper()
    if not _SIGN_PASSWORD.fullmatch(upper):
        raise PinFormatError("the signature password is 6 to 16 letters A-Z and digits 0-9")
    return upper.encode("ascii")


_SECRET_INS = {Ins.VERIFY, Ins.CHANGE_REFERENCE_DATA}


def redact_apdu(apdu: bytes) -> str:
    """Spaced hex of a command APDU for logs, with PIN-carrying data (VERIFY, CHANGE REFERENCE
    DATA) replaced by ``****``. Never raises."""
    if len(apdu) > 5 and apdu[1] in _SECRET_INS:
        return f"{apdu[:5].hex(' ').upper()} {MASK}"
    return apdu.hex(" ").upper()


def redact_response(response: bytes) -> str:
    """A response APDU for logs: its length and status word only (responses carry personal data)."""
    if len(response) < 2:
        return f"<{len(response)} bytes, no status word>"
    return f"<{len(response) - 2} bytes> {response[-2:].hex(' ').upper()}"


def mask_my_number(number: str) -> str:
    """A My Number for display: only the last 4 digits shown (``********1234``). Never raises."""
    return "*" * max(len(number) - 4, 0) + number[-4:]
