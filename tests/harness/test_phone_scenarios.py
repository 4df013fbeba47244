"""The phone scenarios beyond the in-process reader (every bundled scenario is also played in-process by
test_harness_dates): an Android phone through the real pcscd + vpcd and through the simulated PN532."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.scenario import Player, check_expectations, load_scenario
from harness.sim import SimKiosk

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "harness" / "scenarios"


def play(name: str, work: Path, reader: str) -> list[str]:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    with SimKiosk(work, {**scenario.setup, "reader": reader}) as kiosk:
        final = Player(kiosk.flow, kiosk.hands, out=lambda _line: None).play(scenario, step_timeout=30)
        pages = kiosk.pages_printed()
    return [*check_expectations(scenario, final), *([] if pages == 2 else [f"{pages} pages printed"])]


@pytest.mark.pcsc
@pytest.mark.interop
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_android_juminhyo_through_pcscd_and_vpcd(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)
    assert play("android_juminhyo", tmp_path, "pcsc") == []


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_android_juminhyo_through_the_pn532(tmp_path: Path) -> None:
    assert play("android_juminhyo", tmp_path, "pn532") == []


@pytest.mark.timeout(60)
def test_the_harness_puts_a_phone_on_the_reader(tmp_path: Path) -> None:
    from firmware_sim.card.image import CardImage
    from harness.commands import execute
    from harness.controls import ControlError, SimControls

    with SimKiosk(tmp_path, {}) as kiosk:
        controls = SimControls(kiosk)
        assert execute(controls, "use C-004 normal android") == "next card: C-004 normal (android)"
        assert controls.current == ("C-004", "normal") and controls.current_form == "android"
        path = controls.use_card("C-004", "normal", "android")
        assert CardImage.load(path).meta["form"] == "android" and controls.tries_left() == 3
        with pytest.raises(ControlError, match="unknown form"):
            controls.use_card("C-004", "normal", "juki")
