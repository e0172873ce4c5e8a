"""`qa serve`: an OpenAI-compatible HTTP API over the corpus engine (and the browser chat).

    from qa.server import create_app
    app = create_app(settings)          # FastAPI app; run it with uvicorn

A thin door: it calls the public `qa` API only. `create_app` is loaded on first use, so that
`qa ask` (qa.cli registers `qa serve` through qa.server.cli) never imports FastAPI or the
openai types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.settings import ServerSettings  # the `server` section of qa.Settings

if TYPE_CHECKING:
    from qa.server.app import create_app

__all__ = ["ServerSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from qa.server.app import create_app

        return create_app
    raise AttributeError(f"module 'qa.server' has no attribute {name!r}")
