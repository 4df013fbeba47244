"""The Android phone: the JPKI applet in the phone's GlobalPlatform secure element (おサイフケータイ models).

What it does differently from the card (docs/card.md §11, confirmed from public sources unless marked):

- The same JPKI AID; EF ``0006`` names the token ``JPKIAPGPSETOKEN``.
- The user-authentication certificate (EF ``000A``) is read only after the auth PIN (EF ``0018``) is
  verified; before that READ BINARY answers ``69 82`` [the SW is our choice: the sources only say the
  public client verifies first].
- Only the two JPKI PINs exist; no 券面事項入力補助AP (SELECT of its AID → ``6A 82``).
"""

from __future__ import annotations

from firmware_sim.card.cardos import CardOS
from firmware_sim.card.filesystem import DataEf
from firmware_sim.card.image import CardImage
from firmware_sim.card.jpki_ap import JpkiAp
from firmware_sim.card.mynumber import CardOptions
from reader.constants import JpkiFile


class PhoneJpkiAp(JpkiAp):
    """The JPKI applet of a phone: the auth certificate behind the auth PIN."""

    def __init__(self, image: CardImage, *, keep_security_on_reselect: bool = True) -> None:
        super().__init__(image, keep_security_on_reselect=keep_security_on_reselect)
        cert = self.files.get(JpkiFile.AUTH_CERT)
        if isinstance(cert, DataEf):
            self.files[JpkiFile.AUTH_CERT] = DataEf(cert.fid, cert.content, frozenset({"auth"}))


class AndroidPhone(CardOS):
    """A virtual Android phone over one phone image (PIN counters are written back to it)."""

    form = "android"

    def __init__(self, image: CardImage, options: CardOptions | None = None) -> None:
        options = options or CardOptions()
        self.image = image
        self.jpki = PhoneJpkiAp(image, keep_security_on_reselect=options.keep_security_on_reselect)
        super().__init__(
            image.atr, [self.jpki], timing=options.timing, fail_first_apdu=options.fail_first_apdu
        )
