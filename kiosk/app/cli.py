"""``kiosk`` command, what a store runs: ``kiosk run --config FILE`` (the kiosk on its devices), ``kiosk
diag`` (staff diagnostics, settling owed money) and ``kiosk cash`` (staff: hopper stock). The test
engineer's commands (play, sim, demo-ui, drive) are ``kiosk-harness``. Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from kiosk.app.cash_cli import add_commands as add_cash_commands  # staff: hopper stock and refills
from kiosk.app.diag_cli import add_commands as add_diag_commands  # staff: diagnostics, settling owed money
from kiosk.app.logsetup import configure_logging, under_journal  # the system journal's form under systemd
from kiosk.app.run import add_arguments as add_run_arguments  # argparse only

log = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    from kiosk.app.run import run_real  # the device stack loads only here

    return run_real(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="kiosk", description="myna-kiosk (コンビニ交付) kiosk")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the kiosk on its devices (--config FILE)")
    add_run_arguments(p)
    p.set_defaults(func=_run)
    add_cash_commands(sub)
    add_diag_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user-facing error)."""
    args = build_parser().parse_args(argv)
    # The field log (one line per step, kiosk.flow.fieldlog) is INFO: kept in the system journal; at a
    # terminal, `kiosk run` prints its report and errors, and shows the field log with -v.
    journal = args.command == "run" and under_journal(sys.stderr, os.environ)
    configure_logging(logging.INFO if args.verbose or journal else logging.WARNING)
    try:
        result: int = args.func(args)
        return result
    except (ValueError, TimeoutError, OSError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
