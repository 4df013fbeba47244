"""One call's watchdog: the deadline bounds the whole call, and an abandoned call stops its I/O.

Per-read socket timeouts do not bound a call: a center that sends one byte a second answers every read in
time and holds the kiosk for as long as it likes. So each call runs under a :class:`CallWatch`: a small
thread that, when the call's deadline passes or its cancel event is set, shuts down the socket of every
connection the call uses. A read blocked on that socket returns at once, the connection is dropped (never
reused half-read), and nothing goes on reading after the kiosk has given up. Between chunks the reader
also asks :meth:`CallWatch.check`, so an answer that keeps arriving stops at the deadline too.

Connections announce themselves with :func:`attach_current` (the transport's connection class calls it for
each new socket and on each request), which finds the watch of the calling thread. A new socket is watched
through a duplicate of its descriptor: the TLS handshake detaches the original socket object before it
starts, and shutting the duplicate down ends the handshake too (shutdown acts on the connection, not the
descriptor); the watch closes its duplicates when the call ends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from relay_client.errors import CancelledError, CenterUnavailable, RelayError

#: How often a watch looks at the cancel event (the caller's threading.Event cannot wake another thread).
POLL_S = 0.05
DEADLINE_EXCEEDED = "deadline_exceeded"
SocketOf = Callable[[], socket.socket | None]
_current = threading.local()


class CallWatch:
    """Watches one call for ``seconds`` (and ``cancel``); use as a context manager around the whole call."""

    def __init__(self, seconds: float, cancel: threading.Event | None, what: str) -> None:
        self.seconds = seconds
        self.what = what
        self._deadline = time.monotonic() + seconds
        self._cancel = cancel
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[SocketOf] = []
        self._dups: list[socket.socket] = []
        self._fired: str | None = None
        self._thread = threading.Thread(target=self._run, name="center-call-watch", daemon=True)

    def __enter__(self) -> CallWatch:
        self._thread.start()
        _current.watch = self
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _current.watch = None
        self._done.set()
        self._thread.join()
        self.release()

    def attach(self, socket_of: SocketOf) -> None:
        """Watch the socket ``socket_of()`` gives (now and later); shut it at once if the watch has fired."""
        with self._lock:
            self._sockets.append(socket_of)
            if self._fired is not None:
                _shut(socket_of)

    def attach_new(self, sock: socket.socket) -> None:
        """Watch a socket just connected, through a duplicate descriptor the watch owns (see the module)."""
        try:
            dup = sock.dup()
        except OSError:
            return
        with self._lock:
            self._dups.append(dup)
            self._sockets.append(lambda: dup)
            if self._fired is not None:
                _shut(lambda: dup)

    def release(self) -> None:
        """Stop watching the call's sockets (its answer is whole; the connection goes back to the pool)."""
        with self._lock:
            self._sockets.clear()
            dups, self._dups = self._dups, []
        for dup in dups:
            dup.close()

    @property
    def fired(self) -> bool:
        """True once the watch has shut the call's connections down."""
        return self._fired is not None

    def failure(self) -> RelayError | None:
        """The error the call ends with if the watch fired (CancelledError, or CenterUnavailable
        ``deadline_exceeded``), else None. Never raises."""
        return None if self._fired is None else self._error(self._fired)

    def check(self) -> None:
        """Raise the call's end now if it is cancelled or past its deadline (fired or not).

        Raises CancelledError, CenterUnavailable (``deadline_exceeded``).
        """
        why = self._fired or self._due()
        if why is not None:
            raise self._error(why)

    def _error(self, why: str) -> RelayError:
        if why == "cancelled":
            return CancelledError(f"{self.what} cancelled")
        return CenterUnavailable(
            DEADLINE_EXCEEDED,
            retryable=True,
            reason="try_again",
            detail=f"{self.what}: no whole answer within {self.seconds:.1f} s",
        )

    def _due(self) -> str | None:
        if self._cancel is not None and self._cancel.is_set():
            return "cancelled"
        return "deadline" if time.monotonic() >= self._deadline else None

    def _pause(self) -> float | None:
        if self._fired is not None:
            return None  # shut once; a socket attached later is shut by attach itself
        left = max(0.0, self._deadline - time.monotonic())
        return min(left, POLL_S) if self._cancel is not None else left

    def _run(self) -> None:
        while not self._done.wait(self._pause()):
            why = self._fired or self._due()
            if why is None:
                continue
            with self._lock:  # shut under the lock: once release() returns, no socket of it is touched
                self._fired = why
                for socket_of in self._sockets:
                    _shut(socket_of)


def attach_current(socket_of: SocketOf | None = None, *, new: socket.socket | None = None) -> None:
    """Put a connection's socket (``socket_of()``, or a ``new`` one just connected) under the calling
    thread's watch, if it has one. Never raises."""
    watch: CallWatch | None = getattr(_current, "watch", None)
    if watch is None:
        return
    if new is not None:
        watch.attach_new(new)
    if socket_of is not None:
        watch.attach(socket_of)


def _shut(socket_of: SocketOf) -> None:
    sock = socket_of()
    if sock is None:
        return
    with contextlib.suppress(OSError):
        # the plain socket's shutdown, also for a TLS socket: it wakes a read blocked in another thread and
        # leaves the TLS object alone (SSLSocket.shutdown would drop it under that read's feet)
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
