"""Run the mock center: in a background thread (tests, bench) or in the foreground (``mock-relay serve``).

``RelayServer(data_dir).start()`` binds the three listeners on 127.0.0.1 (port 0 = any free port),
writes ``<data>/running.json`` (URLs and pid, for ``mock-relay info`` and the admin CLI) and returns
once every listener accepts connections. ``stop()`` closes them and the databases. The operator
controls are live attributes: ``server.faults``, ``server.clock``, ``server.maintenance``.

With ``CenterConfig.api_processes`` N > 1 (``mock-relay serve --api-processes N``) this process starts
N - 1 more API processes (spawned) and deals the connections it accepts on the mutual-TLS API port in
turn to itself and to them (the file descriptor passed over a unix socket;
mock_relay.listeners.Dispatcher). The public and plain listeners (verification, OCSP, admin) stay in
this process. Every API process opens the same ledger and register (SQLite, WAL) and the shared
controls file (mock_relay.shared): fault rules, the clock and maintenance windows set through any admin
route or ``server.faults`` reach every process, an idempotency key is claimed in the ledger
(mock_relay.routes.idempotency), and a terminal's connections are counted over all processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
from dataclasses import astuple
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType

from aiohttp import web

from firmware_sim.pki.hierarchy import KeyFactory
from mock_relay.app import build_api_app, build_plain_app, build_public_app
from mock_relay.center import Center, CenterConfig, Urls
from mock_relay.faults import CenterClock, Faults, Maintenance
from mock_relay.listeners import Dispatcher, ListenerLimits, listen, peer_address, serve_handed
from mock_relay.private import owner_only_dir
from mock_relay.shared import (
    SharedClock,
    SharedConnectionBudget,
    SharedControls,
    SharedFaults,
    SharedMaintenance,
)
from mock_relay.tls import terminal_id_of

log = logging.getLogger(__name__)

RUNNING_FILE = "running.json"


class RelayServer:
    """The center's listeners around one :class:`Center`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_port: int = 0,
        plain_port: int = 0,
        config: CenterConfig | None = None,
        clock: CenterClock | None = None,
        key_factory: KeyFactory | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self._ports = (port, public_port, plain_port)
        self._config = config
        self._clock = clock
        self._key_factory = key_factory
        self.center: Center | None = None
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.Server | Dispatcher] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._shared: SharedControls | None = None
        self._budget: SharedConnectionBudget | None = None
        self._workers: list[BaseProcess] = []
        self._channels: list[socket.socket] = []

    # --- live controls --------------------------------------------------------------------------------
    def _c(self) -> Center:
        if self.center is None:
            raise RuntimeError("the server is not running")
        return self.center

    @property
    def faults(self) -> Faults:
        """Fault rules (see mock_relay.faults)."""
        return self._c().faults

    @property
    def clock(self) -> CenterClock:
        """The center's clock."""
        return self._c().clock

    @property
    def maintenance(self) -> Maintenance:
        """Maintenance windows."""
        return self._c().maintenance

    @property
    def api_url(self) -> str:
        """``https://127.0.0.1:PORT`` of the mTLS API."""
        return self._c().urls.api

    @property
    def public_url(self) -> str:
        """``https://127.0.0.1:PORT`` of the public listener."""
        return self._c().urls.public

    @property
    def ocsp_url(self) -> str:
        """``http://127.0.0.1:PORT/ocsp``."""
        return self._c().urls.ocsp

    @property
    def admin_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the plain listener (``/admin/...``)."""
        return self._c().urls.plain

    # --- async core -----------------------------------------------------------------------------------
    async def start_async(self) -> None:
        """Open the center and bind the listeners (and start the other API processes). Raises OSError if a
        port is taken, RuntimeError when another API process does not start."""
        config = self._config or CenterConfig()
        clock, faults, maintenance = self._clock, None, None
        if config.api_processes > 1:
            owner_only_dir(self.data_dir)
            self._shared = SharedControls(self.data_dir)
            self._shared.reset()
            clock = _shared_clock(self._shared, self._clock)
            faults, maintenance = SharedFaults(self._shared), SharedMaintenance(self._shared)
        center = Center.open(
            self.data_dir, config, clock, self._key_factory, faults=faults, maintenance=maintenance
        )
        self.center = center
        tls = center.center_pki
        per_client = config.max_connections_per_client
        if self._shared is not None:
            self._budget = SharedConnectionBudget(self._shared, "api", per_client)
            for kind in ("auth", "sign"):  # made once here, not raced for by the API processes
                center.jpki.issue_ocsp_responder(kind)  # type: ignore[arg-type]
        specs = [
            (
                build_api_app(center),
                tls.server_context(require_client_cert=True),
                self._ports[0],
                ListenerLimits(config.header_timeout_s, config.idle_timeout_s, per_client, _terminal_or_peer),
            ),
            (
                build_public_app(center),
                tls.server_context(require_client_cert=False),
                self._ports[1],
                ListenerLimits(config.header_timeout_s, config.idle_timeout_s, per_client),
            ),
            # The center's own OCSP client shares 127.0.0.1 with the admin: no per-client bound here.
            (
                build_plain_app(center),
                None,
                self._ports[2],
                ListenerLimits(config.header_timeout_s, config.idle_timeout_s, None),
            ),
        ]
        urls = []
        for index, (app, ctx, port, limits) in enumerate(specs):
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            self._runners.append(runner)
            api = index == 0 and self._shared is not None
            if api:
                pairs = [socket.socketpair() for _ in range(config.api_processes - 1)]
                self._channels = [ours for ours, _ in pairs]
                theirs = [other for _, other in pairs]
            server = await listen(
                runner,
                self.host,
                port,
                limits,
                ctx,
                budget=self._budget if api else None,
                share_with=self._channels if api else (),
            )
            self._servers.append(server)
            bound = server.sockets[0].getsockname()[1]
            urls.append(f"{'https' if ctx else 'http'}://{self.host}:{bound}")
        center.urls.api, center.urls.public, center.urls.plain = urls
        center.checker.ocsp_url = center.urls.ocsp
        if config.api_processes > 1:
            self._workers = _start_api_workers(self.data_dir, config, center.urls, theirs)
            for other in theirs:
                other.close()
        self._write_running()
        log.info("mock center on %s (public %s, ocsp %s)", *urls[:2], center.urls.ocsp)

    async def stop_async(self) -> None:
        """Close listeners and databases (and stop the other API processes)."""
        for server in self._servers:
            server.close()
        self._servers.clear()
        _stop_api_workers(self._workers)
        self._workers.clear()
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._budget is not None:
            self._budget.forget()
            self._budget = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self.center is not None:
            self.center.close()
            with contextlib.suppress(OSError):
                (self.data_dir / RUNNING_FILE).unlink()

    def _write_running(self) -> None:
        c = self._c()
        info = {
            "api_url": c.urls.api,
            "public_url": c.urls.public,
            "ocsp_url": c.urls.ocsp,
            "admin_url": c.urls.plain,
            "pid": os.getpid(),
        }
        tmp = self.data_dir / (RUNNING_FILE + ".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, self.data_dir / RUNNING_FILE)

    # --- background thread ----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> RelayServer:
        """Run in a daemon thread; return when listening. Re-raises a startup failure."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # handed to the caller below
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            _finish_tasks(loop)
            loop.close()

        self._thread = threading.Thread(target=run, name="mock-relay", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError("the mock center did not start in time")
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop the background server and wait for it."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._thread = self._loop = None

    def __enter__(self) -> RelayServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- foreground -------------------------------------------------------------------------------------
    def serve_forever(self, on_ready: object = None) -> None:
        """Run in this thread until SIGTERM/SIGINT. ``on_ready`` (a callable) runs once listening."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await self.start_async()
            gc.freeze()  # what start-up made lives as long as the server: no full collection walks it again
            try:
                if callable(on_ready):
                    on_ready()
                await stop.wait()
            finally:
                await self.stop_async()

        asyncio.run(main())


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the listeners left running (a connection still draining a body) and let it end, so
    that closing the loop destroys no pending task."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _shared_clock(controls: SharedControls, start: CenterClock | None) -> SharedClock:
    """The shared clock, set where ``start`` stands (running on, or frozen)."""
    clock = SharedClock(controls)
    if start is not None:
        state = start.describe()
        clock.set(datetime.fromisoformat(state["now"]), frozen=bool(state["frozen"]))
    return clock


def _start_api_workers(
    data_dir: Path, config: CenterConfig, urls: Urls, channels: list[socket.socket]
) -> list[BaseProcess]:
    """Start one more API process per channel (it serves the connections handed over it); return once
    each is ready. Raises RuntimeError when one does not start."""
    ctx = multiprocessing.get_context("spawn")
    started: list[tuple[BaseProcess, Connection]] = []
    for channel in channels:
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_api_worker,
            args=(str(data_dir), config, astuple(urls), channel, send),
            name="mock-relay-api",
        )
        proc.start()
        send.close()
        started.append((proc, receive))
    procs = [p for p, _ in started]
    for worker, receive in started:
        ok = receive.poll(120) and receive.recv() == "ready"
        receive.close()
        if not ok:
            _stop_api_workers(procs)
            raise RuntimeError(f"API process {worker.pid} did not start")
    return procs


def _stop_api_workers(procs: list[BaseProcess]) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the process closes its listener and databases
    for proc in procs:
        proc.join(timeout=15)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


def _api_worker(
    data_dir: str, config: CenterConfig, urls: tuple[str, str, str], channel: socket.socket, ready: Connection
) -> None:
    """One more API process: serves the mutual-TLS API connections handed over ``channel`` until SIGTERM
    (or until the primary process is gone)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        path = Path(data_dir)
        shared = SharedControls(path)
        center = Center.open(
            path,
            config,
            SharedClock(shared),
            faults=SharedFaults(shared),
            maintenance=SharedMaintenance(shared),
        )
        center.urls = Urls(*urls)
        budget = SharedConnectionBudget(shared, "api", config.max_connections_per_client)
        limits = ListenerLimits(
            config.header_timeout_s,
            config.idle_timeout_s,
            config.max_connections_per_client,
            _terminal_or_peer,
        )
        runner = web.AppRunner(build_api_app(center), handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        serve_handed(
            channel,
            runner,
            limits,
            center.center_pki.server_context(require_client_cert=True),
            budget,
            stop.set,
        )
        gc.freeze()  # see RelayServer.serve_forever
        ready.send("ready")
        ready.close()
        parent = os.getppid()

        async def orphaned() -> None:  # the primary was killed without stopping this process
            while os.getppid() == parent:
                await asyncio.sleep(1.0)
            stop.set()

        watch = asyncio.create_task(orphaned())
        try:
            await stop.wait()
            watch.cancel()
        finally:
            channel.close()
            await runner.cleanup()
            budget.forget()
            center.close()
            shared.close()

    asyncio.run(main())


def _terminal_or_peer(transport: asyncio.BaseTransport) -> str:
    """The API listener's client: the terminal named by the verified certificate."""
    terminal = terminal_id_of(transport.get_extra_info("peercert"))
    return f"terminal {terminal}" if terminal else peer_address(transport)


def read_running(data_dir: Path) -> dict[str, object] | None:
    """The URLs a running server wrote into ``data_dir``, or None."""
    try:
        loaded = json.loads((Path(data_dir) / RUNNING_FILE).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
