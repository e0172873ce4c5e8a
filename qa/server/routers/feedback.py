"""POST /v1/feedback: a rating of an answer this server gave, named by its completion id."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from qa.feedback import make_record
from qa.server.state import ServerState, get_state

router = APIRouter()


class FeedbackRequest(BaseModel):
    """The rating; the server fills in the rest of the record (question, standalone question,
    answer, sources, settings) from the answer it remembers under `id`."""

    model_config = ConfigDict(extra="ignore")

    id: str  # the `id` of the chat completion (or of its stream's chunks)
    verdict: str  # "up" or "down"
    correction: str | None = None  # with "down": what it should have said


@router.post("/v1/feedback")
async def feedback(req: FeedbackRequest, state: ServerState = Depends(get_state)) -> dict[str, Any]:  # noqa: B008
    answered = await asyncio.to_thread(state.answers.get, req.id)
    if answered is None:
        raise HTTPException(
            404,
            f"unknown answer id {req.id[:80]!r}: rate an answer of this server by its"
            f" completion id (the last {state.answers.size} answers are remembered)",
        )
    record = make_record(req.id, answered, req.verdict, state.settings, req.correction)
    await asyncio.to_thread(state.feedback.put, record)
    return {"object": "feedback", **record}
