"""Fixtures shared by every test folder: the test PKI and the demo card image (personalised once per
session; each test gets its own copy, since PIN counters are written back to the image), and the hex
helper ``h``. Folder-specific fixtures live in each folder's conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reader.apdu import h

__all__ = ["DEMO_PINS", "h"]

# The demo card's PINs: user authentication, signature password, 券面事項入力補助AP.
DEMO_PINS = {"auth_pin": "1234", "sign_pin": "ABC123", "kenmen_pin": "5678"}


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The JPKI test hierarchy (CAs, OCSP keys), made once per session."""
    from firmware_sim.pki.hierarchy import TestPki

    directory = tmp_path_factory.mktemp("pki")
    TestPki.open(directory)
    return directory


@pytest.fixture(scope="session")
def template_image(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo holder's card image (auth 1234, sign ABC123, kenmen 5678); copy it before use."""
    from firmware_sim.holder import demo_holder
    from firmware_sim.personalise import personalise_card
    from firmware_sim.pki.hierarchy import TestPki

    path = tmp_path_factory.mktemp("template") / "card.json"
    personalise_card(path, pki=TestPki.open(pki_dir), holder=demo_holder(), **DEMO_PINS)
    return path


@pytest.fixture
def card_image(template_image: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo card image for this test (its PIN counters start full)."""
    path = tmp_path / "card.json"
    shutil.copy(template_image, path)
    return path


# --- two sessions at once (make test) ---------------------------------------------------------------------
# pcscd and its two vpcd readers are one machine-wide resource: a card another test put in a reader would be
# seen (or taken) by a test running beside it. Every test that may reach them is marked ``pcscd`` as it is
# collected; make test runs those in one session, one at a time, beside a session of all the others.
_PCSC_FIXTURES = frozenset({"devices", "insert_card", "pcscd"})
_PCSC_WORDS = ("vpcd", "pcscd", "pcsc://", "real_kiosk_helpers", "pcsc_helpers", '"pcsc"', "bench up")
_SOURCES: dict[str, bool] = {}


def _reaches_pcscd(item: pytest.Item) -> bool:
    if item.get_closest_marker("pcsc") or _PCSC_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    path = str(item.path)
    if path not in _SOURCES:
        try:
            text = item.path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        _SOURCES[path] = any(word in text for word in _PCSC_WORDS)
    return _SOURCES[path]


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark, as it is collected, every test that may reach pcscd (before ``-m`` selects)."""
    if _reaches_pcscd(item):
        item.add_marker(pytest.mark.pcscd)
