"""The staff passcode: kept only as a salted scrypt hash (``[staff] passcode_hash`` in kiosk.toml, made by
``kiosk diag passcode``), compared in constant time. The passcode itself is never logged or stored.
``PasscodeGuard`` limits guessing across entries into staff mode: back-off, then a lockout with a staff
code, journaled when a journal is at hand. Given a ``store`` (the journal), the guard keeps its count and
the end of a back-off or lockout there, so restarting the kiosk lifts neither; a lockout then lasts
``GuardPolicy.lockout_for``. The running kiosk's guard is kept so (``kiosk.app.run.real_staff``), and
reads the store again at each check, so a count staff cleared (``kiosk diag unlock``) takes effect at
once."""

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
from datetime import UTC, datetime
from typing import Protocol

from kiosk.journal.staff_actions import PasscodeState
from kiosk.money import FaultKind

__all__ = [
    "LOCKOUT_FOR",
    "GuardPolicy",
    "GuardStore",
    "PasscodeError",
    "PasscodeGuard",
    "PasscodeLocked",
    "PasscodeVerifier",
    "check_passcode_format",
    "hash_passcode",
]

log = logging.getLogger(__name__)
LOCKOUT_CODE = "S01"  # shown on the staff screen when locked out: the store calls the support desk
LOCKOUT_FOR = 3600.0  # seconds the running kiosk's lockout lasts (kiosk.app.run.real_staff)

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


class GuardStore(Protocol):
    """Where a guard keeps its count across restarts (``kiosk.journal.store.Journal``)."""

    def passcode_state(self) -> PasscodeState | None: ...

    def save_passcode_state(self, state: PasscodeState) -> None: ...


class PasscodeLocked(Exception):
    """No passcode is checked now: ``wait`` seconds of back-off are left, or (``wait`` None) staff mode is
    locked out (``GuardPolicy.lockout_for``); ``staff_code`` is what the screen shows for the support desk."""

    def __init__(self, wait: float | None, staff_code: str = LOCKOUT_CODE) -> None:
        super().__init__("staff passcode locked out" if wait is None else f"retry in {wait:.0f} s")
        self.wait, self.staff_code = wait, staff_code


@dataclass(frozen=True)
class GuardPolicy:
    """``free_tries`` wrong codes in a row cost nothing; each further one doubles a wait from
    ``first_wait`` (capped at ``max_wait``); ``lockout_after`` wrong codes in a row lock staff mode for
    ``lockout_for`` seconds, after which each further wrong code locks it again (a right one resets the
    count). ``lockout_for`` None: for as long as the guard lives, i.e. until the kiosk restarts; a guard
    with a store needs a number. With the defaults a guesser gets 10 codes, not 10,000."""

    free_tries: int = 3
    first_wait: float = 30.0
    max_wait: float = 900.0
    lockout_after: int = 10
    lockout_for: float | None = None


class PasscodeGuard:
    """Limits staff passcode attempts across entries into staff mode (the count survives leaving the
    passcode page, and with a ``store`` a restart; only a right code resets it). Thread-safe; never logs
    the passcode."""

    def __init__(
        self,
        checker: PasscodeChecker,
        *,
        policy: GuardPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        journal: FaultRecorder | None = None,
        store: GuardStore | None = None,
    ) -> None:
        """``journal``: where a back-off or lockout is recorded for staff; ``store``: where the count is
        kept across restarts, read here. With a store, ``clock`` must be the wall clock in seconds since
        the epoch (``time.time``; a test's own), as the times kept are read after a restart.

        Raises ValueError for a store without ``policy.lockout_for`` (the lockout would never end)."""
        self.checker, self.policy, self.clock, self.journal = checker, policy or GuardPolicy(), clock, journal
        if store is not None and self.policy.lockout_for is None:
            raise ValueError("a guard kept across restarts needs policy.lockout_for")
        self.store = store
        self.failures = 0
        self._not_before = 0.0
        self._seen_at: str | None = None  # the store's row as this guard last read or wrote it
        self._read_failed = False
        self._lock = threading.RLock()
        self._load()

    @property
    def locked_out(self) -> bool:
        """Whether staff mode is locked out (for ``policy.lockout_for`` from the last wrong code)."""
        self._load()
        if self.failures < self.policy.lockout_after:
            return False
        return self.policy.lockout_for is None or self.clock() < self._not_before

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
                if self.failures:
                    self.failures, self._not_before = 0, 0.0
                    self._save()
                return True
            self.failures += 1
            extra = self.failures - self.policy.free_tries
            if self.failures >= self.policy.lockout_after:
                if self.policy.lockout_for is not None:
                    self._not_before = self.clock() + self.policy.lockout_for
                log.warning("staff passcode: %d wrong codes in a row: locked out", self.failures)
                self._journal(f"locked out after {self.failures} wrong codes ({LOCKOUT_CODE})")
            elif extra > 0:
                wait = min(self.policy.first_wait * 2 ** (extra - 1), self.policy.max_wait)
                self._not_before = self.clock() + wait
                log.warning(
                    "staff passcode: %d wrong codes in a row: next try in %.0f s", self.failures, wait
                )
                self._journal(f"{self.failures} wrong codes in a row; next try in {wait:.0f} s")
            self._save()
            return False

    def _load(self) -> None:
        """Take the count and the end of a back-off or lockout from the store, if any, when another
        process (staff clearing it) wrote it since this guard last read or wrote it."""
        if self.store is None:
            return
        with self._lock:
            try:
                state = self.store.passcode_state()
                if state is not None and state.at != self._seen_at:
                    not_before = datetime.fromisoformat(state.not_before).timestamp()
                    self.failures, self._not_before, self._seen_at = state.failures, not_before, state.at
                self._read_failed = False
            except Exception:  # the guard holds what it has rather than keep staff out for good
                if not self._read_failed:  # once, not at every check
                    log.exception("staff passcode: the guard's count could not be read")
                self._read_failed = True

    def _save(self) -> None:
        if self.store is None:
            return
        at, not_before = (
            datetime.fromtimestamp(s, UTC).isoformat() for s in (self.clock(), self._not_before)
        )
        try:
            self.store.save_passcode_state(PasscodeState(self.failures, not_before, at))
            self._seen_at = at
        except Exception:  # the guard holds in memory whether or not the store can write
            log.exception("staff passcode: the guard's count could not be kept")

    def _journal(self, detail: str) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record_fault(
                f"staff-passcode:{uuid.uuid4().hex}", FaultKind.FRAUD, "staff passcode", detail
            )
        except Exception:  # the guard holds whether or not the journal can write
            log.exception("staff passcode: the lockout could not be journaled")
