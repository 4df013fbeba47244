"""The harness without a window: ``kiosk-harness sim --headless`` reads one command a line from stdin.

The test engineer's hands (``card``, ``remove``, ``use``, ``coin``, ``note``, ``printer``) go through
:class:`harness.controls.SimControls`; the resident's taps on the screen (``start``, ``route``,
``pin``, ``choose`` ...) go through the kiosk's own tap handling (``kiosk.app.control``, the same as a
kiosk's control socket): each waits while the kiosk is busy, then is done on the screen that takes it or
refused with one line ("coin 500: not on the pay screen (now: route)"), and is answered with the screen
the kiosk settled on, never "tapped" for a tap that did nothing. A PIN is never echoed. The end of
input stops the kiosk as ``quit`` does. The table is dispatched by firmware_sim's command loop helper.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import TextIO

from firmware_sim.cli.serve import CommandError, dispatch
from harness.controls import ControlError, SimControls, residents
from kiosk.app.control import REACT_S, TAPS, TapError, describe
from kiosk.flow.view import Screen

HELP = """commands (test engineer):
  card               place the card on the reader
  remove             take the card off the reader
  use ID [VARIANT [FORM]]  the next card: a resident id (see 'residents'), normal|expired|revoked|pin_locked,
                     and card|android|iphone (a smartphone instead of the card)
  coin YEN           drop a coin (10 50 100 500) on the pay screen
  note YEN           feed a note (1000 2000 5000 10000) on the pay screen
  printer FAULT      jam | paper_out | clear
  residents          the residents whose cards are on offer
  status             card, cash and printer state
commands (resident's taps; each waits while the kiosk is busy, then needs its screen):
  start [LANG]  route residence|honseki  pin NNNN  choose TYPE  options KEY=VALUE...  copies N
  confirm  back  cancel  finish
  help               this text
  quit               stop the kiosk (so does the end of input)"""
PAY = frozenset({Screen.PAY})

Handler = Callable[[SimControls, list[str]], str]


def _one(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise ControlError(f"usage: {usage}")
    return args[0]


def _yen(args: list[str]) -> int:
    value = _one(args, "coin YEN / note YEN")
    if not value.isdigit():
        raise ControlError(f"expected an amount in yen, not {value!r}")
    return int(value)


def _use(controls: SimControls, args: list[str]) -> str:
    if len(args) not in (1, 2, 3):
        raise ControlError("usage: use ID [VARIANT [card|android|iphone]]")
    variant = args[1] if len(args) >= 2 else "normal"
    form = args[2] if len(args) == 3 else "card"
    controls.use_card(args[0], variant, form)
    return f"next card: {args[0]} {variant}" + ("" if form == "card" else f" ({form})")


def _printer(controls: SimControls, args: list[str]) -> str:
    fault = _one(args, "printer jam|paper_out|clear")
    if fault == "clear":
        controls.clear_printer()
    else:
        controls.printer_fault(fault)
    return f"printer {controls.printer_status()}"


def _placed(controls: SimControls, place: bool) -> str:
    """Place or remove the card; on the screen that waits for it, also what the kiosk made of it."""
    waiting = {True: Screen.PLACE_CARD, False: Screen.REMOVE_CARD}[place]
    before = controls.watch.view
    (controls.place_card if place else controls.remove_card)()
    resident, variant = controls.current
    answer = f"card {resident} {variant} {'placed' if place else 'removed'}"
    if before.screen is not waiting:
        return answer
    controls.watch.wait_moved(before, REACT_S)
    return f"{answer} -> {describe(controls.watch.settled(controls.wait))}"


def _cash(kind: str) -> Handler:
    """Drop a coin / feed a note on the pay screen; once taken, wait for the kiosk to count it."""

    def handler(controls: SimControls, args: list[str]) -> str:
        yen = _yen(args)
        before = controls.watch.ready_for(f"{kind} {yen}", PAY, controls.wait)
        result = (controls.insert_coin if kind == "coin" else controls.insert_note)(yen)
        if not result.accepted:
            return str(result)
        after = controls.watch.wait_view(
            lambda v: (v.screen, v.amount_inserted) != (before.screen, before.amount_inserted), REACT_S
        )
        return f"{result} -> {after.screen} (inserted {after.amount_inserted} of {after.fee} yen)"

    return handler


def _tap(name: str) -> Handler:
    def handler(controls: SimControls, args: list[str]) -> str:
        return controls.watch.tap([name, *args], controls.wait)

    return handler


COMMANDS: dict[str, Handler] = {
    "card": lambda c, a: _placed(c, True),
    "remove": lambda c, a: _placed(c, False),
    "use": _use,
    "coin": _cash("coin"),
    "note": _cash("note"),
    "printer": _printer,
    "residents": lambda c, a: "\n".join(r.label for r in residents()),
    "status": lambda c, a: str(c.status()),
    "help": lambda c, a: HELP,
    **{name: _tap(name) for name in TAPS},
}


def execute(controls: SimControls, line: str) -> str:
    """Run one command line; the answer to print ("error: ..." for a bad or refused command).
    Never raises for bad input."""
    try:
        return dispatch(COMMANDS, controls, line)
    except (CommandError, ControlError, TapError) as exc:
        return f"error: {exc}"


def serve_lines(controls: SimControls, lines: Iterable[str], out: TextIO, stop: threading.Event) -> None:
    """Answer each command line on ``out`` until ``quit``, the end of input (both set ``stop``) or
    ``stop``. Each answer is one write, so it does not interleave with other threads' lines. Never
    raises for bad input."""
    for line in lines:
        if stop.is_set():
            return
        if line.strip() in ("quit", "exit"):
            break
        answer = execute(controls, line)
        if answer:
            out.write(answer + "\n")
            out.flush()
    stop.set()


def serve_stdin(controls: SimControls, stop: threading.Event) -> threading.Thread:
    """Answer stdin's command lines on stdout from a daemon thread (see serve_lines); returns it."""
    thread = threading.Thread(
        target=serve_lines, args=(controls, sys.stdin, sys.stdout, stop), name="harness-stdin", daemon=True
    )
    thread.start()
    return thread
