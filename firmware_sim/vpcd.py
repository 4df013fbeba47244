"""Bridge a virtual card into pcscd through vsmartcard's vpcd driver (the card side of its TCP protocol).

vpcd listens (one TCP port per virtual reader); we connect = card inserted, close = card removed.
Frames are a 2-byte big-endian length + payload. A 1-byte payload is a control code (0 power off,
1 power on, 2 reset — no reply; 4 get ATR — reply the ATR); a longer one is a command APDU, answered
with the response APDU. pcscd asks for the ATR every 400 ms while a card is present.

Debian's vpcd writes the length and the payload in two ``send()`` calls, so without
``TCP_QUICKACK`` after every ``recv`` each message waits ~40 ms for a delayed ACK.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Protocol

from firmware_sim.card.cardos import TRAFFIC

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963
MAX_FRAME = 0xFFFF
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
_BACKOFF_START, _BACKOFF_MAX = 0.05, 1.0
IDLE_TIMEOUT = 1.5
# pcscd polls presence every 400 ms. A card out for less than that is never seen leaving: pcscd
# keeps its old "powered" state and every new connection fails. Stay out at least this long.
MIN_OUT_TIME = 0.5
_last_out: dict[tuple[str, int], float] = {}  # per reader, across bridges of this process


class VirtualCard(Protocol):
    """What the bridge needs from a card (CardOS / MyNumberCard fit)."""

    atr: bytes

    def power_on(self) -> bytes: ...

    def power_off(self) -> None: ...

    def reset(self) -> bytes: ...

    def process(self, apdu: bytes) -> bytes: ...


class _LinkClosed(Exception):
    """The vpcd connection ended (peer closed, removed by us, or a protocol violation)."""


def _quickack(sock: socket.socket) -> None:
    # Linux resets TCP_QUICKACK after use: it must be set again after every recv.
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except (OSError, AttributeError):  # not Linux, or socket already gone
        pass


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = sock.recv(size - len(chunks))
        except TimeoutError as exc:
            raise _LinkClosed("vpcd silent (pcscd stopped polling); reconnecting") from exc
        except OSError as exc:
            raise _LinkClosed(f"recv failed: {exc}") from exc
        _quickack(sock)
        if not chunk:
            raise _LinkClosed("vpcd closed the connection")
        chunks += chunk
    return bytes(chunks)


class VpcdBridge:
    """Keeps ``card`` inserted in vpcd's reader at ``host:port`` (a background thread).

    ``start()`` runs the thread (inserted unless told otherwise); ``remove()`` closes the socket
    (pcscd sees the card leave); ``insert()`` connects again; ``stop()`` removes and ends the thread.
    While inserted, a lost or refused connection is retried with back-off. The thread never dies
    from an exception; everything is logged.
    """

    def __init__(self, card: VirtualCard, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.card = card
        self.host = host
        self.port = port
        self._cond = threading.Condition()
        self._inserted = False
        self._stopping = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        #: Set while vpcd (pcscd) is talking to the card: from its first frame until the link closes.
        self.connected = threading.Event()
        #: How many connection attempts failed since the last successful connect.
        self.connect_failures = 0
        #: pcscd polls the ATR every 400 ms; a longer silence means a stuck link: reconnect.
        self.idle_timeout = IDLE_TIMEOUT
        self.min_out_time = MIN_OUT_TIME
        self._out_since = _last_out.get((host, port), -MIN_OUT_TIME)

    # --- control (any thread) --------------------------------------------------------------------
    def start(self, *, inserted: bool = True) -> None:
        """Start the bridge thread. Raises RuntimeError if already started."""
        if self._thread is not None:
            raise RuntimeError("bridge already started")
        self._inserted = inserted
        self._thread = threading.Thread(target=self._run, name=f"vpcd-{self.port}", daemon=True)
        self._thread.start()

    def insert(self, timeout: float | None = None) -> bool:
        """Put the card in the reader; with ``timeout``, wait for the connection. Returns connected."""
        with self._cond:
            self._inserted = True
            self._cond.notify_all()
        return self.connected.wait(timeout) if timeout is not None else self.connected.is_set()

    def remove(self, timeout: float = 2.0) -> None:
        """Take the card out: close the connection (waits up to ``timeout`` for it). Never raises."""
        with self._cond:
            self._inserted = False
            self._close_socket()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._sock is None, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Remove the card and end the thread. Never raises."""
        with self._cond:
            self._stopping = True
        self.remove(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_connected(self, timeout: float) -> bool:
        """Wait until vpcd talks to the card (pcscd polls every 400 ms). Returns False on timeout."""
        return self.connected.wait(timeout)

    def _close_socket(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread's blocking recv
            except OSError:
                pass

    # --- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = _BACKOFF_START
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._inserted or self._stopping)
                if self._stopping:
                    return
                out_for = time.monotonic() - self._out_since
                if out_for < self.min_out_time:
                    self._cond.wait_for(lambda: self._stopping, self.min_out_time - out_for)
                    continue
            try:
                sock = self._connect()
            except OSError as exc:
                self.connect_failures += 1
                log = logger.info if self.connect_failures == 1 else logger.debug
                log("vpcd at %s:%d not reachable (%s); retrying", self.host, self.port, exc)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping or not self._inserted, backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            except Exception:  # never let the thread die
                logger.exception("vpcd connect fault")
                time.sleep(backoff)
                continue
            backoff = _BACKOFF_START
            self._serve_guarded(sock)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=2.0)
        sock.settimeout(self.idle_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _quickack(sock)
        with self._cond:
            if not self._inserted or self._stopping:
                sock.close()
                raise OSError("removed while connecting")
            self._sock = sock
        self.connect_failures = 0
        return sock

    def _serve_guarded(self, sock: socket.socket) -> None:
        try:
            self._serve(sock)
        except _LinkClosed as exc:
            logger.info("vpcd link to %s:%d closed: %s", self.host, self.port, exc)
        except Exception:
            logger.exception("vpcd bridge fault; reconnecting")
        finally:
            self.connected.clear()
            try:
                self.card.power_off()
            except Exception:
                logger.exception("card power-off failed")
            with self._cond:
                sock.close()
                self._sock = None
                self._out_since = _last_out[(self.host, self.port)] = time.monotonic()
                self._cond.notify_all()

    def _serve(self, sock: socket.socket) -> None:
        while True:
            size = int.from_bytes(_recv_exact(sock, 2), "big")
            if size == 0:
                raise _LinkClosed("empty frame from vpcd (protocol violation)")
            payload = _recv_exact(sock, size)
            if not self.connected.is_set():
                # Only now is the card really in: vpcd serves one card and leaves others in its
                # listen backlog, where connect() succeeds but nobody talks to them.
                self.connected.set()
                logger.info("card inserted into vpcd %s:%d", self.host, self.port)
            reply = self._answer(payload)
            if reply is None:
                continue
            if len(reply) > MAX_FRAME:
                raise _LinkClosed(f"response of {len(reply)} bytes does not fit a vpcd frame")
            try:
                sock.sendall(len(reply).to_bytes(2, "big") + reply)
            except OSError as exc:
                raise _LinkClosed(f"send failed: {exc}") from exc

    def _answer(self, payload: bytes) -> bytes | None:
        if len(payload) > 1:
            return self.card.process(payload)
        code = payload[0]
        logger.log(TRAFFIC, "vpcd control %d", code)
        if code == GET_ATR:
            return self.card.atr
        if code == POWER_ON:
            self.card.power_on()
        elif code == POWER_OFF:
            self.card.power_off()
        elif code == RESET:
            self.card.reset()
        else:
            raise _LinkClosed(f"unknown vpcd control code {code}")
        return None
