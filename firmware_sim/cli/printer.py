"""``firmware-sim printer``: an IPP printer (CUPS ippeveprinter) with scripted paper-out, jam and slow pages.

    firmware-sim printer --port 8631 --spool /tmp/spool [--jam-at N | --paper-out-at N] [--page-delay S]
                         [--keep]

Prints the printer URI, then runs until SIGTERM or Ctrl-C. Printed pages land in ``SPOOL/tray``; the
spooled jobs and the pages are removed when it stops, unless ``--keep``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from firmware_sim.cli.serve import StopSignals
from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import PrinterSim, PrinterSimError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def add_commands(sub: Any) -> None:
    """Add ``printer`` to the firmware-sim sub-commands."""
    parser = sub.add_parser(
        "printer",
        help="IPP printer with scripted faults (ippeveprinter)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on localhost (default: a free one)")
    parser.add_argument("--spool", type=Path, required=True, help="spool dir (pages in SPOOL/tray)")
    parser.add_argument("--name", default="MynaSimPrinter", help="printer name")
    faults = parser.add_mutually_exclusive_group()
    faults.add_argument("--jam-at", type=_positive_int, metavar="N", help="jam when feeding the N-th sheet")
    faults.add_argument(
        "--paper-out-at",
        type=_positive_int,
        metavar="N",
        help="run out of paper at the N-th sheet (the tray holds N-1)",
    )
    parser.add_argument("--page-delay", type=_seconds, default=0.0, metavar="S", help="seconds per page")
    parser.add_argument(
        "--fault-hold",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="how long a faulted job waits to be canceled before the printer aborts it",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the spooled jobs and the tray's pages in SPOOL when the printer stops (default: removed)",
    )
    parser.add_argument(
        "--raster-only",
        action="store_true",
        help="accept only PWG raster, not PDF (like a low-end IPP Everywhere printer)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the printer, print its URI, wait for SIGTERM/SIGINT; 1 with a message if it cannot start."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not 0 <= args.port <= 65535:
        print("firmware-sim printer: --port must be 0..65535", file=sys.stderr)
        return 2
    stop = StopSignals()
    formats = ("image/pwg-raster",) if args.raster_only else ("application/pdf", "image/pwg-raster")
    dnssd = DnssdServices()
    try:
        args.spool.mkdir(parents=True, exist_ok=True)
        dnssd.ensure()
        with PrinterSim(
            args.spool,
            port=args.port,
            name=args.name,
            formats=formats,
            paper_out_at=args.paper_out_at,
            jam_at=args.jam_at,
            page_delay=args.page_delay,
            fault_hold=args.fault_hold,
            keep=args.keep,
        ) as sim:
            print(sim.uri, flush=True)
            while not stop.seen_within(0.5):
                if sim.process is None or sim.process.poll() is not None:
                    print("firmware-sim printer: ippeveprinter stopped", file=sys.stderr)
                    return 1
    except (PrinterSimError, OSError) as exc:
        print(f"firmware-sim printer: {exc}", file=sys.stderr)
        return 1
    finally:
        dnssd.stop()
    return 0
