"""The virtual card's storage: one JSON image on disk, PINs only as salted hashes, durable counters.

The image is the card's EEPROM. A retry counter is written (temp file + fsync + rename + fsync of the
folder) *before* the card answers, so killing the card process at any moment can never give a locked
card its tries back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.durable import write_durably

FORMAT = "myna-kiosk-card-image"
VERSION = 1
#: auth/sign: JPKI AP; kenmen, kenmen_a, kenmen_b: 券面事項入力補助AP PIN and 照合番号A/B;
#: face_a, face_b, face_birth: 券面事項確認AP 照合番号A/B and birth-date key (docs/card.md §5).
PIN_NAMES = ("auth", "sign", "kenmen", "kenmen_a", "kenmen_b", "face_a", "face_b", "face_birth")
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}  # cheap enough for a simulator, still a real KDF


class CardImageError(Exception):
    """The file is not a usable card image (missing, corrupt, foreign, or a newer version)."""


@dataclass(frozen=True)
class PinSpec:
    """A PIN as personalisation sets it: the bytes the card compares, and its retry limit."""

    secret: bytes
    max_tries: int


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _hash_pin(secret: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(secret, salt=salt, dklen=32, **_SCRYPT)


def _pin_record(secret: bytes, max_tries: int) -> dict[str, Any]:
    salt = secrets.token_bytes(16)
    return {"salt": _b64(salt), "hash": _b64(_hash_pin(secret, salt)), "max": max_tries, "left": max_tries}


def _files_to_json(files: Mapping[int, bytes]) -> dict[str, str]:
    return {f"{fid:04X}": _b64(content) for fid, content in files.items()}


def _files_from_json(data: Mapping[str, str]) -> Mapping[int, bytes]:
    return MappingProxyType({int(fid, 16): _unb64(content) for fid, content in data.items()})


def _write_durably(path: Path, document: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically: either the old or the new complete file survives a crash."""
    payload = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    write_durably(path, payload, mode=0o600)


class CardImage:
    """One virtual card's persistent state. Thread-safe; every change is on disk before it returns."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self._doc = document
        self._lock = threading.Lock()
        try:
            self.atr: bytes = _unb64(document["atr"])
            self.jpki_files: Mapping[int, bytes] = _files_from_json(document["jpki_files"])
            self.kenmen_files: Mapping[int, bytes] = _files_from_json(document["kenmen_files"])
            # Optional: images written before the card-face AP existed have none (SELECT → 6A 82).
            self.kakunin_files: Mapping[int, bytes] = _files_from_json(document.get("kakunin_files", {}))
            self.meta: Mapping[str, str] = MappingProxyType(dict(document["meta"]))
            self._auth_key_pem = document["keys"]["auth"].encode("ascii")
            sign = document["keys"].get("sign")
            self._sign_key_pem = sign.encode("ascii") if sign else None
            pins = document["pins"]
            for name, record in pins.items():
                if name not in PIN_NAMES or not {"salt", "hash", "max", "left"} <= set(record):
                    raise CardImageError(f"{path}: bad PIN record {name!r}")
        except CardImageError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CardImageError(f"{path}: corrupt card image ({exc.__class__.__name__}: {exc})") from exc

    # --- creation and loading ------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        atr: bytes,
        jpki_files: Mapping[int, bytes],
        auth_key_pem: bytes,
        sign_key_pem: bytes | None,
        kenmen_files: Mapping[int, bytes],
        pins: Mapping[str, PinSpec],
        meta: Mapping[str, str],
        kakunin_files: Mapping[int, bytes] | None = None,
    ) -> CardImage:
        """Write a new image at ``path`` (replacing any file there) and return it.

        Raises ValueError for an unknown PIN name or a PIN with no tries.
        """
        for name, spec in pins.items():
            if name not in PIN_NAMES:
                raise ValueError(f"unknown PIN {name!r}; expected one of {PIN_NAMES}")
            if spec.max_tries < 1:
                raise ValueError(f"PIN {name!r} needs at least one try")
        document: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "atr": _b64(atr),
            "jpki_files": _files_to_json(jpki_files),
            "kenmen_files": _files_to_json(kenmen_files),
            "kakunin_files": _files_to_json(kakunin_files or {}),
            "keys": {"auth": auth_key_pem.decode("ascii")}
            | ({"sign": sign_key_pem.decode("ascii")} if sign_key_pem else {}),
            "pins": {name: _pin_record(spec.secret, spec.max_tries) for name, spec in pins.items()},
            "meta": dict(meta),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_durably(path, document)
        return cls(path, document)

    @classmethod
    def load(cls, path: Path) -> CardImage:
        """Read an image. Raises CardImageError (missing, unreadable, corrupt, foreign, newer)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CardImageError(f"cannot read card image {path}: {exc.strerror or exc}") from exc
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CardImageError(f"{path} is not a card image (not JSON: {exc})") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise CardImageError(f"{path} is not a myna-kiosk card image")
        if document.get("version") != VERSION:
            raise CardImageError(f"{path}: card image version {document.get('version')!r} is not supported")
        return cls(path, document)

    # --- keys ----------------------------------------------------------------------------------
    def auth_key(self) -> rsa.RSAPrivateKey:
        """The user-authentication private key. Raises CardImageError if it is not RSA."""
        return self._load_key(self._auth_key_pem)

    def sign_key(self) -> rsa.RSAPrivateKey | None:
        """The signature private key, or None on a card without a signature certificate."""
        return self._load_key(self._sign_key_pem) if self._sign_key_pem else None

    def has_sign_key(self) -> bool:
        """True when the image holds a signature key (cheap: does not parse it)."""
        return self._sign_key_pem is not None

    def _load_key(self, pem: bytes) -> rsa.RSAPrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as exc:
            raise CardImageError(f"{self.path}: unreadable private key") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CardImageError(f"{self.path}: private key is not RSA")
        return key

    # --- PINs ----------------------------------------------------------------------------------
    def has_pin(self, name: str) -> bool:
        """True when the card has PIN ``name`` ("auth", "sign", "kenmen"). Never raises."""
        return name in self._doc["pins"]

    def max_tries(self, name: str) -> int:
        """Retry limit of PIN ``name``. Raises KeyError for a PIN the card does not have."""
        return int(self._doc["pins"][name]["max"])

    def tries_left(self, name: str) -> int:
        """Tries left for PIN ``name`` (0 = blocked). Raises KeyError for a PIN the card does not have."""
        with self._lock:
            return int(self._doc["pins"][name]["left"])

    def verify_pin(self, name: str, candidate: bytes) -> int:
        """Check ``candidate``; return tries left afterwards (the maximum on success, 0 when blocked).

        The new counter is on disk before this returns. A blocked PIN is never compared.
        Raises KeyError for a PIN the card does not have.
        """
        with self._lock:
            record = self._doc["pins"][name]
            if record["left"] <= 0:
                return 0
            ok = hmac.compare_digest(_hash_pin(candidate, _unb64(record["salt"])), _unb64(record["hash"]))
            new_left = record["max"] if ok else record["left"] - 1
            if new_left != record["left"]:
                record["left"] = new_left
                _write_durably(self.path, self._doc)
            return int(new_left)

    def change_pin(self, name: str, new: bytes) -> None:
        """Set a new PIN value (tries reset to the maximum), durably. Raises KeyError for an unknown PIN."""
        with self._lock:
            record = self._doc["pins"][name]
            self._doc["pins"][name] = _pin_record(new, int(record["max"]))
            _write_durably(self.path, self._doc)
