"""The iPhone holding the My Number card (iOS 18.5+, from 2025-06-24). EVERY APDU-level behaviour here is
an ASSUMPTION [unconfirmed]: the profile is not published. Keep them in this one module and in
docs/card.md §11.2, and correct both together when facts appear.

Known [likely, news reports]: the resident unlocks the card in the phone with Face ID / Touch ID, then
holds the phone to the reader; no PIN is typed at the kiosk; the kiosk reads it at Seven-Eleven,
FamilyMart, Lawson and Ministop.

Assumed [unconfirmed]:

A1. Token label ``JPKIAPIOSTOKEN`` in EF ``0006`` (named by one public client only).
A2. The same JPKI AID and files as the card, without the 券面 APs and without the signature key pair
    at the kiosk (only the user-authentication certificate is ever used there).
A3. Biometrics stand for the auth PIN: after the holder unlocks, the applet's auth PIN is *verified*
    for this presentation (until the phone leaves the field). A status query (VERIFY ``0018`` with no
    data) then answers ``90 00``; before the unlock (not unlocked, or biometrics refused) it answers
    ``69 82`` and so do READ BINARY of ``000A`` and COMPUTE DIGITAL SIGNATURE.
A4. A PIN sent from the reader (VERIFY ``0018`` with data) is refused with ``69 85`` (conditions not
    satisfied) and counts nothing: the PIN is entered on the phone only.
A5. When the phone's auth PIN is locked (too many wrong entries on the phone), the status query answers
    ``69 84`` whatever the biometrics said.
Not modelled: ``80 FC 00 00`` ("last command indicator"), which MCARD attributes to the iPhone token; the
kiosk never sends it, and its answer on the phone is not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.card.cardos import CardOS, CardStatus, Reply
from firmware_sim.card.filesystem import DataEf
from firmware_sim.card.image import CardImage
from firmware_sim.card.jpki_ap import JpkiAp
from firmware_sim.card.mynumber import CardOptions
from reader.apdu import CommandApdu
from reader.constants import SW, Ins, JpkiFile

AUTH = "auth"


@dataclass
class Unlock:
    """What the holder did on the phone before holding it to the reader (A3)."""

    unlocked: bool = True  # Face ID / Touch ID accepted
    biometrics_refused: bool = False  # the phone refused the face or finger: stays locked


UNLOCK_WORDS = ("face_id", "none", "refused")


def unlock_from_word(word: str) -> Unlock:
    """``face_id`` (unlocked), ``none`` (not unlocked), ``refused`` (biometrics refused) as an Unlock.
    Raises ValueError for another word."""
    if word not in UNLOCK_WORDS:
        raise ValueError(f"unlock must be one of {', '.join(UNLOCK_WORDS)}, not {word!r}")
    return Unlock(unlocked=word != "none", biometrics_refused=word == "refused")


class IPhoneJpkiAp(JpkiAp):
    """The iPhone's JPKI applet under assumptions A2–A5."""

    def __init__(self, image: CardImage, unlock: Unlock, *, keep_security_on_reselect: bool = True) -> None:
        super().__init__(image, keep_security_on_reselect=keep_security_on_reselect)
        self.unlock = unlock
        cert = self.files.get(JpkiFile.AUTH_CERT)
        if isinstance(cert, DataEf):
            self.files[JpkiFile.AUTH_CERT] = DataEf(cert.fid, cert.content, frozenset({AUTH}))
        self.add_handler(Ins.VERIFY, self._verify_on_phone)
        self._grant()

    def _unlocked(self) -> bool:
        return self.unlock.unlocked and not self.unlock.biometrics_refused

    def _grant(self) -> None:
        """The biometric unlock verifies the auth PIN for this presentation (A3), unless locked (A5)."""
        if self._unlocked() and self.image.tries_left(AUTH) > 0:
            self.verified.add(AUTH)

    def on_select(self) -> None:
        super().on_select()
        self._grant()

    def clear_security(self) -> None:
        super().clear_security()
        self._grant()

    def _verify_on_phone(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 != 0:
            raise CardStatus(SW.WRONG_P1P2)
        pin = self.pin_for_p2(cmd.p2)
        if cmd.data:
            raise CardStatus(SW.CONDITIONS_NOT_SATISFIED, "the PIN is entered on the phone (A4)")
        if self.image.tries_left(pin.pin) == 0:
            raise CardStatus(SW.AUTH_METHOD_BLOCKED)
        if pin.pin not in self.verified:
            raise CardStatus(SW.SECURITY_STATUS_NOT_SATISFIED, "not unlocked on the phone (A3)")
        return Reply()


class IPhone(CardOS):
    """A virtual iPhone over one phone image; ``unlock`` is what its holder did before holding it out."""

    form = "iphone"

    def __init__(
        self, image: CardImage, options: CardOptions | None = None, unlock: Unlock | None = None
    ) -> None:
        options = options or CardOptions()
        self.image = image
        self.unlock = unlock or Unlock()
        keep = options.keep_security_on_reselect
        self.jpki = IPhoneJpkiAp(image, self.unlock, keep_security_on_reselect=keep)
        super().__init__(
            image.atr, [self.jpki], timing=options.timing, fail_first_apdu=options.fail_first_apdu
        )
