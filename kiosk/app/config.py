"""The kiosk's configuration: one frozen value, read from a TOML file by ``load_config``.

Every key is documented in ``etc/kiosk.example.toml``. Relative paths are resolved against the folder
of the file. Everything that can be checked without touching a device is checked here, so that a
store finds its mistakes when it starts the kiosk, not at the first resident: unknown keys, wrong
types, URLs, and the terminal certificate, its key, the pinned center CA and the JPKI CA bundle (they
must exist, parse, and belong together). Errors are one line (``ConfigError``) naming the file and
the key.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kiosk.devices.cash.cctalk import Address
from kiosk.flow.timeouts import Timeouts
from kiosk.journal.hopper_stock import HopperSlot
from kiosk.money import COINS

DEFAULT_CONFIG = Path("/etc/myna-kiosk/kiosk.toml")  # where a store's kiosk keeps its configuration


class ConfigError(ValueError):
    """The configuration file is missing, malformed, or names files that are missing or unusable."""


@dataclass(frozen=True)
class KioskConfig:
    """Where the journal lives, how to reach the card, the center, the cash unit and the printer."""

    journal: Path = Path("var/journal.sqlite")
    reader_url: str = "pcsc://"
    center_url: str = ""
    terminal_cert: Path = Path("etc/terminal.pem")
    terminal_key: Path = Path("etc/terminal.key")
    center_ca: Path = Path("etc/center-ca.pem")
    jpki_ca_bundle: Path | None = None
    cash_port: str = "/dev/ttyUSB0"
    printer_uri: str = "ipp://127.0.0.1:631/ipp/print"
    timeouts: Timeouts = field(default_factory=Timeouts)
    tick: float = 0.2  # seconds between Tick events
    center_connect_timeout: float = 3.0
    center_read_timeout: float = 15.0
    cash_echo: bool = False  # the serial line returns our own bytes (a single-wire ccTalk bus)
    cash_reply_timeout: float = 0.25
    printer_timeout: float = 5.0  # seconds per IPP request
    printer_through_cups: bool = False  # [printer] through_cups: accept a CUPS queue (unconfirmed pages)
    clock_max_skew: float = 120.0  # [clock] max_skew_s: the kiosk's clock this far from the center's: closed
    clock_enforce: bool = True  # [clock] enforce = false: compared and shown to staff, never closes the kiosk
    cash_hoppers: tuple[HopperSlot, ...] = ()  # () = the standard layout (kiosk.journal.hopper_stock)
    staff_passcode_hash: str | None = None  # [staff] passcode_hash (kiosk diag passcode); None: no staff mode
    control_socket: Path | None = None  # [bench] control_socket: a test bench's tap socket; None: off
    source: Path | None = None  # the file this was loaded from (None: built in code)


@dataclass(frozen=True)
class _Key:
    field: str
    kind: str  # path | text | seconds | flag | hoppers | socket (a path, or "" for off)
    required: bool = False
    seconds: tuple[float, float] = (0.0, 0.0)  # kind seconds: the least and the most allowed


# Seconds are finite and within reason: a NaN, an infinity or 1e308 would stop a timer or a thread for good.
_STEP_SECONDS = (1.0, 3600.0)  # each step of a transaction: at least a second, at most an hour
_TIMEOUT_KEYS = {
    f.name: _Key(f.name, "seconds", seconds=_STEP_SECONDS)
    for f in fields(Timeouts)
    if f.name != "interactive"
}
SCHEMA: Mapping[str, Mapping[str, _Key]] = {
    "": {"journal": _Key("journal", "path"), "tick": _Key("tick", "seconds", seconds=(0.01, 1.0))},
    "reader": {"url": _Key("reader_url", "text")},
    "center": {
        "url": _Key("center_url", "text", True),
        "terminal_cert": _Key("terminal_cert", "path", True),
        "terminal_key": _Key("terminal_key", "path", True),
        "ca": _Key("center_ca", "path", True),
        "connect_timeout": _Key("center_connect_timeout", "seconds", seconds=(0.1, 60.0)),
        "read_timeout": _Key("center_read_timeout", "seconds", seconds=(1.0, 300.0)),
    },
    "clock": {
        "max_skew_s": _Key("clock_max_skew", "seconds", seconds=(1.0, 86400.0)),
        "enforce": _Key("clock_enforce", "flag"),
    },
    "jpki": {"ca_bundle": _Key("jpki_ca_bundle", "path", True)},
    "cash": {
        "port": _Key("cash_port", "text", True),
        "echo": _Key("cash_echo", "flag"),
        "reply_timeout": _Key("cash_reply_timeout", "seconds", seconds=(0.01, 5.0)),
        "hopper": _Key("cash_hoppers", "hoppers"),
    },
    "printer": {
        "uri": _Key("printer_uri", "text", True),
        "request_timeout": _Key("printer_timeout", "seconds", seconds=(0.1, 120.0)),
        "through_cups": _Key("printer_through_cups", "flag"),
    },
    "timeouts": _TIMEOUT_KEYS,
    "staff": {"passcode_hash": _Key("staff_passcode_hash", "text")},
    "bench": {"control_socket": _Key("control_socket", "socket")},
}


def load_config(path: Path | str, *, check_certificates: bool = True) -> KioskConfig:
    """Read, check and return the configuration in ``path`` (TOML). ``check_certificates=False`` leaves
    the certificate, key and CA files unchecked (staff commands that touch no device, e.g. ``kiosk cash``).

    Raises ConfigError (one line, naming the file and the key) for a missing or unreadable file, bad
    TOML, an unknown key, a wrong type, a number of seconds out of its range (NaN and infinity included),
    a missing required key, a bad URL, a bad hopper layout, or a certificate, key or CA file that is
    missing, unreadable or unusable (a key others may read, too).
    """
    path = Path(path)
    data = _read_toml(path)
    values: dict[str, Any] = {"source": Path(os.path.normpath(path.absolute()))}
    timeouts: dict[str, Any] = {}
    for section, table in _sections(path, data):
        for name, raw in table.items():
            key = SCHEMA[section].get(name)
            dotted = f"{section}.{name}" if section else name
            if key is None:
                raise ConfigError(f"{path}: unknown key {dotted!r}{_suggest(section, name)}")
            value = _typed(path, dotted, key, raw)
            (timeouts if section == "timeouts" else values)[key.field] = value
    _require(path, data)
    config = replace(KioskConfig(), **values, timeouts=replace(Timeouts(), **timeouts))
    _check_urls(path, config)
    if check_certificates:
        check_files(config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _sections(path: Path, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    out: list[tuple[str, dict[str, Any]]] = [("", top)]
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        if name not in SCHEMA or name == "":
            raise ConfigError(f"{path}: unknown section [{name}]{_suggest(None, name)}")
        out.append((name, table))
    return out


def _suggest(section: str | None, name: str) -> str:
    known = [s for s in SCHEMA if s] if section is None else list(SCHEMA[section])
    close = difflib.get_close_matches(name, known, n=1)
    if not close:
        return ""
    return f" (did you mean {(f'{section}.' if section else '') + close[0]!r}?)"


def _typed(path: Path, dotted: str, key: _Key, raw: object) -> object:
    kind = key.kind
    if kind == "hoppers":
        return _hoppers(path, raw)
    if kind == "socket" and raw == "":
        return None  # [bench] control_socket = "": off, as when the key is absent
    if kind == "socket":
        kind = "path"
    if kind == "flag":
        if not isinstance(raw, bool):
            raise ConfigError(f"{path}: {dotted}: expected true or false, got {raw!r}")
        return raw
    if kind == "seconds":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{path}: {dotted}: expected a positive number of seconds, got {raw!r}")
        low, high = key.seconds
        if not (math.isfinite(raw) and low <= raw <= high):  # NaN compares false: refused here too
            raise ConfigError(f"{path}: {dotted}: expected {low:g} to {high:g} seconds, got {raw!r}")
        return float(raw)
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{path}: {dotted}: expected a non-empty string, got {raw!r}")
    if kind == "path":
        # Relative to the file's folder; an absolute path stays. Symlinks are kept (a renewed certificate
        # behind a link is read at the next start).
        return Path(os.path.normpath(path.parent.absolute() / raw))
    return raw.strip()


_HOPPER_KEYS = ("address", "coin", "capacity")
_OTHER_DEVICES = {
    int(Address.COIN_ACCEPTOR): "the coin acceptor",
    int(Address.BILL_VALIDATOR): "the bill validator",
}


def _hoppers(path: Path, raw: object) -> tuple[HopperSlot, ...]:
    """The ``[[cash.hopper]]`` tables. Raises ConfigError naming the table (#1 = the first) and the key."""
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise ConfigError(f"{path}: cash.hopper: expected [[cash.hopper]] tables (address, coin, capacity)")
    slots: list[HopperSlot] = []
    for number, table in enumerate(raw, 1):
        where = f"{path}: cash.hopper #{number}"
        for name in table:
            if name not in _HOPPER_KEYS:
                raise ConfigError(f"{where}: unknown key {name!r} (keys: {', '.join(_HOPPER_KEYS)})")
        address, coin, capacity = (_count(where, table, name) for name in _HOPPER_KEYS)
        if not 2 <= address <= 255 or address in _OTHER_DEVICES:
            what = f"it is {_OTHER_DEVICES[address]}'s" if address in _OTHER_DEVICES else "expected 3-255"
            raise ConfigError(f"{where}: address: {address} cannot be a hopper ({what})")
        clash = next((n for n, s in enumerate(slots, 1) if s.address == address), None)
        if clash is not None:
            raise ConfigError(f"{where}: address: {address} is already cash.hopper #{clash}")
        if coin not in COINS:
            coins = ", ".join(map(str, COINS))
            raise ConfigError(f"{where}: coin: expected a coin in yen ({coins}), got {coin}")
        slots.append(HopperSlot(address, coin, capacity))
    return tuple(slots)


def _count(where: str, table: dict[str, Any], name: str) -> int:
    if name not in table:
        raise ConfigError(f"{where}: missing key {name}")
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {name}: expected a positive whole number, got {value!r}")
    return value


def _require(path: Path, data: dict[str, Any]) -> None:
    for section, keys in SCHEMA.items():
        table = data if not section else data.get(section, {})
        for name, key in keys.items():
            if key.required and name not in table:
                raise ConfigError(f"{path}: missing required key {section + '.' if section else ''}{name}")


def _check_urls(path: Path, config: KioskConfig) -> None:
    checks: list[tuple[str, str, tuple[str, ...], bool]] = [
        ("center.url", config.center_url, ("https",), True),
        ("printer.uri", config.printer_uri, ("ipp", "ipps", "http", "https"), True),
    ]
    _check_reader_url(path, config.reader_url)
    for dotted, url, schemes, needs_host in checks:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError as exc:
            raise ConfigError(f"{path}: {dotted}: bad URL {url!r}: {exc}") from exc
        if parts.scheme not in schemes:
            wanted = " or ".join(f"{s}://" for s in schemes)
            raise ConfigError(f"{path}: {dotted}: expected a {wanted} URL, got {url!r}")
        if needs_host and not parts.hostname:
            raise ConfigError(f"{path}: {dotted}: no host in {url!r}")


_PN532_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)  # SetSerialBaudRate


def _check_reader_url(path: Path, url: str) -> None:
    """``pcsc://…``, ``pn532:///dev/<port>[?baud=N&poll=S&extended=0|1]`` or ``pn532+socket://host:port``
    (``poll`` and ``extended`` too; no baud: a socket has none). Raises ConfigError naming reader.url."""
    where = f"{path}: reader.url:"
    try:
        parts = urlsplit(url)
        port = parts.port
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise ConfigError(f"{where} bad URL {url!r}: {exc}") from exc
    if parts.scheme == "pcsc":
        return
    if parts.scheme not in ("pn532", "pn532+socket"):
        raise ConfigError(f"{where} expected a pcsc:// or pn532:// or pn532+socket:// URL, got {url!r}")
    allowed = {"poll", "extended"} | ({"baud"} if parts.scheme == "pn532" else set())
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ConfigError(f"{where} unknown option {unknown[0]!r} in {url!r} (known: {known})")
    if parts.scheme == "pn532+socket" and not (parts.hostname and port):
        raise ConfigError(f"{where} expected pn532+socket://host:port, got {url!r}")
    if parts.scheme == "pn532" and (parts.netloc or not parts.path.strip("/")):
        raise ConfigError(f"{where} expected pn532:///dev/<serial port>, got {url!r}")
    value = {k: v[-1] for k, v in options.items()}
    if "baud" in value and value["baud"] not in {str(b) for b in _PN532_BAUDS}:
        bauds = ", ".join(map(str, _PN532_BAUDS))
        raise ConfigError(f"{where} baud must be one of {bauds}, got {value['baud']!r}")
    if "poll" in value and not _poll_seconds(value["poll"]):
        raise ConfigError(
            f"{where} poll must be a positive number of seconds (0.01 to 1), got {value['poll']!r}"
        )
    if value.get("extended", "1").lower() not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(f"{where} extended must be 0 or 1, got {value['extended']!r}")


def _poll_seconds(text: str) -> bool:
    try:
        return 0.01 <= float(text) <= 1.0  # NaN compares false
    except ValueError:
        return False


def check_files(config: KioskConfig) -> None:
    """Check that the terminal certificate and key, the center CA and the JPKI CA bundle exist, parse,
    and fit together (the key is the certificate's, the certificate is valid now, the CA is a CA), and
    that the key is readable by its owner only.

    Raises ConfigError naming the key and the file.
    """
    where = f"{config.source}: " if config.source else ""
    cert = _certs(where, "center.terminal_cert", config.terminal_cert)[0]
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ConfigError(
            f"{where}center.terminal_cert: {config.terminal_cert} is valid only from "
            f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    key = _load(where, "center.terminal_key", config.terminal_key, _private_key)
    _owner_only(where, "center.terminal_key", config.terminal_key)
    if key.public_key().public_bytes(*_SPKI) != cert.public_key().public_bytes(*_SPKI):
        raise ConfigError(
            f"{where}center.terminal_key: {config.terminal_key} is not the key of {config.terminal_cert}"
        )
    for ca in _certs(where, "center.ca", config.center_ca):
        _must_be_ca(where, "center.ca", config.center_ca, ca)
    if config.jpki_ca_bundle is not None:
        _certs(where, "jpki.ca_bundle", config.jpki_ca_bundle)


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _load(where: str, dotted: str, file: Path, parse: Callable[[bytes], Any]) -> Any:
    try:
        data = file.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}{dotted}: file {file} not found") from exc
    except OSError as exc:
        raise ConfigError(f"{where}{dotted}: cannot read {file}: {exc.strerror or exc}") from exc
    try:
        return parse(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}{dotted}: {file}: {exc}") from exc


def _owner_only(where: str, dotted: str, file: Path) -> None:
    """Raises ConfigError unless ``file`` (a private key; behind its symlinks) is readable by its owner
    only: no permission at all for the group or others."""
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"{where}{dotted}: cannot read {file}: {exc.strerror or exc}") from exc
    if mode & 0o077:
        raise ConfigError(
            f"{where}{dotted}: {file} is mode {mode:04o}; a private key must be readable by its owner only"
            f" (chmod 600 {file})"
        )


def _certs(where: str, dotted: str, file: Path) -> list[x509.Certificate]:
    def parse(data: bytes) -> list[x509.Certificate]:
        try:
            found = x509.load_pem_x509_certificates(data)
        except (ValueError, x509.InvalidVersion):  # InvalidVersion is not a ValueError
            found = []
        if not found:
            raise ValueError("no PEM certificate in it")
        return found

    certs: list[x509.Certificate] = _load(where, dotted, file, parse)
    return certs


def _private_key(data: bytes) -> Any:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted: the kiosk starts unattended, nobody types a passphrase
        raise ValueError("the key is encrypted (the kiosk needs an unencrypted key, mode 0600)") from exc
    except ValueError as exc:
        raise ValueError("not a PEM private key") from exc


def _must_be_ca(where: str, dotted: str, file: Path, cert: x509.Certificate) -> None:
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        subject = cert.subject.rfc4514_string()
        raise ConfigError(f"{where}{dotted}: {file} holds {subject}, not a CA certificate")
