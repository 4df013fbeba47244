"""The assembled virtual My Number card: the card OS with the JPKI AP and the two 券面 APs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from firmware_sim.card.cardos import Application, CardOS, CardTiming
from firmware_sim.card.image import CardImage
from firmware_sim.card.jpki_ap import JpkiAp
from firmware_sim.card.kakunin.ap import KakuninAp
from firmware_sim.card.kenmen.ap import KenmenAp


@dataclass(frozen=True)
class CardOptions:
    """Behaviour switches for tests.

    ``fail_first_apdu``: the first APDU after each power-on answers ``6F 00`` (reader resilience).
    ``keep_security_on_reselect``: a re-SELECT of an AP keeps its verified PINs (MCARD's report).
    ``timing``: artificial per-command delays.
    """

    fail_first_apdu: bool = False
    keep_security_on_reselect: bool = True
    timing: CardTiming = field(default_factory=CardTiming)


class MyNumberCard(CardOS):
    """A virtual My Number card over one card image (PIN counters are written back to it)."""

    def __init__(self, image: CardImage, options: CardOptions | None = None) -> None:
        options = options or CardOptions()
        keep = options.keep_security_on_reselect
        self.image = image
        self.jpki = JpkiAp(image, keep_security_on_reselect=keep)
        self.kenmen = KenmenAp(image, keep_security_on_reselect=keep)
        self.kakunin = KakuninAp(image, keep_security_on_reselect=keep)
        applications: list[Application] = [self.jpki, self.kenmen]
        if image.kakunin_files:
            applications.append(self.kakunin)
        super().__init__(
            image.atr,
            applications,
            timing=options.timing,
            fail_first_apdu=options.fail_first_apdu,
        )

    @classmethod
    def from_image(cls, path: Path | str, options: CardOptions | None = None) -> MyNumberCard:
        """Load the card image at ``path``. Raises CardImageError for a missing or bad image."""
        return cls(CardImage.load(Path(path)), options)
