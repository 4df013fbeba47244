"""Mock issuance center: complete transactions per second (open → authenticate → order → documents →
payment → result) from N concurrent kiosks against one ``mock-relay serve`` process, p50/p99 per call,
beside the bare cost of the same crypto and PDF work done in a loop in one process (the ceiling).

The center renders documents in ``RENDER_PROCESSES`` worker processes (``mock-relay serve
--render-processes``), one per core; the baseline beside it is the same center and load with documents
rendered in a thread of the server's own process (``--render-processes 0``), measured in the same run.

Each kiosk thread keeps one mTLS keep-alive connection (http.client) and runs whole transactions for
the Ohira residents (their municipality allows same-day reissue, so transactions can repeat). The kiosks
run in ``LOADGEN_PROCESSES`` processes, and the CPU seconds the center and the load generator spent per
transaction are printed too: when the center uses a whole core and the load generator less, the center is
the bottleneck, not the load.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from bench import Row
from firmware_sim.card.image import CardImage
from firmware_sim.pki.hierarchy import TestPki
from mock_relay.cli.cards import personalise_for
from mock_relay.documents import build as documents
from mock_relay.documents import pdf as pdf_module
from mock_relay.jpki_check import JpkiChecker, auth_message
from mock_relay.model import JST, YEAR_END_CLOSURE, OrderItem, Route
from mock_relay.ocsp import OcspResponder
from mock_relay.registry.store import Registry
from mock_relay.routes.documents import canonical
from mock_relay.rules import menu as rules
from mock_relay.tls import CenterPki, client_context

RESIDENTS = ("V-001", "V-002", "V-003")  # 大衡村: refuse_same_day_reissue=False
CALLS = ("open", "authenticate", "order", "documents", "payment", "result")
SECONDS_PER_RUN = 6.0
CLIENT_COUNTS = (1, 4, 16, 32)
LOADGEN_PROCESSES = 2
RENDER_PROCESSES = min(2, os.cpu_count() or 1)


def _clock() -> datetime:
    day = datetime.now(JST).date() + timedelta(days=1)
    while day.weekday() >= 5 or (day.month, day.day) in YEAR_END_CLOSURE or (day.month, day.day) == (12, 6):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=JST)


class _Kiosk:
    """One simulated kiosk: a persistent mutual-TLS keep-alive connection speaking raw HTTP/1.1 (headers
    pre-built, responses read by Content-Length), so that the load generator spends its CPU on what a
    kiosk must do (TLS, the card's RSA signature, JSON) and not on an HTTP client library."""

    def __init__(self, url: str, tdir: Path, card: Path) -> None:
        host, port = url.removeprefix("https://").split(":")
        self.address = (host, int(port))
        self.ctx = client_context(tdir / "terminal.pem", tdir / "terminal.key", tdir / "center-ca.pem")
        self.host = f"{host}:{port}".encode()
        self.sock: ssl.SSLSocket | None = None
        self.buffer = b""
        image = CardImage.load(card)
        self.cert_b64 = base64.b64encode(image.jpki_files[0x000A]).decode()
        self.key = image.auth_key()
        self.terminal = tdir.name

    def _connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(self.address, timeout=60)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = self.ctx.wrap_socket(raw, server_hostname=self.address[0]), b""
        return self.sock

    def _read_until(self, sock: ssl.SSLSocket, marker: bytes) -> int:
        while (at := self.buffer.find(marker)) < 0:
            chunk = sock.recv(262144)
            if not chunk:
                raise ConnectionError("the center closed the connection")
            self.buffer += chunk
        return at

    def _read_body(self, sock: ssl.SSLSocket, length: int) -> bytes:
        parts, have = [self.buffer], len(self.buffer)
        while have < length:
            chunk = sock.recv(max(262144, length - have))
            if not chunk:
                raise ConnectionError("the center closed the connection")
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self.buffer = data[length:]
        return data[:length]

    def post_raw(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one POST on the kept connection (connecting first when there is none)."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host.decode()}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock = self.sock or self._connect()
        sock.sendall(head + body)
        end = self._read_until(sock, b"\r\n\r\n")
        header, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
        status = int(header[9:12])
        lowered = header.lower()
        at = lowered.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"{path}: an answer without Content-Length")
        length = int(lowered[at + 17 : lowered.find(b"\r\n", at + 2)])
        data = self._read_body(sock, length)
        if b"\r\nconnection: close" in lowered:
            sock.close()
            self.sock = None
        if status >= 300:
            raise RuntimeError(f"{path}: {status} {data[:200]!r}")
        return status, data

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self.post_raw(path, json.dumps(body).encode())[1])  # type: ignore[no-any-return]

    def transaction(self, timings: dict[str, list[float]]) -> None:
        def timed(name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            out = self.post(path, body)
            timings[name].append(time.perf_counter() - start)
            return out

        s = timed("open", "/v1/sessions", {})
        challenge = base64.urlsafe_b64decode(s["challenge"] + "=")
        sig = self.key.sign(
            auth_message(s["session_id"], challenge, self.terminal), padding.PKCS1v15(), hashes.SHA256()
        )
        body = {
            "route": "residence",
            "certificate": self.cert_b64,
            "signature": base64.b64encode(sig).decode(),
        }
        timed("authenticate", f"/v1/sessions/{s['session_id']}/authenticate", body)
        order = timed(
            "order", f"/v1/sessions/{s['session_id']}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}
        )
        oid = order["order_id"]
        start = time.perf_counter()
        _, raw = self.post_raw(f"/v1/orders/{oid}/documents", b"{}")
        timings["documents"].append(time.perf_counter() - start)
        # The ~130 kB answer is not parsed as a whole: the kiosk needs its document ids, each right
        # after its own "document_id" key (relay_client verifies documents in full; this is load).
        ids = _DOCUMENT_ID.findall(raw)
        if not ids:
            raise RuntimeError(f"documents: no document in the answer {raw[:200]!r}")
        timed("payment", f"/v1/orders/{oid}/payment", {"amount_received": order["total"], "change_given": 0})
        copies = [{"document_id": d.decode(), "outcome": "printed"} for d in ids]
        timed("result", f"/v1/orders/{oid}/result", {"copies": copies})


_DOCUMENT_ID = re.compile(rb'\{"document_id":"(D-[A-Za-z0-9_-]+)"')


def _kiosk_process(
    url: str, specs: list[tuple[Path, Path]], queue: Any, seconds: float = SECONDS_PER_RUN
) -> None:
    """One load-generator process: a thread per kiosk; puts (done, timings, cpu seconds, error)."""
    kiosks = [_Kiosk(url, tdir, card) for tdir, card in specs]
    done, timings, errors = _threads(kiosks, seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((done, dict(timings), usage.ru_utime + usage.ru_stime, str(errors[0]) if errors else ""))


def _threads(kiosks: list[_Kiosk], seconds: float) -> tuple[int, dict[str, list[float]], list[BaseException]]:
    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    done = [0]
    deadline = time.monotonic() + seconds
    errors: list[BaseException] = []

    def worker(kiosk: _Kiosk) -> None:
        local: dict[str, list[float]] = defaultdict(list)
        try:
            while time.monotonic() < deadline:
                kiosk.transaction(local)
                with lock:
                    done[0] += 1
        except BaseException as exc:
            errors.append(exc)
        with lock:
            for k, v in local.items():
                timings[k].extend(v)

    threads = [threading.Thread(target=worker, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], timings, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(
    url: str, specs: list[tuple[Path, Path]], server_pid: int
) -> tuple[float, dict[str, list[float]], float, float]:
    """Transactions/s, timings per call, center CPU s and load-generator CPU s per transaction.
    Raises RuntimeError if a kiosk failed."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    parts = [specs[i::LOADGEN_PROCESSES] for i in range(LOADGEN_PROCESSES) if specs[i::LOADGEN_PROCESSES]]
    procs = [ctx.Process(target=_kiosk_process, args=(url, part, queue)) for part in parts]
    cpu0, start = _cpu_seconds(server_pid), time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get(timeout=SECONDS_PER_RUN + 120) for _ in procs]
    for p in procs:
        p.join()
    elapsed, center_cpu = time.monotonic() - start, _cpu_seconds(server_pid) - cpu0
    errors = [r[3] for r in results if r[3]]
    if errors:
        raise RuntimeError(f"a kiosk failed: {errors[0]}")
    done = sum(r[0] for r in results)
    timings: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for k, v in r[1].items():
            timings[k].extend(v)
    loadgen_cpu = sum(r[2] for r in results)
    return done / elapsed, timings, center_cpu / max(done, 1), loadgen_cpu / max(done, 1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _ceiling(data: Path) -> float:
    """Seconds of bare crypto + PDF work per transaction, in-process: RSA verify, OCSP request/response
    (sign + verify), rules, render, SHA-256, ECDSA binding signature."""
    pki = TestPki.open(data / "jpki")
    registry = Registry(data / "registry.sqlite", seed=False)
    center = CenterPki.open(data / "center")
    image = CardImage.load(data / "bench-V-001.card")
    cert = x509.load_der_x509_certificate(image.jpki_files[0x000A])
    key = image.auth_key()
    issuer = pki.issuer_of(cert)
    responder, checker = OcspResponder(pki), JpkiChecker(pki, "")
    resident = registry.resident("V-001")
    assert issuer is not None and resident is not None and isinstance(cert.public_key(), rsa.RSAPublicKey)
    now, rounds = _clock(), 10
    start = time.perf_counter()
    for i in range(rounds):
        msg = auth_message("S-bench", bytes(32), "T-0001")
        checker.check_local(
            cert.public_bytes(serialization.Encoding.DER),
            key.sign(msg, padding.PKCS1v15(), hashes.SHA256()),
            msg,
            now,
        )
        req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
        resp = ocsp.load_der_ocsp_response(responder.respond(req.public_bytes(serialization.Encoding.DER)))
        assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
        menu = rules.open_menu(registry, resident, Route.RESIDENCE, now)
        priced = rules.price_order(registry, resident, menu, [OrderItem.parse({"type": "juminhyo"})], now)
        code = "AAAA-BBBB-CCCC-DDDD"
        request = documents.build_document_request(
            registry, resident, priced[0], 0, f"D-{i}", code, "https://127.0.0.1/v1/verify/x", now
        )
        pdf = documents.render_document(request).pdf
        binding = {"document_id": f"D-{i}", "sha256": hashlib.sha256(pdf).hexdigest()}
        center.signer.key.sign(canonical(binding), ec.ECDSA(hashes.SHA256()))
    registry.close()
    return (time.perf_counter() - start) / rounds


def _render_cpu(data: Path, rounds: int = 20) -> tuple[float, float]:
    """CPU seconds per 住民票 render: with the center's cached images and font subsets dropped before every
    document (each document decodes and deflates its images and cuts its fonts, as plain reportlab does),
    then as served."""
    registry = Registry(data / "registry.sqlite", seed=False)
    resident = registry.resident("V-001")
    assert resident is not None
    now = _clock()
    menu = rules.open_menu(registry, resident, Route.RESIDENCE, now)
    priced = rules.price_order(registry, resident, menu, [OrderItem.parse({"type": "juminhyo"})], now)
    out = []
    for fresh in (True, False):
        documents.render_document(
            documents.build_document_request(
                registry,
                resident,
                priced[0],
                0,
                "D-warm",
                "AAAA-BBBB-CCCC-DDDD",
                "https://127.0.0.1/v1/verify/w",
                now,
            )
        )
        start = time.process_time()
        for i in range(rounds):
            if fresh:
                pdf_module.forget_cached_objects()
            request = documents.build_document_request(
                registry,
                resident,
                priced[0],
                0,
                f"D-{i}",
                "AAAA-BBBB-CCCC-DDDD",
                f"https://127.0.0.1/v1/verify/{i}",
                now,
            )
            documents.render_document(request)
        out.append((time.process_time() - start) / rounds)
    registry.close()
    return out[0], out[1]


@contextlib.contextmanager
def _serve(data: Path, render_processes: int) -> Iterator[tuple[str, int]]:
    """A ``mock-relay serve`` on ``data``: (API URL, pid). Raises RuntimeError if it does not start."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_relay.cli.main",
            "serve",
            "--data",
            str(data),
            "--clock",
            _clock().isoformat(),
            "--render-processes",
            str(render_processes),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError("mock-relay serve did not start")
        yield line.split()[-1], proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _workers_cpu(pid: int) -> float:
    """CPU seconds of ``pid``'s child processes (the render workers) so far."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for child in children:
        try:
            total += _cpu_seconds(int(child))
        except (OSError, ValueError):
            continue
    return total


def run() -> list[Row]:
    """The benchmark rows. Raises RuntimeError if the server does not start or a transaction fails."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "center"
        with _serve(data, RENDER_PROCESSES) as (url, pid):
            rows = _measure(url, data, Path(tmp), pid)
        with _serve(data, 0) as (url, pid):
            rows += _baseline(url, data, Path(tmp), pid)
    return rows


@functools.lru_cache(maxsize=4)  # one card per resident per center, made once for every kiosk count
def _cards(data: Path) -> tuple[Path, ...]:
    pki, registry = TestPki.open(data / "jpki"), Registry(data / "registry.sqlite")
    cards = []
    for rid in RESIDENTS:
        path = data / f"bench-{rid}.card"
        personalise_for(pki, registry, rid, path)
        cards.append(path)
    registry.close()
    return tuple(cards)


def _kiosks(data: Path, tmp: Path, n: int, tag: str) -> list[tuple[Path, Path]]:
    center, cards = CenterPki.open(data / "center"), _cards(data)
    return [
        (center.issue_terminal(f"T-{tag}{i:03d}", tmp / f"T-{tag}{i:03d}"), cards[i % len(cards)])
        for i in range(n)
    ]


def _baseline(url: str, data: Path, tmp: Path, server_pid: int) -> list[Row]:
    n = CLIENT_COUNTS[-2]
    tps, timings, center_cpu, _ = _load(url, _kiosks(data, tmp, n, "9"), server_pid)
    docs = timings["documents"]
    return [
        Row(
            f"baseline: transactions/s, {n} kiosks, documents rendered in a thread",
            tps,
            "tx/s",
            f"CPU/tx center {center_cpu * 1000:.0f} ms; documents p99 {_pct(docs, 0.99):.0f} ms",
        )
    ]


def _measure(url: str, data: Path, tmp: Path, server_pid: int) -> list[Row]:
    rows: list[Row] = []
    for n in CLIENT_COUNTS:
        specs = _kiosks(data, tmp, n, str(n))
        workers0 = _workers_cpu(server_pid)
        tps, timings, center_cpu, loadgen_cpu = _load(url, specs, server_pid)
        done = max(sum(len(v) for v in timings.values()) // 6, 1)
        workers = (_workers_cpu(server_pid) - workers0) / done
        worst = max(_pct(v, 0.99) for v in timings.values())
        note = (
            f"{done} tx; CPU/tx center {center_cpu * 1000:.0f} ms + render workers {workers * 1000:.0f} ms,"
            f" load {loadgen_cpu * 1000:.0f} ms; worst call p99 {worst:.0f} ms"
        )
        rows.append(Row(f"transactions/s, {n} kiosk(s)", tps, "tx/s", note))
        if n == CLIENT_COUNTS[-2]:
            for call in CALLS:
                values = timings[call]
                rows.append(
                    Row(
                        f"{call} p50 ({n} kiosks)",
                        _pct(values, 0.5),
                        "ms",
                        f"p99 {_pct(values, 0.99):.1f} ms",
                    )
                )
    fresh, cached = _render_cpu(data)
    rows.append(
        Row(
            "documents: CPU per certificate",
            cached * 1000,
            "ms",
            f"with nothing cached (images, font subsets): {fresh * 1000:.1f} ms",
        )
    )
    per_tx = _ceiling(data)
    rows.append(Row("ceiling: crypto + rules + PDF per transaction", per_tx * 1000, "ms", "in-process loop"))
    rows.append(
        Row("ceiling: transactions/s (one core)", 1 / per_tx, "tx/s", "no HTTP, TLS, ledger or OCSP hop")
    )
    return rows
