"""券面事項確認AP, the card-face AP (docs/card.md §6.1): the printed card face behind 照合番号A/B.

Key references (none chosen by the holder, so CHANGE REFERENCE DATA → ``69 85``): ``0011`` birth
date (YYMMDD, era year), ``0012`` 照合番号B, ``0013`` 照合番号A. Read rules as myna-card measured
them: ``0001`` age record after the birth-date key; ``0002`` card face after A or B; ``0005`` the
rendered My Number after A only; ``0003`` (AP basic information) and ``0004`` (card-verifiable
certificate) free; anything else ``69 82`` / ``6A 82``. A card image without card-face files (made
before this AP was simulated) has no such AP: SELECT of its AID answers ``6A 82``.
"""

from __future__ import annotations

from collections.abc import Mapping

from firmware_sim.card.filesystem import DataEf, DedicatedFile, Ef, PinEf
from firmware_sim.card.image import CardImage
from reader.constants import Aid, KakuninFile

READ_RULES: Mapping[int, frozenset[str]] = {
    KakuninFile.AGE_RECORD: frozenset({"face_birth"}),
    KakuninFile.CARD_FACE: frozenset({"face_a", "face_b"}),
    KakuninFile.MY_NUMBER_IMAGE: frozenset({"face_a"}),
}
KEY_REFERENCES = (
    PinEf(KakuninFile.BIRTH_DATE_KEY, "face_birth", changeable=False),
    PinEf(KakuninFile.CODE_B, "face_b", changeable=False),
    PinEf(KakuninFile.CODE_A, "face_a", changeable=False),
)


def kakunin_files(image: CardImage) -> list[Ef]:
    """The AP's EFs for ``image``: data files with their read rules, and the key references."""
    files: list[Ef] = []
    for fid, content in image.kakunin_files.items():
        rule = READ_RULES.get(fid)
        files.append(DataEf(fid, content, rule or frozenset(), sensitive=rule is not None))
    files.extend(ref for ref in KEY_REFERENCES if image.has_pin(ref.pin))
    return files


class KakuninAp(DedicatedFile):
    """The 券面事項確認AP over one card image."""

    def __init__(self, image: CardImage, *, keep_security_on_reselect: bool = True) -> None:
        super().__init__(
            Aid.KENMEN_KAKUNIN,
            image,
            kakunin_files(image),
            keep_security_on_reselect=keep_security_on_reselect,
        )
