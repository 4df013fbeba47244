"""The staff passcode: kept only as a salted scrypt hash (``[staff] passcode_hash`` in kiosk.toml, made by
``kiosk diag passcode``), compared in constant time. The passcode itself is never logged or stored.
``PasscodeGuard`` limits guessing across entries into staff mode: back-off, then a lockout with a staff
code, journaled when a journal is at hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk.money import FaultKind

__all__ = [
    "GuardPolicy",
    "PasscodeError",
    "PasscodeGuard",
    "PasscodeLocked",
    "PasscodeVerifier",
    "check_passcode_format",
    "hash_passcode",
]

log = logging.getLogger(__name__)
LOCKOUT_CODE = "S01"  # shown on the staff screen when locked out: the store calls the support desk

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


class PasscodeChecker(Protocol):
    """What checks a typed passcode (``PasscodeVerifier``)."""

    def verify(self, candidate: str) -> bool: ...


class FaultRecorder(Protocol):
    """Where a lockout is journaled (``kiosk.journal.store.Journal``)."""

    def record_fault(self, event_id: str, kind: FaultKind, device: str, detail: str) -> None: ...


class PasscodeLocked(Exception):
    """No passcode is checked now: ``wait`` seconds of back-off are left, or (``wait`` None) staff mode is
    locked out until the kiosk restarts; ``staff_code`` is what the screen shows for the support desk."""

    def __init__(self, wait: float | None, staff_code: str = LOCKOUT_CODE) -> None:
        super().__init__("staff passcode locked out" if wait is None else f"retry in {wait:.0f} s")
        self.wait, self.staff_code = wait, staff_code


@dataclass(frozen=True)
class GuardPolicy:
    """``free_tries`` wrong codes in a row cost nothing; each further one doubles a wait from
    ``first_wait`` (capped at ``max_wait``); ``lockout_after`` wrong codes in a row lock staff mode until
    the kiosk restarts. With the defaults a guesser gets 10 codes, not 10,000."""

    free_tries: int = 3
    first_wait: float = 30.0
    max_wait: float = 900.0
    lockout_after: int = 10


class PasscodeGuard:
    """Limits staff passcode attempts across entries into staff mode (the count survives leaving the
    passcode page; only a right code resets it). Thread-safe; never logs the passcode."""

    def __init__(
        self,
        checker: PasscodeChecker,
        *,
        policy: GuardPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        journal: FaultRecorder | None = None,
    ) -> None:
        self.checker, self.policy, self.clock, self.journal = checker, policy or GuardPolicy(), clock, journal
        self.failures = 0
        self._not_before = 0.0
        self._lock = threading.Lock()

    @property
    def locked_out(self) -> bool:
        """Whether staff mode is locked out (until the kiosk restarts)."""
        return self.failures >= self.policy.lockout_after

    def wait_left(self) -> float | None:
        """Seconds before the next code is checked (0: now); None when locked out."""
        if self.locked_out:
            return None
        return max(0.0, self._not_before - self.clock())

    def check_open(self) -> None:
        """Raises PasscodeLocked while a back-off runs or staff mode is locked out."""
        wait = self.wait_left()
        if wait is None or wait > 0:
            raise PasscodeLocked(wait)

    def verify(self, candidate: str) -> bool:
        """Check ``candidate`` unless a back-off runs. Raises PasscodeLocked (nothing is checked then)."""
        with self._lock:
            self.check_open()
            if self.checker.verify(candidate):
                self.failures, self._not_before = 0, 0.0
                return True
            self.failures += 1
            extra = self.failures - self.policy.free_tries
            if self.locked_out:
                log.warning("staff passcode: %d wrong codes in a row: locked out", self.failures)
                self._journal(f"locked out after {self.failures} wrong codes ({LOCKOUT_CODE})")
            elif extra > 0:
                wait = min(self.policy.first_wait * 2 ** (extra - 1), self.policy.max_wait)
                self._not_before = self.clock() + wait
                log.warning(
                    "staff passcode: %d wrong codes in a row: next try in %.0f s", self.failures, wait
                )
                self._journal(f"{self.failures} wrong codes in a row; next try in {wait:.0f} s")
            return False

    def _journal(self, detail: str) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record_fault(
                f"staff-passcode:{uuid.uuid4().hex}", FaultKind.FRAUD, "staff passcode", detail
            )
        except Exception:  # the guard holds whether or not the journal can write
            log.exception("staff passcode: the lockout could not be journaled")
