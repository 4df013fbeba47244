"""The mock center's state, shared by every handler: ``Center`` (its PKI, register, ledger, clock, faults)
and its tunables (``CenterConfig``). No HTTP here: ``mock_relay.app`` builds the aiohttp applications
around one Center, and the route modules reach it through ``mock_relay.routes.common.CENTER_KEY``.

The data directory is owner-only (0700): it holds the center's keys, the admin token (0600), the
resident register and the ledger (SQLite, 0600).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from firmware_sim.pki.hierarchy import KeyFactory, TestPki
from mock_relay.documents.renderer import Renderer, renderer_for
from mock_relay.faults import CenterClock, Faults, Maintenance
from mock_relay.jpki_check import JpkiChecker
from mock_relay.ledger import Ledger
from mock_relay.ocsp import OcspResponder
from mock_relay.private import owner_only_dir, write_owner_only
from mock_relay.registry.store import Registry
from mock_relay.tls import CenterPki


@dataclass
class CenterConfig:
    """Tunables (CLI flags). The connection limits bound what one client can hold open on a listener."""

    challenge_ttl_s: float = 120.0
    session_ttl_s: float = 600.0
    ocsp_timeout_s: float = 5.0
    #: a connection must complete its TLS handshake, and a request's headers must arrive, within this
    #: many seconds (from the request's first byte)
    header_timeout_s: float = 15.0
    #: a connection idle between requests is closed after this many seconds
    idle_timeout_s: float = 60.0
    #: a request body must arrive completely within this many seconds once its headers are in
    body_timeout_s: float = 15.0
    #: open connections one client may hold on one listener (a terminal on the API listener, a peer
    #: address on the public and plain listeners)
    max_connections_per_client: int = 64
    #: what holds the certificate (``card``, ``android``, ``iphone``) each terminal accepts, by terminal
    #: id; a terminal not named accepts every form. The service started Android at two chains only.
    terminal_forms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: worker processes that render documents (0: a thread of the server's own process); a busy center
    #: wants one per core (mock_relay.documents.renderer)
    render_processes: int = 0
    #: processes serving the mutual-TLS API on one port (``SO_REUSEPORT``); with more than one, the
    #: operator controls and connection counts are shared through ``<data>/controls.sqlite``
    #: (mock_relay.shared) and, with ``render_processes == 0``, each renders in line on its own loop
    api_processes: int = 1

    def accepts(self, terminal_id: str, form: str) -> bool:
        """True when ``terminal_id`` takes certificates held by ``form``. Never raises."""
        forms = self.terminal_forms.get(terminal_id)
        return forms is None or form in forms


@dataclass
class Urls:
    """Where the listeners ended up (filled in by the server once bound)."""

    api: str = ""
    public: str = ""
    plain: str = ""

    @property
    def ocsp(self) -> str:
        """The OCSP responder URL."""
        return f"{self.plain}/ocsp"

    def verify(self, code: str) -> str:
        """The public verification URL printed on a document."""
        return f"{self.public}/v1/verify/{code}"


@dataclass
class Center:
    """Everything the handlers share. Open with :meth:`open`."""

    data_dir: Path
    config: CenterConfig
    center_pki: CenterPki
    jpki: TestPki
    registry: Registry
    ledger: Ledger
    clock: CenterClock
    faults: Faults
    maintenance: Maintenance
    responder: OcspResponder
    checker: JpkiChecker
    admin_token: str
    renderer: Renderer
    urls: Urls = field(default_factory=Urls)
    locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        config: CenterConfig | None = None,
        clock: CenterClock | None = None,
        key_factory: KeyFactory | None = None,
        *,
        faults: Faults | None = None,
        maintenance: Maintenance | None = None,
    ) -> Center:
        """Open (creating and seeding on first use) the center's data directory.

        ``key_factory`` makes the JPKI test PKI's RSA keys (tests pass a pre-generated pool). ``faults`` and
        ``maintenance`` replace the process-local controls (mock_relay.shared, for several API processes).

        Raises CenterPkiError / PkiError for corrupt PKI files, sqlite3.Error for a corrupt database,
        OSError when the directory cannot be written.
        """
        owner_only_dir(data_dir)
        config = config or CenterConfig()
        clock = clock or CenterClock()
        jpki = TestPki.open(data_dir / "jpki", key_factory=key_factory)
        registry = Registry(data_dir / "registry.sqlite", clock=clock.now, background_checkpoints=True)
        renderer = renderer_for(
            registry, data_dir / "registry.sqlite", config.render_processes, inline=config.api_processes > 1
        )
        center = cls(
            data_dir=data_dir,
            config=config,
            center_pki=CenterPki.open(owner_only_dir(data_dir / "center")),
            jpki=jpki,
            registry=registry,
            ledger=Ledger(data_dir / "ledger.sqlite", background_checkpoints=True),
            clock=clock,
            faults=faults or Faults(),
            maintenance=maintenance or Maintenance(),
            responder=OcspResponder(jpki),
            checker=JpkiChecker(jpki, "", timeout=config.ocsp_timeout_s),
            admin_token=_admin_token(data_dir),
            renderer=renderer,
        )
        # The center asks its own responder in process: the same DER request and checks, no HTTP hop.
        center.checker.local = center.answer_ocsp
        return center

    def answer_ocsp(self, request_der: bytes) -> bytes | None:
        """The responder's DER answer to ``request_der``, or None while an ``ocsp_down`` fault holds (the
        responder is "down": HTTP 503 with tryLater on the wire). Never raises for bad input."""
        if any(r.kind == "ocsp_down" for r in self.faults.take("ocsp", None, ocsp=True)):
            return None
        return self.responder.respond(request_der)

    def close(self) -> None:
        """Stop the renderer and close the databases."""
        self.renderer.close()
        self.ledger.close()
        self.registry.close()


def _admin_token(data_dir: Path) -> str:
    path = data_dir / "admin-token"
    if not path.exists():
        write_owner_only(path, secrets.token_urlsafe(24))
    path.chmod(0o600)  # a token from an older run is tightened too
    return path.read_text().strip()
