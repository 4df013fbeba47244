"""A hostile issuance center for tests: real mutual TLS on 127.0.0.1:0, and every byte of the answer scripted.

``routes[(method, path)]`` is a function given the :class:`Exchange`; it writes whatever it likes (a head
with any headers, a gzip bomb, a body dripped one byte at a time) with ``send``/``drip``/``stream``, and
records when the kiosk hung up on it (a failed write, or ``linger`` seeing the connection close). The
server's key and the terminal CA come from a directory written by ``relay_helpers.build_pki``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import select
import socket
import socketserver
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 64 * 1024


@dataclass
class Exchange:
    """One request as the hostile center saw it, and the pipe to answer it on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    out: BinaryIO
    conn: socket.socket
    stop: threading.Event
    peer_gone_at: float | None = None  # monotonic time the kiosk closed the connection on us
    sent: int = 0

    def send(self, data: bytes) -> bool:
        """Write ``data``; False (and ``peer_gone_at`` set) once the kiosk has gone away."""
        try:
            self.out.write(data)
            self.out.flush()
        except (OSError, ValueError):
            if self.peer_gone_at is None:
                self.peer_gone_at = time.monotonic()
            return False
        self.sent += len(data)
        return True

    def stream(self, pieces: Iterable[bytes]) -> bool:
        """Send each piece until the kiosk hangs up or the server stops."""
        for piece in pieces:
            if self.stop.is_set() or not self.send(piece):
                return False
        return True

    def drip(self, data: bytes, interval: float) -> bool:
        """Send ``data`` one byte every ``interval`` seconds (a slow drip that beats per-read timeouts)."""
        for i in range(len(data)):
            if self.stop.wait(interval) or not self.send(data[i : i + 1]):
                return False
        return True

    def linger(self, timeout: float) -> bool:
        """Say nothing more and wait (in the handler's thread) until the kiosk closes the connection."""
        end = time.monotonic() + timeout
        while self.peer_gone_at is None and not self.stop.is_set() and time.monotonic() < end:
            readable, _, _ = select.select([self.conn], [], [], 0.02)
            if not readable:
                continue
            try:
                data = self.conn.recv(4096)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                data = b""
            if not data:
                self.peer_gone_at = time.monotonic()
        return self.peer_gone_at is not None

    def wait_peer_gone(self, timeout: float) -> bool:
        """Wait (in the test's thread, touching no socket) until the route has seen the kiosk hang up."""
        end = time.monotonic() + timeout
        while self.peer_gone_at is None and time.monotonic() < end:
            time.sleep(0.01)
        return self.peer_gone_at is not None


Route = Callable[[Exchange], None]


def head(status: int, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    """A status line and header block; ``length`` becomes Content-Length."""
    lines = [f"HTTP/1.1 {status} X"]
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    if length is not None:
        all_headers["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    """A whole JSON answer (a ``bytes`` body is sent as it is)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return head(status, headers, length=len(data)) + data


@functools.cache
def gzip_bomb(inflated: int, *, prefix: bytes = b'{"pad": "') -> bytes:
    """gzip bytes that inflate to ``inflated`` bytes of a JSON-looking prefix and spaces (about 1000:1)."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [squeeze.compress(prefix)]
    block = b" " * CHUNK
    left = inflated - len(prefix)
    while left > 0:
        out.append(squeeze.compress(block[: min(left, CHUNK)]))
        left -= CHUNK
    out.append(squeeze.flush())
    return b"".join(out)


def zeros(total: int) -> Iterator[bytes]:
    """``total`` bytes of a JSON-looking body, in 64 KiB pieces, never all in memory."""
    yield b'{"pad": "'
    left = total - 9
    block = b" " * CHUNK
    while left > 0:
        yield block[: min(left, CHUNK)]
        left -= CHUNK


@dataclass
class HostileCenter:
    """A threaded HTTPS/1.1 server with mutual TLS (terminal CA) answering each request by its route."""

    pki_root: Path
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.pki_root / "server.pem", self.pki_root / "server.key")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(self.pki_root / "terminal-ca.pem")
        self.stop = threading.Event()
        self._handlers: list[tuple[threading.Thread, socket.socket]] = []
        outer = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._handlers.append((threading.current_thread(), self.connection))
                while not outer.stop.is_set() and outer._serve_one(self.rfile, self.wfile, self.connection):
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _serve_one(self, rfile: BinaryIO, wfile: BinaryIO, conn: socket.socket) -> bool:
        try:
            request_line = rfile.readline(8192).decode("latin-1").strip()
            if not request_line:
                return False
            headers: dict[str, str] = {}
            while (line := rfile.readline(8192).decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = rfile.read(int(headers.get("content-length") or 0))
        except (OSError, ValueError):
            return False
        method, target = request_line.split(" ")[:2]
        ex = Exchange(method, target.split("?")[0], headers, body, wfile, conn, self.stop)
        self.exchanges.append(ex)
        route = self.routes.get((method, ex.path))
        if route is None:
            ex.send(answer({"code": "not_found"}, 404))
        else:
            route(ex)
        return ex.peer_gone_at is None

    def close(self) -> None:
        """Stop every handler (drips end at once) and the server; joins their threads."""
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        for thread, conn in list(self._handlers):
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)  # wakes a handler waiting for the next request
            thread.join(5)
