"""Mock issuance center: complete transactions per second (open → authenticate → order → documents →
payment → result) from N concurrent kiosks against one ``mock-relay serve``, p50/p99 per call, and the CPU
per transaction of the center (every process of it) and of the load generator, beside baselines measured
in the same run.

The center under test serves its API from ``API_PROCESSES`` processes (``mock-relay serve --api-processes
2``, one per core, each rendering its own documents). Two baselines run beside it, measured in turns
with it at the COMPARED kiosk counts (same load generator, same moment of the shared machine): the same
code serving the previous way, one API process with documents rendered in ``RENDER_PROCESSES`` worker
processes (``--api-processes 1 --render-processes 2``), and the center as it was before this work
(commit BEFORE, taken from git into a temporary directory, on its own data directory) serving that same
way. A last baseline row drives the center under test with the previous load generator (http.client,
every answer parsed).

Each simulated kiosk keeps one mutual-TLS keep-alive connection and speaks raw HTTP/1.1 on it (pre-built
headers, the answer read by Content-Length), running whole transactions for the Ohira residents (their
municipality allows same-day reissue, so transactions can repeat). The kiosks run as threads in
``LOADGEN_PROCESSES`` processes. When the center's CPU per transaction times the rate is near the cores
it has and the load generator's is small, the center is the bottleneck, not the load.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.client
import io
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
import tarfile
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
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
CLIENT_COUNTS = (1, 4, 8, 16, 32)
COMPARED = (4, 16)  # kiosk counts measured against the baseline, in turns
LOADGEN_PROCESSES = 2
API_PROCESSES = min(2, os.cpu_count() or 1)
RENDER_PROCESSES = min(2, os.cpu_count() or 1)
BEFORE = "43ec3b0f589655387ab7de7051037e663361ff14"  # the center before issue #12 item 5 (its serving)


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


class _LibraryKiosk(_Kiosk):
    """The previous release's load generator (the baseline of the load generator's CPU): http.client on a
    keep-alive connection, every answer parsed as JSON, the documents answer too."""

    def __init__(self, url: str, tdir: Path, card: Path) -> None:
        super().__init__(url, tdir, card)
        self.conn = http.client.HTTPSConnection(*self.address, context=self.ctx, timeout=60)

    def _connect(self) -> ssl.SSLSocket:
        self.conn.connect()
        assert isinstance(self.conn.sock, ssl.SSLSocket)
        return self.conn.sock

    def post_raw(self, path: str, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
        self.conn.request("POST", path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{path}: {resp.status} {data[:200]!r}")
        if path.endswith("/documents"):
            json.loads(data)
        return resp.status, data


def _kiosk_process(
    url: str, specs: list[tuple[Path, Path]], queue: Any, start_at: float, library: bool
) -> None:
    """One load-generator process: a thread per kiosk, each connected before ``start_at`` (wall clock)
    and running transactions from then for SECONDS_PER_RUN; puts (done, timings, CPU seconds of the
    timed part, when it ended, error)."""
    try:
        kind = _LibraryKiosk if library else _Kiosk
        kiosks = [kind(url, tdir, card) for tdir, card in specs]
        for kiosk in kiosks:
            kiosk._connect()
    except Exception as exc:
        queue.put((0, {}, 0.0, time.time(), f"set-up: {exc}"))
        return
    time.sleep(max(0.0, start_at - time.time()))
    before = resource.getrusage(resource.RUSAGE_SELF)
    done, timings, errors = _threads(kiosks, SECONDS_PER_RUN)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    queue.put((done, dict(timings), cpu, time.time(), str(errors[0]) if errors else ""))


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


def _center_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of each process of the center: its own and its children's (API and render
    processes)."""
    out = {pid: _cpu_seconds(pid)}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            out[int(child)] = _cpu_seconds(int(child))
        except (OSError, ValueError):
            continue
    return out


@dataclass
class _Run:
    """One measured run: transactions/s, timings per call, CPU seconds per transaction."""

    tps: float
    done: int
    timings: dict[str, list[float]]
    center_cpu: float
    loadgen_cpu: float
    busiest_cpu: float  # of the center's processes, the one that spent most

    def worst_p99(self) -> float:
        return max(_pct(v, 0.99) for v in self.timings.values())

    def cpu_bound(self) -> float:
        """Transactions/s the measured CPU allows on idle cores: all cores for center and load together,
        and one core for the center's busiest process (a process runs on one core at a time)."""
        cores = os.cpu_count() or 1
        return min(cores / (self.center_cpu + self.loadgen_cpu), 1 / self.busiest_cpu)


def _load(url: str, specs: list[tuple[Path, Path]], server_pid: int, *, library: bool = False) -> _Run:
    """Drive the center at ``url`` with the kiosks ``specs`` for SECONDS_PER_RUN.
    Raises RuntimeError if a kiosk failed."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    parts = [specs[i::LOADGEN_PROCESSES] for i in range(LOADGEN_PROCESSES) if specs[i::LOADGEN_PROCESSES]]
    start_at = time.time() + 1.0 + 0.1 * len(specs)  # every kiosk loaded and connected by then
    procs = [ctx.Process(target=_kiosk_process, args=(url, part, queue, start_at, library)) for part in parts]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = _center_cpu(server_pid)
    results = [queue.get(timeout=SECONDS_PER_RUN + 120) for _ in procs]
    cpu1 = _center_cpu(server_pid)
    spent = {p: cpu1[p] - cpu0.get(p, 0.0) for p in cpu1}
    center_cpu, busiest = sum(spent.values()), max(spent.values())
    for p in procs:
        p.join()
    errors = [r[4] for r in results if r[4]]
    if errors:
        raise RuntimeError(f"a kiosk failed: {errors[0]}")
    elapsed = max(r[3] for r in results) - start_at
    done = sum(r[0] for r in results)
    timings: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for k, v in r[1].items():
            timings[k].extend(v)
    loadgen_cpu = sum(r[2] for r in results)
    per = max(done, 1)
    return _Run(done / elapsed, done, timings, center_cpu / per, loadgen_cpu / per, busiest / per)


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


@dataclass(frozen=True)
class _Center:
    """One running center of the comparison: its name, API URL, pid and data directory."""

    name: str
    url: str
    pid: int
    data: Path


@contextlib.contextmanager
def _serve(
    name: str, data: Path, api_processes: int, render_processes: int, code: Path | None = None
) -> Iterator[_Center]:
    """A ``mock-relay serve`` on ``data`` (from the source tree ``code``, default this one; an older tree
    has no ``--api-processes`` and gets none). Raises RuntimeError if it does not start."""
    command = [sys.executable, "-m", "mock_relay.cli.main", "serve", "--data", str(data)]
    command += ["--clock", _clock().isoformat(), "--render-processes", str(render_processes)]
    if code is None:
        command += ["--api-processes", str(api_processes)]
    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=code,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"mock-relay serve ({name}) did not start")
        yield _Center(name, line.split()[-1], proc.pid, data)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _source_before(into: Path) -> Path | None:
    """The center's source as of BEFORE (git archive of this repository), or None without git or that
    commit (e.g. a source tarball)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", BEFORE, "mock_relay", "firmware_sim", "reader"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run() -> list[Row]:
    """The benchmark rows. Raises RuntimeError if a server does not start or a transaction fails."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old_code = _source_before(work / "before-src")
        with contextlib.ExitStack() as stack:
            ours = stack.enter_context(_serve("ours", work / "center", API_PROCESSES, 0))
            centers = [
                ours,
                stack.enter_context(_serve("one API process", work / "center", 1, RENDER_PROCESSES)),
            ]
            if old_code is not None:
                centers.append(
                    stack.enter_context(
                        _serve("before", work / "center-before", 1, RENDER_PROCESSES, old_code)
                    )
                )
            rows = _measure(centers, work)
        rows += _documents_rows(work / "center")
        if old_code is None:
            rows.append(Row("baseline: the center before", "skipped", "", f"no git archive of {BEFORE}"))
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
    where = tmp / f"terminals-{data.name}"
    return [
        (center.issue_terminal(f"T-{tag}{i:03d}", where / f"T-{tag}{i:03d}"), cards[i % len(cards)])
        for i in range(n)
    ]


def _cpu_note(run: _Run) -> str:
    return (
        f"{run.done} tx; CPU/tx center {run.center_cpu * 1000:.1f} ms (its busiest process"
        f" {run.busiest_cpu * 1000:.1f}), load {run.loadgen_cpu * 1000:.1f} ms ({run.cpu_bound():.0f} tx/s"
        " on idle cores);"
        f" worst call p99 {run.worst_p99():.0f} ms"
    )


def _measure(centers: list[_Center], tmp: Path) -> list[Row]:
    """Every kiosk count on the center under test (``centers[0]``); at COMPARED counts each baseline
    center right after it, with the same kiosks."""
    ours, *baselines = centers
    rows: list[Row] = []
    label = f"{API_PROCESSES} API processes"
    for n in CLIENT_COUNTS:
        specs = _kiosks(ours.data, tmp, n, str(n))
        run = _load(ours.url, specs, ours.pid)
        rows.append(Row(f"transactions/s, {n} kiosk(s), {label}", run.tps, "tx/s", _cpu_note(run)))
        if n in COMPARED:
            rows.append(
                Row(
                    f"  CPU-bound rate, {n} kiosks, {label}",
                    run.cpu_bound(),
                    "tx/s",
                    f"what {os.cpu_count() or 1} idle cores allow at this CPU per transaction (center + load,"
                    " and the center's busiest process on one core); the shared machine is not idle",
                )
            )
            for base_center in baselines:
                base_specs = (
                    specs if base_center.data == ours.data else _kiosks(base_center.data, tmp, n, str(n))
                )
                base = _load(base_center.url, base_specs, base_center.pid)
                rows.append(
                    Row(
                        f"  baseline: {_BASELINE_NAMES[base_center.name]}, {n} kiosks",
                        base.tps,
                        "tx/s",
                        f"{_cpu_note(base)}; ours {run.tps / base.tps:.2f}x the rate,"
                        f" {run.worst_p99() / base.worst_p99():.2f}x the worst p99,"
                        f" {run.center_cpu / base.center_cpu:.2f}x the center CPU/tx,"
                        f" {run.cpu_bound() / base.cpu_bound():.2f}x the CPU-bound rate",
                    )
                )
        if n == COMPARED[-1]:
            for call in CALLS:
                values = run.timings[call]
                rows.append(
                    Row(
                        f"{call} p50 ({n} kiosks)",
                        _pct(values, 0.5),
                        "ms",
                        f"p99 {_pct(values, 0.99):.1f} ms",
                    )
                )
            library = _load(ours.url, specs, ours.pid, library=True)
            rows.append(
                Row(
                    f"  baseline: load generator on http.client, {n} kiosks, {label}",
                    library.tps,
                    "tx/s",
                    f"{_cpu_note(library)}; raw HTTP/1.1 load {run.loadgen_cpu / library.loadgen_cpu:.2f}x"
                    " its CPU/tx",
                )
            )
    return rows


_BASELINE_NAMES = {
    "one API process": f"1 API process + {RENDER_PROCESSES} render processes",
    "before": f"the center before ({BEFORE[:7]}), 1 API + {RENDER_PROCESSES} render processes",
}


def _documents_rows(data: Path) -> list[Row]:
    fresh, cached = _render_cpu(data)
    per_tx = _ceiling(data)
    return [
        Row(
            "documents: CPU per certificate",
            cached * 1000,
            "ms",
            f"with nothing cached (images, font subsets): {fresh * 1000:.1f} ms",
        ),
        Row("ceiling: crypto + rules + PDF per transaction", per_tx * 1000, "ms", "in-process loop"),
        Row("ceiling: transactions/s (one core)", 1 / per_tx, "tx/s", "no HTTP, TLS, ledger or OCSP hop"),
    ]
