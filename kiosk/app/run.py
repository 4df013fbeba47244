"""``kiosk run --config FILE``: the kiosk on real devices, with the touchscreen or ``--headless``.

Prints the start-up report (each device, what recovery did), then runs until SIGTERM or Ctrl-C (a stop
request). Without ``--headless`` the touchscreen needs a display; on a machine without one the kiosk
refuses unless ``--offscreen`` says to render off screen. With ``[bench] control_socket`` it also takes a
test bench's taps on that unix socket (``kiosk.app.control``). Exit status: 0 after a stop request, 1 when
the window fails or closes without a stop request (the kiosk must not vanish quietly: the line says why),
2 for a configuration error (or a bad ``--size``, or no display), 3 when a device, the journal or the
control socket is not usable (the kiosk refuses to open), e.g. another kiosk holds the journal (one line
naming its pid and command: ``kiosk.app.instance``), the journal was written by a newer kiosk or is not a
SQLite database (one line naming the file and what to do: ``kiosk.journal.schema``).
Errors are one line each on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kiosk.app.config import DEFAULT_CONFIG
from kiosk.app.notify import SystemdNotifier  # light: no device library
from kiosk.app.stopping import wait_for_stop
from kiosk.journal.hopper_stock import hopper_slots
from kiosk.staff.diagnostics import StaffAccess, live_diagnostics
from kiosk.staff.passcode import LOCKOUT_FOR, GuardPolicy, PasscodeGuard, PasscodeVerifier
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
    parser.add_argument(
        "--offscreen", action="store_true", help="render the touchscreen off screen (no display needed)"
    )


def run_real(args: argparse.Namespace) -> int:
    """Run the kiosk the configuration names until stopped; returns the exit status. Raises nothing
    for configuration, device or window problems (they are printed as one line each)."""
    from kiosk.app.config import ConfigError, load_config

    headless = bool(getattr(args, "headless", False))
    try:
        config = load_config(Path(args.config or DEFAULT_CONFIG))
        if not headless:
            _prepare_window(config, bool(getattr(args, "offscreen", False)), getattr(args, "size", None))
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


def _prepare_window(config: KioskConfig, offscreen: bool, size: str | None) -> None:
    """Set Kivy up for the touchscreen. Raises ValueError (no display and no --offscreen, bad size),
    OSError."""
    from kiosk.ui.launch import prepare_kivy  # no kivy import yet

    if not offscreen and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ValueError(
            "no display for the touchscreen (DISPLAY and WAYLAND_DISPLAY are unset): run with --headless, "
            "or --offscreen to render it off screen"
        )
    prepare_kivy(config.journal.parent / "kivy-home", offscreen=offscreen or None, size=size)
    if offscreen:
        print("kiosk: the touchscreen renders off screen (--offscreen): nothing is shown", flush=True)


def _open_and_serve(config: KioskConfig, headless: bool, stop: threading.Event) -> int:
    from kiosk.app.assemble import RealKiosk, StartupError
    from kiosk.app.control import ControlServer
    from kiosk.app.instance import InUse
    from kiosk.journal.store import JournalRefused, JournalWriteError

    notifier = SystemdNotifier()  # under systemd (Type=notify): READY once open, the watchdog from the flow
    try:
        with RealKiosk(config, alive=notifier.watchdog) as kiosk:
            for line in kiosk.report.lines():
                print(f"start-up {line}", flush=True)
            control = None
            if config.control_socket is not None:
                try:
                    control = ControlServer(config.control_socket, kiosk.flow).start()
                except OSError as exc:
                    print(
                        f"kiosk: cannot open the control socket {config.control_socket}: {exc}",
                        file=sys.stderr,
                    )
                    return EXIT_DEVICES
                print(f"start-up control: test-bench taps on {config.control_socket} (mode 0600)", flush=True)
            if headless:
                kiosk.flow.subscribe(_print_screen)
                _print_screen(kiosk.flow.view)
            print("kiosk open on real devices; SIGTERM or Ctrl-C to stop", flush=True)
            notifier.ready(f"open: {len(kiosk.report.checks)} checks passed")
            try:
                status = _serve(kiosk, stop, headless)
            finally:
                if control is not None:
                    control.stop()
            notifier.stopping()
    except StartupError as exc:
        for check in exc.failed:
            print(f"kiosk: cannot open: {check.line()}", file=sys.stderr)
        notifier.status(f"cannot open: {'; '.join(check.line() for check in exc.failed)}")
        return EXIT_DEVICES
    except JournalRefused as exc:  # a newer kiosk's journal, or not a journal: one line, the file untouched
        print(f"kiosk: cannot open: {exc}", file=sys.stderr)
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
            wait_for_stop(stop)  # not stop.wait(): see kiosk.app.stopping
        else:
            from kiosk.ui.launch import run_app  # kivy loads here, after prepare_kivy

            run_app(kiosk.flow, stop, staff=real_staff(kiosk))  # staff mode: [staff] passcode_hash
    except KeyboardInterrupt:  # Ctrl-C on the terminal: a stop request
        stop.set()
    except Exception as exc:  # the window failed (no CJK font, no GL): one line, devices closed cleanly
        print(f"kiosk: the touchscreen failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_WINDOW
    if not stop.is_set():  # the window went away on its own: whoever watches the kiosk must know
        print("kiosk: the touchscreen closed without a stop request", file=sys.stderr)
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
    reader and center as found at start), the passcode of ``[staff] passcode_hash`` behind a guard kept in
    the journal (a lockout lasts ``LOCKOUT_FOR`` on the wall clock, across restarts); None when the
    configuration has none (no staff mode). Raises PasscodeError for a hash ``kiosk diag passcode`` did not
    print."""
    stored = kiosk.config.staff_passcode_hash
    if stored is None:
        return None
    guard = PasscodeGuard(
        PasscodeVerifier(stored),
        policy=GuardPolicy(lockout_for=LOCKOUT_FOR),
        clock=time.time,
        journal=kiosk.journal,
        store=kiosk.journal,
    )
    return StaffAccess(
        live_diagnostics(kiosk, extra=kiosk.report.checks, hoppers=hopper_slots(kiosk.config.cash_hoppers)),
        guard,
    )
