"""Fixtures for relay_client unit tests: one EC PKI per module, a scripted mTLS fake center."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_helpers import FakeCenter, Pki, build_pki

from relay_client import IssuanceClient, RetryPolicy, Timeouts


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def center(pki: Pki) -> Iterator[FakeCenter]:
    server = FakeCenter(pki)
    yield server
    server.close()


FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05, jitter=0.5, deadline=5.0)


def client_for(
    url: str,
    pki: Pki,
    *,
    retry: RetryPolicy = FAST_RETRY,
    timeouts: Timeouts | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    ca: Path | None = None,
) -> IssuanceClient:
    return IssuanceClient(
        url,
        cert or pki.path("terminal.pem"),
        key or pki.path("terminal.key"),
        ca or pki.path("center-ca.pem"),
        retry=retry,
        timeouts=timeouts or Timeouts(connect=2.0, read=5.0),
    )


@pytest.fixture
def client(center: FakeCenter, pki: Pki) -> Iterator[IssuanceClient]:
    c = client_for(center.url, pki)
    yield c
    c.close()
