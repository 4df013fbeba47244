"""The residents' cards: one virtual My Number card per resident of the center's register (and a copy
whose PIN is locked), issued once per fleet directory, and lent to one kiosk at a time.

A resident is at one kiosk at a time, across processes too (Locust workers on one machine share the
directory): a lease is an ``flock`` on the resident's lock file. Each resident's PIN is drawn from the
run's seed and kept in ``cards/pins.json`` (0600), the one place a PIN is written down; the verdict
looks for these PINs in every other artefact.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import multiprocessing
import os
import random
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from firmware_sim.card.image import CardImage
from firmware_sim.pki.hierarchy import TestPki
from mock_relay.cli.cards import personalise_for
from mock_relay.model import ResidentStatus
from mock_relay.registry.store import Registry

log = logging.getLogger(__name__)
PINS = "pins.json"


@dataclass(frozen=True)
class Card:
    """A resident's card: their id and name as registered, the card image, the locked copy, the PIN."""

    resident_id: str
    name: str
    image: Path
    locked: Path
    pin: str


def prepare_cards(center_data: Path, out: Path, seed: int, *, processes: int = 1) -> list[Card]:
    """Issue (once; later calls reuse them) a card for every resident who is alive and in the register,
    in ``processes`` processes (a card is two RSA keys and a dozen scrypt PIN records: about a second of
    CPU each). Safe to call from several processes at once. Raises PkiError, CardImageError, OSError."""
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out / ".prepare.lock", blocking=True):
        if not (out / PINS).exists():
            _issue_all(center_data, out, seed, processes)
    return load_cards(out)


def load_cards(out: Path) -> list[Card]:
    """The cards prepared in ``out``. Raises OSError, ValueError."""
    entries = json.loads((out / PINS).read_text(encoding="utf-8"))
    return [
        Card(
            e["resident_id"],
            e["name"],
            out / f"{e['resident_id']}.card",
            out / f"{e['resident_id']}-locked.card",
            e["pin"],
        )
        for e in entries
    ]


def _issue_all(center_data: Path, out: Path, seed: int, processes: int) -> None:
    rng = random.Random(f"pins-{seed}")
    registry = Registry(center_data / "registry.sqlite")
    try:
        alive = [r for r in registry.residents() if r.status is not ResidentStatus.DECEASED]
    finally:
        registry.close()
    wanted = [(r.id, _draw_pin(rng)) for r in alive]  # the PINs in the register's order, whatever fails
    if processes > 1:  # the PKI's and the register's SQLite files take writers from several processes
        shares = [wanted[i::processes] for i in range(processes)]
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            issued = pool.map(_issue_some, [center_data] * processes, [out] * processes, shares)
            order = {rid: i for i, (rid, _) in enumerate(wanted)}
            entries = sorted((e for share in issued for e in share), key=lambda e: order[e["resident_id"]])
    else:
        entries = _issue_some(center_data, out, wanted)
    path = out / PINS
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(entries, f, ensure_ascii=False, indent=1)
    os.replace(path.with_suffix(".tmp"), path)
    log.info("issued %d residents' cards in %s", len(entries), out)


def _issue_some(center_data: Path, out: Path, wanted: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Cards for ``wanted`` (resident id, PIN), each with a copy whose PIN is locked; the entries of
    ``pins.json`` for those issued."""
    pki = TestPki.open(center_data / "jpki")
    registry = Registry(center_data / "registry.sqlite")
    entries = []
    try:
        for resident_id, pin in wanted:
            resident = registry.resident(resident_id)
            assert resident is not None
            image = out / f"{resident_id}.card"
            try:
                personalise_for(pki, registry, resident_id, image, auth_pin=pin)
            except ValueError as exc:  # holder data a card cannot carry: this resident stays home
                log.warning("no card for %s: %s", resident_id, exc)
                continue
            locked = out / f"{resident_id}-locked.card"
            shutil.copy2(image, locked)
            card = CardImage.load(locked)
            wrong = b"0000" if pin != "0000" else b"9999"
            while card.tries_left("auth") > 0:
                card.verify_pin("auth", wrong)
            name = f"{resident.family_name} {resident.given_name}"
            entries.append({"resident_id": resident_id, "name": name, "pin": pin})
    finally:
        registry.close()
    return entries


def _draw_pin(rng: random.Random) -> str:
    """A 4-digit PIN that is not a year (19xx, 20xx) nor a multiple of 10, so that finding it in an
    artefact means a leak, not a date or a yen amount."""
    while True:
        pin = rng.randint(0, 9999)
        if pin % 10 and not 1900 <= pin < 2100:
            return f"{pin:04d}"


@contextlib.contextmanager
def _locked(path: Path, *, blocking: bool) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing drops the lock


class CardPool:
    """Lends cards out one resident at a time: an ``flock`` on ``<id>.lock`` (across processes), and in
    this process a set of the residents out, so that a kiosk waiting for a free resident neither tries the
    locks of residents it knows are out nor spins (with 50 kiosks and some 36 residents, 14 kiosks wait
    at any time; trying every lock every 50 ms cost 7 % of the fleet's CPU)."""

    _out: ClassVar[dict[Path, set[str]]] = {}  # directory -> residents lent out by this process
    _changed: ClassVar[threading.Condition] = threading.Condition()

    def __init__(self, cards: list[Card], directory: Path) -> None:
        self.cards, self.directory = cards, directory

    def lease(self, rng: random.Random) -> tuple[Card, Lease] | None:
        """A free resident's card and the lease to give back with :meth:`release`; None if every
        resident is at a kiosk."""
        with CardPool._changed:
            out = CardPool._out.setdefault(self.directory, set())
            for card in rng.sample(self.cards, len(self.cards)):
                if card.resident_id in out:
                    continue
                fd = os.open(self.directory / f"{card.resident_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # at a kiosk of another process
                    os.close(fd)
                    continue
                out.add(card.resident_id)
                return card, Lease(self.directory, card.resident_id, fd)
        return None

    @staticmethod
    def wait(timeout: float) -> None:
        """Until a resident of this process comes back, or ``timeout`` (one of another process may)."""
        with CardPool._changed:
            CardPool._changed.wait(timeout)

    @staticmethod
    def release(lease: Lease) -> None:
        """The resident leaves the kiosk with their card."""
        with CardPool._changed:
            os.close(lease.fd)
            CardPool._out.get(lease.directory, set()).discard(lease.resident_id)
            CardPool._changed.notify_all()


@dataclass(frozen=True)
class Lease:
    """A resident out at a kiosk: the open, locked ``<id>.lock``."""

    directory: Path
    resident_id: str
    fd: int
