"""`qa serve`: an OpenAI-compatible HTTP API over the corpus engine (and the browser chat).

    from qa.server import create_app
    app = create_app(settings)          # FastAPI app; run it with uvicorn

A thin door: it calls the public `qa` API only.
"""

from __future__ import annotations

from qa.server.app import create_app
from qa.settings import ServerSettings  # the `server` section of qa.Settings

__all__ = ["ServerSettings", "create_app"]
