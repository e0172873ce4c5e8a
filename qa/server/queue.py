"""A bounded queue in front of the model, and worker threads that run the blocking engine.

One llama.cpp model cannot generate for two requests at once: `GenerationQueue` hands out
`slots` generation slots (1 for the local model) and lets at most `queue_size` requests wait;
anything beyond is refused at once (the caller answers 503 with Retry-After). For the embedded
model a slot is given back only when the worker thread holding it has finished, never when its
client went away or timed out, so two generations can never overlap on one model. For a model
server (`release_on_cancel`) the slot is freed when the request ends: the abandoned call ends by
itself within llm.timeout, and holding the slot longer only turned later requests away.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


class QueueFull(Exception):
    """Every slot is busy and the waiting line is full."""


class GenerationQueue:
    def __init__(self, slots: int, queue_size: int) -> None:
        self.slots = max(1, slots)
        self.queue_size = max(0, queue_size)
        self._sem = asyncio.Semaphore(self.slots)
        self.active = 0
        self.waiting = 0
        self.served = 0
        self.rejected = 0

    async def acquire(self, timeout: float) -> None:
        """Take a slot, waiting at most `timeout` s; QueueFull when the line is full,
        TimeoutError when the wait ran out."""
        if self.active + self.waiting >= self.slots + self.queue_size:
            self.rejected += 1
            raise QueueFull
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.active += 1

    def release(self) -> None:
        self.active -= 1
        self.served += 1
        self._sem.release()

    def stats(self) -> dict[str, int]:
        return {
            "slots": self.slots,
            "queue_size": self.queue_size,
            "active": self.active,
            "waiting": self.waiting,
            "served": self.served,
            "rejected": self.rejected,
        }


Emit = Callable[[str, Any], None]


class Worker:
    """Runs `job(emit, cancelled)` in a daemon thread; events arrive on an asyncio queue as
    (kind, value) pairs, ending with ("done", result) or ("error", exception). `on_exit` runs
    once on the event loop (it gives the generation slot back): when the thread has finished,
    or at `cancel()` already when `release_on_cancel`."""

    def __init__(
        self,
        job: Callable[[Emit, threading.Event], Any],
        on_exit: Callable[[], None],
        release_on_cancel: bool = False,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.cancelled = threading.Event()
        self._job = job
        self._on_exit = on_exit
        self._exited = False
        self.release_on_cancel = release_on_cancel
        self.thread = threading.Thread(target=self._run, name="qa-worker", daemon=True)
        self.thread.start()

    def _emit(self, kind: str, value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the loop is gone: a request given up on (server shut down)
            pass

    def _run(self) -> None:
        try:
            result = self._job(self._emit, self.cancelled)
            self._emit("done", result)
        except BaseException as exc:  # handed to the request, shown as one line there
            self._emit("error", exc)
        finally:
            try:
                self.loop.call_soon_threadsafe(self._exit_once)
            except RuntimeError:  # the loop is gone (server shutting down)
                pass

    async def next(self, timeout: float) -> tuple[str, Any]:
        async with asyncio.timeout(max(timeout, 0.001)):
            return await self.events.get()

    def _exit_once(self) -> None:
        if not self._exited:
            self._exited = True
            self._on_exit()

    def cancel(self) -> None:
        """The request ended (timed out, client gone, stream done): tell the job to stop."""
        self.cancelled.set()
        if self.release_on_cancel:
            self._exit_once()
