"""What one server holds between requests: the generation queue, warm-up, readiness (the
index's database and the model server, probed at most every PROBE_TTL seconds), and its recent
answers by id with the feedback store their ratings go to."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request

import qa
from qa.backend_errors import SERVER_MODES
from qa.errors import one_line
from qa.feedback import Answered, FeedbackStore, Recent, open_feedback, open_recent
from qa.server.engine import Engine
from qa.server.errors import Busy, classify
from qa.server.queue import Emit, GenerationQueue, QueueFull, Worker
from qa.settings import ServerSettings

log = logging.getLogger("qa.server")

PROBE_TTL = 5.0  # seconds one readiness probe answers /health (balancers poll every second)


class ServerState:
    def __init__(self, settings: qa.Settings, server: ServerSettings, engine: Engine) -> None:
        self.settings = settings
        self.server = server
        self.engine = engine
        self.queue = GenerationQueue(server.slots(settings.llm.mode), server.queue_size)
        # a model server's slot is freed when its request ends (see qa.server.queue)
        self.release_on_cancel = settings.llm.mode in SERVER_MODES
        self.upstream_checked = -math.inf  # monotonic time of the last readiness probe
        self.upstream_error: str | None = None
        self.upstream_lock = asyncio.Lock()
        self.ready = False
        self.warm_error: str | None = None
        self.warming: asyncio.Task | None = None
        self.ingest_lock = asyncio.Lock()
        # completion id -> what POST /v1/feedback rates (a table shared by the replicas
        # with PostgreSQL)
        self.answers: Recent = open_recent(settings)
        self._feedback: FeedbackStore | None = None

    @property
    def feedback(self) -> FeedbackStore:
        if self._feedback is None:
            self._feedback = open_feedback(self.settings)
        return self._feedback

    async def remember(self, cid: str, answered: Answered) -> None:
        """Keep an answer for a later rating; an answer already given never fails for it."""
        try:
            await asyncio.to_thread(self.answers.put, cid, answered)
        except Exception as exc:  # the database may be away: the answer stays unratable
            log.warning("answer %s not kept for rating: %s", cid, one_line(exc))

    def start_warm_up(self) -> None:
        if self.warming is None or self.warming.done():
            self.warming = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await self.admit(time.monotonic() + self.server.request_timeout)
            worker = self.worker(lambda emit, c: self.engine.warm_up(self.settings))
            kind, value = await worker.next(self.server.request_timeout)
            if kind == "error":
                raise value
            self.ready, self.warm_error = True, None
        except Exception as exc:  # reported by /health, retried on the next /health
            self.warm_error = classify(exc)[2] if not isinstance(exc, Busy) else "busy"
            log.warning("warm-up failed: %s", one_line(exc))

    def worker(self, job: Callable[[Emit, threading.Event], Any]) -> Worker:
        """A worker thread holding one generation slot, given back per release_on_cancel."""
        return Worker(job, self.queue.release, self.release_on_cancel)

    async def upstream(self) -> str | None:
        """Why this replica cannot answer now, as a client may read it (the database or the
        model server does not answer), or None; probed at most every PROBE_TTL seconds however
        often /health is polled, and again after a request failed on either."""
        async with self.upstream_lock:
            if time.monotonic() - self.upstream_checked >= PROBE_TTL:
                problem = await asyncio.to_thread(self.engine.unreachable, self.settings)
                if problem and problem[1] != self.upstream_error:
                    log.warning("not ready: %s", problem[0])
                self.upstream_error = problem[1] if problem else None
                self.upstream_checked = time.monotonic()
            return self.upstream_error

    async def admit(self, deadline: float) -> None:
        try:
            await self.queue.acquire(deadline - time.monotonic())
        except QueueFull:
            raise Busy(
                f"server busy: {self.queue.active} answering, {self.queue.waiting} waiting"
            ) from None
        except TimeoutError:
            raise Busy("server busy: no generation slot came free in time") from None


def get_state(request: Request) -> ServerState:
    """The app's ServerState (a FastAPI dependency for the routers)."""
    return request.app.state.qa
