"""A fleet run in this process: the center (started here or given), N kiosk workers on real threads, the
fault schedule, a progress bar; then the evidence, the verdicts and the report.

``prepare`` and ``finish`` are shared with the Locust master (harness.fleet.locust_user).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from harness.clock import service_time
from harness.fleet.cards import Card, prepare_cards
from harness.fleet.center import CenterHandle
from harness.fleet.evidence import collect
from harness.fleet.report import write_report
from harness.fleet.resident import StepTiming
from harness.fleet.schedule import CenterFaults
from harness.fleet.verdicts import Verdict, judge
from harness.fleet.worker import Budget, FleetSettings, KioskWorker
from mock_relay.faults import JST

log = logging.getLogger(__name__)
CENTER_DIR = "center"


@dataclass(frozen=True)
class RunResult:
    verdicts: tuple[Verdict, ...]
    report: Path
    transactions: int
    seconds: float

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


def open_center(fleet_dir: Path, given: Path | None) -> CenterHandle:
    """The given center (its data directory), or a new local one in ``fleet_dir/center``.
    Raises CenterError."""
    if given is not None:
        return CenterHandle(given)
    return CenterHandle.start_local(fleet_dir / CENTER_DIR, service_time(datetime.now(JST)))


def prepare(fleet_dir: Path, center: CenterHandle, seed: int) -> list[Card]:
    """The residents' cards for this fleet directory (issued once). Raises PkiError, OSError."""
    return prepare_cards(center.data, fleet_dir / "cards", seed)


def run_local(settings: FleetSettings, kiosks: int, given_center: Path | None, keep_pages: bool) -> RunResult:
    """Run ``kiosks`` kiosks here until the budget is spent; evidence, verdicts and report into
    ``settings.fleet_dir``. Raises CenterError, OSError."""
    fleet_dir = settings.fleet_dir
    center = open_center(fleet_dir, given_center)
    try:
        cards = prepare(fleet_dir, center, settings.seed)
        steps: queue.SimpleQueue[tuple[str, StepTiming]] = queue.SimpleQueue()
        started = time.time()
        settings = FleetSettings(**{**settings.__dict__, "started": started})
        faults = CenterFaults(settings.schedule, center, fleet_dir / "fault-windows.jsonl").start()
        budget = Budget(settings)
        workers = [
            KioskWorker(settings, center, cards, lambda k, s: steps.put((k, s))) for _ in range(kiosks)
        ]
        threads = [threading.Thread(target=w.run, args=(budget,), name=w.name) for w in workers]
        for thread in threads:
            thread.start()
        try:
            _progress(threads, steps, settings.transactions)
        except KeyboardInterrupt:
            budget.stopped.set()
        for thread in threads:
            thread.join()
        faults.stop()
        seconds = time.time() - started
        for w in workers:
            if w.error:
                log.error("kiosk %s: %s", w.name, w.error)
        return finish(fleet_dir, center, keep_pages, seconds)
    finally:
        center.stop()


def _progress(
    threads: list[threading.Thread],
    steps: queue.SimpleQueue[tuple[str, StepTiming]],
    total: int | None,
) -> None:
    bar = tqdm(total=total, unit="tx", desc="fleet", dynamic_ncols=True, mininterval=0.5)
    failed = 0
    with bar:
        while any(t.is_alive() for t in threads) or not steps.empty():
            try:
                _, step = steps.get(timeout=0.5)
            except queue.Empty:
                continue
            if step.name == "transaction":
                failed += bool(step.staff_code)
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)


def finish(fleet_dir: Path, center: CenterHandle, keep_pages: bool, seconds: float) -> RunResult:
    """Collect the evidence the kiosks and the center left, judge it, write the report.
    Raises OSError, sqlite3.Error."""
    ledger = center.ledger_copy(fleet_dir / "center-ledger.sqlite")
    evidence = collect(fleet_dir, ledger, keep_pages=keep_pages)
    verdicts = judge(evidence)
    write_report(fleet_dir, evidence, verdicts, seconds)
    return RunResult(tuple(verdicts), fleet_dir, len(evidence.transactions), seconds)
