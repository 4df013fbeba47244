"""``firmware-sim card new|cert|show`` through the real dispatcher."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pki_helpers import KeyPool

from firmware_sim.card.image import CardImage
from firmware_sim.cli.main import main
from firmware_sim.pki.hierarchy import TestPki
from reader.constants import ATR_EXTENDED

Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def pooled_keys(monkeypatch: pytest.MonkeyPatch, key_pool: KeyPool) -> None:
    """The CLI makes fresh RSA keys; draw them from the session pool instead (speed only)."""
    monkeypatch.setattr("firmware_sim.personalise.new_rsa_key", key_pool)
    monkeypatch.setattr("firmware_sim.pki.hierarchy.new_rsa_key", key_pool)


def _new(capsys: Capsys, pki: TestPki, out: Path, *extra: str) -> tuple[int, str, str]:
    status = main(["card", "new", str(out), "--pki", str(pki.directory), *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_new_with_defaults_makes_a_demo_card(capsys: Capsys, session_pki: TestPki, tmp_path: Path) -> None:
    status, out, err = _new(capsys, session_pki, tmp_path / "card.json")
    assert status == 0, err
    image = CardImage.load(tmp_path / "card.json")
    assert image.meta["holder_name"] == "山田\u3000太郎"
    assert image.meta["auth_cert_serial"] in out and image.meta["sign_cert_serial"] in out
    assert "山田" in out and str(tmp_path / "card.json") in out and "2031" not in err
    assert "real PINs never go on" in err
    assert "1234" not in out and "ABC123" not in out
    auth = x509.load_der_x509_certificate(image.jpki_files[0x000A])
    assert session_pki.issuer_of(auth) == session_pki.auth_ca_cert
    assert image.verify_pin("auth", b"1234") == 3


def test_default_pki_dir_is_under_the_current_directory(
    capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MYNA_KIOSK_PKI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["card", "new", "c.json"]) == 0
    assert (tmp_path / ".sim" / "pki" / "pki.json").exists()
    monkeypatch.setenv("MYNA_KIOSK_PKI", str(tmp_path / "elsewhere"))
    assert main(["card", "new", "d.json"]) == 0
    capsys.readouterr()
    auth = x509.load_der_x509_certificate(CardImage.load(tmp_path / "d.json").jpki_files[0x000A])
    assert TestPki.open(tmp_path / "elsewhere", create=False).issuer_of(auth) is not None


def test_new_with_a_custom_holder(capsys: Capsys, session_pki: TestPki, tmp_path: Path) -> None:
    status, _out, err = _new(
        capsys,
        session_pki,
        tmp_path / "c.json",
        "--name",
        "鈴木 花子",
        "--kana",
        "スズキ　ハナコ",
        "--address",
        "東京都清瀬市中里１－２",
        "--birth",
        "2000-02-29",
        "--sex",
        "2",
        "--my-number",
        "537686677188",
        "--auth-pin",
        "0000",
        "--sign-pin",
        "PASS1234",
        "--kenmen-pin",
        "9876",
    )
    assert status == 0, err
    image = CardImage.load(tmp_path / "c.json")
    assert image.meta["holder_name"] == "鈴木\u3000花子"
    assert image.meta["municipality_code"] == "132217"
    assert (image.meta["holder_birth_date"], image.meta["holder_sex"]) == ("2000-02-29", "2")
    assert image.verify_pin("sign", b"PASS1234") == 5
    assert image.verify_pin("kenmen", b"9876") == 3
    sign = x509.load_der_x509_certificate(image.jpki_files[0x0001])
    assert "L=Kiyose-shi" in sign.subject.rfc4514_string()
    auth = x509.load_der_x509_certificate(image.jpki_files[0x000A])
    assert auth.not_valid_after_utc.date().isoformat().endswith("-02-28")  # 29 Feb birthday in a common year


def test_validity_options(capsys: Capsys, session_pki: TestPki, tmp_path: Path) -> None:
    assert _new(capsys, session_pki, tmp_path / "e.json", "--expired")[0] == 0
    expired = x509.load_der_x509_certificate(CardImage.load(tmp_path / "e.json").jpki_files[0x000A])
    assert expired.not_valid_after_utc < datetime.now(UTC)
    assert _new(capsys, session_pki, tmp_path / "v.json", "--valid-days", "30", "--atr", "extended")[0] == 0
    image = CardImage.load(tmp_path / "v.json")
    cert = x509.load_der_x509_certificate(image.jpki_files[0x000A])
    assert abs(cert.not_valid_after_utc - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    assert image.atr == ATR_EXTENDED
    status, out, _err = _new(capsys, session_pki, tmp_path / "n.json", "--no-sign-cert")
    assert status == 0 and "sign cert: none" in out
    assert not CardImage.load(tmp_path / "n.json").has_pin("sign")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sign-pin", "abc123"], "upper-case"),
        (["--auth-pin", "12345"], "4 digits"),
        (["--my-number", "123456789010"], "check digit"),
        (["--name", "山田太郎"], "family and given name"),
        (["--kana", "やまだ たろう"], "katakana"),
        (["--address", "大阪府堺市堺区南瓦町３－１"], "--municipality-code"),
        (["--address", "どこか１－２"], "prefecture"),
        (["--address", "大阪府堺市堺区南瓦町３－１", "--municipality-code", "141038"], "not in 大阪府"),
    ],
)
def test_bad_values_exit_2_with_a_clear_message(
    capsys: Capsys, session_pki: TestPki, tmp_path: Path, args: list[str], message: str
) -> None:
    status, _out, err = _new(capsys, session_pki, tmp_path / "bad.json", *args)
    assert status == 2
    assert message in err and "Traceback" not in err and err.count("error:") == 1
    assert "abc123" not in err and "12345" not in err.replace("123456789010", "")
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--birth", "1985-13-01"],
        ["--sex", "3"],
        ["--expired", "--valid-days", "3"],
        ["--valid-days", "0"],
        ["--atr", "x"],
    ],
)
def test_argparse_errors_exit_2(capsys: Capsys, tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["card", "new", str(tmp_path / "x.json"), *args])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_corrupt_pki_exits_1(capsys: Capsys, tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "pki.json").write_text("{")
    assert main(["card", "new", str(tmp_path / "c.json"), "--pki", str(tmp_path / "pki")]) == 1
    err = capsys.readouterr().err
    assert "corrupt manifest" in err and "Traceback" not in err


@pytest.fixture
def two_cards(capsys: Capsys, session_pki: TestPki, tmp_path: Path) -> tuple[Path, Path]:
    full, child = tmp_path / "full.json", tmp_path / "child.json"
    assert _new(capsys, session_pki, full)[0] == 0
    assert _new(capsys, session_pki, child, "--no-sign-cert")[0] == 0
    return full, child


@pytest.mark.parametrize(
    ("which", "fid"), [("auth", 0x000A), ("sign", 0x0001), ("auth-ca", 0x000B), ("sign-ca", 0x0002)]
)
def test_cert_prints_pem(capsys: Capsys, two_cards: tuple[Path, Path], which: str, fid: int) -> None:
    full, _child = two_cards
    assert main(["card", "cert", str(full), which]) == 0
    pem = capsys.readouterr().out
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert x509.load_pem_x509_certificate(pem.encode()) == x509.load_der_x509_certificate(
        CardImage.load(full).jpki_files[fid]
    )


def test_cert_errors(capsys: Capsys, two_cards: tuple[Path, Path], tmp_path: Path) -> None:
    _full, child = two_cards
    assert main(["card", "cert", str(child), "sign"]) == 1
    assert "no sign certificate" in capsys.readouterr().err
    assert main(["card", "cert", str(tmp_path / "missing.json"), "auth"]) == 1
    (tmp_path / "junk.json").write_text("not json")
    assert main(["card", "cert", str(tmp_path / "junk.json"), "auth"]) == 1
    err = capsys.readouterr().err
    assert "not a card image" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as info:
        main(["card", "cert", str(child), "root"])
    assert info.value.code == 2


def test_show_text_and_json(capsys: Capsys, two_cards: tuple[Path, Path]) -> None:
    full, child = two_cards
    CardImage.load(full).verify_pin("auth", b"0000")
    assert main(["card", "show", str(full)]) == 0
    text = capsys.readouterr().out
    assert "auth PIN: 2/3 tries left" in text and "sign PIN: 5/5" in text and "kenmen PIN: 3/3" in text
    assert "山田\u3000太郎" in text and "1234" not in text.replace("１２３－４", "")
    assert main(["card", "show", str(child), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["certificates"]["sign"] is None
    assert summary["certificates"]["auth"]["serial"] == summary["meta"]["auth_cert_serial"]
    assert set(summary["pin_tries_left"]) == {
        "auth",
        "kenmen",
        "kenmen_a",
        "kenmen_b",
        "face_a",
        "face_b",
        "face_birth",
    }
    assert "123456789018" not in json.dumps(summary)


def test_show_missing_card_exits_1(capsys: Capsys, tmp_path: Path) -> None:
    assert main(["card", "show", str(tmp_path / "none.json")]) == 1
    assert "cannot read card image" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "atr", "generation", "header"),
    [
        ([], "3B E0 00 FF 81 31 FE 45 14", "2016", "FF 20"),
        (
            ["--generation", "2023"],
            "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B",
            "2023",
            "FF 20 82",
        ),
        (["--generation", "2023", "--atr", "opensc"], "3B E0 00 FF 81 31 FE 45 14", "2023", "FF 20 82"),
    ],
)
def test_new_generation(
    capsys: Capsys,
    session_pki: TestPki,
    tmp_path: Path,
    extra: list[str],
    atr: str,
    generation: str,
    header: str,
) -> None:
    status, out, err = _new(capsys, session_pki, tmp_path / "g.json", *extra)
    assert status == 0, err
    assert f"(generation {generation})" in out
    image = CardImage.load(tmp_path / "g.json")
    assert (image.atr, image.meta["generation"]) == (bytes.fromhex(atr), generation)
    basic = image.kenmen_files[0x0002]
    assert basic.startswith(bytes.fromhex(header)) and (len(header) > 5) == (basic[2] == 0x82)
    assert sorted(image.kakunin_files) == [1, 2, 3, 4, 5]  # the card-face AP on every generation


def test_unknown_generation_exits_2(capsys: Capsys, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["card", "new", str(tmp_path / "x.json"), "--generation", "2019"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_mock_relay_card_new_generation(capsys: Capsys, tmp_path: Path) -> None:
    from mock_relay.cli.main import main as relay_main

    data = tmp_path / "center"
    assert relay_main(["card", "new", "--data", str(data), "C-008", "--out", str(tmp_path / "c.card")]) == 0
    assert json.loads(capsys.readouterr().out)["generation"] == "2016"
    argv = [
        "card",
        "new",
        "--data",
        str(data),
        "C-008",
        "--out",
        str(tmp_path / "d.card"),
        "--generation",
        "2023",
    ]
    assert relay_main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    image = CardImage.load(tmp_path / "d.card")
    assert summary["generation"] == image.meta["generation"] == "2023"
    assert image.atr == ATR_EXTENDED and image.kenmen_files[0x0002][:3] == bytes.fromhex("FF 20 82")
