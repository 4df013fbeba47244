"""Certificate profiles of the JPKI **test** hierarchy, mirroring docs/card.md §7.1/§7.2.

Pure builders: each function takes keys, names and times and returns a signed certificate.
Storage, generations and revocation live in :mod:`firmware_sim.pki.hierarchy`.

Choices where the sources are unverified ([U]; docs/card.md §10):
- auth certificate policy: the production OID ``1.2.392.200149.8.5.1.3.30`` (auth class30). No
  test variant is published and inventing one would be worse; the test hierarchy is recognisable
  by ``O=JPKI-TEST`` in the issuer. The sign certificate uses the published test OID ``…1.0.20``.
- certificatePolicies is non-critical (criticality unknown; RFC 5280 recommends non-critical).
- end-entity CRL DP: a directoryName like the CA's, partitioned for the sign CA by prefecture and
  city (the only public example does so); no AIA/OCSP URL (none has been seen in real certificates).
- end-entity subject RDN order in DER: ``C=JP`` first, then ``L=``…, then ``CN=``; so
  ``rfc4514_string()`` prints ``CN=<id>,C=JP``.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from firmware_sim.holder import Holder, jpki_birth_date

Kind = Literal["auth", "sign"]
KINDS: tuple[Kind, Kind] = ("auth", "sign")

TEST_ORGANIZATION = "JPKI-TEST"
JLIS_OU = "Japan Agency for Local Authority Information Systems"
CA_OU: dict[Kind, str] = {"auth": "JPKI for user authentication", "sign": "JPKI for digital signature"}
CA_SAN_OU: dict[Kind, str] = {
    "auth": "公的個人認証サービス利用者証明用",
    "sign": "公的個人認証サービス署名用",
}
JPKI_SERVICE_JA = "公的個人認証サービス"
JLIS_JA = "地方公共団体情報システム機構"

AUTH_POLICY_OID = ObjectIdentifier("1.2.392.200149.8.5.1.3.30")
SIGN_TEST_POLICY_OID = ObjectIdentifier("1.2.392.200149.8.5.1.0.20")


class HolderOid:
    """SubjectAltName otherName type ids of the sign certificate (docs/card.md §7.2)."""

    NAME = ObjectIdentifier("1.2.392.200149.8.5.5.1")
    NAME_ALT_CHARS = ObjectIdentifier("1.2.392.200149.8.5.5.2")
    SEX = ObjectIdentifier("1.2.392.200149.8.5.5.3")
    BIRTH_DATE = ObjectIdentifier("1.2.392.200149.8.5.5.4")
    ADDRESS = ObjectIdentifier("1.2.392.200149.8.5.5.5")
    ADDRESS_ALT_CHARS = ObjectIdentifier("1.2.392.200149.8.5.5.6")


_ID_ALPHABET = string.ascii_uppercase + string.digits


def ca_name(kind: Kind) -> x509.Name:
    """``C=JP, O=JPKI-TEST, OU=JPKI for …, OU=Japan Agency for Local Authority Information Systems``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_OU[kind]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, JLIS_OU),
        ]
    )


def _ca_alt_name(kind: Kind) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, JPKI_SERVICE_JA),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_SAN_OU[kind]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, JLIS_JA),
        ]
    )


def issuer_alt_name() -> x509.Name:
    """End-entity IssuerAltName directoryName ``C=JP, O=公的個人認証サービス``."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, JPKI_SERVICE_JA),
        ]
    )


def opaque_id(municipality_code: str | None = None) -> str:
    """An opaque subject CN like the real ones (``997794E9AGCIEG13221003A``): 23 upper-case alnum.

    With a municipality code, its first five digits sit at positions 14–18 as on the test card seen.
    """
    head = "".join(secrets.choice(_ID_ALPHABET) for _ in range(14))
    middle = (
        municipality_code[:5]
        if municipality_code
        else "".join(secrets.choice(string.digits) for _ in range(5))
    )
    tail = "".join(secrets.choice(string.digits) for _ in range(3)) + secrets.choice(string.ascii_uppercase)
    return head + middle + tail


def _crl_dp(name: x509.Name) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.DirectoryName(name)], relative_name=None, reasons=None, crl_issuer=None
    )
    return x509.CRLDistributionPoints([point])


def build_ca_certificate(
    kind: Kind, key: rsa.RSAPrivateKey, *, serial: int, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    """A self-signed test CA with the real extension order (docs/card.md §7.1).

    Raises ValueError from cryptography for inconsistent input (e.g. notAfter before notBefore).
    """
    name = ca_name(kind)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(_ca_alt_name(kind))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_crl_dp(name), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def _end_entity(
    issuer: x509.Certificate,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    if not_after <= not_before:
        raise ValueError(f"not_after ({not_after}) must be after not_before ({not_before})")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _policies(oid: ObjectIdentifier) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None)])


def _digital_signature(*, non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(True, non_repudiation, False, False, False, False, False, False, False)


def build_auth_certificate(
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    *,
    cn: str,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """利用者証明用電子証明書: subject ``C=JP, CN=<id>``, KU digitalSignature (critical).

    Raises ValueError when not_after is not after not_before.
    """
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    crl_name = x509.Name(
        [*issuer.subject, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CRL Distribution Points")]
    )
    builder = (
        _end_entity(issuer, subject, public_key, not_before, not_after)
        .add_extension(_digital_signature(non_repudiation=False), critical=True)
        .add_extension(_policies(AUTH_POLICY_OID), critical=False)
        .add_extension(x509.IssuerAlternativeName([x509.DirectoryName(issuer_alt_name())]), critical=False)
        .add_extension(_crl_dp(crl_name), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def der_utf8_string(text: str) -> bytes:
    """DER UTF8String (tag 0C) of ``text`` — the value inside each otherName."""
    body = text.encode("utf-8")
    return b"\x0c" + der_length(len(body)) + body


def der_length(length: int) -> bytes:
    """DER definite length octets. Raises ValueError for a negative length."""
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def holder_alt_names(holder: Holder) -> list[x509.GeneralName]:
    """The sign certificate's otherNames in the real order: name, birth, sex, address, alt-char maps."""
    values = (
        (HolderOid.NAME, holder.name),
        (HolderOid.BIRTH_DATE, jpki_birth_date(holder.birth_date)),
        (HolderOid.SEX, holder.sex.certificate_code),
        (HolderOid.ADDRESS, holder.address),
        # 代替文字の使用位置: one '0'/'1' per character; the simulator never substitutes characters.
        (HolderOid.NAME_ALT_CHARS, "0" * len(holder.name)),
        (HolderOid.ADDRESS_ALT_CHARS, "0" * len(holder.address)),
    )
    return [x509.OtherName(oid, der_utf8_string(value)) for oid, value in values]


def build_sign_certificate(
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    *,
    holder: Holder,
    cn: str,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """署名用電子証明書: subject ``C=JP, L=<prefecture>, L=<city>, CN=<id>``, KU digitalSignature +
    nonRepudiation (critical), SAN with the 基本4情報.

    Raises ValueError for an invalid holder or when not_after is not after not_before.
    """
    holder.validate()
    prefecture, city = holder.locality
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, prefecture),
            x509.NameAttribute(NameOID.LOCALITY_NAME, city),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    crl_name = x509.Name(
        [
            *issuer.subject,
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CRL Distribution Points"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, prefecture),
            x509.NameAttribute(NameOID.COMMON_NAME, city),
        ]
    )
    builder = (
        _end_entity(issuer, subject, public_key, not_before, not_after)
        .add_extension(_digital_signature(non_repudiation=True), critical=True)
        .add_extension(_policies(SIGN_TEST_POLICY_OID), critical=False)
        .add_extension(x509.SubjectAlternativeName(holder_alt_names(holder)), critical=False)
        .add_extension(x509.IssuerAlternativeName([x509.DirectoryName(issuer_alt_name())]), critical=False)
        .add_extension(_crl_dp(crl_name), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def build_ocsp_responder_certificate(
    kind: Kind,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    *,
    now: datetime,
    lifetime: timedelta,
) -> x509.Certificate:
    """A delegated OCSP responder: EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2).

    Its validity never outlasts the issuing CA. Raises ValueError if the CA has already expired.
    """
    subject = x509.Name(
        [*issuer.subject, x509.NameAttribute(NameOID.COMMON_NAME, f"OCSP Responder ({kind})")]
    )
    not_after = min(now + lifetime, issuer.not_valid_after_utc)
    builder = (
        _end_entity(issuer, subject, public_key, now - timedelta(hours=1), not_after)
        .add_extension(_digital_signature(non_repudiation=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())
