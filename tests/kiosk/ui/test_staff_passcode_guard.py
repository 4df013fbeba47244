"""The staff passcode guard: guessing is limited across entries into staff mode (back-off, then a lockout
with a staff code, journaled); nothing is checked while it holds; a right code resets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.journal.store import Journal
from kiosk.staff.passcode import LOCKOUT_CODE, GuardPolicy, PasscodeGuard, PasscodeLocked


class Code:
    """A checker for the passcode 2468 that counts what it was asked (no scrypt: the guard is under test)."""

    def __init__(self) -> None:
        self.checked = 0

    def verify(self, candidate: str) -> bool:
        self.checked += 1
        return candidate == "2468"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_three_free_tries_then_a_doubling_wait_and_nothing_checked_meanwhile() -> None:
    code, clock = Code(), Clock()
    guard = PasscodeGuard(code, clock=clock)
    assert [guard.verify(c) for c in ("0000", "1111", "2222")] == [False, False, False]
    assert guard.wait_left() == 0  # the first three cost nothing
    assert guard.verify("3333") is False
    assert guard.wait_left() == 30
    with pytest.raises(PasscodeLocked) as held:
        guard.verify("2468")  # even the right code is not checked during the back-off
    assert held.value.wait == 30 and code.checked == 4
    clock.now += 30
    assert guard.verify("4444") is False and guard.wait_left() == 60
    clock.now += 60
    assert guard.verify("2468") is True and guard.failures == 0 and guard.wait_left() == 0


def test_a_guesser_is_locked_out_with_a_staff_code_and_it_is_journaled(tmp_path: Path) -> None:
    code, clock = Code(), Clock()
    journal = Journal(tmp_path / "journal.sqlite")
    guard = PasscodeGuard(code, clock=clock, journal=journal, policy=GuardPolicy(max_wait=120))
    guesses = 0
    for candidate in (f"{n:04d}" for n in range(10_000)):
        if candidate == "2468":
            continue
        try:
            guard.verify(candidate)
            guesses += 1
        except PasscodeLocked as exc:
            if exc.wait is None:
                break
            clock.now += exc.wait
    assert guesses == 10 and guard.locked_out and code.checked == 10
    with pytest.raises(PasscodeLocked) as held:
        guard.verify("2468")
    assert held.value.wait is None and held.value.staff_code == LOCKOUT_CODE
    clock.now += 10 * 86_400
    assert guard.wait_left() is None  # time does not lift a lockout
    faults = journal.faults("")
    assert faults[-1][0] == "fraud" and faults[-1][1] == "staff passcode" and LOCKOUT_CODE in faults[-1][2]
    assert len(faults) == 7  # the 4th to the 9th wrong code (back-off) and the lockout
    assert not any("2468" in detail or "0000" in detail for _k, _d, detail in faults)
    journal.close()


def test_a_journal_that_cannot_write_does_not_lift_the_guard() -> None:
    class Broken:
        def record_fault(self, *_args: object) -> None:
            raise OSError("disk full")

    guard = PasscodeGuard(Code(), clock=Clock(), journal=Broken())
    for candidate in ("0000", "1111", "2222", "3333"):
        guard.verify(candidate)
    with pytest.raises(PasscodeLocked):
        guard.check_open()
