"""A whole transaction through the real server: envelope, binding, signature, ledger states."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from relay_server_helpers import signer_public_key, transact


def test_complete_transaction_binds_every_document(kiosk, cards):
    card = cards("C-001")
    r = transact(kiosk, card, [{"type": "juminhyo", "copies": 2}, {"type": "inkan", "copies": 1}])
    assert r["result"].status == 200, r["result"].body
    assert r["result"].body == {
        "order_id": r["order"].body["order_id"],
        "state": "completed",
        "printed": 3,
        "failed": 0,
        "refund_due": 0,
    }
    docs = r["documents"].body
    key = signer_public_key(docs["signer_certificate"])
    assert len(docs["documents"]) == 3
    for env in docs["documents"]:
        pdf = base64.b64decode(env["pdf"])
        assert hashlib.sha256(pdf).hexdigest() == env["sha256"] == env["binding"]["sha256"]
        b = env["binding"]
        assert b["terminal_id"] == "T-0001"
        assert b["session_id"] == r["open"].body["session_id"]
        assert b["order_id"] == r["order"].body["order_id"]
        assert b["cert_serial_hash"] == r["auth"].body["cert_serial_hash"]
        canonical = json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        key.verify(base64.b64decode(env["signature"]), canonical, ec.ECDSA(hashes.SHA256()))
