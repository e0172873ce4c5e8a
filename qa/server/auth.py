"""Bearer API keys for /v1/*: FastAPI's HTTPBearer reads the header (and puts the scheme in the
OpenAPI document); the key is checked here in constant time. No keys configured means open
(loopback only: `qa serve` refuses to bind elsewhere without keys)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.settings import ServerSettings

# auto_error=False: a missing or non-Bearer header comes back as None, answered below with
# this server's own 401 body (the openai client's error shape), not FastAPI's default
bearer = HTTPBearer(auto_error=False, description="one of server.api_keys")


class Unauthorized(Exception):
    pass


def check_key(credentials: HTTPAuthorizationCredentials | None, server: ServerSettings) -> None:
    if not server.api_keys:
        return
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    given = credentials.credentials.encode()
    if not any(hmac.compare_digest(given, k.encode()) for k in server.api_keys):
        raise Unauthorized("invalid API key")


def api_key(server: ServerSettings) -> Callable[..., Awaitable[None]]:
    """The dependency that guards a router with `server.api_keys`."""

    async def require(
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
    ) -> None:
        check_key(credentials, server)

    return require
