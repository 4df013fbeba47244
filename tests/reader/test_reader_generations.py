"""Every card generation, read by the product's whole sequence (issue #18).

The matrix: generation 2016 / 2023 × the card's behaviour on a re-SELECT of an AP (verified state
kept, as one source reports, or cleared, which no source rules out). The reader's sequence over the
JPKI AP, the 券面事項入力補助AP and the 券面事項確認AP, and the kiosk's card seam, must work on all
four; the kiosk must never send a SELECT of the AP between VERIFY and the signature.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import PersonalisedCard, personalise_card
from firmware_sim.pki.hierarchy import TestPki
from kiosk.flow.card import JpkiCard
from reader.apdu import CommandApdu
from reader.constants import CardGeneration, Ins, KakuninFile, KenmenFile, SelectP1
from reader.errors import SecurityStatusNotSatisfiedError
from reader.generation import Evidence, generation_from_basic_info, identify_generation
from reader.jpki import CertKind, JpkiClient, KeyKind
from reader.kakunin import KakuninClient, verify_card_face
from reader.kenmen import KenmenClient
from reader.loopback import LoopbackTransport

GENERATIONS = list(CardGeneration)
KEEP = pytest.mark.parametrize("keep", [True, False], ids=["state-kept", "state-cleared"])
PNG = b"\x89PNG\r\n\x1a\n"
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
TEXT_AP_CA, FACE_AP_CA = "6000033", "6000023"


@pytest.fixture(scope="session")
def issued(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[CardGeneration, PersonalisedCard]:
    pki = TestPki.open(pki_dir)
    out: dict[CardGeneration, PersonalisedCard] = {}
    for generation in GENERATIONS:
        path = tmp_path_factory.mktemp(f"gen-{generation.value}") / "card.json"
        out[generation] = personalise_card(
            path, pki=pki, holder=demo_holder(), kenmen_pin="5678", generation=generation
        )
    return out


def _transport(
    issued: dict[CardGeneration, PersonalisedCard],
    tmp_path: Path,
    generation: CardGeneration,
    keep: bool,
    *,
    extended: bool = True,
) -> tuple[LoopbackTransport, MyNumberCard]:
    path = tmp_path / "card.json"
    shutil.copy(issued[generation].path, path)
    card = MyNumberCard.from_image(path, CardOptions(keep_security_on_reselect=keep))
    transport = LoopbackTransport(card, extended=extended)
    transport.connect()
    return transport, card


@pytest.fixture(params=GENERATIONS, ids=[g.value for g in GENERATIONS])
def generation(request: pytest.FixtureRequest) -> CardGeneration:
    return CardGeneration(request.param)


@pytest.fixture
def pki(pki_dir: Path) -> TestPki:
    return TestPki.open(pki_dir)


def _verify_sha256(key: object, signature: bytes, message: bytes) -> None:
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


@KEEP
@pytest.mark.parametrize("extended", [True, False], ids=["extended-le", "short-le"])
def test_reader_whole_sequence(
    issued: dict[CardGeneration, PersonalisedCard],
    tmp_path: Path,
    pki: TestPki,
    generation: CardGeneration,
    keep: bool,
    extended: bool,
) -> None:
    transport, _card = _transport(issued, tmp_path, generation, keep, extended=extended)
    holder, codes = issued[generation].holder, issued[generation].codes

    guess = identify_generation(JpkiClient(transport))  # first: GET DATA works only before a SELECT
    assert (guess.generation, guess.evidence) == (generation, Evidence.ATR)

    jpki = JpkiClient(transport)
    assert jpki.detect().token == "JPKIAPICCTOKEN2"
    auth_cert = jpki.read_certificate(CertKind.AUTH)
    assert jpki.pin_status(KeyKind.AUTH) == 3
    jpki.verify_pin(KeyKind.AUTH, "1234")
    _verify_sha256(auth_cert.public_key(), jpki.sign_sha256(KeyKind.AUTH, b"challenge"), b"challenge")
    jpki.verify_pin(KeyKind.SIGN, "ABC123")
    assert jpki.read_certificate(CertKind.SIGN).serial_number == issued[generation].sign_cert.serial_number  # type: ignore[union-attr]

    kenmen = KenmenClient(transport)
    cert = kenmen.read_ap_certificate()  # no PIN
    cert.verify_with(pki.cv_ca_key(TEXT_AP_CA).public_key())
    assert cert.issuer_key_id.number == TEXT_AP_CA
    assert cert.public_key.public_numbers() == pki.kenmen_signing_key().public_key().public_numbers()
    assert kenmen.read_ap_basic_info().identification == bytes.fromhex("01 03 0E 01")
    kenmen.verify_pin("5678")
    assert generation_from_basic_info(kenmen.read_basic_info_file()) is generation
    assert kenmen.read_basic_info().name == holder.name
    assert kenmen.read_my_number() == holder.my_number
    kenmen.check_integrity()

    face_ap = KakuninClient(transport)
    assert face_ap.read_ap_basic_info().municipality_code == holder.municipality_code[:5]
    face_cert = face_ap.read_ap_certificate()
    face_cert.verify_with(pki.cv_ca_key(FACE_AP_CA).public_key())
    face_ap.verify_code(KakuninFile.CODE_B, codes.code_b)
    face = face_ap.read_card_face()
    verify_card_face(face, face_cert.public_key)
    assert face.birth == f"{holder.birth_date:%Y%m%d}" and face.sex == str(int(holder.sex))
    assert face.photo.startswith(JP2) and face.name_image.startswith(PNG)
    with pytest.raises(SecurityStatusNotSatisfiedError):
        face_ap.read_my_number_image()  # 照合番号B does not open 0005
    face_ap.verify_code(KakuninFile.CODE_A, codes.code_a)
    assert face_ap.read_my_number_image().startswith(PNG)


@KEEP
def test_reselect_after_verify_is_the_card_option(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, generation: CardGeneration, keep: bool
) -> None:
    """What the product must not rely on: a re-SELECT of the AP between VERIFY and use."""
    transport, _card = _transport(issued, tmp_path, generation, keep)
    jpki = JpkiClient(transport)
    jpki.verify_pin(KeyKind.AUTH, "1234")
    jpki.select_ap(force=True)
    if keep:
        assert len(jpki.sign_sha256(KeyKind.AUTH, b"m")) == 256
    else:
        with pytest.raises(SecurityStatusNotSatisfiedError):
            jpki.sign_sha256(KeyKind.AUTH, b"m")


@KEEP
def test_kiosk_card_seam_never_reselects_between_verify_and_sign(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, generation: CardGeneration, keep: bool
) -> None:
    transport, card = _transport(issued, tmp_path, generation, keep)
    seen: list[CommandApdu] = []
    card.on_command = seen.append
    seam = JpkiCard(transport)
    cancel = threading.Event()
    read = seam.read(cancel)
    seam.verify_pin("1234", cancel)
    signature = seam.sign(b"center challenge")
    seam.power_off()
    _verify_sha256(
        x509.load_der_x509_certificate(read.certificate_der).public_key(), signature, b"center challenge"
    )
    verify = next(i for i, c in enumerate(seen) if c.ins == Ins.VERIFY and c.data)
    sign = next(i for i, c in enumerate(seen) if c.ins == Ins.COMPUTE_DIGITAL_SIGNATURE)
    between = seen[verify + 1 : sign]
    assert not [c for c in between if c.ins == Ins.SELECT and c.p1 == SelectP1.DF_NAME]


def test_text_ap_codes_open_what_sources_say(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, generation: CardGeneration
) -> None:
    transport, _card = _transport(issued, tmp_path, generation, True)
    kenmen = KenmenClient(transport)
    kenmen.verify_code(KenmenFile.CODE_A, issued[generation].codes.code_a)
    assert kenmen.read_my_number() == issued[generation].holder.my_number
    with pytest.raises(SecurityStatusNotSatisfiedError):
        kenmen.read_basic_info()  # A does not open 0002
    kenmen.verify_code(KenmenFile.CODE_B, issued[generation].codes.code_b)
    assert kenmen.read_basic_info().address == issued[generation].holder.address


class ContactlessView:
    """A reader that shows a synthesised contactless ATR (the card's contact ATR only via GET DATA)."""

    atr = bytes.fromhex("3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F")

    def __init__(self, inner: LoopbackTransport) -> None:
        self.inner = inner
        self.name = "contactless"
        self.supports_extended = inner.supports_extended

    def transmit(self, apdu: bytes, *, timeout: float = 10.0, cancel: threading.Event | None = None) -> bytes:
        return self.inner.transmit(apdu, timeout=timeout, cancel=cancel)

    def __getattr__(self, name: str) -> object:  # everything else as the real transport has it
        return getattr(self.inner, name)


def test_generation_through_a_contactless_reader_comes_from_get_data(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, generation: CardGeneration
) -> None:
    transport, _card = _transport(issued, tmp_path, generation, True)
    guess = identify_generation(JpkiClient(ContactlessView(transport)))  # type: ignore[arg-type]
    assert (guess.generation, guess.evidence) == (generation, Evidence.GET_DATA)


def test_an_unknown_atr_names_no_generation(pki: TestPki, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    odd_atr = bytes.fromhex("3B C5 FF 81 31 FB 45 80 73 C6 01 00 00")  # a third contact ATR seen
    personalise_card(path, pki=pki, holder=demo_holder(), atr=odd_atr)
    transport = LoopbackTransport(MyNumberCard.from_image(path))
    transport.connect()
    guess = identify_generation(JpkiClient(transport))
    assert (guess.generation, guess.evidence, guess.contact_atr) == (None, Evidence.NONE, odd_atr)
