"""The staff passcode guard kept in the journal: a lockout (and a back-off) survives a restart, a new
guard over a new Journal object on the same file, and ends when its time has passed on the guard's clock
(a test clock: never the real date)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk.journal.staff_actions import PasscodeState
from kiosk.journal.store import Journal
from kiosk.staff.passcode import LOCKOUT_CODE, GuardPolicy, PasscodeGuard, PasscodeLocked

POLICY = GuardPolicy(max_wait=60, lockout_for=3600)
START = 1_000_000.0  # 1970-01-12: the test clock's own time, far from today's


class Code:
    """A checker for 2468 that counts what it was asked (no scrypt: the guard is under test)."""

    def __init__(self) -> None:
        self.checked = 0

    def verify(self, candidate: str) -> bool:
        self.checked += 1
        return candidate == "2468"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def guard(path: Path, clock: Clock, code: Code | None = None) -> tuple[PasscodeGuard, Journal]:
    """The kiosk as it starts: a journal opened on ``path`` and a guard reading its count from it."""
    journal = Journal(path)
    return PasscodeGuard(code or Code(), policy=POLICY, clock=clock, journal=journal, store=journal), journal


def lock_out(g: PasscodeGuard, clock: Clock) -> None:
    """Wrong codes, sitting out each back-off, until staff mode is locked."""
    for n in range(POLICY.lockout_after):
        wait = g.wait_left()
        assert wait is not None
        clock.now += wait
        assert g.verify(f"{n:04d}") is False
    assert g.locked_out


def test_a_lockout_survives_a_restart_and_ends_when_its_time_has_passed(tmp_path: Path) -> None:
    path, clock = tmp_path / "journal.sqlite", Clock()
    first, journal = guard(path, clock)
    lock_out(first, clock)
    locked_at = clock.now
    journal.close()

    clock.now += 60
    code = Code()
    second, journal = guard(path, clock, code)  # the kiosk restarted
    assert second.locked_out and second.failures == POLICY.lockout_after
    with pytest.raises(PasscodeLocked) as held:
        second.verify("2468")  # not even the right code is checked
    assert held.value.wait is None and held.value.staff_code == LOCKOUT_CODE and code.checked == 0
    journal.close()

    clock.now = locked_at + 3600 - 1
    third, journal = guard(path, clock, code)
    assert third.wait_left() is None  # one second to go
    clock.now += 1
    assert third.wait_left() == 0 and not third.locked_out
    assert third.verify("2468") is True and third.failures == 0
    journal.close()

    fourth, journal = guard(path, clock)  # and the right code's reset is kept too
    assert (fourth.failures, fourth.wait_left()) == (0, 0)
    state = journal.passcode_state()
    assert state is not None and state.failures == 0
    journal.close()


def test_after_a_lockout_each_wrong_code_locks_again(tmp_path: Path) -> None:
    path, clock = tmp_path / "journal.sqlite", Clock()
    g, journal = guard(path, clock)
    lock_out(g, clock)
    clock.now += 3600
    assert g.wait_left() == 0
    assert g.verify("9999") is False and g.locked_out  # no fresh free tries
    clock.now += 3599
    assert g.wait_left() is None
    journal.close()


def test_a_back_off_survives_a_restart(tmp_path: Path) -> None:
    path, clock = tmp_path / "journal.sqlite", Clock()
    g, journal = guard(path, clock)
    for candidate in ("0000", "1111", "2222", "3333"):
        g.verify(candidate)
    assert g.wait_left() == 30
    journal.close()
    clock.now += 10
    g, journal = guard(path, clock)
    assert g.failures == 4 and g.wait_left() == 20
    with pytest.raises(PasscodeLocked):
        g.verify("2468")
    journal.close()


def test_the_journal_keeps_the_guard_s_clock_and_no_code(tmp_path: Path) -> None:
    path, clock = tmp_path / "journal.sqlite", Clock()
    g, journal = guard(path, clock)
    for candidate in ("0000", "1111", "2222", "3333"):
        g.verify(candidate)
    assert journal.passcode_state() == PasscodeState(
        4, "1970-01-12T13:47:10+00:00", "1970-01-12T13:46:40+00:00"
    )  # START + 30 s, and START
    journal.close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT * FROM staff_passcode").fetchall()
    db.close()
    assert len(rows) == 1 and not any(c in repr(rows) for c in ("0000", "1111", "2222", "3333"))


def test_a_store_that_fails_leaves_the_guard_holding_in_memory(tmp_path: Path) -> None:
    class Broken:
        def passcode_state(self) -> PasscodeState | None:
            raise sqlite3.OperationalError("disk I/O error")

        def save_passcode_state(self, state: PasscodeState) -> None:
            raise OSError("disk full")

    clock = Clock()
    g = PasscodeGuard(Code(), policy=POLICY, clock=clock, store=Broken())
    assert g.failures == 0  # nothing could be read: it starts afresh
    for candidate in ("0000", "1111", "2222", "3333"):
        g.verify(candidate)
    with pytest.raises(PasscodeLocked):
        g.check_open()


def test_a_kept_guard_needs_a_lockout_that_ends(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        with pytest.raises(ValueError, match="lockout_for"):
            PasscodeGuard(Code(), store=journal)
    finally:
        journal.close()


def test_the_running_kiosk_s_guard_is_kept_in_its_journal(tmp_path: Path) -> None:
    from kiosk.app.config import KioskConfig
    from kiosk.app.run import real_staff
    from kiosk.staff.passcode import LOCKOUT_FOR, hash_passcode

    journal = Journal(tmp_path / "journal.sqlite")
    kiosk = SimpleNamespace(
        journal=journal,
        cash=None,
        printer=None,
        client=None,
        heartbeat=None,
        config=KioskConfig(staff_passcode_hash=hash_passcode("97531")),
        report=SimpleNamespace(checks=()),
    )
    try:
        access = real_staff(kiosk)
        assert access is not None and isinstance(access.verifier, PasscodeGuard)
        assert access.verifier.store is journal and access.verifier.policy.lockout_for == LOCKOUT_FOR
        assert access.verifier.verify("0000") is False
        state = journal.passcode_state()
        assert state is not None and state.failures == 1
        again = real_staff(kiosk)
        assert again is not None and isinstance(again.verifier, PasscodeGuard)
        assert again.verifier.failures == 1  # as a restarted kiosk finds it
        assert again.verifier.verify("97531") is True
    finally:
        journal.close()


def test_staff_unlock_ends_a_lockout_in_the_running_kiosk_and_is_kept(tmp_path: Path) -> None:
    """``kiosk diag unlock`` writes through its own Journal object (another process); the running guard
    takes it at its next check, without a restart, and the journal keeps who unlocked it."""
    from kiosk.staff.diagnostics import Diagnostics, SettleRefused

    path, clock, code = tmp_path / "journal.sqlite", Clock(), Code()
    running, journal = guard(path, clock, code)
    lock_out(running, clock)
    checked = code.checked
    staff = Diagnostics(Journal(path))
    with pytest.raises(SettleRefused) as bad:
        staff.unlock_passcode(staff_id="S 01")
    assert bad.value.code == "bad_staff_id" and running.locked_out
    assert staff.unlock_passcode(staff_id="S-017") == POLICY.lockout_after
    assert not running.locked_out and running.wait_left() == 0
    assert running.verify("2468") is True and code.checked == checked + 1
    (done,) = [a for a in staff.journal.staff_actions() if a.kind == "unlocked"]
    assert (done.txn_id, done.staff_id, done.yen) == ("", "S-017", 0) and done.item.startswith(
        "passcode-unlock:"
    )
    assert staff.open_items() == []  # an unlock is a record, not an item left for staff
    assert staff.unlock_passcode(staff_id="S-017") == 0  # nothing counted: nothing written
    assert len([a for a in staff.journal.staff_actions() if a.kind == "unlocked"]) == 1
    staff.journal.close()
    journal.close()


def test_the_guard_keeps_its_own_count_over_a_stale_row_it_could_not_replace(tmp_path: Path) -> None:
    """Re-reading the store must not hand a guesser back free tries: when the guard's own write fails,
    the row it wrote before is stale, and the guard keeps what it counted."""

    class Flaky:
        def __init__(self) -> None:
            self.row: PasscodeState | None = None
            self.broken = False

        def passcode_state(self) -> PasscodeState | None:
            return self.row

        def save_passcode_state(self, state: PasscodeState) -> None:
            if self.broken:
                raise OSError("disk full")
            self.row = state

    clock, store = Clock(), Flaky()
    g = PasscodeGuard(Code(), policy=POLICY, clock=clock, store=store)
    g.verify("0000")
    store.broken = True
    for candidate in ("1111", "2222", "3333"):
        clock.now += g.wait_left() or 0
        g.verify(candidate)
    assert store.row is not None and store.row.failures == 1
    assert g.failures == 4 and g.wait_left() == 30
