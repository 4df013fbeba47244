"""`myna-reader`: look at a My Number card from the command line.

PINs are read with getpass from the terminal, or one line from stdin when it is not a terminal,
never from argv. Errors print one clear line and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reader.basic_info import parse_basic_info
from reader.constants import TokenForm
from reader.errors import (
    CardError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinBlockedError,
    PinIncorrectError,
    SecurityStatusNotSatisfiedError,
)
from reader.generation import generation_from_basic_info, identify_generation
from reader.jpki import CertKind, JpkiClient, KeyKind
from reader.kenmen import KenmenClient
from reader.pin import mask_my_number
from reader.transport import Transport, open_transport

Out = Callable[[str], None]


def _print(text: str) -> None:
    print(text, flush=True)


@contextmanager
def connected(url: str | None) -> Iterator[Transport]:
    """A connected transport for ``url`` (None: first PC/SC reader with a card), unpowered after."""
    transport = open_transport(url)
    transport.connect(exclusive=True)
    try:
        yield transport
    finally:
        transport.disconnect(unpower=True)
        close = getattr(transport, "close", None)
        if callable(close):
            close()


def read_pin(prompt: str) -> str:
    """The PIN from the terminal (not echoed) or one line of stdin. Raises EOFError on no input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError("no PIN on standard input")
    return line.rstrip("\r\n")


def _cert_fields(cert: x509.Certificate) -> dict[str, str]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": f"{cert.serial_number:X}",
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def cmd_readers(args: argparse.Namespace, out: Out) -> int:
    """List readers and cards. Raises NoReaderError, TransportError."""
    from reader.pcsc import list_readers

    readers = list_readers()
    if not readers:
        raise NoReaderError("no smart-card reader is attached")
    for index, info in enumerate(readers):
        card = f"card  ATR {info.atr.hex(' ').upper()}" if info.atr is not None else "no card"
        out(f"#{index}  {info.name}  {card}")
    return 0


def gather_info(client: JpkiClient) -> dict[str, Any]:
    """What `info` shows, as a JSON-able dict. Raises CardError subclasses.

    ``generation`` is the card generation where the card lets us tell without a PIN (its contact ATR,
    or GET DATA 5F51 behind a contactless reader), else null; ``generation_evidence`` says which.
    """
    guess = identify_generation(client)  # first: GET DATA answers only before any SELECT
    card = client.detect()
    presence = client.cert_presence()
    info: dict[str, Any] = {
        "token": card.token,
        "card": card.description,
        "reader": card.reader,
        "atr": card.atr.hex().upper(),
        "generation": guess.generation.value if guess.generation else None,
        "generation_evidence": guess.evidence.value,
        "form": card.form.value,
    }
    if card.auth_cert_needs_pin:  # a phone shows its certificate only after the PIN / unlock
        info["auth_cert_needs_pin"] = True
    else:
        cert = _cert_fields(client.read_certificate(CertKind.AUTH))
        info.update({f"auth_cert_{key}": value for key, value in cert.items()})
    info["auth_pin_tries_left"] = client.pin_status(KeyKind.AUTH)
    info["sign_cert_present"] = presence.sign
    info["sign_pin_tries_left"] = client.pin_status(KeyKind.SIGN) if presence.sign else None
    return info


def cmd_info(args: argparse.Namespace, out: Out) -> int:
    """Token, auth certificate and PIN tries left. Raises CardError subclasses."""
    with connected(args.reader) as transport:
        info = gather_info(JpkiClient(transport))
    if args.json:
        out(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    out(f"Reader:            {info['reader']}")
    out(f"Card:              {info['card']} (token {info['token']})")
    out(f"ATR:               {info['atr']}")
    generation = info["generation"] or "cannot tell without a PIN"
    out(f"Generation:        {generation} (from {info['generation_evidence']})")
    if info.get("auth_cert_needs_pin"):
        out("Auth certificate:  readable after the auth PIN (smartphone)")
    else:
        out(f"Auth certificate:  {info['auth_cert_subject']}")
        out(f"  serial:          {info['auth_cert_serial']}")
        out(f"  issuer:          {info['auth_cert_issuer']}")
        out(f"  valid:           {info['auth_cert_not_before']} .. {info['auth_cert_not_after']}")
    out(f"Auth PIN:          {info['auth_pin_tries_left']} tries left")
    sign = info["sign_pin_tries_left"]
    out(f"Sign password:     {'no signature certificate' if sign is None else f'{sign} tries left'}")
    return 0


def _verify(client: JpkiClient, kind: KeyKind, out: Out) -> None:
    if (
        client.detect().form is TokenForm.IPHONE
    ):  # unlocked on the phone: no PIN from a reader (card.md §11.2)
        return
    if client.pin_status(kind) == 0:
        raise PinBlockedError(0x6984)
    label = "user-authentication PIN (4 digits)" if kind is KeyKind.AUTH else "signature password"
    client.verify_pin(kind, read_pin(f"{label}: "))


def cmd_verify(args: argparse.Namespace, out: Out) -> int:
    """Verify the auth PIN (or sign password). Raises PinIncorrectError, PinBlockedError, CardError."""
    kind = KeyKind.SIGN if args.sign else KeyKind.AUTH
    with connected(args.reader) as transport:
        _verify(JpkiClient(transport), kind, out)
    out(f"{kind.value} PIN verified")
    return 0


def check_signature(cert: x509.Certificate, signature: bytes, message: bytes) -> None:
    """Raises InvalidSignature unless ``signature`` is sha256WithRSA over ``message`` by ``cert``."""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature("certificate key is not RSA")
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def cmd_sign(args: argparse.Namespace, out: Out) -> int:
    """Verify the auth PIN, sign SHA-256 of the input, check it. Raises CardError, OSError."""
    if args.file is not None:
        with open(args.file, "rb") as handle:
            message = handle.read()
    else:
        message = (args.text if args.text is not None else "").encode("utf-8")
    with connected(args.reader) as transport:
        client = JpkiClient(transport)
        _verify(client, KeyKind.AUTH, out)
        cert = client.read_certificate(CertKind.AUTH)  # after the PIN: a phone shows it only then
        signature = client.sign_sha256(KeyKind.AUTH, message)
    out(f"signature (hex):    {signature.hex()}")
    out(f"signature (base64): {base64.b64encode(signature).decode()}")
    try:
        check_signature(cert, signature, message)
    except InvalidSignature:
        out("signature does NOT verify against the user-authentication certificate")
        return 1
    out(f"signature verified with the certificate of {cert.subject.rfc4514_string()}")
    return 0


def cmd_basic_info(args: argparse.Namespace, out: Out) -> int:
    """券面事項入力補助AP: basic 4 info and masked My Number. Raises CardError subclasses."""
    with connected(args.reader) as transport:
        client = KenmenClient(transport)
        if client.pin_status() == 0:
            raise PinBlockedError(0x6984)
        client.verify_pin(read_pin("券面事項入力補助 PIN (4 digits): "))
        raw = client.read_basic_info_file()
        info = parse_basic_info(raw)
        number = client.read_my_number()
        client.check_integrity()
    out(f"Name:      {info.name}")
    out(f"Address:   {info.address}")
    out(f"Birth:     {info.birth[:4]}-{info.birth[4:6]}-{info.birth[6:]}")
    out(f"Sex:       {info.sex_name}")
    out(f"My Number: {mask_my_number(number)} (check digit valid)")
    out("Integrity: hashes match")
    out(f"Generation: {generation_from_basic_info(raw).value} (from the basic-info header form)")
    return 0


def describe_error(exc: BaseException) -> str:
    """One line for the user, for every error the commands can meet."""
    if isinstance(exc, PinBlockedError):
        return "the PIN is locked (no tries left): it can only be reset at the municipal office"
    if isinstance(exc, PinIncorrectError):
        return f"wrong PIN: {exc.tries_left} {'try' if exc.tries_left == 1 else 'tries'} left"
    if isinstance(exc, NoReaderError):
        return f"no card reader: {exc}"
    if isinstance(exc, NoCardError):
        return f"no card: {exc}"
    if isinstance(exc, CardRemovedError):
        return f"the card was removed: {exc}"
    if isinstance(exc, NotMyNumberCardError):
        return str(exc)
    if isinstance(exc, SecurityStatusNotSatisfiedError):
        return "the card refused: that needs a PIN that has not been verified"
    if isinstance(exc, EOFError):
        return "no PIN given"
    return str(exc) or type(exc).__name__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (usage errors exit 2)."""
    parser = argparse.ArgumentParser(prog="myna-reader", description="Read a My Number card (JPKI).")
    sub = parser.add_subparsers(dest="command", required=True)
    reader_help = (
        "reader URL: pcsc:// (default: first reader with a card), pcsc://NAME, pcsc://#N, sim://IMAGE"
    )
    sub.add_parser("readers", help="list PC/SC readers and cards").set_defaults(func=cmd_readers)
    info = sub.add_parser("info", help="token, user-authentication certificate, PIN tries left")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=cmd_info)
    verify = sub.add_parser("verify", help="verify a PIN (read from the terminal or stdin)")
    verify.add_argument("--sign", action="store_true", help="the signature password instead of the auth PIN")
    verify.set_defaults(func=cmd_verify)
    sign = sub.add_parser("sign", help="sign with the user-authentication key (SHA-256)")
    what = sign.add_mutually_exclusive_group(required=True)
    what.add_argument("--file", help="file to sign")
    what.add_argument("--text", help="text to sign (UTF-8)")
    sign.set_defaults(func=cmd_sign)
    basic = sub.add_parser(
        "basic-info", help="券面事項入力補助AP: name, address, birth, sex, masked My Number"
    )
    basic.set_defaults(func=cmd_basic_info)
    for command in (info, verify, sign, basic):
        command.add_argument("--reader", metavar="URL", help=reader_help)
    return parser


def main(argv: Sequence[str] | None = None, out: Out = _print) -> int:
    """Run one command; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args, out)
    except (CardError, EOFError, OSError) as exc:
        print(f"myna-reader: {describe_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("myna-reader: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
