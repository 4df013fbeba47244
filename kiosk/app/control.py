"""The resident's taps without a touchscreen, for a test bench: what ``kiosk-harness sim --headless`` reads
from stdin and what a kiosk's local control socket (``[bench] control_socket``) answers.

A tap is posted to the flow the way the touchscreen posts it, but only on the screen that takes it: a
tap while the kiosk is busy (reading the card, talking to the center, printing) waits until it settles;
a tap on another screen is refused with one line (``confirm: not on the confirm screen (now: pin)``);
a tap the kiosk did nothing with, or refused (a type not offered, copies out of range), is answered as
such, never as done. The answer names the screen the kiosk settled on. A PIN is never echoed, logged
or kept: it goes into one ``PinEntered`` event and the answer shows ****.

The control socket (``ControlServer``) is a unix socket, mode 0600, one command a line, one answer a
line: the taps, ``view``, ``wait SCREEN [SECONDS]``, ``outcome [SECONDS]`` and ``help``. It is off unless
the configuration names it; it is for a test bench, never for a store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from kiosk.flow import events as ev
from kiosk.flow.machine import Flow
from kiosk.flow.timeouts import CANCELLABLE
from kiosk.flow.view import Screen, ViewState

log = logging.getLogger(__name__)

ENDED = frozenset({Screen.DONE, Screen.FAILED})
BUSY = frozenset(  # the kiosk is working, not waiting for the resident: a tap waits until it settles
    {
        Screen.READING,
        Screen.VERIFYING,
        Screen.AUTHENTICATING,
        Screen.ISSUING,
        Screen.FINISHING_PAYMENT,
        Screen.PRINTING,
        Screen.REPORTING,
        Screen.ABORTING,
    }
)
REFUSALS = frozenset({"not_available", "option_not_offered", "copies_out_of_range"})  # said on the screen
REACT_S = 3.0  # the flow reacts to a tap within milliseconds; this long without a change: it did nothing
MAX_LINE = 1024
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL


class TapError(ValueError):
    """A tap that cannot be done now or is malformed; the message is the one-line answer."""


def _one(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise TapError(f"usage: {usage}")
    return args[0]


def _none(args: list[str], usage: str) -> None:
    if args:
        raise TapError(f"usage: {usage}")


def _start(args: list[str]) -> ev.Event:
    if len(args) > 1:
        raise TapError("usage: start [LANG]")
    return ev.Start(language=args[0] if args else "ja")


def _pin(args: list[str]) -> ev.Event:
    if len(args) != 1 or not args[0].isdigit():
        raise TapError("usage: pin NNNN (digits only)")  # never the PIN itself
    return ev.PinEntered(pin=args[0])


def _options(args: list[str]) -> ev.Event:
    pairs = [arg.split("=", 1) for arg in args]
    if any(len(pair) != 2 for pair in pairs):
        raise TapError("usage: options KEY=VALUE ...")
    return ev.ChooseOptions(options=tuple((k, v) for k, v in pairs))


def _copies(args: list[str]) -> ev.Event:
    copies = _one(args, "copies N")
    if not copies.isdigit():
        raise TapError(f"copies: expected a number, not {copies!r}")
    return ev.ChooseCopies(copies=int(copies))


def _bare(event: Callable[[], ev.Event], usage: str) -> Callable[[list[str]], ev.Event]:
    def build(args: list[str]) -> ev.Event:
        _none(args, usage)
        return event()

    return build


@dataclass(frozen=True)
class Tap:
    """One tap: the screens that take it and how its event is built from the command's words."""

    needs: frozenset[Screen]
    build: Callable[[list[str]], ev.Event]
    usage: str
    settles: bool = True  # waits for a busy kiosk to settle first (cancel does not: it stops the work)


TAPS: dict[str, Tap] = {
    "start": Tap(frozenset({Screen.ATTRACT}), _start, "start [LANG]"),
    "route": Tap(
        frozenset({Screen.ROUTE}),
        lambda a: ev.ChooseRoute(route=_one(a, "route residence|honseki")),
        "route residence|honseki",
    ),
    "pin": Tap(frozenset({Screen.PIN}), _pin, "pin NNNN"),
    "choose": Tap(
        frozenset({Screen.CHOOSE_TYPE}), lambda a: ev.ChooseType(type=_one(a, "choose TYPE")), "choose TYPE"
    ),
    "options": Tap(frozenset({Screen.OPTIONS}), _options, "options KEY=VALUE ..."),
    "copies": Tap(frozenset({Screen.COPIES}), _copies, "copies N"),
    "confirm": Tap(frozenset({Screen.CONFIRM}), _bare(ev.Confirm, "confirm"), "confirm"),
    "back": Tap(frozenset({Screen.OPTIONS, Screen.COPIES}), _bare(ev.Back, "back"), "back"),
    "cancel": Tap(CANCELLABLE, _bare(ev.Cancel, "cancel"), "cancel", settles=False),
    "finish": Tap(ENDED, _bare(lambda: ev.Finish(resident=True), "finish"), "finish"),
}


def describe(view: ViewState) -> str:
    """One line for a view: the screen, and for an ended transaction its outcome and money (no personal
    data: codes and yen)."""
    o = view.outcome
    if o is None:
        return f"{view.screen}" + (f" ({view.message_key})" if view.message_key else "")
    return (
        f"{view.screen} message={o.message_key} reason={o.reason} staff={o.staff_code} "
        f"fee={view.fee} inserted={view.amount_inserted} change={view.change} refunded={o.refunded} "
        f"owed={o.refund_owed} pages={view.pages_printed}/{view.pages_total}"
    )


def _moved_from(flow: Flow, before: ViewState) -> Callable[[], bool]:
    """Whether the flow left ``before``'s screen or said something new (a countdown repaint is neither)."""
    return lambda: (flow.view.screen, flow.view.message_key) != (before.screen, before.message_key)


def _names(screens: Iterable[Screen]) -> str:
    return " or ".join(sorted(str(s) for s in screens))


class FlowWatch:
    """Follows a flow's views (thread-safe): waits for screens, and posts taps on the screens that take
    them."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self._changed = threading.Condition()
        self._views = 0
        self._last = flow.view.screen
        self.ended: list[ViewState] = []  # every DONE / FAILED view the flow reached, in order
        flow.subscribe(self._seen)

    def _seen(self, view: ViewState) -> None:
        with self._changed:
            self._views += 1
            if view.screen in ENDED and self._last not in ENDED:
                self.ended.append(view)
            self._last = view.screen
            self._changed.notify_all()

    @property
    def view(self) -> ViewState:
        """What the screen shows now."""
        return self.flow.view

    def _wait(self, ready: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(ready, timeout)

    def settled(self, timeout: float) -> ViewState:
        """The view once the kiosk is no longer busy (waits up to ``timeout``). Raises TapError when it
        stays busy."""
        if not self._wait(lambda: self.flow.view.screen not in BUSY, timeout):
            raise TapError(f"the kiosk is still busy after {timeout:.0f} s (now: {self.flow.view.screen})")
        return self.flow.view

    def wait_screen(self, screen: Screen, timeout: float, *, ended_after: int = 0) -> ViewState:
        """Wait until the flow shows ``screen``, or (when ``screen`` is not an end screen) shows the end of
        a transaction that ended after the first ``ended_after`` ones: the end of an earlier resident's
        transaction still on screen is waited out. Raises TimeoutError."""

        def ready() -> bool:
            now = self.flow.view.screen
            return now is screen or (screen not in ENDED and now in ENDED and len(self.ended) > ended_after)

        if not self._wait(ready, timeout):
            raise TimeoutError(
                f"screen {screen} not reached in {timeout:.0f} s (now: {self.flow.view.screen})"
            )
        return self.flow.view

    def wait_ended(self, after: int, timeout: float) -> ViewState:
        """The first DONE / FAILED view after the first ``after`` ones (waits up to ``timeout``). Raises
        TimeoutError."""
        if not self._wait(lambda: len(self.ended) > after, timeout):
            raise TimeoutError(
                f"the transaction did not end in {timeout:.0f} s (now: {self.flow.view.screen})"
            )
        with self._changed:
            return self.ended[after]

    def ready_for(
        self, what: str, needs: frozenset[Screen], timeout: float, *, settle: bool = True
    ) -> ViewState:
        """The view (once settled, with ``settle``) if it is one of ``needs``. Raises TapError ("``what``:
        not on the … screen (now: …)")."""
        view = self.settled(timeout) if settle else self.flow.view
        if view.screen not in needs:
            raise TapError(f"{what}: not on the {_names(needs)} screen (now: {view.screen})")
        return view

    def tap(self, words: list[str], timeout: float) -> str:
        """Do the tap ``words`` (e.g. ``["choose", "juminhyo"]``) on the screen that takes it and answer
        what came of it: ``tapped choose juminhyo -> options``. Raises TapError (unknown or malformed
        tap, wrong screen, refused, no effect); the message never holds a PIN."""
        name, args = words[0], words[1:]
        tap = TAPS.get(name)
        if tap is None:
            raise TapError(f"unknown tap {name!r} (taps: {', '.join(TAPS)})")
        shown = name + (" ****" if name == "pin" else "".join(f" {a}" for a in args))
        event = tap.build(args)
        before = self.ready_for(shown, tap.needs, timeout, settle=tap.settles)
        self.flow.post(event)
        if not self.wait_moved(before, REACT_S):  # a countdown repaint is not a reaction
            raise TapError(f"{shown}: the kiosk did nothing (still on {before.screen})")
        self._wait(lambda: self._settled_after(before), timeout)
        after = self.flow.view
        if after.screen is before.screen and after.message_key in REFUSALS:
            raise TapError(f"{shown}: refused: {after.message_key} (still on {after.screen})")
        return f"tapped {shown} -> {describe(after)}"

    def wait_view(self, ready: Callable[[ViewState], bool], timeout: float) -> ViewState:
        """The view once ``ready(view)`` holds, or as it is after ``timeout``."""
        self._wait(lambda: ready(self.flow.view), timeout)
        return self.flow.view

    def wait_moved(self, before: ViewState, timeout: float) -> bool:
        """Wait until the flow leaves ``before``'s screen or says something new (a countdown repaint is
        neither); returns whether it did."""
        return self._wait(_moved_from(self.flow, before), timeout)

    def _settled_after(self, before: ViewState) -> bool:
        now = self.flow.view
        if now.screen is before.screen:
            return now.message_key in REFUSALS or now.message_key in ("pin_incorrect",)
        return now.screen not in BUSY


HELP = (
    "taps: start [LANG] | route residence|honseki | pin NNNN | choose TYPE | options KEY=VALUE... | copies N"
    " | confirm | back | cancel | finish; view; wait SCREEN [SECONDS]; outcome [SECONDS]; help; quit"
)


class LineServer:
    """A local unix socket (mode 0600) at ``path``: one client at a time, one line in, one line out
    (``execute``); ``quit`` ends the connection. Subclasses answer the lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> int:
        """Called as a client connects; what it returns is passed to ``execute`` for that client."""
        return 0

    def execute(self, line: str, mark: int = 0) -> str:
        """One line's answer. Never raises."""
        raise NotImplementedError

    def start(self) -> Self:
        """Bind and serve on a thread. A stale socket left at ``path`` is replaced; anything else there is
        not. Raises OSError (no folder, not allowed, something else at the path)."""
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise OSError(f"{self.path} is longer than a unix socket path may be ({MAX_SOCKET_PATH} bytes)")
        if self.path.is_symlink() or (self.path.exists() and not stat.S_ISSOCK(self.path.stat().st_mode)):
            raise OSError(f"control socket {self.path}: something other than a socket is there")
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # born 0600: no moment where another user could connect
        try:
            sock.bind(str(self.path))
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(1)
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._accept, name=f"line-server {self.path.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the socket file. Never raises."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        mark = self.begin()
        with conn.makefile("r", encoding="utf-8", newline="\n") as lines:
            for line in lines:
                if self._stop.is_set() or line.strip() in ("quit", "bye"):
                    return
                try:
                    conn.sendall((self.execute(line[:MAX_LINE], mark) + "\n").encode("utf-8"))
                except OSError:
                    return


class ControlServer(LineServer):
    """The kiosk's local control socket for a test bench (see LineServer): the taps, ``view``, ``wait``,
    ``outcome`` (the first transaction that ended after the client connected) and ``help``."""

    def __init__(self, path: Path, flow: Flow, *, wait: float = 120.0) -> None:
        super().__init__(path)
        self.watch = FlowWatch(flow)
        self.wait = wait

    def begin(self) -> int:
        return len(self.watch.ended)

    def execute(self, line: str, mark: int = 0) -> str:
        """One command line's answer ("error: …" for a bad or refused one). Never raises."""
        words = line.split()
        if not words:
            return "error: empty command (try 'help')"
        log.info("control: %s", words[0])  # the command word only: never a PIN
        try:
            return self._answer(words, mark)
        except (TapError, TimeoutError) as exc:
            return f"error: {exc}"

    def _answer(self, words: list[str], mark: int) -> str:
        command, args = words[0], words[1:]
        if command == "help":
            return HELP
        if command == "view":
            return f"screen {describe(self.watch.view)}"
        if command == "wait":
            return self._wait_screen(args, mark)
        if command == "outcome":
            return f"outcome: {describe(self.watch.wait_ended(mark, _seconds(args[:1], self.wait)))}"
        return self.watch.tap(words, self.wait)

    def _wait_screen(self, args: list[str], mark: int) -> str:
        if not 1 <= len(args) <= 2 or args[0] not in {s.value for s in Screen}:
            raise TapError("usage: wait SCREEN [SECONDS]")
        screen = Screen(args[0])
        view = self.watch.wait_screen(screen, _seconds(args[1:], self.wait), ended_after=mark)
        return f"{'screen' if view.screen is screen else 'ended'} {describe(view)}"


def _seconds(args: list[str], default: float) -> float:
    if not args:
        return default
    try:
        value = float(args[0])
    except ValueError:
        raise TapError(f"expected seconds, not {args[0]!r}") from None
    if not 0 < value <= 3600:
        raise TapError(f"seconds out of range: {args[0]}")
    return value
