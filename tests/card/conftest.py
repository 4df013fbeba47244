"""Fixtures for the virtual-card tests (building blocks in card_helpers)."""

from card_helpers import card, certs, image_path, keys, template_image

__all__ = ["card", "certs", "image_path", "keys", "template_image"]
