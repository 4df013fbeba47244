"""The fleet on Locust: one Locust user is one virtual kiosk (harness/fleet/locustfile.py); this module
holds what the locustfile wires up, so that importing it registers nothing.

How gevent and the kiosk's threads coexist: Locust runs with ``LOCUST_SKIP_MONKEY_PATCH=1``, so the
standard library stays itself. Each kiosk runs on real OS threads exactly as in a store (its flow
dispatcher, card monitor, cash poller, printer follower, blocking sqlite, TLS and RSA calls); the Locust
user is a greenlet that only drains the kiosk's step queue (``queue.SimpleQueue``, whose ``get_nowait``
never blocks the hub) every 50 ms with ``gevent.sleep`` and fires one request event per step. Locust's own
I/O (ZeroMQ to the master, the web UI) is gevent-native and needs no patching; the hub releases the GIL
while it waits, so the kiosk threads run meanwhile. docs/fleet.md has the measurements.

Distributed: the master (or the single local process) opens the center, issues the residents' cards,
plays the center's fault windows and, once every kiosk said it is done (a ``fleet_done`` message),
stops the run and judges the evidence every worker left in the shared fleet directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.fleet.cards import Card, prepare_cards
from harness.fleet.center import CenterError, CenterHandle
from harness.fleet.mix import Mix
from harness.fleet.resident import StepTiming
from harness.fleet.run import CENTER_DIR, finish
from harness.fleet.schedule import CenterFaults, Schedule
from harness.fleet.verdicts import first_lines
from harness.fleet.worker import Budget, FleetSettings, KioskWorker
from harness.sim import service_time

log = logging.getLogger(__name__)
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CENTER_FILE = "center.json"  # where the master says which center the fleet uses


class StepFailed(Exception):
    """A step that ended the transaction with a failure; the message is the kiosk's staff code."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """The fleet's options on Locust's command line (sent from the master to the workers)."""
    parser.add_argument("--fleet-dir", required=True, help="the fleet directory (shared by all processes)")
    parser.add_argument("--fleet-seed", type=int, default=1)
    parser.add_argument("--fleet-mix", default="default")
    parser.add_argument("--fleet-faults", default="")
    parser.add_argument("--fleet-transactions", type=int, default=0, help="0: until --fleet-duration")
    parser.add_argument("--fleet-duration", type=float, default=0.0)
    parser.add_argument("--fleet-keep-pages", action="store_true")
    parser.add_argument("--fleet-center", default="", help="a running center's data directory")


@dataclass
class Fleet:
    """This process's part of the fleet."""

    settings: FleetSettings
    center: CenterHandle | None = None
    cards: list[Card] = field(default_factory=list)
    faults: CenterFaults | None = None
    done: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


_FLEET: dict[str, Fleet] = {}


def _settings(options: Any) -> FleetSettings:
    fleet_dir = Path(options.fleet_dir).absolute()
    schedule = Schedule.load(Path(options.fleet_faults)) if options.fleet_faults else Schedule.none()
    duration = float(options.fleet_duration or 0)
    return FleetSettings(
        fleet_dir,
        Mix.load(Path(options.fleet_mix)),
        schedule,
        int(options.fleet_seed),
        int(options.fleet_transactions) or (None if duration else 10),
        time.time() + duration if duration else None,
        time.time(),
    )


def on_init(environment: Environment) -> None:
    """Master or local process: open the center and write where it is; issue the cards. Raises
    CenterError, OSError."""
    options = environment.parsed_options
    assert options is not None
    fleet = Fleet(_settings(options))
    _FLEET["fleet"] = fleet
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    fleet_dir = fleet.settings.fleet_dir
    fleet_dir.mkdir(parents=True, exist_ok=True)
    given = Path(options.fleet_center) if options.fleet_center else None
    fleet.center = (
        CenterHandle(given) if given else CenterHandle.start_local(fleet_dir / CENTER_DIR, service_time())
    )
    fleet.cards = prepare_cards(fleet.center.data, fleet_dir / "cards", fleet.settings.seed)
    (fleet_dir / CENTER_FILE).write_text(json.dumps({"data": str(fleet.center.data)}))
    if runner is not None:
        runner.register_message("fleet_done", lambda msg, **_: _kiosk_done(environment, str(msg.data)))


def _kiosk_done(environment: Environment, kiosk: str) -> None:
    fleet = _FLEET["fleet"]
    fleet.done.add(kiosk)
    options = environment.parsed_options
    users = int(getattr(options, "num_users", 0) or 0)
    log.info("kiosk %s done (%d of %d)", kiosk, len(fleet.done), users)
    if users and len(fleet.done) >= users and environment.runner is not None:
        gevent.spawn_later(0.5, environment.runner.quit)


def on_test_start(environment: Environment) -> None:
    """Master or local: the center's fault windows start with the test."""
    fleet = _FLEET["fleet"]
    if isinstance(environment.runner, WorkerRunner) or fleet.center is None:
        return
    settings = fleet.settings
    fleet.settings = FleetSettings(**{**settings.__dict__, "started": time.time()})
    fleet.faults = CenterFaults(settings.schedule, fleet.center, settings.fleet_dir / "fault-windows.jsonl")
    fleet.faults.start()


def on_quitting(environment: Environment) -> None:
    """Master or local: wait for every kiosk to close, judge the evidence, set the exit code."""
    fleet = _FLEET.get("fleet")
    if fleet is None or isinstance(environment.runner, WorkerRunner) or fleet.center is None:
        return
    if fleet.faults is not None:
        fleet.faults.stop()
    kiosks = fleet.settings.fleet_dir / "kiosks"
    deadline = time.time() + 120
    while time.time() < deadline and any(not (k / "closed").exists() for k in kiosks.glob("K*")):
        gevent.sleep(0.2)
    try:
        keep = bool(environment.parsed_options and environment.parsed_options.fleet_keep_pages)
        result = finish(fleet.settings.fleet_dir, fleet.center, keep, time.time() - fleet.settings.started)
    finally:
        fleet.center.stop()
    for line in first_lines(list(result.verdicts)):
        print(line)
    environment.process_exit_code = 0 if result.ok else 1


def worker_center(fleet: Fleet) -> tuple[CenterHandle, list[Card]]:
    """A worker's view of the center and the cards (the master writes ``center.json`` once they exist).
    Raises CenterError after a minute without it."""
    if fleet.center is not None and fleet.cards:
        return fleet.center, fleet.cards
    path = fleet.settings.fleet_dir / CENTER_FILE
    deadline = time.time() + 60
    while not path.exists():
        if time.time() > deadline:
            raise CenterError(f"no {path}: is the master running with the same --fleet-dir?")
        gevent.sleep(0.2)
    fleet.center = CenterHandle(Path(json.loads(path.read_text())["data"]))
    fleet.cards = prepare_cards(fleet.center.data, fleet.settings.fleet_dir / "cards", fleet.settings.seed)
    return fleet.center, fleet.cards


class KioskRunner:
    """One kiosk on its own OS thread, feeding a queue the user's greenlet drains."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        fleet = _FLEET["fleet"]
        with fleet.lock:
            center, cards = worker_center(fleet)
        self.steps: queue.SimpleQueue[StepTiming] = queue.SimpleQueue()
        self.worker = KioskWorker(fleet.settings, center, cards, lambda _k, step: self.steps.put(step))
        self.budget = Budget(fleet.settings)
        self.thread = threading.Thread(target=self.worker.run, args=(self.budget,), name=self.worker.name)
        self.thread.start()

    def drain(self) -> bool:
        """Report the steps queued so far as Locust request events; False once the kiosk has finished."""
        alive = self.thread.is_alive()
        while True:
            try:
                step = self.steps.get_nowait()
            except queue.Empty:
                break
            self.environment.events.request.fire(
                request_type="kiosk",
                name=step.name,
                response_time=step.seconds * 1000,
                response_length=0,
                exception=StepFailed(step.staff_code) if step.staff_code else None,
                context={"kiosk": self.worker.name, "screen": step.screen},
            )
        return alive

    def stop(self) -> None:
        """Stop taking transactions; wait (without blocking the hub) for the kiosk to close."""
        self.budget.stopped.set()
        while self.thread.is_alive():
            gevent.sleep(0.1)
        self.drain()

    def report_done(self) -> None:
        runner = self.environment.runner
        if runner is not None:
            runner.send_message("fleet_done", self.worker.name)


def run_locust(argv: list[str]) -> int:
    """Locust's own ``main`` with ``argv``; its exit status."""
    from locust.main import main

    sys.argv = argv
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return 0


__all__ = ["LOCUSTFILE", "KioskRunner", "MasterRunner", "add_options", "on_init", "run_locust"]
