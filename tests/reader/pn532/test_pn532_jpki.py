"""The JPKI client over the PN532 path gives byte-identical results to the same card over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pn532_helpers import AUTH_PIN

from firmware_sim.card.cardos import CardTiming
from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from reader.jpki import JpkiClient
from reader.loopback import LoopbackTransport
from reader.pn532.transport import open_pn532
from reader.transport import Transport

CHALLENGE = b"challenge from the center"


def auth_sequence(transport: Transport) -> tuple[bytes, int, bytes]:
    client = JpkiClient(transport)
    client.detect()
    cert = client.read_certificate_der("auth")
    tries = client.pin_status("auth")
    client.verify_pin("auth", AUTH_PIN)
    return cert, tries, client.sign_sha256("auth", CHALLENGE)


@pytest.mark.parametrize("extended", [True, False])
def test_pn532_and_loopback_give_identical_certificate_and_signature(
    make_sim,
    card_image: Path,
    tmp_path: Path,
    extended: bool,  # type: ignore[no-untyped-def]
) -> None:
    sim = make_sim()
    pn532 = open_pn532(f"pn532://{sim.wire.path}?extended={int(extended)}")
    pn532.connect()
    over_pn532 = auth_sequence(pn532)
    pn532.close()

    twin = tmp_path / "twin.json"
    twin.write_bytes(card_image.read_bytes())  # same keys and certificates, own PIN counters
    loopback = LoopbackTransport(MyNumberCard.from_image(twin), extended=extended)
    loopback.connect()
    over_loopback = auth_sequence(loopback)
    loopback.close()

    assert over_pn532 == over_loopback
    assert over_pn532[1] == 3 and len(over_pn532[2]) == 256


def test_slow_signature_goes_through_wtx(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(fwi=4, options=CardOptions(timing=CardTiming(by_ins={0x2A: 0.05})))  # FWT ≈ 4.8 ms
    pn532 = open_pn532(f"pn532://{sim.wire.path}")
    pn532.connect()
    assert len(auth_sequence(pn532)[2]) == 256
    assert sim.card.wtx_requests >= 1
    pn532.close()


def test_traffic_logs_of_both_sides_never_hold_the_pin(make_sim, caplog) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim()
    with caplog.at_level(1):
        pn532 = open_pn532(f"pn532://{sim.wire.path}")
        pn532.connect()
        auth_sequence(pn532)
        pn532.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "pn532" in text.lower() and "00 20 00 80" in text.upper()  # the VERIFY was logged, redacted
    pin = AUTH_PIN.encode()
    for form in (repr(AUTH_PIN), pin.hex(), pin.hex(" "), pin.hex(" ").upper(), pin.hex().upper()):
        assert form not in text
