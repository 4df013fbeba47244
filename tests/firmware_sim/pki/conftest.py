"""Shared fixtures for the test-PKI tests: a pool of pre-generated RSA keys and one session PKI.

RSA-2048 generation is the slow part, so every PKI and card made here draws from a pool of keys
generated once per session (cycled; the pool is large enough that one card never gets the same
key twice for two purposes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pki_helpers import POOL_SIZE, KeyPool

from firmware_sim.pki.hierarchy import TestPki


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool(POOL_SIZE)


@pytest.fixture(scope="session")
def session_pki(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> TestPki:
    """A PKI shared by read-only tests (never rolled over or revoked into)."""
    return TestPki.open(tmp_path_factory.mktemp("session-pki") / "pki", key_factory=key_pool)


@pytest.fixture
def make_pki(tmp_path: Path, key_pool: KeyPool) -> Callable[[str], TestPki]:
    """A fresh PKI in its own directory under tmp_path (for tests that change it)."""

    def make(name: str = "pki") -> TestPki:
        return TestPki.open(tmp_path / name, key_factory=key_pool)

    return make
