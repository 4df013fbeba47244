"""The JPKI client through real pcscd + vpcd: read, verify, sign, lock, removal, monitor."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pcsc_helpers import READER, READER_URL, InsertCard, VirtualReader

from reader.constants import Ins, JpkiFile
from reader.errors import (
    CardRemovedError,
    NoCardError,
    NoReaderError,
    PinBlockedError,
    PinIncorrectError,
    SecurityStatusNotSatisfiedError,
    TransportError,
)
from reader.jpki import JpkiClient
from reader.monitor import CardEvent, CardMonitor, EventKind
from reader.pcsc import PcscPresence, PcscTransport, PcscUrl, list_readers

pytestmark = pytest.mark.pcsc


@pytest.fixture
def transport(vcard: VirtualReader) -> PcscTransport:
    t = PcscTransport(READER_URL)
    t.connect()
    yield t  # type: ignore[misc]
    t.close()


def test_list_readers_shows_the_card_and_its_atr(vcard: VirtualReader) -> None:
    readers = {r.name: r for r in list_readers()}
    assert readers[READER].atr == vcard.card.atr  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", [READER_URL, "pcsc://Virtual PCD 00 00?extended=0", "pcsc://#0", "pcsc://"])
def test_detect_and_read_certificates(vcard: VirtualReader, url: str) -> None:
    t = PcscTransport(url)
    t.connect()
    try:
        client = JpkiClient(t)
        assert client.detect().token == "JPKIAPICCTOKEN2"
        assert t.name == READER
        assert t.supports_extended is ("extended=0" not in url)
        image = vcard.card.image  # type: ignore[attr-defined]
        assert client.read_certificate_der("auth") == image.jpki_files[JpkiFile.AUTH_CERT]
        assert client.read_certificate_der("auth-ca") == image.jpki_files[JpkiFile.AUTH_CA_CERT]
    finally:
        t.close()


def test_verify_and_sign(transport: PcscTransport) -> None:
    client = JpkiClient(transport)
    key = client.read_certificate("auth").public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    with pytest.raises(PinIncorrectError) as wrong:
        client.verify_pin("auth", "0000")
    assert wrong.value.tries_left == 2
    client.verify_pin("auth", "1234")
    signature = client.sign_sha256("auth", b"challenge")
    key.verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


def test_disconnect_unpowers_and_clears_the_pin(transport: PcscTransport) -> None:
    client = JpkiClient(transport)
    client.verify_pin("auth", "1234")
    transport.disconnect(unpower=True)
    transport.connect()
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.sign_sha256("auth", b"x")


def test_connection_is_exclusive(transport: PcscTransport) -> None:
    other = PcscTransport(READER_URL)
    with pytest.raises(TransportError, match="in use"):
        other.connect()
    other.close()


def test_lock_after_three_survives_power_off_and_card_restart(
    insert_card: InsertCard, card_image: Path
) -> None:
    reader = insert_card(card_image)
    t = PcscTransport(READER_URL)
    t.connect()
    client = JpkiClient(t)
    for _ in range(2):
        with pytest.raises(PinIncorrectError):
            client.verify_pin("auth", "9999")
    with pytest.raises(PinBlockedError):
        client.verify_pin("auth", "9999")
    t.disconnect(unpower=True)
    t.connect()
    assert client.pin_status("auth") == 0
    t.close()
    reader.stop()  # the card "process" ends; a new one loads the same image
    insert_card(card_image)
    t = PcscTransport(READER_URL)
    t.connect()
    client = JpkiClient(t)
    assert client.pin_status("auth") == 0
    with pytest.raises(PinBlockedError):
        client.verify_pin("auth", "1234")
    t.close()


def test_card_removed_during_a_certificate_read(insert_card: InsertCard, card_image: Path) -> None:
    from firmware_sim.card.cardos import CardTiming
    from firmware_sim.card.mynumber import CardOptions

    slow = CardOptions(timing=CardTiming(by_ins={Ins.READ_BINARY: 0.3}))
    reader = insert_card(card_image, slow)
    t = PcscTransport(READER_URL + "?extended=0")
    t.connect()
    client = JpkiClient(t)
    client.detect()
    threading.Timer(0.4, reader.bridge.remove).start()  # type: ignore[attr-defined]
    start = time.monotonic()
    with pytest.raises(CardRemovedError):
        client.read_certificate("auth")
    assert time.monotonic() - start < 5
    t.disconnect()
    with pytest.raises(NoCardError):
        PcscTransport(READER_URL).connect()
    reader.insert()
    t.connect()
    assert client.detect().token == "JPKIAPICCTOKEN2"
    t.close()


def test_no_card_and_no_reader_errors(pcscd: None) -> None:
    with pytest.raises(NoReaderError):
        PcscTransport("pcsc://No Such Reader").connect()
    with pytest.raises(NoReaderError):
        PcscTransport("pcsc://#99").connect()
    assert PcscUrl.parse("pcsc://A%20B?extended=1") == PcscUrl(reader="A B", extended=True)
    with pytest.raises(TransportError):
        PcscUrl.parse("pcsc://#x")


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_monitor_sees_insert_and_remove(vcard: VirtualReader) -> None:
    events: list[CardEvent] = []
    monitor = CardMonitor(PcscPresence(), step=0.2)
    monitor.add_observer(lambda e: events.append(e) if e.reader == READER else None)
    with monitor:
        assert wait_until(lambda: len(events) == 1, 2.0)  # the card already present
        vcard.remove()
        assert wait_until(lambda: len(events) == 2, 2.0)
        vcard.insert()
        assert wait_until(lambda: len(events) == 3, 2.0)
        start = time.monotonic()
    assert time.monotonic() - start < 1.0  # stop() returned promptly
    atr = vcard.card.atr  # type: ignore[attr-defined]
    assert events == [
        CardEvent(EventKind.INSERTED, READER, atr),
        CardEvent(EventKind.REMOVED, READER),
        CardEvent(EventKind.INSERTED, READER, atr),
    ]
