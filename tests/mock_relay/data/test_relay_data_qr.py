"""The center's QR encoder: its shortcuts (Reed-Solomon remainders, bit buffer, data placement over cached
function patterns) make exactly reportlab's symbols."""

from __future__ import annotations

import random
import string

import pytest
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.qr import QrCodeWidget

from mock_relay.documents import art

CODE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _texts() -> list[str]:
    rng = random.Random(12)
    urls = [
        f"https://127.0.0.1:{rng.randint(1024, 65535)}/v1/verify/"
        + "".join(rng.choice(CODE) for _ in range(16))
        for _ in range(60)
    ]
    other = [
        "".join(
            rng.choice(string.ascii_letters + string.digits + " :/.-") for _ in range(rng.randint(1, 400))
        )
        for _ in range(60)
    ]
    return urls + other


def test_the_table_driven_remainders_give_reportlabs_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    ours = [art.qr_matrix(t) for t in texts]
    monkeypatch.setattr(qrencoder.QRCode, "createBytes", staticmethod(art._reportlab_create_bytes))
    assert [art.qr_matrix(t) for t in texts] == ours


def _reportlab_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    qr = QrCodeWidget(text, barLevel="M").qr
    qr.version = qr.calculate_version()
    qr.makeImpl(False, art.QR_MASK)
    return tuple(tuple(bool(m) for m in row) for row in qr.modules)


def test_the_symbols_are_reportlabs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    ours = [art.qr_matrix(t) for t in texts]
    monkeypatch.setattr(qrencoder.QRCode, "createBytes", staticmethod(art._reportlab_create_bytes))
    monkeypatch.setattr(qrencoder.QRBitBuffer, "put", art._reportlab_put)
    assert [_reportlab_matrix(t) for t in texts] == ours
    sides = {len(m) for m in ours}
    assert {33, 37, 41} <= sides and max(sides) >= 45  # several versions, version information too (7+)


def test_the_bitmap_holds_the_matrix_at_four_pixels_a_module() -> None:
    text = "https://127.0.0.1:8443/v1/verify/K7QF-2MZX-ABCD-EFGH"
    matrix = art.qr_matrix(text)
    side, bits = art.qr_bitmap(text)
    px, quiet = art.QR_MODULE_PX, art.QR_QUIET
    assert side == (len(matrix) + 2 * quiet) * px
    stride = (side + 7) // 8
    assert len(bits) == stride * side

    def dark(x: int, y: int) -> bool:
        return not bits[y * stride + x // 8] & (0x80 >> (x % 8))

    assert all(
        dark((c + quiet) * px + px // 2, (r + quiet) * px + px // 2) == matrix[r][c]
        for r in range(len(matrix))
        for c in range(len(matrix))
    )
    assert not any(dark(x, 0) for x in range(side))  # the quiet zone is white
