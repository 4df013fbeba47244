"""``kiosk-harness``: the test engineer's commands. ``play SCENARIO`` (a scripted resident on the simulated
kiosk, headless), ``sim`` (the kiosk window on simulators with the harness panel, or ``--headless`` with
commands on stdin), ``demo-ui`` (a scripted resident tapping the real touchscreen, a screenshot per screen).
Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from harness.scenario import Player, ScenarioError, check_expectations, load_scenario

log = logging.getLogger(__name__)
SCENARIOS = Path(__file__).parent / "scenarios"
READERS = ("loopback", "pcsc", "pn532")
READER_HELP = "virtual card in-process (loopback), behind pcscd + vpcd (pcsc) or a PN532 on a pty (pn532)"


def scenario_path(name: str) -> Path:
    """A scenario file, by path or by the name of a bundled one. Raises ScenarioError."""
    path = Path(name)
    if path.exists():
        return path
    bundled = SCENARIOS / f"{name.removesuffix('.toml')}.toml"
    if bundled.exists():
        return bundled
    raise ScenarioError(
        f"no scenario {name!r} (bundled: {', '.join(p.stem for p in sorted(SCENARIOS.glob('*.toml')))})"
    )


def _play(args: argparse.Namespace) -> int:
    from harness.sim import SimKiosk  # the simulators load only when asked for

    scenario = load_scenario(scenario_path(args.scenario))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-play-"))
    print(f"scenario: {scenario.name} (work {work})")
    setup = dict(scenario.setup)
    if args.reader:
        setup["reader"] = args.reader
    if args.crash_at is not None:
        setup["crash_at"] = args.crash_at
    with SimKiosk(work, setup) as kiosk:
        for r in kiosk.recovered:
            print(f"recovered {r.txn_id}: {r.action}, owed {r.refund_owed}")
        player = Player(kiosk.flow, kiosk.hands)
        final = player.play(scenario, step_timeout=args.step_timeout)
        out = Path(args.out) / scenario.name.replace(" ", "_")
        pages = kiosk.copy_printed(out)
        print(f"printed pages: {len(pages)} -> {out}")
    problems = check_expectations(scenario, final)
    for problem in problems:
        print(f"UNEXPECTED {problem}")
    return 1 if problems else 0


def _sim(args: argparse.Namespace) -> int:
    """``kiosk-harness sim``: the window with the test harness, or headless with harness commands on stdin."""
    from harness.commands import serve_stdin
    from harness.controls import ControlError, SimControls, run_setup
    from harness.sim import SimKiosk, sim_staff

    try:
        setup = run_setup(args.reader, args.resident)
    except ControlError as exc:
        raise ScenarioError(str(exc)) from None
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-run-"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not args.headless:
        from kiosk.ui.launch import prepare_kivy  # no kivy import yet

        prepare_kivy(work / "kivy-home", size=args.size)
    with SimKiosk(work, setup) as kiosk:
        controls = SimControls(kiosk)
        kiosk.flow.subscribe(  # one write per line (end=""): it never interleaves with the harness's answers
            lambda view: print(f"screen {view.screen} {view.message_key}\n", end="", flush=True)
        )
        print(f"kiosk running on simulators in {work}; Ctrl-C to stop", flush=True)
        try:
            if args.headless:
                print("harness: type 'help' for commands; 'quit' stops", flush=True)
                serve_stdin(controls, stop)  # the end of stdin leaves the kiosk running
                stop.wait()
            else:
                from harness.ui.launch import run_with_panel  # kivy loads here, after prepare_kivy

                run_with_panel(kiosk.flow, stop, controls, staff=sim_staff(kiosk))
        except KeyboardInterrupt:
            pass
    return 0


def _demo_ui(args: argparse.Namespace) -> int:
    """``kiosk-harness demo-ui``: the scenario through the real screens, a screenshot per screen."""
    from harness.sim import SimKiosk
    from kiosk.ui.launch import prepare_kivy

    scenario = load_scenario(scenario_path(args.scenario))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-demo-ui-"))
    screens = Path(args.out)
    pages_dir = Path(args.pages) if args.pages else screens.parent
    offscreen = prepare_kivy(work / "kivy-home", offscreen=True if args.offscreen else None, size=args.size)
    print(f"scenario: {scenario.name} (work {work}, {'off screen' if offscreen else 'on screen'})")
    setup = dict(scenario.setup)
    if args.reader:
        setup["reader"] = args.reader
    from harness.ui.demo import run_demo

    with SimKiosk(work, setup) as kiosk:
        result = run_demo(scenario, kiosk, screens, step_timeout=args.step_timeout)
        pages = kiosk.copy_printed(pages_dir)
    for capture in result.captures:
        print(f"screenshot {capture.path} ({capture.ui_screen})")
    print(f"{len(result.taps)} taps on the real widgets; {len(result.captures)} screenshot(s) in {screens}")
    print(f"printed pages: {len(pages)} -> {pages_dir}")
    for problem in result.problems:
        print(f"UNEXPECTED {problem}")
    return 0 if result.ok else 1


def _fleet(args: argparse.Namespace) -> int:
    """``kiosk-harness fleet``: many kiosks, one center, a fault schedule, verdicts (harness.fleet)."""
    from harness.fleet.cli import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="kiosk-harness", description="myna-kiosk test harness")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("play", help="play a scripted resident against the simulated kiosk")
    p.add_argument("scenario", help="a .toml file or the name of a bundled scenario")
    p.add_argument("--work", help="working directory (default: a new temporary one)")
    p.add_argument("--out", default="out", help="where printed pages are copied")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.add_argument("--reader", choices=READERS, help=READER_HELP)
    p.add_argument(
        "--crash-at", type=int, metavar="N", help="crash tests: SIGKILL the kiosk right after journal point N"
    )
    p.set_defaults(func=_play)
    p = sub.add_parser(
        "sim", help="the kiosk on simulators: the window with the harness panel, or --headless"
    )
    p.add_argument("--work", help="working directory (default: a new temporary one)")
    p.add_argument("--reader", choices=READERS, help=READER_HELP)
    p.add_argument(
        "--headless", action="store_true", help="no window: print screens, harness commands on stdin"
    )
    p.add_argument("--size", help="window size, e.g. 1100x650 (default: Kivy's)")
    p.add_argument("--resident", help="the resident whose card is placed first (default C-001)")
    p.set_defaults(func=_sim)
    p = sub.add_parser("demo-ui", help="play a scenario through the touchscreen, a screenshot per screen")
    p.add_argument("scenario", nargs="?", default="juminhyo", help="a .toml file or a bundled scenario")
    p.add_argument("--out", default="out/screens", help="where the screenshots go (NN-screen.png)")
    p.add_argument("--pages", help="where printed pages are copied (default: the parent of --out)")
    p.add_argument("--work", help="working directory (default: a new temporary one)")
    p.add_argument("--reader", choices=READERS, help="as for play")
    p.add_argument("--size", default="800x600", help="window size (default 800x600)")
    p.add_argument("--offscreen", action="store_true", help="render off screen even with a display")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.set_defaults(func=_demo_ui)
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
    except (ScenarioError, TimeoutError, OSError) as exc:
        print(f"kiosk-harness: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # a store's install: the product without the stand-ins
        print(f"kiosk-harness: needs pip install 'myna-kiosk[harness]' (missing {exc.name})", file=sys.stderr)
        return 2
    except (
        Exception
    ) as exc:  # simulator start-up failures (PrinterSimError, PkiError, ...) without a traceback
        print(f"kiosk-harness: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
