"""The kiosk's HTTPS client for the issuance center: mTLS, timeouts, safe retries, typed and verified answers.

Imports only the standard library, requests and urllib3 (in ``relay_client.http`` alone) and cryptography.
"""

from relay_client.auth import auth_message, canonical, cert_serial_hash, cert_serial_hash_of
from relay_client.body import AnswerLimits
from relay_client.client import IssuanceClient, new_idempotency_key
from relay_client.documents import DOCUMENT_SIGNING_EKU, Expected, verify_documents
from relay_client.errors import (
    CancelledError,
    CenterError,
    CenterProtocolError,
    CenterRefusal,
    CenterTlsError,
    CenterUnavailable,
    ConfigurationError,
    DocumentBindingError,
    RelayError,
)
from relay_client.http import RetryPolicy, Timeouts
from relay_client.models import (
    Authenticated,
    Cancelled,
    CopyOutcome,
    Health,
    HeartbeatAck,
    HonsekiRegistration,
    IssuedDocument,
    MenuEntry,
    MenuOption,
    Order,
    OrderItem,
    Payment,
    PricedItem,
    Reconcile,
    ReconcileDocument,
    ReconcileOrder,
    Result,
    Session,
    Verification,
)

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "AnswerLimits",
    "Authenticated",
    "Cancelled",
    "CancelledError",
    "CenterError",
    "CenterProtocolError",
    "CenterRefusal",
    "CenterTlsError",
    "CenterUnavailable",
    "ConfigurationError",
    "CopyOutcome",
    "DocumentBindingError",
    "Expected",
    "Health",
    "HeartbeatAck",
    "HonsekiRegistration",
    "IssuanceClient",
    "IssuedDocument",
    "MenuEntry",
    "MenuOption",
    "Order",
    "OrderItem",
    "Payment",
    "PricedItem",
    "Reconcile",
    "ReconcileDocument",
    "ReconcileOrder",
    "RelayError",
    "Result",
    "RetryPolicy",
    "Session",
    "Timeouts",
    "Verification",
    "auth_message",
    "canonical",
    "cert_serial_hash",
    "cert_serial_hash_of",
    "new_idempotency_key",
    "verify_documents",
]
