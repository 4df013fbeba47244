"""Xvfb on a free display, the kiosk window on it (``python -m harness.ui.desktop``) and real X input
(xdotool: XTest pointer and keys) aimed at its widgets. A uniquely named module, not a conftest import."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GUARD = 0.8  # a little more than the touchscreen's tap guard: a resident reading the new screen
KEYS_THAT_MUST_DO_NOTHING = ("Escape", "F1", "alt+F4", "ctrl+c", "ctrl+e", "F11", "ctrl+q")


class DesktopError(AssertionError):
    """The window did not do what a resident would see it do."""


@contextmanager
def xvfb() -> Iterator[str]:
    """An Xvfb server on a free display number (it picks one: ``-displayfd``); yields ``:N``. Stopped and
    reaped on exit."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            raise DesktopError("Xvfb did not report a display")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def tools_present() -> list[str]:
    """The programs this needs that are missing (scripts/setup.sh installs them)."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


class Kiosk:
    """The kiosk window process on ``display``, driven with X events; its stdout lines are kept in order."""

    def __init__(self, display: str, work: Path) -> None:
        self.display = display
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_"))}
        env.update(DISPLAY=display, SDL_AUDIODRIVER="dummy", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.env = env
        self.errors = (work / "stderr.txt").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.ui.desktop", "--size", "800x600", "--work", str(work)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.lines: list[str] = []
        self._new: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._cursor = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.expect(r"touchscreen open", timeout=60)
        self._cursor = 0  # the first screen was announced before the first frame
        self.window = self._window_id()
        self.xdo("mousemove", "--window", self.window, "400", "300")  # focus follows the pointer (no WM)

    # --- the process --------------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._new.put(line.rstrip("\n"))
        self._new.put("<eof>")

    def _pump(self, timeout: float) -> bool:
        try:
            self.lines.append(self._new.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def expect(self, pattern: str, timeout: float = 20.0) -> str:
        """The next line (after the last one expected) matching ``pattern``. Raises DesktopError."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._cursor, len(self.lines)):
                if re.search(pattern, self.lines[i]):
                    self._cursor = i + 1
                    return self.lines[i]
            self._cursor = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or (self.lines and self.lines[-1] == "<eof>"):
                raise DesktopError(f"no line matching {pattern!r}; last lines: {self.lines[-12:]}")
            self._pump(min(left, 0.2))

    def since(self, seconds: float) -> list[str]:
        """The lines that arrive within ``seconds`` from now (and any not yet looked at)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._pump(left)
        new, self._cursor = self.lines[self._cursor :], len(self.lines)
        return new

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        """The stop request (``quit``); returns the exit status."""
        if self.alive():
            self.say("quit")
        try:
            return self.proc.wait(30)
        finally:
            self.close()

    def close(self) -> None:
        """Kill the process if it still runs and reap it. Never raises."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.errors.close()

    # --- X input ------------------------------------------------------------------------------------
    def xdo(self, *args: str) -> str:
        out = subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=20, check=True
        )
        return out.stdout.strip()

    def _window_id(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--class", "."],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout.split()
            if found:
                return found[0]
            time.sleep(0.2)
        raise DesktopError("no window on the display")

    def where(self, screen: str, target: str) -> tuple[int, int]:
        """Window pixels of ``target`` on ``screen`` (asks the window). Raises DesktopError."""
        self.say(f"where {screen} {target}")
        answer = self.expect(rf"^at {screen} {re.escape(target)} ")
        parts = answer.split()
        if parts[3] == "none":
            raise DesktopError(f"{target} is not on {screen}: {self.lines[-12:]}")
        return int(parts[3]), int(parts[4])

    def tap(self, screen: str, target: str, *, times: int = 1, gap_ms: int = 150) -> None:
        """Click ``target`` with the X pointer ``times`` times, ``gap_ms`` apart (a double or triple tap)."""
        x, y = self.where(screen, target)
        self.xdo("mousemove", "--window", self.window, str(x), str(y))
        self.xdo("click", "--repeat", str(times), "--delay", str(gap_ms), "1")

    def click_at(self, screen: str, target: str, button: int) -> None:
        """One click of mouse ``button`` (1 left, 2 middle, 3 right) on ``target``."""
        x, y = self.where(screen, target)
        self.xdo("mousemove", "--window", self.window, str(x), str(y))
        self.xdo("click", str(button))

    def hold(self, screen: str, target: str, seconds: float) -> None:
        x, y = self.where(screen, target)
        self.xdo("mousemove", "--window", self.window, str(x), str(y))
        self.xdo("mousedown", "1")
        time.sleep(seconds)
        self.xdo("mouseup", "1")

    def keys(self, *names: str) -> None:
        """Press each key (chord) on the keyboard, pointer on the window."""
        self.xdo("mousemove", "--window", self.window, "400", "300")
        for name in names:
            self.xdo("key", name)

    def showing(self) -> tuple[str, str]:
        self.say("showing")
        _, screen, page = self.expect(r"^showing ").split()
        return screen, page

    def ui(self, screen: str, timeout: float = 20.0) -> None:
        """Wait until the window shows ``screen``, then as long as a resident takes to read it."""
        self.expect(rf"^ui {screen}$", timeout)
        time.sleep(GUARD)
