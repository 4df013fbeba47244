"""One fleet kiosk: the real kiosk composition (flow, journal, relay client with its own terminal
certificate, ccTalk cash driver, IPP printer driver, the in-process virtual card reader) on light
simulators, against a shared center.

Per kiosk: the cash unit simulator on a pty (the real ccTalk driver talks to it through the serial line),
the in-process IPP printer (:mod:`harness.fleet.printer`), a loopback reader whose card is swapped for the
next resident's between transactions. Everything lives under ``work`` (journal, terminal, the cards it
used), which is the kiosk's evidence after the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.card.image import CardImage
from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.cash.unit import DEFAULT_HOPPERS, CashUnitSim
from harness.fleet.center import CenterHandle
from harness.fleet.printer import LightPrinter
from kiosk.app.assemble import StackedKiosk, compose_flow
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow.card import JpkiCard
from kiosk.flow.recovery import recover
from kiosk.flow.steps import Ports
from kiosk.flow.timeouts import Timeouts
from kiosk.journal.hopper_stock import (
    StockRefused,
    cash_unit_config,
    hopper_slots,
    hopper_stock,
    refill,
    stock_source,
)
from kiosk.journal.store import Journal
from reader.loopback import LoopbackTransport
from reader.monitor import PollingPresence
from relay_client import IssuanceClient, RetryPolicy
from relay_client import Timeouts as HttpTimeouts

log = logging.getLogger(__name__)

LOW_STOCK = 15  # coins: below this staff refill the hopper between transactions
_FULL = {h.address: h.stock for h in DEFAULT_HOPPERS}


class FleetKiosk(StackedKiosk):
    """Kiosk ``name`` (terminal id ``terminal_id``) under ``work``; a context manager."""

    def __init__(
        self, name: str, terminal_id: str, work: Path, center: CenterHandle, timeouts: Timeouts
    ) -> None:
        self.name, self.terminal_id, self.work, self.center = name, terminal_id, work, center
        self.timeouts = timeouts
        self._stack = contextlib.ExitStack()

    def _start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        terminal = self.center.terminal(self.terminal_id, self.work / "terminal")
        self.client = IssuanceClient(
            self.center.api_url,
            terminal.cert,
            terminal.key,
            terminal.ca,
            retry=RetryPolicy(attempts=3, base=0.05, cap=0.5, deadline=20.0),
            timeouts=HttpTimeouts(connect=3.0, read=15.0),
        )
        self._stack.callback(self.client.close)
        self.journal = Journal(self.work / "journal.sqlite")
        self._stack.callback(self.journal.close)
        self.cash_sim = CashUnitSim(hoppers=DEFAULT_HOPPERS, watchdogs=(None, None), coin_interval=0.001)
        self.cash_sim.start()
        self._stack.callback(self.cash_sim.stop)
        self._stack.callback(self._write_cash_counters)  # runs after the driver stopped
        self.slots = hopper_slots(())
        if not any(f.counted_at for f in hopper_stock(self.journal, self.slots)):
            for slot in self.slots:  # staff count the hoppers once, as at installation
                refill(self.journal, self.slots, slot.address, set_to=_FULL[slot.address])
        base = CashUnitConfig(poll_interval=0.25, payout_poll=0.01)  # light: 50 kiosks share 2 cores
        self.cash = CashUnit(
            CashLink(self.cash_sim.path, reply_timeout=0.5),
            self.journal,
            cash_unit_config(self.slots, self.journal, base),
            stock_source=stock_source(self.slots, self.journal),
        )
        self.cash.open()
        self.cash.start_polling()
        self._stack.callback(self.cash.close)
        self.printer_sim = LightPrinter(self.work / "tray").start()
        self._stack.callback(self.printer_sim.stop)
        self.printer = IppPrinter(self.printer_sim.uri, poll_interval=0.1)
        self._stack.callback(self.printer.close)
        self.recovered = recover(self.journal, self.client)
        self.transport = LoopbackTransport(_NoCard(), name=f"loopback-{self.name}")
        self.transport.remove()
        self._stack.callback(self.transport.close)
        presence = PollingPresence(self.transport.presence, reader=self.transport.name, interval=0.1)
        trusted = x509.load_pem_x509_certificates(self.center.jpki_bundle().read_bytes())
        self.flow = compose_flow(
            self._stack,
            Ports(JpkiCard(self.transport, trusted), self.client, self.cash, self.printer),
            self.journal,
            presence,
            reader=None,
            timeouts=self.timeouts,
            tick=0.5,
        )
        self._stack.callback(self._restart_recovery)  # the first thing done when the kiosk closes

    def _restart_recovery(self) -> None:
        """Closing time: what a restart's recovery does (a result report still pending because its answer
        was lost is sent again), journaled as the kiosk would; ``recovered.json`` lists it."""
        done = [dataclasses.asdict(r) for r in recover(self.journal, self.client)]
        (self.work / "recovered.json").write_text(json.dumps(done), encoding="utf-8")

    def _write_cash_counters(self) -> None:
        """The cash unit's own counters (coins and notes taken, coins paid out) as evidence."""
        status = self.cash_sim.status()
        counters = {k: status[k] for k in ("cashbox_coins", "stacked_notes", "paid_out")}
        (self.work / "cash.json").write_text(json.dumps(counters), encoding="utf-8")

    # --- the resident's hands -------------------------------------------------------------------------------
    def hold_card(self, card_image: Path) -> None:
        """Put this resident's card in the resident's hand (not yet on the reader): the image read afresh
        (its PIN counters are on disk), its private key parsed once per process (parsing and checking an
        RSA key took 56 ms of CPU, more than the rest of a transaction's kiosk work).
        Raises CardImageError."""
        image = CardImage.load(card_image)
        setattr(image, "auth_key", _auth_key(card_image))  # noqa: B010 (an instance override on purpose)
        self.transport.card = MyNumberCard(image)

    def insert_card(self) -> None:
        self.transport.insert()

    def remove_card(self) -> None:
        self.transport.remove()

    def insert_coin(self, yen: int) -> None:
        self.cash_sim.insert_coin(yen)

    def insert_note(self, yen: int) -> None:
        self.cash_sim.insert_note(yen)

    # --- staff between transactions -------------------------------------------------------------------------
    def service(self) -> None:
        """Staff tend the kiosk between transactions: clear the printer, wake a silent cash unit, refill
        low hoppers (in the simulator and, as ``kiosk cash refill`` would, in the journal)."""
        self.printer_sim.clear()
        self.cash_sim.set_silent(False)
        stock = {address: hopper.stock for address, hopper in self.cash_sim.hoppers.items()}
        figures = {f.slot.address: f for f in hopper_stock(self.journal, self.slots)}
        for address, full in _FULL.items():
            figure = figures.get(address)
            if (
                stock.get(address, 0) < LOW_STOCK
                or figure is None
                or figure.stock < LOW_STOCK
                or figure.emptied
            ):
                try:  # the journal first: when it refuses, the hopper stays as it is too
                    refill(self.journal, self.slots, address, set_to=full)
                except StockRefused as exc:  # e.g. a result report still pending: refill next time
                    log.info("%s: hopper %d not refilled: %s", self.name, address, exc)
                    continue
                self.cash_sim.set_hopper_stock(full, address)
                log.info("%s: hopper %d refilled to %d", self.name, address, full)


@functools.lru_cache(maxsize=512)
def _auth_key(card_image: Path) -> Callable[[], rsa.RSAPrivateKey]:
    """The card's user-authentication key, loaded once (keys never change; PINs do)."""
    key = CardImage.load(card_image).auth_key()
    return lambda: key


class _NoCard:
    """The empty reader before the first resident (never powered: the reader is empty)."""

    atr = b""

    def power_on(self) -> object:
        raise RuntimeError("no card")

    def power_off(self) -> None:
        return None

    def process(self, apdu: bytes) -> bytes:
        raise RuntimeError("no card")
