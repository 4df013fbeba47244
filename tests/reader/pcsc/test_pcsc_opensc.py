"""OpenSC interop: pkcs15-tool and the PKCS#11 module recognise, read and sign with the virtual card
through the same pcscd + vpcd; the card's command hook counts what OpenSC sent."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from pcsc_helpers import READER, VirtualReader

from reader.apdu import CommandApdu
from reader.constants import Ins, JpkiFile
from reader.pcsc import list_readers

pytestmark = [pytest.mark.pcsc, pytest.mark.interop]


def opensc_module() -> str:
    """opensc-pkcs11.so wherever the distribution put it (dpkg first, then the usual places)."""
    try:
        listed = subprocess.run(
            ["dpkg", "-L", "opensc-pkcs11"], capture_output=True, text=True, timeout=10
        ).stdout
    except FileNotFoundError:
        listed = ""
    candidates = [p for p in listed.splitlines() if p.endswith("/opensc-pkcs11.so")]
    candidates += glob.glob("/usr/lib/*/opensc-pkcs11.so") + glob.glob("/usr/lib*/opensc-pkcs11.so")
    for path in candidates:
        if Path(path).is_file():
            return path
    raise AssertionError("opensc-pkcs11.so not found (is opensc installed?)")


def reader_index() -> str:
    return str([r.name for r in list_readers()].index(READER))


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


@pytest.fixture
def counted(vcard: VirtualReader) -> list[CommandApdu]:
    seen: list[CommandApdu] = []
    vcard.card.on_command = seen.append  # type: ignore[attr-defined]
    return seen


def test_pkcs15_tool_recognises_the_jpki_card(vcard: VirtualReader, counted: list[CommandApdu]) -> None:
    result = run("pkcs15-tool", "-D", "--reader", reader_index())
    assert result.returncode == 0, result.stderr
    assert "PKCS#15 Card [JPKI]" in result.stdout
    assert "User Authentication PIN" in result.stdout and "Tries left     : 3" in result.stdout
    assert any(c.ins == Ins.SELECT and c.data == bytes.fromhex("D392F000260100000001") for c in counted)


def test_pkcs15_tool_reads_the_auth_certificate_byte_identical(
    vcard: VirtualReader, counted: list[CommandApdu]
) -> None:
    result = run("pkcs15-tool", "--reader", reader_index(), "--read-certificate", "01")
    assert result.returncode == 0, result.stderr
    cert = x509.load_pem_x509_certificate(result.stdout.encode())
    image = vcard.card.image  # type: ignore[attr-defined]
    assert cert.public_bytes(Encoding.DER) == image.jpki_files[JpkiFile.AUTH_CERT]
    reads = [c for c in counted if c.ins == Ins.READ_BINARY]
    assert reads and all(c.le <= 256 for c in reads)  # OpenSC reads in short chunks


def test_pkcs11_login_and_sign_with_the_auth_key(
    vcard: VirtualReader, counted: list[CommandApdu], tmp_path: Path
) -> None:
    message = tmp_path / "message"
    message.write_bytes(b"myna-kiosk interop")
    signature = tmp_path / "signature"
    result = run(
        "pkcs11-tool",
        "--module",
        opensc_module(),
        "--token-label",
        "JPKI (User Authentication PIN)",
        "--login",
        "--pin",
        "1234",
        "--sign",
        "--mechanism",
        "SHA256-RSA-PKCS",
        "--id",
        "01",
        "--input-file",
        str(message),
        "--output-file",
        str(signature),
    )
    assert result.returncode == 0, result.stderr
    image = vcard.card.image  # type: ignore[attr-defined]
    cert = x509.load_der_x509_certificate(image.jpki_files[JpkiFile.AUTH_CERT])
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature.read_bytes(), message.read_bytes(), padding.PKCS1v15(), hashes.SHA256())
    signs = [c for c in counted if c.ins == Ins.COMPUTE_DIGITAL_SIGNATURE]
    assert len(signs) == 1 and len(signs[0].data) == 51  # a SHA-256 DigestInfo
