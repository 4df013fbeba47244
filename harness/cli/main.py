"""``kiosk-harness``: the test engineer's commands. ``play SCENARIO`` (a scripted resident on the simulated
kiosk, headless), ``sim`` (the kiosk window on simulators with the harness panel, or ``--headless`` with
commands on stdin), ``demo-ui`` (a scripted resident tapping the real touchscreen, a screenshot per screen),
``bench up DIR`` (simulated devices and a ready kiosk.toml for ``kiosk run --config``) and ``drive`` (a
scripted resident at such a kiosk, through its control socket).

The simulated kiosk's clock is ``--clock``, else the scenario's ``clock``, else 10:00 JST on the next day
the mock center serves. Work goes to ``--work`` or to a temporary folder removed at the end (``--keep``
keeps it); printed pages go only where ``--out`` (``--pages`` for demo-ui) says. The simulated printer's
spooled jobs and printed pages (certificates with residents' names) are removed from the work folder when
the kiosk stops, ``--work`` or not, unless ``--keep``. Errors are one line, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.clock import ClockError, parse_clock
from harness.scenario import (
    SCENARIOS,
    Player,
    ScenarioError,
    check_expectations,
    load_scenario,
    scenario_path,
)
from harness.workdir import WorkFolder

log = logging.getLogger(__name__)
__all__ = ["SCENARIOS", "build_parser", "main", "scenario_path"]  # SCENARIOS, scenario_path: harness.scenario
READERS = ("loopback", "pcsc", "pn532")
READER_HELP = "virtual card in-process (loopback), behind pcscd + vpcd (pcsc) or a PN532 on a pty (pn532)"


def _clock(args: argparse.Namespace) -> datetime | None:
    return parse_clock(args.clock) if getattr(args, "clock", None) else None


def _copy_pages(kiosk: Any, out: str | None, name: str, flag: str) -> None:
    """Copy the printed pages into ``out``/``name`` (only if there are any) and say where."""
    count = kiosk.pages_printed()
    if not out or not count:
        kept = f" (not kept: {flag} DIR keeps them)" if count else ""
        print(f"printed pages: {count}{kept}")
        return
    target = Path(out) / name
    pages = kiosk.copy_printed(target)
    print(f"printed pages: {len(pages)} -> {target}")


def _play(args: argparse.Namespace) -> int:
    scenario = load_scenario(scenario_path(args.scenario))  # refused here, before anything starts
    clock = _clock(args)
    if args.crash_at is not None and not args.work:
        raise ScenarioError("--crash-at needs --work: the next run recovers from the journal kept there")
    from harness.sim import SimKiosk  # the simulators load only when asked for

    setup = dict(scenario.setup)
    if args.reader:
        setup["reader"] = args.reader
    if args.crash_at is not None:
        setup["crash_at"] = args.crash_at
    with WorkFolder(args.work, keep=args.keep, prefix="kiosk-play-") as work:
        print(f"scenario: {scenario.name} (work {work.path})")
        with SimKiosk(work.path, setup, clock=clock, keep=args.keep) as kiosk:
            _print_recovery(kiosk)
            try:
                final = Player(kiosk.flow, kiosk.hands).play(scenario, step_timeout=args.step_timeout)
            except KeyboardInterrupt:
                _say_what_is_left(kiosk, work)
                return 130
            _copy_pages(kiosk, args.out, scenario.name.replace(" ", "_"), "--out")
    problems = check_expectations(scenario, final)
    for problem in problems:
        print(f"UNEXPECTED {problem}")
    return 1 if problems else 0


def _print_recovery(kiosk: Any) -> None:
    """The recovery lines ``kiosk run --config`` prints at start-up."""
    from kiosk.app.assemble import StartupReport

    for line in StartupReport((), tuple(kiosk.recovered)).lines():
        print(f"start-up {line}", flush=True)


def _sim(args: argparse.Namespace) -> int:
    """``kiosk-harness sim``: the window with the test harness, or headless with harness commands on stdin."""
    from harness.commands import serve_stdin
    from harness.controls import ControlError, SimControls, run_setup
    from harness.sim import SimKiosk, sim_staff
    from kiosk.app.stopping import wait_for_stop

    try:
        setup = run_setup(args.reader, args.resident)
    except ControlError as exc:
        raise ScenarioError(str(exc)) from None
    clock = _clock(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with WorkFolder(args.work, keep=args.keep, prefix="kiosk-sim-") as work:
        if not args.headless:
            from kiosk.ui.launch import prepare_kivy  # no kivy import yet

            if prepare_kivy(work.path / "kivy-home", offscreen=args.offscreen or None, size=args.size):
                why = "as asked (--offscreen)" if args.offscreen else "no display (DISPLAY is unset)"
                print(f"the touchscreen renders off screen: {why}; nothing is shown. --headless: use stdin")
        with SimKiosk(work.path, setup, clock=clock, keep=args.keep) as kiosk:
            _print_recovery(kiosk)
            controls = SimControls(kiosk)
            kiosk.flow.subscribe(  # one write per line (end=""): never interleaved with the answers
                lambda view: print(f"screen {view.screen} {view.message_key}\n", end="", flush=True)
            )
            print(f"kiosk running on simulators in {work.path}; Ctrl-C to stop", flush=True)
            try:
                if args.headless:
                    print("harness: type 'help' for commands; 'quit' or the end of input stops", flush=True)
                    serve_stdin(controls, stop)
                    wait_for_stop(stop)  # not stop.wait(): see kiosk.app.stopping
                else:
                    from harness.ui.launch import run_with_panel  # kivy loads here, after prepare_kivy

                    run_with_panel(kiosk.flow, stop, controls, staff=sim_staff(kiosk))
            except KeyboardInterrupt:
                pass
            _say_what_is_left(kiosk, work)
    return 0


def _say_what_is_left(kiosk: Any, work: WorkFolder) -> None:
    """Stopping mid-transaction: say which, the money the kiosk holds, and how to recover; keep the work."""
    txn = kiosk.flow.transaction_id
    if txn is None:
        return
    b = kiosk.journal.balance(txn)
    held = max(0, b.inserted - b.printed_fees - b.change - b.refunded)
    where = f"--work {work.path}" if work.temporary else "the same --work"
    print(f"stopped mid-transaction {txn}: {held} yen held; start again on {where} to recover", flush=True)
    work.hold("the journal of an unfinished transaction")


def _demo_ui(args: argparse.Namespace) -> int:
    """``kiosk-harness demo-ui``: the scenario through the real screens, a screenshot per screen."""
    scenario = load_scenario(scenario_path(args.scenario))
    clock = _clock(args)
    from harness.sim import SimKiosk
    from kiosk.ui.launch import prepare_kivy

    with WorkFolder(args.work, keep=args.keep, prefix="kiosk-demo-ui-") as work:
        screens = Path(args.out)
        offscreen = prepare_kivy(
            work.path / "kivy-home", offscreen=True if args.offscreen else None, size=args.size
        )
        where = "off screen" + ("" if args.offscreen else ": no display") if offscreen else "on screen"
        print(f"scenario: {scenario.name} (work {work.path}; the touchscreen renders {where})")
        setup = dict(scenario.setup)
        if args.reader:
            setup["reader"] = args.reader
        from harness.ui.demo import run_demo

        with SimKiosk(work.path, setup, clock=clock, keep=args.keep) as kiosk:
            result = run_demo(scenario, kiosk, screens, step_timeout=args.step_timeout)
            for capture in result.captures:
                print(f"screenshot {capture.path} ({capture.ui_screen})")
            shots = len(result.captures)
            print(f"{len(result.taps)} taps on the real widgets; {shots} screenshot(s) in {screens}")
            _copy_pages(kiosk, args.pages, scenario.name.replace(" ", "_"), "--pages")
    for problem in result.problems:
        print(f"UNEXPECTED {problem}")
    return 0 if result.ok else 1


def _fleet(args: argparse.Namespace) -> int:
    """``kiosk-harness fleet``: many kiosks, one center, a fault schedule, verdicts (harness.fleet)."""
    from harness.fleet.cli import run

    return run(args)


def _common(p: argparse.ArgumentParser, *, reader: bool = True) -> None:
    p.add_argument("--work", help="working folder, kept (default: a temporary one, removed at the end)")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary working folder, and the printer's spooled jobs and pages in the working"
        " folder (default: removed at the end)",
    )
    p.add_argument("--clock", help="the kiosk's clock, e.g. 2027-03-01T10:00:00+09:00 (runs on from there)")
    if reader:
        p.add_argument("--reader", choices=READERS, help=READER_HELP)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    from harness.cli.bench import add_bench_commands

    parser = argparse.ArgumentParser(prog="kiosk-harness", description="myna-kiosk test harness")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("play", help="play a scripted resident against the simulated kiosk")
    p.add_argument("scenario", help="a .toml file or the name of a bundled scenario")
    _common(p)
    p.add_argument("--out", help="copy the printed pages to OUT/<scenario>/ (default: not kept)")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.add_argument(
        "--crash-at", type=int, metavar="N", help="crash tests: SIGKILL the kiosk right after journal point N"
    )
    p.set_defaults(func=_play)
    p = sub.add_parser(
        "sim", help="the kiosk on simulators: the window with the harness panel, or --headless"
    )
    _common(p)
    p.add_argument(
        "--headless", action="store_true", help="no window: print screens, harness commands on stdin"
    )
    p.add_argument(
        "--offscreen", action="store_true", help="render the window off screen even with a display"
    )
    p.add_argument("--size", help="window size, e.g. 1100x650 (default: Kivy's)")
    p.add_argument("--resident", help="the resident whose card is placed first (default C-001)")
    p.set_defaults(func=_sim)
    p = sub.add_parser("demo-ui", help="play a scenario through the touchscreen, a screenshot per screen")
    p.add_argument("scenario", nargs="?", default="juminhyo", help="a .toml file or a bundled scenario")
    p.add_argument("--out", default="out/screens", help="where the screenshots go (NN-screen.png)")
    p.add_argument("--pages", help="copy the printed pages to PAGES/<scenario>/ (default: not kept)")
    _common(p)
    p.add_argument("--size", default="800x600", help="window size (default 800x600)")
    p.add_argument("--offscreen", action="store_true", help="render off screen even with a display")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.set_defaults(func=_demo_ui)
    add_bench_commands(sub)
    from harness.fleet.cli import add_arguments  # argparse only; the fleet loads when run

    p = sub.add_parser("fleet", help="many kiosks against one center, under faults, with verdicts")
    add_arguments(p)
    p.set_defaults(func=_fleet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user-facing error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s %(message)s"
    )
    try:
        result: int = args.func(args)
        return result
    except (ScenarioError, ClockError, TimeoutError, OSError) as exc:
        print(f"kiosk-harness: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kiosk-harness: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # a store's install: the product without the stand-ins
        print(f"kiosk-harness: needs pip install 'myna-kiosk[harness]' (missing {exc.name})", file=sys.stderr)
        return 2
    except Exception as exc:  # simulator start-up failures (PrinterSimError, PkiError, ReaderBusyError, ...)
        print(f"kiosk-harness: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
