"""``kiosk-harness bench up DIR`` and ``kiosk-harness drive``: a kiosk on its own devices (``kiosk run
--config``) with the simulators as separate processes, and a scripted resident driving it through its
control socket. See harness.bench and harness.drive."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.clock import parse_clock, service_time
from harness.scenario import load_scenario, scenario_path
from harness.vpcd import FIRST_PORT
from kiosk.app.stopping import wait_for_stop
from mock_relay.faults import JST


def _bench_up(args: argparse.Namespace) -> int:
    from harness.bench import Bench, BenchOptions

    clock = parse_clock(args.clock) if args.clock else service_time(datetime.now(JST))
    options = BenchOptions(
        Path(args.folder), clock, args.resident, args.pin, args.reader, args.vpcd_port, keep=args.keep
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with Bench(options) as bench:  # BenchError (an OSError): one line, exit 2
        for line in bench.lines():
            print(line, flush=True)
        wait_for_stop(stop)  # not stop.wait(): see kiosk.app.stopping
        print("bench: stopping", flush=True)
    return 0


def _drive(args: argparse.Namespace) -> int:
    from harness.drive import BenchHands, DriveError, Driver, LineClient, PromptHands, check_outcome

    scenario = load_scenario(scenario_path(args.scenario))  # refused before anything is touched
    try:
        kiosk = LineClient(Path(args.socket), "kiosk's control socket")
        bench = LineClient(Path(args.bench), "bench") if args.bench else None
    except DriveError as exc:
        raise OSError(str(exc)) from None  # nothing started: one line, exit 2
    hands: Any = BenchHands(bench) if bench else PromptHands()
    print(f"scenario: {scenario.name} (kiosk {args.socket}; hands: {args.bench or 'yours, when asked'})")
    try:
        before = hands.pages() if bench else 0
        outcome = Driver(kiosk, hands).play(scenario, step_timeout=args.step_timeout)
        if bench:
            print(f"printed pages: {hands.pages() - before}")
    except DriveError as exc:
        print(f"kiosk-harness: drive stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        kiosk.close()
        if bench:
            bench.close()
    problems = check_outcome(scenario, outcome)
    for problem in problems:
        print(f"UNEXPECTED {problem}")
    return 1 if problems else 0


def add_bench_commands(sub: Any) -> None:
    """Add ``bench up`` and ``drive`` to the ``kiosk-harness`` sub-commands."""
    p = sub.add_parser("bench", help="simulated devices for `kiosk run --config`, and a ready kiosk.toml")
    verbs = p.add_subparsers(dest="verb", required=True)
    up = verbs.add_parser("up", help="start the simulators, write DIR/kiosk.toml, run until Ctrl-C")
    up.add_argument("folder", metavar="DIR", help="the bench's folder (kiosk.toml, center data, sockets)")
    up.add_argument("--clock", help="the center's clock (default: 10:00 JST on the next day it serves)")
    up.add_argument("--resident", default="C-001", help="whose card is on the bench (default C-001)")
    up.add_argument("--pin", default="1234", help="the card's auth PIN (default 1234, as the scenarios)")
    up.add_argument(
        "--reader", choices=("pcsc", "pn532"), default="pcsc", help="vpcd reader or PN532 on a pty"
    )
    up.add_argument(
        "--vpcd-port", type=int, default=FIRST_PORT, help=f"vpcd's port ({FIRST_PORT}: Virtual PCD 00 00)"
    )
    up.add_argument(
        "--keep",
        action="store_true",
        help="keep the printer's spooled jobs and pages in DIR/spool when the bench stops (default: removed)",
    )
    up.set_defaults(func=_bench_up)
    p = sub.add_parser("drive", help="play a scenario at a kiosk through its [bench] control_socket")
    p.add_argument("scenario", help="a .toml file or the name of a bundled scenario")
    p.add_argument("--socket", required=True, help="the kiosk's control socket ([bench] control_socket)")
    p.add_argument("--bench", help="the bench's socket (bench up: DIR/bench.sock); without: you are asked")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.set_defaults(func=_drive)
