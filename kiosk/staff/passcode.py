"""The staff passcode: kept only as a salted scrypt hash (``[staff] passcode_hash`` in kiosk.toml, made by
``kiosk diag passcode``), compared in constant time. The passcode itself is never logged or stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

__all__ = ["PasscodeError", "PasscodeVerifier", "check_passcode_format", "hash_passcode"]

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
MIN_DIGITS, MAX_DIGITS = 4, 8


class PasscodeError(ValueError):
    """A passcode that is not 4-8 digits, or a stored hash this module cannot read."""


def check_passcode_format(passcode: str) -> None:
    """Raises PasscodeError unless ``passcode`` is 4-8 ASCII digits (the staff keypad has digits only)."""
    if not (passcode.isascii() and passcode.isdigit() and MIN_DIGITS <= len(passcode) <= MAX_DIGITS):
        raise PasscodeError(f"a staff passcode is {MIN_DIGITS}-{MAX_DIGITS} digits")


def _derive(passcode: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passcode.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=32)


def hash_passcode(passcode: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``passcode``, a random 16-byte salt. Raises PasscodeError."""
    check_passcode_format(passcode)
    salt = salt or os.urandom(16)
    digest = _derive(passcode, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"{_SCHEME}${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


class PasscodeVerifier:
    """Checks a typed passcode against one stored hash."""

    def __init__(self, stored: str) -> None:
        """Raises PasscodeError for a hash that is not ``scrypt$n$r$p$salt$hash``."""
        parts = stored.split("$")
        try:
            if len(parts) != 6 or parts[0] != _SCHEME:
                raise ValueError(stored[:10])
            self._n, self._r, self._p = int(parts[1]), int(parts[2]), int(parts[3])
            self._salt = base64.b64decode(parts[4], validate=True)
            self._digest = base64.b64decode(parts[5], validate=True)
        except ValueError as exc:
            raise PasscodeError("the staff passcode hash is not one `kiosk diag passcode` printed") from exc
        if self._n > 2**20 or self._r > 32 or self._p > 16 or not self._salt or len(self._digest) != 32:
            raise PasscodeError("the staff passcode hash has unusable parameters")

    @classmethod
    def for_passcode(cls, passcode: str) -> PasscodeVerifier:
        """A verifier for a known passcode (the simulated kiosk's). Raises PasscodeError."""
        return cls(hash_passcode(passcode))

    def verify(self, candidate: str) -> bool:
        """Whether ``candidate`` is the passcode. Never raises (a malformed candidate is simply wrong)."""
        try:
            check_passcode_format(candidate)
        except PasscodeError:
            return False
        derived = _derive(candidate, self._salt, self._n, self._r, self._p)
        return hmac.compare_digest(derived, self._digest)
