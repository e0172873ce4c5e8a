"""The FastAPI app factory: OpenAI-compatible chat completions over the corpus, health, models,
ingest, feedback on answers, and the Gradio chat (qa.ui) mounted at /.

    routers/chat.py, routers/ingest.py, routers/health.py, routers/feedback.py   the routes
    errors.py       every failure as the openai client's JSON error body, never a traceback
    middleware.py   the request size limit
    state.py        the generation queue, warm-up and the model server's readiness
    engine.py       the public qa API as the server calls it (tests swap in a fake)
    auth.py         Bearer API keys (FastAPI's HTTPBearer) on everything under /v1
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

import qa
from qa.errors import one_line
from qa.server.auth import api_key
from qa.server.engine import Engine
from qa.server.errors import add_error_handlers
from qa.server.middleware import BodyLimit
from qa.server.routers import chat, feedback, health, ingest
from qa.server.state import ServerState
from qa.settings import ServerSettings, is_loopback

log = logging.getLogger("qa.server")

__all__ = ["Engine", "create_app"]


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
        docs_url=None,  # served by routers/health.py, behind the API key like the rest of /v1
        openapi_url=None,
        redoc_url=None,
    )
    app.state.qa = state
    app.add_middleware(
        BodyLimit,
        api_limit=srv.max_body_kb * 1024,
        upload_limit=s.ui.max_upload_mb * 1024 * 1024 + 64 * 1024,
    )
    add_error_handlers(app)

    guarded = [Depends(api_key(srv))]
    app.include_router(health.public)
    app.include_router(health.router, dependencies=guarded)
    app.include_router(chat.router, dependencies=guarded)
    app.include_router(ingest.router, dependencies=guarded)
    app.include_router(feedback.router, dependencies=guarded)

    if mount_ui if mount_ui is not None else srv.mount_ui:
        _mount_ui(app, s, host, s.ui.credentials())  # a bad ui.auth entry stops start-up here
    return app


def _mount_ui(app: FastAPI, s: qa.Settings, host: str, logins: list[tuple[str, str]]) -> None:
    """Mount the Gradio chat (qa.ui) at /."""
    if not is_loopback(host) and not logins:
        log.warning("browser chat not mounted: binding %s needs ui.auth (user:password)", host)
        return
    try:
        import gradio

        from qa.ui import CSS, build_app

        blocks = build_app(s)
        gradio.mount_gradio_app(
            app,
            blocks,
            path="/",
            auth=logins or None,
            max_file_size=f"{s.ui.max_upload_mb}mb",
            css=CSS,
        )
        # Gradio checks that a file named in an event payload was uploaded by the user only
        # once `has_launched` is set, which launch() does and mount_gradio_app() does not: a
        # mounted app would otherwise read any server path a caller names. Mark it launched,
        # as Gradio's own reload does for a swapped-in Blocks.
        blocks.has_launched = True
    except Exception as exc:  # the API keeps working without the browser chat
        log.warning("browser chat not mounted: %s", one_line(exc))
