"""The test engineer's harness without a window: ``SimControls`` on a real SimKiosk (loopback reader, mock
center, cash and printer simulators), the stdin command table, ``kiosk-harness sim --headless`` as a
process, and one card swap through real pcscd + vpcd."""

from __future__ import annotations

import io
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from firmware_sim.card.image import CardImage
from harness.commands import execute, serve_lines
from harness.controls import VARIANTS, ControlError, SimControls, check_card, residents
from harness.scenario import Player
from harness.sim import SimKiosk
from kiosk.flow import events as ev
from kiosk.flow.view import Screen, ViewState

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[SimKiosk]:
    with SimKiosk(tmp_path, {"reader": "loopback"}) as running:
        yield running


@pytest.fixture
def controls(kiosk: SimKiosk) -> SimControls:
    return SimControls(kiosk)


def to_place_card(kiosk: SimKiosk) -> Player:
    player = Player(kiosk.flow, kiosk.hands, out=lambda _line: None)
    kiosk.flow.post(ev.Start(language="en"))
    player.wait_for(Screen.ROUTE, 5)
    kiosk.flow.post(ev.ChooseRoute(route="residence"))
    player.wait_for(Screen.PLACE_CARD, 5)
    return player


def to_menu(kiosk: SimKiosk, controls: SimControls) -> ViewState:
    player = to_place_card(kiosk)
    controls.place_card()
    player.wait_for(Screen.PIN, 10)
    kiosk.flow.post(ev.PinEntered(pin="1234"))
    player.wait_for(Screen.REMOVE_CARD, 15)
    controls.remove_card()
    return player.wait_for(Screen.CHOOSE_TYPE, 10)


def test_the_seeded_residents_and_every_variant_are_on_offer() -> None:
    ids = [r.id for r in residents()]
    assert len(ids) >= 38 and ids[0] == "C-001" and {"Y-005", "S-010", "V-003"} <= set(ids)
    assert set(VARIANTS) == {"normal", "expired", "revoked", "pin_locked"}
    assert "千代田区" in residents()[0].label and "[moved_out]" in check_card("C-009").label
    with pytest.raises(ControlError, match="no resident 'Z-1'"):
        check_card("Z-1")
    with pytest.raises(ControlError, match="unknown card variant 'broken'"):
        check_card("C-001", "broken")


def test_use_card_switches_the_holder_the_center_sees(kiosk: SimKiosk, controls: SimControls) -> None:
    path = controls.use_card("Y-001")
    assert path == kiosk.work / "cards" / "Y-001-normal.json" and controls.current == ("Y-001", "normal")
    assert CardImage.load(path).meta["issued_by"] == "mock-relay"
    view = to_menu(kiosk, controls)
    fees = {item.type: item.fee for item in view.menu}
    assert fees["juminhyo"] == 300 and "nozei" not in fees  # 横浜市中区's menu, not 千代田区's (200, nozei)
    assert controls.use_card("Y-001") == path and path.stat().st_size > 0  # the same card again: reused


def test_use_card_is_refused_while_a_card_is_on_the_reader(controls: SimControls) -> None:
    controls.place_card()
    with pytest.raises(ControlError, match="remove it first"):
        controls.use_card("C-005", "expired")
    with pytest.raises(ControlError, match="already on the reader"):
        controls.place_card()
    assert controls.current == ("C-001", "normal") and controls.on_reader
    controls.remove_card()
    with pytest.raises(ControlError, match="no card on the reader"):
        controls.remove_card()
    assert controls.use_card("C-005", "expired").name == "C-005-expired.json"


def test_a_pin_locked_card_ends_at_go_to_city_hall(kiosk: SimKiosk, controls: SimControls) -> None:
    controls.use_card("C-002", "pin_locked")
    assert controls.tries_left() == 0
    player = to_place_card(kiosk)
    assert controls.toggle_card() is True
    final = player.wait_for_end(10)
    assert final.outcome is not None and final.outcome.reason == "pin_locked"
    assert final.outcome.message_key == "go_to_city_hall"
    assert controls.toggle_card() is False and not controls.status().on_reader


def test_cash_results_hoppers_and_printer_faults(controls: SimControls) -> None:
    result = controls.insert_coin(500)
    assert not result.accepted and "master inhibit" in result.outcome  # not paying: the acceptor is shut
    assert controls.insert_note(3000).outcome.startswith("rejected")
    status = controls.status()
    assert status.last_cash is not None and status.last_cash.yen == 3000
    assert dict(status.hoppers) == {500: 20, 100: 50, 50: 20, 10: 50}
    assert status.tries_left == 3 and status.printer == "ok"
    controls.printer_fault("jam")
    assert controls.printer_status() == "jam armed"
    controls.printer_fault("paper_out")
    controls.clear_printer()
    assert controls.printer_status() == "ok"
    with pytest.raises(ControlError, match="unknown printer fault"):
        controls.printer_fault("fire")


def test_clearing_a_jam_that_happened_restarts_the_printer(kiosk: SimKiosk, controls: SimControls) -> None:
    controls.printer_fault("jam")
    kiosk.printer_sim.configure(sheets_fed=1)  # as the engine records the jammed sheet
    assert controls.printer_status() == "jammed"
    before = kiosk.printer_sim.process
    controls.clear_printer()
    assert kiosk.printer_sim.process is not None and kiosk.printer_sim.process is not before
    assert controls.printer_status() == "ok"
    status = kiosk.printer.get_printer_attributes(full=False)  # the kiosk's IPP driver reaches the new one
    assert status.accepting_jobs and "media-jam" not in status.state_reasons


def test_command_table_answers_and_never_echoes_a_pin(kiosk: SimKiosk, controls: SimControls) -> None:
    assert execute(controls, "use C-005 revoked") == "next card: C-005 revoked"
    assert execute(controls, "card") == "card C-005 revoked placed"
    assert execute(controls, "use C-001") == "error: a card is on the reader: remove it first"
    assert execute(controls, "remove") == "card C-005 revoked removed"
    assert execute(controls, "coin 100") == "error: coin 100: not on the pay screen (now: attract)"
    assert controls.insert_coin(100).outcome.startswith("rejected")  # the hand itself still drops it
    assert execute(controls, "coin ten") == "error: expected an amount in yen, not 'ten'"
    assert execute(controls, "pin 1234") == "error: pin ****: not on the pin screen (now: attract)"
    assert execute(controls, "bogus").startswith("error: unknown command 'bogus'")
    assert execute(controls, "") == ""
    assert "card C-005 revoked: out" in execute(controls, "status")
    assert "C-001" in execute(controls, "residents") and "coin YEN" in execute(controls, "help")
    out, stop = io.StringIO(), threading.Event()
    serve_lines(controls, ["printer jam\n", "quit\n", "card\n"], out, stop)
    assert out.getvalue() == "printer jam armed\n" and stop.is_set()  # nothing after quit
    assert "1234" not in out.getvalue()
    out, stop = io.StringIO(), threading.Event()
    serve_lines(controls, ["status\n"], out, stop)
    assert stop.is_set()  # the end of input stops the kiosk as quit does


def test_taps_wait_for_their_screen_refuse_elsewhere_and_say_what_happened(
    kiosk: SimKiosk, controls: SimControls
) -> None:
    answers: list[str] = []

    def do(line: str) -> str:
        answers.append(execute(controls, line))
        return answers[-1]

    assert do("route residence") == "error: route residence: not on the route screen (now: attract)"
    assert do("start en") == "tapped start en -> route"
    assert do("confirm") == "error: confirm: not on the confirm screen (now: route)"
    assert do("route residence") == "tapped route residence -> place_card"
    assert do("card") == "card C-001 normal placed -> pin"
    assert do("pin 9999") == "tapped pin **** -> pin (pin_incorrect)"  # waits out reading, then verifying
    assert do("pin 1234") == "tapped pin **** -> remove_card"
    assert do("choose juminhyo") == "error: choose juminhyo: not on the choose_type screen (now: remove_card)"
    assert do("remove") == "card C-001 normal removed -> choose_type"
    assert (
        do("choose koseki_nope") == "error: choose koseki_nope: refused: not_available (still on choose_type)"
    )
    assert do("choose juminhyo") == "tapped choose juminhyo -> options"
    assert do("options scope=all") == "tapped options scope=all -> copies"
    assert do("copies 99") == "error: copies 99: refused: copies_out_of_range (still on copies)"
    assert do("copies 1") == "tapped copies 1 -> confirm"
    assert do("coin 500") == "error: coin 500: not on the pay screen (now: confirm)"
    assert do("confirm") == "tapped confirm -> pay"
    assert do("coin 500").startswith("coin 500: accepted")
    final = Player(kiosk.flow, kiosk.hands, out=lambda _l: None).wait_for_end(30)
    assert final.outcome is not None and final.outcome.reason == "completed"
    assert do("finish") == "tapped finish -> attract"
    assert do("finish") == "error: finish: not on the done or failed screen (now: attract)"
    assert not any("1234" in a or "9999" in a for a in answers)


def _reader(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def _expect(lines: queue.Queue[str], wanted: str, timeout: float = 10.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith(wanted):
            return seen
    raise AssertionError(f"no {wanted!r} in {seen}")


@pytest.mark.timeout(40)
def test_headless_run_drives_a_card_in_and_out_from_stdin(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "harness", "sim", "--headless", "--resident", "S-001"]
    proc = subprocess.Popen(
        [*cmd, "--work", str(tmp_path)],
        cwd=REPO,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()

    def send(command: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()

    try:
        _expect(lines, "harness:", 20)
        send("start en")
        _expect(lines, "screen route")
        send("route residence")
        _expect(lines, "screen place_card")
        send("card")
        _expect(lines, "card S-001 normal placed -> pin")
        send("remove")  # the card leaves before the PIN: the flow stops
        seen = _expect(lines, "screen failed")
        assert "card S-001 normal removed" in seen
        send("status")
        status = _expect(lines, "card S-001 normal: out")[-1]
        assert status.startswith("card S-001 normal: out, auth PIN tries left 3;")
        send("quit")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_resident_flag_refuses_an_unknown_resident(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harness", "sim", "--headless", "--resident", "Q-42"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2 and run.stderr.strip().startswith("kiosk-harness: no resident 'Q-42'")


@pytest.mark.interop
@pytest.mark.timeout(40)
def test_use_card_through_real_pcscd_and_vpcd(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)
    with SimKiosk(tmp_path, {"reader": "pcsc"}) as kiosk:
        controls = SimControls(kiosk)
        controls.use_card("O-001")
        view = to_menu(kiosk, controls)
        assert {item.type: item.fee for item in view.menu}["juminhyo"] == 300  # 大阪市北区
        assert "fuhyo" not in {item.type for item in view.menu}
        kiosk.flow.post(ev.Cancel())
        Player(kiosk.flow, kiosk.hands, out=lambda _l: None).wait_for_end(10)
        with pytest.raises(ControlError):
            controls.use_card("X-000")
        controls.use_card("C-003", "pin_locked")  # swapped while the bridge is out
        assert controls.tries_left() == 0
