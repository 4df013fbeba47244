"""Helpers for the test-PKI tests (imported by name: conftest modules are not importable by name
when several test folders each have one)."""

from __future__ import annotations

import itertools
import threading

from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.pki.hierarchy import new_rsa_key

POOL_SIZE = 12


class KeyPool:
    """A thread-safe cycling key factory over pre-generated keys."""

    def __init__(self, size: int) -> None:
        self.keys = [new_rsa_key() for _ in range(size)]
        self._cycle = itertools.cycle(self.keys)
        self._lock = threading.Lock()

    def __call__(self) -> rsa.RSAPrivateKey:
        with self._lock:
            return next(self._cycle)
