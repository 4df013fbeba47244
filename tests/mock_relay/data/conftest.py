"""Fixtures for tests/mock_relay/data: a seeded registry in tmp_path with a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_data_helpers import MONDAY

from mock_relay.registry.store import Registry


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly seeded database file per session (seeding itself is tested in test_relay_data_registry)."""
    path = tmp_path_factory.mktemp("registry") / "template.sqlite"
    Registry(path, clock=lambda: MONDAY).close()
    return path


@pytest.fixture
def registry(tmp_path: Path, seeded_template: Path) -> Iterator[Registry]:
    path = tmp_path / "registry.sqlite"
    shutil.copyfile(seeded_template, path)
    reg = Registry(path, clock=lambda: MONDAY)
    yield reg
    reg.close()
