"""``firmware-sim cash``: the ccTalk cash unit on a pty, driven by commands on stdin.

Prints the pty path (and keeps ``--link PATH`` as a stable symlink to it), then reads one command a
line: ``coin 100``, ``note 1000``, ``jam coin|bill|hopper [AFTER]``, ``unjam``, ``error CODE``,
``hopper empty [ADDR]``, ``hopper fill COUNT [ADDR]``, ``drop-reply N``, ``corrupt-reply N``,
``silent on|off``, ``power-cycle``, ``status``, ``help``, ``quit``. At end of input it keeps serving
until interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from firmware_sim.cash.serial_link import WireError
from firmware_sim.cash.unit import DEFAULT_HOPPERS, CashUnitSim, HopperSpec, SimError
from firmware_sim.cli.serve import CommandError, did, dispatch, serve_commands

HELP = __doc__.split("line:", 1)[1].split("At end", 1)[0].strip() if __doc__ else ""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"not a number: {text!r}") from None


def _count(args: list[str], index: int = 0) -> int:
    if len(args) <= index:
        raise CommandError("missing number")
    value = _int(args[index])
    if value < 0:
        raise CommandError(f"must not be negative: {value}")
    return value


def _hopper(sim: CashUnitSim, args: list[str]) -> str:
    if args[:1] == ["empty"]:
        sim.set_hopper_stock(0, _int(args[1]) if len(args) > 1 else None)
        return "hopper empty"
    if args[:1] == ["fill"]:
        sim.set_hopper_stock(_count(args, 1), _int(args[2]) if len(args) > 2 else None)
        return "hopper filled"
    raise CommandError("hopper empty [ADDR] | hopper fill COUNT [ADDR]")


def _silent(sim: CashUnitSim, args: list[str]) -> str:
    if args not in (["on"], ["off"]):
        raise CommandError("silent on|off")
    sim.set_silent(args[0] == "on")
    return f"silent {args[0]}"


def _jam(sim: CashUnitSim, args: list[str]) -> str:
    if not args:
        raise CommandError("jam coin|bill|hopper [AFTER]")
    sim.jam(args[0], _count(args, 1) if len(args) > 1 else 0)
    return f"{args[0]} jammed"


COMMANDS: dict[str, Callable[[CashUnitSim, list[str]], str]] = {
    "coin": lambda sim, a: sim.insert_coin(_count(a)),
    "note": lambda sim, a: sim.insert_note(_count(a)),
    "jam": _jam,
    "unjam": lambda sim, a: did(sim.clear_jam, "jams cleared"),
    "error": lambda sim, a: did(lambda: sim.coin_error(_count(a) % 256), "coin error event pushed"),
    "hopper": _hopper,
    "drop-reply": lambda sim, a: did(lambda: sim.drop_replies(_count(a)), "next replies dropped"),
    "corrupt-reply": lambda sim, a: did(lambda: sim.corrupt_replies(_count(a)), "next replies corrupted"),
    "silent": _silent,
    "power-cycle": lambda sim, a: did(sim.power_cycle, "power cycled"),
    "status": lambda sim, a: " ".join(f"{k}={v}" for k, v in sim.status().items()),
    "help": lambda sim, a: HELP,
}


def execute(sim: CashUnitSim, line: str) -> str:
    """Run one command line against ``sim``; returns the answer. Raises CommandError for bad input."""
    try:
        return dispatch(COMMANDS, sim, line)
    except SimError as exc:
        raise CommandError(str(exc)) from exc


def parse_hopper(text: str) -> HopperSpec:
    """``ADDR:YEN:COUNT`` → HopperSpec. Raises argparse.ArgumentTypeError."""
    try:
        address, yen, count = (int(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ADDR:YEN:COUNT, got {text!r}") from None
    return HopperSpec(address, yen, count)


def add_commands(sub: Any) -> None:
    """Register ``firmware-sim cash``."""
    parser = sub.add_parser("cash", help="ccTalk cash unit (coins, notes with escrow, hoppers) on a pty")
    parser.add_argument("--link", type=Path, help="keep a stable symlink to the pty here")
    parser.add_argument("--echo", action="store_true", help="echo the host's bytes (single-wire bus)")
    parser.add_argument("--crc-bill", action="store_true", help="bill validator uses CRC-16 frames")
    parser.add_argument("--hopper", type=parse_hopper, action="append", metavar="ADDR:YEN:COUNT")
    parser.add_argument("--no-watchdog", action="store_true", help="accept coins/notes even when not polled")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Serve until ``quit``, or until SIGINT/SIGTERM after end of input. Returns the exit status."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    watchdogs = (None, None) if args.no_watchdog else (1.0, 5.0)
    sim = CashUnitSim(
        hoppers=args.hopper or DEFAULT_HOPPERS,
        echo=args.echo,
        crc_bill=args.crc_bill,
        watchdogs=watchdogs,
        link=args.link,
    )
    try:
        path = sim.start()
    except (WireError, OSError) as exc:
        print(f"firmware-sim cash: {exc}", file=sys.stderr)
        return 1
    try:
        return serve_commands(str(path), lambda line: execute(sim, line), stdin, stdout)
    finally:
        sim.stop()
