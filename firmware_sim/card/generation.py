"""Card generations: what differs between the My Number cards residents hold (docs/card.md §1.1).

Each difference carries its source and confidence in docs/card.md; a profile only collects them so
personalisation can write a card of any generation. Everything not listed here is the same on every
generation as far as public sources tell.
"""

from __future__ import annotations

from dataclasses import dataclass

from reader.constants import GENERATION_ATRS, CardGeneration


@dataclass(frozen=True)
class GenerationProfile:
    """How one card generation looks from outside.

    ``atr``: the contact ATR. ``long_basic_info_header``: 券面事項入力補助AP EF 0002 starts
    ``FF 20 82 HH LL`` (always the 3-byte length) instead of ``FF 20 LL``.
    ``text_ap_identification``: DF41 of the 券面事項入力補助AP's EF 0005;
    ``face_ap_identification``: DF31 of the 券面事項確認AP's EF 0003.
    """

    generation: CardGeneration
    atr: bytes
    long_basic_info_header: bool
    text_ap_identification: bytes
    face_ap_identification: bytes
    summary: str


# DF41 / DF31 as read from the cards myna-card examined (issue years not stated): the same on both
# generations here, because no source shows them differ.
_TEXT_AP_ID = bytes.fromhex("01030E01")
_FACE_AP_ID = bytes.fromhex("06030E01")

PROFILES: dict[CardGeneration, GenerationProfile] = {
    CardGeneration.FIRST: GenerationProfile(
        CardGeneration.FIRST,
        GENERATION_ATRS[CardGeneration.FIRST],
        long_basic_info_header=False,
        text_ap_identification=_TEXT_AP_ID,
        face_ap_identification=_FACE_AP_ID,
        summary="issued from 2016: ATR 3B E0 00 FF 81 31 FE 45 14, basic info FF 20 <1-byte length>",
    ),
    CardGeneration.FROM_2023: GenerationProfile(
        CardGeneration.FROM_2023,
        GENERATION_ATRS[CardGeneration.FROM_2023],
        long_basic_info_header=True,
        text_ap_identification=_TEXT_AP_ID,
        face_ap_identification=_FACE_AP_ID,
        summary="issued from 2023: ATR 3B DA 13 FF 81 31 FB 46 …, basic info FF 20 82 HH LL",
    ),
}

DEFAULT_GENERATION = CardGeneration.FIRST


def profile_for(generation: CardGeneration | str) -> GenerationProfile:
    """The profile of ``generation`` ("2016", "2023"). Raises ValueError for an unknown one."""
    try:
        return PROFILES[CardGeneration(generation)]
    except ValueError:
        known = ", ".join(g.value for g in CardGeneration)
        raise ValueError(f"unknown card generation {generation!r}; expected one of {known}") from None
