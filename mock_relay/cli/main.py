"""``mock-relay``: run the mock issuance center and manage its test artefacts.

    mock-relay serve --data DIR [--host 127.0.0.1] [--port 0] [--clock ISO [--frozen]]
    mock-relay info --data DIR
    mock-relay terminal new --data DIR --out TDIR [--id T-0001]
    mock-relay residents --data DIR [--json]
    mock-relay card new --data DIR RESIDENT_ID --out CARD [--auth-pin 1234] [--sign-pin ABC123] [--expired]
                        [--generation 2016|2023]
    mock-relay revoke --data DIR CARD [--reason key_compromise]
    mock-relay fault --data DIR {list | clear | remove ID | add --kind K [--route OP] [--terminal T] ...}
    mock-relay clock --data DIR [--set ISO [--frozen] | --real]
    mock-relay maintenance --data DIR [--add START END | --clear]

``fault``/``clock``/``maintenance`` talk to the running server's admin routes (URL and token from DIR).
Errors print one line to stderr and exit 2; PINs are never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mock_relay.faults import FAULT_KINDS, CenterClock, FaultError
from mock_relay.private import owner_only_dir

log = logging.getLogger(__name__)


class CliError(Exception):
    """A user-facing failure (one line, exit status 2)."""


# --- serve / info / terminal ---------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    from mock_relay.center import CenterConfig
    from mock_relay.server import RelayServer

    clock = CenterClock()
    if args.clock:
        clock.set(_parse_time(args.clock), frozen=args.frozen)
    config = CenterConfig(
        challenge_ttl_s=args.challenge_ttl,
        session_ttl_s=args.session_ttl,
        max_connections_per_client=args.max_connections,
        render_processes=args.render_processes,
        api_processes=args.api_processes,
    )
    server = RelayServer(
        Path(args.data),
        host=args.host,
        port=args.port,
        public_port=args.public_port,
        plain_port=args.ocsp_port,
        config=config,
        clock=clock,
    )

    def ready() -> None:
        print(f"listening on {server.api_url}", flush=True)

    server.serve_forever(on_ready=ready)
    return 0


def _info(args: argparse.Namespace) -> int:
    from mock_relay.server import read_running

    data = Path(args.data)
    if not (data / "center" / "center-ca.pem").exists():
        raise CliError(
            f"{data}: not a mock-relay data directory (run `mock-relay serve --data {data}` first)"
        )
    running = read_running(data) or {}
    info = {
        "api_url": running.get("api_url"),
        "public_url": running.get("public_url"),
        "ocsp_url": running.get("ocsp_url"),
        "admin_url": running.get("admin_url"),
        "pid": running.get("pid"),
        "center_ca": str((data / "center" / "center-ca.pem").resolve()),
        "terminal_ca": str((data / "center" / "terminal-ca.pem").resolve()),
        "document_signer": str((data / "center" / "document-signer.pem").resolve()),
        "jpki_auth_ca": str((data / "jpki" / "auth-ca-bundle.pem").resolve()),
        "jpki_sign_ca": str((data / "jpki" / "sign-ca-bundle.pem").resolve()),
        "ledger": str((data / "ledger.sqlite").resolve()),
        "registry": str((data / "registry.sqlite").resolve()),
    }
    print(json.dumps(info, indent=2))
    return 0


def _terminal_new(args: argparse.Namespace) -> int:
    from mock_relay.tls import CenterPki

    out = CenterPki.open(Path(args.data) / "center").issue_terminal(args.id, Path(args.out))
    summary = {
        "terminal_id": args.id,
        "cert": str(out / "terminal.pem"),
        "key": str(out / "terminal.key"),
        "center_ca": str(out / "center-ca.pem"),
    }
    print(json.dumps(summary))
    return 0


# --- registry and cards --------------------------------------------------------------------------------
def _residents(args: argparse.Namespace) -> int:
    from mock_relay.registry.store import Registry

    owner_only_dir(Path(args.data))
    registry = Registry(Path(args.data) / "registry.sqlite")
    try:
        rows = [
            {
                "id": r.id,
                "municipality_code": r.municipality_code,
                "name": r.full_name,
                "kana": r.full_kana,
                "notes": registry.notes(r),
            }
            for r in registry.residents()
        ]
    finally:
        registry.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['id']}\t{row['municipality_code']}\t{row['name']}\t{', '.join(row['notes'])}")
    return 0


def _card_new(args: argparse.Namespace) -> int:
    from mock_relay.cli.cards import issue_card

    card = issue_card(
        Path(args.data),
        args.resident_id,
        Path(args.out),
        auth_pin=args.auth_pin,
        sign_pin=args.sign_pin,
        expired=args.expired,
        generation=args.generation,
        form=args.form,
    )
    print(json.dumps(card, ensure_ascii=False))
    return 0


def _add_generation(p: argparse.ArgumentParser) -> None:
    """``card new --generation``: which card generation to personalise (docs/card.md §1.1)."""
    from firmware_sim.card.generation import DEFAULT_GENERATION
    from reader.constants import CardGeneration

    p.add_argument(
        "--generation",
        choices=tuple(g.value for g in CardGeneration),
        default=DEFAULT_GENERATION.value,
        help=f"card generation (docs/card.md §1.1; default {DEFAULT_GENERATION.value})",
    )


def _revoke(args: argparse.Namespace) -> int:
    from mock_relay.cli.cards import revoke_card

    print(json.dumps(revoke_card(Path(args.data), Path(args.card), args.reason)))
    return 0


# --- admin (running server) ----------------------------------------------------------------------------
def _admin(data: Path, method: str, path: str, body: Any = None) -> Any:
    from mock_relay.server import read_running

    running = read_running(data)
    if not running or not running.get("admin_url"):
        raise CliError(f"{data}: no running server (start `mock-relay serve --data {data}`)")
    token = (data / "admin-token").read_text().strip()
    payload = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - the URL is our own loopback listener
        f"{running['admin_url']}{path}",
        data=payload,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise CliError(f"the server refused: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"cannot reach the running server: {exc}") from exc


def _fault(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if args.action == "list":
        result = _admin(data, "GET", "/admin/faults")
    elif args.action == "clear":
        result = _admin(data, "DELETE", "/admin/faults")
    elif args.action == "remove":
        result = _admin(data, "DELETE", f"/admin/faults/{args.rule_id}")
    else:
        rule = {
            "kind": args.kind,
            "route": args.route,
            "terminal": args.terminal,
            "status": args.status,
            "delay_s": args.delay,
            "count": args.count,
        }
        result = _admin(data, "POST", "/admin/faults", rule)
    print(json.dumps(result))
    return 0


def _clock(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if args.real:
        result = _admin(data, "POST", "/admin/clock", {"at": None})
    elif args.set:
        _parse_time(args.set)
        result = _admin(data, "POST", "/admin/clock", {"at": args.set, "frozen": args.frozen})
    else:
        result = _admin(data, "GET", "/admin/clock")
    print(json.dumps(result))
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if args.clear:
        result = _admin(data, "DELETE", "/admin/maintenance")
    elif args.add:
        start, end = (_parse_time(x).isoformat() for x in args.add)
        result = _admin(data, "POST", "/admin/maintenance", {"start": start, "end": end})
    else:
        result = _admin(data, "GET", "/admin/maintenance")
    print(json.dumps(result))
    return 0


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise CliError(f"{text!r} needs an offset, e.g. 2026-12-01T10:00:00+09:00")
    return moment


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (at most 6 digits). Raises ArgumentTypeError."""
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return int(text)


def _non_negative_int(text: str) -> int:
    """argparse type: an integer from 0 to 64. Raises ArgumentTypeError."""
    if not (text.isascii() and text.isdigit() and len(text) <= 2 and int(text) <= 64):
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 64, not {text!r}")
    return int(text)


# --- parser --------------------------------------------------------------------------------------------
def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="the center's data directory (created on first use)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by tests)."""
    parser = argparse.ArgumentParser(prog="mock-relay", description="mock issuance center (コンビニ交付)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the center until SIGTERM")
    _data(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="API (mTLS) port; 0 = any free port")
    p.add_argument("--public-port", type=int, default=0, help="public verification listener port")
    p.add_argument("--ocsp-port", type=int, default=0, help="plain HTTP (OCSP + admin) port")
    p.add_argument("--clock", help="start the center clock at this ISO time (with offset)")
    p.add_argument("--frozen", action="store_true", help="freeze the clock at --clock")
    p.add_argument("--challenge-ttl", type=float, default=120.0, help="seconds a challenge is valid")
    p.add_argument("--session-ttl", type=float, default=600.0, help="seconds an authenticated session lives")
    p.add_argument(
        "--render-processes",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="render documents in N worker processes (0: in a thread of the server; a busy center wants"
        " one per core)",
    )
    p.add_argument(
        "--api-processes",
        type=_positive_int,
        default=1,
        metavar="N",
        help="serve the kiosk API from N processes on one port (a busy center wants one per core; with"
        " --render-processes 0 each renders its own documents)",
    )
    p.add_argument(
        "--max-connections",
        type=_positive_int,
        default=64,
        help="connections one client (a terminal, or an address on the public listener) may hold",
    )
    p.set_defaults(func=_serve)

    p = sub.add_parser("info", help="paths and URLs as JSON")
    _data(p)
    p.set_defaults(func=_info)

    term = sub.add_parser("terminal", help="kiosk terminal certificates").add_subparsers(
        dest="sub", required=True
    )
    p = term.add_parser("new", help="issue a terminal client certificate")
    _data(p)
    p.add_argument("--out", required=True)
    p.add_argument("--id", default="T-0001")
    p.set_defaults(func=_terminal_new)

    p = sub.add_parser("residents", help="list the synthetic residents")
    _data(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_residents)

    card = sub.add_parser("card", help="virtual My Number cards").add_subparsers(dest="sub", required=True)
    p = card.add_parser("new", help="personalise a card image for a resident")
    _data(p)
    p.add_argument("resident_id")
    p.add_argument("--out", required=True)
    p.add_argument("--auth-pin", default="1234")
    p.add_argument("--sign-pin", default="ABC123")
    p.add_argument("--expired", action="store_true")
    _add_generation(p)
    p.add_argument(
        "--form", choices=("card", "android", "iphone"), default="card", help="a card or a smartphone"
    )
    p.set_defaults(func=_card_new)

    p = sub.add_parser("revoke", help="revoke a card's user-authentication certificate")
    _data(p)
    p.add_argument("card")
    p.add_argument("--reason", default="unspecified", help="an x509 ReasonFlags name, e.g. key_compromise")
    p.set_defaults(func=_revoke)

    _add_admin_parsers(sub)
    return parser


def _add_admin_parsers(sub: Any) -> None:
    p = sub.add_parser("fault", help="scripted faults on the running server")
    _data(p)
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list")
    actions.add_parser("clear")
    rm = actions.add_parser("remove")
    rm.add_argument("rule_id", type=int)
    add = actions.add_parser("add")
    add.add_argument("--kind", required=True, choices=FAULT_KINDS)
    add.add_argument("--route", help="OpenAPI operationId, e.g. issueDocuments (default: every route)")
    add.add_argument("--terminal", help="terminal id (default: every terminal)")
    add.add_argument("--status", type=int, default=503)
    add.add_argument("--delay", type=float, default=0.0, help="seconds (latency)")
    add.add_argument("--count", type=int, help="retire after this many hits")
    p.set_defaults(func=_fault)

    p = sub.add_parser("clock", help="the running center's clock")
    _data(p)
    p.add_argument("--set", help="ISO time with offset")
    p.add_argument("--frozen", action="store_true")
    p.add_argument("--real", action="store_true", help="back to real time")
    p.set_defaults(func=_clock)

    p = sub.add_parser("maintenance", help="center-wide maintenance windows")
    _data(p)
    p.add_argument("--add", nargs=2, metavar=("START", "END"))
    p.add_argument("--clear", action="store_true")
    p.set_defaults(func=_maintenance)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the exit status (2 on a user-facing error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        result: int = args.func(args)
        return result
    except (CliError, FaultError, ValueError, KeyError, OSError, sqlite3.Error) as exc:
        print(f"mock-relay: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the PKI's own errors (PkiError, CardImageError) without importing them all
        print(f"mock-relay: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
