"""Fixtures for the virtual-card tests (building blocks in card_helpers)."""

from card_helpers import card, certs, child_template, image_path, keys

__all__ = [
    "card",
    "certs",
    "child_template",
    "image_path",
    "keys",
]  # pki_dir, template_image: tests/conftest.py
