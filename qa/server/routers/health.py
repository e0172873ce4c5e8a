"""/health and /health/live (open, for balancers and orchestrators) and the model list and API
docs (behind the API key).

/health is readiness: 200 only when a question can be answered now (warmed up, the index's
database and the model server answering), else 503 with the reason; a balancer takes the
replica out of rotation and back in when it recovers by itself. /health/live is liveness:
200 whenever the process serves HTTP at all, whatever its database or model server do, so an
orchestrator does not restart a replica that is only waiting for them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.server.state import ServerState, get_state

public = APIRouter()
router = APIRouter()


@public.get("/health")
async def health(state: ServerState = Depends(get_state)) -> JSONResponse:  # noqa: B008
    """Readiness: 200 only when a question can be answered now (warmed up, database and model
    server answering), else 503 with a one-line reason in `error`."""
    srv = state.server
    body = {
        "status": "ready" if state.ready else ("error" if state.warm_error else "starting"),
        "model": srv.model_id,
        "llm": state.settings.llm.mode,
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


@public.get("/health/live")
async def live() -> dict[str, str]:
    """Liveness: the process serves HTTP; depends on nothing else."""
    return {"status": "alive"}


@router.get("/v1/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/v1/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/v1/openapi.json", title="corpus-qa API")


@router.get("/v1/models")
async def models(state: ServerState = Depends(get_state)) -> dict[str, Any]:  # noqa: B008
    return {"object": "list", "data": [model_card(state.server.model_id)]}


@router.get("/v1/models/{model_id}")
async def model(model_id: str, state: ServerState = Depends(get_state)) -> dict[str, Any]:  # noqa: B008
    if model_id != state.server.model_id:
        raise StarletteHTTPException(404, f"model '{model_id}' not found")
    return model_card(state.server.model_id)


def model_card(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "corpus-qa"}
