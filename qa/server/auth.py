"""Bearer API keys for /v1/*: checked in constant time; none configured means open (loopback
only: `qa serve` refuses to bind elsewhere without keys)."""

from __future__ import annotations

import hmac

from fastapi import Request

from qa.settings import ServerSettings


class Unauthorized(Exception):
    pass


def check_key(request: Request, server: ServerSettings) -> None:
    if not server.api_keys:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    given = token.encode()
    if not any(hmac.compare_digest(given, k.encode()) for k in server.api_keys):
        raise Unauthorized("invalid API key")
