"""Certificate profiles against docs/card.md §7.1/§7.2, field by field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, ObjectIdentifier
from pki_helpers import KeyPool

from firmware_sim.holder import Sex, demo_holder
from firmware_sim.pki.hierarchy import TestPki
from firmware_sim.pki.profile import AUTH_POLICY_OID, SIGN_TEST_POLICY_OID, HolderOid, opaque_id

NOW = datetime.now(UTC).replace(microsecond=0)
SHA256_RSA = ObjectIdentifier("1.2.840.113549.1.1.11")


def _rdns(name: x509.Name) -> list[tuple[str, str, str]]:
    """(dotted OID, ASN.1 string type, value) per RDN, in DER order."""
    out = []
    for rdn in name.rdns:
        (attr,) = list(rdn)
        out.append((attr.oid.dotted_string, attr._type.name, str(attr.value)))
    return out


def _extension_layout(cert: x509.Certificate) -> list[tuple[ObjectIdentifier, bool]]:
    return [(ext.oid, ext.critical) for ext in cert.extensions]


@pytest.mark.parametrize(
    ("kind", "ou", "san_ou"),
    [
        ("auth", "JPKI for user authentication", "公的個人認証サービス利用者証明用"),
        ("sign", "JPKI for digital signature", "公的個人認証サービス署名用"),
    ],
)
def test_ca_certificate_profile(session_pki: TestPki, kind: str, ou: str, san_ou: str) -> None:
    for ca in session_pki.ca_certs(kind):  # type: ignore[arg-type]
        assert _rdns(ca.subject) == [
            ("2.5.4.6", "PrintableString", "JP"),
            ("2.5.4.10", "UTF8String", "JPKI-TEST"),
            ("2.5.4.11", "UTF8String", ou),
            ("2.5.4.11", "UTF8String", "Japan Agency for Local Authority Information Systems"),
        ]
        assert ca.issuer == ca.subject
        assert ca.version is x509.Version.v3
        assert ca.signature_algorithm_oid == SHA256_RSA
        key = ca.public_key()
        assert key.key_size == 2048 and key.public_numbers().e == 65537  # type: ignore[union-attr]
        assert _extension_layout(ca) == [
            (ExtensionOID.KEY_USAGE, True),
            (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, False),
            (ExtensionOID.BASIC_CONSTRAINTS, True),
            (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
            (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False),
        ]
        ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
        bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert bc.ca is True and bc.path_length is None
        (san,) = ca.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert isinstance(san, x509.DirectoryName)
        assert [a.value for a in san.value] == [
            "JP",
            "公的個人認証サービス",
            san_ou,
            "地方公共団体情報システム機構",
        ]
        (point,) = ca.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert point.full_name == [x509.DirectoryName(ca.subject)]
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert ski == x509.SubjectKeyIdentifier.from_public_key(key)  # type: ignore[arg-type]
        # ~10 years, ending 23:59:59 JST like the real roots
        assert (
            timedelta(days=3650) <= ca.not_valid_after_utc - ca.not_valid_before_utc <= timedelta(days=3654)
        )
        assert (ca.not_valid_after_utc.hour, ca.not_valid_after_utc.minute) == (14, 59)
        ca.verify_directly_issued_by(ca)


def test_ca_generations_share_a_dn_but_not_a_key(session_pki: TestPki) -> None:
    for kind in ("auth", "sign"):
        older, current = session_pki.ca_certs(kind)  # type: ignore[arg-type]
        assert older.subject == current.subject
        assert older.public_key() != current.public_key()
        assert older.not_valid_before_utc < current.not_valid_before_utc <= NOW
        assert older.serial_number != current.serial_number
    assert session_pki.auth_ca_cert == session_pki.auth_ca_certs[-1]
    assert session_pki.sign_ca_cert == session_pki.sign_ca_certs[-1]
    assert session_pki.auth_ca_cert.subject != session_pki.sign_ca_cert.subject


def test_auth_certificate_profile(session_pki: TestPki, key_pool: KeyPool) -> None:
    key = key_pool()
    cert = session_pki.issue_auth_certificate(
        key.public_key(), not_before=NOW, not_after=NOW + timedelta(days=365)
    )
    (c, cn) = _rdns(cert.subject)
    assert c == ("2.5.4.6", "PrintableString", "JP")
    assert cn[0] == "2.5.4.3" and len(cn[2]) >= 20 and cn[2].isalnum() and cn[2] == cn[2].upper()
    assert cert.subject.rfc4514_string() == f"CN={cn[2]},C=JP"
    assert cert.issuer == session_pki.auth_ca_cert.subject
    assert cert.signature_algorithm_oid == SHA256_RSA
    assert cert.serial_number > 0
    assert cert.public_key() == key.public_key()
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (NOW, NOW + timedelta(days=365))
    assert _extension_layout(cert) == [
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.CERTIFICATE_POLICIES, False),
        (ExtensionOID.ISSUER_ALTERNATIVE_NAME, False),
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
    ]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not (ku.content_commitment or ku.key_encipherment or ku.key_cert_sign)
    (policy,) = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policy.policy_identifier == AUTH_POLICY_OID == ObjectIdentifier("1.2.392.200149.8.5.1.3.30")
    (ian,) = cert.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    assert [(a.oid, a.value) for a in ian.value] == [
        (NameOID.COUNTRY_NAME, "JP"),
        (NameOID.ORGANIZATION_NAME, "公的個人認証サービス"),
    ]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = session_pki.auth_ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert not cert.subject.get_attributes_for_oid(NameOID.LOCALITY_NAME)
    cert.verify_directly_issued_by(session_pki.auth_ca_cert)


def test_auth_certificate_accepts_a_given_cn_and_older_generation(
    session_pki: TestPki, key_pool: KeyPool
) -> None:
    cert = session_pki.issue_auth_certificate(
        key_pool().public_key(), not_before=NOW, not_after=NOW + timedelta(days=1), cn="ABC", generation=0
    )
    assert cert.subject.rfc4514_string() == "CN=ABC,C=JP"
    cert.verify_directly_issued_by(session_pki.auth_ca_certs[0])
    with pytest.raises(ValueError, match="generation 7"):
        session_pki.issue_auth_certificate(
            key_pool().public_key(), not_before=NOW, not_after=NOW + timedelta(days=1), generation=7
        )
    with pytest.raises(ValueError, match="must be after"):
        session_pki.issue_auth_certificate(key_pool().public_key(), not_before=NOW, not_after=NOW)


def _other_names(cert: x509.Certificate) -> list[tuple[str, bytes]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [(n.type_id.dotted_string, n.value) for n in san if isinstance(n, x509.OtherName)]


def _utf8(text: str) -> bytes:
    body = text.encode("utf-8")
    assert len(body) < 128
    return bytes([0x0C, len(body)]) + body


def test_sign_certificate_profile(session_pki: TestPki, key_pool: KeyPool) -> None:
    holder = demo_holder()
    cert = session_pki.issue_sign_certificate(
        key_pool().public_key(), holder, not_before=NOW, not_after=NOW + timedelta(days=30)
    )
    rdns = _rdns(cert.subject)
    assert rdns[:3] == [
        ("2.5.4.6", "PrintableString", "JP"),
        ("2.5.4.7", "UTF8String", "Kanagawa-ken"),
        ("2.5.4.7", "UTF8String", "Yokohama-shi Naka-ku"),
    ]
    assert rdns[3][0] == "2.5.4.3" and len(rdns[3][2]) >= 20
    assert "14103" in rdns[3][2]  # the municipality code inside the id, as on the test card seen
    assert cert.issuer == session_pki.sign_ca_cert.subject
    assert _extension_layout(cert) == [
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.CERTIFICATE_POLICIES, False),
        (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, False),
        (ExtensionOID.ISSUER_ALTERNATIVE_NAME, False),
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
    ]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_encipherment
    (policy,) = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policy.policy_identifier == SIGN_TEST_POLICY_OID == ObjectIdentifier("1.2.392.200149.8.5.1.0.20")
    assert _other_names(cert) == [
        (HolderOid.NAME.dotted_string, _utf8("山田\u3000太郎")),
        (HolderOid.BIRTH_DATE.dotted_string, _utf8("319850401")),
        (HolderOid.SEX.dotted_string, _utf8("1")),
        (HolderOid.ADDRESS.dotted_string, _utf8("神奈川県横浜市中区山下町１２３－４")),
        (HolderOid.NAME_ALT_CHARS.dotted_string, _utf8("00000")),
        (HolderOid.ADDRESS_ALT_CHARS.dotted_string, _utf8("0" * 17)),
    ]
    assert [oid for oid, _ in _other_names(cert)] == [
        "1.2.392.200149.8.5.5.1",
        "1.2.392.200149.8.5.5.4",
        "1.2.392.200149.8.5.5.3",
        "1.2.392.200149.8.5.5.5",
        "1.2.392.200149.8.5.5.2",
        "1.2.392.200149.8.5.5.6",
    ]
    cert.verify_directly_issued_by(session_pki.sign_ca_cert)


def test_sign_certificate_long_address_uses_long_form_length(session_pki: TestPki, key_pool: KeyPool) -> None:
    holder = replace(demo_holder(), address="神奈川県横浜市中区" + "山" * 150, sex=Sex.NOT_APPLICABLE)
    cert = session_pki.issue_sign_certificate(
        key_pool().public_key(), holder, not_before=NOW, not_after=NOW + timedelta(days=1)
    )
    names = dict(_other_names(cert))
    address = names[HolderOid.ADDRESS.dotted_string]
    body = holder.address.encode("utf-8")
    assert address == b"\x0c\x82" + len(body).to_bytes(2, "big") + body
    assert names[HolderOid.SEX.dotted_string] == _utf8("3")  # 9 (n/a) on the card → 3 (unknown) in the cert


def test_sign_certificate_rejects_an_invalid_holder(session_pki: TestPki, key_pool: KeyPool) -> None:
    with pytest.raises(ValueError, match="check digit"):
        session_pki.issue_sign_certificate(
            key_pool().public_key(),
            replace(demo_holder(), my_number="123456789010"),
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
        )


def test_ocsp_responder_certificate(session_pki: TestPki) -> None:
    for kind in ("auth", "sign"):
        cert, key = session_pki.issue_ocsp_responder(kind)  # type: ignore[arg-type]
        ca = session_pki.ca_certs(kind)[-1]  # type: ignore[arg-type]
        cert.verify_directly_issued_by(ca)
        assert cert.public_key() == key.public_key()
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
        assert cert.extensions.get_extension_for_class(x509.OCSPNoCheck).value == x509.OCSPNoCheck()
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.digital_signature
        assert cert.not_valid_before_utc <= datetime.now(UTC) < cert.not_valid_after_utc
        assert cert.not_valid_after_utc <= ca.not_valid_after_utc
        # the responder key really signs (what an OCSP response needs)
        signature = key.sign(b"tbs", padding.PKCS1v15(), hashes.SHA256())
        cert.public_key().verify(signature, b"tbs", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
        again, again_key = session_pki.issue_ocsp_responder(kind)  # type: ignore[arg-type]
        assert again == cert and again_key.private_numbers() == key.private_numbers()
        assert session_pki.issued(cert.serial_number) is not None


def test_opaque_ids_are_random_upper_alnum() -> None:
    ids = {opaque_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 23 and i.isalnum() and i == i.upper() for i in ids)
    assert opaque_id("132217")[14:19] == "13221"
