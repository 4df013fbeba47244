"""公的個人認証AP (JPKI AP): certificates, the two PINs, the two RSA keys, COMPUTE DIGITAL SIGNATURE.

Files and rules from docs/card.md §3–§5: ``000A 000B 0002 0006 0008`` free, ``0001`` after the sign
PIN; keys ``0017`` (auth PIN ``0018``) and ``001A`` (sign PIN ``001B``). A card without a sign
certificate (under-15 holder) simply has no ``0001``, ``001A``, ``001B`` (SELECT → ``6A 82``).

COMPUTE DIGITAL SIGNATURE ``80 2A <scheme> 80|SFI``: needs a key EF (current, or named by SFI;
none → ``69 86``, not a key → ``69 81``) whose PIN is verified (else ``69 82``). Schemes (P1, MCARD):
00 PKCS#1 v1.5 type 1 over the data as given (1–245 B); 01 card SHA-256, bare hash padded; 02 data is
a SHA-256 hash, card adds the DigestInfo; 03 card SHA-256 + DigestInfo; 04 data is a SHA-256 hash,
RSASSA-PSS; 05 card SHA-256, RSASSA-PSS (PSS: MGF1-SHA-256, salt length 32 — our choice, the
sources do not say, docs/card.md §10). Wrong input length → ``67 00``; other P1 → ``6A 86``.
INTERNAL AUTHENTICATE with a JPKI key → ``69 82`` (MCARD: PIN-protected keys refuse it).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from firmware_sim.card.cardos import CardStatus, Reply
from firmware_sim.card.filesystem import DataEf, DedicatedFile, Ef, KeyEf, PinEf, sfi_from_p2
from firmware_sim.card.image import CardImage
from reader.apdu import CommandApdu
from reader.constants import SHA256_DIGESTINFO_PREFIX, SW, Aid, Ins, JpkiFile, SignScheme

RSA_BYTES = 256
PKCS1_MAX_DATA = RSA_BYTES - 11  # 00 01 FF*8 00 minimum padding
SHA256_LEN = 32
PSS_SALT_LEN = 32
_SCHEMES = frozenset(int(s) for s in SignScheme)


def pkcs1_type1_sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Raw RSA over ``00 01 FF..FF 00 data`` (the card's P1=00 mode; the data is not a hash we know)."""
    size = (key.key_size + 7) // 8
    if not 0 < len(data) <= size - 11:
        raise CardStatus(SW.WRONG_LENGTH, "data too long for PKCS#1 v1.5")
    encoded = b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data
    priv = key.private_numbers()
    pub = priv.public_numbers
    m = int.from_bytes(encoded, "big")
    # CRT: ~4x faster than pow(m, d, n). Not constant-time — this is a simulator.
    s1 = pow(m, priv.dmp1, priv.p)
    s2 = pow(m, priv.dmq1, priv.q)
    s = s2 + priv.q * ((priv.iqmp * (s1 - s2)) % priv.p)
    if pow(s, pub.e, pub.n) != m:
        raise CardStatus(SW.NO_PRECISE_DIAGNOSIS, "RSA self-check failed")
    return s.to_bytes(size, "big")


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LEN)


def _need_hash(data: bytes) -> bytes:
    if len(data) != SHA256_LEN:
        raise CardStatus(SW.WRONG_LENGTH, "scheme expects a 32-byte SHA-256 hash")
    return data


def sign_with_scheme(key: rsa.RSAPrivateKey, scheme: int, data: bytes) -> bytes:
    """The card's signature for P1 ``scheme`` over ``data``. Raises CardStatus (6A86, 6700)."""
    if not data:
        raise CardStatus(SW.WRONG_LENGTH, "no data to sign")
    if scheme == SignScheme.PKCS1_GIVEN:
        return pkcs1_type1_sign(key, data)
    if scheme == SignScheme.PKCS1_CARD_HASH_BARE:
        return pkcs1_type1_sign(key, hashlib.sha256(data).digest())
    if scheme == SignScheme.PKCS1_WRAP_DIGESTINFO:
        return pkcs1_type1_sign(key, SHA256_DIGESTINFO_PREFIX + _need_hash(data))
    if scheme == SignScheme.PKCS1_CARD_HASH_DIGESTINFO:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if scheme == SignScheme.PSS_GIVEN_HASH:
        return key.sign(_need_hash(data), _pss(), utils.Prehashed(hashes.SHA256()))
    if scheme == SignScheme.PSS_CARD_HASH:
        return key.sign(data, _pss(), hashes.SHA256())
    raise CardStatus(SW.WRONG_P1P2, f"signature scheme {scheme:02X}")


def _cached_key(loader: Callable[[], rsa.RSAPrivateKey | None]) -> Callable[[], rsa.RSAPrivateKey]:
    @functools.cache
    def load() -> rsa.RSAPrivateKey:
        key = loader()
        if key is None:
            raise CardStatus(SW.FILE_NOT_FOUND, "no such key")
        return key

    return load


def jpki_files(image: CardImage) -> list[Ef]:
    """The JPKI AP's EFs for ``image`` (data files from the image, PIN and key EFs by the image's PINs)."""
    files: list[Ef] = []
    for fid, content in image.jpki_files.items():
        if fid == JpkiFile.SIGN_CERT:
            files.append(DataEf(fid, content, frozenset({"sign"}), sensitive=True))
        else:
            files.append(DataEf(fid, content))
    if image.has_pin("auth"):
        files.append(PinEf(JpkiFile.AUTH_PIN, "auth"))
        files.append(KeyEf(JpkiFile.AUTH_KEY, "auth", _cached_key(image.auth_key)))
    if image.has_pin("sign") and image.has_sign_key():
        files.append(PinEf(JpkiFile.SIGN_PIN, "sign"))
        files.append(KeyEf(JpkiFile.SIGN_KEY, "sign", _cached_key(image.sign_key)))
    return files


class JpkiAp(DedicatedFile):
    """The JPKI AP over one card image."""

    def __init__(self, image: CardImage, *, keep_security_on_reselect: bool = True) -> None:
        keep = keep_security_on_reselect
        super().__init__(Aid.JPKI, image, jpki_files(image), keep_security_on_reselect=keep)
        self.add_handler(Ins.COMPUTE_DIGITAL_SIGNATURE, self._compute_signature)
        self.add_handler(Ins.INTERNAL_AUTHENTICATE, self._internal_authenticate)

    def _internal_authenticate(self, cmd: CommandApdu) -> Reply:
        # MCARD: the JPKI keys are PIN-protected and refuse INTERNAL AUTHENTICATE outright.
        sfi = sfi_from_p2(cmd.p2)
        ef = self.require_current() if sfi is None else self.ef_by_sfi(sfi)
        if not isinstance(ef, KeyEf):
            raise CardStatus(SW.INCOMPATIBLE_FILE_STRUCTURE, "not a key EF")
        raise CardStatus(SW.SECURITY_STATUS_NOT_SATISFIED, "JPKI keys do not do INTERNAL AUTHENTICATE")

    def _compute_signature(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 not in _SCHEMES:
            raise CardStatus(SW.WRONG_P1P2, f"signature scheme {cmd.p1:02X}")
        sfi = sfi_from_p2(cmd.p2)
        ef = self.require_current() if sfi is None else self.ef_by_sfi(sfi)
        if not isinstance(ef, KeyEf):
            raise CardStatus(SW.INCOMPATIBLE_FILE_STRUCTURE, "not a key EF")
        if ef.pin not in self.verified:
            raise CardStatus(SW.SECURITY_STATUS_NOT_SATISFIED, f"{ef.pin} PIN not verified")
        if 0 < cmd.le < RSA_BYTES:
            raise CardStatus(SW.WRONG_LENGTH, "Le shorter than the signature")
        return Reply(sign_with_scheme(ef.key(), cmd.p1, cmd.data))
