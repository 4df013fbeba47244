"""``python -m harness.fleet.host``: the kiosks of one Locust process, in a plain Python process of their own.

Locust's process is gevent-patched; the kiosks need real OS threads that share sockets between threads
(the flow and the heartbeat share the relay client's connection pool, the flow and the print job the
printer's), which patched sockets forbid. So each Locust process starts one host: it reads commands on
stdin (``start USER`` starts a kiosk for Locust user USER; end of input or ``stop`` ends every kiosk after
its current transaction) and writes one JSON line per event on stdout: ``{"user": U, "kiosk": K, "step":
[name, seconds, screen, staff_code]}`` per step, ``{"user": U, "kiosk": K, "done": true, "error": ""}``
when the kiosk closed. The host's stdout carries nothing else (logging goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from harness.fleet.cards import prepare_cards
from harness.fleet.center import CenterError, CenterHandle
from harness.fleet.mix import Mix
from harness.fleet.resident import StepTiming
from harness.fleet.schedule import Schedule
from harness.fleet.worker import Budget, FleetSettings, KioskWorker

log = logging.getLogger(__name__)
CENTER_FILE = "center.json"  # where the master says which center the fleet uses


def wait_for_center(fleet_dir: Path, timeout: float = 120.0) -> CenterHandle:
    """The center the master opened for this fleet directory. Raises CenterError after ``timeout``."""
    path = fleet_dir / CENTER_FILE
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise CenterError(f"no {path}: is the master running with the same fleet directory?")
        time.sleep(0.2)
    return CenterHandle(Path(json.loads(path.read_text())["data"]))


class Host:
    """Kiosks on threads; events to ``out`` (a text stream), one JSON line each, under a lock."""

    def __init__(self, settings: FleetSettings, out: TextIO | None = None) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self.center = wait_for_center(settings.fleet_dir)
        self.cards = prepare_cards(self.center.data, settings.fleet_dir / "cards", settings.seed)
        self.budget = Budget(settings)
        self.threads: list[threading.Thread] = []

    def emit(self, event: dict[str, object]) -> None:
        with self._lock:
            print(json.dumps(event), file=self.out, flush=True)

    def start(self, user: str) -> None:
        """A kiosk for ``user`` on a thread of its own."""

        def step(kiosk: str, s: StepTiming) -> None:
            self.emit({"user": user, "kiosk": kiosk, "step": [s.name, s.seconds, s.screen, s.staff_code]})

        worker = KioskWorker(self.settings, self.center, self.cards, step)

        def run() -> None:
            worker.run(self.budget)
            self.emit({"user": user, "kiosk": worker.name, "done": True, "error": worker.error})

        thread = threading.Thread(target=run, name=worker.name)
        thread.start()
        self.threads.append(thread)

    def serve(self, commands: Iterable[str]) -> None:
        """Obey ``commands`` (lines) until ``stop`` or their end; then let every kiosk finish."""
        for line in commands:
            word, _, arg = line.strip().partition(" ")
            if word == "start":
                self.start(arg)
            elif word == "stop":
                break
        self.budget.stopped.set()
        for thread in self.threads:
            thread.join()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; 0 when every kiosk closed, 2 when the center never appeared."""
    p = argparse.ArgumentParser(prog="python -m harness.fleet.host")
    p.add_argument("--fleet-dir", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mix", default="default")
    p.add_argument("--faults", default="")
    p.add_argument("--transactions", type=int, default=0)
    p.add_argument("--duration", type=float, default=0.0, help="seconds from the fleet's first transaction")
    p.add_argument("--started", type=float, default=0.0, help="wall clock of the run's start")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s %(message)s",
    )
    settings = FleetSettings(
        Path(args.fleet_dir),
        Mix.load(Path(args.mix)),
        Schedule.load(Path(args.faults)) if args.faults else Schedule.none(),
        args.seed,
        args.transactions or None,
        args.duration or None,
        args.started or time.time(),
    )
    try:
        host = Host(settings)
    except CenterError as exc:
        print(f"fleet host: {exc}", file=sys.stderr)
        return 2
    host.serve(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
