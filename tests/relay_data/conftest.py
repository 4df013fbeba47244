"""Fixtures for tests/relay_data: a seeded registry in tmp_path with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_data_helpers import MONDAY

from mock_relay.registry import Registry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(tmp_path / "registry.sqlite", clock=lambda: MONDAY)
    yield reg
    reg.close()
