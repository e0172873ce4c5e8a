"""POST /v1/ingest: multipart uploads, checked as a whole, saved, indexed, or taken back."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request

import qa
from qa.errors import one_line
from qa.server.errors import BodyTooLarge, RequestTimeout
from qa.server.state import ServerState, get_state

router = APIRouter()


@router.post("/v1/ingest")
async def ingest(request: Request, state: ServerState = Depends(get_state)) -> dict[str, Any]:  # noqa: B008
    s, srv = state.settings, state.server
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
