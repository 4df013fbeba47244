"""Kiosk workers: one fleet kiosk on its own real OS threads, playing transactions until the fleet's
budget is spent, reporting every step to a sink (the progress bar, or Locust through a queue).

The fleet directory is shared by every process of a run (the local run, or Locust's master and workers on
one machine): ``counters/`` hands out kiosk numbers and the transaction budget under ``flock``, ``cards/``
lends residents' cards, and each kiosk keeps its evidence under ``kiosks/<name>/`` (journal, printed
jobs, ``script.jsonl``: which resident's card was at the kiosk when, and the scenario).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.fleet.cards import Card, CardPool
from harness.fleet.center import CenterHandle
from harness.fleet.mix import FAULT_KINDS, Mix, Plan, happy_types
from harness.fleet.resident import Played, Resident, StepTiming
from harness.fleet.schedule import Schedule, apply_device_faults
from harness.fleet.station import FleetKiosk
from kiosk.flow.timeouts import Timeouts

log = logging.getLogger(__name__)

# Residents act at once, so screens time out sooner than a store's: a walk-away (or a card pulled while
# the kiosk reads it) costs 3 s, not 60, a silent cash unit 8 s, not 120. Those waits were a sixth of the
# residents' time at a 50-kiosk fleet with 6 s and 10 s.
FLEET_TIMEOUTS = Timeouts(interaction=3.0, warning=1.0, remove_card=10.0, pay=8.0, center=30.0, printing=60.0)
Sink = Callable[[str, StepTiming], None]


def take(counter: Path, limit: int | None = None) -> int | None:
    """Increment the number in ``counter`` under flock and return the new value (1, 2, ...); None once
    it would pass ``limit``. Raises OSError."""
    counter.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(counter, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 32).decode().strip()
        value = int(raw or 0) + 1
        if limit is not None and value > limit:
            return None
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, str(value).encode())
        return value
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FleetSettings:
    """What every kiosk of a run shares."""

    fleet_dir: Path
    mix: Mix
    schedule: Schedule
    seed: int
    transactions: int | None  # the budget over the whole fleet, or None with a duration
    duration: float | None  # seconds from the fleet's first transaction during which transactions start
    started: float  # wall clock of the run's start (fault windows count from it)


class Budget:
    """Transactions left to start, across processes: a counter file, and/or a deadline that the fleet's
    first transaction sets (``counters/deadline``), so that card issuing and start-up do not count."""

    def __init__(self, settings: FleetSettings) -> None:
        self.settings = settings
        self.stopped = threading.Event()
        self._deadline: float | None = None

    def take(self) -> bool:
        """True when one more transaction may start."""
        s = self.settings
        if self.stopped.is_set() or (s.duration is not None and time.time() >= self.deadline()):
            return False
        return (
            s.transactions is None or take(s.fleet_dir / "counters" / "started", s.transactions) is not None
        )

    def deadline(self) -> float:
        """The wall-clock end of a ``duration`` run (set once for every process). Raises OSError."""
        if self._deadline is None:
            path = self.settings.fleet_dir / "counters" / "deadline"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.read(fd, 64).decode().strip()
                if not raw:
                    raw = str(time.time() + float(self.settings.duration or 0))
                    os.write(fd, raw.encode())
            finally:
                os.close(fd)
            self._deadline = float(raw)
        return self._deadline


class KioskWorker:
    """One kiosk and its residents, on a thread of its own; ``run()`` blocks until the budget is spent."""

    def __init__(self, settings: FleetSettings, center: CenterHandle, cards: list[Card], sink: Sink) -> None:
        self.settings, self.center, self.sink = settings, center, sink
        number = take(settings.fleet_dir / "counters" / "kiosks")
        assert number is not None
        self.name = f"K{number:03d}"
        self.terminal_id = f"T-{number:04d}"
        self.work = settings.fleet_dir / "kiosks" / self.name
        self.pool = CardPool(cards, settings.fleet_dir / "cards")
        self.rng = random.Random(f"{settings.seed}-{self.name}")
        self.types = happy_types(settings.mix)
        self.done = 0
        self.error = ""
        self._last_rowid = 0

    def run(self, budget: Budget) -> None:
        """Start the kiosk, play until the budget is spent, stop it. A kiosk that cannot start is
        ``self.error`` (the verdicts then miss nothing: it did no transaction)."""
        try:
            with FleetKiosk(self.name, self.terminal_id, self.work, self.center, FLEET_TIMEOUTS) as kiosk:
                resident = Resident(kiosk)
                while budget.take():
                    self._one(kiosk, resident, budget)
        except Exception as exc:  # reported with the kiosk's name; the run goes on without it
            log.exception("kiosk %s failed", self.name)
            self.error = f"{type(exc).__name__}: {exc}"
        (self.work / "closed").write_text(self.error or "ok\n")

    def _one(self, kiosk: FleetKiosk, resident: Resident, budget: Budget) -> None:
        lease = self.pool.lease(self.rng)
        while lease is None and not budget.stopped.is_set():  # every resident is at a kiosk: wait
            CardPool.wait(0.2)
            lease = self.pool.lease(self.rng)
        if lease is None:
            return
        card, lock = lease
        released = False

        def gone() -> None:  # the resident took their card: free for another kiosk
            nonlocal released
            if not released:
                released = True
                CardPool.release(lock)

        try:
            plan = self._plan(card)
            since = self._last_rowid
            played = resident.play(plan, gone)
            after = self._journal_ids_since(since)
        finally:
            gone()
        self._record(played, after)
        self.done += 1
        for step in played.steps:
            self.sink(self.name, step)
        self.sink(self.name, StepTiming("transaction", played.ended - played.started, "end", _code(played)))

    def _journal_ids_since(self, rowid: int) -> list[str]:
        """The transactions the journal began after row ``rowid`` (a read of the journal file, as evidence
        is read later; reading every transaction back each time grew with the run)."""
        db = sqlite3.connect(f"file:{self.work / 'journal.sqlite'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT rowid, id FROM txn WHERE rowid > ? ORDER BY rowid", (rowid,)).fetchall()
        finally:
            db.close()
        if rows:
            self._last_rowid = int(rows[-1][0])
        return [str(r[1]) for r in rows]

    def _plan(self, card: Card) -> Plan:
        s, rng = self.settings, self.rng
        scenario = s.mix.draw(rng)
        kind = scenario if scenario in FAULT_KINDS else "happy"
        cert_type = scenario if kind == "happy" else rng.choice(self.types)
        wrong = f"{(int(card.pin) + rng.randint(1, 9998)) % 10000:04d}"
        plan = Plan(
            kind=kind,
            scenario=scenario,
            resident_id=card.resident_id,
            resident_name=card.name,
            card=card.locked if kind == "locked_card" else card.image,
            pin=card.pin,
            wrong_pin=wrong,
            cert_type=cert_type,
            copies=1 if rng.random() < 0.8 else 2,
            pay_over=rng.random() < 0.5,
            fault_sheet=rng.randint(1, 2),
        )
        return apply_device_faults(plan, s.schedule.device_faults(time.time() - s.started, rng), rng)

    def _record(self, played: Played, txn_ids: list[str]) -> None:
        p = played.plan
        line = {
            "kiosk": self.name,
            "terminal_id": self.terminal_id,
            "resident_id": p.resident_id,
            "resident_name": p.resident_name,
            "card": p.card.name,
            "scenario": p.scenario,
            "kind": p.kind,
            "started": played.started,
            "ended": played.ended,
            "transaction_ids": txn_ids,
            "error": played.error,
            "steps": [[s.name, round(s.seconds, 4), s.screen, s.staff_code] for s in played.steps],
        }
        with (self.work / "script.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _code(played: Played) -> str:
    o = played.final.outcome if played.final is not None else None
    if played.error:
        return "STUCK"
    return o.staff_code if o is not None and not o.ok else ""
