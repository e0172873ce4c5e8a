"""POST /v1/chat/completions: plain or streamed (SSE), one generation slot per answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from qa.feedback import Answered
from qa.server.errors import RequestTimeout, classify
from qa.server.openai_schema import (
    ChatRequest,
    chunk,
    completion,
    error_body,
    new_id,
    public_sources,
    sse,
    usage_of,
)
from qa.server.queue import Worker
from qa.server.state import ServerState, get_state
from qa.settings import ServerSettings

log = logging.getLogger("qa.server")
router = APIRouter()


@router.post("/v1/chat/completions")
async def chat_completions(req: ChatRequest, state: ServerState = Depends(get_state)):  # noqa: B008
    s, srv = state.settings, state.server
    question, history = req.conversation()
    deadline = time.monotonic() + srv.request_timeout
    await state.admit(deadline)
    cid, model_id = new_id(), srv.model_id
    if not req.stream:
        worker = state.worker(lambda emit, cancelled: state.engine.ask(question, history, s))
        answer = await _result(worker, deadline, srv)
        await state.remember(cid, Answered.of(question, answer, follow_up=bool(history)))
        return completion(
            cid,
            model_id,
            answer.text,
            answer.usage,
            sources=public_sources(answer.sources),
            refused=answer.refused,
            language=answer.language,
        )

    def job(emit, cancelled: threading.Event):
        sources, deltas, answer = state.engine.stream_ask(question, history, s)
        emit("sources", sources)
        try:
            for delta in deltas:
                if cancelled.is_set():  # client gone or timed out: stop generating
                    break
                emit("delta", delta)
        finally:
            close = getattr(deltas, "close", None)
            if close is not None:
                close()
        return answer

    worker = state.worker(job)
    await _result(worker, deadline, srv)  # condense + retrieve done: errors still get a status
    include_usage = bool(req.stream_options and req.stream_options.include_usage)

    async def remember(answer: Any) -> None:  # a finished stream can be rated by its id
        await state.remember(cid, Answered.of(question, answer, follow_up=bool(history)))

    return StreamingResponse(
        _events(worker, cid, model_id, deadline, srv, include_usage, remember),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _result(worker: Worker, deadline: float, srv: ServerSettings) -> Any:
    """The first event of a worker: its result, or its error raised here."""
    try:
        kind, value = await worker.next(deadline - time.monotonic())
    except TimeoutError:
        worker.cancel()
        raise RequestTimeout(f"no answer within {srv.request_timeout:g} s") from None
    if kind == "error":
        raise value
    return value


async def _events(
    worker: Worker,
    cid: str,
    model: str,
    deadline: float,
    srv: ServerSettings,
    usage: bool,
    done: Callable[[Any], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """SSE as the openai client reads it: a role chunk, content chunks, a final chunk with
    finish_reason, sources and usage, then [DONE]. A failure half-way becomes an error event
    (the client raises APIError) and the stream ends."""
    created = int(time.time())
    try:
        yield sse(chunk(cid, model, created, {"role": "assistant", "content": ""}))
        while True:
            try:
                kind, value = await worker.next(deadline - time.monotonic())
            except TimeoutError:
                msg = f"the answer did not finish within {srv.request_timeout:g} s"
                yield sse(error_body(msg, "timeout", 504))
                return
            if kind == "delta":
                yield sse(chunk(cid, model, created, {"content": value}))
            elif kind == "done":
                await done(value)
                final = chunk(
                    cid,
                    model,
                    created,
                    {},
                    "stop",
                    sources=public_sources(value.sources),
                    usage=usage_of(value.usage),
                    refused=value.refused,
                    language=value.language,
                )
                yield sse(final)
                if usage:
                    only = {**final, "choices": [], "usage": usage_of(value.usage)}
                    only.pop("sources", None)
                    only.pop("refused", None)
                    only.pop("language", None)
                    yield sse(only)
                yield sse("[DONE]")
                return
            elif kind == "error":
                status, type_, msg = classify(value)
                if status == 500:
                    log.error("stream failed", exc_info=value)
                yield sse(error_body(msg, type_, status))
                return
    finally:
        worker.cancel()
