"""``sim://<card image>``: the virtual My Number card (or phone, by the image's form) in this process, as
a reader transport.

Registered as the ``myna_kiosk.transports`` entry point ``sim`` (pyproject.toml), so ``reader``
opens it with ``open_transport("sim:///path/card.json")`` without importing firmware_sim.
Query options: ``extended=0`` (a reader without extended-length APDUs), ``fail_first=1`` (the first
APDU after each power-on answers 6F 00), ``keep_on_reselect=0`` (re-SELECT clears verified PINs);
for an iPhone, ``unlock=none`` (the holder did not unlock it) or ``unlock=refused`` (biometrics refused).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from firmware_sim.card.image import CardImageError
from firmware_sim.card.mynumber import CardOptions
from firmware_sim.phone.iphone import unlock_from_word
from firmware_sim.phone.load import open_device
from reader.errors import TransportError
from reader.loopback import LoopbackTransport

_TRUE = {"1", "true", "yes", "on"}


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    return values[-1].lower() in _TRUE


def open_sim_transport(url: str) -> LoopbackTransport:
    """A loopback transport holding the card whose image ``url`` names (``sim://`` + path).

    Raises TransportError when the URL has no path or the image cannot be loaded.
    """
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    if not path:
        raise TransportError(f"{url!r}: expected sim://<path to a card image>")
    query = parse_qs(parts.query)
    options = CardOptions(
        fail_first_apdu=_flag(query, "fail_first", False),
        keep_security_on_reselect=_flag(query, "keep_on_reselect", True),
    )
    try:
        card = open_device(path, options, unlock_from_word(query.get("unlock", ["face_id"])[-1]))
    except (CardImageError, ValueError) as exc:
        raise TransportError(f"virtual card: {exc}") from exc
    return LoopbackTransport(card, name=f"sim:{path}", extended=_flag(query, "extended", True))
