"""Shared test helpers for every test directory (keep this small)."""

from __future__ import annotations

from reader.apdu import h

__all__ = ["h"]
