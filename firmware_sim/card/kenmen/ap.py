"""券面事項入力補助AP (docs/card.md §6): My Number, basic 4 info and their integrity record.

Key references: PIN ``0011`` (4 digits, 3 tries; same VERIFY rules as the JPKI AP), 照合番号A
``0014`` (the My Number) and 照合番号B ``0015`` (birth YYMMDD in the era year + expiry year +
security code). Read rules (myna-card): ``0001`` My Number after the PIN or A; ``0002`` basic 4 info
after the PIN or B (A does not open it); ``0003`` integrity record after any of the three (else
``69 82``); ``0004`` (the AP's card-verifiable certificate) and ``0005`` (AP basic information) are
free, as is any other file the image holds. Images personalised before A/B existed have neither
key reference: SELECT answers ``6A 82``.
"""

from __future__ import annotations

from collections.abc import Mapping

from firmware_sim.card.filesystem import DataEf, DedicatedFile, Ef, PinEf
from firmware_sim.card.image import CardImage
from reader.constants import Aid, KenmenFile

READ_RULES: Mapping[int, frozenset[str]] = {
    KenmenFile.MY_NUMBER: frozenset({"kenmen", "kenmen_a"}),
    KenmenFile.BASIC_INFO: frozenset({"kenmen", "kenmen_b"}),
    KenmenFile.INTEGRITY: frozenset({"kenmen", "kenmen_a", "kenmen_b"}),
}
KEY_REFERENCES = (
    PinEf(KenmenFile.PIN, "kenmen"),
    PinEf(KenmenFile.CODE_A, "kenmen_a", changeable=False),
    PinEf(KenmenFile.CODE_B, "kenmen_b", changeable=False),
)
PROTECTED = frozenset(READ_RULES)


def kenmen_files(image: CardImage) -> list[Ef]:
    """The AP's EFs for ``image``: its data files plus the key references the image has PINs for."""
    files: list[Ef] = []
    for fid, content in image.kenmen_files.items():
        rule = READ_RULES.get(fid)
        if rule is not None:
            files.append(DataEf(fid, content, rule, sensitive=True))
        else:
            files.append(DataEf(fid, content))
    files.extend(ref for ref in KEY_REFERENCES if image.has_pin(ref.pin))
    return files


class KenmenAp(DedicatedFile):
    """The 券面事項入力補助AP over one card image."""

    def __init__(self, image: CardImage, *, keep_security_on_reselect: bool = True) -> None:
        super().__init__(
            Aid.KENMEN_HOJO, image, kenmen_files(image), keep_security_on_reselect=keep_security_on_reselect
        )
