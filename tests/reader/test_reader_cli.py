"""`myna-reader` in-process against the virtual card (sim:// URLs): output, PIN from stdin, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reader.cli import main


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    lines: list[str] = []
    status = main(argv, out=lines.append)
    return status, "\n".join(lines)


def sim(image: Path) -> str:
    return f"sim://{image}"


def test_info_json(card_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out = run(["info", "--json", "--reader", sim(card_image)], monkeypatch)
    assert status == 0
    info = json.loads(out)
    meta = json.loads(card_image.read_text())["meta"]
    assert info["token"] == "JPKIAPICCTOKEN2"
    assert info["auth_cert_serial"] == meta["auth_cert_serial"]
    assert (info["auth_pin_tries_left"], info["sign_pin_tries_left"]) == (3, 5)


def test_info_text(card_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out = run(["info", "--reader", sim(card_image)], monkeypatch)
    assert status == 0
    assert "Auth PIN:          3 tries left" in out and "CN=" in out


def test_verify_right_and_wrong_pin(
    card_image: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["verify", "--reader", sim(card_image)], monkeypatch, "1234\n") == (0, "auth PIN verified")
    status, _ = run(["verify", "--reader", sim(card_image)], monkeypatch, "1111\n")
    assert status == 1
    err = capsys.readouterr().err
    assert "wrong PIN: 2 tries left" in err and "1111" not in err and "Traceback" not in err


def test_verify_sign_password_is_upper_cased(card_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["verify", "--sign", "--reader", sim(card_image)], monkeypatch, "abc123\n")[0] == 0


def test_locked_pin_is_reported_without_sending_a_verify(
    card_image: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        run(["verify", "--reader", sim(card_image)], monkeypatch, "0000\n")
    status, _ = run(["verify", "--reader", sim(card_image)], monkeypatch, "1234\n")
    assert status == 1
    assert "locked" in capsys.readouterr().err


def test_sign_text_verifies(card_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out = run(["sign", "--text", "hello", "--reader", sim(card_image)], monkeypatch, "1234\n")
    assert status == 0
    assert "signature verified" in out
    assert len(out.splitlines()[0].split()[-1]) == 512  # 256 bytes in hex


def test_sign_file(card_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = tmp_path / "doc.bin"
    document.write_bytes(b"\x00\x01" * 1000)
    assert run(["sign", "--file", str(document), "--reader", sim(card_image)], monkeypatch, "1234\n")[0] == 0


def test_basic_info_masks_my_number(card_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    status, out = run(["basic-info", "--reader", sim(card_image)], monkeypatch, "5678\n")
    assert status == 0
    meta = json.loads(card_image.read_text())["meta"]
    assert meta["holder_name"] in out
    assert "My Number: ********" in out and "Integrity: hashes match" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "--reader", "sim:///nonexistent/card.json"], "virtual card"),
        (["info", "--reader", "nfc://x"], "unknown reader URL scheme"),
        (["verify", "--reader", "pcsc://No Such Reader"], "no card reader"),
    ],
)
def test_errors_are_one_line_exit_1(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(argv, monkeypatch, "1234\n")
    err = capsys.readouterr().err
    assert status == 1
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_no_pin_on_stdin(
    card_image: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["verify", "--reader", sim(card_image)], monkeypatch, "")[0] == 1
    assert "no PIN given" in capsys.readouterr().err


def test_badly_formed_pin_sends_nothing(
    card_image: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["verify", "--reader", sim(card_image)], monkeypatch, "12\n")[0] == 1
    assert "exactly 4 digits" in capsys.readouterr().err
    assert json.loads(card_image.read_text())  # image still loads
    assert (
        json.loads(run(["info", "--json", "--reader", sim(card_image)], monkeypatch)[1])[
            "auth_pin_tries_left"
        ]
        == 3
    )


@pytest.mark.parametrize(
    "argv", [[], ["bogus"], ["sign"], ["sign", "--file", "a", "--text", "b"], ["verify", "1234"]]
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
