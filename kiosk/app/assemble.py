"""The kiosk on real devices: ``RealKiosk(config)`` composes the flow from a ``KioskConfig``.

The same composition as the simulated kiosk (harness.sim), over what a store has: a PC/SC reader or a
PN532 reader module on a serial line (``reader.url``), the relay client with the terminal's certificate
and the pinned center CA, the ccTalk cash unit on a serial port, an IPP printer, the journal. This module
never imports the simulators.

Start-up policy: the kiosk opens only when it can carry a resident through a whole transaction, so it
checks every device first and refuses to open (``StartupError``, one line per failed device) when
* the reader is absent or pcscd is down (PN532: its port is missing or the chip does not answer): nobody
  can be served;
* the cash unit's port is absent or a device does not answer: nobody can pay;
* the printer is unreachable or not ready: no resident may pay for what cannot be printed;
* the center is unreachable or TLS fails (wrong pinned CA, refused terminal certificate): nothing can be
  issued, and recovery of an interrupted transaction needs the center too.
* the kiosk's clock is more than ``[clock] max_skew_s`` from the center's (``kiosk.staff.skew``): the
  center's certificates, challenges and the journal's times would be wrong. While running, each heartbeat
  compares again; out of bounds, the flow takes no new resident until the clock is back within bounds.
The cash unit is opened first: it inhibits the acceptors at once (a kiosk that died on the pay screen left
them open) and credits what they took while the kiosk was down (``report.cash``). Then it recovers what
the journal left unfinished (``report.recovered``; each copy caught mid-print as the printer says) and
opens.

One kiosk per journal and per serial line (``kiosk.app.instance``): before anything else it locks the
journal (``InUse`` naming the holder when another ``kiosk run``, ``diag --probe`` or ``diag --self-test``
has it), and it locks the cash unit's port and a PN532 reader's port before opening them (a port another
process holds is a failed check naming the holder).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

from cryptography import x509

from kiosk.app.config import KioskConfig
from kiosk.app.instance import InUse, hold_device, hold_journal
from kiosk.devices.cash.cctalk import CcTalkError
from kiosk.devices.cash.serial_link import CashLink, LinkError, LinkTimeoutError
from kiosk.devices.cash.unit import CashError, CashUnit, CashUnitConfig
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow import events as ev
from kiosk.flow.card import JpkiCard
from kiosk.flow.fieldlog import FieldLog
from kiosk.flow.machine import Flow
from kiosk.flow.ports import ThreadRunner, ThreadScheduler
from kiosk.flow.recovery import Recovered, cash_lines, recover
from kiosk.flow.steps import Ports
from kiosk.flow.timeouts import Timeouts
from kiosk.journal.hopper_stock import cash_unit_config, hopper_slots, hopper_stock, stock_source
from kiosk.journal.store import Journal
from kiosk.money import OpenReport
from kiosk.staff.diagnostics import LiveDevices
from kiosk.staff.heartbeat import Heartbeat
from kiosk.staff.skew import ClockWatch
from reader.errors import CardError, NoReaderError, ReaderTimeoutError
from reader.monitor import CardEvent, CardMonitor, EventKind, PresenceSource
from reader.pcsc import PcscPresence, PcscUrl, list_readers
from reader.pn532.presence import Pn532Presence
from reader.pn532.transport import Pn532Transport, open_pn532
from reader.transport import Transport, open_transport
from relay_client import (
    CenterError,
    CenterTlsError,
    CenterUnavailable,
    ConfigurationError,
    IssuanceClient,
    RelayError,
)
from relay_client import Timeouts as HttpTimeouts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceCheck:
    """The start-up check of one device: ``device`` is reader, cash, printer or center."""

    device: str
    ok: bool
    detail: str

    def line(self) -> str:
        """``device: ok|FAILED: detail``."""
        return f"{self.device}: {'ok' if self.ok else 'FAILED'}: {self.detail}"


class StartupCheck(Protocol):
    """A start-up check line: a ``DeviceCheck``, or the live ``kiosk.staff.skew.ClockWatch``."""

    @property
    def device(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def detail(self) -> str: ...
    def line(self) -> str: ...


@dataclass(frozen=True)
class StartupReport:
    """What the start-up found: every device's check and what recovery did."""

    checks: tuple[StartupCheck, ...]
    recovered: tuple[Recovered, ...]
    cash: tuple[str, ...] = ()  # what the cash unit found on open (``kiosk.flow.recovery.cash_lines``)

    def lines(self) -> list[str]:
        """Human-readable lines (no personal data: transaction ids and yen only)."""
        out = [check.line() for check in self.checks]
        out += [r.line() for r in self.recovered]
        if not self.recovered:
            out.append("recovery: nothing unfinished in the journal")
        return out + [f"recovery: {line}" for line in self.cash]


class StartupError(Exception):
    """The kiosk refuses to open; ``failed`` names each device that is not usable and why."""

    def __init__(self, failed: tuple[StartupCheck, ...]) -> None:
        self.failed = failed
        super().__init__("cannot open: " + "; ".join(check.line() for check in failed))


# --- shared with the simulated kiosk (harness.sim may call these) ------------------------------------------
def card_events_to(flow: Flow, reader: str | None) -> Callable[[CardEvent], None]:
    """A CardMonitor observer posting insert/remove events of ``reader`` (None: any reader) to ``flow``."""

    def observe(event: CardEvent) -> None:
        if reader is not None and event.reader != reader:
            return
        inserted = event.kind is EventKind.INSERTED
        flow.post(ev.CardInserted(event.reader) if inserted else ev.CardRemoved(event.reader))

    return observe


def compose_flow(
    stack: contextlib.ExitStack,
    ports: Ports,
    journal: Journal,
    presence: PresenceSource,
    *,
    reader: str | None,
    timeouts: Timeouts,
    tick: float = 0.2,
    alive: Callable[[], object] | None = None,
) -> Flow:
    """The flow on a dispatcher thread, fed by a card monitor on ``presence`` (events of ``reader`` only)
    and a tick thread every ``tick`` s; everything started is stopped by ``stack``. Raises nothing."""
    scheduler = ThreadScheduler()
    stack.callback(scheduler.close)
    flow = Flow(ports, journal, scheduler, ThreadRunner(scheduler), timeouts=timeouts)
    monitor = CardMonitor(presence)
    monitor.add_observer(card_events_to(flow, reader))
    field_log = FieldLog(flow)  # one journal line per step and device event, never personal data
    flow.subscribe(field_log.on_view)
    ports.cash.add_observer(field_log.on_cash)
    monitor.add_observer(field_log.on_card)
    monitor.start()
    stack.callback(monitor.stop)
    stop = threading.Event()
    stack.callback(stop.set)

    def feed_watchdog() -> None:
        if alive is not None:
            alive()

    def ticks() -> None:
        while not stop.wait(tick):
            flow.post(ev.Tick())
            if alive is not None:  # runs on the flow's own thread after the tick: a hung flow never calls it
                scheduler.call(feed_watchdog)

    threading.Thread(target=ticks, name="flow-tick", daemon=True).start()
    return flow


# --- the real kiosk ----------------------------------------------------------------------------------------
class StackedKiosk:
    """A kiosk as a context manager: ``_start`` builds it, registering every stop on ``self._stack``; a
    failure part way stops what was started, and leaving the ``with`` stops it all (last started first)."""

    _stack: contextlib.ExitStack

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        raise NotImplementedError


class RealKiosk(StackedKiosk):
    """A kiosk on the devices ``config`` names; a context manager that stops everything it started.

    ``with RealKiosk(config) as kiosk:`` raises InUse (another process holds the journal), StartupError (a
    device is not usable), JournalWriteError or OSError (the journal or its lock file cannot be opened).
    Then ``kiosk.flow`` runs and ``kiosk.report`` says what was found.
    """

    def __init__(
        self,
        config: KioskConfig,
        *,
        cash: CashUnitConfig | None = None,
        alive: Callable[[], object] | None = None,
    ) -> None:
        """``alive`` is called from the flow's own thread after each clock tick (a service watchdog)."""
        self.config = config
        self._alive = alive
        self._cash_config = cash or CashUnitConfig()
        self._stack = contextlib.ExitStack()
        self.report = StartupReport((), ())
        self._cash_found = OpenReport()

    def _start(self) -> None:
        self._stack.callback(hold_journal(self.config.journal).release)
        self.journal = Journal(self.config.journal)
        self._stack.callback(self.journal.close)
        self.clock_watch = ClockWatch(self.config.clock_max_skew, enforce=self.config.clock_enforce)
        cash = self._open_cash()  # first: it inhibits acceptors a kiosk that died on the pay screen left open
        checks: tuple[StartupCheck, ...] = (
            self._open_reader(),
            cash,
            self._open_printer(),
            center := self._open_center(),
            _journal_check(self.journal),
        )
        if center.ok and self.config.clock_enforce:  # not enforced: measured for staff, no start-up line
            checks += (self.clock_watch,)
        for check in checks:  # the caller shows the report / the StartupError; the log keeps it too
            log.info("start-up %s", check.line())
        failed = tuple(c for c in checks if not c.ok)
        if failed:
            raise StartupError(failed)
        recovered = tuple(
            recover(self.journal, self.client, self.printer, job_wait=self.config.timeouts.printing)
        )
        found = tuple(cash_lines(self._cash_found, recovered))
        for line in found:
            log.warning("start-up recovery: %s", line)
        self.report = StartupReport(checks, recovered, found)
        shown = checks if self.clock_watch in checks else (*checks, self.clock_watch)  # the center sees it
        devices = LiveDevices(self.cash, self.printer, shown)
        self.heartbeat = Heartbeat(self.client, devices, watch=self.clock_watch).start()
        self._stack.callback(self.heartbeat.stop)
        presence = self._presence()
        trusted = _trusted(self.config.jpki_ca_bundle)
        self.flow = compose_flow(
            self._stack,
            Ports(JpkiCard(self.transport, trusted), self.client, self.cash, self.printer),
            self.journal,
            presence,
            reader=self.reader_name,
            timeouts=self.config.timeouts,
            tick=self.config.tick,
            alive=self._alive,
        )
        flow = self.flow
        self.clock_watch.subscribe(lambda ok: flow.set_out_of_service("" if ok else "clock"))

    def _presence(self) -> PresenceSource:
        """The card presence source for the configured reader (closed by the card monitor).
        Raises StartupError when PC/SC is down."""
        if isinstance(self.transport, Pn532Transport):
            return Pn532Presence(self.transport)
        try:
            return PcscPresence()
        except CardError as exc:
            raise StartupError((DeviceCheck("reader", False, f"PC/SC: {exc}"),)) from exc

    def _open_reader(self) -> DeviceCheck:
        url = self.config.reader_url
        if urlsplit(url).scheme.startswith("pn532"):
            return self._open_pn532(url)
        try:
            target = PcscUrl.parse(url)
            names = [r.name for r in list_readers()]
            self.reader_name = _pick_reader(target, names)
            self.transport: Transport = open_transport(url)
            self._stack.callback(_closer(self.transport))
        except CardError as exc:
            return DeviceCheck("reader", False, f"{url}: {exc}")
        listed = ", ".join(names)
        return DeviceCheck("reader", True, f"{self.reader_name or 'any reader'} (readers: {listed})")

    def _open_pn532(self, url: str) -> DeviceCheck:
        """Open the PN532 module: the line, the chip's wake-up and firmware version, a first look at the
        field. Never raises (a failure is the check's detail, naming the device)."""
        try:
            transport = open_pn532(url)
        except CardError as exc:
            return DeviceCheck("reader", False, f"{url}: {exc}")
        device = transport.chip.link.url
        try:
            self._hold(device, f"the reader port {device}")
        except InUse as exc:
            return DeviceCheck("reader", False, f"{url}: {exc}")
        try:
            transport.open()
            present = transport.presence()
        except ReaderTimeoutError as exc:
            transport.close()
            return DeviceCheck("reader", False, f"{url}: no reply from a PN532 on {device} ({exc})")
        except CardError as exc:
            transport.close()
            return DeviceCheck("reader", False, f"{url}: PN532 on {device}: {exc}")
        self._stack.callback(transport.close)
        self.transport, self.reader_name = transport, transport.name
        _ic, version, revision, _support = transport.firmware
        card = "a card is present" if present is not None else "no card present"
        return DeviceCheck("reader", True, f"PN532 firmware {version}.{revision} on {device}, {card}")

    def _hold(self, port: str, what: str) -> None:
        """Lock the serial device ``port`` until the kiosk stops. Raises InUse naming the holder."""
        lock = hold_device(port, what)
        if lock is not None:
            self._stack.callback(lock.release)

    def _open_cash(self) -> DeviceCheck:
        port = self.config.cash_port
        try:
            self._hold(port, f"the cash port {port}")
        except InUse as exc:
            return DeviceCheck("cash", False, str(exc))
        link = CashLink(port, echo=self.config.cash_echo, reply_timeout=self.config.cash_reply_timeout)
        # The hoppers the config lists, at the stock the journal holds (loaded - paid out, erring low).
        cash = CashUnit(
            link,
            self.journal,
            cash_unit_config(hopper_slots(self.config.cash_hoppers), self.journal, self._cash_config),
            stock_source=stock_source(hopper_slots(self.config.cash_hoppers), self.journal),
        )
        try:
            self._cash_found = cash.open()
        except LinkTimeoutError as exc:
            return DeviceCheck("cash", False, f"cash unit on {port} does not answer: {exc}")
        except LinkError as exc:
            return DeviceCheck("cash", False, str(exc))
        except (CcTalkError, CashError) as exc:
            return DeviceCheck("cash", False, f"cash unit on {port}: {exc}")
        cash.start_polling()
        self._stack.callback(cash.close)
        self.cash = cash
        health = cash.health()
        warnings = [f"{h.role}: {h.detail}" for h in health if not h.ok] + self._hopper_warnings()
        detail = f"{', '.join(h.role for h in health)} on {port}"
        return DeviceCheck("cash", True, detail + (f" (warning: {'; '.join(warnings)})" if warnings else ""))

    def _hopper_warnings(self) -> list[str]:
        """Hoppers the kiosk cannot count on until staff act: never counted (their stock is 0, so residents
        are asked for exact amounts) or found short by a payout."""
        warnings = []
        for figure in hopper_stock(self.journal, hopper_slots(self.config.cash_hoppers)):
            address = figure.slot.address
            what = f"hopper {address} ({figure.slot.coin} yen)"
            fix = f"kiosk cash refill --hopper {address} --set N"
            if figure.counted_at is None and figure.stock == 0:
                warnings.append(f"{what} never counted, exact amounts only until `{fix}`")
            elif figure.emptied:
                warnings.append(f"{what} came up short, exact amounts only until `{fix}`")
        return warnings

    def _open_printer(self) -> DeviceCheck:
        uri = self.config.printer_uri
        printer = IppPrinter(
            uri, request_timeout=self.config.printer_timeout, through_cups=self.config.printer_through_cups
        )
        self._stack.callback(printer.close)
        health = printer.health()  # never raises
        if not health.ok:
            summary = health.summary if uri in health.summary else f"{uri}: {health.summary}"
            return DeviceCheck("printer", False, summary)
        self.printer = printer
        model = health.status.make_and_model if health.status else ""
        return DeviceCheck("printer", True, f"{uri}: {model}, {health.summary}")

    def _open_center(self) -> DeviceCheck:
        c = self.config
        url = c.center_url
        try:
            client = IssuanceClient(
                url,
                c.terminal_cert,
                c.terminal_key,
                c.center_ca,
                timeouts=HttpTimeouts(connect=c.center_connect_timeout, read=c.center_read_timeout),
            )
        except (ConfigurationError, OSError, ValueError) as exc:
            return DeviceCheck("center", False, f"{url}: {exc}")
        self._stack.callback(client.close)
        try:
            sent = self.clock_watch.now()
            health = client.health()
            self.clock_watch.observe(health.server_time, sent, self.clock_watch.now())
        except CenterTlsError as exc:
            hint = "check center.ca (the pinned center CA) and the terminal certificate"
            return DeviceCheck("center", False, f"{url}: TLS handshake failed ({hint}): {exc}")
        except CenterUnavailable as exc:
            return DeviceCheck("center", False, f"{url}: unreachable: {exc}")
        except (CenterError, RelayError) as exc:
            return DeviceCheck("center", False, f"{url}: {exc}")
        self.client = client
        hours = {True: ", in service hours", False: ", outside service hours now", None: ""}
        detail = f"{url} as terminal {client.terminal_id}: {health.status}{hours[health.in_service_hours]}"
        return DeviceCheck("center", True, detail)


def _journal_check(journal: Journal) -> DeviceCheck:
    """The journal's line of the start-up report: its schema (and what it was migrated from) and whether
    it is out of space (the kiosk opens, but takes no new resident: staff code J02). Never raises."""
    detail = f"{journal.path} (schema {journal.schema}"
    detail += f", migrated from {journal.schema_found})" if journal.schema_found != journal.schema else ")"
    if journal.out_of_space():
        detail += (
            " (warning: out of space: no new resident until space is freed and the kiosk restarted, J02)"
        )
    return DeviceCheck("journal", True, detail)


def _pick_reader(target: PcscUrl, names: list[str]) -> str | None:
    """The configured reader's name (None: any reader). Raises NoReaderError."""
    if not names:
        raise NoReaderError("no smart-card reader is attached")
    if target.index is not None:
        if target.index >= len(names):
            raise NoReaderError(f"no reader #{target.index} (there are {len(names)})")
        return names[target.index]
    if target.reader is not None and target.reader not in names:
        raise NoReaderError(f"no reader named {target.reader!r} (readers: {', '.join(names)})")
    return target.reader


def _trusted(bundle: Path | None) -> list[x509.Certificate]:
    """The JPKI user-auth CAs (checked by load_config; read again here). Raises StartupError."""
    if bundle is None:
        return []
    try:
        return x509.load_pem_x509_certificates(bundle.read_bytes())
    except (OSError, ValueError, x509.InvalidVersion) as exc:
        raise StartupError((DeviceCheck("jpki", False, f"CA bundle {bundle}: {exc}"),)) from exc


def _closer(transport: Any) -> Callable[[], None]:
    close = getattr(transport, "close", None)
    return close if callable(close) else lambda: transport.disconnect(unpower=True)
