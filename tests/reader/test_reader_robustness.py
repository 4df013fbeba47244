"""Whatever the card answers, the clients raise only CardError subclasses; PINs never reach logs."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader.apdu import h
from reader.errors import CardError, TransportError
from reader.jpki import JpkiClient
from reader.kenmen import KenmenClient
from reader.loopback import LoopbackTransport
from reader.transport import CardSession

STATUS = [
    h(x) for x in ("90 00", "63 C2", "63 C0", "69 84", "69 82", "6A 82", "67 00", "6F 00", "61 10", "6C 10")
]
answers = st.one_of(
    st.binary(max_size=6),
    st.builds(lambda d, sw: d + sw, st.binary(max_size=300), st.sampled_from(STATUS)),
    st.builds(
        lambda n, d, sw: h("30 82") + n.to_bytes(2, "big") + d + sw,
        st.integers(0, 0xFFFF),
        st.binary(max_size=300),
        st.sampled_from(STATUS),
    ),
)


class RandomCardTransport:
    supports_extended = False
    name = "random"
    atr = b"\x3b\x00"

    def __init__(self, data: st.DataObject, extended: bool) -> None:
        self.data = data
        self.supports_extended = extended
        self.card_session = CardSession()
        self.count = 0

    def connect(self, *, exclusive: bool = True) -> None: ...

    def disconnect(self, *, unpower: bool = True) -> None: ...

    def transmit(self, apdu: bytes, *, timeout: float = 10.0, cancel: threading.Event | None = None) -> bytes:
        self.count += 1
        if self.count > 60:
            raise TransportError("too many exchanges for one operation")
        answer: bytes = self.data.draw(answers)
        return answer


OPERATIONS: list[Callable[[RandomCardTransport], object]] = [
    lambda t: JpkiClient(t).detect(),
    lambda t: JpkiClient(t).read_certificate("auth"),
    lambda t: JpkiClient(t).pin_status("auth"),
    lambda t: JpkiClient(t).verify_pin("sign", "ABC123"),
    lambda t: JpkiClient(t).sign_sha256("auth", b"m"),
    lambda t: JpkiClient(t).cert_presence(),
    lambda t: JpkiClient(t).change_pin("auth", "1234", "5678"),
    lambda t: KenmenClient(t).read_basic_info(),
    lambda t: KenmenClient(t).read_my_number(),
    lambda t: KenmenClient(t).check_integrity(),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(range(len(OPERATIONS))), st.booleans())
def test_random_answers_raise_only_card_errors(data: st.DataObject, op: int, extended: bool) -> None:
    transport = RandomCardTransport(data, extended)
    try:
        OPERATIONS[op](transport)
    except CardError:
        pass


def test_the_pin_never_appears_in_logs(card, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(1)
    transport = LoopbackTransport(card)
    transport.connect()
    client = JpkiClient(transport)
    client.detect()
    for pin in ("8642", "1234"):
        try:
            client.verify_pin("auth", pin)
        except CardError:
            pass
    client.verify_pin("sign", "abc123")
    client.change_pin("auth", "1234", "7531")
    kenmen = KenmenClient(transport)
    kenmen.verify_pin("5678")
    number = kenmen.read_my_number()
    transport.close()
    # The reader package's records (the virtual card's own logs are its engineer's to test).
    records = [r for r in caplog.records if r.name.startswith("reader")]
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in records)
    assert "> 00 20 00 80 04 ****" in text  # the traffic log was on
    for secret in ("8642", "1234", "ABC123", "abc123", "7531", "5678", number):
        for form in (
            secret,
            secret.encode().hex(" ").upper(),
            secret.encode().hex().upper(),
            secret.encode().hex(),
        ):
            assert form not in text, f"{secret!r} leaked into the logs as {form!r}"
