"""``kiosk run --config FILE``: the kiosk on real devices, with the touchscreen or ``--headless``.

Prints the start-up report (each device, what recovery did), then runs until SIGTERM, Ctrl-C or the
window closes. Exit status: 0 after a clean stop, 2 for a configuration error, 3 when a device is not
usable (the kiosk refuses to open). Errors are one line each on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from kiosk.assemble import RealKiosk, StartupError
from kiosk.config import ConfigError, load_config
from kiosk.flow.view import ViewState
from kiosk.journal import JournalWriteError

DEFAULT_CONFIG = Path("/etc/myna-kiosk/kiosk.toml")
EXIT_CONFIG = 2
EXIT_DEVICES = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and, unless the parser has them already, ``--headless`` and ``--size``."""
    parser.add_argument(
        "--config", type=Path, help=f"the kiosk's configuration file (real devices; e.g. {DEFAULT_CONFIG})"
    )
    for flag, options in (
        ("--headless", {"action": "store_true", "help": "no touchscreen: print each screen instead"}),
        ("--size", {"help": "window size, e.g. 800x600 (default: Kivy's)"}),
    ):
        try:
            parser.add_argument(flag, **options)  # type: ignore[arg-type]
        except argparse.ArgumentError:
            pass  # ``kiosk run`` already has it (shared with --sim)


def run_real(args: argparse.Namespace) -> int:
    """Run the kiosk the configuration names until stopped; returns the exit status. Raises nothing
    for configuration or device problems (they are printed as one line each)."""
    path = Path(args.config or DEFAULT_CONFIG)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    headless = bool(getattr(args, "headless", False))
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not headless:
        from kiosk.ui.launch import prepare_kivy  # no kivy import yet

        prepare_kivy(config.journal.parent / "kivy-home", size=getattr(args, "size", None))
    print(f"kiosk: configuration {config.source}", flush=True)
    try:
        with RealKiosk(config) as kiosk:
            for line in kiosk.report.lines():
                print(f"start-up {line}", flush=True)
            if headless:
                kiosk.flow.subscribe(_print_screen)
                _print_screen(kiosk.flow.view)
            print("kiosk open on real devices; SIGTERM or Ctrl-C to stop", flush=True)
            _serve(kiosk, stop, headless)
    except StartupError as exc:
        for check in exc.failed:
            print(f"kiosk: cannot open: {check.line()}", file=sys.stderr)
        return EXIT_DEVICES
    except (JournalWriteError, OSError) as exc:
        print(f"kiosk: cannot open the journal {config.journal}: {exc}", file=sys.stderr)
        return EXIT_DEVICES
    print("kiosk stopped", flush=True)
    return 0


def _serve(kiosk: RealKiosk, stop: threading.Event, headless: bool) -> None:
    try:
        if headless:
            stop.wait()
        else:
            from kiosk.ui.launch import run_app  # kivy loads here, after prepare_kivy

            run_app(kiosk.flow, stop)
    except KeyboardInterrupt:
        pass


def _print_screen(view: ViewState) -> None:
    print(f"screen {view.screen} {view.message_key}", flush=True)
