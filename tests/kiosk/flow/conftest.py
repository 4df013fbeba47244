"""Fixtures of tests/kiosk/flow (helpers live in uniquely named modules, never imported from here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from real_kiosk_helpers import StoreDevices, ensure_pcscd, start_devices


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreDevices]:
    """A store's devices as separate components, for one test module: the virtual card behind real pcscd +
    vpcd, the cash simulator on a pty, ippeveprinter, the mock center over mTLS."""
    ensure_pcscd()
    with contextlib.ExitStack() as stack:
        yield start_devices(tmp_path_factory.mktemp("store"), stack)
