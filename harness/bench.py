"""``kiosk-harness bench up DIR``: a test bench for ``kiosk run --config`` — every device a store's kiosk
reaches, each simulated and reached only the way a store's is, and a ready ``DIR/kiosk.toml``.

- the mock issuance center over mutual TLS (its data in ``DIR/center``; the terminal's certificate, key
  and pinned CA in ``DIR/terminal``), its clock at ``--clock`` or the next day it serves;
- the resident's virtual card (``DIR/card.json``) behind pcscd + vpcd (``--vpcd-port``), or in a
  simulated PN532 module's field on a pty (``--reader pn532``), out of the reader until placed;
- the ccTalk cash unit on a pty; the IPP printer (``ippeveprinter``), pages in ``DIR/spool/tray`` while
  the bench runs (the spooled jobs and pages are removed when it stops, unless ``--keep``);
- ``DIR/kiosk.toml`` naming all of them, with ``[bench] control_socket = "kiosk.sock"``;
- the bench's hands on ``DIR/bench.sock`` (mode 0600): ``card``, ``remove``, ``coin YEN``, ``note YEN``,
  ``printer jam|paper_out|clear``, ``pages``, ``status``, ``help`` — what ``kiosk-harness drive --bench``
  sends when a scenario places the card or pays.

It runs in the foreground until Ctrl-C or SIGTERM and then stops everything it started. Each ``up`` starts
afresh (a new center, card, journal): what an earlier bench left in DIR is replaced; a folder that holds
anything else is refused.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.cash.unit import CashUnitSim
from firmware_sim.cli.serve import CommandError, dispatch
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.typeb import TypeBCard, TypeBParams, random_pupi
from firmware_sim.printer.ippeve import DnssdServices, PrinterSim
from harness.cards import CardOfficeError, issue_card_at
from harness.controls import (
    COINS,
    NOTES,
    ControlError,
    arm_printer_fault,
    clear_printer_faults,
    printer_status,
)
from harness.sim import Pn532Slot
from harness.vpcd import FIRST_PORT, ReaderBusyError, VpcdSlot
from kiosk.app.assemble import StackedKiosk
from kiosk.app.config import load_config
from kiosk.app.control import LineServer
from kiosk.journal.hopper_stock import hopper_slots, refill
from kiosk.journal.store import Journal
from mock_relay.faults import CenterClock
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki

log = logging.getLogger(__name__)

HEADER = "# Written by `kiosk-harness bench up`: a kiosk on this bench's simulated devices."
MADE = ("center", "terminal", "var", "spool", "card.json", "kiosk.toml", "kiosk.sock", "bench.sock")
KIOSK_SOCKET = "kiosk.sock"
BENCH_SOCKET = "bench.sock"
HELP = (
    "bench: card | remove | coin YEN | note YEN | printer jam|paper_out|clear | pages | status | help | quit"
)


class BenchError(OSError):
    """The bench cannot come up; the message says why in one line."""


@dataclass
class BenchOptions:
    """What ``bench up`` was asked for."""

    folder: Path
    clock: datetime
    resident: str = "C-001"
    pin: str = "1234"
    reader: str = "pcsc"  # pcsc | pn532
    vpcd_port: int = FIRST_PORT
    keep: bool = False  # the printer's spooled jobs and pages stay in DIR/spool when the bench stops


class Bench(StackedKiosk):  # the same start/stop discipline as a kiosk: one ExitStack
    """The simulated devices of one kiosk under ``options.folder``; a context manager that stops them."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.folder = options.folder.absolute()
        self._stack = contextlib.ExitStack()
        self.slot: Any = None
        self.reader_url = ""

    def _start(self) -> None:
        """Raises BenchError, or what a simulator raises (PrinterSimError, WireError, OSError)."""
        o, data = self.options, self.folder / "center"
        self.folder.mkdir(parents=True, exist_ok=True)
        clear_previous_bench(self.folder)
        self.center = RelayServer(data, clock=CenterClock(o.clock)).start()
        self._stack.callback(self.center.stop)
        self.terminal = CenterPki.open(data / "center").issue_terminal("T-0001", self.folder / "terminal")
        self.card_path = self.folder / "card.json"
        self.card_path.unlink(missing_ok=True)
        # The kiosk checks the card on the wall clock, the center on its own: valid at both.
        valid_at = min(o.clock, datetime.now(UTC))
        try:
            issue_card_at(data, o.resident, self.card_path, at=valid_at, pin=o.pin)
        except CardOfficeError as exc:
            raise BenchError(str(exc)) from exc
        card = MyNumberCard.from_image(self.card_path)
        if o.reader == "pn532":
            module = Pn532Sim(TypeBCard(card, TypeBParams(pupi=random_pupi())))
            module.remove_card()
            port = module.start()
            self._stack.callback(module.stop)
            self.slot, self.reader_url = Pn532Slot(module), f"pn532://{port}"
        else:
            try:
                slot = VpcdSlot(card, o.vpcd_port)
            except ReaderBusyError as exc:
                raise BenchError(str(exc)) from exc
            self._stack.callback(slot.stop)
            self.slot, self.reader_url = slot, f"pcsc://{slot.name}"
        self.cash = CashUnitSim(watchdogs=(None, None), coin_interval=0.001)
        self.cash.start()
        self._stack.callback(self.cash.stop)
        dnssd = DnssdServices()
        dnssd.ensure()
        self._stack.callback(dnssd.stop)
        self.printer = PrinterSim(self.folder / "spool", keep=o.keep).start()
        self._stack.callback(self.printer.stop)
        self.config_path = self.folder / "kiosk.toml"
        self.config_path.write_text(self.kiosk_toml(), encoding="utf-8")
        self._count_hoppers()
        self.hands = BenchServer(self.folder / BENCH_SOCKET, self).start()
        self._stack.callback(self.hands.stop)

    def _count_hoppers(self) -> None:
        """Journal each hopper at the cash simulator's stock, as staff do once they loaded it (``kiosk cash
        refill --set``): a hopper never counted is empty and the kiosk would ask for exact amounts."""
        config = load_config(self.config_path, check_certificates=False)
        slots = hopper_slots(config.cash_hoppers)
        journal = Journal(config.journal)
        try:
            for slot in slots:
                refill(journal, slots, slot.address, set_to=self.cash.hoppers[slot.address].stock)
        finally:
            journal.close()

    def kiosk_toml(self) -> str:
        """The kiosk's configuration for this bench (paths relative to the folder)."""
        return "\n".join(
            [
                HEADER,
                'journal = "var/journal.sqlite"',
                "tick = 0.1",
                "[reader]",
                f'url = "{self.reader_url}"',
                "[center]",
                f'url = "{self.center.api_url}"',
                'terminal_cert = "terminal/terminal.pem"',
                'terminal_key = "terminal/terminal.key"',
                'ca = "terminal/center-ca.pem"',
                "[jpki]",
                'ca_bundle = "center/jpki/auth-ca-bundle.pem"',
                "[cash]",
                f'port = "{self.cash.path}"',
                "reply_timeout = 0.5",
                "[printer]",
                f'uri = "{self.printer.uri}"',
                "[clock]",
                "enforce = false  # the bench's center runs on its own simulated clock, not the wall clock",
                "[bench]",
                f'control_socket = "{KIOSK_SOCKET}"',
                "",
            ]
        )

    def lines(self) -> list[str]:
        """What the bench tells the person who started it."""
        f, o = self.folder, self.options
        return [
            f"bench: center {self.center.api_url} (terminal T-0001, clock {o.clock.isoformat()})",
            f"bench: card of {o.resident} ({self.card_path}) for {self.reader_url}, out of the reader",
            f"bench: cash unit on {self.cash.path}",
            f"bench: printer {self.printer.uri} (pages in {self.printer.tray})",
            f"bench: kiosk configuration {self.config_path}",
            f"bench ready: hands on {f / BENCH_SOCKET}. In another terminal:",
            f"  kiosk run --config {self.config_path} --headless",
            f"  kiosk-harness drive --socket {f / KIOSK_SOCKET} --bench {f / BENCH_SOCKET} juminhyo",
            "Ctrl-C stops the bench.",
        ]

    def pages(self) -> int:
        """Sheets in the printer's output tray. Never raises."""
        try:
            return sum(1 for _ in self.printer.tray.iterdir())
        except OSError:
            return 0


def clear_previous_bench(folder: Path) -> None:
    """Remove what an earlier bench made in ``folder``. Raises BenchError for a folder that holds something
    else (it is never touched)."""
    entries = list(folder.iterdir())
    if not entries:
        return
    config = folder / "kiosk.toml"
    ours = config.is_file() and config.read_text(encoding="utf-8").startswith(HEADER)
    if not ours or any(entry.name not in MADE for entry in entries):
        raise BenchError(
            f"bench: {folder} is not empty and not a bench's folder: give an empty or new folder"
        )
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _yen(args: list[str], allowed: tuple[int, ...]) -> int:
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) not in allowed:
        raise ControlError(f"expected one of {', '.join(map(str, allowed))} yen")
    return int(args[0])


def _card(bench: Bench, args: list[str], place: bool) -> str:
    (bench.slot.insert if place else bench.slot.remove)()
    return f"card {bench.options.resident} {'placed' if place else 'removed'}"


def _printer(bench: Bench, args: list[str]) -> str:
    if args == ["clear"]:
        clear_printer_faults(bench.printer)
    elif len(args) == 1:
        arm_printer_fault(bench.printer, args[0])
    else:
        raise ControlError("usage: printer jam|paper_out|clear")
    return f"printer {printer_status(bench.printer)}"


COMMANDS = {
    "card": lambda b, a: _card(b, a, True),
    "remove": lambda b, a: _card(b, a, False),
    "coin": lambda b, a: f"coin {_yen(a, COINS)}: {b.cash.insert_coin(_yen(a, COINS))}",
    "note": lambda b, a: f"note {_yen(a, NOTES)}: {b.cash.insert_note(_yen(a, NOTES))}",
    "printer": _printer,
    "pages": lambda b, a: f"pages {b.pages()} in {b.printer.tray}",
    "status": lambda b, a: f"printer {printer_status(b.printer)}; pages {b.pages()}",
    "help": lambda b, a: HELP,
}


class BenchServer(LineServer):
    """The bench's hands on a unix socket (mode 0600), one command a line (see COMMANDS)."""

    def __init__(self, path: Path, bench: Bench) -> None:
        super().__init__(path)
        self.bench = bench

    def execute(self, line: str, mark: int = 0) -> str:
        """One command line's answer ("error: …" for a bad or refused one). Never raises."""
        try:
            return dispatch(COMMANDS, self.bench, line) or "error: empty command (try 'help')"
        except (CommandError, ControlError, ReaderBusyError) as exc:
            return f"error: {exc}"
        except Exception as exc:  # a simulator fault: one line, the bench keeps running
            log.exception("bench command failed")
            return f"error: {type(exc).__name__}: {exc}"
