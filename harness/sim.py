"""The simulated kiosk: the product's kiosk built from real parts against simulators, for ``kiosk-harness
play``/``sim``/``demo-ui`` and the tests (the product never imports it; tests/test_architecture.py checks).

The virtual card either in a ``sim://`` loopback reader (with a polling card monitor) or, with ``reader =
"pcsc"``, behind the real PC/SC stack (pcscd + vpcd, PC/SC presence monitor; a busy or missing reader fails
at once, harness.vpcd), or with ``reader = "pn532"`` in the field of the simulated PN532 module on a pty
(``pn532_baud`` paces it); the real relay client over mutual TLS to a mock center started here; the real
ccTalk cash driver against the cash simulator on a pty; the real IPP printer driver against ippeveprinter
with our print engine. Scenario ``[setup]`` keys pick the faults.

The kiosk and its center run on one injected clock (harness.clock): the caller's, else the scenario's
``clock``, else 10:00 JST on the next day the center serves by its own calendar; the cards are issued valid
at that clock (harness.cards), so no run depends on the wall calendar.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509

from firmware_sim.cash.unit import DEFAULT_HOPPERS, CashUnitSim, HopperSpec
from firmware_sim.phone.iphone import unlock_from_word
from firmware_sim.phone.load import Device, open_device
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.typeb import TypeBCard, TypeBParams, random_pupi
from firmware_sim.printer.ippeve import DnssdServices, PrinterSim
from harness.cards import issue_card_at, setup_variant
from harness.clock import SimClock, parse_clock, service_time
from harness.crash import kill_at
from harness.vpcd import VpcdSlot
from kiosk.app.assemble import StackedKiosk, compose_flow
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow.card import JpkiCard
from kiosk.flow.recovery import Recovered, recover
from kiosk.flow.steps import Ports
from kiosk.flow.timeouts import Timeouts
from kiosk.journal.store import Journal
from kiosk.staff.diagnostics import LiveDevices, StaffAccess, live_diagnostics
from kiosk.staff.heartbeat import Heartbeat
from kiosk.staff.passcode import PasscodeVerifier
from mock_relay.center import CenterConfig
from mock_relay.faults import JST, CenterClock, FaultRule
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki
from reader.loopback import LoopbackTransport
from reader.monitor import PollingPresence
from reader.pcsc import PcscPresence
from reader.pn532.link import DEFAULT_BAUD
from reader.pn532.presence import Pn532Presence
from reader.pn532.transport import Pn532Transport
from reader.transport import open_transport
from relay_client import IssuanceClient, RetryPolicy
from relay_client import Timeouts as HttpTimeouts

log = logging.getLogger(__name__)


PCSC_READER = "Virtual PCD 00 00"  # vpcd's first virtual reader (TCP 35963)
VPCD_PORT = 35963


class CardSlot(Protocol):
    """Where the resident puts the card: a loopback reader or the vpcd bridge."""

    def insert(self) -> Any: ...

    def remove(self) -> None: ...


class Pn532Slot:
    """The simulated PN532's field as the card slot: ``insert``/``remove`` move the card in and out of the
    field; ``.card`` is the virtual card (swap it only while the field is empty, as sim_controls does)."""

    def __init__(self, module: Pn532Sim) -> None:
        self.module = module

    @property
    def card(self) -> Device:
        assert self.module.card is not None
        return self.module.card.card  # type: ignore[return-value]

    @card.setter
    def card(self, card: Device) -> None:
        swapped = TypeBCard(card, TypeBParams(pupi=random_pupi()))  # another card: another PUPI
        swapped.remove()
        self.module.card = swapped

    def insert(self) -> None:
        self.module.insert_card()

    def remove(self) -> None:
        self.module.remove_card()


@dataclass
class SimHands:
    """The resident's hands on the simulated card reader and cash unit."""

    transport: CardSlot
    cash_sim: CashUnitSim

    def insert_card(self) -> None:
        self.transport.insert()

    def remove_card(self) -> None:
        self.transport.remove()

    def insert_coin(self, yen: int) -> None:
        log.info("coin %d: %s", yen, self.cash_sim.insert_coin(yen))

    def insert_note(self, yen: int) -> None:
        log.info("note %d: %s", yen, self.cash_sim.insert_note(yen))


class SimKiosk(StackedKiosk):
    """A complete kiosk on simulators under ``work``; a context manager that stops everything it started."""

    def __init__(
        self,
        work: Path,
        setup: dict[str, Any] | None = None,
        *,
        journal: Path | None = None,
        clock: datetime | None = None,
        keep: bool = False,
    ) -> None:
        """``clock``: the moment the kiosk and its center start at (then run on); else the setup's
        ``clock``; else the next service day after today by the center's calendar (``start_time``).
        ``keep``: leave the simulated printer's spooled jobs and printed pages in ``work/spool`` when the
        kiosk stops (default: removed; they are certificates with residents' names).
        Raises ClockError for a setup ``clock`` that is not an ISO 8601 time with an offset."""
        self.work = work
        self.keep = keep
        self.setup = dict(setup or {})
        self.journal_path = journal or work / "journal.sqlite"
        self._stack = contextlib.ExitStack()
        self.recovered: list[Recovered] = []
        self.clock = SimClock(start_time(self.setup, clock))

    def _start(self) -> None:
        s, data = self.setup, self.work / "center"
        forms = s.get("terminal_forms")  # the forms this kiosk's terminal accepts (default: all)
        center = CenterConfig(terminal_forms={"T-0001": frozenset(forms)} if forms is not None else {})
        self.server = RelayServer(data, clock=CenterClock(self.clock.now()), config=center).start()
        self._stack.callback(self.server.stop)
        for fault in s.get("center_faults", []):
            self.server.faults.add(FaultRule.from_json(fault))
        self.client = self._client(data)
        self.card_path = self._card(data)
        self._honseki_filed()
        crash_at = s.get("crash_at")  # crash tests: SIGKILL after that journal point
        self.journal = Journal(self.journal_path, on_point=kill_at(int(crash_at)) if crash_at else None)
        self._stack.callback(self.journal.close)
        self.cash_sim = self._cash_sim()
        # The driver's stock is what staff loaded (ccTalk hoppers report no counts): the simulator's real
        # stock, unless the scenario makes the driver's figures wrong on purpose (driver_stock_stale).
        config = CashUnitConfig(poll_interval=0.05, payout_poll=0.005)
        if not s.get("driver_stock_stale"):
            config = config.with_stock({h.address: h.stock for h in self.hopper_specs})
        # No fixed run_id: cash event ids must differ across restarts on the same journal.
        self.cash = CashUnit(CashLink(self.cash_sim.path, reply_timeout=0.5), self.journal, config)
        self.cash.open()
        self.cash.start_polling()
        self._stack.callback(self.cash.close)
        self.printer_sim = self._printer_sim()
        self.printer = IppPrinter(self.printer_sim.uri, poll_interval=0.1)
        self._stack.callback(self.printer.close)
        self.recovered = recover(self.journal, self.client, self.printer)  # copies mid-print: as it says
        cap = s.get("heartbeat_s")  # the center asks every 60 s; a scenario may want them sooner
        self.heartbeat = Heartbeat(
            self.client, LiveDevices(self.cash, self.printer), cap=float(cap) if cap else None
        ).start()
        self._stack.callback(self.heartbeat.stop)
        self._flow()

    def _client(self, data: Path) -> IssuanceClient:
        terminal = CenterPki.open(data / "center").issue_terminal("T-0001", self.work / "terminal")
        client = IssuanceClient(
            self.server.api_url,
            terminal / "terminal.pem",
            terminal / "terminal.key",
            terminal / "center-ca.pem",
            retry=RetryPolicy(attempts=2, base=0.05, cap=0.2, deadline=10.0),
            timeouts=HttpTimeouts(connect=3.0, read=15.0),
        )
        self._stack.callback(client.close)
        return client

    def _card(self, data: Path) -> Path:
        """The first card, valid at the kiosk's clock (issued once per work folder). Raises
        CardOfficeError."""
        path = self.work / "card.json"
        if not path.exists():
            resident, pin = str(self.setup.get("resident", "C-001")), str(self.setup.get("card_pin", "1234"))
            variant, form = setup_variant(self.setup), str(self.setup.get("form", "card"))
            issue_card_at(data, resident, path, at=self.clock.now(), pin=pin, variant=variant, form=form)
        return path

    def _honseki_filed(self) -> None:
        """Setup ``honseki_filed_days_ago = N``: the resident filed their 本籍地 利用登録 N days before the
        kiosk's clock (usable from then + the 本籍地's delay), as if at another kiosk."""
        days = self.setup.get("honseki_filed_days_ago")
        if days is None:
            return
        registry = self.server.center.registry if self.server.center else None
        resident = registry.resident(str(self.setup.get("resident", "C-001"))) if registry else None
        if registry is None or resident is None or resident.koseki is None:
            raise ValueError("honseki_filed_days_ago needs a resident with a 戸籍")
        honseki = registry.municipality(resident.koseki.municipality_code)
        delay = honseki.honseki_registration_days if honseki else 0
        filed = self.clock.now().astimezone(JST).date() - timedelta(days=int(days))
        registry.register_honseki(resident.id, filed + timedelta(days=delay))

    def _cash_sim(self) -> CashUnitSim:
        hoppers: tuple[HopperSpec, ...] = DEFAULT_HOPPERS
        if self.setup.get("hoppers_empty"):
            hoppers = tuple(HopperSpec(h.address, h.coin_yen, 0) for h in DEFAULT_HOPPERS)
        self.hopper_specs = hoppers  # what is really loaded: the driver's config starts from it
        sim = CashUnitSim(hoppers=hoppers, watchdogs=(None, None), coin_interval=0.001)
        sim.start()
        self._stack.callback(sim.stop)
        return sim

    def _printer_sim(self) -> PrinterSim:
        dnssd = DnssdServices()
        dnssd.ensure()
        self._stack.callback(dnssd.stop)
        sim = PrinterSim(
            self.work / "spool",
            jam_at=self.setup.get("jam_at"),
            paper_out_at=self.setup.get("paper_out_at"),
            keep=self.keep,
        )
        sim.start()
        self._stack.callback(sim.stop)
        return sim

    def _flow(self) -> None:
        pcsc = self.setup.get("reader") == "pcsc"
        pick = {"pcsc": self._pcsc_reader, "pn532": self._pn532_reader}.get(str(self.setup.get("reader")))
        transport, slot, presence = (pick or self._loopback_reader)()
        trusted = x509.load_pem_x509_certificates(
            (self.work / "center" / "jpki" / "auth-ca-bundle.pem").read_bytes()
        )
        card = JpkiCard(transport, trusted, now=self.clock.now)  # the kiosk's clock is the injected one
        overrides: dict[str, Any] = {k: float(v) for k, v in self.setup.get("timeouts", {}).items()}
        self.flow = compose_flow(
            self._stack,
            Ports(card, self.client, self.cash, self.printer),
            self.journal,
            presence,
            reader=PCSC_READER if pcsc else None,
            timeouts=dataclasses.replace(Timeouts(), **overrides),
        )
        self.hands = SimHands(slot, self.cash_sim)

    def _loopback_reader(self) -> tuple[Any, CardSlot, Any]:
        transport = open_transport(f"sim://{self.card_path}?unlock={self._unlock_word()}")
        assert isinstance(transport, LoopbackTransport)
        transport.remove()  # the resident places the card when the scenario says so
        self._stack.callback(transport.close)
        return transport, transport, PollingPresence(transport.presence, reader=transport.name, interval=0.05)

    def _pcsc_reader(self) -> tuple[Any, CardSlot, Any]:
        """The card behind real pcscd + vpcd; the kiosk talks PC/SC to "Virtual PCD 00 00". Raises
        ReaderBusyError at once (pcscd down, no such reader, a card already in it)."""
        slot = VpcdSlot(self._device(), VPCD_PORT)  # card out until placed
        self._stack.callback(slot.stop)
        transport = open_transport(f"pcsc://{PCSC_READER}")
        self._stack.callback(lambda: transport.disconnect(unpower=True))
        return transport, slot, PcscPresence()

    def _pn532_reader(self) -> tuple[Any, CardSlot, Any]:
        """The card in the field of a simulated PN532 module on a pty; the kiosk talks HSU frames to it.
        ``pn532_baud`` (setup) paces the wire like a real UART (default: unpaced). Raises WireError."""
        baud = self.setup.get("pn532_baud")
        card = TypeBCard(self._device(), TypeBParams(pupi=random_pupi()))
        module = Pn532Sim(card, baud=int(baud) if baud else None)
        module.remove_card()  # the resident places the card when the scenario says so
        port = module.start()
        self._stack.callback(module.stop)
        transport = Pn532Transport(port, baud=int(baud or DEFAULT_BAUD), poll_interval=0.05)
        self._stack.callback(transport.close)
        transport.open()
        return transport, Pn532Slot(module), Pn532Presence(transport)

    def _unlock_word(self) -> str:
        """What an iPhone's holder did before holding it out (setup ``phone_unlock``: face_id, none,
        refused)."""
        return str(self.setup.get("phone_unlock", "face_id"))

    def _device(self) -> Device:
        """The card or phone of this kiosk's card image. Raises CardImageError, ValueError."""
        return open_device(self.card_path, unlock=unlock_from_word(self._unlock_word()))

    def pages_printed(self) -> int:
        """Sheets in the simulated printer's tray. Never raises."""
        try:
            return sum(1 for _ in self.printer_sim.tray.iterdir())
        except OSError:
            return 0

    def copy_printed(self, out: Path) -> list[Path]:
        """Copy the printed pages from the simulated printer's tray to ``out`` (made only when there are
        pages). Raises OSError."""
        pages = sorted(self.printer_sim.tray.iterdir())
        if pages:
            out.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy2(page, out / page.name)) for page in pages]


def start_time(setup: dict[str, Any], clock: datetime | None = None) -> datetime:
    """Where a simulated kiosk's clock starts: ``clock``, else the setup's ``clock``, else 10:00 JST on
    the next day the center serves (its own calendar: hours, closures, maintenance days). Raises
    ClockError for a malformed setup ``clock``."""
    if clock is not None:
        return parse_clock(clock.isoformat())
    if setup.get("clock"):
        return parse_clock(str(setup["clock"]))
    return service_time(datetime.now(JST))


@contextlib.contextmanager
def sim_kiosk(work: Path, setup: dict[str, Any] | None = None) -> Iterator[SimKiosk]:
    """``with sim_kiosk(work, setup) as k:`` a running simulated kiosk."""
    with SimKiosk(work, setup) as kiosk:
        yield kiosk


SIM_PASSCODE = "0000"  # the simulated kiosk's staff passcode, unless MYNA_KIOSK_STAFF_PASSCODE is set


def sim_staff(kiosk: SimKiosk) -> StaffAccess:
    """Staff mode for ``kiosk-harness sim``: the simulated kiosk's journal and live drivers, the passcode
    ``MYNA_KIOSK_STAFF_PASSCODE`` or else 0000. Raises PasscodeError (not 4-8 digits)."""
    verifier = PasscodeVerifier.for_passcode(os.environ.get("MYNA_KIOSK_STAFF_PASSCODE") or SIM_PASSCODE)
    return StaffAccess(live_diagnostics(kiosk), verifier)
