"""A fleet run from this process: the center (started here or given), N kiosk workers on real threads (here,
or spread over kiosk host processes, :mod:`harness.fleet.host`, so that the kiosks use more than one core
under the GIL), the fault schedule, a progress bar; then the evidence, the verdicts and the report.

``prepare`` and ``finish`` are shared with the Locust master (harness.fleet.locust_user).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from harness.clock import service_time
from harness.fleet.cards import Card, prepare_cards
from harness.fleet.center import CenterHandle
from harness.fleet.evidence import PageTexts, collect
from harness.fleet.host import CENTER_FILE
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


def prepare(fleet_dir: Path, center: CenterHandle, seed: int, processes: int = 1) -> list[Card]:
    """The residents' cards for this fleet directory (issued once, in ``processes`` processes). Raises
    PkiError, OSError."""
    return prepare_cards(center.data, fleet_dir / "cards", seed, processes=processes)


def default_processes(kiosks: int) -> int:
    """Kiosk processes for ``kiosks`` kiosks: one per core for a large fleet (a kiosk process is bound by
    its GIL), this process alone for a small one (under 16 kiosks)."""
    return max(1, min(os.cpu_count() or 1, kiosks // 8)) if kiosks >= 16 else 1


@dataclass(frozen=True)
class HostArgs:
    """What a kiosk host process needs besides the settings: the mix and schedule as named on the command
    line (a file or a bundled name)."""

    mix: str
    faults: str


def run_local(
    settings: FleetSettings,
    kiosks: int,
    given_center: Path | None,
    keep_pages: bool,
    *,
    processes: int = 1,
    host_args: HostArgs | None = None,
) -> RunResult:
    """Run ``kiosks`` kiosks until the budget is spent, here on threads (``processes`` 1) or spread over
    ``processes`` kiosk host processes (``host_args`` then says which mix and schedule); evidence, verdicts
    and report into ``settings.fleet_dir``. Raises CenterError, OSError."""
    fleet_dir = settings.fleet_dir
    center = open_center(fleet_dir, given_center)
    try:
        cards = prepare(fleet_dir, center, settings.seed, processes)
        started = time.time()
        settings = FleetSettings(**{**settings.__dict__, "started": started})
        faults = CenterFaults(settings.schedule, center, fleet_dir / "fault-windows.jsonl").start()
        texts, stop = PageTexts(), threading.Event()
        reader = None
        try:
            if processes > 1 and host_args is not None:  # this process is idle: read pages meanwhile
                reader = threading.Thread(target=texts.prefetch, args=(fleet_dir, stop), name="fleet-pages")
                reader.start()
                _on_hosts(settings, center, kiosks, processes, host_args)
            else:
                _on_threads(settings, center, cards, kiosks)
        finally:
            stop.set()
            if reader is not None:
                reader.join()
            faults.stop()
        seconds = time.time() - started
        return finish(fleet_dir, center, keep_pages, seconds, texts)
    finally:
        center.stop()


def _on_threads(settings: FleetSettings, center: CenterHandle, cards: list[Card], kiosks: int) -> None:
    """Every kiosk on threads of this process."""
    steps: queue.SimpleQueue[tuple[str, StepTiming]] = queue.SimpleQueue()
    budget = Budget(settings)
    workers = [KioskWorker(settings, center, cards, lambda k, s: steps.put((k, s))) for _ in range(kiosks)]
    threads = [threading.Thread(target=w.run, args=(budget,), name=w.name) for w in workers]
    for thread in threads:
        thread.start()
    try:
        _progress(lambda: any(t.is_alive() for t in threads), steps, settings.transactions)
    except KeyboardInterrupt:
        budget.stopped.set()
    for thread in threads:
        thread.join()
    for w in workers:
        if w.error:
            log.error("kiosk %s: %s", w.name, w.error)


def _on_hosts(
    settings: FleetSettings, center: CenterHandle, kiosks: int, processes: int, args: HostArgs
) -> None:
    """The kiosks spread over ``processes`` kiosk hosts (each its own interpreter, so its own GIL); their
    events (one JSON line per step) drive the progress bar. Each host logs to ``host-N.log`` in the fleet
    directory (judged for PINs with the rest)."""
    fleet_dir = settings.fleet_dir
    (fleet_dir / CENTER_FILE).write_text(json.dumps({"data": str(center.data)}))
    command = [sys.executable, "-m", "harness.fleet.host", "--fleet-dir", str(fleet_dir)]
    command += ["--seed", str(settings.seed), "--mix", args.mix, "--faults", args.faults]
    command += ["--transactions", str(settings.transactions or 0), "--started", str(settings.started)]
    if settings.duration:
        command += ["--duration", str(settings.duration)]
    steps: queue.SimpleQueue[tuple[str, StepTiming]] = queue.SimpleQueue()
    done: list[str] = []
    hosts: list[subprocess.Popen[str]] = []
    readers: list[threading.Thread] = []

    def read(host: subprocess.Popen[str]) -> None:
        assert host.stdout is not None
        for line in host.stdout:
            event = json.loads(line)
            if "step" in event:
                name, seconds, screen, code = event["step"]
                steps.put((str(event["kiosk"]), StepTiming(name, seconds, screen, code)))
            elif event.get("done"):
                done.append(str(event["kiosk"]))
                if event.get("error"):
                    log.error("kiosk %s: %s", event["kiosk"], event["error"])

    try:
        for n in range(processes):
            with (fleet_dir / f"host-{n + 1}.log").open("a", encoding="utf-8") as errors:
                host = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True
                )
            hosts.append(host)
            readers.append(threading.Thread(target=read, args=(host,), name=f"fleet-host-{n + 1}"))
            readers[-1].start()
            mine = kiosks // processes + (n < kiosks % processes)
            assert host.stdin is not None
            host.stdin.write("".join(f"start {n + 1}.{u + 1}\n" for u in range(mine)))
            host.stdin.flush()
        try:
            _progress(
                lambda: any(r.is_alive() for r in readers) and len(done) < kiosks,
                steps,
                settings.transactions,
            )
        except KeyboardInterrupt:
            pass
    finally:
        for host in hosts:  # end of input: every kiosk ends its transaction and closes
            if host.stdin is not None and not host.stdin.closed:
                host.stdin.close()
        for host in hosts:
            host.wait()
        for reader in readers:
            reader.join()


def _progress(
    running: Callable[[], bool],
    steps: queue.SimpleQueue[tuple[str, StepTiming]],
    total: int | None,
) -> None:
    bar = tqdm(total=total, unit="tx", desc="fleet", dynamic_ncols=True, mininterval=0.5)
    failed = 0
    with bar:
        while running() or not steps.empty():
            try:
                _, step = steps.get(timeout=0.5)
            except queue.Empty:
                continue
            if step.name == "transaction":
                failed += bool(step.staff_code)
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)


def finish(
    fleet_dir: Path, center: CenterHandle, keep_pages: bool, seconds: float, texts: PageTexts | None = None
) -> RunResult:
    """Collect the evidence the kiosks and the center left (page texts from ``texts`` where read already),
    judge it, write the report. Raises OSError, sqlite3.Error."""
    ledger = center.ledger_copy(fleet_dir / "center-ledger.sqlite")
    evidence = collect(fleet_dir, ledger, keep_pages=keep_pages, texts=texts)
    verdicts = judge(evidence)
    write_report(fleet_dir, evidence, verdicts, seconds)
    return RunResult(tuple(verdicts), fleet_dir, len(evidence.transactions), seconds)
