"""How every failure becomes a JSON body `{"error": {"message", "type", "param", "code"}}` (the
shape the `openai` client reads) with 400 / 401 / 413 / 503 / 504 / 500, never a traceback;
tracebacks of unexpected failures go to the server log only."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import qa
from qa.errors import one_line, public_message
from qa.server.auth import Unauthorized
from qa.server.openai_schema import error_body

log = logging.getLogger("qa.server")


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
    if isinstance(exc, qa.DatabaseError):
        return 503, "database_unavailable", public_message(exc)
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


def add_error_handlers(app: FastAPI) -> None:
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
        if isinstance(exc.__cause__, UnicodeDecodeError):
            msg = "the request body is not UTF-8: send JSON encoded as UTF-8"
            return error_response(400, "invalid_request_error", msg)
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
