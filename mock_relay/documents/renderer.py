"""Where the center renders its documents: in a thread beside the event loop (the default), or in worker
processes (``mock-relay serve --render-processes N``) so that a busy center renders on every core.

A document takes a few milliseconds of pure-Python PDF work (reportlab) under the GIL. In a thread, that
time is taken from the event loop that answers every other kiosk; in a worker process it is not, and N
processes render N documents at once. Each worker opens the resident register read-only from the same
SQLite file (it sees every committed change, as the server's own connection does), builds the document
request for exactly the (resident, item, copy, document id) it is given, and sends back the PDF bytes
and page count: personal data crosses the pipe only inside the process tree, never through a file.

Public API:
    RenderJob(resident_id, priced_item, copy_index, document_id, verification_code, verify_url, now)
    render_job(registry, job) -> RenderedDocument                       raises ValueError
    ThreadRenderer(registry) / InlineRenderer(registry) / ProcessRenderer(registry_path, processes)
        await .render(job) -> RenderedDocument                          raises ValueError, RenderError
        .close()
"""

from __future__ import annotations

import asyncio
import copyreg
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from mock_relay.documents.build import build_document_request, render_document
from mock_relay.documents.pdf import register_fonts
from mock_relay.documents.request import RenderedDocument
from mock_relay.model import PricedItem
from mock_relay.registry.store import Registry


def _read_only(mapping: dict[object, object]) -> MappingProxyType[object, object]:
    return MappingProxyType(mapping)


# The model's read-only mappings (item options, last issues) travel to a worker as plain dicts.
copyreg.pickle(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))


class RenderError(Exception):
    """The renderer itself failed (a worker process died); the document was not produced."""


@dataclass(frozen=True)
class RenderJob:
    """One copy to render: whose, which priced item and copy, and the identifiers printed on it."""

    resident_id: str
    priced_item: PricedItem
    copy_index: int
    document_id: str
    verification_code: str
    verify_url: str
    now: datetime


def render_job(registry: Registry, job: RenderJob) -> RenderedDocument:
    """Build the document request from the register's current records and render it.

    Raises:
        ValueError: the resident or a subject is no longer in the register, or the content cannot be laid
            out (see ``build_document_request`` and ``render_document``).
    """
    resident = registry.resident(job.resident_id)
    if resident is None:
        raise ValueError(f"resident {job.resident_id} is not in the register")
    request = build_document_request(
        registry,
        resident,
        job.priced_item,
        job.copy_index,
        job.document_id,
        job.verification_code,
        job.verify_url,
        job.now,
    )
    return render_document(request)


class Renderer(Protocol):
    """What the issuing route needs."""

    async def render(self, job: RenderJob) -> RenderedDocument: ...

    def close(self) -> None: ...


class InlineRenderer:
    """Renders on the event loop itself, from the server's own register connection: for a center with
    one API process per core (``--api-processes N``), where another process serves while this one
    renders and a thread would only add GIL hand-overs."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def render(self, job: RenderJob) -> RenderedDocument:
        """The rendered copy. Raises ValueError (see :func:`render_job`)."""
        return render_job(self._registry, job)

    def close(self) -> None:
        """Nothing to release."""


class ThreadRenderer:
    """Renders in the event loop's default executor, from the server's own register connection."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def render(self, job: RenderJob) -> RenderedDocument:
        """The rendered copy. Raises ValueError (see :func:`render_job`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, render_job, self._registry, job)

    def close(self) -> None:
        """Nothing to release."""


_worker_registry: Registry | None = None


def _start_worker(registry_path: str) -> None:
    global _worker_registry
    _worker_registry = Registry(registry_path, seed=False)
    register_fonts()


def _render_in_worker(job: RenderJob) -> RenderedDocument:
    if _worker_registry is None:  # pragma: no cover - the pool's initializer always ran first
        raise RenderError("the render worker has no register")
    return render_job(_worker_registry, job)


class ProcessRenderer:
    """Renders in ``processes`` worker processes (spawned: the server's threads and sockets never cross
    a fork). A worker that dies fails the documents it held with :class:`RenderError`, and the pool is
    started again for the next request."""

    def __init__(self, registry_path: Path, processes: int) -> None:
        """Raises ValueError for fewer than one process."""
        if processes < 1:
            raise ValueError("a process renderer needs at least one process")
        self._path = str(registry_path)
        self._processes = processes
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._path,),
        )

    def warm(self) -> None:
        """Start every worker now (each imports reportlab and reads the fonts once), not at the first
        document. Raises RenderError when a worker cannot start."""
        try:
            for future in [self._pool.submit(_ready) for _ in range(self._processes)]:
                future.result(timeout=120)
        except (BrokenProcessPool, TimeoutError) as exc:
            raise RenderError(f"a render worker did not start: {exc}") from exc

    async def render(self, job: RenderJob) -> RenderedDocument:
        """The rendered copy. Raises ValueError (see :func:`render_job`), RenderError."""
        pool = self._pool
        try:
            result: RenderedDocument = await asyncio.wrap_future(pool.submit(_render_in_worker, job))
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = self._start()
            raise RenderError("a render worker died") from exc
        return result

    def close(self) -> None:
        """Stop the workers (documents still rendering are abandoned)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ready() -> bool:
    return _worker_registry is not None


def renderer_for(
    registry: Registry, registry_path: Path, processes: int, *, inline: bool = False
) -> Renderer:
    """A thread renderer for ``processes == 0`` (an inline one with ``inline``), else a process renderer
    with its workers started. Raises ValueError when ``processes`` is negative, RenderError when a worker
    cannot start."""
    if processes < 0:
        raise ValueError("render processes must be 0 (a thread) or more")
    if processes == 0:
        return InlineRenderer(registry) if inline else ThreadRenderer(registry)
    renderer = ProcessRenderer(registry_path, processes)
    try:
        renderer.warm()
    except RenderError:
        renderer.close()
        raise
    return renderer


__all__ = [
    "InlineRenderer",
    "ProcessRenderer",
    "RenderError",
    "RenderJob",
    "Renderer",
    "ThreadRenderer",
    "render_job",
    "renderer_for",
]
