"""Issue #18 through the real pcscd + vpcd: every card generation, and the 券面事項入力補助AP's
EF 0004 / 0005 readable with no PIN — by our PC/SC transport and by OpenSC's opensc-tool."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pcsc_helpers import READER, READER_URL, InsertCard, reader_atr

from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from reader.constants import GENERATION_ATRS, CardGeneration, Ins, KenmenFile
from reader.generation import Evidence, generation_from_basic_info, identify_generation
from reader.jpki import CertKind, JpkiClient, KeyKind
from reader.kenmen import KenmenClient
from reader.pcsc import PcscTransport, list_readers

pytestmark = pytest.mark.pcsc

SELECT_TEXT_AP = "00A4040C0AD3921000310001010408"


@pytest.fixture(scope="module", params=list(CardGeneration), ids=[g.value for g in CardGeneration])
def generation(request: pytest.FixtureRequest) -> CardGeneration:
    return CardGeneration(request.param)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.open(tmp_path_factory.mktemp("pcsc-gen-pki"))


@pytest.fixture(scope="module")
def generation_image(
    generation: CardGeneration, pki: TestPki, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp(f"pcsc-gen-{generation.value}") / "card.json"
    personalise_card(path, pki=pki, holder=demo_holder(), kenmen_pin="5678", generation=generation)
    return path


@pytest.fixture
def transport(insert_card: InsertCard, generation_image: Path) -> Iterator[PcscTransport]:
    insert_card(generation_image)
    t = PcscTransport(READER_URL)
    t.connect()
    yield t
    t.close()


def test_each_generation_reads_through_pcscd(transport: PcscTransport, generation: CardGeneration) -> None:
    assert reader_atr() == GENERATION_ATRS[generation]  # what pcscd reports, as pcsc_scan shows it
    guess = identify_generation(JpkiClient(transport))
    assert (guess.generation, guess.evidence) == (generation, Evidence.ATR)
    jpki = JpkiClient(transport)
    jpki.detect()
    jpki.read_certificate(CertKind.AUTH)
    jpki.verify_pin(KeyKind.AUTH, "1234")
    assert len(jpki.sign_sha256(KeyKind.AUTH, b"m")) == 256
    kenmen = KenmenClient(transport)
    assert kenmen.read_ap_certificate().issuer_key_id.number == "6000033"  # before any PIN
    assert kenmen.read_ap_basic_info().identification == bytes.fromhex("01030E01")
    kenmen.verify_pin("5678")
    assert generation_from_basic_info(kenmen.read_basic_info_file()) is generation


def reader_index() -> str:
    return str([r.name for r in list_readers()].index(READER))


@pytest.mark.interop
@pytest.mark.parametrize(("fid", "prefix"), [("0004", "7F 21 82 02 33"), ("0005", "FF 40 81 9E DF 41 04")])
def test_opensc_tool_reads_0004_and_0005_without_a_pin(
    insert_card: InsertCard, generation_image: Path, fid: str, prefix: str
) -> None:
    reader = insert_card(generation_image)
    seen: list[int] = []
    reader.card.on_command = lambda cmd: seen.append(cmd.ins)  # type: ignore[attr-defined]
    result = subprocess.run(
        [
            "opensc-tool",
            "--reader",
            reader_index(),
            "-s",
            SELECT_TEXT_AP,
            "-s",
            f"00A4020C02{fid}",
            "-s",
            "00B0000000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answers = result.stdout.split("Received (SW1=")
    assert [a[:15] for a in answers[1:]] == ["0x90, SW2=0x00)"] * 3, result.stdout
    assert prefix in answers[3].upper()
    assert Ins.VERIFY not in seen  # read with no PIN at all
    assert int(fid, 16) in (KenmenFile.AP_CERTIFICATE, KenmenFile.AP_BASIC_INFO)
