"""The registry: every target by name, and the module that defines it (imported only when needed, so
that the worker instruments the product's modules as they are first imported)."""

from __future__ import annotations

from importlib import import_module

from fuzz.core import Target

MODULES = {
    "apdu": "fuzz.card",
    "ber": "fuzz.card",
    "card_answers": "fuzz.card",
    "card_os": "fuzz.card",
    "pn532": "fuzz.devices",
    "cctalk": "fuzz.devices",
    "ipp": "fuzz.devices",
    "relay_answers": "fuzz.center",
    "pdf_pages": "fuzz.center",
    "center_requests": "fuzz.center",
    "kiosk_config": "fuzz.files",
    "scenario": "fuzz.files",
}
NAMES = tuple(MODULES)


def target(name: str) -> Target:
    """The target called ``name``. Raises KeyError for an unknown name."""
    module = import_module(MODULES[name])
    found: list[Target] = [t for t in module.TARGETS if t.name == name]
    if not found:
        raise KeyError(name)
    return found[0]
