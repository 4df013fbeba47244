"""Fixtures for relay_client unit tests: one EC PKI per module, a scripted mTLS fake center."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from relay_helpers import FakeCenter, Pki, build_pki, client_for

from relay_client import IssuanceClient


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def center(pki: Pki) -> Iterator[FakeCenter]:
    server = FakeCenter(pki)
    yield server
    server.close()


@pytest.fixture
def client(center: FakeCenter, pki: Pki) -> Iterator[IssuanceClient]:
    c = client_for(center.url, pki)
    yield c
    c.close()
