"""``firmware-sim pn532 CARD``: a PN532 reader module on a pty with the card in its field.

Prints the pty path (and keeps ``--link PATH`` as a stable symlink to it), then reads one command a
line: ``remove``, ``insert``, ``delay MS`` (before each response), ``corrupt-next``, ``drop-next``,
``silent on|off``, ``status``, ``help``, ``quit``. At end of input it keeps serving until
interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from firmware_sim.card.image import CardImageError
from firmware_sim.cli.serve import CommandError, did, dispatch, serve_commands
from firmware_sim.phone.load import open_device
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.pty_link import WireError
from firmware_sim.pn532.typeb import TypeBCard, TypeBParams, random_pupi

HELP = __doc__.split("line:", 1)[1].split("At end", 1)[0].strip() if __doc__ else ""


def _delay(sim: Pn532Sim, args: list[str]) -> str:
    try:
        ms = int(args[0])
    except (IndexError, ValueError):
        raise CommandError("delay MS (a whole number of milliseconds)") from None
    if not 0 <= ms <= 60000:
        raise CommandError("delay must be 0..60000 ms")
    sim.delay = ms / 1000
    return f"delay {ms} ms"


def _silent(sim: Pn532Sim, args: list[str]) -> str:
    if args not in (["on"], ["off"]):
        raise CommandError("silent on|off")
    sim.wire.silent = args[0] == "on"
    return f"silent {args[0]}"


def _status(sim: Pn532Sim, args: list[str]) -> str:
    card = sim.card
    state = card.state.value if card is not None else "none"
    pupi = card.params.pupi.hex().upper() if card is not None else "-"
    return (
        f"card={'in' if sim.card_present else 'out'} state={state} pupi={pupi}"
        f" rf={'on' if sim.rf_on else 'off'}"
        f" commands={len(sim.commands)} delay={int(sim.delay * 1000)}ms silent={sim.wire.silent}"
    )


COMMANDS: dict[str, Callable[[Pn532Sim, list[str]], str]] = {
    "remove": lambda sim, a: did(sim.remove_card, "card removed"),
    "insert": lambda sim, a: did(sim.insert_card, "card inserted"),
    "delay": _delay,
    "corrupt-next": lambda sim, a: did(lambda: sim.wire.corrupt_next(1), "next response corrupted"),
    "drop-next": lambda sim, a: did(lambda: sim.wire.drop_next(1), "next response dropped"),
    "silent": _silent,
    "status": _status,
    "help": lambda sim, a: HELP,
}


def execute(sim: Pn532Sim, line: str) -> str:
    """Run one command line against ``sim``; returns the answer. Raises CommandError for bad input."""
    return dispatch(COMMANDS, sim, line)


def _pupi(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 4:
        raise argparse.ArgumentTypeError(f"PUPI must be 4 bytes of hex, got {text!r}")
    return value


def add_commands(sub: Any) -> None:
    """Register ``firmware-sim pn532``."""
    parser = sub.add_parser("pn532", help="PN532 NFC reader module (HSU) on a pty with a Type B card")
    parser.add_argument("card", type=Path, help="card image (firmware-sim card new)")
    parser.add_argument("--link", type=Path, help="keep a stable symlink to the pty here")
    parser.add_argument("--pupi", type=_pupi, help="fixed PUPI (hex, 4 bytes; default random)")
    parser.add_argument("--baud", type=int, help="pace the wire like a real UART at this baud rate")
    parser.add_argument("--empty", action="store_true", help="start with the card out of the field")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Serve until ``quit``, or until SIGINT/SIGTERM after end of input. Returns the exit status."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        card = open_device(args.card)  # a card, or a phone by the image's form
    except (CardImageError, ValueError) as exc:
        print(f"firmware-sim pn532: {exc}", file=sys.stderr)
        return 1
    typeb = TypeBCard(card, TypeBParams(pupi=args.pupi or random_pupi()))
    sim = Pn532Sim(typeb, link=args.link, baud=args.baud)
    if args.empty:
        sim.remove_card()
    try:
        path = sim.start()
    except (WireError, OSError) as exc:
        print(f"firmware-sim pn532: {exc}", file=sys.stderr)
        return 1
    try:
        return serve_commands(str(path), lambda line: execute(sim, line), stdin, stdout)
    finally:
        sim.stop()
