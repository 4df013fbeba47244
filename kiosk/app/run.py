"""``kiosk run --config FILE``: the kiosk on real devices, with the touchscreen or ``--headless``.

Prints the start-up report (each device, what recovery did), then runs until SIGTERM, Ctrl-C or the
window closes. Exit status: 0 after a clean stop, 1 when the window fails, 2 for a configuration error
(or a bad ``--size``), 3 when a device or the journal is not usable (the kiosk refuses to open), e.g.
another kiosk holds the journal (one line naming its pid and command: ``kiosk.app.instance``).
Errors are one line each on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kiosk.app.config import DEFAULT_CONFIG
from kiosk.app.notify import SystemdNotifier  # light: no device library
from kiosk.journal.hopper_stock import hopper_slots
from kiosk.staff.diagnostics import StaffAccess, live_diagnostics
from kiosk.staff.passcode import PasscodeVerifier
from kiosk.staff.status import CheckLine, StaffKiosk

if TYPE_CHECKING:  # the devices' libraries load only when the command runs, not when the parser is built
    from kiosk.app.assemble import RealKiosk
    from kiosk.app.config import KioskConfig
    from kiosk.flow.view import ViewState

EXIT_CONFIG = 2
EXIT_DEVICES = 3
EXIT_WINDOW = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config``, ``--headless`` and ``--size``."""
    parser.add_argument(
        "--config", type=Path, help=f"the kiosk's configuration file (default {DEFAULT_CONFIG})"
    )
    parser.add_argument("--headless", action="store_true", help="no touchscreen: print each screen instead")
    parser.add_argument("--size", help="window size, e.g. 800x600 (default: Kivy's)")


def run_real(args: argparse.Namespace) -> int:
    """Run the kiosk the configuration names until stopped; returns the exit status. Raises nothing
    for configuration, device or window problems (they are printed as one line each)."""
    from kiosk.app.config import ConfigError, load_config

    headless = bool(getattr(args, "headless", False))
    try:
        config = load_config(Path(args.config or DEFAULT_CONFIG))
        if not headless:
            from kiosk.ui.launch import prepare_kivy  # no kivy import yet

            prepare_kivy(config.journal.parent / "kivy-home", size=getattr(args, "size", None))
    except (ConfigError, ValueError, OSError) as exc:  # a bad --size is a ValueError
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = threading.Event()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if main else None
    print(f"kiosk: configuration {config.source}", flush=True)
    try:
        return _open_and_serve(config, headless, stop)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _open_and_serve(config: KioskConfig, headless: bool, stop: threading.Event) -> int:
    from kiosk.app.assemble import RealKiosk, StartupError
    from kiosk.app.instance import InUse
    from kiosk.journal.store import JournalWriteError

    notifier = SystemdNotifier()  # under systemd (Type=notify): READY once open, the watchdog from the flow
    try:
        with RealKiosk(config, alive=notifier.watchdog) as kiosk:
            for line in kiosk.report.lines():
                print(f"start-up {line}", flush=True)
            if headless:
                kiosk.flow.subscribe(_print_screen)
                _print_screen(kiosk.flow.view)
            print("kiosk open on real devices; SIGTERM or Ctrl-C to stop", flush=True)
            notifier.ready(f"open: {len(kiosk.report.checks)} checks passed")
            status = _serve(kiosk, stop, headless)
            notifier.stopping()
    except StartupError as exc:
        for check in exc.failed:
            print(f"kiosk: cannot open: {check.line()}", file=sys.stderr)
        notifier.status(f"cannot open: {'; '.join(check.line() for check in exc.failed)}")
        return EXIT_DEVICES
    except JournalWriteError as exc:
        print(f"kiosk: cannot open the journal {config.journal}: {exc}", file=sys.stderr)
        return EXIT_DEVICES
    except InUse as exc:  # another kiosk (or a probe, a self-test) has this journal: one kiosk per journal
        print(f"kiosk: cannot open: {exc}", file=sys.stderr)
        return EXIT_DEVICES
    except OSError as exc:  # the journal's folder or lock file cannot be made
        print(f"kiosk: cannot open the journal {config.journal}: {exc}", file=sys.stderr)
        return EXIT_DEVICES
    print("kiosk stopped", flush=True)
    return status


def _serve(kiosk: RealKiosk, stop: threading.Event, headless: bool) -> int:
    try:
        if headless:
            stop.wait()
        else:
            from kiosk.ui.launch import run_app  # kivy loads here, after prepare_kivy

            run_app(kiosk.flow, stop, staff=real_staff(kiosk))  # staff mode: [staff] passcode_hash
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the window failed (no CJK font, no GL): one line, devices closed cleanly
        print(f"kiosk: the touchscreen failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_WINDOW
    return 0


def _print_screen(view: ViewState) -> None:
    closed = f" out_of_service={view.out_of_service}" if view.out_of_service else ""  # e.g. the clock is off
    print(f"screen {view.screen} {view.message_key}{closed}", flush=True)


class StartupChecks(Protocol):
    """What start-up found of each device (``kiosk.app.assemble.StartupReport``)."""

    @property
    def checks(self) -> Sequence[CheckLine]: ...


class ConfiguredKiosk(StaffKiosk, Protocol):
    """A running kiosk with its configuration and start-up checks (``kiosk.app.assemble.RealKiosk``)."""

    @property
    def config(self) -> KioskConfig: ...
    @property
    def report(self) -> StartupChecks: ...


def real_staff(kiosk: ConfiguredKiosk) -> StaffAccess | None:
    """Staff mode for a running ``kiosk.app.assemble.RealKiosk``: its journal, hoppers and live drivers (the
    reader and center as found at start), the passcode of ``[staff] passcode_hash``; None when the
    configuration has none (no staff mode). Raises PasscodeError for a hash ``kiosk diag passcode`` did not
    print."""
    stored = kiosk.config.staff_passcode_hash
    if stored is None:
        return None
    verifier = PasscodeVerifier(stored)
    return StaffAccess(
        live_diagnostics(kiosk, extra=kiosk.report.checks, hoppers=hopper_slots(kiosk.config.cash_hoppers)),
        verifier,
    )
