"""The center's own PKI and TLS contexts.

Two independent roots, both EC P-256, persisted under ``<data>/center/``:
- the **center CA** — the CA kiosks pin. It issues the server certificate (SAN IP 127.0.0.1 + DNS
  localhost, EKU serverAuth) and the document-signing certificate (keyUsage digitalSignature, EKU
  ``DOCUMENT_SIGNING_EKU`` only, docs/center-protocol.md), so a TLS server key can never sign documents;
- the **terminal CA** — issues kiosk client certificates (CN = terminal id, EKU clientAuth). The API
  listener trusts this root only (``CERT_REQUIRED``), so a center-CA or foreign certificate never
  authenticates a terminal.

Keys are written 0600 via temp file + ``os.replace``. Validity spans fixed, wide dates so that an
injected center clock (e.g. a test at 2026-12-31) never makes the center's own certificates invalid.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from firmware_sim.durable import write_durably

DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("2.25.17815800442082450193213709336674062858")
TERMINAL_ID_RE = re.compile(r"^T-[0-9]{4,8}$")
_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER = dt.datetime(2045, 12, 31, 14, 59, 59, tzinfo=dt.UTC)


class CenterPkiError(Exception):
    """The center PKI directory is unusable (unreadable or corrupt files, bad terminal id)."""


@dataclass(frozen=True)
class _Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path


def _name(cn: str, ou: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "myna-kiosk mock center"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject: x509.Name, issuer: x509.Name, public: Any) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _ku(*, sign: bool = False, ca: bool = False, agree: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=agree,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _make_root(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(cn, "root")
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ku(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(
    issuer: _Pair, cn: str, ou: str, eku: list[x509.ObjectIdentifier], san: x509.SubjectAlternativeName | None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        _builder(_name(cn, ou), issuer.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_ku(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    if san is not None:
        b = b.add_extension(san, critical=False)
    return b.sign(issuer.key, hashes.SHA256()), key


def _load_pair(cert_path: Path, key_path: Path) -> _Pair:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, x509.InvalidVersion) as exc:
        raise CenterPkiError(f"cannot load {cert_path.name}/{key_path.name}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CenterPkiError(f"{key_path} is not an EC key")
    return _Pair(cert, key, cert_path, key_path)


class CenterPki:
    """The center CA, terminal CA, server and document-signing certificates under one directory."""

    def __init__(self, directory: Path, center_ca: _Pair, terminal_ca: _Pair, server: _Pair, signer: _Pair):
        self.directory = directory
        self.center_ca = center_ca
        self.terminal_ca = terminal_ca
        self.server = server
        self.signer = signer

    @classmethod
    def open(cls, directory: Path) -> CenterPki:
        """Load the center PKI from ``directory``, creating any missing piece.

        Raises CenterPkiError if existing files are corrupt; OSError if the directory is not writable.
        """
        directory.mkdir(parents=True, exist_ok=True)
        center_ca = cls._ensure_root(directory, "center-ca", "myna-kiosk mock center CA")
        terminal_ca = cls._ensure_root(directory, "terminal-ca", "myna-kiosk terminal CA")
        san = x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        )
        server = cls._ensure_leaf(
            directory, "server", center_ca, "localhost", "server", [ExtendedKeyUsageOID.SERVER_AUTH], san
        )
        signer = cls._ensure_leaf(
            directory,
            "document-signer",
            center_ca,
            "myna-kiosk document signer",
            "documents",
            [DOCUMENT_SIGNING_EKU],
            None,
        )
        return cls(directory, center_ca, terminal_ca, server, signer)

    @staticmethod
    def _ensure_root(directory: Path, stem: str, cn: str) -> _Pair:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        if not cert_path.exists():
            cert, key = _make_root(cn)
            write_durably(key_path, _key_pem(key), mode=0o600)
            write_durably(cert_path, _cert_pem(cert), mode=0o644)
        return _load_pair(cert_path, key_path)

    @staticmethod
    def _ensure_leaf(
        directory: Path,
        stem: str,
        issuer: _Pair,
        cn: str,
        ou: str,
        eku: list[x509.ObjectIdentifier],
        san: x509.SubjectAlternativeName | None,
    ) -> _Pair:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        if not cert_path.exists():
            cert, key = _make_leaf(issuer, cn, ou, eku, san)
            write_durably(key_path, _key_pem(key), mode=0o600)
            write_durably(cert_path, _cert_pem(cert), mode=0o644)
        return _load_pair(cert_path, key_path)

    def signer_pem(self) -> str:
        """The document-signing certificate as PEM text."""
        return _cert_pem(self.signer.cert).decode("ascii")

    def issue_terminal(self, terminal_id: str, out_dir: Path) -> Path:
        """Write ``terminal.pem``, ``terminal.key`` and ``center-ca.pem`` for a kiosk into ``out_dir``.

        Raises CenterPkiError for a terminal id not shaped like ``T-0001``; OSError on write failure.
        """
        if not TERMINAL_ID_RE.match(terminal_id):
            raise CenterPkiError(f"terminal id must look like T-0001, got {terminal_id!r}")
        out_dir.mkdir(parents=True, exist_ok=True)
        cert, key = _make_leaf(
            self.terminal_ca, terminal_id, "terminals", [ExtendedKeyUsageOID.CLIENT_AUTH], None
        )
        write_durably(out_dir / "terminal.key", _key_pem(key), mode=0o600)
        write_durably(out_dir / "terminal.pem", _cert_pem(cert), mode=0o644)
        write_durably(out_dir / "center-ca.pem", _cert_pem(self.center_ca.cert), mode=0o644)
        return out_dir

    def server_context(self, *, require_client_cert: bool) -> ssl.SSLContext:
        """A TLS ≥ 1.2 server context; with ``require_client_cert`` it demands a terminal-CA client cert.
        No TLS 1.2 renegotiation: a connection keeps the client certificate of its handshake, so the
        terminal it names is read once per connection."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.options |= ssl.OP_NO_RENEGOTIATION
        ctx.load_cert_chain(self.server.cert_path, self.server.key_path)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(self.terminal_ca.cert_path))
        return ctx


def terminal_id_of(peercert: Any) -> str | None:
    """The CN of a verified peer certificate as ``ssl.SSLObject.getpeercert()`` returns it, or None."""
    if not isinstance(peercert, dict):
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and isinstance(value, str) and TERMINAL_ID_RE.match(value):
                return value
    return None


def client_context(cert: Path, key: Path, center_ca: Path) -> ssl.SSLContext:
    """A kiosk-side TLS context (for tests and the bench): pins ``center_ca``, presents ``cert``."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(center_ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx
