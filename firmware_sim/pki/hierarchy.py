"""The JPKI **test** hierarchy: CAs of several generations, end-entity issuance, OCSP responders,
the 券面AP signing key and durable revocation — all in one directory (docs/card.md §7).

Directory layout (created on first use, loaded afterwards)::

    pki.json                      manifest: format marker, version, generation counts
    auth-ca-<n>.crt.pem / .key.pem    user-authentication CA, generation n (1 = oldest); keys 0600
    sign-ca-<n>.crt.pem / .key.pem    signature CA
    auth-ca-bundle.pem, sign-ca-bundle.pem   every generation, for relying parties' trust stores
    ocsp-<kind>-<n>.crt.pem / .key.pem       delegated OCSP responder of CA generation n
    kenmen-signing.key.pem / .pub.pem        券面事項入力補助AP integrity-record signing key
    cv-ca-<key number>.key.pem        券面 APs' card-verifiable-certificate CA keys (created on first use)
    revocation.sqlite             revoked and issued serials (WAL, synchronous=FULL)
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.durable import write_durably
from firmware_sim.holder import Holder
from firmware_sim.pki.profile import (
    KINDS,
    Kind,
    build_auth_certificate,
    build_ca_certificate,
    build_ocsp_responder_certificate,
    build_sign_certificate,
    opaque_id,
)
from firmware_sim.pki.revocation import IssuedEntry, RevocationEntry, RevocationStore
from firmware_sim.pki.store import (
    PkiError,
    cert_pem,
    check_pair,
    directory_lock,
    read_cert,
    read_key,
    write_key,
)

__all__ = ["KeyFactory", "PkiError", "RevocationEntry", "TestPki", "foreign_pki", "new_rsa_key"]

log = logging.getLogger(__name__)

FORMAT = "myna-kiosk-jpki-test-pki"
VERSION = 1
MANIFEST = "pki.json"
CA_YEARS = 10
OLDER_GENERATION_AGE_YEARS = 6
OCSP_RESPONDER_LIFETIME = timedelta(days=365)
_JST_MIDNIGHT_UTC = time(15, 0, tzinfo=UTC)  # 00:00 JST; CA notAfter is 14:59:59Z = 23:59:59 JST

KeyFactory = Callable[[], rsa.RSAPrivateKey]


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key, e = 65537 (what every JPKI key is)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def ca_validity(first_day: datetime) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of a CA starting on ``first_day`` (JST): 10 years, ending 23:59:59 JST."""
    start = datetime.combine(first_day.date() - timedelta(days=1), _JST_MIDNIGHT_UTC)
    return start, _years_later(start, CA_YEARS) - timedelta(seconds=1)


class TestPki:
    """A directory-backed JPKI test PKI. Thread-safe; use :meth:`open`, not the constructor."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, directory: Path, key_factory: KeyFactory) -> None:
        self.directory = directory
        self._key_factory = key_factory
        self._lock = threading.RLock()
        # delegated OCSP responders by (kind, CA index): read from disk once, not for every response
        self._responders: dict[tuple[str, int], tuple[x509.Certificate, rsa.RSAPrivateKey]] = {}
        self._cas: dict[Kind, list[tuple[x509.Certificate, rsa.RSAPrivateKey]]] = {k: [] for k in KINDS}
        self._revocations = RevocationStore(directory / "revocation.sqlite")

    # --- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, *, create: bool = True, key_factory: KeyFactory | None = None) -> TestPki:
        """Load the PKI in ``directory``, creating it (two generations per CA) if it does not exist.

        Raises PkiError when the directory is missing and create is False, when it holds files but is
        not a test PKI (foreign), or when the manifest or any CA file is corrupt.
        """
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.exists():
            if not create:
                raise PkiError(f"{directory}: no test PKI here (no {MANIFEST}); create it first")
            try:
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise PkiError(f"{directory}: cannot create PKI directory ({exc.strerror or exc})") from exc
        if not directory.is_dir():
            raise PkiError(f"{directory}: not a directory")
        with directory_lock(directory):
            if not manifest_path.exists():
                strangers = [p.name for p in directory.iterdir() if p.name != ".lock"]
                if strangers:
                    found = ", ".join(sorted(strangers)[:3])
                    raise PkiError(
                        f"{directory}: not a myna-kiosk test PKI (no {MANIFEST}, but holds {found}); "
                        "if an earlier creation was interrupted, remove the directory"
                    )
                pki = cls(directory, key_factory or new_rsa_key)
                pki._create()
                return pki
            pki = cls(directory, key_factory or new_rsa_key)
            pki._load()
            return pki

    def _read_manifest(self) -> dict[str, Any]:
        path = self.directory / MANIFEST
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PkiError(f"{path}: corrupt manifest ({exc.__class__.__name__}: {exc})") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise PkiError(f"{path}: not a myna-kiosk test PKI manifest")
        if document.get("version") != VERSION:
            raise PkiError(f"{path}: PKI version {document.get('version')!r} is not supported")
        generations = document.get("generations")
        if not isinstance(generations, dict) or not all(
            isinstance(generations.get(kind), int) and generations[kind] >= 1 for kind in KINDS
        ):
            raise PkiError(f"{path}: corrupt manifest (bad generation counts)")
        return document

    def _write_manifest(self) -> None:
        document = {
            "format": FORMAT,
            "version": VERSION,
            "generations": {kind: len(self._cas[kind]) for kind in KINDS},
        }
        write_durably(self.directory / MANIFEST, json.dumps(document, indent=2).encode("utf-8"))

    def _ca_paths(self, kind: Kind, number: int) -> tuple[Path, Path]:
        stem = self.directory / f"{kind}-ca-{number}"
        return stem.with_name(stem.name + ".crt.pem"), stem.with_name(stem.name + ".key.pem")

    def _load(self) -> None:
        document = self._read_manifest()
        for kind in KINDS:
            for number in range(1, document["generations"][kind] + 1):
                cert_path, key_path = self._ca_paths(kind, number)
                cert, key = read_cert(cert_path), read_key(key_path)
                check_pair(cert, key, str(cert_path))
                self._cas[kind].append((cert, key))
        read_key(self._kenmen_key_path())
        log.debug("loaded test PKI %s (%s)", self.directory, document["generations"])

    def _reload_locked(self) -> None:
        self._cas = {k: [] for k in KINDS}
        self._load()

    def reload(self) -> None:
        """Re-read the directory (e.g. after another process rolled the CAs over). Raises PkiError."""
        with self._lock, directory_lock(self.directory):
            self._reload_locked()

    def _create(self) -> None:
        now = datetime.now(UTC)
        older = _years_later(now, -OLDER_GENERATION_AGE_YEARS)
        for kind in KINDS:
            self._add_generation(kind, older)
            self._add_generation(kind, now)
        kenmen = self._key_factory()
        write_key(self._kenmen_key_path(), kenmen)
        public = kenmen.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_durably(self.directory / "kenmen-signing.pub.pem", public)
        self._write_manifest()  # last: a crash before this leaves a directory open() refuses to guess about
        log.info("created test PKI in %s", self.directory)

    def _add_generation(self, kind: Kind, first_day: datetime) -> None:
        key = self._key_factory()
        not_before, not_after = ca_validity(first_day)
        serial = secrets.randbits(31) | 0x01000000  # 4 DER bytes, like the real CAs' serials
        cert = build_ca_certificate(kind, key, serial=serial, not_before=not_before, not_after=not_after)
        number = len(self._cas[kind]) + 1
        cert_path, key_path = self._ca_paths(kind, number)
        write_key(key_path, key)
        write_durably(cert_path, cert_pem(cert))
        self._cas[kind].append((cert, key))
        bundle = b"".join(cert_pem(c) for c, _ in self._cas[kind])
        write_durably(self.directory / f"{kind}-ca-bundle.pem", bundle)

    def _kenmen_key_path(self) -> Path:
        return self.directory / "kenmen-signing.key.pem"

    # --- CAs ------------------------------------------------------------------------------------------
    def ca_certs(self, kind: Kind) -> tuple[x509.Certificate, ...]:
        """Every generation of one CA, oldest first. Raises ValueError for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"kind must be 'auth' or 'sign', got {kind!r}")
        with self._lock:
            return tuple(cert for cert, _ in self._cas[kind])

    @property
    def auth_ca_certs(self) -> tuple[x509.Certificate, ...]:
        """User-authentication CA certificates, oldest generation first."""
        return self.ca_certs("auth")

    @property
    def sign_ca_certs(self) -> tuple[x509.Certificate, ...]:
        """Signature CA certificates, oldest generation first."""
        return self.ca_certs("sign")

    @property
    def auth_ca_cert(self) -> x509.Certificate:
        """The current user-authentication CA certificate."""
        return self.auth_ca_certs[-1]

    @property
    def sign_ca_cert(self) -> x509.Certificate:
        """The current signature CA certificate."""
        return self.sign_ca_certs[-1]

    def _ca(self, kind: Kind, generation: int) -> tuple[x509.Certificate, rsa.RSAPrivateKey, int]:
        if kind not in KINDS:
            raise ValueError(f"kind must be 'auth' or 'sign', got {kind!r}")
        with self._lock:
            cas = self._cas[kind]
            try:
                cert, key = cas[generation]
            except IndexError:
                raise ValueError(f"no {kind} CA generation {generation} (have {len(cas)})") from None
            return cert, key, generation % len(cas)

    def ca_key(self, kind: Kind, generation: int = -1) -> rsa.RSAPrivateKey:
        """The private key of a CA generation (index into the list; -1 = current). Raises ValueError."""
        return self._ca(kind, generation)[1]

    def rollover(self, kinds: Sequence[Kind] = KINDS) -> None:
        """Add a new current generation to each CA in ``kinds``, valid from today for 10 years.

        Raises ValueError for an unknown kind, OSError if the directory cannot be written.
        """
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"kind must be 'auth' or 'sign', got {kind!r}")
        with self._lock, directory_lock(self.directory):
            self._reload_locked()  # another process may have rolled over since we loaded
            for kind in kinds:
                self._add_generation(kind, datetime.now(UTC))
            self._write_manifest()
        log.info("rolled over %s CA(s) in %s", ",".join(kinds), self.directory)

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The CA certificate (any kind, any generation) whose key signed ``cert``, or None.

        All generations share one DN, so the choice is by signature, not by name.
        """
        with self._lock:
            candidates = [ca for kind in KINDS for ca, _ in reversed(self._cas[kind])]
        for ca in candidates:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return ca
        return None

    # --- end entities ---------------------------------------------------------------------------------
    def issue_auth_certificate(
        self,
        public_key: rsa.RSAPublicKey,
        *,
        not_before: datetime,
        not_after: datetime,
        cn: str | None = None,
        generation: int = -1,
    ) -> x509.Certificate:
        """Issue a 利用者証明用電子証明書 (``CN=<opaque id>, C=JP``) from a CA generation.

        Raises ValueError for a bad generation or a validity that ends before it starts.
        """
        ca, key, index = self._ca("auth", generation)
        cert = build_auth_certificate(
            ca, key, public_key, cn=cn or opaque_id(), not_before=not_before, not_after=not_after
        )
        self._revocations.record_issued(cert, "auth", index)
        log.info("issued auth certificate serial %X (generation %d)", cert.serial_number, index + 1)
        return cert

    def issue_sign_certificate(
        self,
        public_key: rsa.RSAPublicKey,
        holder: Holder,
        *,
        not_before: datetime,
        not_after: datetime,
        cn: str | None = None,
        generation: int = -1,
    ) -> x509.Certificate:
        """Issue a 署名用電子証明書 carrying the holder's 基本4情報.

        Raises ValueError for an invalid holder, a bad generation or an inverted validity.
        """
        ca, key, index = self._ca("sign", generation)
        cert = build_sign_certificate(
            ca,
            key,
            public_key,
            holder=holder,
            cn=cn or opaque_id(holder.municipality_code),
            not_before=not_before,
            not_after=not_after,
        )
        self._revocations.record_issued(cert, "sign", index)
        log.info("issued sign certificate serial %X (generation %d)", cert.serial_number, index + 1)
        return cert

    def issue_ocsp_responder(self, kind: Kind) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """The delegated OCSP responder of the current ``kind`` CA; created once, then reused.

        A new one is made after a rollover or when the stored one has less than a day left.
        Raises ValueError for an unknown kind, PkiError if stored files are corrupt.
        """
        ca, ca_key, index = self._ca(kind, -1)
        stem = self.directory / f"ocsp-{kind}-{index + 1}"
        cert_path, key_path = stem.with_name(stem.name + ".crt.pem"), stem.with_name(stem.name + ".key.pem")
        now = datetime.now(UTC)
        with self._lock:
            known = self._responders.get((kind, index))
            if known is not None and known[0].not_valid_after_utc > now + timedelta(days=1):
                return known
        with self._lock, directory_lock(self.directory):
            if cert_path.exists():
                cert, key = read_cert(cert_path), read_key(key_path)
                check_pair(cert, key, str(cert_path))
                if cert.not_valid_after_utc > now + timedelta(days=1):
                    self._responders[(kind, index)] = (cert, key)
                    return cert, key
            key = self._key_factory()
            cert = build_ocsp_responder_certificate(
                kind, ca, ca_key, key.public_key(), now=now, lifetime=OCSP_RESPONDER_LIFETIME
            )
            write_key(key_path, key)
            write_durably(cert_path, cert_pem(cert))
            self._revocations.record_issued(cert, f"ocsp-{kind}", index)
            self._responders[(kind, index)] = (cert, key)
        return cert, key

    def kenmen_signing_key(self) -> rsa.RSAPrivateKey:
        """The key that signs 券面事項入力補助AP integrity records (public half: kenmen-signing.pub.pem).

        Raises PkiError if the stored key is missing or corrupt.
        """
        return read_key(self._kenmen_key_path())

    def cv_ca_key(self, key_number: str) -> rsa.RSAPrivateKey:
        """The CA key that signs the 券面 APs' card-verifiable certificates under ``key_number``
        (7 digits, e.g. "6000033"), created on first use. Raises ValueError for a bad number,
        PkiError if the stored key is corrupt."""
        if len(key_number) != 7 or not key_number.isdigit():
            raise ValueError(f"key number must be 7 digits, got {key_number!r}")
        path = self.directory / f"cv-ca-{key_number}.key.pem"
        with self._lock, directory_lock(self.directory):
            if not path.exists():
                write_key(path, self._key_factory())
            return read_key(path)

    # --- revocation -----------------------------------------------------------------------------------
    def revoke(
        self,
        serial: int,
        *,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
        when: datetime | None = None,
    ) -> RevocationEntry:
        """Revoke ``serial`` durably; revoking again keeps the first record (which is returned).

        Raises ValueError for a non-positive serial or a naive ``when``.
        """
        entry = self._revocations.revoke(serial, reason, when or datetime.now(UTC))
        log.info("revoked serial %X (%s)", serial, entry.reason.value)
        return entry

    def revocation_status(self, serial: int) -> RevocationEntry | None:
        """The revocation record of ``serial``, or None when it is not revoked."""
        return self._revocations.status(serial)

    def revoked_serials(self) -> frozenset[int]:
        """Every revoked serial number."""
        return self._revocations.revoked_serials()

    def issued(self, serial: int) -> IssuedEntry | None:
        """What this PKI issued under ``serial`` (kind, CA generation, subject), or None if never."""
        return self._revocations.issued(serial)


def foreign_pki(directory: Path, *, key_factory: KeyFactory | None = None) -> TestPki:
    """A look-alike hierarchy: identical DNs and profiles, different keys (for "foreign CA" tests).

    Raises PkiError like :meth:`TestPki.open`.
    """
    return TestPki.open(directory, key_factory=key_factory)
