"""`firmware-sim`: the hardware stand-ins' command line. Each area adds its own sub-commands.

Sub-command modules (each has ``add_commands(subparsers)``; the parser's ``func`` runs the command
and returns the exit status):
- ``cli_card``: ``card new``, ``card cert``, ``card show`` (virtual My Number card images)
- ``cli_vpcd``: ``vpcd CARD`` (put a card into pcscd's virtual reader)
- ``cli_pn532``: ``pn532 CARD`` (PN532 reader-module firmware on a pty)
- ``cli_cash``: ``cash …`` (ccTalk cash unit on a pty)
- ``cli_printer``: ``printer …`` (IPP printer with scripted faults)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_MODULES = ("card", "vpcd", "pn532", "cash", "printer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firmware-sim", description="Hardware stand-ins for myna-kiosk.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _MODULES:
        try:
            module = importlib.import_module(f"firmware_sim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"firmware_sim.cli.{name}":
                continue  # that area is not built yet
            raise
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
