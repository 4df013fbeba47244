"""IssuanceClient: the kiosk's calls to the issuance center, typed and checked at the edge.

Each state-changing call gets a fresh Idempotency-Key per logical operation (or the caller's, e.g. one kept
in the kiosk's journal across a restart); the transport retries with that same key, so a dropped answer is
answered again by the center, never acted on twice. The client keeps no session state of its own: values
returned by one call (Session → Authenticated → Order) are what the next takes, and they carry what the
kiosk computed itself (terminal id from its own certificate, the certificate-serial hash from the card's
certificate), against which every issued document is checked.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.x509.oid import NameOID

from relay_client import models as m
from relay_client.auth import auth_message, b64_encode, cert_serial_hash_of
from relay_client.body import DEFAULT_LIMITS, AnswerLimits, too_large
from relay_client.documents import Expected, verify_documents
from relay_client.errors import CenterProtocolError, ConfigurationError
from relay_client.http import DEFAULT_RETRY, DEFAULT_TIMEOUTS, CenterHttp, RetryPolicy, Timeouts

log = logging.getLogger(__name__)
Cancel = threading.Event | None


def new_idempotency_key() -> str:
    """A fresh key for one logical operation (UUID4, 36 visible ASCII characters)."""
    return str(uuid.uuid4())


class IssuanceClient:
    """The kiosk's side of the link to the issuance center (mutual TLS, pinned center CA)."""

    def __init__(
        self,
        base_url: str,
        cert: Path,
        key: Path,
        center_ca: Path,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        public_url: str | None = None,
        limits: AnswerLimits = DEFAULT_LIMITS,
    ) -> None:
        """Load the terminal certificate and the center CA. Raises ConfigurationError if unreadable."""
        self.center_ca = _load_cert(center_ca, "center CA")
        self.terminal_id = _common_name(_load_cert(cert, "terminal certificate"))
        if not key.is_file():
            raise ConfigurationError(f"terminal key {key} not found")
        self.limits = limits
        self._http = CenterHttp(base_url, cert, key, center_ca, timeouts=timeouts, retry=retry, limits=limits)
        self._public = (
            CenterHttp(public_url, cert, key, center_ca, timeouts=timeouts, retry=retry, limits=limits)
            if public_url
            else self._http
        )

    def close(self) -> None:
        """Close pooled connections. Never raises."""
        self._http.close()
        self._public.close()

    def __enter__(self) -> IssuanceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- diagnostics ---------------------------------------------------------------------------
    def health(self, *, cancel: Cancel = None) -> m.Health:
        """GET /v1/health. Raises CenterError subclasses, CancelledError."""
        return m.parse_health(_fields(self._http.get("/v1/health", cancel=cancel).body, "health"))

    def heartbeat(
        self, devices: Mapping[str, str], *, app_version: str = "", cancel: Cancel = None
    ) -> m.HeartbeatAck:
        """POST /v1/terminals/heartbeat with device states. Raises CenterError subclasses, CancelledError."""
        body: dict[str, Any] = {"devices": dict(devices)}
        if app_version:
            body["app_version"] = app_version
        answer = self._http.post(
            "/v1/terminals/heartbeat", body, idempotency_key=new_idempotency_key(), cancel=cancel
        )
        return m.parse_heartbeat(_fields(answer.body, "heartbeat"))

    # --- session ---------------------------------------------------------------------------------
    def open_session(
        self, *, language: str = "ja", idempotency_key: str | None = None, cancel: Cancel = None
    ) -> m.Session:
        """POST /v1/sessions: a new session and its challenge.

        Raises CenterRefusal (out_of_hours, year_end_closure, maintenance, ...), CenterProtocolError if the
        center names another terminal than our certificate's CN, other CenterError subclasses, CancelledError.
        """
        answer = self._http.post(
            "/v1/sessions",
            {"language": language},
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        session = m.parse_session(_fields(answer.body, "session"))
        _same("session.terminal_id", session.terminal_id, self.terminal_id)
        return session

    def authenticate(
        self,
        session: m.Session,
        certificate_der: bytes,
        sign: Callable[[bytes], bytes],
        route: str = "residence",
        *,
        idempotency_key: str | None = None,
        cancel: Cancel = None,
    ) -> m.Authenticated:
        """Have the card sign the bound message and post it; returns municipality and menu.

        ``sign(message)`` is the card's user-authentication signature (its exceptions propagate unchanged).
        The returned value carries the certificate-serial hash computed here from ``certificate_der``.
        Raises ValueError for a certificate that does not parse, CenterRefusal (certificate_revoked,
        under_15, ...), CenterProtocolError, other CenterError subclasses, CancelledError.
        """
        serial_hash = cert_serial_hash_of(certificate_der)
        signature = sign(auth_message(session.session_id, session.challenge, self.terminal_id))
        body = {
            "route": route,
            "certificate": b64_encode(certificate_der),
            "signature": b64_encode(signature),
        }
        answer = self._http.post(
            f"/v1/sessions/{_seg(session.session_id)}/authenticate",
            body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        auth = m.parse_authenticated(_fields(answer.body, "authenticated"))
        _same("authenticated.session_id", auth.session_id, session.session_id)
        _same("authenticated.cert_serial_hash", auth.cert_serial_hash, serial_hash)
        return auth

    def cancel(
        self,
        session: m.Session | m.Authenticated | str,
        reason: str = "resident",
        *,
        idempotency_key: str | None = None,
        cancel: Cancel = None,
    ) -> m.Cancelled:
        """POST /v1/sessions/{id}/cancel (voids issued documents). Raises CenterError subclasses."""
        session_id = session if isinstance(session, str) else session.session_id
        answer = self._http.post(
            f"/v1/sessions/{_seg(session_id)}/cancel",
            {"reason": reason},
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        return m.parse_cancelled(_fields(answer.body, "cancelled"))

    def register_honseki(
        self, auth: m.Authenticated, *, idempotency_key: str | None = None, cancel: Cancel = None
    ) -> m.HonsekiRegistration:
        """本籍地 利用登録 on a session authenticated on the ``honseki_registration`` route. Raises
        CenterRefusal (registration_pending, honseki_already_registered, maintenance …), CenterProtocolError
        (also for an answer about another session), other CenterError subclasses, CancelledError."""
        answer = self._http.post(
            f"/v1/sessions/{_seg(auth.session_id)}/honseki-registration",
            {"confirmed": True},
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        registration = m.parse_honseki_registration(_fields(answer.body, "honseki registration"))
        _same("honseki_registration.session_id", registration.session_id, auth.session_id)
        return registration

    # --- order -------------------------------------------------------------------------------------
    def create_order(
        self,
        session: m.Authenticated,
        items: Sequence[m.OrderItem],
        *,
        idempotency_key: str | None = None,
        cancel: Cancel = None,
    ) -> m.Order:
        """POST /v1/sessions/{id}/orders; the center prices the items.

        Raises ValueError for an empty order, CenterRefusal (copies_exceeded, type_not_offered, ...),
        CenterProtocolError if the priced order does not match what was asked (``price_mismatch`` if a fee
        is not unit fee × copies or the total not the sum of the fees), CancelledError.
        """
        if not items:
            raise ValueError("an order needs at least one item")
        body = {"items": [item.to_json() for item in items]}
        answer = self._http.post(
            f"/v1/sessions/{_seg(session.session_id)}/orders",
            body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        order = m.parse_order(_fields(answer.body, "order"))
        _same("order.session_id", order.session_id, session.session_id)
        asked = [(i, item.type, item.copies) for i, item in enumerate(items)]
        priced = [(p.item_index, p.type, p.copies) for p in order.items]
        _same("order.items", priced, asked)
        return dataclasses.replace(
            order, terminal_id=self.terminal_id, cert_serial_hash=session.cert_serial_hash
        )

    def issue_documents(
        self, order: m.Order, *, idempotency_key: str | None = None, cancel: Cancel = None
    ) -> tuple[m.IssuedDocument, ...]:
        """POST /v1/orders/{id}/documents and return only documents verified against this order's session.

        The answer may be as large as the copies ordered allow (``AnswerLimits.documents``), each PDF at
        most ``AnswerLimits.pdf_bytes``. Raises DocumentBindingError (naming the field) if any document
        fails a check — then nothing is returned; CenterRefusal, CenterProtocolError (``answer_too_large``
        …), other CenterError subclasses, CancelledError.
        """
        if not order.cert_serial_hash or order.terminal_id != self.terminal_id:
            raise ValueError("issue_documents needs the Order returned by this client's create_order")
        copies = tuple(p.copies for p in sorted(order.items, key=lambda p: p.item_index))
        answer = self._http.post(
            f"/v1/orders/{_seg(order.order_id)}/documents",
            {},
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
            limit=self.limits.documents(sum(copies)),
        )
        parsed = m.parse_documents(_fields(answer.body, "documents"))
        for i, env in enumerate(parsed.documents):
            if len(env.pdf) > self.limits.pdf_bytes:
                raise too_large(
                    f"documents[{i}].pdf is {len(env.pdf)} bytes, at most {self.limits.pdf_bytes}"
                )
        expected = Expected(
            self.terminal_id, order.session_id, order.order_id, order.cert_serial_hash, copies
        )
        documents = verify_documents(parsed, expected, self.center_ca)
        log.info("order %s: %d documents verified", order.order_id, len(documents))
        return documents

    def record_payment(
        self,
        order: m.Order | str,
        received: int,
        change: int,
        *,
        idempotency_key: str | None = None,
        cancel: Cancel = None,
    ) -> m.Payment:
        """POST /v1/orders/{id}/payment. Raises CenterRefusal (payment_mismatch, ...), CenterError."""
        order_id = order if isinstance(order, str) else order.order_id
        body = {"amount_received": received, "change_given": change}
        answer = self._http.post(
            f"/v1/orders/{_seg(order_id)}/payment",
            body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        return m.parse_payment(_fields(answer.body, "payment"))

    def report_result(
        self,
        order: m.Order | str,
        outcomes: Sequence[m.CopyOutcome],
        *,
        idempotency_key: str | None = None,
        cancel: Cancel = None,
    ) -> m.Result:
        """POST /v1/orders/{id}/result: each copy printed or failed (failed copies are refunded).

        Raises ValueError for no outcomes, CenterRefusal (result_mismatch, ...), other CenterError subclasses.
        """
        if not outcomes:
            raise ValueError("report at least one copy")
        order_id = order if isinstance(order, str) else order.order_id
        body = {"copies": [o.to_json() for o in outcomes]}
        answer = self._http.post(
            f"/v1/orders/{_seg(order_id)}/result",
            body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            cancel=cancel,
        )
        return m.parse_result(_fields(answer.body, "result"))

    # --- recovery and verification -----------------------------------------------------------------
    def reconcile(self, since: datetime, *, limit: int = 100, cancel: Cancel = None) -> m.Reconcile:
        """GET /v1/reconcile: this terminal's orders since ``since`` (aware datetime), oldest first.

        Raises ValueError for a naive datetime, CenterError subclasses, CancelledError.
        """
        if since.tzinfo is None:
            raise ValueError("since must carry a UTC offset")
        params = {"since": since.isoformat(), "limit": str(limit)}
        rec = m.parse_reconcile(
            _fields(self._http.get("/v1/reconcile", params=params, cancel=cancel).body, "reconcile")
        )
        _same("reconcile.terminal_id", rec.terminal_id, self.terminal_id)
        return rec

    def verify_public(self, code: str, *, cancel: Cancel = None) -> m.Verification:
        """GET /v1/verify/{code} on the public listener. Raises CenterRefusal (verification_not_found), ..."""
        answer = self._public.get(f"/v1/verify/{_seg(code)}", cancel=cancel)
        return m.parse_verification(_fields(answer.body, "verification"))


def _fields(body: Any, where: str) -> m.Fields:
    return m.Fields(body, where)


def _same(field: str, got: object, want: object) -> None:
    if got != want:
        raise CenterProtocolError("inconsistent_response", detail=f"{field} is {got!r}, expected {want!r}")


def _seg(value: str) -> str:
    return quote(value, safe="")


def _load_cert(path: Path, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError, x509.InvalidVersion) as exc:
        raise ConfigurationError(f"cannot read the {what} at {path}: {exc}") from exc


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or not isinstance(names[0].value, str):
        raise ConfigurationError("the terminal certificate has no CN")
    return names[0].value
