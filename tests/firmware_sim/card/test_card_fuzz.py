"""Random bytes never make the card raise; every answer ends with a status word."""

from __future__ import annotations

from card_helpers import SELECT_JPKI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_sim.card.mynumber import MyNumberCard

_KNOWN_INS = [0x20, 0x24, 0x2A, 0x84, 0x88, 0xA4, 0xB0, 0xCA, 0xCB]


def _apdus() -> st.SearchStrategy[bytes]:
    header = st.tuples(
        st.sampled_from([0x00, 0x80, 0x0C, 0x01, 0x10, 0xFF, 0x40]) | st.integers(0, 255),
        st.sampled_from(_KNOWN_INS) | st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
    ).map(bytes)
    return st.binary(max_size=300) | st.tuples(header, st.binary(max_size=300)).map(lambda t: t[0] + t[1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(_apdus(), min_size=1, max_size=6), select_first=st.booleans())
def test_random_apdus_always_get_a_status_word(
    card: MyNumberCard, sequence: list[bytes], select_first: bool
) -> None:
    card.power_on()  # one card for all examples: state carries over, which explores more of it
    if select_first:
        assert card.process(bytes.fromhex(SELECT_JPKI.replace(" ", ""))) == b"\x90\x00"
    for apdu in sequence:
        response = card.process(apdu)
        assert isinstance(response, bytes) and len(response) >= 2
        assert response[-2] in (0x61, 0x62, 0x63, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6D, 0x6E, 0x6F, 0x90)
        assert response[-2:] != b"\x6f\x00", f"internal fault on {apdu.hex()}"
