"""Fixtures for the mock-center server tests: one running center per module, kiosks, cards.

RSA-2048 generation dominates set-up time, so the JPKI test PKI and every card draw their keys from
one pool generated per session (a card's key may repeat another card's; certificates and serials
still differ, which is all the center keys on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from relay_server_helpers import Card, KeyPool, Kiosk, start_relay

from mock_relay.cli.cards import personalise_for
from mock_relay.server import RelayServer


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool(10)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Iterator[RelayServer]:
    server = start_relay(tmp_path_factory.mktemp("center"), key_pool)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def terminals(relay: RelayServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    made: dict[str, Path] = {}

    def make(terminal_id: str) -> Path:
        if terminal_id not in made:
            assert relay.center is not None
            made[terminal_id] = relay.center.center_pki.issue_terminal(
                terminal_id, tmp_path_factory.mktemp(terminal_id)
            )
        return made[terminal_id]

    return make


@pytest.fixture(scope="module")
def kiosk(relay: RelayServer, terminals: Callable[[str], Path]) -> Kiosk:
    return Kiosk(relay.api_url, terminals("T-0001"))


@pytest.fixture(scope="module")
def kiosk2(relay: RelayServer, terminals: Callable[[str], Path]) -> Kiosk:
    return Kiosk(relay.api_url, terminals("T-0002"))


@pytest.fixture(scope="module")
def cards(
    relay: RelayServer, tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool
) -> Callable[..., Card]:
    """``cards("C-001")``: a card bound to that resident (cached per resident and flags)."""
    made: dict[tuple[str, bool], Card] = {}
    lock = threading.Lock()

    def make(resident_id: str, *, expired: bool = False) -> Card:
        with lock:
            key = (resident_id, expired)
            if key not in made:
                assert relay.center is not None
                path = tmp_path_factory.mktemp("cards") / f"{resident_id}.card"
                personalise_for(
                    relay.center.jpki,
                    relay.center.registry,
                    resident_id,
                    path,
                    expired=expired,
                    key_factory=key_pool,
                )
                made[key] = Card(path)
            return made[key]

    return make
