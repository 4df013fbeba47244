"""券面事項入力補助AP (docs/card.md §6): My Number, basic 4 info and their integrity record behind a PIN.

PIN ``0011`` (4 digits, 3 tries; same VERIFY rules as the JPKI AP). ``0001`` My Number, ``0002``
basic 4 info and ``0003`` the integrity record are readable only after that PIN (else ``69 82``);
any other file the image holds (e.g. ``0004``/``0005``) is free. The 照合番号A/B key references
(``0014``/``0015``) are not simulated: SELECT answers ``6A 82``.
"""

from __future__ import annotations

from firmware_sim.card.filesystem import DataEf, DedicatedFile, Ef, PinEf
from firmware_sim.card.image import CardImage
from reader.constants import Aid, KenmenFile

PROTECTED = frozenset({KenmenFile.MY_NUMBER, KenmenFile.BASIC_INFO, KenmenFile.INTEGRITY})


def kenmen_files(image: CardImage) -> list[Ef]:
    """The AP's EFs for ``image``: its data files plus the PIN EF when the image has the kenmen PIN."""
    files: list[Ef] = []
    for fid, content in image.kenmen_files.items():
        if fid in PROTECTED:
            files.append(DataEf(fid, content, frozenset({"kenmen"}), sensitive=True))
        else:
            files.append(DataEf(fid, content))
    if image.has_pin("kenmen"):
        files.append(PinEf(KenmenFile.PIN, "kenmen"))
    return files


class KenmenAp(DedicatedFile):
    """The 券面事項入力補助AP over one card image."""

    def __init__(self, image: CardImage, *, keep_security_on_reselect: bool = True) -> None:
        super().__init__(
            Aid.KENMEN_HOJO, image, kenmen_files(image), keep_security_on_reselect=keep_security_on_reselect
        )
