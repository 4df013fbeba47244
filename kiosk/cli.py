"""``kiosk`` command: ``kiosk run --config FILE`` (the kiosk on real devices), ``kiosk run --sim`` (on
simulators, with the test harness), ``kiosk play SCENARIO`` (a scripted resident, headless), ``kiosk
demo-ui`` (a scripted resident tapping the real touchscreen, a screenshot per screen) and ``kiosk cash``
(staff: hopper stock). Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kiosk.cash_admin import add_commands as add_cash_commands  # staff: hopper stock and refills
from kiosk.diag_cli import add_commands as add_diag_commands  # staff: diagnostics, settling owed money
from kiosk.flow.scenario import Player, ScenarioError, check_expectations, load_scenario
from kiosk.run_real import add_arguments as add_real_arguments  # argparse only

log = logging.getLogger(__name__)
SCENARIOS = Path(__file__).parent / "scenarios"


def _scenario_path(name: str) -> Path:
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
    from kiosk.sim import SimKiosk  # the simulators load only when asked for

    scenario = load_scenario(_scenario_path(args.scenario))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-play-"))
    print(f"scenario: {scenario.name} (work {work})")
    setup = dict(scenario.setup)
    if args.reader:
        setup["reader"] = args.reader
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


def _run(args: argparse.Namespace) -> int:
    if args.config and args.sim:
        raise ScenarioError("kiosk run takes --config FILE (real devices) or --sim (simulators), not both")
    if args.config:
        from kiosk.run_real import run_real  # the device stack loads only here

        return run_real(args)
    if not args.sim:
        raise ScenarioError("kiosk run needs --config FILE (real devices) or --sim (simulators)")
    return _run_sim(args)


def _run_sim(args: argparse.Namespace) -> int:
    """``kiosk run --sim``: the window with the test harness, or headless with harness commands on stdin."""
    from kiosk.diagnostics import sim_staff
    from kiosk.sim import SimKiosk
    from kiosk.sim_commands import serve_stdin
    from kiosk.sim_controls import ControlError, SimControls, run_setup

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
                from kiosk.ui.launch import run_app  # kivy loads here, after prepare_kivy

                run_app(kiosk.flow, stop, controls, staff=sim_staff(kiosk))
        except KeyboardInterrupt:
            pass
    return 0


def _demo_ui(args: argparse.Namespace) -> int:
    """``kiosk demo-ui``: the scenario through the real screens, a screenshot per screen."""
    from kiosk.sim import SimKiosk
    from kiosk.ui.launch import prepare_kivy

    scenario = load_scenario(_scenario_path(args.scenario))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-demo-ui-"))
    screens = Path(args.out)
    pages_dir = Path(args.pages) if args.pages else screens.parent
    offscreen = prepare_kivy(work / "kivy-home", offscreen=True if args.offscreen else None, size=args.size)
    print(f"scenario: {scenario.name} (work {work}, {'off screen' if offscreen else 'on screen'})")
    setup = dict(scenario.setup)
    if args.reader:
        setup["reader"] = args.reader
    from kiosk.ui.demo import run_demo

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


def _add_run(sub: Any) -> None:
    """The ``run`` sub-command's arguments."""
    p = sub.add_parser("run", help="run the kiosk: on real devices (--config) or on simulators (--sim)")
    p.add_argument(
        "--sim", action="store_true", help="on simulators (virtual card, mock center, cash, printer)"
    )
    p.add_argument("--work")
    p.add_argument(
        "--reader",
        choices=("loopback", "pcsc", "pn532"),
        help="virtual card in-process (loopback), behind pcscd + vpcd (pcsc) or a PN532 on a pty (pn532)",
    )
    p.add_argument(
        "--headless", action="store_true", help="no window: print screens, harness commands on stdin"
    )
    p.add_argument("--size", help="window size, e.g. 1100x650 (default: Kivy's)")
    p.add_argument("--resident", help="the resident whose card is placed first (default C-001)")
    add_real_arguments(p)  # --config (after --headless / --size, which it reuses)
    p.set_defaults(func=_run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="kiosk", description="myna-kiosk (コンビニ交付) kiosk")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("play", help="play a scripted resident against the simulated kiosk")
    p.add_argument("scenario", help="a .toml file or the name of a bundled scenario")
    p.add_argument("--work", help="working directory (default: a new temporary one)")
    p.add_argument("--out", default="out", help="where printed pages are copied")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.add_argument(
        "--reader",
        choices=("loopback", "pcsc", "pn532"),
        help="virtual card in-process (loopback), behind pcscd + vpcd (pcsc) or a PN532 on a pty (pn532)",
    )
    p.set_defaults(func=_play)
    _add_run(sub)
    p = sub.add_parser("demo-ui", help="play a scenario through the touchscreen, a screenshot per screen")
    p.add_argument("scenario", nargs="?", default="juminhyo", help="a .toml file or a bundled scenario")
    p.add_argument("--out", default="out/screens", help="where the screenshots go (NN-screen.png)")
    p.add_argument("--pages", help="where printed pages are copied (default: the parent of --out)")
    p.add_argument("--work", help="working directory (default: a new temporary one)")
    p.add_argument("--reader", choices=("loopback", "pcsc", "pn532"), help="as for play")
    p.add_argument("--size", default="800x600", help="window size (default 800x600)")
    p.add_argument("--offscreen", action="store_true", help="render off screen even with a display")
    p.add_argument("--step-timeout", type=float, default=60.0)
    p.set_defaults(func=_demo_ui)
    add_cash_commands(sub)
    add_diag_commands(sub)
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
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except (
        Exception
    ) as exc:  # simulator start-up failures (PrinterSimError, PkiError, ...) without a traceback
        print(f"kiosk: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
