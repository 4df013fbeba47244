"""Helpers for the real-device kiosk tests: the simulators started as separate components, reached only the
way a store's devices are (pcscd + vpcd, a pty, IPP over TCP, HTTPS with mutual TLS), and a kiosk.toml
pointing at them."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.cash.unit import CashUnitSim
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.typeb import TypeBCard, TypeBParams, random_pupi
from firmware_sim.printer.ippeve import DnssdServices, PrinterSim
from firmware_sim.vpcd import VpcdBridge
from harness.clock import service_time
from harness.sim import Pn532Slot, SimHands
from kiosk.app.config import ConfigError, load_config
from kiosk.journal.hopper_stock import hopper_slots, refill
from kiosk.journal.store import Journal
from mock_relay.cli.cards import issue_card
from mock_relay.faults import JST
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki
from reader.pcsc import list_readers

ROOT = Path(__file__).resolve().parents[3]
READER = (
    "Virtual PCD 00 01"  # vpcd's second reader: tests/reader/pcsc and kiosk --sim use "Virtual PCD 00 00"
)
VPCD_PORT = 35964
PIN = "1234"


@dataclass
class StoreDevices:
    """What a store's kiosk reaches: the center, the card in the reader, the cash unit, the printer."""

    work: Path
    center: RelayServer
    terminal: Path  # terminal.pem, terminal.key, center-ca.pem
    jpki_bundle: Path
    bridge: VpcdBridge | None  # None: the card is in a PN532 module's field (start_devices(pn532=True))
    cash: CashUnitSim
    printer: PrinterSim
    pn532: Pn532Sim | None = None  # the simulated PN532 module; the kiosk opens pn532://<pn532.wire.path>

    @property
    def hands(self) -> SimHands:
        """The resident's hands: the card on the vpcd reader (or in the PN532's field), coins into the
        acceptor (far end of the pty)."""
        return SimHands(Pn532Slot(self.pn532) if self.pn532 else self.bridge, self.cash)

    def pages(self) -> list[Path]:
        return sorted(self.printer.tray.iterdir())


def ensure_pcscd() -> None:
    subprocess.run([str(ROOT / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)


def wait_no_card(timeout: float = 3.0) -> None:
    """Wait until pcscd sees READER empty (a card left by an earlier test would start the next one)."""
    import time

    deadline = time.monotonic() + timeout
    while any(r.name == READER and r.card_present for r in list_readers()):
        if time.monotonic() > deadline:
            raise AssertionError(f"pcscd still sees a card in {READER}")
        time.sleep(0.05)


def start_devices(work: Path, stack: contextlib.ExitStack, *, pn532: bool = False) -> StoreDevices:
    """Start every simulator under ``work``; ``stack`` stops them. ``pn532``: the card in a simulated PN532
    module's field on a pty instead of behind vpcd. Raises what a simulator raises."""
    data = work / "center"
    center = RelayServer(data).start()
    stack.callback(center.stop)
    center.clock.set(service_time(datetime.now(JST)))  # the next day the center serves
    terminal = CenterPki.open(data / "center").issue_terminal("T-0001", work / "terminal")
    card = work / "card.json"
    issue_card(data, "C-001", card, auth_pin=PIN)
    bridge, module = None, None
    if pn532:
        module = Pn532Sim(TypeBCard(MyNumberCard.from_image(card), TypeBParams(pupi=random_pupi())))
        module.remove_card()  # the resident places the card when the scenario says so
        module.start()
        stack.callback(module.stop)
    else:
        bridge = VpcdBridge(MyNumberCard.from_image(card), "127.0.0.1", VPCD_PORT)
        bridge.start(inserted=False)  # the resident places the card when the scenario says so
        stack.callback(bridge.stop)
    cash = CashUnitSim(watchdogs=(None, None), coin_interval=0.001)
    cash.start()
    stack.callback(cash.stop)
    dnssd = DnssdServices()
    dnssd.ensure()
    stack.callback(dnssd.stop)
    printer = PrinterSim(work / "spool").start()
    stack.callback(printer.stop)
    return StoreDevices(
        work, center, terminal, data / "jpki" / "auth-ca-bundle.pem", bridge, cash, printer, module
    )


def config_text(devices: StoreDevices, **override: str) -> str:
    """A kiosk.toml for ``devices`` (relative paths, as a store would keep its files beside it);
    ``override`` replaces whole lines by key, e.g. ``uri='uri = "ipp://..."'``."""
    lines = {
        "journal": 'journal = "var/journal.sqlite"',
        "tick": "tick = 0.1",
        "[reader]": "[reader]",
        "reader": f'url = "pcsc://{READER}"',
        "[center]": "[center]",
        "center": f'url = "{devices.center.api_url}"',
        "terminal_cert": 'terminal_cert = "terminal/terminal.pem"',
        "terminal_key": 'terminal_key = "terminal/terminal.key"',
        "ca": 'ca = "terminal/center-ca.pem"',
        "[jpki]": "[jpki]",
        "ca_bundle": f'ca_bundle = "{devices.jpki_bundle}"',
        "[cash]": "[cash]",
        "port": f'port = "{devices.cash.path}"',
        "reply_timeout": "reply_timeout = 0.5",
        "[printer]": "[printer]",
        "uri": f'uri = "{devices.printer.uri}"',
        "[timeouts]": "[timeouts]",
        "center_timeout": "center = 30",
        # The center runs at a simulated service time (start_devices), hours from the kiosk's clock: the
        # clock is compared but not enforced here; test_clock_and_field_logs.py enforces it.
        "[clock]": "[clock]",
        "clock_enforce": "enforce = false",
    }
    lines.update(override)
    return "\n".join(line for line in lines.values() if line) + "\n"


def write_config(devices: StoreDevices, folder: Path, *, counted: bool = True, **override: str) -> Path:
    """Write ``kiosk.toml`` into ``folder`` (the terminal files are linked beside it). ``counted``: journal
    the hoppers' count, as staff do once they have loaded them (``kiosk cash refill --set``: the cash
    simulator's real stock); a hopper never counted is empty, and the kiosk asks for exact amounts."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "terminal").exists():
        (folder / "terminal").symlink_to(devices.terminal)
    path = folder / "kiosk.toml"
    path.write_text(config_text(devices, **override), encoding="utf-8")
    if counted:
        count_hoppers(devices, path)
    return path


def count_hoppers(devices: StoreDevices, path: Path) -> None:
    """Journal each hopper of the kiosk.toml at ``path`` at the cash simulator's real stock (nothing for a
    file that does not load: the tests of configuration errors write those)."""
    try:
        config = load_config(path, check_certificates=False)
    except ConfigError:
        return
    slots = hopper_slots(config.cash_hoppers)
    journal = Journal(config.journal)
    try:
        for slot in slots:
            refill(journal, slots, slot.address, set_to=devices.cash.hoppers[slot.address].stock)
    finally:
        journal.close()


@dataclass(frozen=True)
class RunResult:
    """How a ``kiosk run --config`` process went: exit status, everything it printed."""

    status: int
    out: str
    err: str
    opened: bool  # it printed "kiosk open …"


def run_until_open(
    path: Path, *extra: str, env: dict[str, str] | None = None, settle: float = 0.0, timeout: float = 40.0
) -> RunResult:
    """Start ``kiosk run --config PATH *extra``, read its output until "kiosk open" (or ``timeout``), let it
    run ``settle`` more seconds, then SIGTERM it and collect the rest. Leaves no process behind."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(path), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any(line.startswith("kiosk open") for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        opened = any(line.startswith("kiosk open") for line in lines)
        if opened and settle:
            time.sleep(settle)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return RunResult(process.returncode, "".join(lines) + out, err, opened)


@contextlib.contextmanager
def running_kiosk(path: Path, *extra: str, timeout: float = 40.0) -> Iterator[subprocess.Popen[str]]:
    """``kiosk run --config PATH --headless *extra`` as a process, yielded once it printed "kiosk open";
    SIGTERMed (killed if it will not stop) on leaving. Raises AssertionError if it does not open."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(path), "--headless", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline, lines = time.monotonic() + timeout, []
        while time.monotonic() < deadline and not any(line.startswith("kiosk open") for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        if not any(line.startswith("kiosk open") for line in lines):
            process.kill()
            _out, err = process.communicate(timeout=20)
            raise AssertionError("the kiosk did not open:\n" + "".join(lines) + err)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
