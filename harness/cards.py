"""The harness's card office: virtual My Number cards for the mock center's residents, valid at the
simulated kiosk's clock rather than at the wall calendar.

The center's card office (``mock_relay.cli.cards``) dates a card from today; a simulated kiosk may run at
any injected moment (a leap day two years ahead, a closure day in the past), so here a card's
user-authentication certificate starts the day before that moment (an ``expired`` one ended the day
before it). Everything else is the center's: its JPKI test PKI, its holder data, its serial → resident
binding, its revocation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from firmware_sim.card.image import CardImage
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from mock_relay.cli.cards import holder_for, revoke_card
from mock_relay.jpki_check import cert_serial_hash
from mock_relay.registry.store import Registry

VARIANTS: dict[str, str] = {
    "normal": "normal",
    "expired": "expired",
    "revoked": "revoked",
    "pin_locked": "PIN locked",
}
MIN_AGE_FOR_SIGNING = 15  # under-15s get no signature certificate, as on real cards
EXPIRED_SPAN = timedelta(days=5 * 365)


class CardOfficeError(ValueError):
    """No card can be issued: unknown resident or variant, or the center's data cannot be used."""


def setup_variant(setup: dict[str, Any]) -> str:
    """The variant a SimKiosk ``setup`` gives its first card (its pin_locked, revoked, expired keys)."""
    for key in ("pin_locked", "revoked", "expired"):
        if setup.get(key):
            return key
    return "normal"


def lock_auth_pin(card: Path, pin: str) -> None:
    """Use up the card's auth PIN tries with a wrong PIN: a card that arrives at the kiosk locked.
    Raises CardImageError for a file that is not a card image."""
    image = CardImage.load(card)
    wrong = b"0000" if pin != "0000" else b"9999"
    while image.tries_left("auth") > 0:
        image.verify_pin("auth", wrong)


def issue_card_at(
    data: Path,
    resident_id: str,
    out: Path,
    *,
    at: datetime,
    pin: str = "1234",
    variant: str = "normal",
    form: str = "card",
) -> Path:
    """Issue ``resident_id``'s card (or smartphone: ``form`` android / iphone) of ``variant`` (see VARIANTS)
    into ``out`` from the center data in ``data``, valid at ``at`` (expired at ``at`` for ``expired``);
    returns ``out``. A half-written image is removed. Raises CardOfficeError (one line)."""
    if variant not in VARIANTS:
        raise CardOfficeError(f"unknown card variant {variant!r} (one of {', '.join(VARIANTS)})")
    if at.tzinfo is None:
        raise CardOfficeError("the card office needs an aware time")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _personalise(data, resident_id, out, at, pin, expired=variant == "expired", form=form)
        if variant == "revoked":
            revoke_card(data, out, "key_compromise")
        if variant == "pin_locked":
            lock_auth_pin(out, pin)
    except CardOfficeError:
        out.unlink(missing_ok=True)
        raise
    except Exception as exc:  # PkiError, CardImageError, sqlite3.Error, OSError, ValueError: one line
        out.unlink(missing_ok=True)
        raise CardOfficeError(f"could not issue the card of {resident_id}: {exc}") from exc
    return out


def _personalise(
    data: Path, resident_id: str, out: Path, at: datetime, pin: str, *, expired: bool, form: str
) -> None:
    registry = Registry(data / "registry.sqlite", clock=lambda: at)
    try:
        resident = registry.resident(resident_id)
        if resident is None:
            raise CardOfficeError(f"no resident {resident_id!r} in the center's register")
        day_before = at - timedelta(days=1)
        card = personalise_card(
            out,
            pki=TestPki.open(data / "jpki"),
            holder=holder_for(resident),
            auth_pin=pin,
            not_before=day_before - EXPIRED_SPAN if expired else day_before,
            not_after=day_before if expired else None,
            with_sign_cert=resident.age_on(at.date()) >= MIN_AGE_FOR_SIGNING,
            issued_by="mock-relay",
            form=form,
        )
        serial_hash = cert_serial_hash(card.auth_cert.serial_number)
        registry.bind_card(resident_id, serial_hash, card.auth_serial_hex, form=form)
    finally:
        registry.close()
