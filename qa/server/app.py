"""The FastAPI app: OpenAI-compatible chat completions over the corpus, health, models, ingest,
and the Gradio chat mounted at / when `app.py` is there.

Every error is a JSON body `{"error": {"message", "type", "param", "code"}}` (the shape the
`openai` client reads) with 400 / 401 / 413 / 503 / 504 / 500, never a traceback; tracebacks of
unexpected failures go to the server log only.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import math
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

import qa
from qa.backend_errors import SERVER_MODES, unreachable
from qa.errors import one_line, public_message
from qa.server.auth import Unauthorized, check_key
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
from qa.server.queue import Emit, GenerationQueue, QueueFull, Worker
from qa.settings import ServerSettings, is_loopback

log = logging.getLogger("qa.server")

PROBE_TTL = 5.0  # seconds a model-server probe answers /health (balancers poll every second)


# ---- the engine, as the server sees it (tests swap in a fake) ---------------------------------
class Engine:
    """The public `qa` API, nothing below it."""

    def ask(self, question: str, history: list[dict], settings: qa.Settings) -> qa.Answer:
        return qa.ask(question, history=history, settings=settings)

    def stream_ask(self, question: str, history: list[dict], settings: qa.Settings):
        return qa.stream_ask(question, history=history, settings=settings)

    def save_upload(self, settings: qa.Settings, filename: str, data: bytes) -> Path:
        try:
            from qa.uploads import save_upload  # the same checks as the browser upload
        except ImportError:
            raise qa.ConfigError("uploads are not available in this installation") from None
        return Path(save_upload(settings, filename, data))

    def save_uploads(self, settings: qa.Settings, files: list[tuple[str, bytes]]) -> list[Path]:
        """All checked before any is written (qa.uploads.save_uploads)."""
        from qa.uploads import save_uploads

        return save_uploads(settings, files)

    def discard_uploads(self, paths: list[Path]) -> None:
        from qa.uploads import remove

        remove(paths)

    def ingest(self, paths: list[Path], settings: qa.Settings) -> dict[str, Any]:
        report = qa.ingest(paths, settings=settings, progress=False)
        return report.as_dict() if hasattr(report, "as_dict") else dict(report)

    def unreachable(self, settings: qa.Settings) -> tuple[str, str] | None:
        """(operator line, client line) when the model server does not answer, else None."""
        return unreachable(settings)

    def warm_up(self, settings: qa.Settings) -> None:
        """Load the index (ingesting corpus/ on a fresh checkout) and the model."""
        qa.ensure_index(settings, progress=False)
        pipe = qa.pipeline(settings)
        pipe.retriever()
        _ = pipe.llm


# ---- errors -----------------------------------------------------------------------------------
class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body too large: the limit is {limit // 1024} KB")


class RequestTimeout(Exception):
    pass


class Busy(Exception):
    pass


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, error type, one-line message) for any failure."""
    if isinstance(exc, qa.InputError):
        return 400, "invalid_request_error", one_line(exc)
    if isinstance(exc, qa.BackendError | qa.ConfigError):
        return 503, "model_unavailable", public_message(exc)  # never the upstream's address
    if isinstance(exc, qa.CorpusError):
        return 503, "corpus_unavailable", one_line(exc)
    if isinstance(exc, qa.QAError):
        return 500, "server_error", one_line(exc)
    if isinstance(exc, RequestTimeout):
        return 504, "timeout", one_line(exc)
    return 500, "server_error", f"internal error ({exc.__class__.__name__}); see the server log"


def error_response(status: int, type_: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(message, type_, status), status_code=status, headers=headers)


# ---- request size limit (pure ASGI, so it also guards bodies sent without Content-Length) ----
class BodyLimit:
    def __init__(self, app: ASGIApp, api_limit: int, upload_limit: int) -> None:
        self.app = app
        self.api_limit = api_limit
        self.upload_limit = upload_limit

    def limit_for(self, path: str) -> int:
        if path.startswith("/v1/") and path != "/v1/ingest":
            return self.api_limit
        return self.upload_limit  # uploads, and the mounted browser chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                await error_response(400, "invalid_request_error", "bad Content-Length")(
                    scope, receive, send
                )
                return
            if too_big:
                await self._refuse(limit, scope, receive, send)
                return
        seen = 0
        started = False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        msg = str(BodyTooLarge(limit))
        await error_response(413, "request_too_large", msg)(scope, receive, send)


# ---- state ------------------------------------------------------------------------------------
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
        """The model server's public unavailability reason, or None; probed at most every
        PROBE_TTL seconds however often /health is polled."""
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


# ---- the app ----------------------------------------------------------------------------------
def create_app(
    settings: qa.Settings | None = None,
    server: ServerSettings | None = None,
    engine: Engine | None = None,
    host: str = "127.0.0.1",
    warm_up: bool = True,
    mount_ui: bool | None = None,
) -> FastAPI:
    s = settings or qa.load_settings()
    srv = server or s.server
    if not is_loopback(host) and not srv.api_keys:
        raise qa.ConfigError(
            f"refusing to serve on {host} without API keys: set server.api_keys "
            "(QA_SERVER__API_KEYS=key1,key2) or bind 127.0.0.1"
        )
    state = ServerState(s, srv, engine or Engine())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            state.start_warm_up()
        else:
            state.ready = True
        yield

    app = FastAPI(
        title="corpus-qa",
        summary="OpenAI-compatible answers with sources over a document corpus",
        lifespan=lifespan,
        docs_url=None,  # served below, behind the API key like the rest of /v1
        openapi_url=None,
        redoc_url=None,
    )
    app.state.qa = state
    app.add_middleware(
        BodyLimit,
        api_limit=srv.max_body_kb * 1024,
        upload_limit=s.ui.max_upload_mb * 1024 * 1024 + 64 * 1024,
    )
    _add_error_handlers(app)

    def auth(request: Request) -> None:
        check_key(request, srv)

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 only when a question can be answered now: warmed up, model server answering."""
        body = {
            "status": "ready" if state.ready else ("error" if state.warm_error else "starting"),
            "model": srv.model_id,
            "llm": s.llm.mode,
            "queue": state.queue.stats(),
        }
        down = await state.upstream() if state.ready else None
        if state.ready and not down:
            return JSONResponse(body)
        if down:
            body["status"], body["error"] = "unavailable", down
        if state.warm_error:
            body["error"] = state.warm_error
            state.start_warm_up()  # retry: the corpus or the model server may be back
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(srv.retry_after)})

    @app.get("/v1/openapi.json", dependencies=[Depends(auth)], include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/v1/docs", dependencies=[Depends(auth)], include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/v1/openapi.json", title="corpus-qa API")

    @app.get("/v1/models", dependencies=[Depends(auth)])
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(srv.model_id)]}

    @app.get("/v1/models/{model_id}", dependencies=[Depends(auth)])
    async def model(model_id: str) -> dict[str, Any]:
        if model_id != srv.model_id:
            raise StarletteHTTPException(404, f"model '{model_id}' not found")
        return _model_card(srv.model_id)

    @app.post("/v1/chat/completions", dependencies=[Depends(auth)])
    async def chat_completions(req: ChatRequest):
        question, history = req.conversation()
        deadline = time.monotonic() + srv.request_timeout
        await state.admit(deadline)
        cid, model_id = new_id(), srv.model_id
        if not req.stream:
            worker = state.worker(lambda emit, cancelled: state.engine.ask(question, history, s))
            answer = await _result(worker, deadline, srv)
            return completion(
                cid, model_id, answer.text, answer.sources, answer.usage, answer.refused
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
        return StreamingResponse(
            _events(worker, cid, model_id, deadline, srv, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post("/v1/ingest", dependencies=[Depends(auth)])
    async def ingest(request: Request) -> dict[str, Any]:
        limit = s.ui.max_upload_mb * 1024 * 1024
        try:
            form = await request.form(max_files=32, max_part_size=limit)
        except BodyTooLarge:
            raise
        except Exception as exc:
            raise qa.InputError(f"bad upload: {one_line(exc)}") from None
        files = [f for f in form.getlist("file") + form.getlist("files") if hasattr(f, "read")]
        if not files:
            raise qa.InputError("no file: send multipart/form-data with one or more 'file' parts")
        items = [(f.filename or "upload", await f.read()) for f in files]
        # all files checked before any is saved, and taken out again if indexing fails:
        # a bad second file must not leave the first in corpus/ unindexed
        saved = await asyncio.to_thread(state.engine.save_uploads, s, items)
        async with state.ingest_lock:
            try:
                report = await asyncio.wait_for(
                    asyncio.to_thread(state.engine.ingest, saved, s), srv.request_timeout
                )
            except TimeoutError:
                raise RequestTimeout(
                    f"ingestion still running after {srv.request_timeout:g} s; "
                    "it continues in the background"
                ) from None
            except BaseException:
                await asyncio.to_thread(state.engine.discard_uploads, saved)
                raise
        return {"files": [p.name for p in saved], "report": report}

    if mount_ui if mount_ui is not None else srv.mount_ui:
        _mount_ui(app, s, host, s.ui.credentials())  # a bad ui.auth entry stops start-up here
    return app


def _model_card(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "corpus-qa"}


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
    worker: Worker, cid: str, model: str, deadline: float, srv: ServerSettings, usage: bool
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
                final = chunk(
                    cid,
                    model,
                    created,
                    {},
                    "stop",
                    sources=public_sources(value.sources),
                    usage=usage_of(value.usage),
                    refused=value.refused,
                )
                yield sse(final)
                if usage:
                    only = {**final, "choices": [], "usage": usage_of(value.usage)}
                    only.pop("sources", None)
                    only.pop("refused", None)
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


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        r = error_response(401, "invalid_api_key", str(exc))
        r.headers["WWW-Authenticate"] = "Bearer"
        return r

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy) -> JSONResponse:
        retry = str(request.app.state.qa.server.retry_after)
        return error_response(503, "server_busy", f"{exc}; retry later", **{"Retry-After": retry})

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error_response(413, "request_too_large", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = f"invalid request: {where + ': ' if where else ''}{first.get('msg', 'bad body')}"
        return error_response(400, "invalid_request_error", one_line(Exception(msg)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps body-read failures in 400
            return error_response(413, "request_too_large", str(exc.__cause__))
        type_ = "not_found" if exc.status_code == 404 else "invalid_request_error"
        return error_response(exc.status_code, type_, str(exc.detail))

    @app.exception_handler(qa.QAError)
    async def _qa(request: Request, exc: qa.QAError) -> JSONResponse:
        status, type_, msg = classify(exc)
        if status == 503:  # the operator's line names the server (credentials removed)
            log.warning("%s: %s", request.url.path, one_line(exc))
        if isinstance(exc, qa.BackendError):
            request.app.state.qa.upstream_checked = -math.inf  # the next /health probes again
        return error_response(status, type_, msg)

    @app.exception_handler(RequestTimeout)
    async def _timeout(request: Request, exc: RequestTimeout) -> JSONResponse:
        return error_response(504, "timeout", str(exc))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected failure on %s", request.url.path, exc_info=exc)
        status, type_, msg = classify(exc)
        return error_response(status, type_, msg)


def _mount_ui(app: FastAPI, s: qa.Settings, host: str, logins: list[tuple[str, str]]) -> None:
    """Mount the Gradio chat at / when top-level app.py provides build_app(settings)."""
    if not is_loopback(host) and not logins:
        log.warning("browser chat not mounted: binding %s needs ui.auth (user:password)", host)
        return
    try:
        build_app = _load_build_app()
        if build_app is None:
            return
        import gradio

        css = getattr(sys.modules.get(build_app.__module__), "CSS", None)
        blocks = build_app(s)
        gradio.mount_gradio_app(
            app,
            blocks,
            path="/",
            auth=logins or None,
            max_file_size=f"{s.ui.max_upload_mb}mb",
            css=css,
        )
        # Gradio checks that a file named in an event payload was uploaded by the user only
        # once `has_launched` is set, which launch() does and mount_gradio_app() does not: a
        # mounted app would otherwise read any server path a caller names. Mark it launched,
        # as Gradio's own reload does for a swapped-in Blocks.
        blocks.has_launched = True
    except Exception as exc:  # the API keeps working without the browser chat
        log.warning("browser chat not mounted: %s", one_line(exc))


def _load_build_app():
    try:
        import app as ui  # type: ignore[import-not-found]
    except ImportError:
        path = Path(qa.__file__).resolve().parent.parent / "app.py"
        if not path.is_file():
            return None
        spec = importlib.util.spec_from_file_location("corpus_qa_ui", path)
        if spec is None or spec.loader is None:
            return None
        ui = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ui)
    return getattr(ui, "build_app", None)
