"""``kiosk-harness drive --socket PATH SCENARIO``: a scripted resident at a kiosk that runs on its own
devices (``kiosk run --config`` with ``[bench] control_socket``).

The resident's taps go to the kiosk's control socket, which takes each on the screen that takes it and
answers with the screen the kiosk settled on. What the resident does with their hands — placing and
removing the card, paying — is the bench's: with ``--bench PATH`` (the socket of ``kiosk-harness bench
up``) the simulated card and cash unit do it; without, the driver asks the person at the bench ("place
the card on the reader now, then press Enter"). A scenario's ``[setup]`` (resident, faults, clock) is
the bench's business too: the driver names the keys it cannot apply. The step log is the one
``kiosk-harness play`` prints; a PIN shows as ****.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from harness.scenario import Hands, Scenario, ScenarioError, step_line, unmet_expectations

DEFAULT_TIMEOUT = 60.0


class DriveError(RuntimeError):
    """The kiosk or the bench refused, went away, or did not answer; one line."""


class LineClient:
    """One connection to a unix line socket (the kiosk's control socket or the bench's hands)."""

    def __init__(self, path: Path, what: str) -> None:
        """Connect. Raises DriveError (no socket there, refused)."""
        self.what = what
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise DriveError(f"cannot reach the {what} at {path}: {exc.strerror or exc}") from exc
        self._lines = self._sock.makefile("r", encoding="utf-8", newline="\n")

    def call(self, line: str, timeout: float) -> str:
        """Send one command, return its one-line answer. Raises DriveError for "error: …" answers, a
        closed socket or no answer within ``timeout`` (+ a margin)."""
        self._sock.settimeout(timeout + 10.0)
        try:
            self._sock.sendall((line + "\n").encode("utf-8"))
            answer = self._lines.readline()
        except OSError as exc:
            raise DriveError(f"the {self.what} did not answer: {exc}") from exc
        if not answer:
            raise DriveError(f"the {self.what} closed the connection")
        answer = answer.rstrip("\n")
        if answer.startswith("error: "):
            raise DriveError(f"{self.what}: {answer.removeprefix('error: ')}")
        return answer

    def close(self) -> None:
        """Say goodbye and close. Never raises."""
        try:
            self._sock.sendall(b"quit\n")
        except OSError:
            pass
        self._lines.close()
        self._sock.close()


class BenchHands:
    """The resident's hands through the bench's socket."""

    def __init__(self, bench: LineClient) -> None:
        self.bench = bench

    def insert_card(self) -> None:
        self.bench.call("card", DEFAULT_TIMEOUT)

    def remove_card(self) -> None:
        self.bench.call("remove", DEFAULT_TIMEOUT)

    def insert_coin(self, yen: int) -> None:
        self.bench.call(f"coin {yen}", DEFAULT_TIMEOUT)

    def insert_note(self, yen: int) -> None:
        self.bench.call(f"note {yen}", DEFAULT_TIMEOUT)

    def pages(self) -> int:
        """Sheets in the bench printer's tray."""
        return int(self.bench.call("pages", DEFAULT_TIMEOUT).split()[1])


class PromptHands:
    """The resident's hands are a person's: each is asked for on ``out`` and confirmed with Enter."""

    def __init__(self, ask: Callable[[str], str] = input, out: TextIO = sys.stdout) -> None:
        self._ask, self._out = ask, out

    def _do(self, what: str) -> None:
        try:
            self._ask(f"{what} now, then press Enter ")
        except EOFError:
            raise DriveError(f"no one to {what} (stdin closed): use --bench") from None

    def insert_card(self) -> None:
        self._do("place the card on the reader")

    def remove_card(self) -> None:
        self._do("take the card off the reader")

    def insert_coin(self, yen: int) -> None:
        self._do(f"insert a {yen} yen coin")

    def insert_note(self, yen: int) -> None:
        self._do(f"feed a {yen} yen note")


BENCH_SETUP = {"resident", "card_pin", "reader", "clock"}  # what `bench up` decides (its own options)


def _tap(step: dict[str, object]) -> str | None:
    """The control-socket command for a tap step, or None for a hands / idle step."""
    action = str(step["do"])
    arguments: dict[str, Callable[[], str]] = {
        "start": lambda: f"start {step.get('language', 'ja')}",
        "route": lambda: f"route {step.get('route', 'residence')}",
        "pin": lambda: f"pin {step['pin']}",
        "choose": lambda: f"choose {step['type']}",
        "options": lambda: "options " + " ".join(f"{k}={v}" for k, v in dict(step["options"]).items()),  # type: ignore[call-overload]
        "copies": lambda: f"copies {step['copies']}",
        "confirm": lambda: "confirm",
        "cancel": lambda: "cancel",
        "finish": lambda: "finish",
    }
    make = arguments.get(action)
    return make() if make else None


class Driver:
    """Plays a scenario at a kiosk's control socket with ``hands``; ``out`` receives the step log."""

    def __init__(self, kiosk: LineClient, hands: Hands, out: Callable[[str], None] = print) -> None:
        self.kiosk, self.hands, self.out = kiosk, hands, out

    def play(self, scenario: Scenario, *, step_timeout: float = DEFAULT_TIMEOUT) -> str:
        """Run every step, then wait for the transaction's end; returns the outcome line. Raises
        DriveError (the kiosk refused a tap, went away), ScenarioError."""
        ignored = sorted(set(scenario.setup) - BENCH_SETUP)
        if ignored:
            self.out(f"note: [setup] {', '.join(ignored)} not applied: arrange them on the bench")
        for index, step in enumerate(scenario.steps, 1):
            timeout = float(step.get("timeout", step_timeout))
            if "wait" in step:
                answer = self.kiosk.call(f"wait {step['wait']} {timeout:g}", timeout)
                if answer.startswith("ended "):
                    ended = answer.removeprefix("ended ")
                    self.out(f"[{index:2}] expected {step['wait']}, the flow ended: {ended}")
                    break
            if "do" in step:
                self._act(step, timeout)
            self.out(step_line(index, step))
        outcome = self.kiosk.call(f"outcome {step_timeout:g}", step_timeout)
        self.out(outcome)
        return outcome

    def _act(self, step: dict[str, object], timeout: float) -> None:
        command = _tap(step)
        if command is not None:
            self.kiosk.call(command, timeout)
            return
        action = step["do"]
        if action == "insert_card":
            self.hands.insert_card()
        elif action == "remove_card":
            self.hands.remove_card()
        elif action == "idle":
            time.sleep(float(step.get("seconds", 1)))  # type: ignore[arg-type]
        elif action in ("coins", "notes"):
            insert = self.hands.insert_coin if action == "coins" else self.hands.insert_note
            for yen in step[str(action)]:  # type: ignore[attr-defined]
                insert(int(yen))
                time.sleep(0.15)  # one coin per acceptor poll, as a resident would
        else:
            raise ScenarioError(f"unknown action {action!r}")


def outcome_fields(line: str) -> dict[str, object]:
    """``outcome: done message=… reason=… pages=2/2`` → the fields ``[expect]`` compares (outcome = the
    reason, pages = those printed). Never raises."""
    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
    numbers = {k: int(v) for k, v in words.items() if v.lstrip("-").isdigit()}
    return {
        "outcome": words.get("reason", ""),
        "message": words.get("message", ""),
        "staff": words.get("staff", ""),
        "pages": int(words.get("pages", "0/0").split("/")[0] or 0),
        "refunded": numbers.get("refunded", 0),
        "change": numbers.get("change", 0),
    }


def check_outcome(scenario: Scenario, line: str) -> list[str]:
    """Differences between the scenario's [expect] table and the kiosk's outcome line."""
    return unmet_expectations(scenario.expect, outcome_fields(line))
