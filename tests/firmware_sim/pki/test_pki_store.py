"""TestPki as a directory: create/load, corrupt and foreign directories, generations, revocation."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pki_helpers import KeyPool

from firmware_sim.pki.hierarchy import PkiError, TestPki, foreign_pki, new_rsa_key

NOW = datetime.now(UTC)


def _issue(pki: TestPki, key_pool: KeyPool, generation: int = -1) -> x509.Certificate:
    return pki.issue_auth_certificate(
        key_pool().public_key(), not_before=NOW, not_after=NOW + timedelta(days=10), generation=generation
    )


def test_created_once_then_loaded(make_pki: Callable[[str], TestPki], tmp_path: Path) -> None:
    first = make_pki("pki")
    again = TestPki.open(tmp_path / "pki", create=False)
    assert again.auth_ca_certs == first.auth_ca_certs
    assert again.sign_ca_certs == first.sign_ca_certs
    assert len(again.auth_ca_certs) == len(again.sign_ca_certs) == 2
    assert again.ca_key("auth").private_numbers() == first.ca_key("auth").private_numbers()
    assert again.kenmen_signing_key().private_numbers() == first.kenmen_signing_key().private_numbers()


def test_private_keys_are_0600(make_pki: Callable[[str], TestPki], tmp_path: Path) -> None:
    pki = make_pki("pki")
    pki.issue_ocsp_responder("auth")
    keys = sorted((tmp_path / "pki").glob("*.key.pem"))
    assert len(keys) == 6  # 2 auth CA, 2 sign CA, kenmen, OCSP responder
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700


def test_bundles_hold_every_generation(make_pki: Callable[[str], TestPki], tmp_path: Path) -> None:
    pki = make_pki("pki")
    pki.rollover(["auth"])
    bundle = x509.load_pem_x509_certificates((tmp_path / "pki" / "auth-ca-bundle.pem").read_bytes())
    assert bundle == list(pki.auth_ca_certs) and len(bundle) == 3


def test_missing_directory_without_create(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="no test PKI here"):
        TestPki.open(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_foreign_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PkiError, match="not a myna-kiosk test PKI"):
        TestPki.open(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".lock") == ["notes.txt"]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "corrupt manifest"),
        (json.dumps({"format": "something-else", "version": 1}), "not a myna-kiosk test PKI manifest"),
        (json.dumps({"format": "myna-kiosk-jpki-test-pki", "version": 99}), "version 99"),
        (
            json.dumps({"format": "myna-kiosk-jpki-test-pki", "version": 1, "generations": {"auth": 0}}),
            "generation",
        ),
    ],
)
def test_corrupt_manifest(
    make_pki: Callable[[str], TestPki], tmp_path: Path, manifest: str, message: str
) -> None:
    make_pki("pki")
    (tmp_path / "pki" / "pki.json").write_text(manifest)
    with pytest.raises(PkiError, match=message):
        TestPki.open(tmp_path / "pki")


def test_corrupt_key_or_swapped_files(make_pki: Callable[[str], TestPki], tmp_path: Path) -> None:
    make_pki("pki")
    directory = tmp_path / "pki"
    original = (directory / "sign-ca-1.key.pem").read_bytes()
    (directory / "sign-ca-1.key.pem").write_bytes(b"garbage")
    with pytest.raises(PkiError, match=r"sign-ca-1\.key\.pem: cannot load private key"):
        TestPki.open(directory)
    (directory / "sign-ca-1.key.pem").write_bytes((directory / "sign-ca-2.key.pem").read_bytes())
    with pytest.raises(PkiError, match="do not match"):
        TestPki.open(directory)
    (directory / "sign-ca-1.key.pem").write_bytes(original)
    TestPki.open(directory)
    (directory / "sign-ca-2.crt.pem").unlink()
    with pytest.raises(PkiError, match=r"sign-ca-2\.crt\.pem: cannot load certificate"):
        TestPki.open(directory)


def test_issuer_of_picks_the_generation_by_signature(
    make_pki: Callable[[str], TestPki], key_pool: KeyPool
) -> None:
    pki = make_pki("pki")
    old = _issue(pki, key_pool, generation=0)
    current = _issue(pki, key_pool)
    assert old.issuer == current.issuer  # same DN: only the signature tells them apart
    assert pki.issuer_of(old) == pki.auth_ca_certs[0]
    assert pki.issuer_of(current) == pki.auth_ca_certs[1]
    pki.rollover()
    assert len(pki.auth_ca_certs) == len(pki.sign_ca_certs) == 3
    newest = _issue(pki, key_pool)
    assert pki.issuer_of(newest) == pki.auth_ca_cert == pki.auth_ca_certs[2]
    assert pki.issuer_of(old) == pki.auth_ca_certs[0]  # older certificates still verify
    reopened = TestPki.open(pki.directory, create=False)
    assert reopened.auth_ca_certs == pki.auth_ca_certs
    assert reopened.issuer_of(newest) == reopened.auth_ca_certs[2]


def test_rollover_rejects_unknown_kind(make_pki: Callable[[str], TestPki]) -> None:
    pki = make_pki("pki")
    with pytest.raises(ValueError, match="kind"):
        pki.rollover(["both"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="kind"):
        pki.ca_key("root")  # type: ignore[arg-type]


def test_foreign_pki_looks_alike_but_does_not_verify(
    session_pki: TestPki, tmp_path: Path, key_pool: KeyPool
) -> None:
    foreign = foreign_pki(tmp_path / "foreign", key_factory=new_rsa_key)
    assert foreign.auth_ca_cert.subject == session_pki.auth_ca_cert.subject
    assert foreign.auth_ca_cert.public_key() != session_pki.auth_ca_cert.public_key()
    forged = _issue(foreign, key_pool)
    assert session_pki.issuer_of(forged) is None
    assert foreign.issuer_of(forged) == foreign.auth_ca_cert
    genuine = _issue(session_pki, key_pool)
    assert foreign.issuer_of(genuine) is None


def test_ocsp_responder_is_renewed_after_rollover(make_pki: Callable[[str], TestPki]) -> None:
    pki = make_pki("pki")
    before, _ = pki.issue_ocsp_responder("sign")
    pki.rollover(["sign"])
    after, _ = pki.issue_ocsp_responder("sign")
    assert after != before
    after.verify_directly_issued_by(pki.sign_ca_cert)
    assert TestPki.open(pki.directory).issue_ocsp_responder("sign")[0] == after


def test_revocation_is_durable_and_keeps_the_first_record(
    make_pki: Callable[[str], TestPki], key_pool: KeyPool
) -> None:
    pki = make_pki("pki")
    cert = _issue(pki, key_pool)
    assert pki.revocation_status(cert.serial_number) is None
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    entry = pki.revoke(cert.serial_number, reason=x509.ReasonFlags.key_compromise, when=when)
    assert (entry.serial, entry.revoked_at, entry.reason) == (
        cert.serial_number,
        when,
        x509.ReasonFlags.key_compromise,
    )
    second = pki.revoke(cert.serial_number, reason=x509.ReasonFlags.superseded)
    assert second == entry
    reopened = TestPki.open(pki.directory, create=False)
    assert reopened.revocation_status(cert.serial_number) == entry
    assert reopened.revoked_serials() == frozenset({cert.serial_number})
    issued = reopened.issued(cert.serial_number)
    assert issued is not None and (issued.kind, issued.generation) == ("auth", 1)
    assert reopened.issued(12345) is None


def test_revocation_is_visible_to_another_process(make_pki: Callable[[str], TestPki]) -> None:
    pki = make_pki("pki")
    pki.revoke(0xABCDEF, reason=x509.ReasonFlags.cessation_of_operation)
    script = (
        "import sys; from pathlib import Path; from firmware_sim.pki.hierarchy import TestPki; "
        "e = TestPki.open(Path(sys.argv[1]), create=False).revocation_status(0xABCDEF); print(e.reason.value)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(pki.directory)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "cessationOfOperation"


def test_revocation_input_checks(make_pki: Callable[[str], TestPki]) -> None:
    pki = make_pki("pki")
    with pytest.raises(ValueError, match="positive"):
        pki.revoke(0)
    with pytest.raises(ValueError, match="timezone"):
        pki.revoke(5, when=datetime(2026, 1, 1))  # deliberately naive


def test_revocation_from_many_threads(make_pki: Callable[[str], TestPki]) -> None:
    pki = make_pki("pki")
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for i in range(6):
                pki.revoke(base + i)
                pki.revoke(1)  # everyone also races on the same serial
                assert pki.revocation_status(base + i) is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(1000 * (n + 1),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(pki.revoked_serials()) == 8 * 6 + 1


def test_rollover_by_another_instance_is_not_overwritten(make_pki: Callable[[str], TestPki]) -> None:
    first = make_pki("pki")
    second = TestPki.open(first.directory, create=False)
    first.rollover(["auth"])
    second.rollover(["auth"])  # must build generation 4 on top of first's 3, not replace it
    assert len(second.auth_ca_certs) == 4
    first.reload()
    assert first.auth_ca_certs == second.auth_ca_certs
    assert len({c.public_key().public_numbers().n for c in first.auth_ca_certs}) == 4  # type: ignore[union-attr]
    assert all(2**24 <= ca.serial_number < 2**31 for ca in first.auth_ca_certs)  # 4 DER bytes, positive
