"""Third-party PN532 drivers against the simulated module: libnfc's nfc-list and nfcpy."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from pn532_helpers import HEX, PUPI

from firmware_sim.pn532.module import Pn532Sim

pytestmark = pytest.mark.interop
SELECT_JPKI = HEX("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")


def run_libnfc(tool: str, sim: Pn532Sim, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNFC")}
    env["LIBNFC_DEVICE"] = f"pn532_uart:{sim.wire.path}"  # never LIBNFC_INTRUSIVE_SCAN
    result = subprocess.run([tool, *args], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("nfc-list") is None, reason="libnfc-bin is installed by scripts/setup.sh")
def test_nfc_list_shows_the_type_b_card_with_its_pupi(sim: Pn532Sim) -> None:
    out = run_libnfc("nfc-list", sim, "-v")
    assert "1 ISO14443B passive target(s) found" in out
    assert "PUPI: " + "  ".join(f"{b:02x}" for b in PUPI) in out
    assert "Protocol types supported: ISO/IEC 14443-4" in out
    assert "Maximum frame sizes: 256 bytes" in out
    assert sim.commands[-3:] == [0x52, 0x32, 0x16]  # InRelease, RF off, PowerDown on close


@pytest.mark.skipif(shutil.which("nfc-list") is None, reason="libnfc-bin is installed by scripts/setup.sh")
def test_nfc_list_without_a_card_finds_nothing(sim: Pn532Sim) -> None:
    sim.remove_card()
    assert "ISO14443B passive target(s) found" not in run_libnfc("nfc-list", sim)


def test_nfcpy_activates_a_type_4b_tag_and_selects_jpki(sim: Pn532Sim) -> None:
    pytest.importorskip("nfc")  # in the test extra
    import nfc
    import nfc.clf.pn532
    import nfc.clf.transport
    import nfc.tag

    device = nfc.clf.pn532.init(nfc.clf.transport.TTY(sim.wire.path))
    device._path = sim.wire.path  # init() without connect() leaves it unset; __str__ needs it
    clf = nfc.ContactlessFrontend()
    clf.device = device
    try:
        target = clf.sense(nfc.clf.RemoteTarget("106B"))
        assert target is not None and bytes(target.sensb_res[1:5]) == PUPI
        tag = nfc.tag.activate(clf, target)
        assert tag.type == "Type4Tag"
        assert bytes(tag.transceive(SELECT_JPKI)) == HEX("90 00")
    finally:
        clf.close()
    assert 0x10 in sim.commands and 0x42 in sim.commands  # baud-rate dance, InCommunicateThru
    assert sim.commands[-1] == 0x16  # PowerDown on close


@pytest.mark.skipif(shutil.which("nfc-poll") is None, reason="libnfc-examples: installed by scripts/setup.sh")
def test_nfc_poll_finds_the_card_and_sees_it_leave(sim: Pn532Sim) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNFC")}
    env["LIBNFC_DEVICE"] = f"pn532_uart:{sim.wire.path}"
    proc = subprocess.Popen(
        ["nfc-poll"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20

        def checking_presence() -> bool:  # InCommunicateThru after the InAutoPoll hit
            codes = sim.commands
            return 0x60 in codes and 0x42 in codes[codes.index(0x60) :]

        while not checking_presence():
            assert time.monotonic() < deadline and proc.poll() is None, "nfc-poll never checked presence"
            time.sleep(0.05)  # (its stdout is block-buffered into the pipe: watch the chip instead)
        sim.remove_card()
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out
        assert "PUPI: 4d  59  4e  41" in out and "Waiting for card removing..." in out
        assert out.rstrip().endswith("done.")  # after libnfc's "Target Released" for the gone card
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert 0x60 in sim.commands  # InAutoPoll
