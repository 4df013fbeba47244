"""The harness without a window: ``kiosk-harness sim --headless`` reads one command a line from stdin.

The test engineer's hands (``card``, ``remove``, ``use``, ``coin``, ``note``, ``printer``) go through
:class:`harness.controls.SimControls`; the resident's taps on the screen (``start``, ``route``,
``pin``, ``choose`` ...) are posted to the flow as the touchscreen would. A PIN is never echoed.
The table is dispatched by firmware_sim's command loop helper (the simulators' CLIs use it too).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import TextIO

from firmware_sim.cli.serve import CommandError, dispatch
from harness.controls import ControlError, SimControls, residents
from kiosk.flow import events as ev

HELP = """commands (test engineer):
  card               place the card on the reader
  remove             take the card off the reader
  use ID [VARIANT]   the next card: a resident id (see 'residents') and normal|expired|revoked|pin_locked
  coin YEN           drop a coin (10 50 100 500)
  note YEN           feed a note (1000 2000 5000 10000)
  printer FAULT      jam | paper_out | clear
  residents          the residents whose cards are on offer
  status             card, cash and printer state
commands (resident's taps):
  start [LANG]  route residence|honseki  pin NNNN  choose TYPE  options KEY=VALUE...  copies N
  confirm  back  cancel  finish
  help               this text
  quit               stop the kiosk"""

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
    if len(args) not in (1, 2):
        raise ControlError("usage: use ID [VARIANT]")
    variant = args[1] if len(args) == 2 else "normal"
    controls.use_card(args[0], variant)
    return f"next card: {args[0]} {variant}"


def _printer(controls: SimControls, args: list[str]) -> str:
    fault = _one(args, "printer jam|paper_out|clear")
    if fault == "clear":
        controls.clear_printer()
    else:
        controls.printer_fault(fault)
    return f"printer {controls.printer_status()}"


def _placed(controls: SimControls, place: bool) -> str:
    (controls.place_card if place else controls.remove_card)()
    resident, variant = controls.current
    return f"card {resident} {variant} {'placed' if place else 'removed'}"


def _options(args: list[str]) -> ev.ChooseOptions:
    pairs = [arg.split("=", 1) for arg in args]
    if any(len(pair) != 2 for pair in pairs):
        raise ControlError("usage: options KEY=VALUE ...")
    return ev.ChooseOptions(options=tuple((k, v) for k, v in pairs))


def _pin(args: list[str]) -> ev.PinEntered:
    pin = _one(args, "pin NNNN")
    if not pin.isdigit():
        raise ControlError("a PIN is digits only")
    return ev.PinEntered(pin=pin)


def _copies(args: list[str]) -> ev.ChooseCopies:
    copies = _one(args, "copies N")
    if not copies.isdigit():
        raise ControlError("copies is a number")
    return ev.ChooseCopies(copies=int(copies))


# The resident's taps: command -> the flow event built from its arguments
_TAPS: dict[str, Callable[[list[str]], object]] = {
    "start": lambda a: ev.Start(language=a[0] if a else "ja"),
    "route": lambda a: ev.ChooseRoute(route=_one(a, "route residence|honseki")),
    "pin": _pin,
    "choose": lambda a: ev.ChooseType(type=_one(a, "choose TYPE")),
    "options": _options,
    "copies": _copies,
    "confirm": lambda _a: ev.Confirm(),
    "back": lambda _a: ev.Back(),
    "cancel": lambda _a: ev.Cancel(),
    "finish": lambda _a: ev.Finish(),
}


def _tap(name: str) -> Handler:
    def handler(controls: SimControls, args: list[str]) -> str:
        controls.flow.post(_TAPS[name](args))
        return f"tapped {name}" + (" ****" if name == "pin" else "".join(f" {a}" for a in args))

    return handler


COMMANDS: dict[str, Handler] = {
    "card": lambda c, a: _placed(c, True),
    "remove": lambda c, a: _placed(c, False),
    "use": _use,
    "coin": lambda c, a: str(c.insert_coin(_yen(a))),
    "note": lambda c, a: str(c.insert_note(_yen(a))),
    "printer": _printer,
    "residents": lambda c, a: "\n".join(r.label for r in residents()),
    "status": lambda c, a: str(c.status()),
    "help": lambda c, a: HELP,
    **{name: _tap(name) for name in _TAPS},
}


def execute(controls: SimControls, line: str) -> str:
    """Run one command line; the answer to print ("error: ..." for a bad or refused command).
    Never raises for bad input."""
    try:
        return dispatch(COMMANDS, controls, line)
    except (CommandError, ControlError) as exc:
        return f"error: {exc}"


def serve_lines(controls: SimControls, lines: Iterable[str], out: TextIO, stop: threading.Event) -> None:
    """Answer each command line on ``out`` until ``quit`` (which sets ``stop``), end of input or
    ``stop``. Each answer is one write, so it does not interleave with other threads' lines. Never
    raises for bad input."""
    for line in lines:
        if stop.is_set():
            return
        if line.strip() in ("quit", "exit"):
            stop.set()
            return
        answer = execute(controls, line)
        if answer:
            out.write(answer + "\n")
            out.flush()


def serve_stdin(controls: SimControls, stop: threading.Event) -> threading.Thread:
    """Answer stdin's command lines on stdout from a daemon thread (see serve_lines); returns it."""
    thread = threading.Thread(
        target=serve_lines, args=(controls, sys.stdin, sys.stdout, stop), name="harness-stdin", daemon=True
    )
    thread.start()
    return thread
