"""Virtual cards for registry residents (``mock-relay card new`` / ``revoke``), usable from tests too.

A card is personalised by ``firmware_sim.personalise`` from the center's own JPKI test PKI
(``<data>/jpki``), and its user-authentication certificate is bound to the resident in the registry by
certificate-serial hash — the center's serial → resident mapping (docs/service.md §7).
Under-15s get no signature certificate, as on real cards (docs/card.md §7.3).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from firmware_sim.card.generation import DEFAULT_GENERATION
from firmware_sim.card.image import CardImage
from firmware_sim.holder import Holder, Sex
from firmware_sim.personalise import PersonalisedCard, personalise_card
from firmware_sim.pki.hierarchy import KeyFactory, TestPki
from mock_relay.jpki_check import cert_serial_hash
from mock_relay.model import JST, Resident
from mock_relay.private import owner_only_dir
from mock_relay.registry.store import Registry
from reader.constants import CardGeneration

_SEX = {"男": Sex.MALE, "女": Sex.FEMALE}
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}


def _katakana(text: str) -> str:
    """The register keeps ふりがな in hiragana; the card's フリガナ is katakana, its words joined with ・
    as the name's are (the register writes a foreign given name's reading with an ideographic space)."""
    return "\u30fb".join(text.translate(_HIRAGANA_TO_KATAKANA).split())


def _one_word(text: str) -> str:
    """Card names carry no spaces (foreign given names like "EMILY ROSE" are joined with ・)."""
    return "\u30fb".join(text.split())


def holder_for(resident: Resident) -> Holder:
    """The card holder data of a registry resident."""
    return Holder(
        family_name=_one_word(resident.family_name),
        given_name=_one_word(resident.given_name),
        family_kana=_katakana(resident.family_kana),
        given_kana=_katakana(resident.given_kana),
        address=resident.address,
        birth_date=resident.birth,
        sex=_SEX.get(resident.sex, Sex.NOT_APPLICABLE),
        my_number=resident.my_number,
        municipality_code=resident.municipality_code,
        foreign_national=resident.foreign is not None,
    )


def personalise_for(
    pki: TestPki,
    registry: Registry,
    resident_id: str,
    out: Path,
    *,
    auth_pin: str = "1234",
    sign_pin: str = "ABC123",
    expired: bool = False,
    generation: CardGeneration | str = DEFAULT_GENERATION,
    key_factory: KeyFactory | None = None,
    form: str = "card",
) -> PersonalisedCard:
    """Personalise a card image of ``generation`` for ``resident_id`` and bind its auth certificate in
    ``registry``.

    Raises KeyError for an unknown resident; ValueError for bad PINs, an unknown generation or holder
    data; PkiError,
    CardImageError or OSError from personalisation.
    """
    resident = registry.resident(resident_id)
    if resident is None:
        raise KeyError(f"no resident {resident_id!r} (see `mock-relay residents`)")
    under_15 = resident.age_on(datetime.now(JST).date()) < 15
    card = personalise_card(
        out,
        pki=pki,
        holder=holder_for(resident),
        auth_pin=auth_pin,
        sign_pin=sign_pin,
        expired=expired,
        with_sign_cert=not under_15,
        generation=generation,
        issued_by="mock-relay",
        key_factory=key_factory,
        form=form,
    )
    registry.bind_card(
        resident_id, cert_serial_hash(card.auth_cert.serial_number), card.auth_serial_hex, form=form
    )
    return card


def issue_card(
    data: Path,
    resident_id: str,
    out: Path,
    *,
    auth_pin: str = "1234",
    sign_pin: str = "ABC123",
    expired: bool = False,
    generation: CardGeneration | str = DEFAULT_GENERATION,
    form: str = "card",
) -> dict[str, Any]:
    """``mock-relay card new``: as :func:`personalise_for` on the data directory (``form`` card, android or
    iphone); returns a JSON summary."""
    owner_only_dir(data)
    pki = TestPki.open(data / "jpki")
    registry = Registry(data / "registry.sqlite")
    try:
        card = personalise_for(
            pki,
            registry,
            resident_id,
            out,
            auth_pin=auth_pin,
            sign_pin=sign_pin,
            expired=expired,
            generation=generation,
            form=form,
        )
    finally:
        registry.close()
    return {
        "card": str(out),
        "form": form,
        "resident_id": resident_id,
        "auth_serial": card.auth_serial_hex,
        "cert_serial_hash": cert_serial_hash(card.auth_cert.serial_number),
        "sign_cert": card.sign_cert is not None,
        "generation": card.generation.value,
        "not_after": card.auth_cert.not_valid_after_utc.isoformat(),
    }


def revoke_card(data: Path, card_path: Path, reason: str = "unspecified") -> dict[str, Any]:
    """``mock-relay revoke``: revoke the card's user-authentication certificate in the PKI.

    Raises CardImageError for a file that is not a card image; ValueError for an unknown reason.
    """
    image = CardImage.load(card_path)
    serial_hex = image.meta.get("auth_cert_serial")
    if not serial_hex:
        raise ValueError(f"{card_path}: the card image names no auth certificate serial")
    try:
        flag = x509.ReasonFlags[reason]
    except KeyError:
        raise ValueError(f"unknown revocation reason {reason!r}") from None
    entry = TestPki.open(data / "jpki").revoke(int(serial_hex, 16), reason=flag)
    return {"serial": serial_hex, "revoked_at": entry.revoked_at.isoformat(), "reason": entry.reason.value}
