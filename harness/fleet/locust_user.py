"""The fleet on Locust: one Locust user is one virtual kiosk (harness/fleet/locustfile.py); this module
holds what the locustfile wires up, so that importing it registers nothing.

How gevent and the kiosk's threads coexist: they do not share a process. Locust's process is
gevent-patched as Locust wants it; a kiosk needs real OS threads that share sockets between threads (the
relay client's pool serves the flow and the heartbeat; the printer driver's the flow and the print job),
which gevent's patched sockets refuse ("Cannot switch to a different thread"), and a partly patched
process breaks either Locust's ZeroMQ link or the kiosks' queues. So each Locust process starts one kiosk
host (harness.fleet.host), a plain Python process whose kiosks run on real threads with blocking C calls
(sqlite, TLS, RSA) as in a store. Each Locust user asks the host for a kiosk and drains its events from
a gevent queue, filled by one greenlet reading the host's stdout through gevent's cooperative pipe; it
fires one Locust request event per step. docs/fleet.md has the measurements.

Distributed: the master (or the single local process) opens the center and plays the center's fault
windows; each worker's host issues the residents' cards once (under a lock) and runs its kiosks; once
every kiosk said it is done (a ``fleet_done`` message) the master stops the run and judges the evidence
every worker left in the shared fleet directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import gevent
from gevent.queue import Empty, Queue
from locust.env import Environment
from locust.runners import WORKER_REPORT_INTERVAL, WorkerRunner

from harness.clock import service_time
from harness.fleet.center import CenterHandle
from harness.fleet.host import CENTER_FILE
from harness.fleet.mix import Mix
from harness.fleet.run import CENTER_DIR, finish
from harness.fleet.schedule import CenterFaults, Schedule
from harness.fleet.verdicts import first_lines
from harness.fleet.worker import FleetSettings
from mock_relay.faults import JST

log = logging.getLogger(__name__)
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


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
    options: Any
    center: CenterHandle | None = None
    faults: CenterFaults | None = None
    host: KioskHost | None = None
    done: set[str] = field(default_factory=set)


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
        duration or None,
        time.time(),
    )


def on_init(environment: Environment) -> None:
    """Master or local process: open the center and write where it is. Raises CenterError, OSError."""
    options = environment.parsed_options
    assert options is not None
    fleet = Fleet(_settings(options), options)
    _FLEET["fleet"] = fleet
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    fleet_dir = fleet.settings.fleet_dir
    fleet_dir.mkdir(parents=True, exist_ok=True)
    given = Path(options.fleet_center) if options.fleet_center else None
    fleet.center = (
        CenterHandle(given)
        if given
        else CenterHandle.start_local(fleet_dir / CENTER_DIR, service_time(datetime.now(JST)))
    )
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
        # one more stats report from every worker first (they report every WORKER_REPORT_INTERVAL s)
        gevent.spawn_later(2 * WORKER_REPORT_INTERVAL, environment.runner.quit)


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
    on_stopping(environment)
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
    environment.process_exit_code = 0 if result.ok and result.transactions else 1


class KioskHost:
    """This Locust process's kiosk host (harness.fleet.host) and the queue of each user's events."""

    def __init__(self, fleet: Fleet) -> None:
        o, settings = fleet.options, fleet.settings
        command = [sys.executable, "-m", "harness.fleet.host", "--fleet-dir", str(settings.fleet_dir)]
        command += ["--seed", str(settings.seed), "--mix", str(o.fleet_mix), "--faults", str(o.fleet_faults)]
        command += ["--transactions", str(settings.transactions or 0), "--started", str(settings.started)]
        if settings.duration:
            command += ["--duration", str(settings.duration)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.queues: dict[str, Queue[dict[str, Any]]] = {}
        self.users = 0
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            self.queues[str(event["user"])].put(event)

    def start(self) -> Queue[dict[str, Any]]:
        """A new kiosk; the queue its events arrive on."""
        self.users += 1
        user = str(self.users)
        self.queues[user] = Queue()
        assert self.process.stdin is not None
        self.process.stdin.write(f"start {user}\n")
        self.process.stdin.flush()
        return self.queues[user]

    def close(self) -> None:
        """Let every kiosk finish its transaction and close; wait for the host."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait()


class KioskRunner:
    """A Locust user's kiosk: its events become Locust request events."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        fleet = _FLEET["fleet"]
        if fleet.host is None:  # a worker has the master's options once the master spawned users
            fleet.options = environment.parsed_options
            fleet.settings = _settings(fleet.options)
            fleet.host = KioskHost(fleet)
        self.events = fleet.host.start()
        self.kiosk = ""

    def drain(self, timeout: float = 0.5) -> bool:
        """Report the kiosk's events as they come; False once the kiosk has closed."""
        try:
            event = self.events.get(timeout=timeout)
        except Empty:
            return True
        while True:
            self.kiosk = str(event["kiosk"])
            if event.get("done"):
                if event.get("error"):
                    log.error("kiosk %s: %s", self.kiosk, event["error"])
                return False
            name, seconds, screen, code = event["step"]
            self.environment.events.request.fire(  # type: ignore[no-untyped-call]
                request_type="kiosk",
                name=name,
                response_time=float(seconds) * 1000,
                response_length=0,
                exception=StepFailed(code) if code else None,
                context={"kiosk": self.kiosk, "screen": screen},
            )
            try:
                event = self.events.get_nowait()
            except Empty:
                return True

    def report_done(self) -> None:
        runner = self.environment.runner
        if runner is not None:
            runner.send_message("fleet_done", self.kiosk)


def on_stopping(environment: Environment) -> None:
    """Every process: the host's kiosks finish and close before the process ends."""
    fleet = _FLEET.get("fleet")
    if fleet is not None and fleet.host is not None:
        fleet.host.close()
        fleet.host = None
