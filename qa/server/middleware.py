"""The request size limit, as pure ASGI so it also guards bodies sent without Content-Length."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from qa.server.errors import BodyTooLarge, error_response


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
