"""Which card generation is this? Told from what the card shows without a PIN where it can be.

- The contact ATR differs by generation (docs/card.md §1.1). Through a contactless reader the ATR is
  synthesised from the ATQB (``3B 88 80 …``): then GET DATA ``5F51`` in the power-on state returns
  the card's contact ATR without TS.
- After the 券面事項入力補助 PIN, the basic-information header tells too: ``FF 20 82 HH LL`` on cards
  issued from 2023, ``FF 20 LL`` before.

The kiosk never depends on the answer: every generation is read the same way.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from enum import StrEnum

from reader.apdu import CommandApdu
from reader.appclient import AppClient
from reader.basic_info import LONG_FORM_2
from reader.constants import (
    ATR_CONTACTLESS_PREFIX,
    GENERATION_ATRS,
    GET_DATA_TAG_CONTACT_ATR,
    KENMEN_TAG_BASIC_INFO,
    SW,
    CardGeneration,
    Cla,
    Ins,
)
from reader.errors import ProtocolError

log = logging.getLogger(__name__)

ATR_TS = 0x3B  # direct convention
_GET_DATA_MAX = 256


class Evidence(StrEnum):
    """Where a generation came from."""

    ATR = "atr"
    GET_DATA = "get-data 5F51"
    BASIC_INFO_HEADER = "basic-info header"
    NONE = "none"


@dataclass(frozen=True)
class GenerationGuess:
    """The generation (None: the card does not let us tell), how we know, and the contact ATR."""

    generation: CardGeneration | None
    evidence: Evidence
    contact_atr: bytes | None


def generation_from_atr(atr: bytes) -> CardGeneration | None:
    """The generation whose contact ATR ``atr`` is, or None. Never raises."""
    for generation, known in GENERATION_ATRS.items():
        if atr == known:
            return generation
    return None


def is_contactless_atr(atr: bytes) -> bool:
    """True for a PC/SC part 3 ATR a contactless reader built from the ATQB. Never raises."""
    return atr.startswith(ATR_CONTACTLESS_PREFIX)


def read_contact_atr(client: AppClient, cancel: threading.Event | None = None) -> bytes | None:
    """GET DATA ``00 CA 5F 51 00``: the contact ATR (TS added back), or None when the card does not
    answer it (only the power-on state does, before any AP is selected). Raises CardError subclasses
    of the transport only."""
    cmd = CommandApdu(
        Cla.ISO,
        Ins.GET_DATA,
        GET_DATA_TAG_CONTACT_ATR >> 8,
        GET_DATA_TAG_CONTACT_ATR & 0xFF,
        le=_GET_DATA_MAX,
    )
    response = client.exchange(cmd, cancel)
    if response.sw != SW.OK or not response.data:
        log.debug("GET DATA 5F51 answered %04X", response.sw)
        return None
    return bytes([ATR_TS]) + response.data


def identify_generation(client: AppClient, cancel: threading.Event | None = None) -> GenerationGuess:
    """Tell the generation without a PIN. Send this first after connecting: GET DATA works only in the
    power-on state. Raises CardError subclasses of the transport."""
    atr = client.transport.atr
    generation = generation_from_atr(atr)
    if generation is not None:
        return GenerationGuess(generation, Evidence.ATR, atr)
    if not is_contactless_atr(atr):
        return GenerationGuess(None, Evidence.NONE, atr)
    contact = read_contact_atr(client, cancel)
    if contact is None:
        return GenerationGuess(None, Evidence.NONE, None)
    found = generation_from_atr(contact)
    return GenerationGuess(found, Evidence.GET_DATA if found else Evidence.NONE, contact)


def generation_from_basic_info(raw: bytes) -> CardGeneration:
    """The generation the 基本4情報 file's header form shows. Raises ProtocolError unless ``FF 20``."""
    if len(raw) < 3 or int.from_bytes(raw[:2], "big") != KENMEN_TAG_BASIC_INFO:
        raise ProtocolError("not a basic-information file (FF 20)")
    return CardGeneration.FROM_2023 if raw[2] == LONG_FORM_2 else CardGeneration.FIRST
