"""File-level helpers of the test PKI directory: durable writes, private keys at 0600, a lock file."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.durable import write_durably


class PkiError(Exception):
    """The PKI directory is missing, corrupt, foreign, or cannot do what was asked."""


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (a test artefact; the file itself is 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """Store a private key as PKCS#8 PEM, mode 0600. Raises OSError."""
    write_durably(path, key_pem(key), mode=0o600)


def read_key(path: Path) -> rsa.RSAPrivateKey:
    """Load an RSA private key. Raises PkiError if missing, unreadable or not RSA."""
    try:
        # Our own keys, in our own 0600 directory: skip the costly RSA consistency check (~45 ms
        # per key); callers pair-check every key against its certificate instead.
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (OSError, ValueError, TypeError) as exc:
        raise PkiError(f"{path}: cannot load private key ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PkiError(f"{path}: not an RSA private key")
    return key


def read_cert(path: Path) -> x509.Certificate:
    """Load one PEM certificate. Raises PkiError if missing or unreadable."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError, x509.InvalidVersion) as exc:
        raise PkiError(f"{path}: cannot load certificate ({exc.__class__.__name__}: {exc})") from exc


def check_pair(cert: x509.Certificate, key: rsa.RSAPrivateKey, where: str) -> None:
    """Raise PkiError unless ``key`` is the private half of ``cert``'s public key."""
    if cert.public_key() != key.public_key():
        raise PkiError(f"{where}: certificate and private key do not match")


@contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Exclusive cross-process lock on ``directory/.lock`` (creation, rollover, responder issuance)."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
