"""End-to-end harness: the real mock center (in-process listeners), terminal certificates, virtual cards
signing through reader.jpki over the loopback transport."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from mock_relay.cli.cards import holder_for
from mock_relay.faults import JST
from mock_relay.jpki_check import cert_serial_hash
from mock_relay.registry.store import Registry
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki
from reader.jpki import JpkiClient
from reader.loopback import LoopbackTransport
from relay_client import (
    Authenticated,
    CenterRefusal,
    CopyOutcome,
    IssuanceClient,
    IssuedDocument,
    Order,
    OrderItem,
    RetryPolicy,
    Timeouts,
)

PIN = "1234"
E2E_RETRY = RetryPolicy(attempts=4, base=0.05, cap=0.3, deadline=20.0)


_CLOSED = {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}
_MAINTENANCE = {date(2026, 12, 6), date(2027, 2, 14)}  # seeded municipal maintenance days


def service_time(days: int = 1, hour: int = 10) -> datetime:
    """``hour`` JST on the ``days``-th open weekday from today (no closure, no seeded maintenance day).

    Each test takes its own day, so the center's "issued today" rule never carries from one test to
    the next.
    """
    day = datetime.now(JST).date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and (day.month, day.day) not in _CLOSED and day not in _MAINTENANCE:
            left -= 1
    return datetime(day.year, day.month, day.day, hour, tzinfo=JST)


def _katakana(text: str) -> str:
    # the seed's kana are hiragana; the card's 券面 wants katakana (the shift is fixed in Unicode)
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


class Card:
    """A personalised virtual card in a loopback reader; ``sign`` is serialised (one card, one reader)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.transport = LoopbackTransport(MyNumberCard.from_image(path))
        self.transport.connect()
        self.jpki = JpkiClient(self.transport)
        self.jpki.detect()
        self.certificate = self.jpki.read_certificate_der("auth")
        self.jpki.verify_pin("auth", PIN)
        self.lock = threading.Lock()

    def sign(self, message: bytes) -> bytes:
        with self.lock:
            return self.jpki.sign_sha256("auth", message)

    def close(self) -> None:
        self.transport.close()


@dataclass
class Center:
    """One running mock center plus the artefacts the tests share."""

    root: Path
    server: RelayServer
    cards: dict[str, Card] = field(default_factory=dict)
    clients: dict[str, IssuanceClient] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def card(self, resident_id: str, *, expired: bool = False, pki_dir: Path | None = None) -> Card:
        """A card for ``resident_id`` (cached), issued by the center's JPKI PKI or the one at ``pki_dir``."""
        key = f"{resident_id}:{expired}:{pki_dir}"
        if key not in self.cards:
            path = self.root / "cards" / f"{resident_id}-{len(self.cards)}.card"
            path.parent.mkdir(exist_ok=True)
            registry = Registry(self.data / "registry.sqlite")
            try:
                resident = registry.resident(resident_id)
                assert resident is not None, resident_id
                holder = holder_for(resident)
                holder = dataclasses.replace(
                    holder, family_kana=_katakana(holder.family_kana), given_kana=_katakana(holder.given_kana)
                )
                under_15 = resident.age_on(datetime.now(JST).date()) < 15
                pki = TestPki.open(pki_dir or self.data / "jpki")
                issued = personalise_card(
                    path,
                    pki=pki,
                    holder=holder,
                    auth_pin=PIN,
                    expired=expired,
                    # valid from yesterday: the tests set the center's clock to a time of today, which may
                    # come before the moment the card is made
                    not_before=None if expired else datetime.now(JST) - timedelta(days=1),
                    with_sign_cert=not under_15,
                    issued_by="mock-relay",
                )
                if pki_dir is None:
                    registry.bind_card(
                        resident_id, cert_serial_hash(issued.auth_cert.serial_number), issued.auth_serial_hex
                    )
            finally:
                registry.close()
            self.cards[key] = Card(path)
        return self.cards[key]

    def terminal_dir(self, terminal_id: str) -> Path:
        out = self.root / "terminals" / terminal_id
        if not (out / "terminal.pem").exists():
            CenterPki.open(self.data / "center").issue_terminal(terminal_id, out)
        return out

    def client(self, terminal_id: str = "T-0001") -> IssuanceClient:
        if terminal_id not in self.clients:
            self.clients[terminal_id] = self.new_client(terminal_id)
        return self.clients[terminal_id]

    def new_client(self, terminal_id: str, retry: RetryPolicy = E2E_RETRY) -> IssuanceClient:
        t = self.terminal_dir(terminal_id)
        return IssuanceClient(
            self.server.api_url,
            t / "terminal.pem",
            t / "terminal.key",
            t / "center-ca.pem",
            public_url=self.server.public_url,
            retry=retry,
            timeouts=Timeouts(connect=3.0, read=15.0),
        )

    def restart(self) -> None:
        """Stop and start the server on the same data directory (new ports); clients are rebuilt."""
        clock_now = self.server.clock.now()
        self.close_clients()
        self.server.stop()
        self.server = RelayServer(self.data).start()
        self.server.clock.set(clock_now)

    def close_clients(self) -> None:
        for c in self.clients.values():
            c.close()
        self.clients.clear()

    def close(self) -> None:
        self.close_clients()
        for card in self.cards.values():
            card.close()
        self.server.stop()


def start_center(root: Path) -> Center:
    server = RelayServer(root / "data").start()
    server.clock.set(service_time())
    return Center(root, server)


def authenticate(client: IssuanceClient, card: Card, route: str = "residence") -> Authenticated:
    session = client.open_session()
    return client.authenticate(session, card.certificate, card.sign, route)


@dataclass(frozen=True)
class Issued:
    auth: Authenticated
    order: Order
    documents: tuple[IssuedDocument, ...]


def issue(
    client: IssuanceClient,
    card: Card,
    items: list[OrderItem],
    route: str = "residence",
    *,
    finish: bool = True,
) -> Issued:
    """Authenticate, order, issue (verified by the client), pay exact, report printed."""
    auth = authenticate(client, card, route)
    order = client.create_order(auth, items)
    docs = client.issue_documents(order)
    if finish:
        client.record_payment(order, order.total, 0)
        client.report_result(order, [CopyOutcome(d.document_id, True) for d in docs])
    return Issued(auth, order, docs)


def refusal_code(action: Callable[[], object]) -> str:
    """The code of the CenterRefusal ``action`` raises (AssertionError if it does not)."""
    try:
        action()
    except CenterRefusal as exc:
        return exc.code
    raise AssertionError("expected a refusal")


def items_of(*types: str) -> list[OrderItem]:
    return [OrderItem(t, 1) for t in types]


def iter_documents(results: list[Issued]) -> Iterator[tuple[Issued, IssuedDocument]]:
    for r in results:
        for d in r.documents:
            yield r, d
