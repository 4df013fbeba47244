"""``firmware-sim card …``: make and inspect virtual My Number card images.

- ``card new OUT [--generation 2016|2023]``  personalise a card (defaults: the demo holder, PINs
  1234 / ABC123 / 1234, generation 2016); ``--atr`` overrides the generation's ATR
- ``card cert CARD {auth,sign,auth-ca,sign-ca}``  print a certificate as PEM
- ``card show CARD [--json]``  holder, serials, validity, PIN tries left (never the PINs)

Exit status: 0 ok, 1 failure (unreadable card, corrupt PKI, missing certificate), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from firmware_sim.card.generation import DEFAULT_GENERATION, PROFILES
from firmware_sim.card.image import PIN_NAMES, CardImage, CardImageError
from firmware_sim.holder import Holder, Sex, city_of, demo_holder, split_prefecture
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import PkiError, TestPki
from firmware_sim.pki.places import municipality_code_for
from reader.constants import ATR_EXTENDED, ATR_OPENSC_JPKI, CardGeneration, JpkiFile

PKI_ENV = "MYNA_KIOSK_PKI"
ATRS = {"opensc": ATR_OPENSC_JPKI, "extended": ATR_EXTENDED}
CERT_FILES = {
    "auth": JpkiFile.AUTH_CERT,
    "sign": JpkiFile.SIGN_CERT,
    "auth-ca": JpkiFile.AUTH_CA_CERT,
    "sign-ca": JpkiFile.SIGN_CA_CERT,
}
_PIN_NOTE = "note: PINs on a command line are fine for a virtual test card only; real PINs never go on one."


class UsageError(Exception):
    """Bad command-line values (exit 2)."""


def default_pki_dir() -> Path:
    """``$MYNA_KIOSK_PKI`` if set, else ``./.sim/pki`` (relative to the current directory)."""
    return Path(os.environ.get(PKI_ENV) or Path.cwd() / ".sim" / "pki")


def _birth(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of days, got {text!r}")
    return int(text)


def add_commands(sub: Any) -> None:
    """Add the ``card`` group to the firmware-sim parser."""
    card = sub.add_parser("card", help="virtual My Number card images")
    group = card.add_subparsers(dest="card_command", required=True)

    new = group.add_parser("new", help="personalise a new virtual card")
    new.add_argument("out", type=Path, metavar="OUT", help="card image file to write")
    new.add_argument("--auth-pin", default="1234", help="利用者証明用 PIN, 4 digits (default 1234)")
    new.add_argument("--sign-pin", default="ABC123", help="署名用パスワード, 6–16 A–Z0–9 (default ABC123)")
    new.add_argument("--kenmen-pin", default="1234", help="券面事項入力補助用 PIN, 4 digits (default 1234)")
    new.add_argument("--pki", type=Path, help=f"test PKI directory (default ${PKI_ENV} or ./.sim/pki)")
    new.add_argument("--name", help='氏名, family and given separated by a space ("山田 太郎")')
    new.add_argument("--kana", help='フリガナ in katakana ("ヤマダ タロウ")')
    new.add_argument("--address", help="住所 from the prefecture (full-width block numbers allowed)")
    new.add_argument("--municipality-code", help="団体コード (6 digits); derived from --address when known")
    new.add_argument("--birth", type=_birth, help="birth date YYYY-MM-DD")
    new.add_argument("--sex", choices=("1", "2", "9"), help="1 male, 2 female, 9 not applicable")
    new.add_argument("--my-number", help="12-digit 個人番号 with a valid check digit")
    validity = new.add_mutually_exclusive_group()
    validity.add_argument("--expired", action="store_true", help="certificates that expired yesterday")
    validity.add_argument("--valid-days", type=_positive, metavar="N", help="certificates valid for N days")
    new.add_argument("--no-sign-cert", action="store_true", help="no signature certificate (under-15 card)")
    new.add_argument(
        "--generation",
        choices=tuple(g.value for g in CardGeneration),
        default=DEFAULT_GENERATION.value,
        help="card generation: "
        + "; ".join(f"{g.value} = {p.summary}" for g, p in PROFILES.items())
        + f" (default {DEFAULT_GENERATION.value})",
    )
    new.add_argument("--atr", choices=tuple(ATRS), help="override the generation's ATR")
    new.add_argument(
        "--form",
        choices=("card", "android", "iphone"),
        default="card",
        help="a My Number card, or a smartphone holding the JPKI certificate (docs/card.md §11)",
    )
    new.set_defaults(func=_cmd_new)

    cert = group.add_parser("cert", help="print a certificate from a card as PEM")
    cert.add_argument("card", type=Path, metavar="CARD")
    cert.add_argument("which", choices=tuple(CERT_FILES))
    cert.set_defaults(func=_cmd_cert)

    show = group.add_parser("show", help="holder, serials, validity and PIN tries left")
    show.add_argument("card", type=Path, metavar="CARD")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_cmd_show)


def _fail(command: str, message: str, status: int) -> int:
    print(f"firmware-sim card {command}: error: {message}", file=sys.stderr)
    return status


def _split_pair(text: str, label: str) -> tuple[str, str]:
    parts = text.replace("\u3000", " ").split()
    if len(parts) != 2:
        raise UsageError(f"--{label} needs family and given name separated by a space, got {text!r}")
    return parts[0], parts[1]


def holder_from_args(args: argparse.Namespace) -> Holder:
    """The demo holder with every given option applied. Raises UsageError for bad values."""
    holder = demo_holder()
    changes: dict[str, Any] = {}
    if args.name:
        changes["family_name"], changes["given_name"] = _split_pair(args.name, "name")
    if args.kana:
        changes["family_kana"], changes["given_kana"] = _split_pair(args.kana, "kana")
    if args.birth:
        changes["birth_date"] = args.birth
    if args.sex:
        changes["sex"] = Sex(int(args.sex))
    if args.my_number:
        changes["my_number"] = args.my_number
    if args.address:
        changes["address"] = args.address
    if args.municipality_code:
        changes["municipality_code"] = args.municipality_code
    elif args.address:
        try:
            code = municipality_code_for(split_prefecture(args.address)[0], city_of(args.address))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if code is None:
            raise UsageError("unknown municipality in --address; pass --municipality-code")
        changes["municipality_code"] = code
    try:
        return replace(holder, **changes).validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _cmd_new(args: argparse.Namespace) -> int:
    try:
        holder = holder_from_args(args)
    except UsageError as exc:
        return _fail("new", str(exc), 2)
    not_after = datetime.now(UTC) + timedelta(days=args.valid_days) if args.valid_days else None
    print(_PIN_NOTE, file=sys.stderr)
    try:
        pki = TestPki.open(args.pki or default_pki_dir())
        card = personalise_card(
            args.out,
            pki=pki,
            holder=holder,
            auth_pin=args.auth_pin,
            sign_pin=args.sign_pin,
            kenmen_pin=args.kenmen_pin,
            expired=args.expired,
            not_after=not_after,
            with_sign_cert=not args.no_sign_cert,
            generation=args.generation,
            atr=ATRS[args.atr] if args.atr else None,
            form=args.form,
        )
    except ValueError as exc:
        return _fail("new", str(exc), 2)
    except (PkiError, CardImageError, OSError) as exc:
        return _fail("new", str(exc), 1)
    cert = card.auth_cert
    print(f"card:      {card.path} (generation {card.generation.value})")
    print(f"holder:    {holder.name} ({holder.kana}), born {holder.birth_date.isoformat()}")
    print(f"address:   {holder.address} [{holder.municipality_code}]")
    print(f"auth cert: serial {card.auth_serial_hex}")
    print(f"sign cert: {'serial ' + card.sign_serial_hex if card.sign_serial_hex else 'none'}")
    print(f"validity:  {cert.not_valid_before_utc.isoformat()} → {cert.not_valid_after_utc.isoformat()}")
    return 0


def _load(command: str, path: Path) -> CardImage | int:
    try:
        return CardImage.load(path)
    except CardImageError as exc:
        return _fail(command, str(exc), 1)


def _cmd_cert(args: argparse.Namespace) -> int:
    image = _load("cert", args.card)
    if isinstance(image, int):
        return image
    der = image.jpki_files.get(CERT_FILES[args.which])
    if der is None:
        return _fail("cert", f"{args.card}: this card has no {args.which} certificate", 1)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return _fail("cert", f"{args.card}: {args.which} certificate is corrupt ({exc})", 1)
    sys.stdout.write(cert.public_bytes(Encoding.PEM).decode("ascii"))
    return 0


def card_summary(image: CardImage) -> dict[str, Any]:
    """What ``card show`` reports: meta (no PINs, no My Number), certificates, PIN tries left."""
    summary: dict[str, Any] = {"path": str(image.path), "atr": image.atr.hex(" ").upper()}
    summary["meta"] = dict(image.meta)
    certs: dict[str, Any] = {}
    for which in ("auth", "sign"):
        der = image.jpki_files.get(CERT_FILES[which])
        if der is None:
            certs[which] = None
            continue
        cert = x509.load_der_x509_certificate(der)
        certs[which] = {
            "serial": format(cert.serial_number, "X"),
            "subject": cert.subject.rfc4514_string(),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
        }
    summary["certificates"] = certs
    summary["pin_tries_left"] = {
        name: {"left": image.tries_left(name), "max": image.max_tries(name)}
        for name in PIN_NAMES
        if image.has_pin(name)
    }
    return summary


def _cmd_show(args: argparse.Namespace) -> int:
    image = _load("show", args.card)
    if isinstance(image, int):
        return image
    try:
        summary = card_summary(image)
    except (ValueError, KeyError) as exc:
        return _fail("show", f"{args.card}: corrupt card contents ({exc})", 1)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"card:   {summary['path']}")
    print(f"ATR:    {summary['atr']}")
    for key, value in summary["meta"].items():
        print(f"{key + ':':19} {value}")
    for which, info in summary["certificates"].items():
        if info is None:
            print(f"{which} cert:  none")
        else:
            print(f"{which} cert:  serial {info['serial']}, {info['not_before']} → {info['not_after']}")
    for name, tries in summary["pin_tries_left"].items():
        print(f"{name} PIN: {tries['left']}/{tries['max']} tries left")
    return 0
