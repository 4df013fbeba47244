"""``firmware-sim vpcd CARD``: keep a virtual card inserted in pcscd's vpcd reader until told to stop."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType
from typing import Any

from firmware_sim.card.image import CardImageError
from firmware_sim.phone.load import open_device
from firmware_sim.vpcd import DEFAULT_HOST, DEFAULT_PORT, VpcdBridge

_HELP = """\
Put the virtual My Number card (or phone) CARD (an image, see `firmware-sim card new`) into a vpcd
virtual reader of pcscd, and keep it there until SIGTERM / SIGINT (then it is removed cleanly and
the command exits 0). While running: SIGUSR1 removes the card, SIGUSR2 inserts it again.
Reader 0 ("Virtual PCD 00 00") listens on port 35963, reader 1 ("Virtual PCD 00 01") on 35964.
If vpcd is not listening yet, the card keeps retrying (and says so once on stderr).
"""
_POLL = 0.1


def add_commands(subparsers: Any) -> None:
    """Register ``vpcd`` on the firmware-sim dispatcher."""
    parser = subparsers.add_parser(
        "vpcd",
        help="insert a virtual card into pcscd's vpcd reader",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("card", metavar="CARD", help="card image file")
    parser.add_argument("--host", default=DEFAULT_HOST, help="vpcd host (default %(default)s)")
    parser.add_argument("--port", type=int, default=None, help="vpcd port (default 35963 + reader index)")
    parser.add_argument(
        "--reader-index", type=int, choices=(0, 1), default=0, help="vpcd reader 0 or 1 (default 0)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT. Returns 0, or 1 when the card image cannot be loaded."""
    try:
        card = open_device(args.card)  # a card, or a phone by the image's form
    except (CardImageError, ValueError) as exc:
        print(f"firmware-sim vpcd: {exc}", file=sys.stderr)
        return 1
    port = args.port if args.port is not None else DEFAULT_PORT + args.reader_index
    bridge = VpcdBridge(card, args.host, port)
    wanted = _Wanted()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, wanted.on_signal)
    bridge.start()
    _supervise(bridge, args.card, wanted)
    bridge.stop()
    print(f"removed {args.card} from vpcd {args.host}:{port}", flush=True)
    return 0


class _Wanted:
    """What the signals ask for, as plain attributes. The handler runs in the main thread between two
    bytecodes, possibly while that thread holds a lock: setting a ``threading.Event`` there deadlocks
    when the main thread is inside the same Event (as a ``stop.wait(0.1)`` loop mostly is)."""

    def __init__(self) -> None:
        self.stop = False
        self.inserted = True

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stop = True
        elif signum == signal.SIGUSR1:
            self.inserted = False
        elif signum == signal.SIGUSR2:
            self.inserted = True


def _supervise(bridge: VpcdBridge, name: str, wanted: _Wanted) -> None:
    """Follow what the signals ask: report connection changes, remove / insert on request."""
    where = f"vpcd {bridge.host}:{bridge.port}"
    said_waiting = was_connected = False
    want_in = True
    while not wanted.stop:
        time.sleep(_POLL)  # a signal is seen at most _POLL late
        if wanted.inserted != want_in:
            want_in = wanted.inserted
            if want_in:
                bridge.insert()
            else:
                bridge.remove()
                print(f"removed {name} from {where}", flush=True)
        connected = bridge.connected.is_set()
        if connected and not was_connected:
            print(f"inserted {name} into {where}", flush=True)
        if want_in and not connected and bridge.connect_failures and not said_waiting:
            print(f"firmware-sim vpcd: {where} is not listening; retrying", file=sys.stderr, flush=True)
            said_waiting = True
        was_connected = connected
