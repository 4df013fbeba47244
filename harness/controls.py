"""The test engineer's hands on a running ``SimKiosk``: which virtual card, place / remove it, coins and
notes, printer faults; plain Python (no Kivy), thread-safe, used by the harness panel and by the
``kiosk-harness sim --headless`` stdin loop.

Part of the ``--sim`` wiring (like ``harness.sim``, it may import firmware_sim and mock_relay): the cards on
offer are the mock center's seeded residents x variants; a card is issued by the center's card office
(``mock_relay.cli.cards``) into ``<work>/cards/`` on first use and reused after. Swapping a card puts a
new virtual card object into the reader's slot while the slot is empty; the loopback transport and
the vpcd bridge both hold their card as ``.card``.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_sim.phone.load import FORMS, open_device
from harness.cards import VARIANTS, CardOfficeError, issue_card_at, setup_variant
from kiosk.app.control import FlowWatch
from mock_relay.registry import seed

log = logging.getLogger(__name__)

__all__ = ["VARIANTS", "ControlError", "SimControls", "check_card", "residents", "run_setup", "setup_variant"]
COINS = (10, 50, 100, 500)
NOTES = (1000, 2000, 5000, 10000)  # what the bill validator simulator knows (firmware_sim.cash.unit)
PRINTER_FAULTS = ("jam", "paper_out")


class ControlError(ValueError):
    """A harness command that cannot be done now (unknown resident, card on the reader, ...)."""


@dataclass(frozen=True)
class ResidentCard:
    """A seeded resident whose virtual card the harness can issue."""

    id: str
    name: str
    municipality: str
    status: str  # the register status: active, moved_out, deceased

    @property
    def label(self) -> str:
        note = "" if self.status == "active" else f" [{self.status}]"
        return f"{self.id} {self.name} ({self.municipality}){note}"


@dataclass(frozen=True)
class CashResult:
    """What the cash simulator did with one coin or note."""

    kind: str  # "coin" or "note"
    yen: int
    outcome: str  # the simulator's answer: "credit", "escrow", "rejected: ..."

    @property
    def accepted(self) -> bool:
        return not self.outcome.startswith("rejected")

    def __str__(self) -> str:
        return f"{self.kind} {self.yen}: " + (f"accepted ({self.outcome})" if self.accepted else self.outcome)


@dataclass(frozen=True)
class HarnessStatus:
    """A snapshot for the panel and the ``status`` command (never holds a PIN)."""

    resident_id: str
    variant: str
    on_reader: bool
    tries_left: int | None  # the auth PIN tries left on the card in the slot
    last_cash: CashResult | None
    hoppers: tuple[tuple[int, int], ...]  # (coin yen, coins in stock)
    printer: str

    def __str__(self) -> str:
        tries = "?" if self.tries_left is None else str(self.tries_left)
        stock = " ".join(f"{yen}x{count}" for yen, count in self.hoppers)
        return (
            f"card {self.resident_id} {self.variant}: {'on reader' if self.on_reader else 'out'}, "
            f"auth PIN tries left {tries}; last cash: {self.last_cash or 'none'}; hoppers {stock}; "
            f"printer {self.printer}"
        )


@functools.lru_cache(maxsize=1)
def residents() -> tuple[ResidentCard, ...]:
    """The mock center's seeded residents, register order."""
    towns = {m.code: m.name for m in seed.municipalities()}
    return tuple(
        ResidentCard(
            r.id, r.full_name, towns.get(r.municipality_code, r.municipality_code), str(r.status.value)
        )
        for r in seed.residents()
    )


def check_card(resident_id: str, variant: str = "normal") -> ResidentCard:
    """The resident ``resident_id`` if ``variant`` is known. Raises ControlError otherwise."""
    if variant not in VARIANTS:
        raise ControlError(f"unknown card variant {variant!r} (one of {', '.join(VARIANTS)})")
    found = next((r for r in residents() if r.id == resident_id), None)
    if found is None:
        raise ControlError(f"no resident {resident_id!r} (e.g. {', '.join(r.id for r in residents()[:3])})")
    return found


def run_setup(reader: str | None, resident: str | None) -> dict[str, Any]:
    """The SimKiosk setup for ``kiosk-harness sim``. Raises ControlError for an unknown resident."""
    setup: dict[str, Any] = {"reader": reader} if reader else {}
    if resident:
        setup["resident"] = check_card(resident).id
    return setup


class SimControls:
    """Controls over a running ``SimKiosk`` (any thread; one lock orders card moves and swaps)."""

    def __init__(self, kiosk: Any, *, wait: float = 120.0) -> None:
        """``wait``: how long a resident's tap waits for a busy kiosk to settle (headless command loop)."""
        self._kiosk = kiosk
        self.flow = kiosk.flow  # the resident's side, for the headless command loop's screen intents
        self.watch = FlowWatch(kiosk.flow)
        self.wait = wait
        self._slot = kiosk.hands.transport
        if not hasattr(self._slot, "card"):
            raise ControlError(f"the reader slot {type(self._slot).__name__} holds no swappable card")
        self._lock = threading.RLock()
        resident, form = str(kiosk.setup.get("resident", "C-001")), str(kiosk.setup.get("form", "card"))
        first = (resident, setup_variant(kiosk.setup), form)
        self._cards: dict[tuple[str, str, str], Path] = {first: Path(kiosk.card_path)}
        self._current = first
        self._on_reader = False  # SimKiosk starts with the card out of the reader
        self._last_cash: CashResult | None = None

    # --- cards ---------------------------------------------------------------------------------------
    @property
    def current(self) -> tuple[str, str]:
        """(resident id, variant) of the card the next place_card puts on the reader (its form:
        ``current_form``)."""
        with self._lock:
            return self._current[0], self._current[1]

    @property
    def current_form(self) -> str:
        """card, android or iphone: what the next place_card puts on the reader."""
        with self._lock:
            return self._current[2]

    @property
    def on_reader(self) -> bool:
        """Whether the card is on the reader."""
        with self._lock:
            return self._on_reader

    def use_card(self, resident_id: str, variant: str = "normal", form: str = "card") -> Path:
        """Make that resident's card (of ``variant``; or smartphone: ``form`` android / iphone) the one the
        next place_card puts on the reader; issues it under ``<work>/cards`` on first use. Returns the card
        image path. Raises ControlError (unknown resident, variant or form, a card is on the reader, issuing
        failed)."""
        check_card(resident_id, variant)
        if form not in FORMS:
            raise ControlError(f"unknown form {form!r} (one of {', '.join(FORMS)})")
        with self._lock:
            if self._on_reader:
                raise ControlError("a card is on the reader: remove it first")
            key = (resident_id, variant, form)
            if key == self._current:
                return self._cards[key]
            path = self._cards.get(key) or self._issue(resident_id, variant, form)
            self._cards[key] = path
            self._slot.card = open_device(path)  # the slot is empty: nothing talks to it
            self._current = key
            log.info("harness: next card is %s (%s, %s)", resident_id, variant, form)
            return path

    def _issue(self, resident_id: str, variant: str, form: str = "card") -> Path:
        data = Path(self._kiosk.work) / "center"
        suffix = "" if form == "card" else f"-{form}"
        path = Path(self._kiosk.work) / "cards" / f"{resident_id}-{variant}{suffix}.json"
        pin = str(self._kiosk.setup.get("card_pin", "1234"))
        if path.exists():
            return path
        try:  # valid at the kiosk's (injected) clock, as the first card is
            at = self._kiosk.clock.now()
            return issue_card_at(data, resident_id, path, at=at, pin=pin, variant=variant, form=form)
        except CardOfficeError as exc:
            raise ControlError(str(exc)) from exc

    def place_card(self) -> None:
        """Put the current card on the reader. Raises ControlError if it is already there."""
        with self._lock:
            if self._on_reader:
                raise ControlError("the card is already on the reader")
            self._kiosk.hands.insert_card()
            self._on_reader = True

    def remove_card(self) -> None:
        """Take the card off the reader. Raises ControlError if there is none."""
        with self._lock:
            if not self._on_reader:
                raise ControlError("no card on the reader")
            self._kiosk.hands.remove_card()
            self._on_reader = False

    def toggle_card(self) -> bool:
        """Place the card if it is out, else remove it; returns whether it is on the reader now.
        Never raises ControlError."""
        with self._lock:
            if self._on_reader:
                self.remove_card()
            else:
                self.place_card()
            return self._on_reader

    def tries_left(self) -> int | None:
        """The auth PIN tries left on the card in the slot (None if it cannot be told). Never raises."""
        image = getattr(getattr(self._slot, "card", None), "image", None)
        try:
            return int(image.tries_left("auth")) if image is not None else None
        except Exception:  # a card image without an auth PIN
            return None

    # --- cash ----------------------------------------------------------------------------------------
    def insert_coin(self, yen: int) -> CashResult:
        """Drop a coin into the acceptor; the result says whether it was taken. Never raises."""
        return self._cash("coin", yen, self._kiosk.cash_sim.insert_coin)

    def insert_note(self, yen: int) -> CashResult:
        """Feed a note into the validator; the result says whether it was taken. Never raises."""
        return self._cash("note", yen, self._kiosk.cash_sim.insert_note)

    def _cash(self, kind: str, yen: int, insert: Any) -> CashResult:
        result = CashResult(kind, yen, str(insert(yen)))
        with self._lock:
            self._last_cash = result
        log.info("harness: %s", result)
        return result

    def hoppers(self) -> tuple[tuple[int, int], ...]:
        """(coin yen, stock) of every change hopper, largest coin first. Never raises."""
        hoppers = self._kiosk.cash_sim.status()["hoppers"]
        return tuple(sorted(((yen, stock) for yen, stock, _paid in hoppers.values()), reverse=True))

    # --- printer -------------------------------------------------------------------------------------
    def printer_fault(self, fault: str) -> None:
        """Arm a printer fault for the next sheet: "jam" or "paper_out". Raises ControlError."""
        with self._lock:
            arm_printer_fault(self._kiosk.printer_sim, fault)

    def clear_printer(self) -> None:
        """Disarm faults and refill paper (see clear_printer_faults). Raises ControlError."""
        with self._lock:
            clear_printer_faults(self._kiosk.printer_sim)

    def printer_status(self) -> str:
        """ "ok", "jam armed", "jammed", "paper out" or "unknown". Never raises."""
        return printer_status(self._kiosk.printer_sim)

    # --- all of it -----------------------------------------------------------------------------------
    def status(self) -> HarnessStatus:
        """A snapshot of card, cash and printer. Never raises."""
        with self._lock:
            resident, variant, _form = self._current
            on_reader, last = self._on_reader, self._last_cash
        return HarnessStatus(
            resident, variant, on_reader, self.tries_left(), last, self.hoppers(), self.printer_status()
        )


# --- the simulated printer (harness.sim's and the bench's ``PrinterSim``) ----------------------------------
def _printer_state(printer_sim: Any) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(printer_sim.state_file.read_text())
    return state


def arm_printer_fault(printer_sim: Any, fault: str) -> None:
    """Arm a fault for the next sheet: "jam" or "paper_out". Raises ControlError."""
    if fault not in PRINTER_FAULTS:
        raise ControlError(f"unknown printer fault {fault!r} (one of {', '.join(PRINTER_FAULTS)})")
    try:
        if fault == "jam":
            printer_sim.configure(jam_at=int(_printer_state(printer_sim).get("sheets_fed") or 0) + 1)
        else:
            printer_sim.configure(paper_left=0)
    except (OSError, ValueError) as exc:
        raise ControlError(f"printer: {exc}") from exc


def clear_printer_faults(printer_sim: Any) -> None:
    """Disarm faults and refill paper; a jam that has happened restarts the printer (ippeveprinter keeps
    media-jam until then). Raises ControlError when the printer does not come back."""
    try:
        jammed = printer_status(printer_sim) == "jammed"
        printer_sim.configure(jam_at=None)
        if jammed:
            printer_sim.restart()  # off and on: the pages in the tray stay
            printer_sim.configure(jam_at=None)
        printer_sim.refill(None)
    except Exception as exc:  # PrinterSimError, OSError
        raise ControlError(f"printer: {exc}") from exc


def printer_status(printer_sim: Any) -> str:
    """ "ok", "jam armed", "jammed", "paper out" or "unknown". Never raises."""
    try:
        state = _printer_state(printer_sim)
    except (OSError, ValueError):
        return "unknown"
    fed, jam_at, paper = int(state.get("sheets_fed") or 0), state.get("jam_at"), state.get("paper_left")
    if isinstance(jam_at, int):
        return "jammed" if fed >= jam_at else "jam armed"
    return "paper out" if isinstance(paper, int) and paper <= 0 else "ok"
